//! Files the user names: suites opened, saved and picked, result files loaded, exports written,
//! native dialogs on a job thread, and the typed path where no dialog can open.

use std::path::{Path, PathBuf};

use super::{
    CommentLoss, ExportFormat, FilePurpose, LiveSession, MAX_RECENT_FILES, Notice, PathPrompt, PhasebenchApp,
    Selection, Side, SuiteDocument, UiCommand, dialog_unavailable_reason, jobs,
};
use crate::results::SuiteResult;
use crate::suite;

impl PhasebenchApp {
    pub(super) fn new_suite(&mut self) {
        let mut document = super::default_document();
        document.suite.name = "untitled".into();
        document.origin = "new suite".into();
        // The default's comments describe the default, not the new suite.
        document.source_text = None;
        self.replace_document(document, "new suite from the default");
    }

    pub(super) fn open_suite(&mut self, path: PathBuf) {
        match super::load_document(&path) {
            Ok(document) => {
                self.remember(&path);
                self.replace_document(document, &format!("opened {}", path.display()));
            }
            Err(error) => self.notice = Some(Notice { title: "The suite could not be opened".into(), text: error }),
        }
    }

    pub(super) fn open_example(&mut self, file_name: &'static str) {
        match suite::example_suite(file_name) {
            Some(text) => match super::parse_document(text, format!("example {file_name}"), None) {
                Ok(document) => self.replace_document(document, &format!("opened the example {file_name}")),
                Err(error) => self.notice = Some(Notice { title: "Example".into(), text: error.to_string() }),
            },
            None => self.status = format!("no example named {file_name}"),
        }
    }

    /// Saves the draft to `path`, keeping the comments of the text it came from; when some have
    /// no place any more, asks first (once per path) instead of dropping them silently.
    pub(super) fn save_suite_to(&mut self, path: PathBuf) {
        let path = suite_file_path(path);
        let written = suite::suite_text(&self.document.suite, self.document.source_text.as_deref());
        let confirmed = self.comment_loss_confirmed.take().is_some_and(|confirmed| confirmed == path);
        if let Ok(text) = &written
            && !text.lost_comments.is_empty()
            && !confirmed
        {
            self.pending_comment_loss = Some(CommentLoss { path, comments: text.lost_comments.clone() });
            return;
        }
        match written.and_then(|text| suite::save_suite_text(&path, &text.text).map(|()| text)) {
            Ok(text) => {
                self.document.mark_saved(path.clone(), text.text);
                self.remember(&path);
                self.status = format!("saved {}", path.display());
                if let Some(command) = self.after_save.take() {
                    self.apply(*command);
                }
            }
            Err(error) => {
                self.after_save = None;
                self.notice = Some(Notice { title: "The suite could not be saved".into(), text: error.to_string() })
            }
        }
    }

    pub(super) fn export_dialog(&mut self, format: ExportFormat) {
        if !self.can_export() {
            self.status = "nothing to export yet: run the suite or open a result".into();
        } else {
            self.pick(FilePurpose::Export(format));
        }
    }

    pub(super) fn export_to(&mut self, format: ExportFormat, path: PathBuf) {
        match self.exportable() {
            Some(result) => {
                if let Err(error) = self.jobs.spawn("export", move || jobs::export(&result, format, path)) {
                    self.status = error;
                }
            }
            None => self.status = "nothing to export yet: run the suite or open a result".into(),
        }
    }

    pub(super) fn merge_shards(&mut self) {
        let root = self.config.results_dir.clone();
        if let Err(error) = self.jobs.spawn("merge-shards", move || jobs::merge_shards(&root)) {
            self.status = error;
        }
    }

