//! Batch-size sweeps: per swept workload and phase, decide before each batch size whether to run
//! it (the sweep stopped, or the predicted memory is over budget) and after it whether to go on
//! (it failed, or it no longer fits `min_steps` in `max_secs`).

use std::collections::HashMap;

use crate::results::{FailureKind, RunResult, RunStatus, SweepPoint, SweepResult, SweepStop};
use crate::runner::PlannedRun;
use crate::suite::Suite;

/// Tracks every sweep of a suite while it runs; the sweeps themselves live in the suite result
/// and are passed in, so the result on disk is always current.
pub(super) struct SweepTracker {
    /// Index into the sweeps by (workload index, phase index).
    index: HashMap<(usize, usize), usize>,
    /// The last completed run's (batch size, RSS growth in bytes) per sweep.
    last_growth: HashMap<(usize, usize), (usize, u64)>,
    budget_bytes: u64,
}

impl SweepTracker {
    /// One sweep per swept workload and phase that uses the workload's batch sizes, returned to
    /// be stored in the suite result.
    pub(super) fn new(suite: &Suite, budget_bytes: u64) -> (Self, Vec<SweepResult>) {
        let mut index = HashMap::new();
        let mut results = Vec::new();
        for (workload_index, workload) in suite.workloads.iter().enumerate() {
            if workload.batch_sweep.is_none() {
                continue;
            }
            for (phase_index, phase) in suite.phases.iter().enumerate().filter(|(_, p)| p.batch_size.is_none()) {
                index.insert((workload_index, phase_index), results.len());
                results.push(SweepResult {
                    workload: workload.name.clone(),
                    phase: phase.name.clone(),
                    largest_working_batch: None,
                    throughput_curve: Vec::new(),
                    stop: SweepStop::Running,
                });
            }
        }
        (Self { index, last_growth: HashMap::new(), budget_bytes }, results)
    }

    fn entry<'a>(&self, sweeps: &'a mut [SweepResult], run: &PlannedRun) -> Option<&'a mut SweepResult> {
        sweeps.get_mut(*self.index.get(&(run.workload_index, run.phase_index))?)
    }

    /// Why `run` must not run, if it belongs to a sweep that has stopped or whose next batch is
    /// predicted to exceed the memory budget; `current_rss_bytes` reads the process's RSS now (only
    /// for runs of a sweep).
    pub(super) fn skip_reason(
        &self,
        sweeps: &mut [SweepResult],
        suite: &Suite,
        run: &PlannedRun,
        current_rss_bytes: impl FnOnce() -> u64,
    ) -> Option<String> {
        let budget_bytes = self.budget_bytes;
        let growth = self.last_growth.get(&(run.workload_index, run.phase_index)).copied();
        let entry = self.entry(sweeps, run)?;
        if !matches!(entry.stop, SweepStop::Running) {
            return Some(format!("the batch sweep stopped earlier ({})", entry.stop.describe()));
        }
        let added_bytes = match growth {
            // Activations grow with the batch: scale the last run's growth.
            Some((batch, growth)) => growth.saturating_mul(run.batch_size as u64) / batch.max(1) as u64,
            // Nothing measured yet: the weights and the input batch (counted generously).
            None => crate::plan::run_memory_estimate_bytes(suite, run) as u64,
        };
        let predicted_bytes = current_rss_bytes().saturating_add(added_bytes);
        if predicted_bytes > budget_bytes {
            entry.stop = SweepStop::MemoryBudget { batch_size: run.batch_size, predicted_bytes, budget_bytes };
            return Some(format!("the batch sweep stopped here ({})", entry.stop.describe()));
        }
        None
    }

    /// Takes a finished run of a sweep into account.
    pub(super) fn record(&mut self, sweeps: &mut [SweepResult], suite: &Suite, run: &RunResult, planned: &PlannedRun) {
        let settings = &suite.settings;
        let last_batch = suite.workloads[planned.workload_index].effective_batch_sizes().last().copied();
        if let (Some(peak), Some(start)) = (run.peak_rss_bytes, run.start_rss_bytes) {
            self.last_growth
                .insert((planned.workload_index, planned.phase_index), (run.batch_size, peak.saturating_sub(start)));
        }
        let Some(entry) = self.entry(sweeps, planned) else { return };
        match (&run.status, &run.summary) {
            (RunStatus::Completed, Some(summary)) => {
                entry.largest_working_batch = Some(run.batch_size);
                entry.throughput_curve.push(SweepPoint {
                    batch_size: run.batch_size,
                    items_per_sec: run.batch_size as f64 / summary.median,
                });
                if summary.median * settings.min_steps as f64 > settings.max_secs {
                    entry.stop = SweepStop::TimeBudget { batch_size: run.batch_size, median_step_secs: summary.median };
                } else if Some(run.batch_size) == last_batch {
                    entry.stop = SweepStop::Completed;
                }
            }
            (RunStatus::Completed, None) => {
                let median_step_secs = run.step_secs.first().copied().unwrap_or(settings.max_secs);
                entry.stop = SweepStop::TimeBudget { batch_size: run.batch_size, median_step_secs };
            }
            (RunStatus::Failed { .. }, _) if run.failure == Some(FailureKind::OutOfDeviceMemory) => {
                entry.stop = SweepStop::OutOfDeviceMemory { batch_size: run.batch_size };
            }
            (RunStatus::Failed { .. }, _) => entry.stop = SweepStop::Failed { batch_size: run.batch_size },
            (RunStatus::Cancelled, _) => entry.stop = SweepStop::Cancelled,
            (RunStatus::Skipped { .. }, _) => {}
        }
    }
}

/// Marks sweeps still running as cancelled.
pub(super) fn cancel_running(sweeps: &mut [SweepResult]) {
    for entry in sweeps.iter_mut().filter(|entry| matches!(entry.stop, SweepStop::Running)) {
        entry.stop = SweepStop::Cancelled;
    }
}
