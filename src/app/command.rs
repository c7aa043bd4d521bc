//! What panels ask of the app: the views, the editor's selection, message boxes, the path prompt
//! and every [`UiCommand`], carried out by [`PhasebenchApp::apply`] after the frame.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ExportFormat, FilePurpose, ListEdit, PhasebenchApp, Side};

/// The central view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    /// Progress, step times and telemetry of the running suite.
    Live,
    /// Side-by-side comparison of the phases, and diffs.
    Compare,
    /// Which phase to ship per workload, and why.
    Decide,
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
    /// An existing file the user was told a save would replace: saving to it again replaces it.
    pub replace: Option<PathBuf>,
    /// Whether the path field took the keyboard focus since the prompt opened (it takes it once,
    /// from the button that opened it).
    pub focused: bool,
}

/// A save that would drop comments of the suite's text, waiting for the user's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct CommentLoss {
    /// Where the save goes.
    pub path: PathBuf,
    /// The comments that have no place in the written suite.
    pub comments: Vec<String>,
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
    /// Pick the GGUF file a phase runs instead of the workloads' files, with the dialog.
    PickPhaseGguf(usize),
    /// Pick a workload's own language model with the dialog: a Hugging Face folder, or else a
    /// GGUF file.
    PickModelFile {
        /// The workload's index.
        index: usize,
        /// A folder rather than a `.gguf` file.
        folder: bool,
    },
    /// Pick a Diffusion workload's diffusers folder with the dialog.
    PickDiffusionFolder(usize),
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
    /// Save the changes (asking where when the suite has no file) and go on with what was asked.
    SaveAndContinue,
    /// Keep the changes; drop what was asked.
    CancelPending,
    /// Scroll the compare view to the diff of the picked sides.
    RevealDiff,
    /// The compare view scrolled to the diff.
    DiffRevealed,
    /// Save even though the comments listed cannot be kept.
    ConfirmCommentLoss,
    /// Do not save after hearing which comments would be lost.
    CancelCommentLoss,
    /// Use the typed path.
    SubmitPathPrompt,
    /// Close the path prompt.
    ClosePathPrompt,
    /// Close the message box.
    CloseNotice,
    /// Close the window (after confirming unsaved changes).
    Quit,
}

