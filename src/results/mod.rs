//! Versioned result records: the suite as run, the environment, and per run every raw step time
//! with the summaries derived from them. Written to disk after every run by [`ResultStore`].

pub mod environment;
mod generation;
pub mod merge;
mod rounds;
mod store;
mod text;
mod time;

pub use crate::atomic_file::write_atomically;
pub use environment::Environment;
pub use generation::{GenerationRecord, ImageRecord, PerImageSpeedup};
pub use rounds::RoundSteps;
pub use store::{
    EMBEDDED_RESULT_ID, RESULT_FILE_NAME, ResultError, ResultStore, file_name_safe, load_result, parse_result,
};
pub use text::{ComponentLoad, FileLoadRecord, GgufRecord, TextGenerationRecord};
pub use time::Timestamp;

use serde::{Deserialize, Serialize};

use crate::accuracy::Accuracy;
use crate::stats::{Speedup, Summary};
use crate::suite::{DTypeSpec, DeviceSpec, Mode, Quantization, Suite};
use crate::telemetry::{RunTelemetry, ValidityWarning};

/// The result format version this program writes; older versions are read, newer refused.
pub const RESULT_FORMAT_VERSION: u32 = 1;

/// Everything measured for one suite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteResult {
    /// Format version of this record.
    pub format_version: u32,
    /// Where the suite came from (a path or the embedded default).
    pub suite_origin: String,
    /// The suite exactly as it was run.
    pub suite: Suite,
    /// The machine and software it ran on.
    pub environment: Environment,
    /// When the suite started (UTC, RFC 3339).
    pub started_at: Timestamp,
    /// When it ended, if it did.
    pub finished_at: Option<Timestamp>,
    /// Whether it is still running, completed or was cancelled.
    pub status: SuiteStatus,
    /// How many runs the plan has.
    pub planned_runs: usize,
    /// The runs finished so far, in plan order.
    pub runs: Vec<RunResult>,
    /// One entry per swept workload and phase: how far the batch size went and why it stopped.
    #[serde(default)]
    pub sweeps: Vec<SweepResult>,
    /// When the suite was resumed (`run --resume`) after it stopped part-way, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<Timestamp>,
    /// The part of the plan this result holds (`run --shard I/N`); absent for a whole suite or a
    /// merged result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::plan::Shard>,
}

/// How far a batch-size sweep of one workload in one phase went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Workload name.
    pub workload: String,
    /// Phase name.
    pub phase: String,
    /// The largest batch size that ran to completion.
    pub largest_working_batch: Option<usize>,
    /// Items per second at each completed batch size, in order.
    pub throughput_curve: Vec<SweepPoint>,
    /// Why the sweep ended (or that it is still going).
    pub stop: SweepStop,
}

impl SuiteResult {
    /// Whether a run failed other than by ending a batch sweep at its GPU memory limit (the
    /// sweep found what it looks for there): what makes `run` exit 1.
    pub fn has_unexpected_failures(&self) -> bool {
        self.runs.iter().any(|run| run.failed() && !self.sweeps.iter().any(|sweep| sweep.found_memory_limit_at(run)))
    }
}

impl SweepResult {
    /// Whether `run` is the batch that ended this sweep by running out of GPU memory after a
    /// smaller batch worked: the limit the sweep was looking for, not a broken run.
    pub fn found_memory_limit_at(&self, run: &RunResult) -> bool {
        run.workload == self.workload
            && run.phase == self.phase
            && self.largest_working_batch.is_some()
            && matches!(self.stop, SweepStop::OutOfDeviceMemory { batch_size } if batch_size == run.batch_size)
    }
}

/// Throughput at one batch size of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Items per step.
    pub batch_size: usize,
    /// Items per second at the median step time.
    pub items_per_sec: f64,
}

