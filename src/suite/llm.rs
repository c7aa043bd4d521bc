//! The suite types of language models: a real architecture from `candle-transformers` with seeded
//! weights in a preset size, and the text-generation mode (prefill, then one token per step).

use serde::{Deserialize, Serialize};

use super::{DTypeSpec, Phase, Quantization};

/// A language model of a real family (as Hugging Face and candle-transformers build it) with
/// weights generated from the seed, written `Llm(family: Llama, preset: Tiny)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSpec {
    /// The architecture family.
    pub family: LlmFamily,
    /// The size: a preset or an explicit shape.
    #[serde(default)]
    pub preset: LlmPreset,
}

impl LlmSpec {
    /// Why `phase` cannot run this model at `batches`, each message continuing "workload `name`":
    /// a quantized phase runs in f32, at batch 1 (candle-transformers 0.11's quantized models),
    /// with blocks that fit the model's widths.
    pub fn phase_problems(&self, phase: &Phase, batches: &[usize]) -> Vec<String> {
        let shape = self.preset.shape();
        let mut problems = quantized_phase_problems(phase, batches);
        problems.extend(quantization_block_problems(phase, shape.hidden, shape.intermediate));
        problems
    }
}

/// Why a quantizing `phase` cannot quantize a model of widths `hidden` and `intermediate`, each
/// message continuing "workload `name`": its blocks must divide both.
pub fn quantization_block_problems(phase: &Phase, hidden: usize, intermediate: usize) -> Vec<String> {
    let Some(quantization) = phase.quantization else { return Vec::new() };
    let name = &phase.name;
    let block = match quantization {
        Quantization::Q8_0 | Quantization::Q4_0 => 32,
        Quantization::Q4K => 256,
    };
    let mut problems = Vec::new();
    for (field, width) in [("hidden", hidden), ("intermediate", intermediate)] {
        if !width.is_multiple_of(block) {
            problems.push(format!(
                ": phase `{name}` quantizes to {quantization}, whose blocks are {block} wide, but the model's `{field}` is {width}; use a size that is a multiple of {block} or another quantization"
            ));
        }
    }
    problems
}

/// Why a quantized `phase` cannot generate text at `batches` whatever the model's shape, each
/// message continuing "workload `name`": candle-transformers 0.11's quantized language models run
/// one sequence at a time, in f32.
pub(super) fn quantized_phase_problems(phase: &Phase, batches: &[usize]) -> Vec<String> {
    let name = &phase.name;
    let mut problems = Vec::new();
    if phase.quantization.is_none() {
        return problems;
    }
    if batches.iter().any(|&batch| batch > 1) {
        problems.push(format!(
            " generates text at batch sizes above 1, but phase `{name}` quantizes: candle-transformers 0.11's quantized language models run one sequence at a time; give the phase `batch_size: 1`"
        ));
    }
    if phase.dtype != DTypeSpec::F32 {
        problems.push(format!(
            " generates text, and phase `{name}` both quantizes and sets dtype {}; a quantized language model computes in f32 (candle's quantized models), so drop the dtype",
            phase.dtype
        ));
    }
    problems
}

impl Default for LlmSpec {
    fn default() -> Self {
        Self { family: LlmFamily::Llama, preset: LlmPreset::Tiny }
    }
}

/// A language-model architecture family, as Hugging Face's `model_type` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LlmFamily {
    /// Llama 2/3 (`model_type: llama`).
    Llama,
    /// Mistral (`model_type: mistral`).
    Mistral,
    /// Qwen2 and Qwen2.5 (`model_type: qwen2`): biases on the query, key and value projections.
    Qwen2,
    /// Qwen3 (`model_type: qwen3`): RMS norms on queries and keys.
    Qwen3,
    /// Phi-3 and Phi-3.5 (`model_type: phi3`): fused query/key/value and gate/up projections.
    Phi3,
}

impl LlmFamily {
    /// Every family, in the order the editor lists them.
    pub const ALL: [Self; 5] = [Self::Llama, Self::Mistral, Self::Qwen2, Self::Qwen3, Self::Phi3];

    /// The family's `model_type` in a Hugging Face `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Mistral => "mistral",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
            Self::Phi3 => "phi3",
        }
    }

    /// The family of a `model_type`, when phasebench supports it.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|family| family.model_type() == model_type)
    }
}

impl std::fmt::Display for LlmFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.model_type())
    }
}

/// The size of a seeded language model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LlmPreset {
    /// ~0.16 M parameters: tests and a first look (hidden 64, 2 layers, vocabulary 512).
    #[default]
    Tiny,
    /// ~25 M parameters (hidden 512, 6 layers, vocabulary 8 192).
    Small,
    /// ~125 M parameters, a GPT-2-small-like shape (hidden 768, 12 layers, vocabulary 32 000).
    Medium,
    /// ~0.4 B parameters, a Qwen-0.5B-like shape (hidden 1 024, 24 layers, vocabulary 65 536).
    /// Counts are for untied embeddings (Llama, Mistral); the Qwen families tie them: fewer.
    Large,
    /// An explicit shape.
    Custom(LlmShape),
}

/// The shape of a decoder-only language model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmShape {
    /// Width of the residual stream.
    pub hidden: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Query heads; must divide `hidden`.
    pub heads: usize,
    /// Key/value heads (grouped-query attention); must divide `heads`.
    pub kv_heads: usize,
    /// Width of the gated MLP.
    pub intermediate: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Longest sequence (prompt and generated tokens) the model is built for.
    pub context: usize,
}

impl LlmPreset {
    /// The shape this preset stands for.
    pub fn shape(self) -> LlmShape {
        let shape = |hidden, layers, heads, kv_heads, intermediate, vocab| LlmShape {
            hidden,
            layers,
            heads,
            kv_heads,
            intermediate,
            vocab,
            context: 4096,
        };
        match self {
            Self::Tiny => shape(64, 2, 4, 2, 192, 512),
            Self::Small => shape(512, 6, 8, 2, 1536, 8192),
            Self::Medium => shape(768, 12, 12, 4, 2048, 32_000),
            Self::Large => shape(1024, 24, 16, 8, 2816, 65_536),
            Self::Custom(shape) => shape,
        }
    }

    /// The preset's name as written in suites.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "Tiny",
            Self::Small => "Small",
            Self::Medium => "Medium",
            Self::Large => "Large",
            Self::Custom(_) => "Custom",
        }
    }
}

/// Settings of text generation: a prompt of `prompt_tokens` seeded token ids is processed at once
/// (prefill, which ends with the first new token: time to first token), then each further token is
/// one measured step (decode); `new_tokens` tokens in all make one generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextGenerationSpec {
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated per generation, the first one included (at least 2).
    pub new_tokens: usize,
}

impl Default for TextGenerationSpec {
    fn default() -> Self {
        Self { prompt_tokens: 128, new_tokens: 32 }
    }
}
