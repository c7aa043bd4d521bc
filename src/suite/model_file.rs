//! A user's own language model as a workload: a Hugging Face folder or a GGUF file named by path,
//! and the checks on a suite that can be made without opening the files (which phases such a
//! model can run, which modes).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DTypeSpec, ModelSpec, Phase};

/// A path to a model folder or file as the suite writes it (relative paths start at the suite
/// file's folder; in a phase's `gguf`, `{workload}` stands for each workload's name), with the
/// folder it starts at once known. It is written and compared as written, so a suite saved again
/// keeps its relative paths.
#[derive(Clone, Debug, Default)]
pub struct ModelPath {
    written: String,
    base_dir: Option<PathBuf>,
}

/// What `{workload}` in a phase's `gguf` path stands for.
pub const WORKLOAD_PLACEHOLDER: &str = "{workload}";

impl ModelPath {
    /// A path as a suite would write it.
    pub fn new(written: impl Into<String>) -> Self {
        Self { written: written.into(), base_dir: None }
    }

    /// The path as written in the suite.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// Where the path points: under the suite's folder once resolved, else as written (from the
    /// working directory).
    pub fn location(&self) -> PathBuf {
        self.location_for("")
    }

    /// Where the path points for the workload `workload` (its name put for `{workload}`).
    pub fn location_for(&self, workload: &str) -> PathBuf {
        let written = self.written.replace(WORKLOAD_PLACEHOLDER, workload);
        match &self.base_dir {
            Some(base_dir) => base_dir.join(written),
            None => PathBuf::from(written),
        }
    }

    /// Makes a relative path start at `base_dir` (an absolute one stays as it is).
    pub fn resolve(&mut self, base_dir: &Path) {
        self.base_dir = Some(base_dir.to_owned());
    }
}

impl PartialEq for ModelPath {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for ModelPath {}

impl Serialize for ModelPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for ModelPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// A model read from the user's files, written `HfFolder(path: "models/Qwen3-0.6B")` (a Hugging
/// Face folder: `config.json` and safetensors) or `Gguf(path: "models/qwen3-q4_k_m.gguf")`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFileSpec {
    /// The folder or file, relative to the suite file's folder.
    pub path: ModelPath,
}

impl ModelSpec {
    /// Whether the model is a language model (it runs in mode TextGeneration only).
    pub fn is_language_model(&self) -> bool {
        matches!(self, Self::Llm(_) | Self::HfFolder(_) | Self::Gguf(_))
    }

    /// The user's model folder or file this model is read from, if any.
    pub fn model_path(&self) -> Option<&ModelPath> {
        match self {
            Self::HfFolder(spec) | Self::Gguf(spec) => Some(&spec.path),
            Self::Diffusion(spec) => spec.path.as_ref(),
            _ => None,
        }
    }
}

impl super::Suite {
    /// Makes every relative model path of the suite start at `base_dir` (the suite file's folder).
    pub fn resolve_model_paths(&mut self, base_dir: &Path) {
        for workload in &mut self.workloads {
            match &mut workload.model {
                ModelSpec::HfFolder(spec) | ModelSpec::Gguf(spec) => spec.path.resolve(base_dir),
                ModelSpec::Diffusion(spec) => spec.path.iter_mut().for_each(|path| path.resolve(base_dir)),
                _ => {}
            }
        }
        for path in self.phases.iter_mut().filter_map(|phase| phase.gguf.as_mut()) {
            path.resolve(base_dir);
        }
    }
}

/// Why `phase` cannot run the user's model `model` at `batches`, each message continuing
/// "workload `name`": a GGUF (the workload's or the phase's own) brings its own quantization and
/// runs one sequence at a time; a phase's GGUF replaces a folder's or another GGUF's weights only.
pub fn file_phase_problems(model: &ModelSpec, phase: &Phase, batches: &[usize]) -> Vec<String> {
    let name = &phase.name;
    let mut problems = Vec::new();
    if phase.gguf.is_some() && !matches!(model, ModelSpec::HfFolder(_) | ModelSpec::Gguf(_)) {
        problems.push(format!(
            " is {}, but phase `{name}` runs a GGUF file instead: a phase's `gguf` replaces the weights of a model read from files (HfFolder or Gguf) of the same model",
            model.kind_name()
        ));
        return problems;
    }
    let gguf = match (model, &phase.gguf) {
        (_, Some(path)) => Some(path.written()),
        (ModelSpec::Gguf(spec), None) => Some(spec.path.written()),
        _ => None,
    };
    let Some(gguf) = gguf else {
        if matches!(model, ModelSpec::HfFolder(_)) {
            problems.extend(super::llm::quantized_phase_problems(phase, batches));
        }
        return problems;
    };
    if let Some(quantization) = phase.quantization {
        problems.push(format!(
            ": phase `{name}` quantizes to {quantization}, but it runs the GGUF `{gguf}`, whose own quantization is the phase's; drop `quantization` (or quantize a Hugging Face folder instead)"
        ));
    }
    if phase.dtype != DTypeSpec::F32 {
        problems.push(format!(
            ": phase `{name}` sets dtype {}, but it runs the GGUF `{gguf}`: candle's quantized models compute in f32, so drop the dtype",
            phase.dtype
        ));
    }
    if batches.iter().any(|&batch| batch > 1) {
        problems.push(format!(
            " generates text at batch sizes above 1, but phase `{name}` runs the GGUF `{gguf}`: candle-transformers 0.11's quantized language models run one sequence at a time; give the phase `batch_size: 1`"
        ));
    }
    problems
}

/// Why `workload` cannot be read from files as written, each message continuing "workload
/// `name`: ": a model read from files brings its own weights.
pub(super) fn workload_file_problems(workload: &super::Workload) -> Vec<String> {
    match (&workload.weights, workload.model.model_path()) {
        (Some(weights), Some(path)) => vec![format!(
            "`weights: Some(\"{weights}\")` beside {}(path: \"{}\"), whose files hold the weights already; drop `weights`",
            workload.model.kind_name(),
            path.written()
        )],
        _ => Vec::new(),
    }
}
