//! `cargo xtask bench`: run the criterion benches, then tabulate each figure
//! against the baseline measured in the same run.
//!
//! Conventions for bench authors:
//! - within a criterion group, the function whose id contains `baseline` is
//!   what the others are compared with;
//! - a figure that is not a time (bytes held, say) is printed on stdout as
//!   `ayaka-figure: <group> | <what> | <value> | <baseline> | <baseline value>`
//!   and lands in a second table.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use serde_json::Value;

use crate::workspace_root;

const FIGURE_PREFIX: &str = "ayaka-figure:";

/// One measured function.
struct Measurement {
    group: String,
    function: String,
    /// Mean time per iteration, nanoseconds.
    mean_ns: f64,
    /// Elements or bytes per iteration, when the bench declared a throughput.
    throughput: Option<(String, f64)>,
}

/// Runs the benches, echoing their output, and returns the figure lines.
fn run_benches(filter: Option<&str>) -> Result<Vec<String>, String> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["bench", "-p", "ayaka-benches", "--"])
        .current_dir(workspace_root())
        .stdout(Stdio::piped());
    if let Some(filter) = filter {
        command.arg(filter);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start cargo bench: {e}"))?;
    let mut figures = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading cargo bench output: {e}"))?;
            println!("{line}");
            if let Some(figure) = line.strip_prefix(FIGURE_PREFIX) {
                figures.push(figure.trim().to_owned());
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed: {status}"));
    }
    Ok(figures)
}

pub(crate) fn run(filter: Option<&str>) -> Result<(), String> {
    let started = SystemTime::now();
    let figures = run_benches(filter)?;
    let criterion_dir = target_dir().join("criterion");
    let mut measurements = Vec::new();
    collect(&criterion_dir, started, &mut measurements)?;
    if measurements.is_empty() {
        return Err(format!(
            "no criterion results under {}",
            criterion_dir.display()
        ));
    }
    measurements.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    let command = match filter {
        Some(filter) => format!("cargo xtask bench {filter}"),
        None => "cargo xtask bench".to_owned(),
    };
    let mut report = render(&measurements, &command);
    render_figures(&figures, &mut report);
    let path = workspace_root().join("docs/benchmarks.md");
    fs::write(&path, report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Finds every `new/benchmark.json` (criterion's record of the latest run)
/// written since `since`: criterion keeps results of benches that no longer
/// exist or were filtered out, and those were not measured in this run.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<Measurement>) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "new") {
                if written_since(&path.join("estimates.json"), since)
                    && let Some(measurement) = read_measurement(&path)?
                {
                    out.push(measurement);
                }
            } else if path.file_name().is_some_and(|name| name != "report") {
                collect(&path, since, out)?;
            }
        }
    }
    Ok(())
}

fn written_since(path: &Path, since: SystemTime) -> bool {
    fs::metadata(path)
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| modified >= since)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_measurement(new_dir: &Path) -> Result<Option<Measurement>, String> {
    let benchmark_path = new_dir.join("benchmark.json");
    let estimates_path = new_dir.join("estimates.json");
    if !benchmark_path.exists() || !estimates_path.exists() {
        return Ok(None);
    }
    let benchmark = read_json(&benchmark_path)?;
    let estimates = read_json(&estimates_path)?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let group = text(&benchmark["group_id"]);
    let mut function = text(&benchmark["function_id"]);
    if let Some(parameter) = benchmark["value_str"].as_str() {
        write!(function, "/{parameter}").ok();
    }
    let Some(mean_ns) = estimates["mean"]["point_estimate"].as_f64() else {
        return Ok(None);
    };
    let throughput = benchmark["throughput"].as_object().and_then(|map| {
        map.iter()
            .find_map(|(unit, amount)| amount.as_f64().map(|n| (unit.clone(), n)))
    });
    Ok(Some(Measurement {
        group,
        function,
        mean_ns,
        throughput,
    }))
}

fn render(measurements: &[Measurement], command: &str) -> String {
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str(
        "Written by `cargo xtask bench` from criterion's results. Every figure is \
         compared with a baseline measured in the same run on the same machine \
         (the function named `baseline...` in its group); the ratio is \
         baseline time / this time, so above 1 means faster than the baseline.\n\n",
    );
    let _ = writeln!(out, "- command: `{command}`");
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(out, "- rustc: {}\n", rustc_version());
    out.push_str("| group | benchmark | mean time | throughput | baseline | ratio |\n");
    out.push_str("|---|---|---:|---:|---|---:|\n");
    let mut groups: Vec<&str> = measurements.iter().map(|m| m.group.as_str()).collect();
    groups.dedup();
    for group in groups {
        let members: Vec<&Measurement> = measurements.iter().filter(|m| m.group == group).collect();
        let baseline = members
            .iter()
            .find(|m| m.function.to_lowercase().contains("baseline"))
            .copied();
        for m in &members {
            let (baseline_name, ratio) = match baseline {
                Some(b) if !std::ptr::eq(*m, b) => (
                    b.function.as_str(),
                    format!("{:.2}x", b.mean_ns / m.mean_ns),
                ),
                Some(_) => ("(this is the baseline)", "1.00x".to_owned()),
                None => ("none in group", "-".to_owned()),
            };
            let _ = writeln!(
                out,
                "| {group} | {} | {} | {} | {baseline_name} | {ratio} |",
                m.function,
                format_time(m.mean_ns),
                format_throughput(m),
            );
        }
    }
    out
}

/// The second table: figures that are not times.
fn render_figures(figures: &[String], out: &mut String) {
    if figures.is_empty() {
        return;
    }
    out.push_str("\n## Other figures\n\n");
    out.push_str("Ratio: baseline / this, so above 1 means smaller than the baseline.\n\n");
    out.push_str("| group | figure | value | baseline | baseline value | ratio |\n");
    out.push_str("|---|---|---:|---|---:|---:|\n");
    for figure in figures {
        let cells: Vec<&str> = figure.split('|').map(str::trim).collect();
        let [group, what, value, baseline, baseline_value] = cells[..] else {
            continue;
        };
        let number = |text: &str| {
            text.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        };
        let ratio = match (number(value), number(baseline_value)) {
            (Some(v), Some(b)) if v > 0.0 => format!("{:.2}x", b / v),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {group} | {what} | {value} | {baseline} | {baseline_value} | {ratio} |"
        );
    }
}

fn format_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn format_throughput(m: &Measurement) -> String {
    match &m.throughput {
        Some((unit, amount)) if m.mean_ns > 0.0 => {
            let per_second = amount / (m.mean_ns / 1e9);
            if unit.contains("Bytes") {
                format!("{:.1} MiB/s", per_second / (1024.0 * 1024.0))
            } else {
                format!("{per_second:.0} elem/s")
            }
        }
        _ => "-".to_owned(),
    }
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}
