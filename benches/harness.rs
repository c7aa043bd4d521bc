//! What phasebench itself costs and how faithful its numbers are, each as a ratio taken side by
//! side in this one process, repeated over rounds (min / median / max):
//!
//! - **overhead**: a `Noop` workload through the full runner (worker thread, telemetry sampler,
//!   step events, stop rules) against a bare loop calling the same network; the difference of
//!   wall time per step is what the harness adds (goal ≤ 1 µs);
//! - **fidelity**: phasebench's median step of MatMul, Mlp and Transformer against a plain
//!   `Instant` loop over the identical candle network and input (goal within ±2 %);
//! - **suite parse** time of every shipped suite and of a generated 1 000-workload suite;
//! - **HTML export** time and size of a 30-run × 1 000-step result (goal ≤ 100 ms, ≤ 2 MB), with
//!   the JSON, Markdown and CSV exports beside it.
//!
//! Run: `cargo bench --bench harness` (optionally `-- ROUNDS`, default 5). The arms alternate
//! their order every round so that a drift of the machine favours neither. Figures:
//! BENCHMARKS.md.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device};
use common::min_median_max;
use phasebench::models::{self, BuildOptions};
use phasebench::results::{RunStatus, SuiteResult};
use phasebench::runner::{RunOptions, run_to_end};
use phasebench::suite::{MatMulSpec, MlpSpec, ModelSpec, Suite, TransformerSpec};
use phasebench::telemetry::{HostSample, RunTelemetry, TelemetrySample};

fn fail(message: &str) -> ! {
    eprintln!("harness bench: {message}");
    std::process::exit(1);
}

fn or_fail<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| fail(&error.to_string()))
}

/// One measured figure over all rounds.
struct Figure {
    what: String,
    goal: &'static str,
    unit: &'static str,
    values: Vec<f64>,
}

impl Figure {
    fn new(what: impl Into<String>, goal: &'static str, unit: &'static str) -> Self {
        Self { what: what.into(), goal, unit, values: Vec::new() }
    }

    fn row(&self) -> String {
        let [min, median, max] = min_median_max(&self.values);
        let digits = if median.abs() >= 100.0 {
            0
        } else if median.abs() >= 10.0 {
            1
        } else {
            3
        };
        format!(
            "| {} | {min:.digits$} | {median:.digits$} | {max:.digits$} | {} | {} |",
            self.what,
            self.unit,
            if self.goal.is_empty() { "–" } else { self.goal }
        )
    }
}

fn suite_from(text: &str) -> Suite {
    or_fail(phasebench::parse_checked_suite(text, "harness bench"))
}

