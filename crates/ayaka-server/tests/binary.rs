//! The `ayaka-server` binary: flags, printed URLs, graceful SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn bad_flags_exit_with_usage() {
    for args in [
        &["--bogus"][..],
        &["--gateway-ports"],
        &["--rate-limit", "guilds.get=often"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ayaka-server"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage: ayaka-server"));
    }
    let help = Command::new(env!("CARGO_BIN_EXE_ayaka-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
}

#[cfg(unix)]
#[test]
fn prints_urls_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ayaka-server"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--gateway-ports",
            "2",
            "--rate-limit",
            "off",
        ])
        .args(["--password-hashing", "fast"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout.lines().take(4).map(Result::unwrap).collect();
    assert!(
        lines[0].starts_with("REST:      http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with("/available"), "{lines:?}");
    assert!(
        lines[2..]
            .iter()
            .all(|line| line.starts_with("gateway:   ws://127.0.0.1:"))
    );

    let address = lines[0].trim_start_matches("REST:      http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /available HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"port\":"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success(), "graceful exit on SIGTERM");
}
