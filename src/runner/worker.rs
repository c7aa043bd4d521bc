//! The worker thread's loop: the result record set up (or resumed), then each planned run
//! skipped, refused or executed in isolation, derived, recorded and saved before the next starts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::derive::{attach_telemetry, derive, gpu_indices_of_phases};
use super::{CancelToken, EventSender, RunEvent, RunOptions, execute, interleave, prepare, sweep};
use crate::plan::{self, PlannedRun, ProbeKey, expand, shard_plan};
use crate::results::{
    Environment, RESULT_FORMAT_VERSION, ResultStore, RunNote, RunResult, RunStatus, SuiteResult, SuiteStatus, Timestamp,
};
use crate::suite::{Schedule, Suite};
use crate::telemetry::{self, Sampler, TelemetrySource};

pub(super) struct Worker {
    pub(super) suite: Suite,
    pub(super) options: RunOptions,
    pub(super) store: ResultStore,
    pub(super) events: EventSender,
    pub(super) cancel: CancelToken,
}

/// What the worker carries from run to run.
struct Progress {
    result: SuiteResult,
    sweeps: sweep::SweepTracker,
    /// The baseline phase's probe output per workload (per batch size where the probe depends on
    /// it), once its first run there succeeds.
    reference_outputs: HashMap<ProbeKey, Vec<f32>>,
    /// Telemetry sources, lent to each run's sampler and handed back after it.
    sources: Vec<Box<dyn TelemetrySource>>,
    gpu_unavailable_reason: Option<String>,
    gpu_indices: Vec<Option<u32>>,
    memory: Arc<execute::MemoryGuard>,
    prepared: prepare::PreparedWorkload,
    budget_bytes: u64,
}

impl Worker {
    pub(super) fn run(self, started: Timestamp, previous: Option<SuiteResult>) -> SuiteResult {
        let plan = match self.options.shard {
            Some(shard) => shard_plan(&expand(&self.suite), &self.suite, shard),
            None => expand(&self.suite),
        };
        let mut progress = self.begin(&plan, started, previous);
        let shared_suite = Arc::new(self.suite.clone());
        for group in comparison_groups(&plan) {
            if self.cancel.is_cancelled() {
                break;
            }
            let pending: Vec<&PlannedRun> =
                group.iter().filter(|run| !progress.result.runs.iter().any(|kept| kept.index == run.index)).collect();
            if self.run_group(&mut progress, &shared_suite, &pending) {
                break;
            }
        }
        self.finish(progress.result)
    }

    /// Runs one comparison group: in interleaved rounds when the schedule says so and the group
    /// has its baseline and another phase that may run, else each run on its own. Returns whether
    /// it was cancelled.
    fn run_group(&self, progress: &mut Progress, shared_suite: &Arc<Suite>, group: &[&PlannedRun]) -> bool {
        let Schedule::Interleaved(spec) = self.suite.settings.schedule else {
            return group.iter().any(|run| self.run_one(progress, shared_suite, run));
        };
        let mut arms = Vec::with_capacity(group.len());
        for run in group {
            let gpu_index = progress.gpu_indices[run.phase_index];
            self.events.send(RunEvent::RunStarted { index: run.index, gpu_index });
            match self.not_run(progress, run) {
                Some(not_run) => self.record(&mut progress.result, not_run),
                None => arms.push(*run),
            }
        }
        if arms.len() < 2 || !arms[0].is_baseline {
            return arms.iter().any(|run| self.conclude_one(progress, shared_suite, run, None));
        }
        let predicted = plan::group_memory_estimate_bytes(&self.suite, &arms);
        let rss_now = telemetry::current_rss_bytes().unwrap_or(0) as f64;
        if rss_now + predicted > progress.budget_bytes as f64 {
            let note = format!(
                "measured one phase after another, not in interleaved rounds: the group's models would need about {} together, over max_memory_bytes ({})",
                crate::units::format_bytes(rss_now + predicted),
                crate::units::format_bytes(progress.budget_bytes as f64)
            );
            return arms.iter().any(|run| self.conclude_one(progress, shared_suite, run, Some(note.clone())));
        }
        let outcomes = self.execute_group(progress, shared_suite, &arms, spec);
        let mut cancelled = false;
        for (run, (run_result, probe_output)) in arms.iter().zip(outcomes) {
            cancelled |= self.conclude(progress, run, run_result, probe_output);
        }
        cancelled
    }

