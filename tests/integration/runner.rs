//! The runner through its public API: events, failure isolation, derived figures, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use phasebench::results::{RunStatus, SuiteStatus, load_result};
use phasebench::runner::{self, RunEvent, RunOptions, StepKind};
use phasebench::suite::{Schedule, load_suite};

use crate::{TestResult, fixture};

#[test]
fn a_suite_runs_with_every_step_reported_and_saved() -> TestResult {
    let suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    let out = tempfile::tempdir()?;
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let handle = runner::start(
        suite.clone(),
        RunOptions::new(out.path(), "tiny"),
        Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    )?;
    let mut events = Vec::new();
    let result = runner::drive(handle, |event| events.push(event.clone()))?;

    assert_eq!(result.status, SuiteStatus::Completed);
    assert_eq!(result.runs.len(), runner::expand(&suite).len());
    assert!(matches!(events.first(), Some(RunEvent::Planned { .. })));
    assert!(matches!(events.last(), Some(RunEvent::SuiteFinished { status: SuiteStatus::Completed })));
    assert!(wakes.load(Ordering::Relaxed) >= events.len());

    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{run:?}");
        assert_eq!(run.warmup_step_secs.len(), suite.settings.warmup_steps);
        assert!(run.step_secs.len() >= suite.settings.min_steps);
        assert!(run.load_secs.is_some() && run.peak_rss_bytes.is_some());
        // Every measured step reached the front end exactly once, in order.
        let streamed: Vec<f64> = events
            .iter()
            .filter_map(|event| match event {
                RunEvent::Steps { index, kind: StepKind::Measured, step_secs } if *index == run.index => {
                    Some(step_secs.clone())
                }
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(streamed, run.step_secs);
        let summary = run.summary.as_ref().ok_or("no summary")?;
        assert!(summary.median_ci.contains(summary.median));
        if run.is_baseline {
            assert!(run.speedup.is_none());
        } else {
            let accuracy = run.accuracy.as_ref().ok_or("no accuracy")?;
            // bf16 drifts from f32, but not by much on these small models.
            assert!(accuracy.max_abs_error > 0.0 && accuracy.max_abs_error < 0.5, "{accuracy:?}");
            assert!(accuracy.cosine_similarity.unwrap_or(0.0) > 0.99);
            assert!(run.speedup.is_some());
        }
    }

    // The file on disk is the result returned.
    let on_disk = load_result(&out.path().read_dir()?.next().ok_or("no result directory")??.path())?;
    assert_eq!(on_disk, result);
    Ok(())
}

#[test]
fn a_phase_the_device_cannot_run_fails_alone() -> TestResult {
    let suite = load_suite(&fixture("valid_suites/with_cuda_phase.ron"))?;
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "cuda"))?;
    assert_eq!(result.status, SuiteStatus::Completed);
    let by_phase = |phase: &str| result.runs.iter().find(|run| run.phase == phase).ok_or("missing run");
    match &by_phase("gpu")?.status {
        RunStatus::Failed { reason } => assert!(reason.to_lowercase().contains("cuda"), "{reason}"),
        other => panic!("the CUDA phase should fail here, got {other:?}"),
    }
    assert_eq!(by_phase("cpu")?.status, RunStatus::Completed);
    // A batch-size phase is compared per item against the baseline's batch.
    let batched = by_phase("cpu-batch4")?;
    assert_eq!(batched.status, RunStatus::Completed);
    assert_eq!(batched.batch_size, 4);
    assert!(batched.speedup.is_some());
    assert!(batched.notes.iter().any(|note| note.contains("per item against the baseline at batch 1")));
    // Same weights, same dtype: the batch-4 phase's probe output matches the baseline exactly.
    assert_eq!(batched.accuracy.as_ref().map(|a| a.max_abs_error), Some(0.0));
    Ok(())
}

#[test]
fn cancelling_stops_within_a_step_and_keeps_what_was_measured() -> TestResult {
    let mut suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    suite.settings.min_secs = 60.0;
    suite.settings.max_secs = 60.0;
    suite.settings.max_steps = 10_000_000;
    suite.settings.schedule = Schedule::Sequential;
    let out = tempfile::tempdir()?;
    let handle = runner::start(suite, RunOptions::new(out.path(), "cancel"), Arc::new(|| {}))?;
    let cancel = handle.cancel_token();
    let mut measured = 0;
    let result = runner::drive(handle, |event| {
        if let RunEvent::Steps { kind: StepKind::Measured, step_secs, .. } = event {
            measured += step_secs.len();
            if measured >= 10 {
                cancel.cancel();
            }
        }
    })?;
    assert_eq!(result.status, SuiteStatus::Cancelled);
    assert_eq!(result.runs.len(), 1);
    let run = &result.runs[0];
    assert_eq!(run.status, RunStatus::Cancelled);
    assert!(run.step_secs.len() >= 10);
    let on_disk = load_result(&out.path().read_dir()?.next().ok_or("no result directory")??.path())?;
    assert_eq!(on_disk.status, SuiteStatus::Cancelled);
    assert_eq!(on_disk.runs, result.runs);
    Ok(())
}

