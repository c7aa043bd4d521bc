//! Runs a suite on a named worker thread: expands the plan, executes each run in isolation
//! (errors and panics become failed runs), sends [`RunEvent`]s over a bounded channel, writes the
//! result file after every run and stops within one step when cancelled.

mod execute;
pub mod plan;
mod steppers;
mod sweep;

pub use sweep::describe_stop;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use plan::{MemoryProblem, PlannedRun, Shard, check_memory, expand, shard_plan};

use crate::accuracy;
use crate::compare;
use crate::results::{
    Environment, RESULT_FORMAT_VERSION, ResultStore, RunResult, RunStatus, SuiteResult, SuiteStatus, Timestamp,
};
use crate::stats::{self, BOOTSTRAP_RESAMPLES};
use crate::suite::{DeviceSpec, Suite};
use crate::telemetry::{self, RunTelemetry, Sampler, TelemetryChoice, TelemetrySample};

/// How often step times are sent to the front end while a run measures.
pub const STEP_BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// Capacity of the event channel; a full channel never blocks a measured step.
pub const EVENT_CHANNEL_CAPACITY: usize = 256;

/// Which part of a run a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Warm-up, not in statistics.
    Warmup,
    /// Measured.
    Measured,
}

/// What the worker tells the front end, in order.
#[derive(Clone, Debug)]
pub enum RunEvent {
    /// The plan is ready and the result directory exists.
    Planned {
        /// Every run, in order.
        runs: Vec<PlannedRun>,
        /// Where results are written.
        result_dir: PathBuf,
    },
    /// A run began (its model is being built).
    RunStarted {
        /// Plan index.
        index: usize,
        /// NVML index of the GPU a CUDA run uses, for picking its telemetry (see [`RunResult::gpu_index`]).
        gpu_index: Option<u32>,
    },
    /// Step times measured since the last batch.
    Steps {
        /// Plan index.
        index: usize,
        /// Warm-up or measured.
        kind: StepKind,
        /// Step times in seconds.
        step_secs: Vec<f64>,
    },
    /// A run ended (completed, failed or cancelled) and is on disk.
    RunFinished {
        /// Its full result.
        result: Box<RunResult>,
    },
    /// Writing the result file failed; measuring goes on and the result stays in memory.
    SaveFailed {
        /// The reason.
        message: String,
    },
    /// Telemetry samples taken since the last batch (on the run's clock).
    Telemetry {
        /// Plan index of the run they belong to.
        index: usize,
        /// The samples.
        samples: Vec<TelemetrySample>,
    },
    /// The suite ended.
    SuiteFinished {
        /// Completed or cancelled.
        status: SuiteStatus,
    },
}

/// Asks a running suite to stop; cheap to clone and share with a Ctrl-C handler.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Requests cancellation; the current step finishes, then the run stops.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Called after every event is sent, e.g. to request a repaint.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Where and how a suite runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Directory under which the suite's result directory is created.
    pub out_root: PathBuf,
    /// Where the suite came from, recorded in the result.
    pub suite_origin: String,
    /// Bootstrap resamples for confidence intervals.
    pub resamples: usize,
    /// Folder that relative weights paths in the suite start from (the suite file's folder).
    pub base_dir: PathBuf,
    /// Which telemetry sources are sampled.
    pub telemetry: TelemetryChoice,
    /// Faults to inject into runs, to test failure handling; no suite or command sets these.
    pub faults: Vec<InjectedFault>,
    /// Run only this part of the plan (`run --shard I/N`).
    pub shard: Option<Shard>,
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The step panics.
    Panic,
    /// The step returns a candle error.
    CandleError,
    /// The step never returns (until the run is abandoned at its timeout).
    Hang,
    /// The run measures normally but half its probe output is NaN.
    NonFiniteOutput,
    /// The step fails as CUDA does when the GPU's memory is exhausted (same error text).
    DeviceOutOfMemory,
}