    /// The result record (fresh, or the earlier attempt's when resuming), saved and announced,
    /// and everything the runs share.
    fn begin(&self, plan: &[PlannedRun], started: Timestamp, previous: Option<SuiteResult>) -> Progress {
        let mut result = SuiteResult {
            format_version: RESULT_FORMAT_VERSION,
            suite_origin: self.options.suite_origin.clone(),
            suite: self.suite.clone(),
            environment: Environment::capture(),
            started_at: started,
            finished_at: None,
            status: SuiteStatus::Running,
            planned_runs: plan.len(),
            runs: Vec::with_capacity(plan.len()),
            sweeps: Vec::new(),
            resumed_at: Vec::new(),
            shard: self.options.shard,
        };
        let budget_bytes =
            self.suite.settings.max_memory_bytes.unwrap_or(match result.environment.available_memory_bytes {
                0 => u64::MAX,
                available => available / 2,
            });
        let (sweeps, sweep_results) = sweep::SweepTracker::new(&self.suite, budget_bytes);
        result.sweeps = sweep_results;
        let mut reference_outputs = HashMap::new();
        if let Some(previous) = previous {
            reference_outputs = self.resume_into(&mut result, previous, started, plan);
        }
        self.save(&result);
        self.events.send(RunEvent::Planned { runs: plan.to_vec(), result_dir: self.store.directory().to_owned() });
        for kept in &result.runs {
            self.events.send(RunEvent::RunFinished { result: Box::new(kept.clone()) });
        }
        let gpu_indices = gpu_indices_of_phases(&self.suite, &result.environment.gpu.gpus);
        let (sources, gpu_unavailable_reason) = telemetry::open_sources(&self.options.telemetry);
        Progress {
            result,
            sweeps,
            reference_outputs,
            sources,
            gpu_unavailable_reason,
            gpu_indices,
            memory: Arc::new(execute::MemoryGuard::new(budget_bytes)),
            prepared: prepare::PreparedWorkload::none(),
            budget_bytes,
        }
    }

    /// Takes over an earlier attempt: its identity, environment and kept runs stay, the sweeps go
    /// on from where they were. Returns the baseline probes it saved.
    fn resume_into(
        &self,
        result: &mut SuiteResult,
        previous: SuiteResult,
        started: Timestamp,
        plan: &[PlannedRun],
    ) -> HashMap<ProbeKey, Vec<f32>> {
        result.suite_origin = previous.suite_origin;
        result.environment = previous.environment;
        result.started_at = previous.started_at;
        result.resumed_at = previous.resumed_at;
        result.resumed_at.push(started);
        result.runs = previous.runs.into_iter().filter(kept_on_resume).collect();
        if previous.sweeps.len() == result.sweeps.len() {
            result.sweeps = previous.sweeps;
        }
        self.store.load_probes(plan.iter().map(|run| ProbeKey::of(&self.suite, run)))
    }

    /// Skips, refuses or executes one planned run and records it; returns whether it was cancelled.
    fn run_one(&self, progress: &mut Progress, shared_suite: &Arc<Suite>, run: &PlannedRun) -> bool {
        let gpu_index = progress.gpu_indices[run.phase_index];
        self.events.send(RunEvent::RunStarted { index: run.index, gpu_index });
        if let Some(not_run) = self.not_run(progress, run) {
            self.record(&mut progress.result, not_run);
            return false;
        }
        self.conclude_one(progress, shared_suite, run, None)
    }

    /// The record of `run` when it must not run: its sweep stopped, or it would not fit in the
    /// memory budget.
    fn not_run(&self, progress: &mut Progress, run: &PlannedRun) -> Option<RunResult> {
        let rss_now = || telemetry::current_rss_bytes().unwrap_or(0);
        let status = match progress.sweeps.skip_reason(&mut progress.result.sweeps, &self.suite, run, rss_now) {
            Some(reason) => RunStatus::Skipped { reason },
            None => {
                RunStatus::Failed { reason: predicted_over_budget(&self.suite, run, progress.budget_bytes, rss_now)? }
            }
        };
        let mut not_run = execute::new_run_result(&self.suite, run);
        not_run.status = status;
        Some(not_run)
    }

