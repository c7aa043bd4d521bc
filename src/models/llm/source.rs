//! The user's model files as workloads: each folder or GGUF is read once (headers only) and kept
//! for the process, so the memory estimate, the runner and the reports see the same model; the
//! checks a suite gets before it runs; loading the weights and the quantized models.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use candle_core::Device;

use super::{ModelFile, ModelFormat, TextModel, read_gguf, read_hf_folder};
use crate::models::{Architecture, BuildOptions, Network, ParamInit, ParamTensor, Weights};
use crate::suite::{Mode, ModelSpec, Suite, quantization_block_problems};

/// A model folder or GGUF file as read from its headers, or why it cannot be used.
#[derive(Debug)]
pub struct FileModel {
    /// The folder or file.
    pub location: PathBuf,
    /// What it holds, or the error naming the file.
    pub file: Result<ModelFile, String>,
    /// The folder's `config.json` as written (a GGUF has none): the model is built from it, so
    /// keys phasebench does not model (rope scaling, token ids) keep their meaning.
    pub config_json: Option<serde_json::Value>,
}

/// When a model's files last changed (modification times and sizes of what is read first).
type Fingerprint = Vec<Option<(SystemTime, u64)>>;

fn fingerprint(location: &Path) -> Fingerprint {
    let mut paths = vec![location.to_owned()];
    if location.is_dir() {
        for name in ["config.json", "model.safetensors", "model.safetensors.index.json"] {
            paths.push(location.join(name));
        }
    }
    paths
        .iter()
        .map(|path| std::fs::metadata(path).ok().and_then(|meta| Some((meta.modified().ok()?, meta.len()))))
        .collect()
}

type FileModels = HashMap<(PathBuf, bool), (Fingerprint, &'static FileModel)>;

/// Every model file read by this process, by location and format, with its fingerprint: a file
/// changed on disk is read again. Entries live as long as the process (a few KiB each).
static FILE_MODELS: Mutex<Option<FileModels>> = Mutex::new(None);

/// The model at `location` read as `format` (once per version of its files).
pub fn file_model(location: &Path, format: ModelFormat) -> &'static FileModel {
    let key = (location.to_owned(), format == ModelFormat::Gguf);
    let print = fingerprint(location);
    let mut models = FILE_MODELS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let models = models.get_or_insert_with(HashMap::new);
    if let Some((known, model)) = models.get(&key)
        && *known == print
    {
        return model;
    }
    let model: &'static FileModel = Box::leak(Box::new(read_file_model(location, format)));
    models.insert(key, (print, model));
    model
}

fn read_file_model(location: &Path, format: ModelFormat) -> FileModel {
    let shown = location.display();
    let file = match (format, location.is_dir()) {
        _ if !location.exists() => Err(format!("{shown}: No such file or directory")),
        (ModelFormat::HfFolder, false) if location.is_file() => Err(format!(
            "{shown}: is a file, but HfFolder names a Hugging Face folder (config.json and safetensors); for a .gguf file write Gguf(path: ...)"
        )),
        (ModelFormat::Gguf, true) => Err(format!(
            "{shown}: is a folder, but Gguf names a .gguf file; for a Hugging Face folder write HfFolder(path: ...)"
        )),
        (ModelFormat::HfFolder, _) => read_hf_folder(location).map_err(|error| error.to_string()),
        (ModelFormat::Gguf, _) => read_gguf(location).map_err(|error| error.to_string()),
    };
    let config_json = match (&file, format) {
        (Ok(_), ModelFormat::HfFolder) => {
            std::fs::read(location.join("config.json")).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
        }
        _ => None,
    };
    FileModel { location: location.to_owned(), file, config_json }
}

/// The file model behind a workload's model, when it is read from files.
pub fn workload_file_model(spec: &ModelSpec) -> Option<&'static FileModel> {
    match spec {
        ModelSpec::HfFolder(spec) => Some(file_model(&spec.path.location(), ModelFormat::HfFolder)),
        ModelSpec::Gguf(spec) => Some(file_model(&spec.path.location(), ModelFormat::Gguf)),
        _ => None,
    }
}

impl Architecture for FileModel {
    /// The file's tensors (no weights: they are read from the file); every matrix counts as
    /// quantizable, the embedding too, as a quantized phase quantizes it.
    fn parameters(&self) -> Vec<ParamTensor> {
        let Ok(file) = &self.file else { return Vec::new() };
        file.tensors
            .iter()
            .map(|tensor| {
                let param = ParamTensor::new(tensor.name.clone(), tensor.shape.clone(), ParamInit::Zeros);
                ParamTensor { quantizable: tensor.shape.len() == 2, ..param }
            })
            .collect()
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, 1]
    }

    fn flops_per_item(&self) -> Option<f64> {
        let file = self.file.as_ref().ok()?;
        let config = &file.config;
        let lookup_only = if config.tie_embeddings { 0 } else { config.vocab * config.hidden };
        Some(2.0 * file.parameter_count().saturating_sub(lookup_only) as f64)
    }

    fn build(&self, _vb: candle_nn::VarBuilder, _options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        candle_core::bail!("a language model runs in mode TextGeneration")
    }

    fn language_model(&self) -> Option<super::LlmConfig> {
        self.file.as_ref().ok().map(|file| file.config.clone())
    }

    fn stored_weight_bytes(&self) -> Option<f64> {
        match &self.file {
            Ok(file) if file.format == ModelFormat::Gguf => Some(file.bytes as f64),
            _ => None,
        }
    }
}