#[test]
fn training_and_generation_runs_record_their_breakdowns() -> TestResult {
    let suite = load_suite(&fixture("valid_suites/modes.ron"))?;
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "modes"))?;
    assert_eq!(result.runs.len(), 6);
    for run in &result.runs {
        assert_eq!(run.status, RunStatus::Completed, "{run:?}");
        if run.workload.starts_with("train") {
            let training = run.training.as_ref().ok_or("no training record")?;
            // Issue 18, defect 8: the headline steps are timed whole; the breakdown comes from the
            // first of every 10 measured steps, timed in parts and kept out of the step times.
            assert_eq!(training.breakdown_every, 10);
            let samples = training.forward_secs.len();
            assert!(samples >= 1, "every run has a breakdown");
            assert_eq!((training.backward_secs.len(), training.optimizer_secs.len()), (samples, samples));
            assert_eq!(samples, (run.step_secs.len() + samples).div_ceil(10), "{samples} sampled steps");
            assert_eq!(training.losses.len(), run.warmup_step_secs.len() + run.step_secs.len() + samples);
            assert!(training.losses.last() < training.losses.first(), "{:?}", training.losses);
        } else {
            let generation = run.generation.as_ref().ok_or("no generation record")?;
            assert_eq!(generation.steps_per_generation, 4);
            // Measuring stops only between whole generations.
            assert_eq!(run.step_secs.len(), 4 * generation.generation_secs.len());
            assert!(!generation.generation_secs.is_empty());
            for (generation_secs, steps) in generation.generation_secs.iter().zip(run.step_secs.chunks(4)) {
                assert!(*generation_secs >= steps.iter().sum::<f64>());
            }
        }
        if !run.is_baseline {
            // Identical phases train and generate identically: the accuracy probe proves it.
            assert_eq!(run.accuracy.as_ref().map(|a| a.max_abs_error), Some(0.0), "{}", run.workload);
        }
    }
    Ok(())
}

#[test]
fn telemetry_series_line_up_with_the_steps_and_are_aggregated() -> TestResult {
    use phasebench::telemetry::{EnergyMethod, FakeSource, GpuSample, TelemetryChoice};
    let mut suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    suite.settings.min_secs = 0.3;
    suite.settings.max_steps = 1_000_000;
    suite.settings.telemetry_interval_ms = 10;
    suite.workloads.truncate(1);
    // A GPU whose energy counter the script advances by 50 J per sample.
    let script: Vec<GpuSample> = (0..10_000u64)
        .map(|i| GpuSample {
            index: 0,
            energy_millijoules: Some(i * 50_000),
            power_watts: Some(200.0),
            ..GpuSample::default()
        })
        .collect();
    let out = tempfile::tempdir()?;
    let options =
        RunOptions::new(out.path(), "telemetry").with_telemetry(TelemetryChoice::Fake(FakeSource::new(script)));
    let handle = runner::start(suite, options, Arc::new(|| {}))?;
    let mut telemetry_events = 0;
    let result = runner::drive(handle, |event| {
        if let RunEvent::Telemetry { samples, .. } = event {
            telemetry_events += samples.len();
        }
    })?;
    assert!(telemetry_events > 0, "no live telemetry reached the front end");
    for run in &result.runs {
        let telemetry = run.telemetry.as_ref().ok_or("no telemetry")?;
        let [start, end] = run.measured_window_secs.ok_or("no window")?;
        // Steps and samples share one clock: the series covers the measured window, and every
        // step starts inside it.
        let first_sample = telemetry.samples.first().map_or(f64::MAX, |s| s.t_secs);
        let last_sample = telemetry.samples.last().map_or(0.0, |s| s.t_secs);
        assert!(
            first_sample <= start && last_sample >= end,
            "samples {first_sample}..{last_sample}, window {start}..{end}"
        );
        assert!(run.step_start_secs.iter().all(|t| *t >= start && *t <= end));
        assert_eq!(run.step_start_secs.len(), run.step_secs.len());
        assert!(
            telemetry.samples.len() >= 10,
            "{} samples at 10 ms over {:.2} s",
            telemetry.samples.len(),
            end - start
        );
        assert!(telemetry.host.peak_rss_bytes.is_some() && telemetry.host.mean_process_cpu_percent.is_some());
        let gpu = telemetry.gpus.first().ok_or("no GPU aggregate from the fake source")?;
        assert_eq!(gpu.energy_method, Some(EnergyMethod::Counter));
        // The counter rose 50 J a sample; the steps are a part of the measured window, so their
        // energy is positive and at most the window's.
        let energy: Vec<(f64, f64)> = telemetry
            .samples
            .iter()
            .filter_map(|s| Some((s.t_secs, s.gpus.first()?.energy_millijoules? as f64 / 1000.0)))
            .collect();
        let at = |t: f64| energy.iter().rev().find(|(time, _)| *time <= t).map_or(0.0, |(_, joules)| *joules);
        let window_joules = at(end) - at(start) + 50.0;
        let steps_joules = gpu.energy_per_step_joules.ok_or("no energy")? * run.step_secs.len() as f64;
        assert!(
            steps_joules > 0.0 && steps_joules <= window_joules,
            "{steps_joules} J over steps, {window_joules} J in the window"
        );
        assert!(telemetry.sampler_cost.samples == telemetry.samples.len());
    }
    Ok(())
}

#[test]
fn without_an_nvidia_library_runs_keep_host_telemetry_and_say_why() -> TestResult {
    let mut suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    suite.workloads.truncate(1);
    suite.phases.truncate(1);
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "auto"))?;
    let gpu = &result.environment.gpu;
    // On a machine with an NVIDIA driver this lists the GPUs; elsewhere it says why not.
    assert!(
        !gpu.gpus.is_empty()
            || gpu.unavailable_reason.as_deref().is_some_and(|r| r.starts_with("GPU telemetry unavailable"))
    );
    for run in &result.runs {
        let telemetry = run.telemetry.as_ref().ok_or("no telemetry")?;
        assert!(!telemetry.samples.is_empty());
        assert!(telemetry.samples.iter().all(|s| s.host.process_rss_bytes.is_some()));
        assert_eq!(telemetry.gpu_unavailable_reason, gpu.unavailable_reason);
    }
    Ok(())
}

