//! Readers for a user's language-model files — a Hugging Face folder (`config.json` and one or
//! more `*.safetensors`, sharded with `model.safetensors.index.json`) or a GGUF file — that tell
//! what the model is without loading its weights: the family and shape, every tensor's dtype and
//! shape, the bytes. A model file is hostile input: sizes are checked before anything is read
//! whole, and every problem is an error naming the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;

use super::LlmConfig;
use crate::suite::LlmFamily;

/// Largest `config.json` or shard index read (they are a few KiB).
const MAX_JSON_BYTES: u64 = 16 << 20;
/// Largest safetensors header read (a header lists names, dtypes, shapes and offsets).
const MAX_HEADER_BYTES: u64 = 100 << 20;

/// One tensor of a model file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorEntry {
    /// Its name in the file.
    pub name: String,
    /// Its element type as the file names it (`F32`, `BF16`, `Q4K`…).
    pub dtype: String,
    /// Its shape, in candle's order (rows first).
    pub shape: Vec<usize>,
}

/// Where a model's weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    /// A Hugging Face folder of safetensors.
    HfFolder,
    /// A GGUF file (llama.cpp).
    Gguf,
}

/// What a model file holds, read from its headers.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The folder or file.
    pub path: PathBuf,
    /// How it is stored.
    pub format: ModelFormat,
    /// The family and shape.
    pub config: LlmConfig,
    /// Every tensor, by name.
    pub tensors: Vec<TensorEntry>,
    /// Bytes of the weight files.
    pub bytes: u64,
    /// The files holding the weights.
    pub weight_files: Vec<PathBuf>,
}

impl ModelFile {
    /// Parameters: the elements of every tensor.
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().map(|tensor| tensor.shape.iter().product::<usize>()).sum()
    }

    /// One line saying what the file holds: family, parameters, shape, context, tensor types,
    /// bytes — what the editor shows under a picked model.
    pub fn summary(&self) -> String {
        let config = &self.config;
        let dtypes: Vec<String> =
            self.dtype_counts().iter().map(|(dtype, count)| format!("{dtype} ×{count}")).collect();
        format!(
            "{:?} · {} parameters · hidden {}, {} layers, {} heads ({} key/value), vocabulary {} · context {} · {} · {}",
            config.family,
            crate::units::format_count(self.parameter_count() as f64),
            config.hidden,
            config.layers,
            config.heads,
            config.kv_heads,
            config.vocab,
            config.context,
            dtypes.join(", "),
            crate::units::format_bytes(self.bytes as f64)
        )
    }

    /// Tensors per element type, e.g. `[("F32", 5), ("Q4K", 24)]`.
    pub fn dtype_counts(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for tensor in &self.tensors {
            *counts.entry(tensor.dtype.as_str()).or_default() += 1;
        }
        counts.into_iter().map(|(dtype, count)| (dtype.to_owned(), count)).collect()
    }
}

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file is there but is not a model phasebench can read.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn unreadable(path: &Path, reason: impl std::fmt::Display) -> ModelFileError {
    ModelFileError::Unreadable { path: path.to_owned(), reason: reason.to_string() }
}

fn invalid(path: &Path, reason: impl Into<String>) -> ModelFileError {
    ModelFileError::Invalid { path: path.to_owned(), reason: reason.into() }
}

/// The supported families as a list for messages.
fn supported_list(name: impl Fn(LlmFamily) -> &'static str) -> String {
    LlmFamily::ALL.iter().map(|&family| name(family)).collect::<Vec<_>>().join(", ")
}

/// Reads a Hugging Face folder or a `.gguf` file, whichever `path` is.
pub fn read_model(path: &Path) -> Result<ModelFile, ModelFileError> {
    let metadata = std::fs::metadata(path).map_err(|error| unreadable(path, error))?;
    if metadata.is_dir() { read_hf_folder(path) } else { read_gguf(path) }
}

fn read_json(path: &Path) -> Result<serde_json::Value, ModelFileError> {
    let file = File::open(path).map_err(|error| unreadable(path, error))?;
    let size = file.metadata().map_err(|error| unreadable(path, error))?.len();
    if size > MAX_JSON_BYTES {
        return Err(invalid(path, format!("{size} bytes is too large for a model's JSON file")));
    }
    serde_json::from_reader(BufReader::new(file)).map_err(|error| invalid(path, format!("not valid JSON: {error}")))
}

