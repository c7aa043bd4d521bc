//! What drawing costs: the release binary runs `benches/suites/gui_overhead.ron` (100 000
//! plotted steps) headless, in the desktop app, and headless again, in a rotating order, and
//! reports the per-step median of its `steady` workload in each, the app's against the headless runs, the two headless
//! runs against each other (the machine's own run-to-run noise), and the app's frame times while
//! it ran. Needs a display (Xvfb works). Candle gets one thread (`RAYON_NUM_THREADS=1` unless
//! set), so on a two-core machine the worker and the window each have a core.
//!
//! It also times startup to the first frame: from spawning the app until its first frame has
//! been drawn (the app writes that time itself with `--first-frame-file`), five starts per round.
//!
//! Run: `xvfb-run -s "-screen 0 1600x1000x24" cargo bench --bench gui_overhead` (optionally
//! `-- ROUNDS`, default 3).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::min_median_max;
use phasebench::app::FrameStats;
use phasebench::results::{RunStatus, load_result};

const BINARY: &str = env!("CARGO_BIN_EXE_phasebench");

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/suites/gui_overhead.ron")
}

fn fail(message: &str) -> ! {
    eprintln!("gui_overhead: {message}");
    std::process::exit(1);
}

/// The workload whose median compares the app with headless runs.
const COMPARED_WORKLOAD: &str = "steady";

/// The median step time of the compared workload in the single result under `out`.
fn median_step_secs(out: &Path) -> f64 {
    let entry = std::fs::read_dir(out)
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(Result::ok)
        .unwrap_or_else(|| fail(&format!("no result under {}", out.display())));
    let result = load_result(&entry.path()).unwrap_or_else(|error| fail(&error.to_string()));
    let run = result
        .runs
        .iter()
        .find(|run| run.workload == COMPARED_WORKLOAD)
        .unwrap_or_else(|| fail("the result has no run of the compared workload"));
    if run.status != RunStatus::Completed {
        fail(&format!("the run did not complete: {:?}", run.status));
    }
    run.summary.as_ref().map_or_else(|| fail("the run has no statistics"), |summary| summary.median)
}

fn threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "1".into())
}

fn run_headless(out: &Path) -> f64 {
    let status = Command::new(BINARY)
        .env("RAYON_NUM_THREADS", threads())
        .args(["run", &suite().display().to_string(), "--out", &out.display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|error| fail(&format!("cannot start {BINARY}: {error}")));
    if !status.success() {
        fail(&format!("the headless run exited with {status}"));
    }
    median_step_secs(out)
}

fn run_gui(out: &Path) -> (f64, FrameStats) {
    let frames = out.with_extension("frames.json");
    let status = Command::new(BINARY)
        .args(["gui", &suite().display().to_string(), "--autorun", "--exit-when-done", "--results"])
        .arg(out)
        .arg("--frame-stats")
        .arg(&frames)
        .env("XDG_DATA_HOME", out.with_extension("data"))
        .env("RAYON_NUM_THREADS", threads())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|error| fail(&format!("cannot start {BINARY}: {error}")));
    if !status.success() {
        fail(&format!("the app exited with {status}"));
    }
    let text = std::fs::read_to_string(&frames).unwrap_or_else(|error| fail(&format!("no frame stats: {error}")));
    let stats: FrameStats = serde_json::from_str(&text).unwrap_or_else(|error| fail(&error.to_string()));
    (median_step_secs(out), stats)
}