#[test]
fn a_process_outgrowing_the_memory_budget_stops_its_run_and_the_suite_goes_on() -> TestResult {
    // slow.ron measures each run for 1.5 s; telemetry claims the process holds 1 TiB, far over the
    // budget, so each run stops at its next step instead of measuring on.
    let mut suite = load_suite(&fixture("valid_suites/slow.ron"))?;
    suite.phases.truncate(2);
    suite.settings.max_memory_bytes = Some(64 << 30);
    let fake = phasebench::telemetry::FakeSource::new(Vec::new()).with_process_rss(1 << 40);
    let out = tempfile::tempdir()?;
    let options =
        RunOptions::new(out.path(), "slow").with_telemetry(phasebench::telemetry::TelemetryChoice::Fake(fake));
    let started = std::time::Instant::now();
    let result = runner::drive(runner::start(suite, options, Arc::new(|| {}))?, |_| {})?;
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "the runs did not stop early");
    assert_eq!(result.status, SuiteStatus::Completed);
    assert_eq!(result.runs.len(), 2, "the suite went on after the first run stopped");
    for run in &result.runs {
        let RunStatus::Failed { reason } = &run.status else { panic!("{:?}", run.status) };
        assert!(reason.starts_with("out of memory budget: the process grew to 1.0 TiB"), "{reason}");
    }
    Ok(())
}

#[test]
fn a_run_predicted_over_the_memory_budget_is_refused_before_it_allocates() -> TestResult {
    let mut suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    // Smaller than any process: every run is refused up front, each with the estimate.
    suite.settings.max_memory_bytes = Some(1 << 20);
    let out = tempfile::tempdir()?;
    let result = runner::drive(runner::start(suite, RunOptions::new(out.path(), "tiny"), Arc::new(|| {}))?, |_| {})?;
    assert_eq!(result.status, SuiteStatus::Completed);
    for run in &result.runs {
        let RunStatus::Failed { reason } = &run.status else { panic!("{:?}", run.status) };
        assert!(reason.contains("out of memory budget: not started") && reason.contains("max_memory_bytes is 1.0 MiB"));
        assert!(run.step_secs.is_empty() && run.load_secs.is_none(), "nothing was built");
    }
    assert_eq!(load_result(&result_dir(out.path())?)?.runs.len(), result.runs.len());
    Ok(())
}

fn result_dir(out: &std::path::Path) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    Ok(std::fs::read_dir(out)?.next().ok_or("no result directory")??.path())
}

#[test]
fn injected_faults_fail_their_run_only_and_the_suite_goes_on() -> TestResult {
    use phasebench::runner::{FaultKind, InjectedFault};
    // tiny.ron plans mlp (baseline, bf16) × (1, 8) and matmul (baseline, bf16) × 1: six runs.
    let mut suite = load_suite(&fixture("valid_suites/tiny.ron"))?;
    suite.settings.run_timeout_secs = 2.0;
    // Each run on its own, so a hang is one run's (interleaved groups: see below).
    suite.settings.schedule = Schedule::Sequential;
    let fault = |run_index, kind| InjectedFault { run_index, at_step: 3, kind };
    let faults = vec![
        fault(1, FaultKind::Panic),
        fault(2, FaultKind::CandleError),
        fault(3, FaultKind::NonFiniteOutput),
        fault(5, FaultKind::Hang),
    ];
    let out = tempfile::tempdir()?;
    let options = RunOptions::new(out.path(), "tiny").with_faults(faults);
    let mut finished = Vec::new();
    let result = runner::drive(runner::start(suite, options, Arc::new(|| {}))?, |event| {
        if let RunEvent::RunFinished { result } = event {
            finished.push(result.index);
        }
    })?;
    assert_eq!(result.status, SuiteStatus::Completed);
    assert_eq!(finished, [0, 1, 2, 3, 4, 5], "every run reported, in order");
    let reason = |index: usize| match &result.runs[index].status {
        RunStatus::Failed { reason } => reason.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(result.runs[0].status, RunStatus::Completed);
    assert!(reason(1).starts_with("panicked: injected panic before step 4"), "{}", reason(1));
    assert_eq!(result.runs[1].step_secs.len(), 3, "the steps before the panic are kept");
    assert!(reason(2).starts_with("step failed: injected error at step 4"), "{}", reason(2));
    // NaN outputs: measured, flagged in accuracy, never reported as a speedup.
    let nan_run = &result.runs[3];
    assert_eq!(nan_run.status, RunStatus::Completed);
    assert!(nan_run.accuracy.as_ref().is_some_and(|a| a.nonfinite_values > 0));
    assert!(nan_run.speedup.is_none() && nan_run.notes.iter().any(|note| note.contains("NaN")));
    assert_eq!(result.runs[4].status, RunStatus::Completed);
    assert!(reason(5).starts_with("timed out: still running after 2.00 s"), "{}", reason(5));
    // What reached the disk is the same.
    assert_eq!(load_result(&result_dir(out.path())?)?.runs, result.runs);
    Ok(())
}

/// Issue 18, defect 1: a run abandoned at its timeout must stop at its next step, not measure on
/// beside the next run and send it stale step events. The middle of three runs hangs past its
/// timeout and then steps on (as a slow kernel that finally returns would).
#[test]
fn a_timed_out_run_stops_at_its_next_step_and_sends_nothing_after_it_was_recorded() -> TestResult {
    use phasebench::runner::{FaultKind, InjectedFault};
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "timeout",
            settings: Settings(warmup_steps: 1, min_steps: 5000, max_steps: 1000000, min_secs: 0.0, max_secs: 10.0,
                               seed: 1),
            workloads: [Workload(name: "matmul", model: MatMul(m: 32, n: 32, k: 32))],
            phases: [Phase(name: "a"), Phase(name: "hangs"), Phase(name: "c")],
            baseline: "a",
        )"#,
        "timeout test",
    )?;
    // Each run stops after 5 000 steps (well under a second, even on a loaded machine); the
    // hanging one has 4 998 left when its step returns.
    // A timeout below max_secs is refused by validation; here it is what the test is about.
    let mut suite = suite;
    suite.settings.run_timeout_secs = 3.0;
    suite.settings.schedule = Schedule::Sequential;
    let hang = InjectedFault { run_index: 1, at_step: 2, kind: FaultKind::Hang };
    let out = tempfile::tempdir()?;
    let options = RunOptions::new(out.path(), "timeout").with_faults(vec![hang]);
    let mut events: Vec<(usize, usize)> = Vec::new(); // (run index, steps) of every Steps event
    let mut finished: Vec<usize> = Vec::new();
    let mut late_steps_of_hung_run = 0;
    let mut steps_of_last_run = 0;
    let result = runner::drive(runner::start(suite, options, Arc::new(|| {}))?, |event| match event {
        RunEvent::Steps { index, kind: StepKind::Measured, step_secs } => {
            events.push((*index, step_secs.len()));
            if *index == 1 && finished.contains(&1) {
                late_steps_of_hung_run += step_secs.len();
            }
            if *index == 2 {
                steps_of_last_run += step_secs.len();
            }
        }
        RunEvent::RunFinished { result } => finished.push(result.index),
        _ => {}
    })?;
    // `drive` returns once every sender is gone, the abandoned run's too: whatever it sent is in.
    let RunStatus::Failed { reason } = &result.runs[1].status else { panic!("{:?}", result.runs[1].status) };
    assert!(reason.starts_with("timed out"), "{reason}");
    assert_eq!(late_steps_of_hung_run, 0, "the abandoned run sent steps after it was recorded: {events:?}");
    let last = &result.runs[2];
    assert_eq!(last.status, RunStatus::Completed);
    assert_eq!(last.step_secs.len(), steps_of_last_run, "the last run's steps are the ones it reported");
    Ok(())
}