/// Runs `suite` through the full runner into a scratch directory and returns the result.
fn run_suite(suite: Suite, scratch: &Path) -> SuiteResult {
    let result = or_fail(run_to_end(suite, RunOptions::new(scratch, "harness bench")));
    if let Some(run) = result.runs.iter().find(|run| run.status != RunStatus::Completed) {
        fail(&format!("run {}/{} did not complete: {:?}", run.workload, run.phase, run.status));
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Overhead per step.

const NOOP_STEPS: usize = 50_000;

/// Wall seconds per step of the runner's measured window for a `Noop` workload, and the median
/// step time it recorded (the cost of the timer around an empty step).
fn runner_noop_per_step(scratch: &Path) -> (f64, f64) {
    let suite = suite_from(&format!(
        "Suite(version: 1, name: \"overhead\", settings: Settings(warmup_steps: 1000, min_steps: {NOOP_STEPS}, \
         max_steps: {NOOP_STEPS}, min_secs: 0.0, max_secs: 600.0, seed: 1), \
         workloads: [Workload(name: \"noop\", model: Noop())], phases: [Phase(name: \"cpu\")], baseline: \"cpu\")"
    ));
    let result = run_suite(suite, scratch);
    let run = &result.runs[0];
    let [start, end] = run.measured_window_secs.unwrap_or_else(|| fail("the Noop run has no measured window"));
    let median = run.summary.as_ref().map_or_else(|| fail("the Noop run has no statistics"), |s| s.median);
    ((end - start) / run.step_secs.len() as f64, median)
}

/// Wall seconds per step of a bare loop calling the same `Noop` network on the same input.
fn bare_noop_per_step() -> f64 {
    let spec = ModelSpec::Noop(Default::default());
    let arch = models::architecture(&spec);
    let weights = or_fail(models::generate_weights(arch, 1));
    let network = or_fail(models::build_network(arch, &weights, DType::F32, &Device::Cpu, BuildOptions::default()));
    let input = or_fail(models::seeded_input(arch, 1, 1, DType::F32, &Device::Cpu));
    for _ in 0..1000 {
        black_box(or_fail(network.forward(black_box(&input))));
    }
    let start = Instant::now();
    for _ in 0..NOOP_STEPS {
        black_box(or_fail(network.forward(black_box(&input))));
    }
    start.elapsed().as_secs_f64() / NOOP_STEPS as f64
}

// ---------------------------------------------------------------------------------------------
// Fidelity against a plain timing loop.

/// The compared workloads: name, model, batch size.
fn fidelity_workloads() -> Vec<(&'static str, ModelSpec, usize)> {
    vec![
        ("MatMul 512", ModelSpec::MatMul(MatMulSpec { m: 512, n: 512, k: 512 }), 1),
        ("Mlp", ModelSpec::Mlp(MlpSpec { input: 512, hidden: 1024, layers: 4, output: 10 }), 32),
        (
            "Transformer",
            ModelSpec::Transformer(TransformerSpec {
                layers: 2,
                hidden: 256,
                heads: 4,
                seq_len: 64,
                ffn_mult: 4,
                causal: false,
            }),
            4,
        ),
    ]
}

const FIDELITY_WARMUP: usize = 20;

/// Comparisons (phasebench and two plain loops each) per workload and round.
const FIDELITY_PAIRS: usize = 6;

/// The orders the three arms (0: phasebench, 1 and 2: plain loops) run in, cycled through.
const ARM_ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];

/// The median step seconds of a plain loop: the network and input exactly as phasebench makes
/// them (same seed), `warmup` untimed steps, then `steps` steps timed with `Instant` alone.
fn plain_loop_median(model: &ModelSpec, batch: usize, seed: u64, steps: usize) -> f64 {
    let arch = models::architecture(model);
    let weights = or_fail(models::generate_weights(arch, seed));
    let network = or_fail(models::build_network(arch, &weights, DType::F32, &Device::Cpu, BuildOptions::default()));
    let input = or_fail(models::seeded_input(arch, batch, seed, DType::F32, &Device::Cpu));
    for _ in 0..FIDELITY_WARMUP {
        drop(or_fail(network.forward(&input)));
    }
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let start = Instant::now();
        let output = or_fail(network.forward(&input));
        times.push(start.elapsed().as_secs_f64());
        drop(output);
    }
    or_fail(phasebench::stats::median(&times))
}

fn fidelity_suite(model: &ModelSpec, batch: usize, steps: usize) -> Suite {
    let model = or_fail(phasebench::suite::model_to_ron(model));
    suite_from(&format!(
        "Suite(version: 1, name: \"fidelity\", settings: Settings(warmup_steps: {FIDELITY_WARMUP}, min_steps: {steps}, \
         max_steps: {steps}, min_secs: 0.0, max_secs: 600.0, seed: 7), \
         workloads: [Workload(name: \"w\", model: {model}, batch_sizes: [{batch}])], \
         phases: [Phase(name: \"f32\")], baseline: \"f32\")"
    ))
}

/// Steps that take about a quarter of a second for this workload (at least 15).
fn calibrated_steps(model: &ModelSpec, batch: usize) -> usize {
    let per_step = plain_loop_median(model, batch, 7, 10);
    ((0.25 / per_step) as usize).clamp(15, 2000)
}

// ---------------------------------------------------------------------------------------------
// Suite parsing.

fn shipped_suites() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut suites: Vec<(String, String)> = or_fail(std::fs::read_dir(&dir))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ron"))
        .map(|path| (path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), path))
        .map(|(name, path)| (name, or_fail(std::fs::read_to_string(path))))
        .collect();
    suites.sort();
    suites
}