impl LlmConfig {
    /// The configuration a Hugging Face `config.json` describes; `Err` says which key is missing
    /// or which `model_type` is not supported.
    pub fn from_hf_json(json: &serde_json::Value) -> Result<Self, String> {
        let model_type = json.get("model_type").and_then(serde_json::Value::as_str).unwrap_or("");
        let family = LlmFamily::from_model_type(model_type).ok_or_else(|| {
            format!(
                "model_type `{model_type}` is not supported yet; supported: {}",
                supported_list(LlmFamily::model_type)
            )
        })?;
        let count = |key: &str| -> Result<usize, String> {
            json.get(key)
                .and_then(serde_json::Value::as_u64)
                .and_then(|value| usize::try_from(value).ok())
                .filter(|&value| value > 0)
                .ok_or_else(|| format!("`{key}` is missing or not a positive whole number"))
        };
        let float = |key: &str, default: f64| json.get(key).and_then(serde_json::Value::as_f64).unwrap_or(default);
        let (hidden, heads) = (count("hidden_size")?, count("num_attention_heads")?);
        let kv_heads = count("num_key_value_heads").unwrap_or(heads);
        let head_dim = count("head_dim").unwrap_or(hidden / heads);
        if !heads.is_multiple_of(kv_heads) {
            return Err(format!("`num_key_value_heads` ({kv_heads}) does not divide `num_attention_heads` ({heads})"));
        }
        Ok(Self {
            family,
            hidden,
            layers: count("num_hidden_layers")?,
            heads,
            kv_heads,
            head_dim,
            intermediate: count("intermediate_size")?,
            vocab: count("vocab_size")?,
            context: count("max_position_embeddings")?,
            tie_embeddings: json.get("tie_word_embeddings").and_then(serde_json::Value::as_bool).unwrap_or(false),
            rms_norm_eps: float("rms_norm_eps", 1e-6),
            rope_theta: float("rope_theta", 10_000.0),
        })
    }
}

/// The tensors listed in a safetensors file's header, without reading their data.
pub(crate) fn safetensors_header(path: &Path) -> Result<(Vec<TensorEntry>, u64), ModelFileError> {
    let mut file = File::open(path).map_err(|error| unreadable(path, error))?;
    let size = file.metadata().map_err(|error| unreadable(path, error))?.len();
    let mut length = [0u8; 8];
    file.read_exact(&mut length).map_err(|_| invalid(path, "too short to be a safetensors file"))?;
    let header_bytes = u64::from_le_bytes(length);
    if header_bytes > MAX_HEADER_BYTES || header_bytes + 8 > size {
        return Err(invalid(path, format!("not a safetensors file: its header would be {header_bytes} bytes")));
    }
    let mut header = vec![0u8; header_bytes as usize];
    file.read_exact(&mut header).map_err(|error| unreadable(path, error))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|error| invalid(path, format!("not a safetensors file: its header is not JSON ({error})")))?;
    let data_bytes = size - 8 - header_bytes;
    let mut tensors = Vec::new();
    for (name, entry) in header.into_iter().filter(|(name, _)| name != "__metadata__") {
        let dtype = entry.get("dtype").and_then(serde_json::Value::as_str).unwrap_or("?").to_owned();
        let shape: Option<Vec<usize>> = entry
            .get("shape")
            .and_then(serde_json::Value::as_array)
            .and_then(|dims| dims.iter().map(|dim| dim.as_u64().and_then(|dim| usize::try_from(dim).ok())).collect());
        let end = entry
            .get("data_offsets")
            .and_then(serde_json::Value::as_array)
            .and_then(|offsets| offsets.get(1))
            .and_then(serde_json::Value::as_u64);
        match (shape, end) {
            (Some(shape), Some(end)) if end <= data_bytes => tensors.push(TensorEntry { name, dtype, shape }),
            (Some(_), Some(end)) => {
                return Err(invalid(
                    path,
                    format!("truncated: tensor `{name}` ends at byte {end} of the data, which has {data_bytes}"),
                ));
            }
            _ => return Err(invalid(path, format!("tensor `{name}` has no valid shape or offsets"))),
        }
    }
    Ok((tensors, size))
}

