//! Work the UI thread must not wait for: native file dialogs, reading and listing result files,
//! writing exports and capturing the environment. Each job runs on a named thread and sends its
//! outcome back over a bounded channel, then wakes the UI.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use crate::plan::Shard;
use crate::report::Format as ExportFormat;
use crate::results::{self, Environment, RunStatus, SuiteResult, SuiteStatus, Timestamp};
use crate::runner::Wake;

/// Outcomes waiting at most; a job finding the channel full waits on its own thread.
const JOB_CHANNEL_CAPACITY: usize = 64;

/// A dialog that returns sooner than this without a path most likely never opened.
const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(150);

/// Most result directories the history lists (the newest).
pub const MAX_HISTORY_ENTRIES: usize = 200;

/// What a file dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilePurpose {
    /// Open a suite into the editor.
    OpenSuite,
    /// Save the suite under a new name.
    SaveSuiteAs,
    /// Write the shown result as a report in this format.
    Export(ExportFormat),
    /// Open a result file into the compare view.
    OpenResult,
    /// Load a result file as the "before" side of a diff.
    DiffBefore,
    /// Load a result file as the "after" side of a diff.
    DiffAfter,
    /// Pick the weights file of the workload with this index.
    Weights(usize),
    /// Pick the GGUF file the phase with this index runs.
    PhaseGguf(usize),
    /// Pick the workload's own language model: a Hugging Face folder, or else a GGUF file.
    ModelFile {
        /// The workload's index.
        index: usize,
        /// A folder (Hugging Face) rather than a `.gguf` file.
        folder: bool,
    },
    /// Pick the diffusers folder of the Diffusion workload with this index.
    DiffusionFolder(usize),
}

impl FilePurpose {
    /// Words for dialogs and messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::OpenSuite => "Open suite",
            Self::SaveSuiteAs => "Save suite as",
            Self::Export(ExportFormat::Html) => "Export HTML report",
            Self::Export(ExportFormat::Json) => "Export JSON",
            Self::Export(ExportFormat::Markdown) => "Export Markdown",
            Self::Export(ExportFormat::Csv) => "Export CSV",
            Self::OpenResult => "Open result",
            Self::DiffBefore => "Load result as before",
            Self::DiffAfter => "Load result as after",
            Self::Weights(_) => "Weights file",
            Self::ModelFile { folder: true, .. } => "Model folder (Hugging Face: config.json and safetensors)",
            Self::ModelFile { folder: false, .. } => "Model file (GGUF)",
            Self::PhaseGguf(_) => "GGUF file the phase runs",
            Self::DiffusionFolder(_) => "Diffusion pipeline folder (diffusers: unet/, vae/, text_encoder/)",
        }
    }

    /// Whether the dialog picks a file to write.
    pub fn is_save(self) -> bool {
        matches!(self, Self::SaveSuiteAs | Self::Export(_))
    }
}

/// One result directory in the history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// The result file.
    pub path: PathBuf,
    /// What the file holds, or why it could not be read.
    pub summary: Result<HistorySummary, String>,
}

/// What the history shows of a readable result.
#[derive(Clone, Debug, PartialEq)]
pub struct HistorySummary {
    /// Suite name.
    pub suite: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Host name, when recorded.
    pub hostname: Option<String>,
    /// CPU model.
    pub cpu_model: String,
    /// Completed, cancelled or interrupted.
    pub status: SuiteStatus,
    /// Runs done.
    pub runs: usize,
    /// Runs planned.
    pub planned_runs: usize,
    /// Runs that failed.
    pub failed_runs: usize,
    /// Which part of a sharded suite it holds, if one.
    pub shard: Option<Shard>,
    /// What was measured, in a few words (phases, batch sizes, budget), so two results of one
    /// suite with different settings are told apart.
    pub setup: String,
}

/// A result's phases, batch sizes and time budget in a few words: `f32, bf16 · batch 1, 32 · ≤2 s a run`.
fn setup_words(suite: &crate::suite::Suite) -> String {
    let phases: Vec<&str> = suite.phases.iter().map(|phase| phase.name.as_str()).collect();
    let mut batches: Vec<usize> =
        suite.workloads.iter().flat_map(|workload| workload.batch_sizes.iter().copied()).collect();
    batches.sort_unstable();
    batches.dedup();
    let batches: Vec<String> = batches.iter().map(ToString::to_string).collect();
    format!("{} · batch {} · ≤{} s a run", phases.join(", "), batches.join(", "), suite.settings.max_secs)
}