/// Why a batch-size sweep ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SweepStop {
    /// Still running (or the process died while it was).
    Running,
    /// Every batch size up to `to` worked.
    Completed,
    /// A batch size failed.
    Failed {
        /// The batch size that failed.
        batch_size: usize,
    },
    /// A batch size ran out of GPU memory: the sweep found the largest batch that fits.
    OutOfDeviceMemory {
        /// The batch size that did not fit.
        batch_size: usize,
    },
    /// A batch size could not finish `min_steps` within `max_secs`; it is the last one tried.
    TimeBudget {
        /// The batch size that hit the budget.
        batch_size: usize,
        /// Its median step time.
        median_step_secs: f64,
    },
    /// The next batch size was predicted to grow the process beyond `max_memory_bytes`; it was
    /// not run.
    MemoryBudget {
        /// The batch size not run.
        batch_size: usize,
        /// The predicted peak resident memory.
        predicted_bytes: u64,
        /// The budget.
        budget_bytes: u64,
    },
    /// The user cancelled.
    Cancelled,
}

impl SweepStop {
    /// Why a sweep stopped, in words.
    pub fn describe(&self) -> String {
        match self {
            SweepStop::Running => "still running".into(),
            SweepStop::Completed => "every batch size worked".into(),
            SweepStop::Failed { batch_size } => format!("batch {batch_size} failed"),
            SweepStop::OutOfDeviceMemory { batch_size } => {
                format!("batch {batch_size} ran out of GPU memory: the batches before it are the ones that fit")
            }
            SweepStop::TimeBudget { batch_size, median_step_secs } => format!(
                "time budget: batch {batch_size} takes {median_step_secs:.3} s per step, too slow for min_steps within max_secs"
            ),
            SweepStop::MemoryBudget { batch_size, predicted_bytes, budget_bytes } => format!(
                "memory budget: batch {batch_size} would need about {} of resident memory, over the budget of {}",
                crate::units::format_bytes(*predicted_bytes as f64),
                crate::units::format_bytes(*budget_bytes as f64)
            ),
            SweepStop::Cancelled => "cancelled".into(),
        }
    }
}

/// State of a suite result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuiteStatus {
    /// Runs are still being added (or the process died while they were).
    Running,
    /// Every planned run was attempted.
    Completed,
    /// The user cancelled; the runs finished before that are kept.
    Cancelled,
}

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Measured to the end.
    Completed,
    /// Could not run or broke while running.
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
    /// Stopped by the user; the steps measured until then are kept.
    Cancelled,
    /// Not run, for the reason given (e.g. a batch sweep stopped before this batch size).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for SuiteStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Running => "interrupted while running",
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Completed => "completed",
            Self::Failed { .. } => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped { .. } => "skipped",
        })
    }
}

impl RunStatus {
    /// Why the run failed or was skipped; empty otherwise.
    pub fn reason(&self) -> &str {
        match self {
            Self::Failed { reason } | Self::Skipped { reason } => reason,
            Self::Completed | Self::Cancelled => "",
        }
    }
}

/// Why measuring stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// Both `min_steps` and `min_secs` were reached.
    MinimumReached,
    /// `max_steps` was reached.
    MaxSteps,
    /// `max_secs` ran out.
    MaxSecs,
    /// The user cancelled.
    Cancelled,
    /// Interleaved rounds: every comparison of the run's group was decided at a look.
    Decided,
    /// Interleaved rounds: the group's `max_rounds` ran out.
    MaxRounds,
}

