//! The desktop app: its state, the commands panels emit, and the eframe glue. It drives the
//! engine (suite, runner, results) and never runs a workload, waits on the worker or reads more
//! than a suite file on the UI thread.

mod devices;
mod document;
mod jobs;
mod live;
mod recovery;

pub use devices::{DeviceChoice, device_choices};
pub use document::{FieldState, SuiteDocument};
pub use jobs::{ExportFormat, FilePurpose, HistoryEntry, JobOutcome, Jobs, dialog_unavailable_reason};
pub use live::{BoxStats, LiveRun, LiveSession, MAX_DISPLAY_POINTS, Series, SessionState, TelemetrySeries, decimate};
pub use recovery::{AUTOSAVE_INTERVAL, Recovery, default_recovery_file};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compare::{self, ResultDiff, Speedup};
use crate::models;
use crate::results::{Environment, RunResult, SuiteResult};
use crate::runner::{self, RunOptions};
use crate::suite::{self, Mode, ModelSpec, Phase, Suite, Workload};
use crate::telemetry::TelemetryChoice;

/// How long each frame may spend handling worker events before it draws.
pub const EVENT_BUDGET: Duration = Duration::from_millis(4);

/// Longest a worker event waits to be drawn; also the fastest the live view redraws by itself.
pub const LIVE_REPAINT_INTERVAL: Duration = Duration::from_millis(50);

/// Most recent suite files remembered.
pub const MAX_RECENT_FILES: usize = 10;

/// Bootstrap resamples for diffs computed in the app (fewer than a run's, to stay interactive).
pub const DIFF_RESAMPLES: usize = 2_000;

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Suite file to open; without it the last suite (when remembered and still valid) or the
    /// embedded default.
    pub suite: Option<PathBuf>,
    /// Start running the suite as soon as the window opens.
    pub autorun: bool,
    /// Close the window when the suite finished (with `autorun`, for scripts).
    pub exit_when_done: bool,
    /// Directory under which result directories are created.
    pub results_dir: PathBuf,
    /// Telemetry sources of runs.
    pub telemetry: TelemetryChoice,
    /// Write frame-time statistics of the run here when the suite finishes.
    pub frame_stats: Option<PathBuf>,
    /// Reopen the suite remembered from last time when no suite is given.
    pub restore_last_suite: bool,
    /// Use native file dialogs; without them every file is picked by typing its path.
    pub native_dialogs: bool,
    /// Faults injected into runs (tests of failure handling; no command line option sets these).
    pub faults: Vec<runner::InjectedFault>,
    /// Where the unsaved draft is kept while editing, to offer it back after a crash (`None`: not kept).
    pub recovery_file: Option<PathBuf>,
    /// Write the wall-clock time (ns since the Unix epoch) at which the first frame had been drawn
    /// here and close the window: the startup benchmark's probe.
    pub first_frame_file: Option<PathBuf>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            suite: None,
            autorun: false,
            exit_when_done: false,
            results_dir: PathBuf::from("results"),
            telemetry: TelemetryChoice::Auto,
            frame_stats: None,
            restore_last_suite: true,
            native_dialogs: true,
            faults: Vec::new(),
            recovery_file: None,
            first_frame_file: None,
        }
    }
}

/// What the app remembers between sessions (window size is kept by eframe itself).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Remembered {
    /// Suite files opened or saved lately, newest first.
    pub recent_suites: Vec<PathBuf>,
    /// The suite file open when the app closed.
    pub last_suite: Option<PathBuf>,
}

/// The central view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    /// Progress, step times and telemetry of the running suite.
    Live,
    /// Side-by-side comparison of the phases, and diffs.
    Compare,
    /// Saved results.
    History,
}

/// What the editor panel shows a form for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The measurement settings.
    Settings,
    /// A workload, by index.
    Workload(usize),
    /// A phase, by index.
    Phase(usize),
}

/// One side of a diff: one run, or a whole result.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffSide {
    /// A single run.
    Run {
        /// Where it comes from and which run, for people.
        label: String,
        /// The run.
        run: Box<RunResult>,
        /// Noise threshold of its suite.
        noise_threshold: f64,
    },
    /// Every run of a result file.
    Result {
        /// The file.
        label: String,
        /// The result.
        result: Box<SuiteResult>,
    },
}

impl DiffSide {
    /// Words naming this side.
    pub fn label(&self) -> &str {
        match self {
            Self::Run { label, .. } | Self::Result { label, .. } => label,
        }
    }
}

/// What a diff of the two sides found.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffOutcome {
    /// Two runs: after against before.
    Runs(Result<Speedup, String>),
    /// Two results: every run both have, what only one has, and how their machines differ.
    Results(ResultDiff),
    /// One side is a run and the other a result.
    Mismatch,
}

/// The two sides of a diff and what comparing them found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiffState {
    /// The "before" side.
    pub before: Option<DiffSide>,
    /// The "after" side.
    pub after: Option<DiffSide>,
    /// The comparison, once both sides are set and it was computed.
    pub outcome: Option<DiffOutcome>,
    /// Whether the comparison is being computed on a job thread.
    pub comparing: bool,
    /// Counts side changes, so that a late answer for older sides is dropped.
    generation: u64,
}

/// Compares the two sides (bootstrap CIs: on a job thread, never the UI's).
fn diff_outcome(before: &DiffSide, after: &DiffSide) -> DiffOutcome {
    match (before, after) {
        (DiffSide::Run { run: before, .. }, DiffSide::Run { run: after, noise_threshold, .. }) => DiffOutcome::Runs(
            compare::diff_runs(before, after, *noise_threshold, DIFF_RESAMPLES, 0x5eed)
                .map_err(|error| error.to_string()),
        ),
        (DiffSide::Result { result: before, .. }, DiffSide::Result { result: after, .. }) => {
            let threshold = after.suite.settings.regression_threshold;
            DiffOutcome::Results(compare::diff_results(before, after, threshold, DIFF_RESAMPLES))
        }
        _ => DiffOutcome::Mismatch,
    }
}