/// Issue 18, defect 4: a speedup needs a completed baseline run at the same batch size. A baseline
/// that failed part-way (it has steps, so statistics) is no reference, nor is the baseline at
/// another batch size; only a phase with its own batch size is compared across batch sizes.
#[test]
fn a_speedup_needs_a_completed_baseline_at_the_same_batch() -> TestResult {
    use phasebench::runner::{FaultKind, InjectedFault};
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "baselines",
            settings: Settings(warmup_steps: 1, min_steps: 5, max_steps: 20, min_secs: 0.0, max_secs: 1.0, seed: 1),
            workloads: [Workload(name: "mlp", model: Mlp(input: 16, hidden: 32, layers: 2, output: 4), batch_sizes: [1, 8, 16])],
            phases: [Phase(name: "base"), Phase(name: "other"), Phase(name: "big", batch_size: 4)],
            baseline: "base",
        )"#,
        "baseline test",
    )?;
    // Plan: 0 base@1, 1 other@1, 2 base@8, 3 other@8, 4 base@16, 5 other@16, 6 big@4.
    let faults = vec![
        InjectedFault { run_index: 2, at_step: 3, kind: FaultKind::CandleError },
        InjectedFault { run_index: 4, at_step: 0, kind: FaultKind::CandleError },
    ];
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "baselines").with_faults(faults))?;
    let labels: Vec<String> = result.runs.iter().map(|run| run.label()).collect();
    assert_eq!(
        labels,
        ["mlp/base@1", "mlp/other@1", "mlp/base@8", "mlp/other@8", "mlp/base@16", "mlp/other@16", "mlp/big@4"]
    );
    assert!(result.runs[1].speedup.is_some(), "a completed baseline at the same batch is the reference");
    assert!(result.runs[2].summary.is_some(), "the failed baseline has statistics of its 3 steps");
    for index in [3, 5] {
        let run = &result.runs[index];
        assert!(run.speedup.is_none(), "{}: compared with {:?}", run.label(), run.speedup);
        let why: Vec<String> = run.notes.iter().filter_map(|n| n.no_speedup_reason().map(str::to_owned)).collect();
        assert!(
            why.iter().any(|reason| reason.contains(&format!("at batch {} did not complete", run.batch_size))),
            "{why:?}"
        );
    }
    let big = &result.runs[6];
    assert!(big.speedup.is_some(), "a phase with its own batch size is compared per item");
    assert!(big.notes.iter().any(|note| note.contains("per item against the baseline at batch 1")), "{:?}", big.notes);
    Ok(())
}

/// Issue 18, defect 5: a generation's time is its denoising steps, not the wall time from its first
/// step, which with cold caches holds a 128 MiB flush before every step.
#[test]
fn a_generation_is_the_sum_of_its_steps_even_with_cache_flushes_between_them() -> TestResult {
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "generation-flush",
            settings: Settings(warmup_steps: 1, min_steps: 8, max_steps: 8, min_secs: 0.0, max_secs: 10.0, seed: 1,
                               flush_cache_between_steps: true),
            workloads: [Workload(
                name: "dit",
                model: DiffusionTransformer(image_size: 8, patch: 4, channels: 2, hidden: 32, layers: 1, heads: 2),
                mode: Generation(steps: 4),
            )],
            phases: [Phase(name: "base")],
            baseline: "base",
        )"#,
        "generation test",
    )?;
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "generation"))?;
    let run = &result.runs[0];
    assert_eq!(run.status, RunStatus::Completed);
    let generation = run.generation.as_ref().ok_or("no generation record")?;
    assert_eq!(generation.generation_secs.len(), 2);
    for (generation_secs, steps) in generation.generation_secs.iter().zip(run.step_secs.chunks(4)) {
        let steps_secs: f64 = steps.iter().sum();
        assert!(
            (generation_secs - steps_secs).abs() <= 1e-9 * steps_secs.max(1e-9),
            "generation {generation_secs} s against its steps {steps_secs} s: flushes counted in"
        );
    }
    // Defect 10: a generation run's throughput is images per second, labelled so.
    let median = phasebench::stats::median(&generation.generation_secs)?;
    assert_eq!(run.items_per_sec(), Some(1.0 / median));
    let cells = phasebench::report::RunCells::of(run, &result.suite.settings.accuracy);
    assert!(cells.throughput.ends_with(" img/s"), "{}", cells.throughput);
    Ok(())
}

