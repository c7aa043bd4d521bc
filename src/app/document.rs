//! The suite being edited: the draft, where it came from, whether it changed since it was loaded
//! or saved, the text of fields being typed, and everything that blocks a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::suite::{self, Mode, ModelSpec, Phase, Suite, SuiteError, Workload};

use super::fields::FieldState;

/// A suite open in the editor.
#[derive(Clone, Debug)]
pub struct SuiteDocument {
    /// The draft the forms edit.
    pub suite: Suite,
    /// The suite as last loaded or saved, to tell unsaved changes.
    saved: Suite,
    /// The file it is saved to; `None` for the embedded default, an example or a new suite.
    pub path: Option<PathBuf>,
    /// Where it came from, for the title and results (`suites/x.ron`, `embedded default suite`).
    pub origin: String,
    /// The text it was read from or last saved as: saving keeps its comments and, when nothing
    /// changed, the text itself ([`suite::suite_text`]).
    pub source_text: Option<String>,
    /// Text typed into the form's fields.
    pub fields: FieldState,
    /// What the engine's validation says is wrong with the draft.
    pub problems: Vec<String>,
    /// Those problems on the fields they name, by field path (see [`FieldState::problems`]).
    problem_paths: BTreeMap<String, String>,
    /// Runs the draft expands to (workloads × batch sizes × phases), as of the last validation.
    pub planned_runs: usize,
    /// The draft as last validated, so an unchanged draft is not checked again.
    validated: Option<Suite>,
    /// Memory available when the document was opened (or Run last checked it): what the editor
    /// checks workloads against, so no keystroke asks the system.
    available_memory_bytes: Option<u64>,
}

impl SuiteDocument {
    /// A document for a suite just loaded from `path` (or from nowhere, with `origin` naming it),
    /// checked against the memory available now.
    pub fn new(suite: Suite, path: Option<PathBuf>, origin: impl Into<String>) -> Self {
        let available = crate::results::environment::available_memory_bytes();
        let mut document = Self::unchecked(suite, path, origin.into(), available);
        document.revalidate();
        document
    }

    /// A document whose suite was checked already, against `available_memory_bytes`.
    fn checked(suite: Suite, path: Option<PathBuf>, origin: String, available_memory_bytes: Option<u64>) -> Self {
        let mut document = Self::unchecked(suite, path, origin, available_memory_bytes);
        document.planned_runs = crate::plan::expand(&document.suite).len();
        document.validated = Some(document.suite.clone());
        document
    }

    fn unchecked(suite: Suite, path: Option<PathBuf>, origin: String, available_memory_bytes: Option<u64>) -> Self {
        Self {
            saved: suite.clone(),
            suite,
            path,
            origin,
            source_text: None,
            fields: FieldState::default(),
            problems: Vec::new(),
            problem_paths: BTreeMap::new(),
            planned_runs: 0,
            validated: None,
            available_memory_bytes,
        }
    }

    /// Whether the draft differs from what was loaded or saved last.
    pub fn is_dirty(&self) -> bool {
        self.suite != self.saved
    }

    /// Records that the draft was written to `path` as `text`.
    pub fn mark_saved(&mut self, path: PathBuf, text: String) {
        self.saved = self.suite.clone();
        self.source_text = Some(text);
        self.origin = path.display().to_string();
        self.path = Some(path);
    }

    /// Forgets the text of fields (after a change that moves or removes them) and revalidates.
    pub fn structure_changed(&mut self) {
        self.fields = FieldState::default();
        self.revalidate();
    }

    /// The folder the suite's relative model paths start at: the suite file's, or the working
    /// directory for a suite not saved yet.
    pub fn base_dir(&self) -> PathBuf {
        self.path.as_deref().and_then(Path::parent).unwrap_or(Path::new(".")).to_owned()
    }

    /// Checks the draft exactly as `phasebench run` would check a file with this content, against
    /// the memory known when the document opened; skipped when the draft did not change since.
    pub fn revalidate(&mut self) {
        if self.validated.as_ref() == Some(&self.suite) {
            self.fields.problems.clone_from(&self.problem_paths);
            return;
        }
        let (text, checked) = match suite::suite_to_ron(&self.suite) {
            Ok(text) => {
                let base_dir = self.base_dir();
                let checked =
                    crate::parse_checked_suite_with_memory(&text, "the suite", &base_dir, self.available_memory_bytes);
                (text, checked)
            }
            Err(error) => (String::new(), Err(error)),
        };
        self.problem_paths.clear();
        self.problems = match checked {
            Ok(_) => Vec::new(),
            Err(SuiteError::Invalid { problems, .. }) => {
                for problem in &problems {
                    for path in problem_field_paths(&text, problem) {
                        self.problem_paths.entry(path).or_insert_with(|| problem.message.clone());
                    }
                }
                problems.into_iter().map(|p| p.message).collect()
            }
            Err(error) => vec![error.to_string()],
        };
        self.fields.problems.clone_from(&self.problem_paths);
        self.planned_runs = crate::plan::expand(&self.suite).len();
        self.validated = Some(self.suite.clone());
    }

