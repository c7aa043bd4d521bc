//! The record of a text-generation run beside its decode steps, and of a model file's read.

use serde::{Deserialize, Serialize};

/// What a text-generation run measured besides its decode steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextGenerationRecord {
    /// Tokens of each prompt.
    pub prompt_tokens: usize,
    /// Tokens generated per generation (the prefill's first token and one per decode step).
    pub new_tokens: usize,
    /// Whether the KV cache was kept (otherwise every token recomputed the whole context).
    pub kv_cache: bool,
    /// The model's vocabulary: the width of each row of next-token logits in the accuracy probe.
    pub vocab: usize,
    /// Bytes the KV cache holds at the end of a generation (from the model's configuration; none
    /// is held without the cache).
    pub kv_cache_bytes: u64,
    /// Each measured prefill (the prompt through the model, device synchronized), in seconds.
    pub prefill_secs: Vec<f64>,
    /// Each measured time to first token (prefill and picking the first token), in seconds.
    pub ttft_secs: Vec<f64>,
    /// Each complete measured generation (time to first token plus its decode steps), in seconds.
    pub generation_secs: Vec<f64>,
    /// The model's family as Hugging Face's `model_type` names it (`llama`, `qwen3`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The file the phase ran, when it ran a GGUF: its path and its matrices' block formats
    /// (`Q4K`, or `Q4K+Q6K` for a mix, most used first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<GgufRecord>,
}

/// The GGUF file a text-generation phase ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GgufRecord {
    /// Where the file was read.
    pub path: String,
    /// Block formats of its matrices, most used first, joined by `+`.
    pub weight_types: String,
    /// Bytes of the file.
    pub bytes: u64,
}

impl TextGenerationRecord {
    /// Prompt tokens per second at the median prefill, for `batch` sequences.
    pub fn prefill_tokens_per_sec(&self, batch: usize) -> Option<f64> {
        let median = crate::stats::median(&self.prefill_secs).ok()?;
        (median > 0.0).then(|| (batch * self.prompt_tokens) as f64 / median)
    }

    /// The median time to first token, in seconds.
    pub fn median_ttft_secs(&self) -> Option<f64> {
        crate::stats::median(&self.ttft_secs).ok()
    }
}

/// The read of a workload's model files from disk (a Hugging Face folder's safetensors, a GGUF, a
/// `weights` file): once per workload, shared by its runs (a GGUF phase reads its file per run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileLoadRecord {
    /// Bytes of the files read.
    pub bytes: u64,
    /// Seconds to read them (for a GGUF, to read it into candle's quantized model).
    pub read_secs: f64,
    /// Fraction of those bytes the operating system had in its page cache just before the read
    /// (util-linux `fincore`): near 1 is a warm load, near 0 a cold one from the disk. Absent where
    /// it cannot be told.
    #[serde(default)]
    pub page_cache_fraction: Option<f64>,
    /// Whether `read_secs` also holds the model's build (a GGUF is read into candle's quantized
    /// model in one call), so it is the run's whole load.
    #[serde(default)]
    pub includes_build: bool,
    /// Each component's share of the read, for a pipeline read from a diffusers folder (the UNet
    /// or transformer, the autoencoder, each text encoder), in reading order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentLoad>,
}

pub use crate::models::diffusion::ComponentLoad;

impl FileLoadRecord {
    /// One line: bytes, seconds and the page-cache state, e.g. `read 1.2 GiB in 0.80 s (98 % in
    /// the page cache)`, or `read and build …` when the build is in the same figure.
    pub fn text(&self) -> String {
        let cache = match self.page_cache_fraction {
            Some(fraction) => format!(" ({:.0} % in the page cache)", 100.0 * fraction),
            None => String::new(),
        };
        let verb = if self.includes_build { "read and build" } else { "read" };
        let components: Vec<String> = self
            .components
            .iter()
            .map(|load| format!("{} {}", load.component, crate::units::format_secs(load.read_secs)))
            .collect();
        let components = if components.is_empty() { String::new() } else { format!(": {}", components.join(", ")) };
        format!(
            "{verb} {} in {}{cache}{components}",
            crate::units::format_bytes(self.bytes as f64),
            crate::units::format_secs(self.read_secs)
        )
    }
}