/// Issue 18, defect 2: a training run's probe is the loss trajectory on its measured batch, so it
/// is compared with the baseline's at the same batch size. Two identical phases at two batch sizes
/// must agree exactly at both; the baseline at the second batch size is a reference, not a run
/// with an error against the first.
#[test]
fn training_accuracy_is_checked_against_the_baseline_at_the_same_batch() -> TestResult {
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "training-batches",
            settings: Settings(warmup_steps: 1, min_steps: 4, max_steps: 4, min_secs: 0.0, max_secs: 10.0, seed: 2),
            workloads: [Workload(
                name: "train",
                model: Mlp(input: 16, hidden: 32, layers: 2, output: 4),
                mode: Training(optimizer: Sgd(lr: 0.05)),
                batch_sizes: [1, 8],
            )],
            phases: [Phase(name: "base"), Phase(name: "same")],
            baseline: "base",
        )"#,
        "training test",
    )?;
    let out = tempfile::tempdir()?;
    let result = runner::run_to_end(suite, RunOptions::new(out.path(), "training"))?;
    let labels: Vec<String> = result.runs.iter().map(|run| run.label()).collect();
    assert_eq!(labels, ["train/base@1", "train/same@1", "train/base@8", "train/same@8"]);
    for index in [1, 3] {
        let accuracy = result.runs[index].accuracy.as_ref().ok_or("no accuracy")?;
        assert_eq!(accuracy.max_abs_error, 0.0, "{}: {accuracy:?}", result.runs[index].label());
    }
    assert_eq!(result.runs[2].accuracy, None, "the baseline at batch 8 is the reference there");
    Ok(())
}

#[test]
fn a_weights_file_deleted_mid_suite_and_a_vanished_result_directory_cost_only_what_they_must() -> TestResult {
    let dir = tempfile::tempdir()?;
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "faults",
            settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 10, min_secs: 0.0, max_secs: 1.0, seed: 1),
            workloads: [
                Workload(name: "first", model: Mlp(input: 16, hidden: 32, layers: 2, output: 4), weights: "w.safetensors"),
                Workload(name: "second", model: Mlp(input: 16, hidden: 32, layers: 2, output: 4), weights: "w.safetensors"),
            ],
            phases: [Phase(name: "base")],
            baseline: "base",
        )"#,
        "faults.ron",
    )?;
    let weights_file = dir.path().join("w.safetensors");
    let arch = phasebench::models::architecture(&suite.workloads[0].model);
    phasebench::models::save_weights(&phasebench::models::generate_weights(arch, 1)?, &weights_file)?;
    let out = dir.path().join("results");

    // On the worker thread, right after the first run is on disk: delete the weights file and
    // put a plain file where the result directory was.
    let struck = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (flag, results_root, weights) = (Arc::clone(&struck), out.clone(), weights_file.clone());
    let wake = Arc::new(move || {
        if flag.load(Ordering::SeqCst) {
            return;
        }
        let Ok(result_dir) = result_dir(&results_root) else { return };
        if load_result(&result_dir).is_ok_and(|result| !result.runs.is_empty()) {
            let _ = std::fs::remove_file(&weights);
            let _ = std::fs::remove_dir_all(&result_dir);
            let _ = std::fs::write(&result_dir, "not a directory any more");
            flag.store(true, Ordering::SeqCst);
        }
    });
    let options = RunOptions::new(&out, "faults.ron").with_base_dir(dir.path());
    let mut save_failures = Vec::new();
    let result = runner::drive(runner::start(suite, options, wake)?, |event| {
        if let RunEvent::SaveFailed { message } = event {
            save_failures.push(message.clone());
        }
    })?;
    assert!(struck.load(Ordering::SeqCst));
    assert_eq!(result.status, SuiteStatus::Completed);
    assert_eq!(result.runs[0].status, RunStatus::Completed);
    let RunStatus::Failed { reason } = &result.runs[1].status else { panic!("{:?}", result.runs[1].status) };
    assert!(reason.contains("w.safetensors"), "{reason}");
    // Every later save failed with its reason; the whole result is still in memory.
    assert!(!save_failures.is_empty() && save_failures.iter().all(|message| message.contains("faults-")));
    assert_eq!(result.runs.len(), 2);
    Ok(())
}

