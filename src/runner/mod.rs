//! Runs a suite on a named worker thread: expands the plan, executes each run in isolation
//! (errors and panics become failed runs), sends [`RunEvent`]s over a bounded channel, writes the
//! result file after every run and stops within one step when cancelled.

mod batcher;
mod derive;
mod execute;
mod file_load;
mod flush;
pub mod image;
mod interleave;
mod measure;
mod prepare;
mod steppers;
mod sweep;
mod text;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::plan::{MemoryProblem, PlannedRun, Shard, check_memory, expand, shard_plan};
pub use derive::nvml_gpu_of_cuda_device;

use worker::Worker;

use crate::results::{ResultStore, RunResult, SuiteResult, SuiteStatus, Timestamp};
use crate::stats::BOOTSTRAP_RESAMPLES;
use crate::suite::Suite;
use crate::telemetry::{TelemetryChoice, TelemetrySample};

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
    /// A text generation's prefill (the prompt at once, ending with the first token), taken
    /// before the run's step `before_step` of `kind`: not a step, marked where it happened.
    Prefill {
        /// Plan index.
        index: usize,
        /// Warm-up or measured.
        kind: StepKind,
        /// Steps of `kind` the run had taken when the prefill began.
        before_step: usize,
        /// Time to first token, seconds.
        ttft_secs: f64,
    },
    /// An image generation's stage (the text encoding or the decode), taken before the run's
    /// step `before_step` of `kind`: not a denoising step, marked where it happened.
    Stage {
        /// Plan index.
        index: usize,
        /// Warm-up or measured.
        kind: StepKind,
        /// Steps of `kind` the run had taken when the stage began.
        before_step: usize,
        /// Which stage.
        stage: image::ImageStage,
        /// Its seconds.
        secs: f64,
    },
    /// A phase measured in interleaved rounds, compared with its baseline over the rounds so far
    /// (at every look and every few rounds): the running interval narrowing as rounds come.
    Rounds {
        /// Plan index of the phase's run.
        index: usize,
        /// Rounds measured so far.
        rounds: usize,
        /// The comparison over those rounds (at the error rate of one look).
        speedup: Box<crate::stats::Speedup>,
        /// Whether the group stops here because every comparison in it is decided.
        decided: bool,
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
    /// The step does not return until the run is abandoned at its timeout, then finishes (a slow
    /// kernel that overran): the run must stop there instead of measuring on.
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

    /// Resolves relative weights and model paths against `base_dir` (usually the suite file's
    /// folder).
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
    let mut suite = suite;
    suite.resolve_model_paths(&options.base_dir);
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