/// A fault injected before a measured step of one run (tests of failure handling only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// Plan index of the run.
    pub run_index: usize,
    /// Measured step (from 0) before which it strikes; ignored by `NonFiniteOutput`.
    pub at_step: usize,
    /// What happens.
    pub kind: FaultKind,
}

impl RunOptions {
    /// Options writing under `out_root` with the standard number of resamples.
    pub fn new(out_root: impl Into<PathBuf>, suite_origin: impl Into<String>) -> Self {
        Self {
            out_root: out_root.into(),
            suite_origin: suite_origin.into(),
            resamples: BOOTSTRAP_RESAMPLES,
            base_dir: PathBuf::from("."),
            telemetry: TelemetryChoice::Auto,
            faults: Vec::new(),
            shard: None,
        }
    }

    /// Runs only `shard` of the plan.
    pub fn with_shard(mut self, shard: Option<Shard>) -> Self {
        self.shard = shard;
        self
    }

    /// Injects `faults` into the runs they name (tests of failure handling).
    pub fn with_faults(mut self, faults: Vec<InjectedFault>) -> Self {
        self.faults = faults;
        self
    }

    /// Samples these telemetry sources instead of the default (host and NVML).
    pub fn with_telemetry(mut self, telemetry: TelemetryChoice) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Resolves relative weights paths against `base_dir` (usually the suite file's folder).
    pub fn with_base_dir(mut self, base_dir: impl Into<PathBuf>) -> Self {
        self.base_dir = base_dir.into();
        self
    }
}

/// Why a suite could not start or its worker died.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The result directory could not be created.
    #[error("cannot create the result directory: {0}")]
    Store(#[from] crate::results::ResultError),
    /// The worker thread could not be started.
    #[error("cannot start the worker thread: {0}")]
    Spawn(std::io::Error),
    /// The worker thread died outside any run (a bug).
    #[error("the worker thread stopped unexpectedly: {0}")]
    WorkerPanicked(String),
}

/// A suite running on its worker thread.
pub struct RunnerHandle {
    /// Events from the worker, in order.
    pub events: Receiver<RunEvent>,
    cancel: CancelToken,
    result_dir: PathBuf,
    thread: JoinHandle<SuiteResult>,
}

impl RunnerHandle {
    /// A token that cancels this suite.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// The directory the result file is written to.
    pub fn result_dir(&self) -> &std::path::Path {
        &self.result_dir
    }