/// A valid suite with `workloads` workloads and 10 phases.
fn large_suite_text(workloads: usize) -> String {
    let workloads: Vec<String> = (0..workloads)
        .map(|i| {
            format!("Workload(name: \"w{i}\", model: Mlp(input: {}, hidden: 64), batch_sizes: [1, 8])", 8 + i % 50)
        })
        .collect();
    let phases: Vec<String> = (0..10).map(|i| format!("Phase(name: \"p{i}\", dtype: F32)")).collect();
    format!(
        "Suite(version: 1, name: \"large\", workloads: [{}], phases: [{}], baseline: \"p0\")",
        workloads.join(",\n"),
        phases.join(",\n")
    )
}

/// Median seconds of parsing and checking `text` (repeated to about 0.2 s).
fn parse_secs(text: &str) -> f64 {
    let once = Instant::now();
    black_box(suite_from(text));
    let repeats = ((0.2 / once.elapsed().as_secs_f64()) as usize).clamp(3, 2000);
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        black_box(suite_from(black_box(text)));
        times.push(start.elapsed().as_secs_f64());
    }
    or_fail(phasebench::stats::median(&times))
}

// ---------------------------------------------------------------------------------------------
// Export of a large result.

/// A result of 30 runs × 1 000 measured steps (5 phases × 6 batch sizes): measured by the real
/// runner on a `Noop` model, then given step times of a 10 ms workload with realistic noise and
/// 100 telemetry samples per run, and statistics recomputed from those steps.
fn large_result(scratch: &Path) -> SuiteResult {
    let phases: Vec<String> = (0..5).map(|i| format!("Phase(name: \"phase-{i}\")")).collect();
    let suite = suite_from(&format!(
        "Suite(version: 1, name: \"export\", settings: Settings(warmup_steps: 10, min_steps: 1000, max_steps: 1000, \
         min_secs: 0.0, max_secs: 60.0, seed: 3), \
         workloads: [Workload(name: \"w\", model: Noop(features: 8), batch_sizes: [1, 2, 4, 8, 16, 32])], \
         phases: [{}], baseline: \"phase-0\")",
        phases.join(", ")
    ));
    let mut result = run_suite(suite, scratch);
    // A xorshift stream: deterministic noise without another dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // Whole nanoseconds and 0.01 %, as measured values are.
    let ns = |secs: f64| (secs * 1e9).round() / 1e9;
    let percent = |value: f64| (value * 100.0).round() / 100.0;
    for (index, run) in result.runs.iter_mut().enumerate() {
        let base = 0.010 * (1.0 + index as f64 * 0.05);
        run.step_secs =
            (0..1000).map(|_| ns(base * (1.0 + 0.05 * noise() + if noise() > 0.99 { 0.5 } else { 0.0 }))).collect();
        let mut clock = 0.0;
        run.step_start_secs = run
            .step_secs
            .iter()
            .map(|secs| {
                let start = clock;
                clock = ns(clock + secs + 2e-7);
                start
            })
            .collect();
        run.measured_window_secs = Some([0.0, clock]);
        run.summary = Some(or_fail(phasebench::stats::summarize(&run.step_secs, 10_000, index as u64)));
        run.throughput_items_per_sec = run.summary.as_ref().map(|s| run.batch_size as f64 / s.median);
        let samples = (0..100)
            .map(|i| TelemetrySample {
                t_secs: ns(i as f64 * 0.1 + 1e-4 * noise()),
                host: HostSample {
                    process_cpu_percent: Some(percent(180.0 + 20.0 * noise())),
                    system_cpu_percent: Some(percent(95.0 + 5.0 * noise())),
                    process_rss_bytes: Some(400_000_000 + (noise() * 1e6) as u64),
                    system_memory_used_bytes: Some(8_000_000_000),
                    system_memory_available_bytes: Some(16_000_000_000),
                },
                gpus: Vec::new(),
            })
            .collect();
        run.telemetry = Some(RunTelemetry { samples, measured_window_secs: Some([0.0, clock]), ..Default::default() });
    }
    result
}