/// Seconds from spawning the app to its first drawn frame.
fn startup_secs(work: &Path, index: usize) -> f64 {
    let probe = work.join(format!("first-frame-{index}"));
    let spawned = std::time::SystemTime::now();
    let status = Command::new(BINARY)
        .args(["gui", "--default-suite", "--first-frame-file"])
        .arg(&probe)
        .env("XDG_DATA_HOME", work.join(format!("startup-data-{index}")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|error| fail(&format!("cannot start {BINARY}: {error}")));
    if !status.success() {
        fail(&format!("the app exited with {status} before its first frame"));
    }
    let text = std::fs::read_to_string(&probe).unwrap_or_else(|error| fail(&format!("no first-frame time: {error}")));
    let drawn_ns: u128 = text.trim().parse().unwrap_or_else(|_| fail(&format!("bad first-frame time {text:?}")));
    let spawned_ns = spawned.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    drawn_ns.saturating_sub(spawned_ns) as f64 / 1e9
}

fn main() {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        fail(
            "needs a display; run it under Xvfb: xvfb-run -s \"-screen 0 1600x1000x24\" cargo bench --bench gui_overhead",
        );
    }
    let rounds: usize = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(3);
    let work = tempfile::tempdir().unwrap_or_else(|error| fail(&error.to_string()));
    println!("candle threads: {}", threads());
    println!(
        "{:>5} {:>11} {:>11} {:>11} {:>9} {:>9} {:>7} {:>10} {:>10} {:>7}",
        "round", "headless A", "gui", "headless B", "gui/head", "B/A", "frames", "frame p50", "frame p99", "points"
    );
    let mut gui_ratios = Vec::new();
    let mut noise_ratios = Vec::new();
    let mut frame_ms = Vec::new();
    let mut round_p99_ms = Vec::new();
    let mut startup_ms = Vec::new();
    for round in 0..rounds {
        for start in 0..5 {
            startup_ms.push(startup_secs(work.path(), round * 5 + start) * 1e3);
        }
        let dir = |name: &str| work.path().join(format!("{name}-{round}"));
        // Rotate the order, so drift of the machine favours no arm.
        let (a, (gui, frames), b) = match round % 3 {
            0 => {
                let a = run_headless(&dir("a"));
                let gui = run_gui(&dir("gui"));
                (a, gui, run_headless(&dir("b")))
            }
            1 => {
                let gui = run_gui(&dir("gui"));
                let a = run_headless(&dir("a"));
                (a, gui, run_headless(&dir("b")))
            }
            _ => {
                let a = run_headless(&dir("a"));
                let b = run_headless(&dir("b"));
                (a, run_gui(&dir("gui")), b)
            }
        };
        let gui_ratio = gui / ((a + b) / 2.0);
        gui_ratios.push(gui_ratio);
        noise_ratios.push(b / a);
        frame_ms.extend(frames.frame_ms.iter().copied());
        round_p99_ms.push(frames.p99_ms);
        println!(
            "{:>5} {:>8.2} µs {:>8.2} µs {:>8.2} µs {:>9.4} {:>9.4} {:>7} {:>7.2} ms {:>7.2} ms {:>7}",
            round + 1,
            a * 1e6,
            gui * 1e6,
            b * 1e6,
            gui_ratio,
            b / a,
            frames.frames,
            frames.p50_ms,
            frames.p99_ms,
            frames.max_plotted_points
        );
    }
    let row = |what: &str, unit: &str, goal: &str, values: &[f64]| {
        let [min, median, max] = min_median_max(values);
        println!("| {what} | {min:.3} | {median:.3} | {max:.3} | {unit} | {goal} |");
    };
    println!("\n| measure | min | median | max | unit | goal |\n|---|---|---|---|---|---|");
    row("app ÷ headless median step time (per round)", "ratio", "≤ 1.02", &gui_ratios);
    row("headless B ÷ headless A (the machine's noise, per round)", "ratio", "–", &noise_ratios);
    row("frame time p99 with ≥ 100 000 plotted points (per round)", "ms", "≤ 16 ms", &round_p99_ms);
    row("startup to first drawn frame", "ms", "–", &startup_ms);
    frame_ms.sort_by(f64::total_cmp);
    let p = |q: f64| phasebench::stats::quantile_sorted(&frame_ms, q);
    if !frame_ms.is_empty() {
        println!(
            "frames over all rounds: {}, p50 {:.2} ms, p99 {:.2} ms (budget 16 ms), over 16 ms: {}",
            frame_ms.len(),
            p(0.5),
            p(0.99),
            frame_ms.iter().filter(|&&ms| ms > 16.0).count()
        );
    }
}
