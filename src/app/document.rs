//! The suite being edited: the draft, where it came from, whether it changed since it was loaded
//! or saved, the text of fields being typed, and everything that blocks a run.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::suite::{self, Suite, SuiteError};

/// Text of the form's fields as typed, by field key, so a half-typed or wrong value is kept on
/// screen (and blocks Run) instead of being lost or silently clamped.
#[derive(Clone, Debug, Default)]
pub struct FieldState {
    /// The text of each field that was edited.
    pub text: HashMap<String, String>,
    /// Fields whose text is not a valid value: the reason, naming the field.
    pub errors: BTreeMap<String, String>,
}

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
    /// Text typed into the form's fields.
    pub fields: FieldState,
    /// What the engine's validation says is wrong with the draft.
    pub problems: Vec<String>,
}

impl SuiteDocument {
    /// A document for a suite just loaded from `path` (or from nowhere, with `origin` naming it).
    pub fn new(suite: Suite, path: Option<PathBuf>, origin: impl Into<String>) -> Self {
        let mut document = Self {
            saved: suite.clone(),
            suite,
            path,
            origin: origin.into(),
            fields: FieldState::default(),
            problems: Vec::new(),
        };
        document.revalidate();
        document
    }

    /// Whether the draft differs from what was loaded or saved last.
    pub fn is_dirty(&self) -> bool {
        self.suite != self.saved
    }

    /// Records that the draft was written to `path`.
    pub fn mark_saved(&mut self, path: PathBuf) {
        self.saved = self.suite.clone();
        self.origin = path.display().to_string();
        self.path = Some(path);
    }

    /// Forgets the text of fields (after a change that moves or removes them) and revalidates.
    pub fn structure_changed(&mut self) {
        self.fields = FieldState::default();
        self.revalidate();
    }

    /// Checks the draft exactly as `phasebench run` would check a file with this content.
    pub fn revalidate(&mut self) {
        self.problems =
            match suite::suite_to_ron(&self.suite).and_then(|text| crate::parse_checked_suite(&text, "the suite")) {
                Ok(_) => Vec::new(),
                Err(SuiteError::Invalid { problems, .. }) => problems.into_iter().map(|p| p.message).collect(),
                Err(error) => vec![error.to_string()],
            };
    }

    /// Why the draft cannot run now: fields that do not hold a valid value, then validation
    /// problems. Empty when it can run.
    pub fn run_blockers(&self) -> Vec<String> {
        self.fields.errors.values().cloned().chain(self.problems.iter().cloned()).collect()
    }

    /// The error of one field, when its text is not valid.
    pub fn field_error(&self, key: &str) -> Option<&str> {
        self.fields.errors.get(key).map(String::as_str)
    }

    /// The window title: suite name, where it lives, and `●` when there are unsaved changes.
    pub fn title(&self) -> String {
        let mark = if self.is_dirty() { "● " } else { "" };
        format!("{mark}{} — {} — phasebench", self.suite.name, self.origin)
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
}