/// What a finished job hands back.
#[derive(Debug)]
pub enum JobOutcome {
    /// A file dialog closed.
    Picked {
        /// Why it was opened.
        purpose: FilePurpose,
        /// The chosen path, if any.
        path: Option<PathBuf>,
        /// The dialog returned at once without a path: it most likely could not open.
        probably_failed: bool,
    },
    /// A result file was read.
    ResultLoaded {
        /// Why it was read.
        purpose: FilePurpose,
        /// The file.
        path: PathBuf,
        /// The result or the reason it could not be read.
        result: Result<Box<SuiteResult>, String>,
    },
    /// The results directory was listed.
    HistoryListed {
        /// Which listing this is; only the latest one asked for is shown (jobs may end out of order).
        generation: u64,
        /// The entries, or why the directory could not be listed.
        listed: Result<Vec<HistoryEntry>, String>,
    },
    /// An export was written (or not).
    Exported {
        /// The file.
        path: PathBuf,
        /// The reason it failed.
        outcome: Result<(), String>,
    },
    /// The machine's environment was captured, and the CUDA devices looked at.
    Environment(Box<Environment>, crate::device::CudaSupport),
    /// A diff of two runs or results was computed.
    Diff {
        /// Which request it answers (older answers are dropped).
        generation: u64,
        /// What the comparison found.
        outcome: Box<super::DiffOutcome>,
    },
}

/// Runs jobs on named threads and collects their outcomes.
pub struct Jobs {
    sender: SyncSender<JobOutcome>,
    receiver: Receiver<JobOutcome>,
    pending: usize,
    wake: Wake,
}

impl Jobs {
    /// A job runner that calls `wake` when an outcome is ready.
    pub fn new(wake: Wake) -> Self {
        let (sender, receiver) = sync_channel(JOB_CHANNEL_CAPACITY);
        Self { sender, receiver, pending: 0, wake }
    }

    /// Replaces the wake-up callback (once the UI context is known).
    pub fn set_wake(&mut self, wake: Wake) {
        self.wake = wake;
    }

    /// Runs `job` on a thread named `phasebench-<name>`; its outcome arrives through [`Self::poll`].
    pub fn spawn(&mut self, name: &str, job: impl FnOnce() -> JobOutcome + Send + 'static) -> Result<(), String> {
        let sender = self.sender.clone();
        let wake = self.wake.clone();
        std::thread::Builder::new()
            .name(format!("phasebench-{name}"))
            .spawn(move || {
                let _ = sender.send(job());
                wake();
            })
            .map_err(|error| format!("cannot start a thread: {error}"))?;
        self.pending += 1;
        Ok(())
    }

    /// Outcomes that arrived since the last call.
    pub fn poll(&mut self) -> Vec<JobOutcome> {
        let outcomes: Vec<JobOutcome> = self.receiver.try_iter().collect();
        self.pending = self.pending.saturating_sub(outcomes.len());
        outcomes
    }

    /// Waits up to `timeout` for the jobs in flight (for tests and scripts).
    pub fn wait(&mut self, timeout: Duration) -> Vec<JobOutcome> {
        let deadline = Instant::now() + timeout;
        let mut outcomes = Vec::new();
        while self.pending > outcomes.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(outcome) => outcomes.push(outcome),
                Err(_) => break,
            }
        }
        self.pending = self.pending.saturating_sub(outcomes.len());
        outcomes
    }
}

/// Why no native file dialog can open here, when that can be told beforehand: on Linux rfd needs
/// the desktop portal (over a D-Bus session) or the `zenity` program.
pub fn dialog_unavailable_reason() -> Option<String> {
    if !cfg!(target_os = "linux") || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() || program_on_path("zenity")
    {
        return None;
    }
    Some("no file dialog can open here (no desktop portal on a D-Bus session and no zenity); type the path".into())
}