/// Everything measured in one run: one workload in one phase at one batch size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Position in the plan, from 0.
    pub index: usize,
    /// Workload name.
    pub workload: String,
    /// Phase name.
    pub phase: String,
    /// Items per step.
    pub batch_size: usize,
    /// Whether this run belongs to the baseline phase.
    pub is_baseline: bool,
    /// Catalog model name.
    pub model: String,
    /// The phase's dtype.
    pub dtype: DTypeSpec,
    /// The phase's device.
    pub device: DeviceSpec,
    /// The phase's weight quantization.
    #[serde(default)]
    pub quantization: Option<Quantization>,
    /// What a step does.
    #[serde(default)]
    pub mode: Mode,
    /// How the run ended.
    pub status: RunStatus,
    /// When the run started (UTC, RFC 3339).
    pub started_at: Timestamp,
    /// Time to convert the weights and build the model on the device, in seconds.
    pub load_secs: Option<f64>,
    /// Time to copy the weights (in the phase's dtype; f32 before quantization) and the inputs
    /// from the host to the device, in seconds (runs on a GPU only; apart from `load_secs`).
    #[serde(default)]
    pub transfer_secs: Option<f64>,
    /// Bytes of that host→device copy.
    #[serde(default)]
    pub transfer_bytes: Option<u64>,
    /// The read of the model files from disk, when the weights came from files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_load: Option<FileLoadRecord>,
    /// NVML index of the physical GPU a CUDA run used, matched by its UUID (so it honours
    /// `CUDA_VISIBLE_DEVICES`); absent for CPU runs and GPUs NVML does not list.
    #[serde(default)]
    pub gpu_index: Option<u32>,
    /// The CUDA driver's view of the device's memory around the run (CUDA runs only).
    #[serde(default)]
    pub device_memory: Option<DeviceMemory>,
    /// Warm-up step times in seconds, never in statistics.
    pub warmup_step_secs: Vec<f64>,
    /// Measured step times in seconds, in order.
    pub step_secs: Vec<f64>,
    /// When each measured step started, in seconds on the run's clock (shared with telemetry),
    /// after any cache flush before it: with `step_secs`, the step's own interval.
    #[serde(default)]
    pub step_start_secs: Vec<f64>,
    /// The measured window on the run's clock, `[start, end]` seconds.
    #[serde(default)]
    pub measured_window_secs: Option<[f64; 2]>,
    /// Why measuring stopped.
    pub stop_reason: Option<StopReason>,
    /// Parameters of the model.
    pub param_count: usize,
    /// Bytes of the parameters in the phase's dtype (and quantization).
    pub param_bytes: usize,
    /// Bytes of the parameters in f32, before the phase's conversion.
    #[serde(default)]
    pub f32_param_bytes: usize,
    /// Floating-point operations of one forward pass per batch item, when the model tells.
    pub flops_per_item: Option<f64>,
    /// Peak resident memory of the whole process during the run (the master weights, the app
    /// and whatever the allocator kept from earlier runs included).
    pub peak_rss_bytes: Option<u64>,
    /// Host memory the run itself needed: the most heap it held at once from building the model
    /// to its end (weights in the phase's dtype, inputs, activations, gradients, optimizer state),
    /// counted by the allocator; the cache-flush buffer and the shared f32 master are not in it.
    #[serde(default)]
    pub run_memory_bytes: Option<u64>,
    /// Resident memory of the process when the run started.
    #[serde(default)]
    pub start_rss_bytes: Option<u64>,
    /// Statistics of `step_secs` (derived).
    pub summary: Option<Summary>,
    /// Batch items per second at the median step time (derived).
    pub throughput_items_per_sec: Option<f64>,
    /// Speed against the baseline run of the same workload (absent for the baseline itself).
    pub speedup: Option<Speedup>,
    /// Output drift against the baseline phase on the probe input.
    pub accuracy: Option<Accuracy>,
    /// Per-step breakdown and losses of a training run.
    #[serde(default)]
    pub training: Option<TrainingRecord>,
    /// Whole-generation times of a generation run.
    #[serde(default)]
    pub generation: Option<GenerationRecord>,
    /// Prefill, time to first token and whole generations of a text-generation run (its measured
    /// steps are the decode steps, one token each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextGenerationRecord>,
    /// Which interleaved round each measured step belongs to (absent for sequential runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<RoundSteps>,
    /// Telemetry series and aggregates of the run.
    #[serde(default)]
    pub telemetry: Option<RunTelemetry>,
    /// Reasons to distrust this run's timings, each with what to do about it.
    #[serde(default)]
    pub warnings: Vec<ValidityWarning>,
    /// Things the reader should know about this run (e.g. why accuracy is absent).
    pub notes: Vec<RunNote>,
    /// What kind of failure ended the run, when the runner could tell (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// The machine that measured it, in a result merged from shards of several machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A failure the runner recognises and acts on (a batch sweep ends at a GPU's memory limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The GPU ran out of memory (CUDA or cuBLAS could not allocate).
    OutOfDeviceMemory,
}