/// Which side of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Before.
    Before,
    /// After.
    After,
}

/// A message box: a title and the text, e.g. a parse error with its line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// Short title.
    pub title: String,
    /// The full text.
    pub text: String,
}

/// A path typed by hand where no file dialog can open.
#[derive(Clone, Debug, PartialEq)]
pub struct PathPrompt {
    /// What the path is for.
    pub purpose: FilePurpose,
    /// The path as typed.
    pub text: String,
    /// Why the prompt is shown.
    pub note: String,
}

/// Everything a panel can ask the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    /// Start a new suite from the default one (after confirming unsaved changes).
    NewSuite,
    /// Open a suite with the native dialog (or the path prompt).
    OpenSuiteDialog,
    /// Open a suite file.
    OpenSuite(PathBuf),
    /// Open a shipped example suite by file name.
    OpenExample(&'static str),
    /// Save to the suite's file, or ask where when it has none.
    SaveSuite,
    /// Ask where to save the suite.
    SaveSuiteAsDialog,
    /// Save the suite to this file.
    SaveSuiteTo(PathBuf),
    /// Run the suite in the editor.
    Run,
    /// Cancel the running suite after the current step.
    Cancel,
    /// Show a central view.
    ShowView(View),
    /// Show a form in the editor.
    Select(Selection),
    /// Add a workload.
    AddWorkload,
    /// Copy a workload.
    DuplicateWorkload(usize),
    /// Remove a workload.
    RemoveWorkload(usize),
    /// Move a workload one place up (`up`) or down.
    MoveWorkload {
        /// Its index.
        index: usize,
        /// Towards the start.
        up: bool,
    },
    /// Add a phase.
    AddPhase,
    /// Copy a phase.
    DuplicatePhase(usize),
    /// Remove a phase.
    RemovePhase(usize),
    /// Move a phase one place up or down.
    MovePhase {
        /// Its index.
        index: usize,
        /// Towards the start.
        up: bool,
    },
    /// Make a phase the baseline.
    SetBaseline(usize),
    /// Pick the weights file of a workload with the dialog.
    PickWeights(usize),
    /// List the results directory again.
    RefreshHistory,
    /// Merge the newest sharded suite's shard results and show the merged result.
    MergeShards,
    /// Show a saved result (read-only) in the compare view.
    OpenResult(PathBuf),
    /// Pick a result file with the dialog.
    OpenResultDialog,
    /// Go back from a saved result to the current session in the compare view.
    CloseOpenedResult,
    /// Use a saved result as a side of the diff.
    LoadDiffResult {
        /// Which side.
        side: Side,
        /// The file.
        path: PathBuf,
    },
    /// Use a run of the shown comparison as a side of the diff.
    DiffRun {
        /// Which side.
        side: Side,
        /// Index of the run in the shown comparison.
        run_index: usize,
    },
    /// Forget both sides of the diff.
    ClearDiff,
    /// Write the shown result in a format (asks where).
    ExportDialog(ExportFormat),
    /// Write the shown result in a format to this file.
    ExportTo(ExportFormat, PathBuf),
    /// Show or hide the About window.
    ShowAbout(bool),
    /// Put the draft from the recovery file into the editor.
    RestoreRecovery,
    /// Delete the recovery file unused.
    DiscardRecovery,
    /// Discard unsaved changes and go on with what was asked.
    ConfirmDiscard,
    /// Keep the changes; drop what was asked.
    CancelPending,
    /// Use the typed path.
    SubmitPathPrompt,
    /// Close the path prompt.
    ClosePathPrompt,
    /// Close the message box.
    CloseNotice,
    /// Close the window (after confirming unsaved changes).
    Quit,
}

/// Frame times measured while a suite runs, for the performance check.
#[derive(Clone, Debug, Default)]
pub struct FrameTimes {
    /// CPU seconds of each frame (UI and rendering, as eframe reports it), during runs.
    pub frame_secs: Vec<f64>,
    /// Plotted points in the frame with the most.
    pub max_plotted_points: usize,
    /// Whether the frame now being drawn began while a suite ran.
    pub previous_frame_ran_during_run: bool,
}

/// Frame-time statistics written by `--frame-stats`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FrameStats {
    /// Frames measured (while the suite ran).
    pub frames: usize,
    /// Median frame time in milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile frame time in milliseconds.
    pub p99_ms: f64,
    /// Longest frame in milliseconds.
    pub max_ms: f64,
    /// Most step-time points the live plots held in one frame.
    pub max_plotted_points: usize,
    /// Frames that took longer than 16 ms (one frame at 60 Hz).
    pub frames_over_16_ms: usize,
    /// Every frame time in milliseconds, in order.
    pub frame_ms: Vec<f64>,
    /// The result directory of the run.
    pub result_dir: Option<PathBuf>,
}

/// The whole app state.
pub struct PhasebenchApp {
    /// The suite in the editor.
    pub document: SuiteDocument,
    /// The form the editor shows.
    pub selection: Selection,
    /// The central view.
    pub view: View,
    /// The running (or last) suite.
    pub session: Option<LiveSession>,
    /// A saved result shown in the compare view instead of the session.
    pub opened_result: Option<(PathBuf, Box<SuiteResult>)>,
    /// Two runs or results to compare.
    pub diff: DiffState,
    /// The results directory listing.
    pub history: Result<Vec<HistoryEntry>, String>,
    /// The machine, once captured.
    pub environment: Option<Box<Environment>>,
    /// Whether CUDA phases can run and on which devices, once looked at.
    pub cuda: Option<crate::device::CudaSupport>,
    /// The message box on screen.
    pub notice: Option<Notice>,
    /// Short status line (last action).
    pub status: String,
    /// A command waiting for the user to confirm discarding unsaved changes.
    pub pending_discard: Option<Box<UiCommand>>,
    /// The path prompt on screen.
    pub path_prompt: Option<PathPrompt>,
    /// Whether the About window is open.
    pub about_open: bool,
    /// Suite files to offer under File ▸ Recent.
    pub remembered: Remembered,
    /// Frame times during runs.
    pub frame_times: FrameTimes,
    /// How the app was started.
    pub config: AppConfig,
    /// An unsaved draft left by a session that did not exit cleanly, offered for restoring.
    pub recovery_offer: Option<Recovery>,
    autosaver: Option<recovery::Autosaver>,
    /// When the draft was last written to the recovery file, and what it was.
    autosaved: Option<(std::time::Instant, Suite)>,
    /// Number of the latest history listing asked for.
    history_generation: u64,
    jobs: Jobs,
    ctx: Option<egui::Context>,
    discard_confirmed: bool,
    autorun_pending: bool,
    quit_requested: bool,
    close_confirmed: bool,
    frame_stats_written: bool,
}