/// Median seconds of `render` over 10 calls, and the size in bytes of its output.
fn export_secs<T: AsRef<[u8]>>(render: impl Fn() -> T) -> (f64, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..10 {
        let start = Instant::now();
        let output = black_box(render());
        times.push(start.elapsed().as_secs_f64());
        size = output.as_ref().len();
    }
    (or_fail(phasebench::stats::median(&times)), size)
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(5);
    let scratch = or_fail(tempfile::tempdir());
    println!(
        "harness bench: {rounds} rounds, candle threads: {} (RAYON_NUM_THREADS={})",
        candle_core::utils::get_num_threads(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
    );

    let mut overhead =
        Figure::new("harness overhead per step (Noop: runner wall time per step − bare loop)", "≤ 1 µs", "µs");
    let mut runner_step = Figure::new("runner wall time per Noop step", "", "µs");
    let mut bare_step = Figure::new("bare loop time per Noop step", "", "µs");
    let mut timer_floor = Figure::new("median recorded Noop step (the timer's own floor)", "", "µs");
    let fidelity_models = fidelity_workloads();
    let fidelity_steps: Vec<usize> =
        fidelity_models.iter().map(|(_, model, batch)| calibrated_steps(model, *batch)).collect();
    let mut fidelity: Vec<Figure> = fidelity_models
        .iter()
        .map(|(name, _, batch)| {
            Figure::new(
                format!("fidelity {name} (batch {batch}): phasebench median ÷ plain loop median"),
                "0.98–1.02",
                "ratio",
            )
        })
        .collect();
    let mut fidelity_control: Vec<Figure> = fidelity_models
        .iter()
        .map(|(name, _, batch)| {
            Figure::new(format!("control {name} (batch {batch}): plain loop ÷ plain loop median"), "", "ratio")
        })
        .collect();
    let mut all_ratios = vec![Vec::new(); fidelity_models.len()];
    let mut all_controls = vec![Vec::new(); fidelity_models.len()];
    let mut plain_ms: Vec<Figure> = fidelity_models
        .iter()
        .map(|(name, _, batch)| Figure::new(format!("plain-loop median step, {name} (batch {batch})"), "", "ms"))
        .collect();

    for round in 0..rounds {
        let runner_first = round % 2 == 0;
        let bare_before = if runner_first { None } else { Some(bare_noop_per_step()) };
        let (runner, floor) = runner_noop_per_step(&scratch.path().join(format!("overhead-{round}")));
        let bare = bare_before.unwrap_or_else(bare_noop_per_step);
        overhead.values.push((runner - bare) * 1e6);
        runner_step.values.push(runner * 1e6);
        bare_step.values.push(bare * 1e6);
        timer_floor.values.push(floor * 1e6);

        for (index, (name, model, batch)) in fidelity_models.iter().enumerate() {
            // Three short arms per pair (phasebench and two plain loops), in an order that cycles
            // through all six, so every arm sees the machine's moods alike. The plain-vs-plain
            // ratio is the control: the noise floor any fidelity figure sits in.
            let steps = fidelity_steps[index];
            let (mut ratios, mut controls, mut plains) = (Vec::new(), Vec::new(), Vec::new());
            for pair in 0..FIDELITY_PAIRS {
                let mut arm_secs = [0.0; 3];
                for arm in ARM_ORDERS[(round * FIDELITY_PAIRS + pair) % ARM_ORDERS.len()] {
                    arm_secs[arm] = if arm == 0 {
                        let result = run_suite(
                            fidelity_suite(model, *batch, steps),
                            &scratch.path().join(format!("fidelity-{round}-{index}-{pair}")),
                        );
                        result.runs[0].summary.as_ref().map_or_else(|| fail("no statistics"), |s| s.median)
                    } else {
                        plain_loop_median(model, *batch, 7, steps)
                    };
                }
                let [ours, plain_a, plain_b] = arm_secs;
                ratios.push(ours / ((plain_a + plain_b) / 2.0));
                controls.push(plain_b / plain_a);
                plains.push(plain_a);
            }
            all_ratios[index].extend_from_slice(&ratios);
            all_controls[index].extend_from_slice(&controls);
            let ratio = or_fail(phasebench::stats::median(&ratios));
            let control = or_fail(phasebench::stats::median(&controls));
            let plain = or_fail(phasebench::stats::median(&plains));
            fidelity[index].values.push(ratio);
            fidelity_control[index].values.push(control);
            plain_ms[index].values.push(plain * 1e3);
            let ([low, _, high], [control_low, _, control_high]) = (min_median_max(&ratios), min_median_max(&controls));
            println!(
                "round {}: {name}: plain loop {:.4} ms; phasebench ÷ plain: median {ratio:.4} of {FIDELITY_PAIRS} \
                 ({low:.4}–{high:.4}); plain ÷ plain: {control:.4} ({control_low:.4}–{control_high:.4}); {steps} steps each",
                round + 1,
                plain * 1e3,
            );
        }
        println!(
            "round {}: Noop: runner {:.3} µs/step, bare {:.3} µs/step, overhead {:.3} µs, recorded median {:.3} µs",
            round + 1,
            runner * 1e6,
            bare * 1e6,
            (runner - bare) * 1e6,
            floor * 1e6
        );
    }

    let mut parse: Vec<Figure> = Vec::new();
    let large = large_suite_text(1000);
    let mut texts = shipped_suites();
    texts.push(("generated: 1 000 workloads × 10 phases".into(), large));
    for (name, text) in &texts {
        let mut figure = Figure::new(format!("suite parse + check: {name} ({} bytes)", text.len()), "", "ms");
        for _ in 0..rounds {
            figure.values.push(parse_secs(text) * 1e3);
        }
        parse.push(figure);
    }

    let result = large_result(&scratch.path().join("export"));
    if let Ok(path) = std::env::var("HARNESS_SAVE_HTML") {
        or_fail(std::fs::write(path, or_fail(phasebench::report::html::render(&result, None))));
    }
    let mut html_ms = Figure::new("HTML export, 30 runs × 1 000 steps", "≤ 100 ms", "ms");
    let mut html_mb = Figure::new("HTML report size, 30 runs × 1 000 steps", "≤ 2 MB", "MB");
    let mut other_exports: Vec<Figure> = ["JSON result", "Markdown", "CSV"]
        .iter()
        .map(|name| Figure::new(format!("{name} export, 30 runs × 1 000 steps"), "", "ms"))
        .collect();
    let mut json_mb = Figure::new("JSON result size, 30 runs × 1 000 steps", "", "MB");
    for _ in 0..rounds {
        let (secs, bytes) = export_secs(|| or_fail(phasebench::report::html::render(&result, None)));
        html_ms.values.push(secs * 1e3);
        html_mb.values.push(bytes as f64 / 1e6);
        let (secs, bytes) = export_secs(|| or_fail(serde_json::to_string_pretty(&result)));
        other_exports[0].values.push(secs * 1e3);
        json_mb.values.push(bytes as f64 / 1e6);
        let (secs, _) = export_secs(|| phasebench::report::markdown::render(&result, None));
        other_exports[1].values.push(secs * 1e3);
        let (secs, _) = export_secs(|| or_fail(phasebench::report::csv::render(&result)));
        other_exports[2].values.push(secs * 1e3);
    }

    println!("\n| measure | min | median | max | unit | goal |\n|---|---|---|---|---|---|");
    let figures = [overhead, runner_step, bare_step, timer_floor]
        .into_iter()
        .chain(fidelity)
        .chain(fidelity_control)
        .chain(plain_ms)
        .chain(parse)
        .chain([html_ms, html_mb, json_mb])
        .chain(other_exports);
    for figure in figures {
        println!("{}", figure.row());
    }
    println!("\nEvery comparison of all rounds pooled (median and 95 % bootstrap CI of the median):\n");
    println!("| workload | phasebench ÷ plain | plain ÷ plain (control) | comparisons |\n|---|---|---|---|");
    for (index, (name, _, batch)) in fidelity_models.iter().enumerate() {
        let ci = |values: &[f64]| {
            let summary = or_fail(phasebench::stats::summarize(values, 10_000, 1));
            format!("{:.4} [{:.4}–{:.4}]", summary.median, summary.median_ci.low, summary.median_ci.high)
        };
        println!(
            "| {name} (batch {batch}) | {} | {} | {} |",
            ci(&all_ratios[index]),
            ci(&all_controls[index]),
            all_ratios[index].len()
        );
    }
}
