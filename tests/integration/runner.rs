//! The runner through its public API: events, failure isolation, derived figures, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use phasebench::results::{RunStatus, SuiteStatus, load_result};
use phasebench::runner::{self, RunEvent, RunOptions, StepKind};
use phasebench::suite::load_suite;

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
            // One forward, backward and optimizer time per measured step; the whole step is their sum.
            assert_eq!(training.forward_secs.len(), run.step_secs.len());
            assert_eq!(training.backward_secs.len(), run.step_secs.len());
            assert_eq!(training.optimizer_secs.len(), run.step_secs.len());
            for (i, step) in run.step_secs.iter().enumerate() {
                let parts = training.forward_secs[i] + training.backward_secs[i] + training.optimizer_secs[i];
                assert!((parts - step).abs() < 1e-12);
            }
            assert_eq!(training.losses.len(), run.warmup_step_secs.len() + run.step_secs.len());
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