    /// Executes one run that may run, alone, and records it with `note` (why it ran alone, when
    /// that needs saying); returns whether it was cancelled.
    fn conclude_one(
        &self,
        progress: &mut Progress,
        shared_suite: &Arc<Suite>,
        run: &PlannedRun,
        note: Option<String>,
    ) -> bool {
        let (mut run_result, probe_output) = self.execute(progress, shared_suite, run);
        run_result.notes.extend(note.map(RunNote::Info));
        self.conclude(progress, run, run_result, probe_output)
    }

    /// Derives, keeps the baseline's probe, and records a run that was executed; returns whether it
    /// was cancelled.
    fn conclude(
        &self,
        progress: &mut Progress,
        run: &PlannedRun,
        mut run_result: RunResult,
        probe_output: Option<Vec<f32>>,
    ) -> bool {
        run_result.gpu_index = progress.gpu_indices[run.phase_index];
        let probe_key = ProbeKey::of(&self.suite, run);
        let reference = progress.reference_outputs.get(&probe_key);
        let resamples = self.options.resamples;
        derive(&mut run_result, probe_output.as_deref(), reference, &progress.result.runs, &self.suite, resamples);
        if run.is_baseline
            && matches!(run_result.status, RunStatus::Completed)
            && let Some(output) = probe_output
            && !progress.reference_outputs.contains_key(&probe_key)
        {
            if let Err(error) = self.store.save_probe(probe_key, &output) {
                self.events.send(RunEvent::SaveFailed { message: error.to_string() });
            }
            progress.reference_outputs.insert(probe_key, output);
        }
        let cancelled = matches!(run_result.status, RunStatus::Cancelled);
        progress.sweeps.record(&mut progress.result.sweeps, &self.suite, &run_result, run);
        self.record(&mut progress.result, run_result);
        cancelled
    }

    /// Measures one run on its own thread with a telemetry sampler beside it; returns the raw
    /// result (telemetry attached) and the probe output.
    fn execute(
        &self,
        progress: &mut Progress,
        shared_suite: &Arc<Suite>,
        run: &PlannedRun,
    ) -> (RunResult, Option<Vec<f32>>) {
        let timeout = Duration::from_secs_f64(self.suite.settings.run_timeout_secs);
        let mut outcomes = self.with_telemetry(progress, shared_suite, &[run], |mut contexts| {
            vec![execute::execute(contexts.remove(0), timeout)]
        });
        outcomes.remove(0)
    }

    /// Measures `runs` (one workload's, baseline first) together in interleaved rounds with one
    /// telemetry sampler beside them; returns each run's raw result and probe output.
    fn execute_group(
        &self,
        progress: &mut Progress,
        shared_suite: &Arc<Suite>,
        runs: &[&PlannedRun],
        spec: crate::suite::InterleavedSpec,
    ) -> Vec<(RunResult, Option<Vec<f32>>)> {
        let timeout = Duration::from_secs_f64(self.suite.settings.run_timeout_secs * runs.len() as f64);
        self.with_telemetry(progress, shared_suite, runs, |contexts| interleave::execute_group(contexts, spec, timeout))
    }