fn program_on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Shows a native dialog for `purpose` (blocking its own thread, never the UI's).
pub fn pick_file(purpose: FilePurpose, start_dir: Option<PathBuf>, suggested_name: String) -> JobOutcome {
    let opened = Instant::now();
    let mut dialog = rfd::FileDialog::new().set_title(purpose.describe());
    if let Some(dir) = start_dir {
        dialog = dialog.set_directory(dir);
    }
    let path = match purpose {
        FilePurpose::OpenSuite => dialog.add_filter("phasebench suite", &["ron"]).pick_file(),
        FilePurpose::SaveSuiteAs => {
            dialog.add_filter("phasebench suite", &["ron"]).set_file_name(suggested_name).save_file()
        }
        FilePurpose::Export(format) => {
            dialog.add_filter(format.describe(), &[format.extension()]).set_file_name(suggested_name).save_file()
        }
        FilePurpose::OpenResult | FilePurpose::DiffBefore | FilePurpose::DiffAfter => {
            dialog.add_filter("phasebench result", &["json"]).pick_file()
        }
        FilePurpose::Weights(_) => dialog.add_filter("safetensors", &["safetensors"]).pick_file(),
        FilePurpose::ModelFile { folder: true, .. } | FilePurpose::DiffusionFolder(_) => dialog.pick_folder(),
        FilePurpose::ModelFile { folder: false, .. } | FilePurpose::PhaseGguf(_) => {
            dialog.add_filter("GGUF", &["gguf"]).pick_file()
        }
    };
    let probably_failed = path.is_none() && opened.elapsed() < DIALOG_FAILED_WITHIN;
    JobOutcome::Picked { purpose, path, probably_failed }
}

/// Reads a result file (or directory) for `purpose`.
pub fn load_result(purpose: FilePurpose, path: PathBuf) -> JobOutcome {
    let result = results::load_result(&path).map(Box::new).map_err(|error| error.to_string());
    JobOutcome::ResultLoaded { purpose, path, result }
}

/// Writes `result` in `format` to `path` with the same exporter and writer as the CLI, so a
/// failure leaves no half-written report.
pub fn export(result: &SuiteResult, format: ExportFormat, path: PathBuf) -> JobOutcome {
    let outcome = crate::report::render(format, result, None).map_err(|error| error.to_string()).and_then(|bytes| {
        crate::atomic_file::write_atomically(&path, &bytes)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    });
    JobOutcome::Exported { path, outcome }
}

/// Merges the shards of the newest sharded suite under `root` and hands the result over as an
/// opened result.
pub fn merge_shards(root: &Path) -> JobOutcome {
    let label = root.join("(merged shards)");
    let result = results::merge::merge_latest_in(root).map(|merged| Box::new(merged.result));
    JobOutcome::ResultLoaded { purpose: FilePurpose::OpenResult, path: label, result }
}

/// Lists the result directories under `root`, newest first, as listing number `generation`.
pub fn list_history(root: &Path, generation: u64) -> JobOutcome {
    JobOutcome::HistoryListed { generation, listed: history_entries(root) }
}

fn history_entries(root: &Path) -> Result<Vec<HistoryEntry>, String> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot list {}: {error}", root.display())),
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(results::RESULT_FILE_NAME))
        .filter_map(|file| Some((file.metadata().ok()?.modified().ok()?, file)))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    files.truncate(MAX_HISTORY_ENTRIES);
    let listed = files.into_iter().map(|(_, path)| history_entry(path)).collect();
    Ok(listed)
}

fn history_entry(path: PathBuf) -> HistoryEntry {
    let summary = results::load_result(&path).map_err(|error| error.to_string()).map(|result| HistorySummary {
        setup: setup_words(&result.suite),
        failed_runs: result.runs.iter().filter(|run| matches!(run.status, RunStatus::Failed { .. })).count(),
        suite: result.suite.name,
        started_at: result.started_at,
        hostname: result.environment.hostname,
        cpu_model: result.environment.cpu_model,
        status: result.status,
        runs: result.runs.len(),
        planned_runs: result.planned_runs,
        shard: result.shard,
    });
    HistoryEntry { path, summary }
}
