//! One adapter per family: builds `candle-transformers`' model from a [`VarBuilder`] and serves it
//! through [`TextModel`].

use candle_core::{D, DType, IndexOp, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{llama, mistral, phi3, qwen2, qwen3};

use super::{LlmConfig, TextModel};
use crate::suite::LlmFamily;

/// Builds the family's model from weights served by `vb` (in the phase's dtype and device).
pub fn build_text_model(config: &LlmConfig, vb: VarBuilder) -> candle_core::Result<Box<dyn TextModel>> {
    build_text_model_with_config(config, None, vb)
}

/// Builds the family's model as [`build_text_model`] does, from the checkpoint's own
/// `config.json` when there is one: its keys (rope scaling, sliding windows…) override the ones
/// phasebench derives from the shape, which fill in only what it lacks.
pub fn build_text_model_with_config(
    config: &LlmConfig,
    config_json: Option<&serde_json::Value>,
    vb: VarBuilder,
) -> candle_core::Result<Box<dyn TextModel>> {
    let mut json = config.to_hf_json();
    if let (Some(own), Some(merged)) = (config_json.and_then(serde_json::Value::as_object), json.as_object_mut()) {
        for (key, value) in own.iter().filter(|(_, value)| !value.is_null()) {
            merged.insert(key.clone(), value.clone());
        }
    }
    let parse = |error: serde_json::Error| candle_core::Error::Msg(format!("{} config: {error}", config.family));
    Ok(match config.family {
        LlmFamily::Llama => {
            let llama_config: llama::LlamaConfig = serde_json::from_value(json).map_err(parse)?;
            let llama_config = llama_config.into_config(false);
            let (dtype, device) = (vb.dtype(), vb.device().clone());
            let model = llama::Llama::load(vb, &llama_config)?;
            let empty = llama::Cache::new(true, dtype, &llama_config, &device)?;
            Box::new(Llama { model, cache: empty.clone(), empty })
        }
        LlmFamily::Mistral => {
            let mistral_config: mistral::Config = serde_json::from_value(json).map_err(parse)?;
            Box::new(Mistral(mistral::Model::new(&mistral_config, vb)?))
        }
        LlmFamily::Qwen2 => {
            let qwen_config: qwen2::Config = serde_json::from_value(json).map_err(parse)?;
            Box::new(Qwen2(qwen2::ModelForCausalLM::new(&qwen_config, vb)?))
        }
        LlmFamily::Qwen3 => {
            let qwen_config: qwen3::Config = serde_json::from_value(json).map_err(parse)?;
            Box::new(Qwen3(qwen3::ModelForCausalLM::new(&qwen_config, vb)?))
        }
        LlmFamily::Phi3 => {
            let phi_config: phi3::Config = serde_json::from_value(json).map_err(parse)?;
            Box::new(Phi3(phi3::Model::new(&phi_config, vb)?))
        }
    })
}

/// The last position's logits as f32 `[batch, vocab]`, from `[batch, vocab]` or
/// `[batch, positions, vocab]`.
pub(super) fn last_logits(logits: Tensor) -> candle_core::Result<Tensor> {
    let logits = match logits.rank() {
        3 => {
            let positions = logits.dim(1)?;
            logits.i((.., positions - 1, ..))?
        }
        _ => logits,
    };
    logits.to_dtype(DType::F32)
}

struct Llama {
    model: llama::Llama,
    cache: llama::Cache,
    /// An empty cache with the rotary tables computed once: clearing clones it (shared tensors)
    /// instead of recomputing the tables, which without the KV cache happens inside every
    /// measured decode step.
    empty: llama::Cache,
}

impl TextModel for Llama {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        last_logits(self.model.forward(ids, offset, &mut self.cache)?)
    }

    fn clear_cache(&mut self) {
        self.cache = self.empty.clone();
    }
}

struct Mistral(mistral::Model);

impl TextModel for Mistral {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct Qwen2(qwen2::ModelForCausalLM);

impl TextModel for Qwen2 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct Qwen3(qwen3::ModelForCausalLM);

impl TextModel for Qwen3 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

struct Phi3(phi3::Model);

impl TextModel for Phi3 {
    fn forward(&mut self, ids: &Tensor, offset: usize) -> candle_core::Result<Tensor> {
        last_logits(self.0.forward(ids, offset)?)
    }

    fn clear_cache(&mut self) {
        self.0.clear_kv_cache();
    }
}

/// The most likely next token of each sequence, as `[batch, 1]` u32 ids on the logits' device
/// (greedy decoding: the argmax runs where the model does).
pub fn greedy_tokens(logits: &Tensor) -> candle_core::Result<Tensor> {
    logits.argmax_keepdim(D::Minus1)
}