    /// Whether the worker thread has ended, so that [`Self::join`] returns at once.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the worker and returns the final result.
    pub fn join(self) -> Result<SuiteResult, RunnerError> {
        self.thread.join().map_err(|panic| RunnerError::WorkerPanicked(crate::device::panic_message(&*panic)))
    }
}

/// Starts `suite` on a worker thread named `phasebench-runner`. The result directory is created
/// before this returns, so a bad output path is reported at once.
pub fn start(suite: Suite, options: RunOptions, wake: Wake) -> Result<RunnerHandle, RunnerError> {
    let started = Timestamp::now();
    let name = match options.shard {
        Some(shard) => format!("{}-shard{}of{}", suite.name, shard.index, shard.count),
        None => suite.name.clone(),
    };
    let store = ResultStore::create(&options.out_root, &name, &started.compact())?;
    spawn(suite, options, store, None, started, wake)
}

/// Continues the suite whose result is in `result_dir` after it stopped part-way (killed,
/// cancelled, crashed): runs that completed, failed or were skipped are kept as they are; the
/// others (missing or cancelled) run now, into the same result file. `options.out_root` is unused.
pub fn resume(result_dir: &std::path::Path, options: RunOptions, wake: Wake) -> Result<RunnerHandle, RunnerError> {
    let store = ResultStore::open(result_dir)?;
    let previous = crate::results::load_result(result_dir)?;
    let options = options.with_shard(previous.shard);
    let suite = previous.suite.clone();
    spawn(suite, options, store, Some(previous), Timestamp::now(), wake)
}

fn spawn(
    suite: Suite,
    options: RunOptions,
    store: ResultStore,
    previous: Option<SuiteResult>,
    started: Timestamp,
    wake: Wake,
) -> Result<RunnerHandle, RunnerError> {
    let result_dir = store.directory().to_owned();
    let (sender, events) = sync_channel(EVENT_CHANNEL_CAPACITY);
    let cancel = CancelToken::default();
    let worker = Worker { suite, options, store, events: EventSender { sender, wake }, cancel: cancel.clone() };
    let thread = std::thread::Builder::new()
        .name("phasebench-runner".into())
        .spawn(move || worker.run(started, previous))
        .map_err(RunnerError::Spawn)?;
    Ok(RunnerHandle { events, cancel, result_dir, thread })
}

/// Whether a run of an earlier, interrupted attempt is kept when the suite resumes.
fn kept_on_resume(run: &RunResult) -> bool {
    matches!(run.status, RunStatus::Completed | RunStatus::Failed { .. } | RunStatus::Skipped { .. })
}

/// The sending side of the event channel with the wake-up callback.
#[derive(Clone)]
struct EventSender {
    sender: SyncSender<RunEvent>,
    wake: Wake,
}

impl EventSender {
    /// Sends and waits for room; used between runs, never inside a measured step loop.
    fn send(&self, event: RunEvent) {
        // A front end that stopped listening does not stop the suite: results still go to disk.
        let _ = self.sender.send(event);
        (self.wake)();
    }

