//! Integration tests, one binary: suite files, the runner through its public API, and the real
//! `phasebench` binary end to end.

#[cfg(feature = "gui")]
mod app;
mod browser;
mod cli;
mod diffusion;
mod model_files;
mod report;
mod runner;
mod suites;
mod vision;

use std::path::PathBuf;

/// A fixture file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// Result type for tests that use `?`.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A completed run with fixed, deterministic step times around `typical_ms`.
pub fn fixed_run(
    index: usize,
    workload: &str,
    phase: &str,
    is_baseline: bool,
    typical_ms: f64,
) -> phasebench::results::RunResult {
    use phasebench::results::{RunResult, RunStatus, StopReason};
    use phasebench::suite::{DTypeSpec, DeviceSpec, Mode};
    let step_secs: Vec<f64> =
        (0..60).map(|i| typical_ms * 1e-3 * (1.0 + 0.04 * ((i * 37 % 11) as f64) / 10.0)).collect();
    let summary = phasebench::stats::summarize(&step_secs, 2_000, 7).ok();
    RunResult {
        index,
        workload: workload.into(),
        phase: phase.into(),
        batch_size: 1,
        is_baseline,
        model: "Mlp".into(),
        dtype: if is_baseline { DTypeSpec::F32 } else { DTypeSpec::BF16 },
        device: DeviceSpec::Cpu,
        quantization: None,
        mode: Mode::Inference,
        status: RunStatus::Completed,
        started_at: phasebench::results::Timestamp::from_unix(1_795_348_800, 0),
        load_secs: Some(0.01),
        transfer_secs: None,
        transfer_bytes: None,
        file_load: None,
        gpu_index: None,
        device_memory: None,
        warmup_step_secs: vec![typical_ms * 2e-3; 3],
        step_start_secs: (0..60).map(|i| i as f64 * typical_ms * 1e-3).collect(),
        measured_window_secs: Some([0.0, 60.0 * typical_ms * 1e-3]),
        stop_reason: Some(StopReason::MinimumReached),
        param_count: 1000,
        param_bytes: 4000,
        f32_param_bytes: 4000,
        flops_per_item: Some(2e6),
        peak_rss_bytes: Some(200 << 20),
        start_rss_bytes: Some(190 << 20),
        run_memory_bytes: Some(96 << 20),
        throughput_items_per_sec: summary.as_ref().map(|s| 1.0 / s.median),
        summary,
        speedup: None,
        accuracy: (!is_baseline).then_some(phasebench::accuracy::Accuracy {
            elements: 40,
            nonfinite_values: 0,
            max_abs_error: 1.7e-3,
            max_rel_error: 2e-3,
            mean_abs_error: 4e-4,
            mean_squared_error: 3e-7,
            cosine_similarity: Some(0.99996),
            psnr_db: Some(58.0),
            relative_error: Some(8.9e-3),
            tokens: None,
            image: None,
        }),
        training: None,
        generation: None,
        text: None,
        rounds: None,
        telemetry: None,
        warnings: Vec::new(),
        step_secs,
        notes: Vec::new(),
        failure: None,
        host: None,
    }
}

/// A result with fixed data: the tiny fixture suite, bf16 slower on the MLP and faster on the
/// matmul, on a made-up machine; the same bytes on every machine.
pub fn fixed_result() -> Result<phasebench::results::SuiteResult, Box<dyn std::error::Error>> {
    let suite = phasebench::suite::load_suite(&fixture("valid_suites/tiny.ron"))?;
    let mut runs = vec![
        fixed_run(0, "mlp", "baseline", true, 1.0),
        fixed_run(1, "mlp", "bf16", false, 1.6),
        fixed_run(2, "matmul", "baseline", true, 4.0),
        fixed_run(3, "matmul", "bf16", false, 2.5),
    ];
    // mlp compared step-level (a sequential run, or a file from before rounds); matmul over six
    // interleaved rounds of ten steps, the baseline's last five of each round its A/A control.
    runs[1].speedup = Some(phasebench::compare::diff_runs(&runs[0], &runs[1], 0.02, 2_000, 7)?);
    for (run, control) in [(2, true), (3, false)] {
        let steps = runs[run].step_secs.len();
        runs[run].rounds = Some(phasebench::results::RoundSteps {
            step_round: (0..steps).map(|i| (i / 10) as u32).collect(),
            step_control: if control { (0..steps).map(|i| i % 10 >= 5).collect() } else { Vec::new() },
            block_secs: 0.02,
            ..phasebench::results::RoundSteps::default()
        });
    }
    let rounds = phasebench::compare::compare_in_rounds(
        &runs[2],
        &runs[3],
        phasebench::compare::GroupThreshold::fixed(0.02),
        0.05,
    )
    .ok_or("no rounds")??;
    runs[3].speedup = Some(rounds);
    let environment = phasebench::results::Environment {
        hostname: Some("bench-host".into()),
        os: "Debian 12".into(),
        cpu_arch: "x86_64".into(),
        cpu_model: "Example CPU".into(),
        cpu_logical_cores: 2,
        compute_threads: 2,
        phasebench_version: "0.1.0".into(),
        candle_version: "0.11.1".into(),
        build_profile: "release".into(),
        ..Default::default()
    };
    Ok(phasebench::results::SuiteResult {
        format_version: phasebench::results::RESULT_FORMAT_VERSION,
        suite_origin: "tests/fixtures/valid_suites/tiny.ron".into(),
        suite,
        environment,
        started_at: "2026-11-22T12:00:00Z".parse()?,
        finished_at: Some("2026-11-22T12:00:05Z".parse()?),
        status: phasebench::results::SuiteStatus::Completed,
        planned_runs: 4,
        runs,
        sweeps: Vec::new(),
        resumed_at: Vec::new(),
        shard: None,
    })
}
