//! The editor's form fields: which field a typed text belongs to ([`Field`], keyed by its path as
//! suites spell it) and the text, errors and validation problems held per field.

use std::collections::{BTreeMap, HashMap};

/// A field of a workload's form that holds typed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkloadField {
    /// A size parameter of the model, by its name in suites (`hidden`, `heads`…).
    ModelParameter(&'static str),
    /// The optimizer's learning rate (training).
    LearningRate,
    /// Denoising steps per generation.
    GenerationSteps,
    /// Prompt tokens of text generation.
    PromptTokens,
    /// Tokens generated per text generation.
    NewTokens,
    /// Image width of an image generation.
    ImageWidth,
    /// Image height of an image generation.
    ImageHeight,
    /// Guidance scale of an image generation.
    Guidance,
    /// The comma-separated batch sizes.
    BatchSizes,
    /// The first batch size of a sweep.
    SweepFrom,
    /// The largest batch size of a sweep.
    SweepTo,
    /// The growth factor of a sweep.
    SweepFactor,
}

/// Which form field a text belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// A measurement setting, by its name in suites (`warmup_steps`…).
    Setting(&'static str),
    /// A field of the workload at an index.
    Workload(usize, WorkloadField),
    /// The own batch size of the phase at an index.
    PhaseBatch(usize),
}

impl Field {
    /// The field's path as suites spell it, prefixed by its list position: `settings.seed`,
    /// `w0.model.hidden`, `w1.batch_sizes`, `p2.batch_size`.
    fn path(self) -> String {
        match self {
            Self::Setting(name) => format!("settings.{name}"),
            Self::Workload(index, field) => match field {
                WorkloadField::ModelParameter(name) => format!("w{index}.model.{name}"),
                WorkloadField::LearningRate => format!("w{index}.lr"),
                WorkloadField::GenerationSteps => format!("w{index}.steps"),
                WorkloadField::PromptTokens => format!("w{index}.prompt_tokens"),
                WorkloadField::NewTokens => format!("w{index}.new_tokens"),
                WorkloadField::ImageWidth => format!("w{index}.width"),
                WorkloadField::ImageHeight => format!("w{index}.height"),
                WorkloadField::Guidance => format!("w{index}.guidance"),
                WorkloadField::BatchSizes => format!("w{index}.batch_sizes"),
                WorkloadField::SweepFrom => format!("w{index}.sweep.from"),
                WorkloadField::SweepTo => format!("w{index}.sweep.to"),
                WorkloadField::SweepFactor => format!("w{index}.sweep.factor"),
            },
            Self::PhaseBatch(index) => format!("p{index}.batch_size"),
        }
    }
}

/// The key of a form field: the typed [`Field`], ordered, hashed and looked up by its path (so a
/// key can also be found by the path text, e.g. in tests).
#[derive(Clone, Debug)]
pub struct FieldKey {
    path: String,
    field: Field,
}

impl FieldKey {
    /// The key of `field`.
    pub fn new(field: Field) -> Self {
        Self { path: field.path(), field }
    }

    /// The field's path: `settings.seed`, `w0.model.hidden`, `p2.batch_size`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Which field it is.
    pub fn field(&self) -> Field {
        self.field
    }
}

impl From<Field> for FieldKey {
    fn from(field: Field) -> Self {
        Self::new(field)
    }
}

impl PartialEq for FieldKey {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for FieldKey {}

impl std::hash::Hash for FieldKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.path.hash(state);
    }
}

impl PartialOrd for FieldKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.path.cmp(&other.path)
    }
}

impl std::borrow::Borrow<str> for FieldKey {
    fn borrow(&self) -> &str {
        &self.path
    }
}

/// Text of the form's fields as typed, by field, so a half-typed or wrong value is kept on screen
/// (and blocks Run) instead of being lost or silently clamped.
#[derive(Clone, Debug, Default)]
pub struct FieldState {
    /// The text of each field that was edited.
    pub text: HashMap<FieldKey, String>,
    /// Fields whose text is not a valid value: the reason, naming the field.
    pub errors: BTreeMap<FieldKey, String>,
    /// The suite's validation problems on the fields they name, by field path (`w0.model.heads`):
    /// outlined there with the message, as of the last validation.
    pub problems: BTreeMap<String, String>,
}

impl FieldState {
    /// Forgets the text and errors of the model parameters of workload `index` (its model changed).
    pub fn forget_model_parameters(&mut self, index: usize) {
        let of_model =
            |key: &FieldKey| matches!(key.field(), Field::Workload(i, WorkloadField::ModelParameter(_)) if i == index);
        self.text.retain(|key, _| !of_model(key));
        self.errors.retain(|key, _| !of_model(key));
    }

    /// Forgets the text and error of one field (what it holds changed meaning).
    pub fn forget(&mut self, field: Field) {
        let key = FieldKey::new(field);
        self.text.remove(&key);
        self.errors.remove(&key);
    }
}
