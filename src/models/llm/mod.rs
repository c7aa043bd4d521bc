//! Language models of real families, built by `candle-transformers` (never re-implemented here):
//! the configuration phasebench needs of them, the tensors a family's checkpoint holds (in Hugging
//! Face names), and [`TextModel`], the small interface the runner times every family through.

mod families;
mod files;
mod gguf;
mod source;

use candle_core::Tensor;
use candle_nn::VarBuilder;

pub use families::{build_text_model, build_text_model_with_config, greedy_tokens};
pub(crate) use files::safetensors_header;
#[cfg(test)]
pub(crate) use files::test_folder;
pub use files::{ModelFile, ModelFileError, ModelFormat, TensorEntry, read_gguf, read_hf_folder, read_model};
pub use gguf::{QUANTIZED_BATCH_LIMIT, build_quantized, gguf_architecture, load_quantized, write_gguf};
pub use source::{
    FileModel, file_model, load_folder_weights, load_gguf_model, model_file_problems, workload_file_model,
    write_gguf_file, write_hf_folder,
};

use super::{Architecture, BuildOptions, Network, ParamInit, ParamTensor};
use crate::suite::{LlmFamily, LlmSpec};

/// What phasebench needs to know of a decoder-only language model: its family and shape.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmConfig {
    /// The architecture family.
    pub family: LlmFamily,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of one attention head.
    pub head_dim: usize,
    /// Width of the gated MLP.
    pub intermediate: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Longest sequence the model is built for (positions of the rotary embedding).
    pub context: usize,
    /// Whether the output projection shares the token embedding's weights.
    pub tie_embeddings: bool,
    /// Epsilon of the RMS norms.
    pub rms_norm_eps: f64,
    /// Base of the rotary position embedding.
    pub rope_theta: f64,
}

impl LlmConfig {
    /// The configuration of a seeded model: the preset's shape in the family's usual form (the
    /// Qwen families tie their embeddings, as their small checkpoints do).
    pub fn of_spec(spec: &LlmSpec) -> Self {
        let shape = spec.preset.shape();
        let qwen = matches!(spec.family, LlmFamily::Qwen2 | LlmFamily::Qwen3);
        Self {
            family: spec.family,
            hidden: shape.hidden,
            layers: shape.layers,
            heads: shape.heads,
            kv_heads: shape.kv_heads,
            head_dim: shape.hidden / shape.heads.max(1),
            intermediate: shape.intermediate,
            vocab: shape.vocab,
            context: shape.context,
            tie_embeddings: qwen,
            rms_norm_eps: 1e-6,
            rope_theta: if qwen { 1_000_000.0 } else { 10_000.0 },
        }
    }