    /// Measures the memory available now and checks the draft against it (before a run).
    pub fn refresh_available_memory(&mut self) {
        self.available_memory_bytes = crate::results::environment::available_memory_bytes();
        self.validated = None;
        self.revalidate();
    }

    /// Why the draft cannot run now: fields that do not hold a valid value, then validation
    /// problems. Empty when it can run.
    pub fn run_blockers(&self) -> Vec<String> {
        self.fields.errors.values().cloned().chain(self.problems.iter().cloned()).collect()
    }

    /// Appends a new MLP workload named after its model (`mlp`, `mlp-2` …); returns its index.
    pub fn add_workload(&mut self) -> usize {
        let model = ModelSpec::Mlp(Default::default());
        let name = unique_name(self.suite.workloads.iter().map(|w| w.name.as_str()), &model_name(&model));
        self.suite.workloads.push(new_workload(name, model));
        self.structure_changed();
        self.suite.workloads.len() - 1
    }

    /// After workload `index`'s model changed from `old_kind`: a name that was only the old
    /// model's (`mlp`, `mlp-2`) follows the new one; a name the user chose stays.
    pub fn rename_workload_after_model(&mut self, index: usize, old_kind: &str) {
        let Some(workload) = self.suite.workloads.get(index) else { return };
        let old_name = old_kind.to_lowercase();
        let derived = workload.name.strip_prefix(old_name.as_str()).is_some_and(|rest| {
            rest.is_empty() || rest.strip_prefix('-').is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        });
        if derived {
            let others =
                self.suite.workloads.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, w)| w.name.as_str());
            let name = unique_name(others, &model_name(&workload.model));
            self.suite.workloads[index].name = name;
        }
    }

    /// Appends a new f32 CPU phase with a free name; returns its index.
    pub fn add_phase(&mut self) -> usize {
        let name = unique_name(self.suite.phases.iter().map(|p| p.name.as_str()), "phase");
        self.suite.phases.push(new_phase(name));
        self.structure_changed();
        self.suite.phases.len() - 1
    }

    /// Copies, removes or moves a workload; returns what to select afterwards (`Some(None)`: the
    /// settings), or `None` when the edit did not apply.
    pub fn edit_workloads(&mut self, edit: ListEdit) -> Option<Option<usize>> {
        let workloads = &mut self.suite.workloads;
        let selected = edit_list(workloads, edit, |w| w.name.as_str(), |w, name| Workload { name, ..w })?;
        self.structure_changed();
        Some(selected)
    }

    /// Copies, removes or moves a phase, as [`Self::edit_workloads`]; removing the baseline makes
    /// the first phase left the baseline.
    pub fn edit_phases(&mut self, edit: ListEdit) -> Option<Option<usize>> {
        let phases = &mut self.suite.phases;
        let selected = edit_list(phases, edit, |p| p.name.as_str(), |p, name| Phase { name, ..p })?;
        let suite = &mut self.suite;
        if !suite.phases.iter().any(|phase| phase.name == suite.baseline)
            && let Some(first) = suite.phases.first()
        {
            suite.baseline = first.name.clone();
        }
        self.structure_changed();
        Some(selected)
    }

    /// Makes the phase at `index` the baseline.
    pub fn set_baseline(&mut self, index: usize) {
        if let Some(phase) = self.suite.phases.get(index) {
            self.suite.baseline = phase.name.clone();
            self.revalidate();
        }
    }

    /// The window title: suite name, where it lives, and `●` when there are unsaved changes.
    pub fn title(&self) -> String {
        let mark = if self.is_dirty() { "● " } else { "" };
        format!("{mark}{} — {} — phasebench", self.suite.name, self.origin)
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
        Ok(suite) => {
            let mut document = SuiteDocument::new(suite, None, suite::DEFAULT_SUITE_ORIGIN);
            document.source_text = Some(suite::DEFAULT_SUITE_RON.to_owned());
            document
        }
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
        workloads: vec![new_workload("mlp".into(), ModelSpec::Mlp(Default::default()))],
        phases: vec![new_phase("baseline".into())],
        baseline: "baseline".into(),
        targets: Vec::new(),
    }
}

/// Reads and checks a suite file into a document; the error names file, line and column. The
/// memory it is checked against is measured once, for the load and the editor alike.
pub fn load_document(path: &Path) -> Result<SuiteDocument, String> {
    let text = suite::read_suite_text(path).map_err(|error| error.to_string())?;
    parse_document(&text, path.display().to_string(), Some(path.to_path_buf())).map_err(|error| error.to_string())
}