/// Something the reader should know about a run. Stored as its text, so result files of every
/// version read the same; the kinds the program acts on are told apart when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RunNote {
    /// No statistics could be derived from the steps.
    NoStatistics {
        /// Why.
        reason: String,
    },
    /// The output could not be compared with the baseline's.
    NoAccuracy {
        /// Why.
        reason: String,
    },
    /// No speedup against the baseline could be given.
    NoSpeedup {
        /// Why.
        reason: String,
    },
    /// Anything else worth knowing.
    Info(String),
}

impl RunNote {
    const NO_STATISTICS: &'static str = "no statistics: ";
    const NO_ACCURACY: &'static str = "no accuracy: ";
    const NO_SPEEDUP: &'static str = "no speedup: ";

    /// Whether the note, as a reader sees it, contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.to_string().contains(needle)
    }

    /// Why there is no speedup, when this note says so.
    pub fn no_speedup_reason(&self) -> Option<&str> {
        match self {
            Self::NoSpeedup { reason } => Some(reason),
            _ => None,
        }
    }
}

impl std::fmt::Display for RunNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoStatistics { reason } => write!(f, "{}{reason}", Self::NO_STATISTICS),
            Self::NoAccuracy { reason } => write!(f, "{}{reason}", Self::NO_ACCURACY),
            Self::NoSpeedup { reason } => write!(f, "{}{reason}", Self::NO_SPEEDUP),
            Self::Info(text) => f.write_str(text),
        }
    }
}

impl From<RunNote> for String {
    fn from(note: RunNote) -> Self {
        note.to_string()
    }
}

impl From<String> for RunNote {
    /// Reads a stored note; its kind is told by the words it starts with, as every version wrote it.
    fn from(text: String) -> Self {
        let rest = |prefix: &str| text.strip_prefix(prefix).map(str::to_owned);
        if let Some(reason) = rest(Self::NO_STATISTICS) {
            Self::NoStatistics { reason }
        } else if let Some(reason) = rest(Self::NO_ACCURACY) {
            Self::NoAccuracy { reason }
        } else if let Some(reason) = rest(Self::NO_SPEEDUP) {
            Self::NoSpeedup { reason }
        } else {
            Self::Info(text)
        }
    }
}

/// Device memory in use on the run's GPU (all processes, from the CUDA driver's `cuMemGetInfo`)
/// at three moments, to show what the run allocated and that it gave it all back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceMemory {
    /// Memory the device has.
    pub total_bytes: u64,
    /// In use when the run's device was opened, before anything of the run was allocated.
    pub before_bytes: u64,
    /// In use once the weights and inputs were on the device and the model was built.
    pub loaded_bytes: Option<u64>,
    /// In use after the run ended and everything it allocated was dropped.
    pub after_bytes: Option<u64>,
}

impl DeviceMemory {
    /// More than this left in use after a run means it did not give its memory back.
    pub const LEAK_TOLERANCE_BYTES: u64 = 64 * 1024 * 1024;

    /// Bytes still in use after the run beyond what was in use before it, when over the tolerance.
    pub fn not_returned_bytes(&self) -> Option<u64> {
        let extra = self.after_bytes?.saturating_sub(self.before_bytes);
        (extra > Self::LEAK_TOLERANCE_BYTES).then_some(extra)
    }
}