/// Cold-cache timing overwrites a 128 MiB buffer before every step: the run's peak memory shows
/// the buffer, while the same run without the setting stays small. The steps are still measured.
#[test]
fn cold_cache_runs_flush_a_buffer_larger_than_the_caches_before_each_step() -> TestResult {
    let text = |flush: bool| {
        format!(
            "Suite(version: 1, name: \"cold\", settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 3, \
             min_secs: 0.0, max_secs: 5.0, seed: 1, flush_cache_between_steps: {flush}), \
             workloads: [Workload(name: \"noop\", model: Noop())], phases: [Phase(name: \"cpu\")], baseline: \"cpu\")"
        )
    };
    let out = tempfile::tempdir()?;
    let mut growth = Vec::new();
    for flush in [true, false] {
        let suite = phasebench::parse_checked_suite(&text(flush), "cold")?;
        let result = runner::run_to_end(suite, RunOptions::new(out.path(), "cold"))?;
        let run = &result.runs[0];
        assert_eq!(run.status, RunStatus::Completed);
        assert_eq!(run.step_secs.len(), 3);
        let grown = run.peak_rss_bytes.ok_or("no peak RSS")?.saturating_sub(run.start_rss_bytes.ok_or("no start RSS")?);
        growth.push(grown);
    }
    assert!(growth[0] >= 128 << 20, "the flushed run grew by only {} bytes", growth[0]);
    assert!(growth[1] < 64 << 20, "the run without flushing grew by {} bytes", growth[1]);
    Ok(())
}

/// A batch sweep whose batch runs out of GPU memory (the CUDA driver's error, injected) stops
/// there with that reason, skips the larger batches, keeps the largest batch that fit, and the
/// next run (the other phase's sweep) still succeeds.
#[test]
fn a_sweep_batch_out_of_gpu_memory_ends_that_sweep_and_the_next_run_succeeds() -> TestResult {
    use phasebench::results::SweepStop;
    use phasebench::runner::{FaultKind, InjectedFault};
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "oom-sweep",
            settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 3, min_secs: 0.0, max_secs: 5.0, seed: 3),
            workloads: [Workload(name: "mlp", model: Mlp(input: 8, hidden: 16, layers: 1, output: 4),
                                 batch_sweep: Sweep(from: 1, to: 16))],
            phases: [Phase(name: "a", dtype: F32), Phase(name: "b", dtype: F32)],
            baseline: "a",
        )"#,
        "oom-sweep.ron",
    )?;
    let plan = runner::expand(&suite);
    let oom_run = plan.iter().find(|run| run.phase == "a" && run.batch_size == 4).ok_or("no batch 4")?.index;
    let out = tempfile::tempdir()?;
    let faults = vec![InjectedFault { run_index: oom_run, at_step: 1, kind: FaultKind::DeviceOutOfMemory }];
    let options = RunOptions::new(out.path(), "oom").with_faults(faults);
    let result = runner::drive(runner::start(suite, options, Arc::new(|| {}))?, |_| {})?;
    let run_of = |phase: &str, batch: usize| {
        result.runs.iter().find(|run| run.phase == phase && run.batch_size == batch).ok_or("run missing")
    };
    let oom = run_of("a", 4)?;
    let RunStatus::Failed { reason } = &oom.status else { panic!("{:?}", oom.status) };
    assert!(reason.contains("CUDA_ERROR_OUT_OF_MEMORY"), "{reason}");
    for batch in [8, 16] {
        assert!(matches!(run_of("a", batch)?.status, RunStatus::Skipped { .. }), "batch {batch} is not tried");
    }
    let sweep = result.sweeps.iter().find(|sweep| sweep.phase == "a").ok_or("no sweep")?;
    assert_eq!(sweep.stop, SweepStop::OutOfDeviceMemory { batch_size: 4 });
    assert_eq!(sweep.largest_working_batch, Some(2));
    assert!(sweep.found_memory_limit_at(oom), "the limit the sweep looks for");
    assert!(!sweep.found_memory_limit_at(run_of("a", 2)?));
    // The run after the failure, and the whole other sweep, ran normally.
    let other = result.sweeps.iter().find(|sweep| sweep.phase == "b").ok_or("no sweep b")?;
    assert_eq!((other.stop.clone(), other.largest_working_batch), (SweepStop::Completed, Some(16)));
    assert_eq!(result.runs.iter().filter(|run| run.failed()).count(), 1);
    assert!(!result.has_unexpected_failures(), "the sweep's memory limit does not fail the suite");
    let mut broken = result.clone();
    broken.runs[0].status = RunStatus::Failed { reason: "step 1 failed: shape mismatch".into() };
    assert!(broken.has_unexpected_failures(), "any other failure does");
    Ok(())
}

/// A small suite for interleaved rounds: a MatMul at f32 (baseline), the same f32 under another
/// name, and bf16, with short blocks so many rounds fit in a test.
fn interleaved_suite() -> Result<phasebench::suite::Suite, Box<dyn std::error::Error>> {
    Ok(phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "rounds",
            settings: Settings(warmup_steps: 2, min_steps: 5, max_steps: 100000, min_secs: 0.0, max_secs: 1.0, seed: 5,
                               schedule: Interleaved(block_ms: 5, first_look_rounds: 4, max_rounds: 24)),
            workloads: [Workload(name: "matmul", model: MatMul(m: 48, n: 48, k: 48))],
            phases: [Phase(name: "base", dtype: F32), Phase(name: "same", dtype: F32), Phase(name: "bf16", dtype: BF16)],
            baseline: "base",
        )"#,
        "rounds.ron",
    )?)
}