    /// Sends if there is room; hands the event back when the channel is full.
    fn try_send(&self, event: RunEvent) -> Option<RunEvent> {
        match self.sender.try_send(event) {
            Ok(()) => {
                (self.wake)();
                None
            }
            Err(TrySendError::Full(event)) => Some(event),
            Err(TrySendError::Disconnected(_)) => None,
        }
    }
}

struct Worker {
    suite: Suite,
    options: RunOptions,
    store: ResultStore,
    events: EventSender,
    cancel: CancelToken,
}

impl Worker {
    fn run(self, started: Timestamp, previous: Option<SuiteResult>) -> SuiteResult {
        let plan = match self.options.shard {
            Some(shard) => shard_plan(&expand(&self.suite), &self.suite, shard),
            None => expand(&self.suite),
        };
        let mut result = SuiteResult {
            format_version: RESULT_FORMAT_VERSION,
            suite_origin: self.options.suite_origin.clone(),
            suite: self.suite.clone(),
            environment: Environment::capture(),
            started_at: started.rfc3339(),
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
        let (mut sweeps, sweep_results) = sweep::SweepTracker::new(&self.suite, budget_bytes);
        result.sweeps = sweep_results;
        // The baseline phase's probe output per workload, once its first run succeeds.
        let mut reference_outputs: HashMap<usize, Vec<f32>> = HashMap::new();
        if let Some(previous) = previous {
            // The earlier attempt's identity, environment and kept runs stay; the sweeps go on
            // from where they were.
            result.suite_origin = previous.suite_origin;
            result.environment = previous.environment;
            result.started_at = previous.started_at;
            result.resumed_at = previous.resumed_at;
            result.resumed_at.push(started.rfc3339());
            result.runs = previous.runs.into_iter().filter(kept_on_resume).collect();
            if previous.sweeps.len() == result.sweeps.len() {
                result.sweeps = previous.sweeps;
            }
            reference_outputs = self.store.load_probes(self.suite.workloads.len());
        }
        self.save(&result);
        self.events.send(RunEvent::Planned { runs: plan.clone(), result_dir: self.store.directory().to_owned() });
        for kept in &result.runs {
            self.events.send(RunEvent::RunFinished { result: Box::new(kept.clone()) });
        }

        let gpu_indices = gpu_indices_of_phases(&self.suite, &result.environment.gpu.gpus);
        let (mut sources, gpu_unavailable_reason) = telemetry::open_sources(&self.options.telemetry);
        let interval = Duration::from_millis(self.suite.settings.telemetry_interval_ms.max(telemetry::MIN_INTERVAL_MS));

        let memory = Arc::new(execute::MemoryGuard::new(budget_bytes));
        let shared_suite = Arc::new(self.suite.clone());
        let run_timeout = Duration::from_secs_f64(self.suite.settings.run_timeout_secs);
        let mut prepared = execute::PreparedWorkload::none();
        for run in &plan {
            if self.cancel.is_cancelled() {
                break;
            }
            if result.runs.iter().any(|kept| kept.index == run.index) {
                continue;
            }
            let gpu_index = gpu_indices[run.phase_index];
            self.events.send(RunEvent::RunStarted { index: run.index, gpu_index });
            let rss_now = || telemetry::current_rss_bytes().unwrap_or(0);
            if let Some(reason) = sweeps.skip_reason(&mut result.sweeps, &self.suite, run, rss_now) {
                let mut skipped = execute::new_run_result(&self.suite, run);
                skipped.status = RunStatus::Skipped { reason };
                insert_in_plan_order(&mut result.runs, skipped.clone());
                self.save(&result);
                self.events.send(RunEvent::RunFinished { result: Box::new(skipped) });
                continue;
            }
            if let Some(reason) = predicted_over_budget(&self.suite, run, budget_bytes, rss_now) {
                let mut refused = execute::new_run_result(&self.suite, run);
                refused.status = RunStatus::Failed { reason };
                insert_in_plan_order(&mut result.runs, refused.clone());
                self.save(&result);
                self.events.send(RunEvent::RunFinished { result: Box::new(refused) });
                continue;
            }
            let workload = &self.suite.workloads[run.workload_index];
            prepared.prepare(run.workload_index, workload, self.suite.settings.seed, &self.options.base_dir);
            memory.reset();
            let origin = Instant::now();
            let sampler = if sources.is_empty() {
                None
            } else {
                let events = self.events.clone();
                let index = run.index;
                let sources = std::mem::take(&mut sources);
                let memory = Arc::clone(&memory);
                Sampler::start(sources, interval, origin, move |samples| {
                    memory.observe(&samples);
                    // Live plots only: every sample is also kept in the run's result.
                    let _ = events.try_send(RunEvent::Telemetry { index, samples });
                })
                .ok()
            };
            let context = execute::RunContext {
                origin,
                memory: Arc::clone(&memory),
                suite: Arc::clone(&shared_suite),
                run: run.clone(),
                weights: prepared.weights(),
                cancel: self.cancel.clone(),
                abandoned: CancelToken::default(),
                events: self.events.clone(),
                faults: self.options.faults.clone(),
            };
            let (mut run_result, probe_output) = execute::execute(context, run_timeout);
            run_result.gpu_index = gpu_index;
            if let Some((returned, samples, sampler_cost)) = sampler.and_then(Sampler::finish) {
                sources = returned;
                attach_telemetry(&mut run_result, samples, sampler_cost, gpu_unavailable_reason.clone());
            }
            let reference = reference_outputs.get(&run.workload_index);
            derive(
                &mut run_result,
                probe_output.as_deref(),
                reference,
                &result.runs,
                &self.suite,
                self.options.resamples,
            );
            if run.is_baseline
                && matches!(run_result.status, RunStatus::Completed)
                && let Some(output) = probe_output
                && !reference_outputs.contains_key(&run.workload_index)
            {
                if let Err(error) = self.store.save_probe(run.workload_index, &output) {
                    self.events.send(RunEvent::SaveFailed { message: error.to_string() });
                }
                reference_outputs.insert(run.workload_index, output);
            }
            let cancelled = matches!(run_result.status, RunStatus::Cancelled);
            sweeps.record(&mut result.sweeps, &self.suite, &run_result, run);
            insert_in_plan_order(&mut result.runs, run_result.clone());
            self.save(&result);
            self.events.send(RunEvent::RunFinished { result: Box::new(run_result) });
            if cancelled {
                break;
            }
        }
        result.status = if self.cancel.is_cancelled() { SuiteStatus::Cancelled } else { SuiteStatus::Completed };
        if result.status == SuiteStatus::Cancelled {
            sweep::cancel_running(&mut result.sweeps);
        }
        result.finished_at = Some(Timestamp::now().rfc3339());
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

/// Adds `run` to `runs` before the first run planned after it (a resumed suite fills gaps).
fn insert_in_plan_order(runs: &mut Vec<RunResult>, run: RunResult) {
    let at = runs.iter().position(|other| other.index > run.index).unwrap_or(runs.len());
    runs.insert(at, run);
}

/// The NVML index of the GPU each phase runs on (`None` for CPU phases and GPUs NVML does not
/// list), matched through the CUDA driver's device UUIDs when CUDA is compiled in and usable.
fn gpu_indices_of_phases(suite: &Suite, gpus: &[telemetry::GpuInfo]) -> Vec<Option<u32>> {
    let uses_cuda = suite.phases.iter().any(|phase| matches!(phase.device, DeviceSpec::Cuda(_)));
    let cuda = if uses_cuda && !gpus.is_empty() {
        crate::device::cuda_support()
    } else {
        crate::device::CudaSupport::NotCompiled
    };
    let gpu_of = |phase: &crate::suite::Phase| match phase.device {
        DeviceSpec::Cuda(ordinal) => nvml_gpu_of_cuda_device(ordinal, &cuda, gpus),
        DeviceSpec::Cpu => None,
    };
    suite.phases.iter().map(gpu_of).collect()
}

/// The NVML index of the GPU that CUDA device `ordinal` is in this process: by the device's UUID
/// from `cuda` when known, else by this process's `CUDA_VISIBLE_DEVICES` (see
/// [`telemetry::nvml_index_for_cuda`]).
pub fn nvml_gpu_of_cuda_device(
    ordinal: usize,
    cuda: &crate::device::CudaSupport,
    gpus: &[telemetry::GpuInfo],
) -> Option<u32> {
    let uuid = cuda.devices().iter().find(|device| device.ordinal == ordinal).and_then(|d| d.uuid.as_deref());
    let visible_devices = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    telemetry::nvml_index_for_cuda(ordinal, uuid, visible_devices.as_deref(), gpus)
}

/// Stores a run's telemetry with its aggregates over the measured window, and the warnings of the
/// GPU the run used.
fn attach_telemetry(
    run: &mut RunResult,
    samples: Vec<TelemetrySample>,
    sampler_cost: telemetry::SamplerCost,
    gpu_unavailable_reason: Option<String>,
) {
    let window = run.measured_window_secs.unwrap_or([0.0, samples.last().map_or(0.0, |s| s.t_secs)]);
    let (host, gpus) = telemetry::aggregate(&samples, window, run.step_secs.len());
    if let Some(gpu) = gpus.iter().find(|gpu| Some(gpu.index) == run.gpu_index) {
        run.warnings.extend(gpu.warnings());
    }
    run.telemetry = Some(RunTelemetry {
        samples,
        measured_window_secs: run.measured_window_secs,
        host,
        gpus,
        gpu_unavailable_reason,
        sampler_cost,
    });
}

/// Fills in what is derived from the raw steps: summary, throughput, speedup against the
/// baseline run and accuracy against the baseline's probe output.
fn derive(
    run: &mut RunResult,
    probe_output: Option<&[f32]>,
    reference_output: Option<&Vec<f32>>,
    earlier_runs: &[RunResult],
    suite: &Suite,
    resamples: usize,
) {
    let seed = suite.settings.seed ^ (run.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if run.step_secs.len() >= 2 {
        match stats::summarize(&run.step_secs, resamples, seed) {
            Ok(summary) => {
                run.throughput_items_per_sec = Some(run.batch_size as f64 / summary.median);
                run.summary = Some(summary);
                if let Some(drift) = stats::warmup_drift(&run.step_secs) {
                    run.warnings.push(telemetry::ValidityWarning::WarmupTooShort {
                        head_steps: drift.head_steps,
                        slower_percent: drift.slower_fraction * 100.0,
                        warmup_steps: suite.settings.warmup_steps,
                    });
                }
            }
            Err(error) => run.notes.push(format!("no statistics: {error}")),
        }
    } else if matches!(run.status, RunStatus::Completed) {
        run.notes.push(format!(
            "only {} measured step(s) fit in max_secs; statistics need 2 (raise max_secs)",
            run.step_secs.len()
        ));
    }

    if let (Some(output), Some(reference)) = (probe_output, reference_output) {
        // Training probes are loss trajectories; runs stopped by time may have fewer steps, so
        // they are compared over the steps both have.
        let (reference, output) = if run.training.is_some() && reference.len() != output.len() {
            let common = reference.len().min(output.len());
            run.notes.push(format!("loss trajectory compared with the baseline's over the first {common} steps"));
            (&reference[..common], &output[..common])
        } else {
            (reference.as_slice(), output)
        };
        match accuracy::compare_outputs(reference, output) {
            Ok(drift) => {
                if drift.nonfinite_values > 0 {
                    run.notes.push(format!("{} output values are NaN or infinite", drift.nonfinite_values));
                }
                run.accuracy = Some(drift);
            }
            Err(error) => run.notes.push(format!("no accuracy: {error}")),
        }
    } else if !run.is_baseline && !run.failed() {
        run.notes.push(
            "no accuracy: the baseline phase has no output for this workload (it failed or was cancelled)".into(),
        );
    }

    if run.is_baseline || !matches!(run.status, RunStatus::Completed) || run.summary.is_none() {
        return;
    }
    if run.accuracy.as_ref().is_some_and(|accuracy| accuracy.nonfinite_values > 0) {
        run.notes.push("no speedup: the outputs are NaN or infinite, so its speed is not comparable".into());
        return;
    }
    let completed_baselines =
        || earlier_runs.iter().filter(|r| r.is_baseline && r.workload == run.workload && r.summary.is_some());
    let baseline =
        completed_baselines().find(|r| r.batch_size == run.batch_size).or_else(|| completed_baselines().next());
    let Some(baseline) = baseline else {
        run.notes.push("no speedup: the baseline run of this workload did not complete".into());
        return;
    };
    if let (Some(baseline_gpu), Some(run_gpu)) = (baseline.used_gpu(), run.used_gpu())
        && let Some(warning) = telemetry::compare_clocks(baseline_gpu, run_gpu)
    {
        run.warnings.push(warning);
    }
    if baseline.batch_size != run.batch_size {
        run.notes.push(format!(
            "speedup is per item against the baseline at batch {} (this run: batch {})",
            baseline.batch_size, run.batch_size
        ));
    }
    match compare::diff_runs(baseline, run, suite.settings.noise_threshold, resamples, seed) {
        Ok(speedup) => run.speedup = Some(speedup),
        Err(error) => run.notes.push(format!("no speedup: {error}")),
    }
}

/// Waits for events until the suite finishes, handing each to `on_event`; returns the result.
pub fn drive(handle: RunnerHandle, mut on_event: impl FnMut(&RunEvent)) -> Result<SuiteResult, RunnerError> {
    for event in handle.events.iter() {
        on_event(&event);
    }
    handle.join()
}

/// Runs a suite to the end on the worker thread, ignoring events; for tests and scripts.
pub fn run_to_end(suite: Suite, options: RunOptions) -> Result<SuiteResult, RunnerError> {
    drive(start(suite, options, Arc::new(|| {}))?, |_| {})
}

/// Seconds since `start`, as f64.
fn secs_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
