//! The desktop app's state: the suite being edited, the running session, opened results, the
//! diff, dialogs and jobs, and the commands panels emit. It drives the engine (suite, runner,
//! results), never runs a workload, waits on the worker or reads more than a suite file on the UI
//! thread, and never imports `ui` (which draws it).

mod command;
mod devices;
mod diff;
mod document;
mod fields;
mod files;
mod frames;
mod jobs;
mod live;
mod recovery;
mod series;

pub use crate::report::Format as ExportFormat;
pub use command::{CommentLoss, Notice, PathPrompt, Selection, UiCommand, View};
pub use devices::{DeviceChoice, device_choices};
pub use diff::{DIFF_RESAMPLES, DiffOutcome, DiffSide, DiffState, Side, run_side_label};
pub use document::{ListEdit, SuiteDocument, default_document, load_document, parse_document};
pub use fields::{Field, FieldKey, FieldState, WorkloadField};
pub use frames::{FrameStats, FrameTimes};
pub use jobs::{FilePurpose, HistoryEntry, HistorySummary, JobOutcome, Jobs, dialog_unavailable_reason};
pub use live::{
    BoxStats, LiveRun, LiveSession, MAX_DISPLAY_POINTS, RoundsLook, Series, SessionState, TelemetrySeries, TimeLeft,
    decimate,
};
pub use recovery::{AUTOSAVE_INTERVAL, Recovery, default_recovery_file};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compare::Analysis;
use crate::results::{Environment, RunResult, SuiteResult};
use crate::runner::{self, RunOptions};
use crate::suite::Suite;
use crate::telemetry::TelemetryChoice;

/// How long each frame may spend handling worker events before it draws.
pub const EVENT_BUDGET: Duration = Duration::from_millis(4);

/// Longest a worker event waits to be drawn; also the fastest the live view redraws by itself.
pub const LIVE_REPAINT_INTERVAL: Duration = Duration::from_millis(50);

/// Most recent suite files remembered.
pub const MAX_RECENT_FILES: usize = 10;

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
    /// What the compare view derives from the shown runs, computed when they change.
    pub analysis: Option<Analysis>,
    /// Which runs `analysis` was computed from: the shown result's label and its run count.
    analysis_of: Option<(String, usize)>,
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
    /// What to go on with once the suite is saved ("Save" in the unsaved-changes prompt of a
    /// suite without a file).
    after_save: Option<Box<UiCommand>>,
    /// The path prompt on screen.
    pub path_prompt: Option<PathPrompt>,
    /// Whether the compare view should scroll the diff into view (both sides were just picked, or
    /// "Compare these" was clicked); cleared once it did.
    pub reveal_diff: bool,
    /// A save waiting for the user to accept that some comments cannot be kept.
    pub pending_comment_loss: Option<CommentLoss>,
    /// The path the user accepted losing comments for, used by the next save there.
    comment_loss_confirmed: Option<PathBuf>,
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
            analysis: None,
            analysis_of: None,
            diff: DiffState::default(),
            history: Ok(Vec::new()),
            environment: None,
            cuda: None,
            notice,
            status,
            pending_discard: None,
            after_save: None,
            path_prompt: None,
            pending_comment_loss: None,
            reveal_diff: false,
            comment_loss_confirmed: None,
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
        self.refresh_analysis();
        if self.autorun_pending {
            self.autorun_pending = false;
            self.apply(UiCommand::Run);
        }
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
        let state = if session.has_final_result() { "this session" } else { "running" };
        let label = format!("{} ({state})", session.result_dir.display());
        Some((label, &session.suite, &session.finished))
    }

    /// Derives the compare view's targets, scores, recommendations and boxes again when the shown
    /// runs changed (a run finished, another result was opened); otherwise keeps them.
    fn refresh_analysis(&mut self) {
        let computed = match self.shown_comparison() {
            None => None,
            Some((label, suite, runs)) => {
                let key = (label, runs.len());
                if self.analysis_of.as_ref() == Some(&key) {
                    return;
                }
                let sweeps = self.opened_result.as_ref().map_or(&[][..], |(_, result)| &result.sweeps[..]);
                Some((key, Analysis::of(suite, runs, sweeps)))
            }
        };
        (self.analysis_of, self.analysis) =
            computed.map_or((None, None), |(key, analysis)| (Some(key), Some(analysis)));
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

    /// Whether the window may close now; asks to confirm unsaved changes first.
    pub fn close_requested(&mut self) -> bool {
        self.write_frame_stats();
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

    pub(super) fn start_run(&mut self) {
        self.document.refresh_available_memory();
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
        // The suite as run is recorded whole; its origin says when it differs from that file.
        let origin = if self.document.is_dirty() {
            format!("{} (edited, not saved)", self.document.origin)
        } else {
            self.document.origin.clone()
        };
        let options = RunOptions::new(&self.config.results_dir, origin)
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
                format!("{} {status}: results in {}", session.suite.name, session.result_dir.display())
            }
            SessionState::WorkerDied(reason) => format!("the worker stopped: {reason}"),
            _ => String::new(),
        };
        if session.has_final_result() && self.view == View::Live && !self.config.exit_when_done {
            self.view = View::Compare;
        }
        self.write_frame_stats();
        self.refresh_history();
        if self.config.exit_when_done {
            self.apply(UiCommand::Quit);
        }
    }

    fn job_done(&mut self, outcome: JobOutcome) {
        match outcome {
            JobOutcome::Picked { purpose, path: Some(path), .. } => self.picked(purpose, path),
            JobOutcome::Picked { purpose, path: None, probably_failed: true } => self.prompt_path(
                purpose,
                "the file dialog did not open (no desktop portal or zenity answered); type the path".into(),
            ),
            JobOutcome::Picked { path: None, .. } => self.after_save = None,
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