impl PhasebenchApp {
    /// The app with the suite of `config` (or the remembered or embedded one) loaded.
    pub fn new(config: AppConfig, remembered: Remembered) -> Self {
        let mut status = String::new();
        let mut notice = None;
        let restore = if config.restore_last_suite { remembered.last_suite.clone() } else { None };
        let document = match config.suite.clone().or(restore) {
            Some(path) => match load_document(&path) {
                Ok(document) => document,
                Err(error) => {
                    status = format!("{error} — the embedded default suite is open instead");
                    // A suite named on the command line deserves a message box; a remembered one
                    // that vanished only a status line.
                    if config.suite.is_some() {
                        notice = Some(Notice { title: "The suite could not be opened".into(), text: status.clone() });
                    }
                    default_document()
                }
            },
            None => default_document(),
        };
        let mut app = Self {
            document,
            selection: Selection::Settings,
            view: View::Live,
            session: None,
            opened_result: None,
            diff: DiffState::default(),
            history: Ok(Vec::new()),
            environment: None,
            cuda: None,
            notice,
            status,
            pending_discard: None,
            path_prompt: None,
            about_open: false,
            remembered,
            frame_times: FrameTimes::default(),
            autorun_pending: config.autorun,
            config,
            jobs: Jobs::new(Arc::new(|| {})),
            ctx: None,
            discard_confirmed: false,
            quit_requested: false,
            close_confirmed: false,
            frame_stats_written: false,
            recovery_offer: None,
            autosaver: None,
            autosaved: None,
            history_generation: 0,
        };
        if let Some(file) = app.config.recovery_file.clone() {
            app.recovery_offer = Recovery::read(&file);
            app.autosaver = recovery::Autosaver::start(file).ok();
        }
        let _ = app.jobs.spawn("environment", || {
            JobOutcome::Environment(Box::new(Environment::capture()), crate::device::cuda_support())
        });
        app.refresh_history();
        app
    }

    /// Connects the app to the UI context so worker events and jobs repaint the window.
    pub fn attach(&mut self, ctx: &egui::Context) {
        if self.ctx.is_none() {
            let repaint = ctx.clone();
            self.jobs.set_wake(Arc::new(move || repaint.request_repaint()));
            self.ctx = Some(ctx.clone());
        }
    }