/// What is wrong with the model files a suite names, as `(workload, message)`: files that cannot
/// be read, prompts longer than the model's context, quantizations whose blocks do not fit, a
/// phase's GGUF that is not the same model as the workload's.
pub fn model_file_problems(suite: &Suite) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for workload in &suite.workloads {
        let report = |problems: &mut Vec<(String, String)>, message: String| {
            problems.push((workload.name.clone(), format!("workload `{}`: {message}", workload.name)));
        };
        let own = workload_file_model(&workload.model);
        let config = match own.map(|model| &model.file) {
            Some(Err(error)) => {
                report(&mut problems, error.clone());
                continue;
            }
            Some(Ok(file)) => Some(&file.config),
            None => None,
        };
        if let (Some(config), Mode::TextGeneration(text)) = (config, workload.mode)
            && text.prompt_tokens + text.new_tokens > config.context
        {
            report(
                &mut problems,
                format!(
                    "TextGeneration `prompt_tokens` + `new_tokens` ({}) is more than the model's context of {} tokens",
                    text.prompt_tokens + text.new_tokens,
                    config.context
                ),
            );
        }
        for phase in &suite.phases {
            if let (Some(config), ModelSpec::HfFolder(_)) = (config, &workload.model) {
                for message in quantization_block_problems(phase, config.hidden, config.intermediate) {
                    problems.push((workload.name.clone(), format!("workload `{}`{message}", workload.name)));
                }
            }
            let (Some(path), Some(config)) = (&phase.gguf, config) else { continue };
            match &file_model(&path.location_for(&workload.name), ModelFormat::Gguf).file {
                Err(error) => report(&mut problems, format!("phase `{}`: {error}", phase.name)),
                Ok(gguf) if !same_model(&gguf.config, config) => report(
                    &mut problems,
                    format!(
                        "phase `{}` runs {}, {}, but the workload's model is {}: a phase's GGUF must be the same model",
                        phase.name,
                        path.location_for(&workload.name).display(),
                        shape_words(&gguf.config),
                        shape_words(config)
                    ),
                ),
                Ok(_) => {}
            }
        }
    }
    problems
}

/// Whether two files hold the same model: the same family (llama.cpp writes Mistral as llama)
/// and shape.
fn same_model(a: &super::LlmConfig, b: &super::LlmConfig) -> bool {
    let shape = |c: &super::LlmConfig| (c.hidden, c.layers, c.heads, c.kv_heads, c.head_dim, c.intermediate, c.vocab);
    super::gguf_architecture(a.family) == super::gguf_architecture(b.family) && shape(a) == shape(b)
}

/// A model's family and shape in words, for messages.
fn shape_words(config: &super::LlmConfig) -> String {
    format!(
        "a {} model of hidden {}, {} layers, {} heads ({} key/value), MLP {}, vocabulary {}",
        config.family, config.hidden, config.layers, config.heads, config.kv_heads, config.intermediate, config.vocab
    )
}

/// The weights of a Hugging Face folder, every shard read whole onto the CPU in the dtype it is
/// stored in (a phase converts them to its own).
pub fn load_folder_weights(file: &ModelFile) -> Result<Weights, String> {
    let mut weights = Weights::new();
    for path in &file.weight_files {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|error| {
            format!("{}: cannot read the weights: {}", path.display(), crate::device::candle_error_text(&error))
        })?;
        weights.extend(tensors);
    }
    Ok(weights)
}

/// The family's quantized model read from the GGUF file at `path` onto `device`.
pub fn load_gguf_model(path: &Path, device: &Device) -> Result<Box<dyn TextModel>, String> {
    let model = file_model(path, ModelFormat::Gguf);
    let file = model.file.as_ref().map_err(Clone::clone)?;
    let mut reader =
        std::io::BufReader::new(std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?);
    super::load_quantized(file.config.family, &mut reader, device)
        .map_err(|error| format!("{}: cannot load: {}", path.display(), crate::device::candle_error_text(&error)))
}

/// Writes the model as a Hugging Face folder: `config.json` and `model.safetensors` (its tensors
/// as they are, under Hugging Face's names), creating the folder.
pub fn write_hf_folder(config: &super::LlmConfig, weights: &Weights, folder: &Path) -> Result<(), String> {
    let shown = folder.display();
    std::fs::create_dir_all(folder).map_err(|error| format!("{shown}: cannot create the folder: {error}"))?;
    let json = serde_json::to_string_pretty(&config.to_hf_json()).map_err(|error| error.to_string())?;
    let config_path = folder.join("config.json");
    crate::atomic_file::write_atomically(&config_path, json.as_bytes())
        .map_err(|error| format!("{}: {error}", config_path.display()))?;
    crate::models::save_weights(weights, &folder.join("model.safetensors")).map_err(|error| error.to_string())
}

/// Writes the model as a GGUF file at `path` with its matrices in `quantization`.
pub fn write_gguf_file(
    config: &super::LlmConfig,
    weights: &Weights,
    quantization: crate::suite::Quantization,
    path: &Path,
) -> Result<(), String> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    super::write_gguf(config, weights, quantization, &mut bytes)
        .map_err(|error| format!("{}: {}", path.display(), crate::device::candle_error_text(&error)))?;
    crate::atomic_file::write_atomically(path, bytes.get_ref()).map_err(|error| format!("{}: {error}", path.display()))
}