    /// Prepares the weights, starts a telemetry sampler on a fresh clock, hands `measure` a
    /// context per run (sharing that clock, the cancel and the abandon tokens) and attaches the
    /// samples to every result it returns (each run's aggregates over its own window and steps).
    fn with_telemetry(
        &self,
        progress: &mut Progress,
        shared_suite: &Arc<Suite>,
        runs: &[&PlannedRun],
        measure: impl FnOnce(Vec<execute::RunContext>) -> Vec<(RunResult, Option<Vec<f32>>)>,
    ) -> Vec<(RunResult, Option<Vec<f32>>)> {
        let settings = &self.suite.settings;
        let Some(first) = runs.first() else { return Vec::new() };
        let workload = &self.suite.workloads[first.workload_index];
        progress.prepared.prepare(first.workload_index, workload, settings.seed, &self.options.base_dir);
        progress.memory.reset();
        let origin = Instant::now();
        let interval = Duration::from_millis(settings.telemetry_interval_ms.max(telemetry::MIN_INTERVAL_MS));
        let sampler = if progress.sources.is_empty() {
            None
        } else {
            let events = self.events.clone();
            let indices: Vec<usize> = runs.iter().map(|run| run.index).collect();
            let sources = std::mem::take(&mut progress.sources);
            let memory = Arc::clone(&progress.memory);
            Sampler::start(sources, interval, origin, move |samples| {
                memory.observe(&samples);
                // Live plots only (each run measuring now gets them): every sample is also kept
                // in the runs' results.
                for &index in &indices {
                    let _ = events.try_send(RunEvent::Telemetry { index, samples: samples.clone() });
                }
            })
            .ok()
        };
        let abandoned = CancelToken::default();
        let contexts = runs
            .iter()
            .map(|run| execute::RunContext {
                origin,
                memory: Arc::clone(&progress.memory),
                suite: Arc::clone(shared_suite),
                run: (*run).clone(),
                weights: progress.prepared.weights(),
                cancel: self.cancel.clone(),
                abandoned: abandoned.clone(),
                events: self.events.clone(),
                faults: self.options.faults.clone(),
            })
            .collect();
        let mut outcomes = measure(contexts);
        for (run_result, _) in &mut outcomes {
            // A run that read its own file (a GGUF) says so; the others share the workload's read.
            run_result.file_load = run_result.file_load.take().or_else(|| progress.prepared.file_load());
        }
        if let Some((returned, samples, sampler_cost)) = sampler.and_then(Sampler::finish) {
            progress.sources = returned;
            let interval_ms = interval.as_millis() as u64;
            for (run_result, _) in &mut outcomes {
                let reason = progress.gpu_unavailable_reason.clone();
                attach_telemetry(run_result, samples.clone(), sampler_cost, interval_ms, reason);
            }
        }
        outcomes
    }

    /// Puts a finished run into the result, saves it and tells the front end.
    fn record(&self, result: &mut SuiteResult, run: RunResult) {
        insert_in_plan_order(&mut result.runs, run.clone());
        self.save(result);
        self.events.send(RunEvent::RunFinished { result: Box::new(run) });
    }

    /// Closes the result (completed or cancelled), saves it and says so.
    fn finish(&self, mut result: SuiteResult) -> SuiteResult {
        result.status = if self.cancel.is_cancelled() { SuiteStatus::Cancelled } else { SuiteStatus::Completed };
        if result.status == SuiteStatus::Cancelled {
            sweep::cancel_running(&mut result.sweeps);
        }
        result.finished_at = Some(Timestamp::now());
        self.save(&result);
        self.events.send(RunEvent::SuiteFinished { status: result.status });
        result
    }

    fn save(&self, result: &SuiteResult) {
        if let Err(error) = self.store.save(result) {
            self.events.send(RunEvent::SaveFailed { message: error.to_string() });
        }
    }
}

/// Whether a run of an earlier, interrupted attempt is kept when the suite resumes.
fn kept_on_resume(run: &RunResult) -> bool {
    matches!(run.status, RunStatus::Completed | RunStatus::Failed { .. } | RunStatus::Skipped { .. })
}

/// Why `run` must not start: its predicted memory (the process now plus the model's weights and
/// input batch) is over the budget. Batch sweeps make this prediction themselves.
fn predicted_over_budget(
    suite: &Suite,
    run: &PlannedRun,
    budget_bytes: u64,
    current_rss_bytes: impl FnOnce() -> u64,
) -> Option<String> {
    if suite.workloads[run.workload_index].batch_sweep.is_some() && suite.phases[run.phase_index].batch_size.is_none() {
        return None;
    }
    let added = plan::run_memory_estimate_bytes(suite, run);
    let predicted = current_rss_bytes() as f64 + added;
    (predicted > budget_bytes as f64).then(|| {
        format!(
            "out of memory budget: not started, as it would need about {} (the process now plus {} for weights and inputs) and max_memory_bytes is {}",
            crate::units::format_bytes(predicted),
            crate::units::format_bytes(added),
            crate::units::format_bytes(budget_bytes as f64)
        )
    })
}

/// The plan cut into comparison groups: consecutive runs of one workload at one batch size (the
/// baseline first, as the plan orders them).
fn comparison_groups(plan: &[PlannedRun]) -> Vec<&[PlannedRun]> {
    plan.chunk_by(|a, b| a.workload_index == b.workload_index && a.batch_size == b.batch_size).collect()
}

/// Adds `run` to `runs` before the first run planned after it (a resumed suite fills gaps).
fn insert_in_plan_order(runs: &mut Vec<RunResult>, run: RunResult) {
    let at = runs.iter().position(|other| other.index > run.index).unwrap_or(runs.len());
    runs.insert(at, run);
}