    /// Work between frames: worker events within [`EVENT_BUDGET`], job outcomes, autorun, and
    /// the frame-time record. Draws nothing.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.attach(ctx);
        self.autosave(ctx);
        if let Some(session) = &mut self.session {
            let was_active = session.is_active();
            if session.drain(EVENT_BUDGET) {
                ctx.request_repaint_after(LIVE_REPAINT_INTERVAL);
            }
            if was_active && !session.is_active() {
                self.session_ended();
            }
        }
        for outcome in self.jobs.poll() {
            self.job_done(outcome);
        }
        if self.autorun_pending {
            self.autorun_pending = false;
            self.apply(UiCommand::Run);
        }
    }

    /// Draws the whole window into `ui` and applies what the panels asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let mut commands = Vec::new();
        crate::ui::app_ui(ui, self, &mut commands);
        for command in commands {
            self.apply(command);
        }
    }

    /// One whole frame (logic, then UI), as the test harness drives it.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic(&ctx);
        self.ui(ui);
    }

    /// Waits for background jobs (file reads, listings) for up to `timeout`; for tests.
    pub fn wait_for_jobs(&mut self, timeout: Duration) {
        for outcome in self.jobs.wait(timeout) {
            self.job_done(outcome);
        }
    }

    /// Whether the running suite may be cancelled or a new one started.
    pub fn is_running(&self) -> bool {
        self.session.as_ref().is_some_and(LiveSession::is_active)
    }

    /// The result the compare view shows: an opened file, else the session's runs so far.
    pub fn shown_comparison(&self) -> Option<(String, &Suite, &[RunResult])> {
        if let Some((path, result)) = &self.opened_result {
            return Some((path.display().to_string(), &result.suite, &result.runs));
        }
        let session = self.session.as_ref()?;
        let label = match &session.final_result {
            Some(_) => format!("{} (this session)", session.result_dir.display()),
            None => format!("{} (running)", session.result_dir.display()),
        };
        Some((label, &session.suite, &session.finished))
    }

    /// Why Run is disabled, or `None` when it is enabled.
    pub fn run_disabled_reason(&self) -> Option<String> {
        if self.is_running() {
            return Some("a suite is running; cancel it first (Esc)".into());
        }
        let blockers = self.document.run_blockers();
        match blockers.len() {
            0 => None,
            1 => Some(format!("fix this first: {}", blockers[0])),
            n => Some(format!("fix these {n} problems first: {}", blockers.join("; "))),
        }
    }

    /// Carries out one command.
    pub fn apply(&mut self, command: UiCommand) {
        match command {
            UiCommand::NewSuite | UiCommand::OpenSuite(_) | UiCommand::OpenExample(_) | UiCommand::Quit
                if self.document.is_dirty() && !self.discard_confirmed =>
            {
                self.pending_discard = Some(Box::new(command));
            }
            UiCommand::NewSuite => {
                let mut document = default_document();
                document.suite.name = "untitled".into();
                document.origin = "new suite".into();
                self.replace_document(document, "new suite from the default");
            }
            UiCommand::OpenSuiteDialog => self.pick(FilePurpose::OpenSuite),
            UiCommand::OpenSuite(path) => match load_document(&path) {
                Ok(document) => {
                    self.remember(&path);
                    self.replace_document(document, &format!("opened {}", path.display()));
                }
                Err(error) => {
                    self.notice = Some(Notice { title: "The suite could not be opened".into(), text: error });
                }
            },
            UiCommand::OpenExample(file_name) => match suite::example_suite(file_name) {
                Some(text) => match crate::parse_checked_suite(text, &format!("example {file_name}")) {
                    Ok(suite) => {
                        let document = SuiteDocument::new(suite, None, format!("example {file_name}"));
                        self.replace_document(document, &format!("opened the example {file_name}"));
                    }
                    Err(error) => self.notice = Some(Notice { title: "Example".into(), text: error.to_string() }),
                },
                None => self.status = format!("no example named {file_name}"),
            },
            UiCommand::SaveSuite => match self.document.path.clone() {
                Some(path) => self.apply(UiCommand::SaveSuiteTo(path)),
                None => self.pick(FilePurpose::SaveSuiteAs),
            },
            UiCommand::SaveSuiteAsDialog => self.pick(FilePurpose::SaveSuiteAs),
            UiCommand::SaveSuiteTo(path) => {
                let path = if path.extension().is_none() { path.with_extension("ron") } else { path };
                match suite::save_suite(&path, &self.document.suite) {
                    Ok(()) => {
                        self.document.mark_saved(path.clone());
                        self.remember(&path);
                        self.status = format!("saved {}", path.display());
                    }
                    Err(error) => {
                        self.notice =
                            Some(Notice { title: "The suite could not be saved".into(), text: error.to_string() })
                    }
                }
            }
            UiCommand::Run => self.start_run(),
            UiCommand::Cancel => {
                if let Some(session) = &mut self.session
                    && session.is_active()
                {
                    session.cancel();
                    self.status = "cancelling after the current step…".into();
                }
            }
            UiCommand::ShowView(view) => {
                if view == View::History {
                    self.refresh_history();
                }
                self.view = view;
            }
            UiCommand::Select(selection) => self.selection = selection,
            UiCommand::AddWorkload => {
                let name = unique_name(self.document.suite.workloads.iter().map(|w| w.name.as_str()), "workload");
                self.document.suite.workloads.push(Workload {
                    name,
                    model: ModelSpec::Mlp(Default::default()),
                    mode: Mode::Inference,
                    batch_sizes: vec![1],
                    batch_sweep: None,
                    weights: None,
                });
                self.selection = Selection::Workload(self.document.suite.workloads.len() - 1);
                self.document.structure_changed();
            }
            UiCommand::DuplicateWorkload(index) => self.edit_workloads(ListEdit::Duplicate(index)),
            UiCommand::RemoveWorkload(index) => self.edit_workloads(ListEdit::Remove(index)),
            UiCommand::MoveWorkload { index, up } => self.edit_workloads(ListEdit::Move { index, up }),
            UiCommand::AddPhase => {
                let name = unique_name(self.document.suite.phases.iter().map(|p| p.name.as_str()), "phase");
                self.document.suite.phases.push(Phase {
                    name,
                    dtype: Default::default(),
                    device: Default::default(),
                    batch_size: None,
                    quantization: None,
                });
                self.selection = Selection::Phase(self.document.suite.phases.len() - 1);
                self.document.structure_changed();
            }
            UiCommand::DuplicatePhase(index) => self.edit_phases(ListEdit::Duplicate(index)),
            UiCommand::RemovePhase(index) => self.edit_phases(ListEdit::Remove(index)),
            UiCommand::MovePhase { index, up } => self.edit_phases(ListEdit::Move { index, up }),
            UiCommand::SetBaseline(index) => {
                if let Some(phase) = self.document.suite.phases.get(index) {
                    self.document.suite.baseline = phase.name.clone();
                    self.document.revalidate();
                }
            }
            UiCommand::PickWeights(index) => self.pick(FilePurpose::Weights(index)),
            UiCommand::RefreshHistory => self.refresh_history(),
            UiCommand::OpenResult(path) => self.spawn_load(FilePurpose::OpenResult, path),
            UiCommand::OpenResultDialog => self.pick(FilePurpose::OpenResult),
            UiCommand::CloseOpenedResult => self.opened_result = None,
            UiCommand::LoadDiffResult { side, path } => {
                let purpose = if side == Side::Before { FilePurpose::DiffBefore } else { FilePurpose::DiffAfter };
                self.spawn_load(purpose, path);
            }
            UiCommand::DiffRun { side, run_index } => {
                if let Some((source, suite, runs)) = self.shown_comparison()
                    && let Some(run) = runs.get(run_index)
                {
                    let label = format!("{}/{}@{} in {source}", run.workload, run.phase, run.batch_size);
                    let picked = DiffSide::Run {
                        label,
                        run: Box::new(run.clone()),
                        noise_threshold: suite.settings.noise_threshold,
                    };
                    self.set_diff_side(side, picked);
                }
            }
            UiCommand::ClearDiff => self.diff = DiffState::default(),
            UiCommand::ExportDialog(format) => {
                if self.exportable().is_none() {
                    self.status = "nothing to export yet: run the suite or open a result".into();
                } else {
                    self.pick(FilePurpose::Export(format));
                }
            }
            UiCommand::ExportTo(format, path) => match self.exportable().cloned() {
                Some(result) => {
                    if let Err(error) = self.jobs.spawn("export", move || jobs::export(&result, format, path)) {
                        self.status = error;
                    }
                }
                None => self.status = "nothing to export yet: run the suite or open a result".into(),
            },
            UiCommand::ShowAbout(open) => self.about_open = open,
            UiCommand::ConfirmDiscard => {
                if let Some(command) = self.pending_discard.take() {
                    self.discard_confirmed = true;
                    self.apply(*command);
                    self.discard_confirmed = false;
                }
            }
            UiCommand::CancelPending => self.pending_discard = None,
            UiCommand::MergeShards => {
                let root = self.config.results_dir.clone();
                if let Err(error) = self.jobs.spawn("merge-shards", move || jobs::merge_shards(&root)) {
                    self.status = error;
                }
            }
            UiCommand::RestoreRecovery => {
                if let Some(recovery) = self.recovery_offer.take() {
                    self.restore(&recovery);
                }
            }
            UiCommand::DiscardRecovery => {
                self.recovery_offer = None;
                if let Some(autosaver) = &self.autosaver {
                    autosaver.request(None);
                }
            }
            UiCommand::SubmitPathPrompt => {
                if let Some(prompt) = self.path_prompt.take() {
                    let text = prompt.text.trim();
                    if text.is_empty() {
                        self.path_prompt = Some(PathPrompt { note: "type a path first".into(), ..prompt });
                    } else {
                        self.picked(prompt.purpose, PathBuf::from(text));
                    }
                }
            }
            UiCommand::ClosePathPrompt => self.path_prompt = None,
            UiCommand::CloseNotice => self.notice = None,
            UiCommand::Quit => {
                self.quit_requested = true;
                self.close_confirmed = true;
                if let Some(ctx) = &self.ctx {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
    }

    /// Keeps the recovery file in step with the draft: written while there are unsaved changes (at
    /// most every [`AUTOSAVE_INTERVAL`]), removed once there are none. Never while a recovery is
    /// still offered, so the offer is not overwritten before the user answers.
    fn autosave(&mut self, ctx: &egui::Context) {
        let Some(autosaver) = &self.autosaver else { return };
        if self.recovery_offer.is_some() {
            return;
        }
        if !self.document.is_dirty() {
            if self.autosaved.take().is_some() {
                autosaver.request(None);
            }
            return;
        }
        match &self.autosaved {
            Some((_, suite)) if *suite == self.document.suite => {}
            Some((at, _)) if at.elapsed() < AUTOSAVE_INTERVAL => {
                // Come back when the interval is over, even if nothing else happens.
                ctx.request_repaint_after(AUTOSAVE_INTERVAL.saturating_sub(at.elapsed()));
            }
            _ => {
                if let Ok(recovery) = Recovery::of(&self.document) {
                    autosaver.request(Some(recovery));
                    self.autosaved = Some((std::time::Instant::now(), self.document.suite.clone()));
                }
            }
        }
    }

    /// Removes the recovery file at a clean exit.
    fn forget_recovery(&mut self) {
        if let Some(file) = &self.config.recovery_file
            && self.recovery_offer.is_none()
        {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Opens the recovered draft, with unsaved changes against its file (or the default suite).
    fn restore(&mut self, recovery: &Recovery) {
        let draft = match recovery.suite() {
            Ok(draft) => draft,
            Err(error) => {
                self.notice = Some(Notice { title: "The draft could not be restored".into(), text: error.to_string() });
                return;
            }
        };
        let mut document = recovery.path.as_deref().and_then(|path| load_document(path).ok()).unwrap_or_else(|| {
            SuiteDocument::new(default_document().suite, recovery.path.clone(), recovery.origin.clone())
        });
        document.suite = draft;
        document.structure_changed();
        self.document = document;
        self.selection = Selection::Settings;
        self.status = format!("restored the unsaved draft of {} from {}", self.document.suite.name, recovery.saved_at);
    }

    /// Whether the window may close now; asks to confirm unsaved changes first.
    pub fn close_requested(&mut self) -> bool {
        if self.close_confirmed || !self.document.is_dirty() {
            self.forget_recovery();
            if let Some(session) = &mut self.session {
                // Finished runs are on disk already; stop the current one instead of leaving it.
                session.cancel();
            }
            return true;
        }
        if self.pending_discard.is_none() {
            self.pending_discard = Some(Box::new(UiCommand::Quit));
        }
        false
    }

    /// Whether the app asked to close the window (Quit, or exit-when-done).
    pub fn quit_requested(&self) -> bool {
        self.quit_requested
    }

    fn edit_workloads(&mut self, edit: ListEdit) {
        let workloads = &mut self.document.suite.workloads;
        if let Some(selected) = edit_list(workloads, edit, |w| w.name.as_str(), |w, name| Workload { name, ..w }) {
            self.selection = selected.map_or(Selection::Settings, Selection::Workload);
            self.document.structure_changed();
        }
    }

    fn edit_phases(&mut self, edit: ListEdit) {
        let phases = &mut self.document.suite.phases;
        if let Some(selected) = edit_list(phases, edit, |p| p.name.as_str(), |p, name| Phase { name, ..p }) {
            // Removing the baseline makes the first phase left the baseline.
            let suite = &mut self.document.suite;
            if !suite.phases.iter().any(|phase| phase.name == suite.baseline)
                && let Some(first) = suite.phases.first()
            {
                suite.baseline = first.name.clone();
            }
            self.selection = selected.map_or(Selection::Settings, Selection::Phase);
            self.document.structure_changed();
        }
    }

    fn replace_document(&mut self, document: SuiteDocument, status: &str) {
        self.document = document;
        self.selection = Selection::Settings;
        self.status = status.to_owned();
    }

    fn remember(&mut self, path: &Path) {
        let path = path.to_path_buf();
        self.remembered.recent_suites.retain(|known| known != &path);
        self.remembered.recent_suites.insert(0, path.clone());
        self.remembered.recent_suites.truncate(MAX_RECENT_FILES);
        self.remembered.last_suite = Some(path);
    }

    fn start_run(&mut self) {
        if let Some(reason) = self.run_disabled_reason() {
            self.status = format!("cannot run: {reason}");
            return;
        }
        let wake: runner::Wake = match &self.ctx {
            Some(ctx) => {
                let ctx = ctx.clone();
                // Step batches come every 50 ms; drawing more often only takes CPU from the worker.
                Arc::new(move || ctx.request_repaint_after(LIVE_REPAINT_INTERVAL))
            }
            None => Arc::new(|| {}),
        };
        let base_dir = self.document.path.as_deref().and_then(Path::parent).unwrap_or(Path::new(".")).to_owned();
        let options = RunOptions::new(&self.config.results_dir, self.document.origin.clone())
            .with_base_dir(base_dir)
            .with_telemetry(self.config.telemetry.clone())
            .with_faults(self.config.faults.clone());
        match runner::start(self.document.suite.clone(), options, wake) {
            Ok(handle) => {
                self.status =
                    format!("running {}, writing to {}", self.document.suite.name, handle.result_dir().display());
                self.session = Some(LiveSession::new(self.document.suite.clone(), handle));
                self.opened_result = None;
                self.frame_times = FrameTimes::default();
                self.frame_stats_written = false;
                self.view = View::Live;
            }
            Err(error) => {
                self.notice = Some(Notice { title: "The suite could not start".into(), text: error.to_string() });
            }
        }
    }

    fn session_ended(&mut self) {
        let Some(session) = &self.session else { return };
        self.status = match &session.state {
            SessionState::Finished(status) => {
                format!("{} {:?}: results in {}", session.suite.name, status, session.result_dir.display())
                    .replace("Completed", "completed")
                    .replace("Cancelled", "cancelled")
            }
            SessionState::WorkerDied(reason) => format!("the worker stopped: {reason}"),
            _ => String::new(),
        };
        if session.final_result.is_some() && self.view == View::Live && !self.config.exit_when_done {
            self.view = View::Compare;
        }
        self.write_frame_stats();
        self.refresh_history();
        if self.config.exit_when_done {
            self.apply(UiCommand::Quit);
        }
    }

    /// Records the time of the previous frame (UI and rendering, as eframe measures it) when that
    /// whole frame ran while a suite was running; the frame that started the run is not counted.
    pub fn record_frame(&mut self, previous_frame_secs: Option<f32>, plotted_points: usize) {
        if self.frame_times.previous_frame_ran_during_run
            && self.is_running()
            && let Some(secs) = previous_frame_secs
        {
            self.frame_times.frame_secs.push(f64::from(secs));
            self.frame_times.max_plotted_points = self.frame_times.max_plotted_points.max(plotted_points);
        }
        self.frame_times.previous_frame_ran_during_run = self.is_running();
    }

    /// Frame-time statistics of the last run.
    pub fn frame_stats(&self) -> FrameStats {
        let frame_ms: Vec<f64> = self.frame_times.frame_secs.iter().map(|s| s * 1e3).collect();
        let mut sorted = frame_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let q = |p| if sorted.is_empty() { 0.0 } else { crate::stats::quantile_sorted(&sorted, p) };
        FrameStats {
            frames: sorted.len(),
            p50_ms: q(0.5),
            p99_ms: q(0.99),
            max_ms: sorted.last().copied().unwrap_or(0.0),
            max_plotted_points: self.frame_times.max_plotted_points,
            frames_over_16_ms: sorted.iter().filter(|&&ms| ms > 16.0).count(),
            frame_ms,
            result_dir: self.session.as_ref().map(|session| session.result_dir.clone()),
        }
    }

    fn write_frame_stats(&mut self) {
        let Some(path) = self.config.frame_stats.clone() else { return };
        if self.frame_stats_written {
            return;
        }
        self.frame_stats_written = true;
        let written = serde_json::to_string_pretty(&self.frame_stats())
            .map_err(|error| error.to_string())
            .and_then(|text| std::fs::write(&path, text).map_err(|error| error.to_string()));
        if let Err(error) = written {
            self.status = format!("cannot write frame stats to {}: {error}", path.display());
        }
    }

    fn exportable(&self) -> Option<&SuiteResult> {
        match &self.opened_result {
            Some((_, result)) => Some(result),
            None => self.session.as_ref()?.final_result.as_ref(),
        }
    }

    fn refresh_history(&mut self) {
        let root = self.config.results_dir.clone();
        self.history_generation += 1;
        let generation = self.history_generation;
        if let Err(error) = self.jobs.spawn("history", move || jobs::list_history(&root, generation)) {
            self.history = Err(error);
        }
    }

    fn spawn_load(&mut self, purpose: FilePurpose, path: PathBuf) {
        if let Err(error) = self.jobs.spawn("load-result", move || jobs::load_result(purpose, path)) {
            self.status = error;
        }
    }

    /// Opens a native dialog on a thread, or the path prompt where none can open.
    fn pick(&mut self, purpose: FilePurpose) {
        if !self.config.native_dialogs {
            self.prompt_path(purpose, "type the path".into());
            return;
        }
        if let Some(reason) = dialog_unavailable_reason() {
            self.prompt_path(purpose, reason);
            return;
        }
        let start_dir = match purpose {
            FilePurpose::OpenSuite | FilePurpose::SaveSuiteAs | FilePurpose::Weights(_) => {
                self.document.path.as_deref().and_then(Path::parent).map(Path::to_path_buf)
            }
            _ => Some(self.config.results_dir.clone()),
        };
        let suggested = match purpose {
            FilePurpose::Export(format) => {
                format!("{}-report.{}", crate::results::file_name_safe(&self.document.suite.name), format.extension())
            }
            _ => format!("{}.ron", crate::results::file_name_safe(&self.document.suite.name)),
        };
        if let Err(error) = self.jobs.spawn("dialog", move || jobs::pick_file(purpose, start_dir, suggested)) {
            self.prompt_path(purpose, error);
        }
    }

    fn prompt_path(&mut self, purpose: FilePurpose, note: String) {
        let text = match purpose {
            FilePurpose::SaveSuiteAs => self.document.path.as_ref().map_or_else(
                || format!("{}.ron", crate::results::file_name_safe(&self.document.suite.name)),
                |path| path.display().to_string(),
            ),
            FilePurpose::Export(format) => {
                let name = format!("report.{}", format.extension());
                match &self.session {
                    Some(session) => session.result_dir.join(name).display().to_string(),
                    None => name,
                }
            }
            _ => String::new(),
        };
        self.path_prompt = Some(PathPrompt { purpose, text, note });
    }

    fn picked(&mut self, purpose: FilePurpose, path: PathBuf) {
        match purpose {
            FilePurpose::OpenSuite => self.apply(UiCommand::OpenSuite(path)),
            FilePurpose::SaveSuiteAs => self.apply(UiCommand::SaveSuiteTo(path)),
            FilePurpose::Export(format) => self.apply(UiCommand::ExportTo(format, path)),
            FilePurpose::OpenResult => self.apply(UiCommand::OpenResult(path)),
            FilePurpose::DiffBefore => self.apply(UiCommand::LoadDiffResult { side: Side::Before, path }),
            FilePurpose::DiffAfter => self.apply(UiCommand::LoadDiffResult { side: Side::After, path }),
            FilePurpose::Weights(index) => {
                // Relative to the suite's folder when it lies inside it, as suites are shared.
                let base = self.document.path.as_deref().and_then(Path::parent);
                let shown = base.and_then(|base| path.strip_prefix(base).ok()).unwrap_or(&path);
                if let Some(workload) = self.document.suite.workloads.get_mut(index) {
                    workload.weights = Some(shown.display().to_string());
                    self.document.structure_changed();
                }
            }
        }
    }

    fn set_diff_side(&mut self, side: Side, picked: DiffSide) {
        match side {
            Side::Before => self.diff.before = Some(picked),
            Side::After => self.diff.after = Some(picked),
        }
        self.diff.outcome = None;
        self.diff.generation += 1;
        self.view = View::Compare;
        if let (Some(before), Some(after)) = (self.diff.before.clone(), self.diff.after.clone()) {
            let generation = self.diff.generation;
            let job = move || JobOutcome::Diff { generation, outcome: Box::new(diff_outcome(&before, &after)) };
            match self.jobs.spawn("diff", job) {
                Ok(()) => self.diff.comparing = true,
                Err(error) => self.status = error,
            }
        }
    }

    fn job_done(&mut self, outcome: JobOutcome) {
        match outcome {
            JobOutcome::Picked { purpose, path: Some(path), .. } => self.picked(purpose, path),
            JobOutcome::Picked { purpose, path: None, probably_failed: true } => self.prompt_path(
                purpose,
                "the file dialog did not open (no desktop portal or zenity answered); type the path".into(),
            ),
            JobOutcome::Picked { path: None, .. } => {}
            JobOutcome::ResultLoaded { purpose, path, result } => match result {
                Ok(result) => match purpose {
                    FilePurpose::DiffBefore | FilePurpose::DiffAfter => {
                        let side = if purpose == FilePurpose::DiffBefore { Side::Before } else { Side::After };
                        self.set_diff_side(side, DiffSide::Result { label: path.display().to_string(), result });
                    }
                    _ => {
                        self.status = format!("showing {}", path.display());
                        self.opened_result = Some((path, result));
                        self.view = View::Compare;
                    }
                },
                Err(error) => self.notice = Some(Notice { title: "The result could not be read".into(), text: error }),
            },
            JobOutcome::HistoryListed { generation, listed } => {
                if generation == self.history_generation {
                    self.history = listed;
                }
            }
            JobOutcome::Exported { path, outcome } => match outcome {
                Ok(()) => self.status = format!("exported {}", path.display()),
                Err(error) => self.notice = Some(Notice { title: "Export failed".into(), text: error }),
            },
            JobOutcome::Environment(environment, cuda) => {
                self.environment = Some(environment);
                self.cuda = Some(cuda);
            }
            JobOutcome::Diff { generation, outcome } => {
                if generation == self.diff.generation {
                    self.diff.outcome = Some(*outcome);
                    self.diff.comparing = false;
                }
            }
        }
    }
}

/// The embedded default suite as a document.
pub fn default_document() -> SuiteDocument {
    // The embedded default suite is checked by a test; should it ever fail here (e.g. too little
    // memory), the editor still opens it and lists the problems.
    let suite = suite::default_suite().or_else(|_| {
        let options = ron::Options::default();
        options.from_str::<Suite>(suite::DEFAULT_SUITE_RON).map_err(|error| error.to_string())
    });
    match suite {
        Ok(suite) => SuiteDocument::new(suite, None, suite::DEFAULT_SUITE_ORIGIN),
        Err(error) => {
            let mut document = SuiteDocument::new(minimal_suite(), None, "new suite");
            document.problems.push(format!("the embedded default suite did not load: {error}"));
            document
        }
    }
}

fn minimal_suite() -> Suite {
    Suite {
        version: suite::SUITE_VERSION,
        name: "untitled".into(),
        description: String::new(),
        settings: Default::default(),
        workloads: vec![Workload {
            name: "mlp".into(),
            model: ModelSpec::Mlp(Default::default()),
            mode: Mode::Inference,
            batch_sizes: vec![1],
            batch_sweep: None,
            weights: None,
        }],
        phases: vec![Phase {
            name: "baseline".into(),
            dtype: Default::default(),
            device: Default::default(),
            batch_size: None,
            quantization: None,
        }],
        baseline: "baseline".into(),
        targets: Vec::new(),
    }
}

/// Reads and checks a suite file into a document; the error names file, line and column.
pub fn load_document(path: &Path) -> Result<SuiteDocument, String> {
    let suite = crate::load_checked_suite(path).map_err(|error| error.to_string())?;
    Ok(SuiteDocument::new(suite, Some(path.to_path_buf()), path.display().to_string()))
}

/// `base`, or `base-2`, `base-3`… — the first not among `taken`.
fn unique_name<'a>(taken: impl Iterator<Item = &'a str> + Clone, base: &str) -> String {
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let base = if base.is_empty() { "item" } else { base };
    (1..)
        .map(|n| if n == 1 { base.to_owned() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.clone().any(|name| name == candidate))
        .unwrap_or_else(|| base.to_owned())
}

/// A change to the workload or phase list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListEdit {
    /// Insert a copy (with a new name) after the item.
    Duplicate(usize),
    /// Remove the item (never the last one).
    Remove(usize),
    /// Move the item one place up or down.
    Move { index: usize, up: bool },
}

/// Applies `edit` to `items`; returns what to select afterwards (`Some(None)`: nothing, i.e. the
/// settings), or `None` when the edit did not apply.
fn edit_list<T: Clone>(
    items: &mut Vec<T>,
    edit: ListEdit,
    name: impl Fn(&T) -> &str,
    renamed: impl Fn(T, String) -> T,
) -> Option<Option<usize>> {
    match edit {
        ListEdit::Duplicate(index) => {
            let item = items.get(index)?.clone();
            let new_name = unique_name(items.iter().map(&name), name(&item));
            items.insert(index + 1, renamed(item, new_name));
            Some(Some(index + 1))
        }
        ListEdit::Remove(index) if index < items.len() && items.len() > 1 => {
            items.remove(index);
            Some(None)
        }
        ListEdit::Remove(_) => None,
        ListEdit::Move { index, up } => {
            let target = moved(index, up, items.len())?;
            items.swap(index, target);
            Some(Some(target))
        }
    }
}

/// The index `index` moves to, when it can move that way.
fn moved(index: usize, up: bool, len: usize) -> Option<usize> {
    match up {
        true if index > 0 && index < len => Some(index - 1),
        false if index + 1 < len => Some(index + 1),
        _ => None,
    }
}

/// The catalog entry of a model kind.
pub fn catalog_entry(kind: &str) -> Option<models::CatalogEntry> {
    models::catalog().into_iter().find(|entry| entry.default_spec.kind_name() == kind)
}

/// The eframe application around [`PhasebenchApp`]: persistence, the window title, dropped
/// files, close requests and frame times.
pub struct DesktopApp {
    app: PhasebenchApp,
    title: String,
    /// Frames begun so far.
    frames: u64,
}

impl DesktopApp {
    /// Builds the app, restoring what eframe stored last time.
    pub fn new(creation: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let remembered: Remembered =
            creation.storage.and_then(|storage| eframe::get_value(storage, eframe::APP_KEY)).unwrap_or_default();
        let mut app = PhasebenchApp::new(config, remembered);
        app.attach(&creation.egui_ctx);
        Self { app, title: String::new(), frames: 0 }
    }

    /// With `first_frame_file`: asks for a second frame, and when it begins (the first has been
    /// drawn and presented) writes the time and closes the window.
    fn probe_first_frame(&mut self, ctx: &egui::Context) {
        let Some(path) = &self.app.config.first_frame_file else { return };
        self.frames += 1;
        if self.frames == 1 {
            ctx.request_repaint();
        } else if self.frames == 2 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
            if let Err(error) = std::fs::write(path, nanos.to_string()) {
                eprintln!("cannot write {}: {error}", path.display());
            }
            self.app.apply(UiCommand::Quit);
        }
    }
}

impl eframe::App for DesktopApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let plotted = self.app.session.as_ref().map_or(0, |session| {
            session.runs.iter().map(|run| run.measured.display().len() + run.warmup.display().len()).sum()
        });
        self.app.record_frame(frame.info().cpu_usage, plotted);
        self.probe_first_frame(ctx);
        self.app.logic(ctx);

        let dropped: Vec<PathBuf> =
            ctx.input(|input| input.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.app.apply(UiCommand::OpenSuite(path));
        }
        if ctx.input(|input| input.viewport().close_requested()) && !self.app.close_requested() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
        let title = self.app.document.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app.ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.app.remembered);
    }
}