/// The safetensors files of a folder: the shards its index names, or `model.safetensors`.
fn weight_files(folder: &Path) -> Result<Vec<PathBuf>, ModelFileError> {
    let index = folder.join("model.safetensors.index.json");
    if index.is_file() {
        let json = read_json(&index)?;
        let map = json
            .get("weight_map")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| invalid(&index, "has no `weight_map`"))?;
        let mut files: Vec<PathBuf> = Vec::new();
        for shard in map.values().filter_map(serde_json::Value::as_str) {
            // Shards are plain file names beside the index; anything else is refused.
            if shard.contains('/') || shard.contains('\\') || shard.starts_with('.') {
                return Err(invalid(&index, format!("names a shard outside the folder: `{shard}`")));
            }
            let path = folder.join(shard);
            if !files.contains(&path) {
                files.push(path);
            }
        }
        files.sort();
        return Ok(files);
    }
    let single = folder.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    Err(invalid(folder, "has neither model.safetensors nor model.safetensors.index.json"))
}

/// Reads a Hugging Face folder: `config.json`, the safetensors headers, and checks that every
/// tensor the configuration needs is there in the shape it needs.
pub fn read_hf_folder(folder: &Path) -> Result<ModelFile, ModelFileError> {
    let config_path = folder.join("config.json");
    if !config_path.is_file() {
        return Err(invalid(folder, "no config.json: not a Hugging Face model folder"));
    }
    let config = LlmConfig::from_hf_json(&read_json(&config_path)?).map_err(|reason| invalid(&config_path, reason))?;
    let files = weight_files(folder)?;
    let (mut tensors, mut bytes, mut found) = (Vec::new(), 0, BTreeMap::new());
    for file in &files {
        let (entries, size) = safetensors_header(file)?;
        bytes += size;
        for entry in entries {
            found.insert(entry.name.clone(), (entry.shape.clone(), file.clone()));
            tensors.push(entry);
        }
    }
    for expected in config.tensors() {
        match found.get(&expected.name) {
            None => {
                return Err(invalid(
                    folder,
                    format!("config.json describes a tensor `{}` that no safetensors file holds", expected.name),
                ));
            }
            Some((shape, file)) if *shape != expected.shape => {
                return Err(invalid(
                    file,
                    format!(
                        "tensor `{}` is {shape:?} here, but config.json makes it {:?}: the config does not match the weights",
                        expected.name, expected.shape
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ModelFile {
        path: folder.to_owned(),
        format: ModelFormat::HfFolder,
        config,
        tensors,
        bytes,
        weight_files: files,
    })
}

/// A GGUF metadata value as a count.
fn gguf_count(content: &gguf_file::Content, key: &str) -> Option<usize> {
    content.metadata.get(key)?.to_u32().ok().map(|value| value as usize)
}

/// Reads a GGUF file's metadata and tensor table.
pub fn read_gguf(path: &Path) -> Result<ModelFile, ModelFileError> {
    let mut file = BufReader::new(File::open(path).map_err(|error| unreadable(path, error))?);
    let bytes = file.get_ref().metadata().map_err(|error| unreadable(path, error))?.len();
    let content = gguf_file::Content::read(&mut file)
        .map_err(|error| invalid(path, format!("not a readable GGUF file: {error}")))?;
    // The tensor table says where each tensor's data lies; a truncated file lacks some of it.
    for (name, info) in &content.tensor_infos {
        let elements = info.shape.elem_count() as u64;
        let block = info.ggml_dtype.block_size() as u64;
        let size = elements / block.max(1) * info.ggml_dtype.type_size() as u64;
        let end = content.tensor_data_offset + info.offset + size;
        if end > bytes {
            return Err(invalid(
                path,
                format!("truncated: tensor `{name}` ends at byte {end}, but the file has {bytes} bytes"),
            ));
        }
    }
    let architecture = content
        .metadata
        .get("general.architecture")
        .and_then(|value| value.to_string().ok())
        .cloned()
        .unwrap_or_default();
    let family = match architecture.as_str() {
        "llama" => LlmFamily::Llama,
        "qwen2" => LlmFamily::Qwen2,
        "qwen3" => LlmFamily::Qwen3,
        "phi3" => LlmFamily::Phi3,
        other => {
            return Err(invalid(
                path,
                format!(
                    "general.architecture `{other}` is not supported yet; supported: llama (also Mistral), qwen2, qwen3, phi3"
                ),
            ));
        }
    };
    let key = |name: &str| format!("{architecture}.{name}");
    let required = |name: &str| {
        gguf_count(&content, &key(name)).ok_or_else(|| invalid(path, format!("metadata `{}` is missing", key(name))))
    };
    let (hidden, heads) = (required("embedding_length")?, required("attention.head_count")?);
    let mut tensors: Vec<TensorEntry> = content
        .tensor_infos
        .iter()
        .map(|(name, info)| TensorEntry {
            name: name.clone(),
            dtype: format!("{:?}", info.ggml_dtype),
            shape: info.shape.dims().to_vec(),
        })
        .collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let vocab = tensors.iter().find(|tensor| tensor.name == "token_embd.weight").map(|tensor| tensor.shape[0]);
    let float = |name: &str, default: f64| {
        content.metadata.get(&key(name)).and_then(|value| value.to_f32().ok()).map_or(default, f64::from)
    };
    let config = LlmConfig {
        family,
        hidden,
        layers: required("block_count")?,
        heads,
        kv_heads: gguf_count(&content, &key("attention.head_count_kv")).unwrap_or(heads),
        head_dim: gguf_count(&content, &key("attention.key_length")).unwrap_or(hidden / heads.max(1)),
        intermediate: gguf_count(&content, &key("feed_forward_length")).unwrap_or(0),
        vocab: vocab.ok_or_else(|| invalid(path, "has no `token_embd.weight` tensor"))?,
        context: gguf_count(&content, &key("context_length")).unwrap_or(4096),
        tie_embeddings: !tensors.iter().any(|tensor| tensor.name == "output.weight"),
        rms_norm_eps: float("attention.layer_norm_rms_epsilon", 1e-6),
        rope_theta: float("rope.freq_base", 10_000.0),
    };
    Ok(ModelFile {
        path: path.to_owned(),
        format: ModelFormat::Gguf,
        config,
        tensors,
        bytes,
        weight_files: vec![path.to_owned()],
    })
}

/// Tiny models written as Hugging Face folders, for tests of the readers and the runner.
#[cfg(test)]
pub(crate) mod test_folder {
    use std::path::Path;

    use super::LlmConfig;
    use crate::models::generate_weights;
    use crate::suite::{LlmFamily, LlmPreset, LlmSpec};

    /// A tiny model of `family` written as a Hugging Face folder: config.json and the seeded
    /// weights, in one file or in two shards with their index.
    pub(crate) fn write_folder(
        dir: &Path,
        family: LlmFamily,
        sharded: bool,
    ) -> Result<LlmConfig, Box<dyn std::error::Error>> {
        let spec = LlmSpec { family, preset: LlmPreset::Tiny };
        let config = LlmConfig::of_spec(&spec);
        std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&config.to_hf_json())?)?;
        let weights = generate_weights(&spec, 3)?;
        if sharded {
            let (mut first, mut second) = (std::collections::HashMap::new(), std::collections::HashMap::new());
            let mut map = serde_json::Map::new();
            for (name, tensor) in weights {
                let shard = if name.contains("layers.1.") {
                    "model-00002-of-00002.safetensors"
                } else {
                    "model-00001-of-00002.safetensors"
                };
                map.insert(name.clone(), shard.into());
                if shard.starts_with("model-00001") {
                    first.insert(name, tensor)
                } else {
                    second.insert(name, tensor)
                };
            }
            candle_core::safetensors::save(&first, dir.join("model-00001-of-00002.safetensors"))?;
            candle_core::safetensors::save(&second, dir.join("model-00002-of-00002.safetensors"))?;
            let index = serde_json::json!({ "metadata": {}, "weight_map": map });
            std::fs::write(dir.join("model.safetensors.index.json"), index.to_string())?;
        } else {
            candle_core::safetensors::save(&weights, dir.join("model.safetensors"))?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{generate_weights, llm::write_gguf};
    use crate::suite::{LlmPreset, LlmSpec, Quantization};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    use super::test_folder::write_folder;

    fn error_of(result: Result<ModelFile, ModelFileError>) -> String {
        result.err().map(|error| error.to_string()).unwrap_or_default()
    }

    #[test]
    fn every_family_reads_back_from_a_folder_single_or_sharded() -> TestResult {
        for family in LlmFamily::ALL {
            for sharded in [false, true] {
                let dir = tempfile::tempdir()?;
                let config = write_folder(dir.path(), family, sharded)?;
                let model = read_model(dir.path())?;
                assert_eq!(model.config, config, "{family} sharded {sharded}");
                assert_eq!(model.weight_files.len(), if sharded { 2 } else { 1 });
                assert_eq!(model.tensors.len(), config.tensors().len());
                assert_eq!(model.parameter_count(), config.tensors().iter().map(|t| t.elements()).sum::<usize>());
                assert_eq!(model.dtype_counts(), vec![("F32".to_owned(), config.tensors().len())]);
            }
        }
        Ok(())
    }

    #[test]
    fn bad_folders_say_what_is_wrong_and_name_the_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path();
        assert!(error_of(read_model(&path.join("nowhere"))).contains("nowhere: No such file"));
        assert!(error_of(read_model(path)).ends_with("no config.json: not a Hugging Face model folder"));
        write_folder(path, LlmFamily::Qwen3, false)?;
        // An unsupported family.
        let config = std::fs::read_to_string(path.join("config.json"))?;
        std::fs::write(path.join("config.json"), config.replace("\"qwen3\"", "\"gpt2\""))?;
        let error = error_of(read_model(path));
        assert!(
            error.contains(
                "config.json: model_type `gpt2` is not supported yet; supported: llama, mistral, qwen2, qwen3, phi3"
            ),
            "{error}"
        );
        // A config that does not match the tensors.
        std::fs::write(
            path.join("config.json"),
            config.replace("\"intermediate_size\": 192", "\"intermediate_size\": 256"),
        )?;
        let error = error_of(read_model(path));
        assert!(error.contains("model.safetensors: tensor `model.layers.0.mlp.gate_proj.weight` is [192, 64] here, but config.json makes it [256, 64]: the config does not match the weights"), "{error}");
        // A truncated weights file.
        std::fs::write(path.join("config.json"), &config)?;
        let weights = std::fs::read(path.join("model.safetensors"))?;
        std::fs::write(path.join("model.safetensors"), &weights[..weights.len() - 100])?;
        assert!(error_of(read_model(path)).contains("model.safetensors: truncated: tensor"));
        // Not a safetensors file at all.
        std::fs::write(path.join("model.safetensors"), b"hello, this is not a model")?;
        assert!(error_of(read_model(path)).contains("not a safetensors file"));
        // No weights.
        std::fs::remove_file(path.join("model.safetensors"))?;
        assert!(error_of(read_model(path)).contains("has neither model.safetensors nor model.safetensors.index.json"));
        Ok(())
    }

    #[test]
    fn a_gguf_reads_back_with_its_family_shape_and_quantization() -> TestResult {
        for family in LlmFamily::ALL {
            let spec = LlmSpec { family, preset: LlmPreset::Tiny };
            let config = LlmConfig::of_spec(&spec);
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("tiny.gguf");
            let mut file = std::fs::File::create(&path)?;
            write_gguf(&config, &generate_weights(&spec, 3)?, Quantization::Q8_0, &mut file)?;
            drop(file);
            let model = read_model(&path)?;
            // llama.cpp runs Mistral as llama.
            let expected_family = if family == LlmFamily::Mistral { LlmFamily::Llama } else { family };
            // GGUF keeps the norm's epsilon as an f32.
            assert!((model.config.rms_norm_eps - config.rms_norm_eps).abs() < 1e-12);
            let expected =
                LlmConfig { family: expected_family, rms_norm_eps: model.config.rms_norm_eps, ..config.clone() };
            assert_eq!(model.config, expected, "{family}");
            assert!(model.dtype_counts().iter().any(|(dtype, _)| dtype == "Q8_0"), "{:?}", model.dtype_counts());
            // Truncated: the tensor table points past the end.
            let bytes = std::fs::read(&path)?;
            std::fs::write(&path, &bytes[..bytes.len() - 64])?;
            assert!(error_of(read_model(&path)).contains("tiny.gguf: truncated: tensor"), "{family}");
            std::fs::write(&path, b"GGUF but nothing else")?;
            assert!(error_of(read_model(&path)).contains("tiny.gguf: not a readable GGUF file"));
        }
        Ok(())
    }
}