/// Issue 19: every phase of a group is measured in rounds, one block each (two for the baseline:
/// its A/A control) in an order that changes from round to round, and no round overlaps the next
/// in time; each step is filed under its round, and each comparison is made over rounds with its
/// resolution and the A/A control.
#[test]
fn interleaved_rounds_record_each_steps_round_and_compare_over_rounds() -> TestResult {
    let out = tempfile::tempdir()?;
    let result = runner::drive(
        runner::start(interleaved_suite()?, RunOptions::new(out.path(), "rounds"), Arc::new(|| {}))?,
        |_| {},
    )?;
    assert_eq!(result.runs.len(), 3);
    let mut first_step_of_round: Vec<Vec<(f64, usize, bool)>> = Vec::new();
    let mut round_spans: std::collections::BTreeMap<u32, (f64, f64)> = std::collections::BTreeMap::new();
    for (arm, run) in result.runs.iter().enumerate() {
        assert_eq!(run.status, RunStatus::Completed, "{}", run.label());
        let rounds = run.rounds.as_ref().ok_or("no rounds")?;
        assert_eq!(rounds.step_round.len(), run.step_secs.len());
        assert_eq!(run.warmup_step_secs.len(), 2, "the suite's warm-up only; switch warm-ups are apart");
        if run.is_baseline {
            assert_eq!(rounds.step_control.len(), run.step_secs.len());
            assert!(rounds.step_control.iter().any(|c| *c) && rounds.step_control.iter().any(|c| !*c));
        } else {
            assert!(rounds.step_control.is_empty());
        }
        for (i, (&round, &start)) in rounds.step_round.iter().zip(&run.step_start_secs).enumerate() {
            let control = rounds.step_control.get(i).copied().unwrap_or(false);
            let round = round as usize;
            if first_step_of_round.len() <= round {
                first_step_of_round.resize(round + 1, Vec::new());
            }
            if !first_step_of_round[round].iter().any(|(_, a, c)| *a == arm && *c == control) {
                first_step_of_round[round].push((start, arm, control));
            }
            let span = round_spans.entry(round as u32).or_insert((start, start));
            span.0 = span.0.min(start);
            span.1 = span.1.max(start);
        }
    }
    let rounds = first_step_of_round.len();
    assert!(rounds >= 4, "at least the first look: {rounds} rounds");
    let orders: Vec<Vec<(usize, bool)>> = first_step_of_round
        .iter()
        .map(|blocks| {
            let mut blocks = blocks.clone();
            blocks.sort_by(|a, b| a.0.total_cmp(&b.0));
            blocks.iter().map(|(_, arm, control)| (*arm, *control)).collect()
        })
        .collect();
    assert!(orders.iter().all(|order| order.len() == 4), "every arm, and the control, in every round: {orders:?}");
    assert!(orders.windows(2).any(|pair| pair[0] != pair[1]), "the order changes between rounds: {orders:?}");
    let spans: Vec<(f64, f64)> = round_spans.values().copied().collect();
    assert!(spans.windows(2).all(|pair| pair[0].1 < pair[1].0), "rounds follow one another in time: {spans:?}");
    for run in result.runs.iter().filter(|run| !run.is_baseline) {
        let speedup = run.speedup.as_ref().ok_or("no speedup")?;
        let detail = speedup.rounds.as_ref().ok_or("not compared over rounds")?;
        assert_eq!(detail.rounds, rounds);
        assert!(detail.resolution.is_finite() && detail.resolution > 0.0);
        assert!(detail.control.is_some(), "the A/A control of the same rounds");
        assert!(detail.confidence >= 0.95 && detail.confidence < 1.0);
        assert_ne!(speedup.verdict, phasebench::compare::Verdict::NoChange, "one of the four verdicts");
        assert!(speedup.basis_text().contains("rounds"), "{}", speedup.basis_text());
    }
    use phasebench::results::StopReason;
    let stop = result.runs[0].stop_reason.ok_or("no stop reason")?;
    assert!(matches!(stop, StopReason::Decided | StopReason::MaxSecs | StopReason::MaxRounds), "{stop:?}");
    Ok(())
}

/// Issue 19: `noise_threshold: Auto(2.0)` judges each group against twice the resolution its budget
/// buys — its A/A control's spread projected to the planned rounds — the same band
/// for every phase of the group, and says so; without control rounds it falls back to a fixed 2 %.
#[test]
fn an_auto_threshold_is_twice_the_a_a_resolution_the_budget_buys() -> TestResult {
    use phasebench::compare::{self, GroupThreshold};
    use phasebench::suite::NoiseThreshold;
    let mut suite = interleaved_suite()?;
    suite.settings.noise_threshold = NoiseThreshold::Auto { multiple: 2.0 };
    let out = tempfile::tempdir()?;
    let result = runner::drive(runner::start(suite, RunOptions::new(out.path(), "auto"), Arc::new(|| {}))?, |_| {})?;
    let baseline = &result.runs[0];
    let alpha = baseline.rounds.as_ref().ok_or("no rounds")?.alpha;
    let control = compare::control_log_ratios(baseline).ok_or("no A/A control")?;
    let planned = baseline.rounds.as_ref().and_then(|rounds| rounds.planned_rounds).ok_or("no planned rounds")?;
    assert!((4..=24).contains(&planned), "the budget's rounds, at most max_rounds: {planned}");
    // The resolution the budget buys, foretold from the control's rounds.
    let projected = phasebench::stats::projected_resolution(&control, planned, alpha)?;
    let expected = (2.0 * projected).min(0.5);
    for run in result.runs.iter().filter(|run| !run.is_baseline) {
        let speedup = run.speedup.as_ref().ok_or("no speedup")?;
        assert!((speedup.noise_threshold - expected).abs() < 1e-12, "{} vs {expected}", speedup.noise_threshold);
        assert_eq!(speedup.rounds.as_ref().and_then(|rounds| rounds.auto_threshold_multiple), Some(2.0));
        assert!(speedup.basis_text().starts_with("auto threshold ±"), "{}", speedup.basis_text());
    }
    let (measured, _) = compare::group_threshold(NoiseThreshold::Auto { multiple: 2.0 }, baseline, alpha);
    assert_eq!(measured, GroupThreshold { fraction: expected, auto_multiple: Some(2.0) });
    // A run measured one phase after the other has no control blocks to measure a band from.
    let sequential = crate::fixed_run(0, "mlp", "baseline", true, 1.0);
    assert_eq!(
        compare::group_threshold(NoiseThreshold::Auto { multiple: 2.0 }, &sequential, alpha).0,
        GroupThreshold::fixed(0.02)
    );
    assert_eq!(compare::group_threshold(NoiseThreshold::Fixed(0.07), baseline, alpha).0, GroupThreshold::fixed(0.07));
    Ok(())
}