    /// The model's `config.json` as Hugging Face writes it for the family (every family reads the
    /// keys it knows and ignores the rest).
    pub fn to_hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "model_type": self.family.model_type(),
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "vocab_size": self.vocab,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "max_position_embeddings": self.context,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "tie_word_embeddings": self.tie_embeddings,
            "hidden_act": "silu",
            "attention_bias": false,
            "sliding_window": self.context,
            "use_sliding_window": false,
            "max_window_layers": self.layers,
            "torch_dtype": "float32",
            // The placeholder vocabulary's (see the GGUF writer); no padding token, which
            // transformers' Phi-3 would otherwise put at id 32 000, past a small vocabulary.
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": null,
        })
    }

    /// Every tensor of the model in Hugging Face's names and shapes: the embedding and linear
    /// weights scaled by the inverse square root of their width, norms ones, biases zeros.
    pub fn tensors(&self) -> Vec<ParamTensor> {
        let (hidden, q_width, kv_width) = (self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim);
        let linear = |name: String, out_dim: usize, in_dim: usize| {
            ParamTensor::linear(name, vec![out_dim, in_dim], ParamInit::Normal(1.0 / (in_dim as f64).sqrt()))
        };
        // The embedding is quantized with the linear weights, as llama.cpp does. Scaled like the
        // output projection, which it is in the tied families: logits of unit variance, not of a
        // one-hot peakedness that no trained model has.
        let embedding_init = ParamInit::Normal(1.0 / (hidden as f64).sqrt());
        let embedding = ParamTensor::linear("model.embed_tokens.weight", vec![self.vocab, hidden], embedding_init);
        let mut tensors = vec![embedding];
        for layer in 0..self.layers {
            let at = |name: &str| format!("model.layers.{layer}.{name}");
            if self.family == LlmFamily::Phi3 {
                // Phi-3 fuses the query, key and value projections, and the gate and up ones.
                tensors.push(linear(at("self_attn.qkv_proj.weight"), q_width + 2 * kv_width, hidden));
            } else {
                tensors.push(linear(at("self_attn.q_proj.weight"), q_width, hidden));
                tensors.push(linear(at("self_attn.k_proj.weight"), kv_width, hidden));
                tensors.push(linear(at("self_attn.v_proj.weight"), kv_width, hidden));
            }
            tensors.push(linear(at("self_attn.o_proj.weight"), hidden, q_width));
            if self.family == LlmFamily::Qwen2 {
                for (name, width) in [("q_proj", q_width), ("k_proj", kv_width), ("v_proj", kv_width)] {
                    tensors.push(ParamTensor::new(
                        at(&format!("self_attn.{name}.bias")),
                        vec![width],
                        ParamInit::Zeros,
                    ));
                }
            }
            if self.family == LlmFamily::Qwen3 {
                for name in ["q_norm", "k_norm"] {
                    let name = at(&format!("self_attn.{name}.weight"));
                    tensors.push(ParamTensor::new(name, vec![self.head_dim], ParamInit::Ones));
                }
            }
            if self.family == LlmFamily::Phi3 {
                tensors.push(linear(at("mlp.gate_up_proj.weight"), 2 * self.intermediate, hidden));
            } else {
                tensors.push(linear(at("mlp.gate_proj.weight"), self.intermediate, hidden));
                tensors.push(linear(at("mlp.up_proj.weight"), self.intermediate, hidden));
            }
            tensors.push(linear(at("mlp.down_proj.weight"), hidden, self.intermediate));
            for name in ["input_layernorm.weight", "post_attention_layernorm.weight"] {
                tensors.push(ParamTensor::new(at(name), vec![hidden], ParamInit::Ones));
            }
        }
        tensors.push(ParamTensor::new("model.norm.weight", vec![hidden], ParamInit::Ones));
        if !self.tie_embeddings {
            tensors.push(linear("lm_head.weight".into(), self.vocab, hidden));
        }
        tensors
    }

    /// Bytes the KV cache holds for `batch` sequences of `tokens` tokens, in elements of
    /// `dtype_bytes`: keys and values of every layer.
    pub fn kv_cache_bytes(&self, batch: usize, tokens: usize, dtype_bytes: usize) -> u64 {
        (2 * self.layers * self.kv_heads * self.head_dim * tokens * batch * dtype_bytes) as u64
    }
}

/// The name of the seed stream a run's prompt token ids are drawn from.
pub const PROMPT_STREAM: &str = "prompt";

/// Seeded token ids below `vocab`: the prompts (and probe sequences) of text generation.
pub fn seeded_tokens(count: usize, vocab: usize, seed: u64) -> Vec<u32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count).map(|_| rng.random_range(0..vocab.max(1) as u32)).collect()
}

/// A built language model, ready to generate on one device in one dtype.
pub trait TextModel: Send {
    /// Runs the token ids `ids` (`[batch, tokens]`, u32) at positions from `offset` on, extending
    /// the KV cache, and returns the last position's logits as f32 `[batch, vocab]`.
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor>;
    /// Forgets the KV cache: the next forward starts a new sequence at offset 0.
    fn clear_cache(&mut self);
}

impl Architecture for LlmSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        LlmConfig::of_spec(self).tensors()
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, 1]
    }

    /// Two operations per parameter and token, the embedding lookup aside (attention over the
    /// context is not counted).
    fn flops_per_item(&self) -> Option<f64> {
        let config = LlmConfig::of_spec(self);
        let params: usize = config.tensors().iter().map(ParamTensor::elements).sum();
        // A tied embedding is also the output projection: its products count once.
        let lookup_only = if config.tie_embeddings { 0 } else { config.vocab * config.hidden };
        Some(2.0 * (params - lookup_only) as f64)
    }

    fn build(&self, _vb: VarBuilder, _options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        candle_core::bail!("a language model runs in mode TextGeneration")
    }

    fn language_model(&self) -> Option<LlmConfig> {
        Some(LlmConfig::of_spec(self))
    }
}