/// Where the time of each training step goes, and the loss it reached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Forward pass and loss, in seconds, of each step timed in parts (every
    /// `breakdown_every`th step; such steps are not in the run's step times).
    pub forward_secs: Vec<f64>,
    /// Backward pass of each step timed in parts, in seconds.
    pub backward_secs: Vec<f64>,
    /// Optimizer update of each step timed in parts, in seconds.
    pub optimizer_secs: Vec<f64>,
    /// Loss of every step taken, warm-up first, in order (the steps timed in parts too).
    pub losses: Vec<f64>,
    /// Which steps were timed in parts: every this-many-th (0 in files from before: every measured
    /// step, its parts summing to its time).
    #[serde(default)]
    pub breakdown_every: usize,
}

impl RunResult {
    /// Generated tokens per second while decoding, at the median decode step (each step makes one
    /// token of every sequence in the batch); text generation only.
    pub fn decode_tokens_per_sec(&self) -> Option<f64> {
        self.text.as_ref()?;
        self.throughput_items_per_sec
    }

    /// `workload/phase@batch`: the run's name in tables, charts, progress lines and diffs.
    pub fn label(&self) -> String {
        format!("{}/{}@{}", self.workload, self.phase, self.batch_size)
    }

    /// The telemetry aggregate of the GPU a CUDA run used (none for CPU runs).
    pub fn used_gpu(&self) -> Option<&crate::telemetry::GpuAggregate> {
        let index = self.gpu_index?;
        self.telemetry.as_ref()?.gpus.iter().find(|gpu| gpu.index == index)
    }

    /// GPU memory the run took: NVML's peak for this process on the run's GPU, or else (NVML
    /// cannot see processes, e.g. in some containers) what the CUDA driver showed in use once the
    /// model was built, beyond the level before the run. The flag says which (`true`: NVML peak).
    pub fn gpu_memory_bytes(&self) -> Option<(u64, bool)> {
        if let Some(peak) = self.used_gpu().and_then(|gpu| gpu.peak_process_memory_bytes) {
            return Some((peak, true));
        }
        let memory = self.device_memory?;
        Some((memory.loaded_bytes?.saturating_sub(memory.before_bytes), false))
    }

    /// Energy per measured step of the GPU the run used, when NVML measured it.
    pub fn energy_per_step_joules(&self) -> Option<f64> {
        self.used_gpu()?.energy_per_step_joules
    }

    /// Items finished per second: for inference and training the batch items of a step at the
    /// median step time; for generation, images finished per second at the median time of a whole
    /// generation (a denoising step finishes no image).
    pub fn items_per_sec(&self) -> Option<f64> {
        match &self.generation {
            Some(generation) => {
                let median = crate::stats::median(&generation.generation_secs).ok()?;
                Some(self.batch_size as f64 / median)
            }
            None => self.throughput_items_per_sec,
        }
    }

    /// GPU energy per batch item of a measured step, so runs at different batch sizes compare.
    pub fn energy_per_item_joules(&self) -> Option<f64> {
        Some(self.energy_per_step_joules()? / self.batch_size.max(1) as f64)
    }

    /// Whether the run failed.
    pub fn failed(&self) -> bool {
        matches!(self.status, RunStatus::Failed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_not_given_back_is_told_beyond_a_tolerance_only() {
        let memory = |after| DeviceMemory {
            total_bytes: 80 << 30,
            before_bytes: 1 << 30,
            loaded_bytes: Some(5 << 30),
            after_bytes: Some(after),
        };
        assert_eq!(memory(1 << 30).not_returned_bytes(), None, "back to the level before");
        assert_eq!(memory((1 << 30) + (32 << 20)).not_returned_bytes(), None, "within the tolerance");
        assert_eq!(memory(3 << 30).not_returned_bytes(), Some(2 << 30));
        assert_eq!(DeviceMemory { after_bytes: None, ..memory(0) }.not_returned_bytes(), None, "not read");
    }
}