    /// Goes on with the typed path; a save onto an existing file (other than the suite's own)
    /// first asks, as a native dialog does, and the next Save replaces it.
    pub(super) fn submit_path_prompt(&mut self) {
        if let Some(prompt) = self.path_prompt.take() {
            let text = prompt.text.trim();
            if text.is_empty() {
                self.path_prompt = Some(PathPrompt { note: "type a path first".into(), ..prompt });
                return;
            }
            let target = match prompt.purpose {
                FilePurpose::SaveSuiteAs => Some(suite_file_path(PathBuf::from(text))),
                FilePurpose::Export(_) => Some(PathBuf::from(text)),
                _ => None,
            };
            if let Some(target) = target.filter(|target| target.exists())
                && prompt.replace.as_ref() != Some(&target)
                && self.document.path.as_ref() != Some(&target)
            {
                let note = format!("{} already exists. Save again to replace it.", target.display());
                self.path_prompt = Some(PathPrompt { note, replace: Some(target), ..prompt });
                return;
            }
            self.picked(prompt.purpose, PathBuf::from(text));
        }
    }

    pub(super) fn replace_document(&mut self, document: SuiteDocument, status: &str) {
        self.document = document;
        self.selection = Selection::Settings;
        self.status = status.to_owned();
    }

    pub(super) fn remember(&mut self, path: &Path) {
        let path = path.to_path_buf();
        self.remembered.recent_suites.retain(|known| known != &path);
        self.remembered.recent_suites.insert(0, path.clone());
        self.remembered.recent_suites.truncate(MAX_RECENT_FILES);
        self.remembered.last_suite = Some(path);
    }

    /// Whether there is a whole result to export: an opened file, or the session once it ended.
    pub fn can_export(&self) -> bool {
        self.opened_result.is_some() || self.session.as_ref().is_some_and(LiveSession::has_final_result)
    }

    /// The shown result, complete: an opened file, else the session once it ended.
    pub(super) fn exportable(&self) -> Option<SuiteResult> {
        match &self.opened_result {
            Some((_, result)) => Some((**result).clone()),
            None => self.session.as_ref()?.final_result(),
        }
    }

    /// The folder of the result on screen: an opened result file's, else the session's.
    pub(super) fn shown_result_dir(&self) -> Option<PathBuf> {
        match &self.opened_result {
            Some((path, _)) => path.parent().map(Path::to_path_buf),
            None => self.session.as_ref().map(|session| session.result_dir.clone()),
        }
    }

    pub(super) fn refresh_history(&mut self) {
        let root = self.config.results_dir.clone();
        self.history_generation += 1;
        let generation = self.history_generation;
        if let Err(error) = self.jobs.spawn("history", move || jobs::list_history(&root, generation)) {
            self.history = Err(error);
        }
    }

    pub(super) fn spawn_load(&mut self, purpose: FilePurpose, path: PathBuf) {
        if let Err(error) = self.jobs.spawn("load-result", move || jobs::load_result(purpose, path)) {
            self.status = error;
        }
    }

    /// Opens a native dialog on a thread, or the path prompt where none can open.
    pub(super) fn pick(&mut self, purpose: FilePurpose) {
        if !self.config.native_dialogs {
            self.prompt_path(purpose, "type the path".into());
            return;
        }
        if let Some(reason) = dialog_unavailable_reason() {
            self.prompt_path(purpose, reason);
            return;
        }
        let start_dir = match purpose {
            FilePurpose::OpenSuite
            | FilePurpose::SaveSuiteAs
            | FilePurpose::Weights(_)
            | FilePurpose::ModelFile { .. }
            | FilePurpose::DiffusionFolder(_)
            | FilePurpose::PhaseGguf(_) => self.document.path.as_deref().and_then(Path::parent).map(Path::to_path_buf),
            // The shown result's own folder: an export is of what is on screen.
            FilePurpose::Export(_) => self.shown_result_dir().or_else(|| Some(self.config.results_dir.clone())),
            _ => Some(self.config.results_dir.clone()),
        };
        let suggested = match purpose {
            FilePurpose::Export(format) => format!("report.{}", format.extension()),
            _ => format!("{}.ron", crate::results::file_name_safe(&self.document.suite.name)),
        };
        if let Err(error) = self.jobs.spawn("dialog", move || jobs::pick_file(purpose, start_dir, suggested)) {
            self.prompt_path(purpose, error);
        }
    }