/// Checks suite text (a file's, an example's) into a document, as [`load_document`] does.
pub fn parse_document(text: &str, origin: String, path: Option<PathBuf>) -> Result<SuiteDocument, SuiteError> {
    let available = crate::results::environment::available_memory_bytes();
    let base_dir = path.as_deref().and_then(Path::parent).unwrap_or(Path::new("."));
    let suite = crate::parse_checked_suite_with_memory(text, &origin, base_dir, available)?;
    let mut document = SuiteDocument::checked(suite, path, origin, available);
    document.source_text = Some(text.to_owned());
    Ok(document)
}

/// The form fields a validation problem names: the part of the suite its position is in (a
/// workload, a phase or the settings, read from the written draft `text`) and each `field` the
/// message quotes, as field paths (`w0.model.heads`, `p1.batch_size`, `settings.seed`); or, for a
/// problem placed on a name, that name's field (`w1.name`, `p0.name`, `suite.name`).
fn problem_field_paths(text: &str, problem: &suite::Problem) -> Vec<String> {
    let named: Vec<&str> = problem.message.split('`').skip(1).step_by(2).collect();
    let Some(position) = problem.position else { return Vec::new() };
    let before: Vec<&str> = text.lines().take(position.line).collect();
    let count = |marker: &str| before.iter().filter(|line| line.trim_start().starts_with(marker)).count();
    let last = |marker: &str| before.iter().rposition(|line| line.trim_start().starts_with(marker));
    let (workload, phase, settings) = (last("Workload("), last("Phase("), last("settings:"));
    // A problem about a name (empty, used twice), placed on its `name:`, is shown on that item's
    // name field; other problems of an item are placed on its name too, but name other fields.
    let unquoted: String = problem.message.split('`').step_by(2).collect();
    let about_name = unquoted.contains("name") || named == ["name"];
    let line = text.lines().nth(position.line.saturating_sub(1)).unwrap_or("");
    let (head, tail): (String, String) = (
        line.chars().take(position.col.saturating_sub(1)).collect(),
        line.chars().skip(position.col.saturating_sub(1)).collect(),
    );
    let on_name = head.trim_end().strip_suffix(':').is_some_and(|head| head.trim_end().ends_with("name"))
        || tail.strip_prefix("name").is_some_and(|rest| rest.trim_start().starts_with(':'));
    if on_name && about_name {
        let name_path = match (workload, phase) {
            (Some(w), p) if p.is_none_or(|p| w > p) => format!("w{}.name", count("Workload(") - 1),
            (_, Some(_)) => format!("p{}.name", count("Phase(") - 1),
            _ => "suite.name".to_owned(),
        };
        return vec![name_path];
    }
    let prefixes: Vec<String> = match (workload, phase) {
        (Some(w), p) if p.is_none_or(|p| w > p) => {
            let index = count("Workload(") - 1;
            vec![format!("w{index}.model."), format!("w{index}.")]
        }
        (_, Some(_)) => vec![format!("p{}.", count("Phase(") - 1)],
        _ if settings.is_some() => vec!["settings.".to_owned()],
        _ => Vec::new(),
    };
    prefixes.iter().flat_map(|prefix| named.iter().map(move |name| format!("{prefix}{name}"))).collect()
}

/// The name a workload gets from its model: the model's kind in lower case (`mlp`, `matmul`).
fn model_name(model: &ModelSpec) -> String {
    model.kind_name().to_lowercase()
}

/// A workload to start editing from: `model` (of the catalog's default size), inference at batch 1.
fn new_workload(name: String, model: ModelSpec) -> Workload {
    Workload { name, model, mode: Mode::Inference, batch_sizes: vec![1], batch_sweep: None, weights: None }
}

/// A phase to start editing from: f32 on the CPU.
fn new_phase(name: String) -> Phase {
    Phase {
        name,
        dtype: Default::default(),
        device: Default::default(),
        batch_size: None,
        quantization: None,
        kv_cache: None,
        gguf: None,
        image: None,
    }
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
pub enum ListEdit {
    /// Insert a copy (with a new name) after the item.
    Duplicate(usize),
    /// Remove the item (never the last one).
    Remove(usize),
    /// Move the item one place up or down.
    Move {
        /// Its index.
        index: usize,
        /// Towards the start.
        up: bool,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_mark_the_document_dirty_and_invalid_edits_block_running() -> Result<(), SuiteError> {
        let mut document = SuiteDocument::new(suite::default_suite()?, None, "embedded");
        assert!(!document.is_dirty());
        assert!(document.run_blockers().is_empty(), "{:?}", document.run_blockers());
        assert!(!document.title().starts_with('●'));

        document.suite.baseline = "nope".into();
        document.revalidate();
        assert!(document.is_dirty());
        assert!(document.title().starts_with('●'));
        assert!(document.run_blockers().iter().any(|p| p.contains("nope")), "{:?}", document.run_blockers());
        Ok(())
    }

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