impl PhasebenchApp {
    /// Carries out one command: a short dispatch to the part of the state it changes.
    pub fn apply(&mut self, command: UiCommand) {
        use UiCommand as C;
        match command {
            C::NewSuite | C::OpenSuite(_) | C::OpenExample(_) | C::Quit
                if self.document.is_dirty() && !self.discard_confirmed =>
            {
                self.pending_discard = Some(Box::new(command));
            }
            C::NewSuite => self.new_suite(),
            C::OpenSuiteDialog => self.pick(FilePurpose::OpenSuite),
            C::OpenSuite(path) => self.open_suite(path),
            C::OpenExample(file_name) => self.open_example(file_name),
            C::SaveSuite => match self.document.path.clone() {
                Some(path) => self.save_suite_to(path),
                None => self.pick(FilePurpose::SaveSuiteAs),
            },
            C::SaveSuiteAsDialog => self.pick(FilePurpose::SaveSuiteAs),
            C::SaveSuiteTo(path) => self.save_suite_to(path),
            C::Run => self.start_run(),
            C::Cancel => self.cancel_run(),
            C::ShowView(view) => self.show_view(view),
            C::Select(selection) => self.selection = selection,
            C::AddWorkload => self.selection = Selection::Workload(self.document.add_workload()),
            C::DuplicateWorkload(index) => self.edit_workloads(ListEdit::Duplicate(index)),
            C::RemoveWorkload(index) => self.edit_workloads(ListEdit::Remove(index)),
            C::MoveWorkload { index, up } => self.edit_workloads(ListEdit::Move { index, up }),
            C::AddPhase => self.selection = Selection::Phase(self.document.add_phase()),
            C::DuplicatePhase(index) => self.edit_phases(ListEdit::Duplicate(index)),
            C::RemovePhase(index) => self.edit_phases(ListEdit::Remove(index)),
            C::MovePhase { index, up } => self.edit_phases(ListEdit::Move { index, up }),
            C::SetBaseline(index) => self.document.set_baseline(index),
            C::PickWeights(index) => self.pick(FilePurpose::Weights(index)),
            C::PickModelFile { index, folder } => self.pick(FilePurpose::ModelFile { index, folder }),
            C::PickDiffusionFolder(index) => self.pick(FilePurpose::DiffusionFolder(index)),
            C::PickPhaseGguf(index) => self.pick(FilePurpose::PhaseGguf(index)),
            C::RefreshHistory => self.refresh_history(),
            C::MergeShards => self.merge_shards(),
            C::OpenResult(path) => self.spawn_load(FilePurpose::OpenResult, path),
            C::OpenResultDialog => self.pick(FilePurpose::OpenResult),
            C::CloseOpenedResult => self.opened_result = None,
            C::LoadDiffResult { side, path } => self.load_diff_result(side, path),
            C::DiffRun { side, run_index } => self.diff_run(side, run_index),
            C::ClearDiff => self.diff = Default::default(),
            C::ExportDialog(format) => self.export_dialog(format),
            C::ExportTo(format, path) => self.export_to(format, path),
            C::ShowAbout(open) => self.about_open = open,
            C::ConfirmDiscard => self.confirm_discard(),
            C::SaveAndContinue => self.save_and_continue(),
            C::CancelPending => self.pending_discard = None,
            C::RevealDiff => {
                self.view = View::Compare;
                self.reveal_diff = true;
            }
            C::DiffRevealed => self.reveal_diff = false,
            C::ConfirmCommentLoss => {
                if let Some(loss) = self.pending_comment_loss.take() {
                    self.comment_loss_confirmed = Some(loss.path.clone());
                    self.save_suite_to(loss.path);
                }
            }
            C::CancelCommentLoss => {
                self.pending_comment_loss = None;
                self.after_save = None;
                self.status = "not saved: the suite's comments are as they were".into();
            }
            C::RestoreRecovery => {
                if let Some(recovery) = self.recovery_offer.take() {
                    self.restore(&recovery);
                }
            }
            C::DiscardRecovery => self.discard_recovery(),
            C::SubmitPathPrompt => self.submit_path_prompt(),
            C::ClosePathPrompt => {
                self.path_prompt = None;
                self.after_save = None;
            }
            C::CloseNotice => self.notice = None,
            C::Quit => self.quit(),
        }
    }

    fn cancel_run(&mut self) {
        if let Some(session) = &mut self.session
            && session.is_active()
        {
            session.cancel();
            self.status = "cancelling after the current step…".into();
        }
    }

    fn show_view(&mut self, view: View) {
        if view == View::History {
            self.refresh_history();
        }
        self.view = view;
    }

    fn confirm_discard(&mut self) {
        if let Some(command) = self.pending_discard.take() {
            self.discard_confirmed = true;
            self.apply(*command);
            self.discard_confirmed = false;
        }
    }

    /// Saves before what was asked: to the suite's file and on at once, or — without one — after
    /// the user picked where and the save succeeded (a cancelled pick drops what was asked).
    fn save_and_continue(&mut self) {
        let Some(command) = self.pending_discard.take() else { return };
        match self.document.path.clone() {
            Some(path) => {
                self.save_suite_to(path);
                if !self.document.is_dirty() {
                    self.apply(*command);
                }
            }
            None => {
                self.after_save = Some(command);
                self.pick(FilePurpose::SaveSuiteAs);
            }
        }
    }

    fn quit(&mut self) {
        self.quit_requested = true;
        self.close_confirmed = true;
        if let Some(ctx) = &self.ctx {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn edit_workloads(&mut self, edit: ListEdit) {
        if let Some(selected) = self.document.edit_workloads(edit) {
            self.selection = selected.map_or(Selection::Settings, Selection::Workload);
        }
    }

    fn edit_phases(&mut self, edit: ListEdit) {
        if let Some(selected) = self.document.edit_phases(edit) {
            self.selection = selected.map_or(Selection::Settings, Selection::Phase);
        }
    }
}
