//! Writes the seed corpora of `fuzz/corpus/` from the model fixtures and a
//! few hand-picked inputs. Run with `--ignored` after changing it; the
//! files it writes are checked in (see `docs/fuzzing.md`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::deflate::stream::deflate;
use miniz_oxide::{DataFormat, MZFlush};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = fuzz_dir()
        .join("../crates/ayaka-model/tests/fixtures")
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("{}: {error}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn with_selector(selector: u8, bytes: &[u8]) -> Vec<u8> {
    [&[selector][..], bytes].concat()
}

/// Replaces the seeds of `target` (files named `seed-*`) with `seeds`.
fn write(target: &str, seeds: Vec<(String, Vec<u8>)>) {
    let dir = fuzz_dir().join("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
        {
            fs::remove_file(path).unwrap();
        }
    }
    for (name, bytes) in seeds {
        assert!(bytes.len() <= 4096, "{target}/{name}: seeds stay small");
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

/// Length-prefixed frames (the decompressor_frames format) of `stream`,
/// each at most `frame` bytes.
fn framed(stream: &[u8], frame: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in stream.chunks(frame.min(255)) {
        out.push(u8::try_from(chunk.len()).unwrap());
        out.extend(chunk);
    }
    out
}

fn compressed(messages: &[&[u8]], level: u8, flush: MZFlush) -> Vec<u8> {
    let mut compressor = CompressorOxide::default();
    compressor.set_format_and_level(DataFormat::Zlib, level);
    let mut stream = Vec::new();
    for message in messages {
        let mut out = vec![0; message.len() * 2 + 1024];
        let result = deflate(&mut compressor, message, &mut out, flush);
        assert_eq!(result.bytes_consumed, message.len());
        stream.extend(&out[..result.bytes_written]);
    }
    stream
}

#[test]
#[ignore = "writes fuzz/corpus: run by hand"]
fn write_seeds() {
    let events = fixtures("event");
    let small: Vec<&[u8]> = events
        .iter()
        .map(|(_, bytes)| bytes.as_slice())
        .filter(|bytes| bytes.len() < 600)
        .take(6)
        .collect();

    let mut frames = Vec::new();
    for (level, flush, frame) in [
        (6, MZFlush::Sync, 255),
        (6, MZFlush::Full, 17),
        (0, MZFlush::Sync, 100),
        (9, MZFlush::Sync, 1),
        (1, MZFlush::Full, 64),
    ] {
        let stream = compressed(&small[..3], level, flush);
        frames.push((
            format!("level{level}-{flush:?}-frames-of-{frame}"),
            framed(&stream, frame),
        ));
    }
    frames.push((
        "garbage-after-header".into(),
        framed(b"\x78\x9c\xff\xff\xff garbage \x00\x00\xff\xff", 255),
    ));
    frames.push((
        "finished-stream".into(),
        framed(&miniz_oxide::deflate::compress_to_vec_zlib(b"{}", 6), 255),
    ));
    write("decompressor_frames", frames);

    // opaque to people, meaningful to `arbitrary`: a few shapes
    let mut round_trips = Vec::new();
    for level in 0..12u8 {
        let mut seed = vec![level, 0x40, 0x01, 3];
        for (index, bytes) in small.iter().enumerate() {
            seed.extend([4, u8::try_from(index).unwrap(), 0x10]);
            seed.extend(bytes.iter().take(40));
        }
        seed.extend([1, 7, 0, 0, 0, 1, 200, 0, 0, 0, 0]);
        round_trips.push((format!("level-{level}"), seed));
    }
    write("decompressor_round_trip", round_trips);

    // the selector of each model type in json::parity
    let mut parity = Vec::new();
    for (dir, selector) in [
        ("event", 1),
        ("identify", 5),
        ("user", 6),
        ("guild", 7),
        ("partial_guild", 8),
        ("member", 10),
        ("role", 11),
        ("emoji", 12),
        ("channel", 13),
        ("invite", 14),
        ("presence", 15),
        ("error_body", 17),
        ("available", 18),
    ] {
        for (name, bytes) in fixtures(dir) {
            if bytes.len() < 4000 {
                parity.push((format!("{dir}-{name}"), with_selector(selector, &bytes)));
            }
        }
    }
    parity.push((
        "value-numbers".into(),
        with_selector(0, br#"[0,-0,1.5,-2e-3,18446744073709551615,1e308]"#),
    ));
    parity.push((
        "timestamp".into(),
        with_selector(19, br#""2022-02-27T13:54:10.123+01:00""#),
    ));
    write("json_parity", parity);

    let mut headers = Vec::new();
    for (name, lines) in [
        (
            "documented",
            "LIMITER/127.0.0.1/get_guild/10/1/second\n10\n3\n1645970050\n\n0\n\nSun, 27 Feb 2022 13:54:08 GMT",
        ),
        (
            "deployed",
            "LIMITER/::1/create_guild/20/1/minute\n20\n19\n1645970110\n60\n\n\nSun, 27 Feb 2022 13:54:10 GMT",
        ),
        (
            "epoch-in-durations",
            "b\n5\n0\n1645970050\n1645970050\n1645970050\n3\nSun, 27 Feb 2022 13:54:08 GMT",
        ),
        ("hostile", " \n0\n-3\nNaN\ninf\n1e400\n-1\nyesterday"),
        (
            "decimals",
            "x/y/z/2.0/0.5/secs\n7.0\n 7 \n0.25\n1.5\n99999999999999999999\n\n",
        ),
    ] {
        headers.push((name.to_owned(), lines.as_bytes().to_vec()));
    }
    write("ratelimit_headers", headers);

    // the selector of each body in request::bodies and server::rest_body
    let mut bodies = Vec::new();
    let mut rest = Vec::new();
    for (dir, request, server) in [
        ("request/create_user", 0, 0),
        ("request/update_user", 1, 1),
        ("request/create_guild", 2, 3),
        ("request/update_guild", 3, 4),
        ("request/create_channel", 4, 5),
        ("request/create_invite", 5, 6),
    ] {
        for (name, bytes) in fixtures(dir) {
            let short = dir.trim_start_matches("request/");
            bodies.push((format!("{short}-{name}"), with_selector(request, &bytes)));
            rest.push((format!("{short}-{name}"), with_selector(server, &bytes)));
        }
    }
    rest.push((
        "notification".into(),
        with_selector(2, br#"{"type":"MESSAGE","excerpt":{"text":"hi"}}"#),
    ));
    rest.push((
        "wrong-type".into(),
        with_selector(
            0,
            br#"{"username":5,"separator":"x","email":"a@b.c","password":"12345678"}"#,
        ),
    ));
    rest.push(("not-an-object".into(), with_selector(3, b"[1]")));
    write("request_bodies", bodies);
    write("server_rest_body", rest);

    let mut identify: Vec<(String, Vec<u8>)> = fixtures("identify");
    identify.push(("wrong-type".into(), br#"{"session_id":5}"#.to_vec()));
    identify.push((
        "unknown-encoding".into(),
        br#"{"session_id":"s","encoding":"etf"}"#.to_vec(),
    ));
    identify.push(("not-json".into(), b"session".to_vec()));
    write("server_identify", identify);
}
