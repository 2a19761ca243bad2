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

/// How many times the whole bench suite runs by default: a ratio is taken
/// per round (ours and the baseline measured minutes apart at most), and the
/// median over rounds is reported with its spread.
const DEFAULT_ROUNDS: usize = 5;

/// Marks the part of `docs/benchmarks.md` this command owns; everything
/// outside the markers is kept as written by hand.
const BEGIN_MARK: &str = "<!-- begin: written by cargo xtask bench -->";
const END_MARK: &str = "<!-- end: written by cargo xtask bench -->";

/// What `cargo xtask bench` was asked for.
pub(crate) struct Options {
    /// Passed to criterion: only benchmarks whose id contains it.
    pub(crate) filter: Option<String>,
    /// Rounds of the whole (filtered) suite.
    pub(crate) rounds: usize,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            filter: None,
            rounds: DEFAULT_ROUNDS,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--rounds" {
                let value = args.next().ok_or("--rounds takes a number")?;
                options.rounds = value
                    .parse()
                    .ok()
                    .filter(|rounds| *rounds > 0)
                    .ok_or_else(|| format!("--rounds takes a positive number, not {value}"))?;
            } else if options.filter.is_none() {
                options.filter = Some(arg.clone());
            } else {
                return Err(format!("unexpected argument {arg}"));
            }
        }
        Ok(options)
    }

    /// The command as one would type it again: a filter with anything but
    /// plain id characters in double quotes, and every `|` (a regex
    /// alternation) escaped, since the command lands in a table cell.
    fn command(&self) -> String {
        let mut command = "cargo xtask bench".to_owned();
        if let Some(filter) = &self.filter {
            let plain = filter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/.".contains(c));
            let filter = filter.replace('|', "\\|");
            if plain {
                let _ = write!(command, " {filter}");
            } else {
                let _ = write!(command, " \"{filter}\"");
            }
        }
        if self.rounds != DEFAULT_ROUNDS {
            let _ = write!(command, " --rounds {}", self.rounds);
        }
        command
    }
}

/// Tells the benches which round runs (`ayaka_benches::ROUND_VAR`): those
/// that compare ours with a baseline measure the two in turns, the baseline
/// first in even rounds.
const ROUND_VAR: &str = "AYAKA_BENCH_ROUND";

/// Runs the benches once, echoing their output, and returns the figure lines.
fn run_benches(filter: Option<&str>, round: usize) -> Result<Vec<String>, String> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["bench", "-p", "ayaka-benches", "--"])
        .env(ROUND_VAR, round.to_string())
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