/// Issue 19: the budget's rounds are planned at the first look from the rounds after the first,
/// which alone pays for warming up and for switch steps that steps longer than a quarter of a
/// block do not take again (planned from the first round, ~100 ms steps got half the rounds their
/// budget allowed, and the group stopped at half its budget).
#[test]
fn the_rounds_planned_for_long_steps_fill_the_budget() -> TestResult {
    let suite = phasebench::parse_checked_suite(
        r#"Suite(
            version: 1,
            name: "long-steps",
            settings: Settings(warmup_steps: 1, min_steps: 2, max_steps: 1000000, min_secs: 0.0, max_secs: 0.4, seed: 3,
                               schedule: Interleaved(block_ms: 1, first_look_rounds: 4, max_rounds: 100000)),
            workloads: [Workload(name: "matmul", model: MatMul(m: 256, n: 256, k: 256))],
            phases: [Phase(name: "base", dtype: F32), Phase(name: "same", dtype: F32)],
            baseline: "base",
        )"#,
        "long.ron",
    )?;
    let out = tempfile::tempdir()?;
    let result = runner::drive(runner::start(suite, RunOptions::new(out.path(), "long"), Arc::new(|| {}))?, |_| {})?;
    let baseline = &result.runs[0];
    let rounds = baseline.rounds.as_ref().ok_or("no rounds")?;
    let planned = rounds.planned_rounds.ok_or("no planned rounds")? as f64;
    // When each round began on the group's clock: the first step of any arm in it (the arms share
    // the clock). Round k began about when k rounds were done.
    let mut round_start: std::collections::BTreeMap<u32, f64> = std::collections::BTreeMap::new();
    for run in &result.runs {
        let Some(run_rounds) = run.rounds.as_ref() else { continue };
        for (round, start) in run_rounds.step_round.iter().zip(&run.step_start_secs) {
            let earliest = round_start.entry(*round).or_insert(*start);
            *earliest = earliest.min(*start);
        }
    }
    let done_at = |rounds: u32| round_start.get(&rounds).copied().ok_or(format!("no round {rounds}"));
    // The plan is made when 4 rounds are done: a round's time from rounds 2–4 (the first also
    // paid for warming up and switch steps), the budget left after those 4 (0.8 s: max_secs for
    // each of two phases). A plan from the first round's time (the defect) misses this by its
    // extra cost; a timing-free check of the arithmetic, so a busy machine cannot fail it.
    let (first_done, first_look) = (done_at(1)?, done_at(4)?);
    let round_secs = (first_look - first_done) / 3.0;
    let expected = 4.0 + ((0.8 - first_look) / round_secs).floor();
    assert!(
        (planned - expected).abs() <= 0.1 * expected + 2.0,
        "{planned} rounds planned where the rounds after the first give {expected} ({round_secs:.4} s a round; \
         the first round ended {first_done:.4} s in)"
    );
    Ok(())
}

/// Issue 19: in an interleaved group a panicking phase fails alone; the baseline and the other
/// groups complete, and the steps it measured before the panic are kept.
#[test]
fn a_panic_in_one_arm_of_an_interleaved_group_fails_that_arm_only() -> TestResult {
    use phasebench::runner::{FaultKind, InjectedFault};
    let suite = interleaved_suite()?;
    let faults = vec![InjectedFault { run_index: 2, at_step: 3, kind: FaultKind::Panic }];
    let out = tempfile::tempdir()?;
    let options = RunOptions::new(out.path(), "rounds").with_faults(faults);
    let result = runner::drive(runner::start(suite, options, Arc::new(|| {}))?, |_| {})?;
    let RunStatus::Failed { reason } = &result.runs[2].status else { panic!("{:?}", result.runs[2].status) };
    assert!(reason.starts_with("panicked: injected panic before step 4"), "{reason}");
    assert_eq!(result.runs[2].step_secs.len(), 3, "the steps before the panic are kept");
    assert_eq!(result.runs[0].status, RunStatus::Completed);
    assert_eq!(result.runs[1].status, RunStatus::Completed);
    assert!(result.runs[1].speedup.as_ref().is_some_and(|s| s.rounds.is_some()));
    Ok(())
}

/// Issue 19: cancelling during an interleaved group keeps every arm it measured, each cancelled.
#[test]
fn cancelling_an_interleaved_group_keeps_every_arms_steps() -> TestResult {
    let mut suite = interleaved_suite()?;
    suite.settings.min_secs = 60.0;
    suite.settings.max_secs = 60.0;
    let out = tempfile::tempdir()?;
    let handle = runner::start(suite, RunOptions::new(out.path(), "cancel"), Arc::new(|| {}))?;
    let cancel = handle.cancel_token();
    let mut measuring = std::collections::BTreeSet::new();
    let result = runner::drive(handle, |event| {
        if let RunEvent::Steps { kind: StepKind::Measured, index, .. } = event {
            measuring.insert(*index);
            if measuring.len() == 3 {
                cancel.cancel();
            }
        }
    })?;
    assert_eq!(result.status, SuiteStatus::Cancelled);
    assert_eq!(result.runs.len(), 3, "the group's three arms");
    assert!(result.runs.iter().all(|run| run.status == RunStatus::Cancelled));
    assert!(result.runs.iter().all(|run| !run.step_secs.is_empty()), "each arm measured before the cancel");
    Ok(())
}