    pub(super) fn prompt_path(&mut self, purpose: FilePurpose, note: String) {
        let text = match purpose {
            FilePurpose::SaveSuiteAs => self.document.path.as_ref().map_or_else(
                || format!("{}.ron", crate::results::file_name_safe(&self.document.suite.name)),
                |path| path.display().to_string(),
            ),
            FilePurpose::Export(format) => {
                let name = format!("report.{}", format.extension());
                match self.shown_result_dir() {
                    Some(dir) => dir.join(name).display().to_string(),
                    None => name,
                }
            }
            _ => String::new(),
        };
        self.path_prompt = Some(PathPrompt { purpose, text, note, replace: None, focused: false });
    }

    pub(super) fn picked(&mut self, purpose: FilePurpose, path: PathBuf) {
        match purpose {
            FilePurpose::OpenSuite => self.apply(UiCommand::OpenSuite(path)),
            FilePurpose::SaveSuiteAs => self.apply(UiCommand::SaveSuiteTo(path)),
            FilePurpose::Export(format) => self.apply(UiCommand::ExportTo(format, path)),
            FilePurpose::OpenResult => self.apply(UiCommand::OpenResult(path)),
            FilePurpose::DiffBefore => self.apply(UiCommand::LoadDiffResult { side: Side::Before, path }),
            FilePurpose::DiffAfter => self.apply(UiCommand::LoadDiffResult { side: Side::After, path }),
            FilePurpose::Weights(index) => {
                let shown = self.suite_relative(&path);
                if let Some(workload) = self.document.suite.workloads.get_mut(index) {
                    workload.weights = Some(shown);
                    self.document.structure_changed();
                }
            }
            FilePurpose::PhaseGguf(index) => {
                let shown = self.suite_relative(&path);
                if let Some(phase) = self.document.suite.phases.get_mut(index) {
                    phase.gguf = Some(suite::ModelPath::new(shown));
                    self.document.structure_changed();
                }
            }
            FilePurpose::DiffusionFolder(index) => {
                let shown = self.suite_relative(&path);
                let Some(workload) = self.document.suite.workloads.get_mut(index) else { return };
                // The folder's configs say which pipeline it is; the version picked stays otherwise.
                let detected = crate::models::diffusion::inspect_folder(&path).ok().map(|folder| folder.pipeline);
                let pipeline = match &workload.model {
                    suite::ModelSpec::Diffusion(spec) => detected.unwrap_or(spec.pipeline),
                    _ => detected.unwrap_or_default(),
                };
                let spec = suite::DiffusionSpec { path: Some(suite::ModelPath::new(shown)), preset: None, pipeline };
                workload.model = suite::ModelSpec::Diffusion(spec);
                if workload.mode.kind() != suite::ModeKind::ImageGeneration {
                    workload.mode = suite::ModeKind::ImageGeneration.default_mode();
                }
                workload.weights = None;
                self.document.structure_changed();
                self.status = format!("workload {} reads the pipeline in {}", index + 1, path.display());
            }
            FilePurpose::ModelFile { index, folder } => {
                let spec = suite::ModelFileSpec { path: suite::ModelPath::new(self.suite_relative(&path)) };
                let Some(workload) = self.document.suite.workloads.get_mut(index) else { return };
                let old_kind = workload.model.kind_name();
                workload.model = if folder { suite::ModelSpec::HfFolder(spec) } else { suite::ModelSpec::Gguf(spec) };
                if workload.mode.kind() != suite::ModeKind::TextGeneration {
                    workload.mode = suite::ModeKind::TextGeneration.default_mode();
                }
                // A file's own weights: a weights file beside it is refused.
                workload.weights = None;
                self.document.rename_workload_after_model(index, old_kind);
                self.document.structure_changed();
                self.status = format!("workload {} reads {}", index + 1, path.display());
            }
        }
    }
}

impl PhasebenchApp {
    /// `path` as a suite writes it: relative to the suite's folder when it lies inside it (suites
    /// are shared with their models beside them), else as picked.
    fn suite_relative(&self, path: &Path) -> String {
        let base = self.document.path.as_deref().and_then(Path::parent);
        base.and_then(|base| path.strip_prefix(base).ok()).unwrap_or(path).display().to_string()
    }
}

/// Where a suite saved to `path` goes: `.ron` added when it has no extension.
fn suite_file_path(path: PathBuf) -> PathBuf {
    if path.extension().is_none() { path.with_extension("ron") } else { path }
}