pub(crate) fn run(options: &Options) -> Result<(), String> {
    let criterion_dir = target_dir().join("criterion");
    let mut rounds = Vec::with_capacity(options.rounds);
    let mut figures = Vec::new();
    for round in 1..=options.rounds {
        println!("== round {round} of {}", options.rounds);
        let started = SystemTime::now();
        figures.extend(run_benches(options.filter.as_deref(), round)?);
        let mut measurements = Vec::new();
        collect(&criterion_dir, started, &mut measurements)?;
        if measurements.is_empty() {
            return Err(format!(
                "no criterion results under {}",
                criterion_dir.display()
            ));
        }
        rounds.push(measurements);
    }
    let rows = summarise(&rounds);
    let path = workspace_root().join("docs/benchmarks.md");
    let old = fs::read_to_string(&path).unwrap_or_default();
    let previous = Previous::read(&old);
    let run = format!(
        "`{}` ({} rounds, {})",
        options.command(),
        options.rounds,
        today()
    );
    let mut report = render(&rows, &run, &previous);
    render_figures(&figures, &run, &previous, &mut report);
    fs::write(&path, splice(&old, &report))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Puts the generated part between the markers of `old`, keeping the rest;
/// a file without markers gets the generated part on top.
fn splice(old: &str, generated: &str) -> String {
    let block = format!("{BEGIN_MARK}\n{generated}{END_MARK}\n");
    match (old.find(BEGIN_MARK), old.find(END_MARK)) {
        (Some(begin), Some(end)) if begin < end => {
            let after = &old[end + END_MARK.len()..];
            format!(
                "{}{block}{}",
                &old[..begin],
                after.strip_prefix('\n').unwrap_or(after)
            )
        }
        _ => format!("# Benchmarks\n\n{block}\n{old}"),
    }
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

/// One benchmark over every round: its median time, and the ratio of its
/// group's baseline to it, taken round by round.
struct Row {
    group: String,
    function: String,
    median_ns: f64,
    throughput: Option<(String, f64)>,
    baseline: Option<String>,
    /// Per-round ratios (baseline time / this time), sorted.
    ratios: Vec<f64>,
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The baseline a function is compared with: in a group with several (one
/// per engine, say), the one whose name shares the most words with the
/// function's (`ours, zlib-rs` goes with `baseline flate2-sync, zlib-rs`);
/// on a tie, the first.
fn closest_baseline<'a>(function: &str, baselines: &[&'a str]) -> Option<&'a str> {
    let words = |name: &str| -> Vec<String> {
        name.split(|c: char| c.is_whitespace() || c == ',' || c == ':')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let own = words(function);
    let shared = |baseline: &str| words(baseline).iter().filter(|w| own.contains(w)).count();
    let mut best: Option<(&str, usize)> = None;
    for &baseline in baselines {
        let score = shared(baseline);
        if best.is_none_or(|(_, top)| score > top) {
            best = Some((baseline, score));
        }
    }
    best.map(|(name, _)| name)
}

fn summarise(rounds: &[Vec<Measurement>]) -> Vec<Row> {
    let mut keys: Vec<(&str, &str)> = rounds
        .iter()
        .flatten()
        .map(|m| (m.group.as_str(), m.function.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut rows = Vec::with_capacity(keys.len());
    for (group, function) in keys {
        let baseline_of = |round: &'_ [Measurement]| {
            let baselines: Vec<&str> = round
                .iter()
                .filter(|m| m.group == group && m.function.to_lowercase().contains("baseline"))
                .map(|m| m.function.as_str())
                .collect();
            let name = closest_baseline(function, &baselines)?;
            round
                .iter()
                .find(|m| m.group == group && m.function == name)
                .map(|m| (m.function.clone(), m.mean_ns))
        };
        let mut times = Vec::new();
        let mut ratios = Vec::new();
        let mut throughput = None;
        let mut baseline = None;
        for round in rounds {
            let Some(this) = round
                .iter()
                .find(|m| m.group == group && m.function == function)
            else {
                continue;
            };
            times.push(this.mean_ns);
            throughput.clone_from(&this.throughput);
            if let Some((name, baseline_ns)) = baseline_of(round)
                && this.mean_ns > 0.0
            {
                ratios.push(baseline_ns / this.mean_ns);
                baseline = Some(name);
            }
        }
        times.sort_by(f64::total_cmp);
        ratios.sort_by(f64::total_cmp);
        rows.push(Row {
            group: group.to_owned(),
            function: function.to_owned(),
            median_ns: median(&times),
            throughput,
            baseline,
            ratios,
        });
    }
    rows
}

/// The tables of the last report, so that a filtered run replaces only the
/// groups it measured and keeps the others' rows (each names the run that
/// made it).
struct Previous {
    times: Vec<String>,
    figures: Vec<String>,
}

/// Cells in a row of the times table and of the figures table.
const TIME_CELLS: usize = 8;
const FIGURE_CELLS: usize = 7;

impl Previous {
    fn read(old: &str) -> Self {
        let block = match (old.find(BEGIN_MARK), old.find(END_MARK)) {
            (Some(begin), Some(end)) if begin < end => &old[begin..end],
            _ => "",
        };
        let mut times = Vec::new();
        let mut figures = Vec::new();
        let mut in_figures = false;
        for line in block.lines() {
            if line.starts_with("## ") {
                in_figures = true;
            }
            let cells = cells(line);
            // Header and rule rows, and rows of older formats, are not kept.
            if cells.len() < 2 || cells[1].starts_with("---") || cells[0] == "group" {
                continue;
            }
            match (in_figures, cells.len()) {
                (false, TIME_CELLS) => times.push(line.to_owned()),
                (true, FIGURE_CELLS) => figures.push(line.to_owned()),
                _ => {}
            }
        }
        Self { times, figures }
    }

    /// Rows of `rows` whose group this run did not measure.
    fn kept<'a>(rows: &'a [String], measured: &'a [&str]) -> impl Iterator<Item = &'a String> {
        rows.iter()
            .filter(move |row| cells(row).first().is_some_and(|g| !measured.contains(g)))
    }
}

/// A markdown table row's cells, trimmed; `\|` is a pipe inside a cell.
fn cells(line: &str) -> Vec<&str> {
    let Some(inner) = line
        .trim()
        .strip_prefix('|')
        .and_then(|l| l.strip_suffix('|'))
    else {
        return Vec::new();
    };
    let mut cells = Vec::new();
    let mut start = 0;
    let bytes = inner.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'|' && (at == 0 || bytes[at - 1] != b'\\') {
            cells.push(inner[start..at].trim());
            start = at + 1;
        }
    }
    cells.push(inner[start..].trim());
    cells
}

fn render(rows: &[Row], run: &str, previous: &Previous) -> String {
    let mut out = String::new();
    out.push_str(
        "Written by `cargo xtask bench` from criterion's results. Every figure is \
         compared with a baseline measured in the same run on the same machine \
         (the function named `baseline...` in its group); the ratio is \
         baseline time / this time, so above 1 means faster than the baseline. \
         The suite runs several rounds; each round gives one ratio per \
         benchmark (ours and its baseline measured within minutes of each \
         other), and the table shows the median ratio over the rounds with \
         its spread (lowest to highest), so a drift of the machine between \
         groups moves both sides of a ratio alike. Benches that say so \
         (`ayaka_benches::baseline_first`) measure the baseline first in \
         every other round, so a drift within a round favours neither \
         side. A run of some benches \
         (`cargo xtask bench FILTER`) rewrites the rows of the groups it \
         measured and keeps the others; the last column names the run behind \
         each row.\n\n",
    );
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(out, "- rustc: {}\n", rustc_version());
    out.push_str(
        "| group | benchmark | median time | throughput | baseline | median ratio | spread | run |\n",
    );
    out.push_str("|---|---|---:|---:|---|---:|---:|---|\n");
    let mut lines = Vec::new();
    for row in rows {
        let is_baseline = row.baseline.as_deref() == Some(row.function.as_str());
        let (baseline, ratio, spread) = match (&row.baseline, row.ratios.as_slice()) {
            (Some(_), _) if is_baseline => (
                "(this is the baseline)".to_owned(),
                "1.00x".to_owned(),
                "-".to_owned(),
            ),
            (Some(name), [low, .., high]) => (
                name.clone(),
                ratio(median(&row.ratios)),
                format!("{} to {}", ratio(*low), ratio(*high)),
            ),
            (Some(name), [only]) => (name.clone(), ratio(*only), "one round".to_owned()),
            _ => ("none in group".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        lines.push(format!(
            "| {} | {} | {} | {} | {baseline} | {ratio} | {spread} | {run} |",
            row.group,
            row.function,
            format_time(row.median_ns),
            format_throughput(row.throughput.as_ref(), row.median_ns),
        ));
    }
    let measured: Vec<&str> = rows.iter().map(|row| row.group.as_str()).collect();
    lines.extend(Previous::kept(&previous.times, &measured).cloned());
    sort_by_group(&mut lines);
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Sorts table rows by group (the first cell), keeping each group's order.
fn sort_by_group(lines: &mut [String]) {
    lines.sort_by(|a, b| cells(a).first().cmp(&cells(b).first()));
}

fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "date unknown".to_owned(), |d| d.trim().to_owned())
}

/// A figure's number and unit (`"2398 B"` is 2398 and `"B"`).
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let mut words = text.splitn(2, char::is_whitespace);
    let number = words.next()?.parse().ok()?;
    Some((number, words.next().unwrap_or("").trim()))
}

/// A figure's group, what it measures, and its baseline's name.
type FigureKey<'a> = (&'a str, &'a str, &'a str);

/// The second table: figures that are not times, the median over rounds
/// (each round's value and baseline value, merged by key).
fn render_figures(figures: &[String], run: &str, previous: &Previous, out: &mut String) {
    let mut merged: Vec<(FigureKey<'_>, Vec<[&str; 2]>)> = Vec::new();
    for figure in figures {
        let cells: Vec<&str> = figure.split('|').map(str::trim).collect();
        let [group, what, value, baseline, baseline_value] = cells[..] else {
            continue;
        };
        let key = (group, what, baseline);
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push([value, baseline_value]),
            None => merged.push((key, vec![[value, baseline_value]])),
        }
    }
    let measured: Vec<&str> = merged.iter().map(|((group, ..), _)| *group).collect();
    let mut lines: Vec<String> = Previous::kept(&previous.figures, &measured)
        .cloned()
        .collect();
    if merged.is_empty() && lines.is_empty() {
        return;
    }
    out.push_str("\n## Other figures\n\n");
    out.push_str(
        "Ratio: baseline / this, so above 1 means smaller than the baseline; \
         values are the median over the rounds.\n\n",
    );
    out.push_str("| group | figure | value | baseline | baseline value | ratio | run |\n");
    out.push_str("|---|---|---:|---|---:|---:|---|\n");
    for ((group, what, baseline), values) in merged {
        let summary = |column: usize| -> (Option<f64>, String) {
            let mut numbers: Vec<f64> = Vec::new();
            let mut unit = "";
            for value in &values {
                if let Some((number, u)) = number_and_unit(value[column]) {
                    numbers.push(number);
                    unit = u;
                }
            }
            if numbers.is_empty() {
                return (None, values.last().map_or("", |v| v[column]).to_owned());
            }
            numbers.sort_by(f64::total_cmp);
            let m = median(&numbers);
            (Some(m), format!("{m:.0} {unit}").trim_end().to_owned())
        };
        let (value_number, value) = summary(0);
        let (baseline_number, baseline_value) = summary(1);
        let ratio = match (value_number, baseline_number) {
            (Some(v), Some(b)) if v > 0.0 => ratio(b / v),
            _ => "-".to_owned(),
        };
        lines.push(format!(
            "| {group} | {what} | {value} | {baseline} | {baseline_value} | {ratio} | {run} |"
        ));
    }
    sort_by_group(&mut lines);
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// A ratio with two decimals, or two significant digits below 0.1 (a
/// permit through Redis is 0.0019x of one in memory, not 0.00x).
fn ratio(value: f64) -> String {
    if value > 0.0 && value < 0.1 {
        let decimals = (-value.log10()).ceil() as usize + 1;
        format!("{value:.decimals$}x")
    } else {
        format!("{value:.2}x")
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

fn format_throughput(throughput: Option<&(String, f64)>, ns: f64) -> String {
    match throughput {
        Some((unit, amount)) if ns > 0.0 => {
            let per_second = amount / (ns / 1e9);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &str, function: &str, ns: f64, baseline: &str, ratio: f64) -> Row {
        Row {
            group: group.to_owned(),
            function: function.to_owned(),
            median_ns: ns,
            throughput: None,
            baseline: Some(baseline.to_owned()),
            ratios: vec![ratio, ratio],
        }
    }

    fn report(rows: &[Row], figures: &[&str], run: &str, old: &str) -> String {
        let previous = Previous::read(old);
        let mut report = render(rows, run, &previous);
        let figures: Vec<String> = figures.iter().map(|f| (*f).to_owned()).collect();
        render_figures(&figures, run, &previous, &mut report);
        splice(old, &report)
    }

    #[test]
    fn each_engine_is_compared_with_its_own_baseline() {
        let baselines = [
            "baseline flate2-sync, miniz_oxide",
            "baseline flate2-sync, zlib-rs",
        ];
        assert_eq!(
            closest_baseline("ours, zlib-rs", &baselines),
            Some(baselines[1])
        );
        assert_eq!(
            closest_baseline("ours, miniz_oxide", &baselines),
            Some(baselines[0])
        );
        assert_eq!(
            closest_baseline(baselines[1], &baselines),
            Some(baselines[1])
        );
        // Nothing in common: the first, as with a single baseline.
        assert_eq!(
            closest_baseline("in-memory limiter", &baselines),
            Some(baselines[0])
        );
        assert_eq!(closest_baseline("ours", &[]), None);
    }

    #[test]
    fn the_run_names_a_command_that_can_be_typed_again_and_stays_in_its_cell() {
        let options = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            Options::parse(&args).unwrap().command()
        };
        assert_eq!(options(&["cache"]), "cargo xtask bench cache");
        assert_eq!(
            options(&["gateway_inflate/small events", "--rounds", "7"]),
            r#"cargo xtask bench "gateway_inflate/small events" --rounds 7"#
        );
        let alternation = options(&["cache|redis"]);
        assert_eq!(alternation, r#"cargo xtask bench "cache\|redis""#);
        let row = format!("| cache | ours | 1 ns | - | base | 1.00x | - | `{alternation}` |");
        let cells = cells(&row);
        assert_eq!(cells.len(), TIME_CELLS, "{cells:?}");
        assert_eq!(cells[7], format!("`{alternation}`"));
    }

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(ratio(1.234), "1.23x");
        assert_eq!(ratio(0.1), "0.10x");
        assert_eq!(ratio(0.0192), "0.019x");
        assert_eq!(ratio(0.00193), "0.0019x");
    }

    #[test]
    fn a_filtered_run_replaces_its_groups_and_keeps_the_others() {
        let first = report(
            &[
                row("cache", "baseline: map", 10.0, "baseline: map", 1.0),
                row("cache", "ours", 5.0, "baseline: map", 2.0),
                row("redis", "ours", 7.0, "baseline: memory", 0.5),
            ],
            &["memory | per shard | 10 KiB | baseline: twilight | 20 KiB"],
            "`all` (2 rounds)",
            "# Benchmarks\n\nby hand\n",
        );
        let second = report(
            &[row("redis", "ours", 3.0, "baseline: memory", 0.8)],
            &[],
            "`redis` (1 rounds)",
            &first,
        );
        assert!(second.contains("by hand"), "{second}");
        assert_eq!(second.matches(BEGIN_MARK).count(), 1, "{second}");
        let rows: Vec<&str> = second
            .lines()
            .filter(|l| l.starts_with("| cache") || l.starts_with("| redis"))
            .collect();
        assert_eq!(rows.len(), 3, "{second}");
        assert!(
            rows.iter()
                .any(|r| r.contains("| ours | 5.0 ns") && r.contains("`all`"))
        );
        assert!(rows.iter().any(|r| r.contains("| ours | 3.0 ns")
            && r.contains("0.80x")
            && r.contains("`redis`")));
        assert!(!second.contains("7.0 ns"), "{second}");
        // Figures nobody re-measured stay, with their run.
        assert!(
            second.contains("| memory | per shard | 10 KiB |"),
            "{second}"
        );
        assert!(
            second
                .lines()
                .any(|l| l.starts_with("| memory") && l.contains("`all`"))
        );
    }
}