/// Opens the window and runs the app until it is closed.
pub fn run_window(config: AppConfig) -> Result<(), String> {
    let mut viewport = egui::ViewportBuilder::default();
    // The icon is a PNG made from assets/icon.svg; a broken one only costs the window its icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon-256.png")) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport: viewport
            .with_title("phasebench")
            .with_app_id("io.github.phasebench")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native("phasebench", options, Box::new(move |creation| Ok(Box::new(DesktopApp::new(creation, config)))))
        .map_err(|error| format!("cannot open the window: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_unique() {
        let taken = ["mlp", "mlp-2", "phase"];
        assert_eq!(unique_name(taken.iter().copied(), "mlp"), "mlp-3");
        assert_eq!(unique_name(taken.iter().copied(), "mlp-2"), "mlp-3");
        assert_eq!(unique_name(taken.iter().copied(), "conv"), "conv");
    }

    #[test]
    fn list_edits_copy_with_a_new_name_keep_one_item_and_move_within_bounds() {
        let name = String::as_str;
        let renamed = |_: String, new: String| new;
        let mut items = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(edit_list(&mut items, ListEdit::Duplicate(0), name, renamed), Some(Some(1)));
        assert_eq!(items, ["a", "a-2", "b"]);
        assert_eq!(edit_list(&mut items, ListEdit::Move { index: 2, up: true }, name, renamed), Some(Some(1)));
        assert_eq!(items, ["a", "b", "a-2"]);
        assert_eq!(edit_list(&mut items, ListEdit::Move { index: 2, up: false }, name, renamed), None);
        assert_eq!(edit_list(&mut items, ListEdit::Remove(0), name, renamed), Some(None));
        assert_eq!(edit_list(&mut items, ListEdit::Remove(0), name, renamed), Some(None));
        assert_eq!(edit_list(&mut items, ListEdit::Remove(0), name, renamed), None, "the last item stays");
        assert_eq!(items, ["a-2"]);
    }

    #[test]
    fn moves_stay_in_bounds() {
        assert_eq!(moved(0, true, 3), None);
        assert_eq!(moved(2, false, 3), None);
        assert_eq!(moved(1, true, 3), Some(0));
        assert_eq!(moved(1, false, 3), Some(2));
    }
}
