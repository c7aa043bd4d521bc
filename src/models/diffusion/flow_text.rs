//! SD3's and Flux's text encoders, as their diffusers pipelines use them: CLIP (SD3: CLIP-L and
//! CLIP-G with their projections; Flux: CLIP-L's pooled output) and T5's encoder
//! (`T5EncoderModel`), built by candle-transformers; and the T5 encoder's `config.json`.

use std::sync::{Mutex, PoisonError};

use candle_core::{D, IndexOp, Tensor};
use candle_nn::{Module, VarBuilder};
use candle_transformers::models::t5;
use serde::{Deserialize, Serialize};

use super::{Conditioning, TextEncoder};
use crate::suite::Pipeline;

/// A T5 encoder's `config.json` (SD3's `text_encoder_3/`, Flux's `text_encoder_2/`; the keys
/// phasebench reads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct T5EncoderConfig {
    /// Token vocabulary.
    pub vocab_size: usize,
    /// Width.
    pub d_model: usize,
    /// Width of a head.
    pub d_kv: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Layers.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Relative-position buckets.
    pub relative_attention_num_buckets: usize,
    /// Largest relative distance told apart.
    pub relative_attention_max_distance: usize,
    /// Norm epsilon.
    pub layer_norm_epsilon: f64,
    /// `gated-gelu` (T5 v1.1, as SD3 and Flux use) or `relu`.
    pub feed_forward_proj: String,
}

impl Default for T5EncoderConfig {
    /// T5 v1.1 XXL's encoder (google/t5-v1_1-xxl), SD3's and Flux's.
    fn default() -> Self {
        Self {
            vocab_size: 32128,
            d_model: 4096,
            d_kv: 64,
            d_ff: 10240,
            num_layers: 24,
            num_heads: 64,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            layer_norm_epsilon: 1e-6,
            feed_forward_proj: "gated-gelu".into(),
        }
    }
}

impl T5EncoderConfig {
    /// The file as transformers writes it: these keys and the ones it needs beside them.
    pub fn file_json(&self) -> serde_json::Result<serde_json::Value> {
        let mut value = serde_json::to_value(self)?;
        if let Some(object) = value.as_object_mut() {
            object.extend(
                serde_json::json!({
                    "architectures": ["T5EncoderModel"], "model_type": "t5", "is_encoder_decoder": true,
                    "dropout_rate": 0.1, "initializer_factor": 1.0, "pad_token_id": 0, "eos_token_id": 1,
                    "decoder_start_token_id": 0, "tie_word_embeddings": false, "dense_act_fn": "gelu_new",
                    "is_gated_act": self.feed_forward_proj.starts_with("gated"),
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            );
        }
        Ok(value)
    }

    /// candle's configuration.
    pub fn candle(&self) -> serde_json::Result<t5::Config> {
        serde_json::from_value(self.file_json()?)
    }
}

/// Tokens of a flow pipeline's T5 prompt, as diffusers' pipelines give them (SD3 and Flux
/// schnell 256, Flux dev 512).
pub fn t5_tokens(pipeline: Pipeline) -> usize {
    match pipeline {
        Pipeline::Flux(crate::suite::FluxVariant::Dev) => 512,
        _ => 256,
    }
}

/// SD3's or Flux's text encoders, built.
pub struct FlowText {
    pipeline: Pipeline,
    clips: Vec<(TextEncoder, Option<candle_nn::Linear>)>,
    t5: Mutex<t5::T5EncoderModel>,
    t5_vocab: usize,
    t5_width: usize,
}

impl FlowText {
    /// Builds the CLIP encoders (under `folders`, SD3's with their projections) and T5 (under
    /// `t5_folder`).
    pub fn build(
        pipeline: Pipeline,
        clips: &[super::TextEncoderConfig],
        folders: &[&str],
        t5_folder: &str,
        t5_config: &T5EncoderConfig,
        vb: &VarBuilder,
    ) -> candle_core::Result<Self> {
        let sd3 = matches!(pipeline, Pipeline::Sd3(_));
        let clips = clips
            .iter()
            .zip(folders)
            .map(|(config, folder)| {
                let encoder = TextEncoder::build(config, vb.pp(*folder))?;
                let projection = sd3
                    .then(|| {
                        candle_nn::linear_no_bias(
                            config.hidden_size,
                            config.projection_dim,
                            vb.pp(*folder).pp("text_projection"),
                        )
                    })
                    .transpose()?;
                Ok((encoder, projection))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let candle_config = t5_config.candle().map_err(|error| candle_core::Error::Msg(error.to_string()))?;
        let t5 = t5::T5EncoderModel::load(vb.pp(t5_folder), &candle_config)?;
        Ok(Self { pipeline, clips, t5: Mutex::new(t5), t5_vocab: t5_config.vocab_size, t5_width: t5_config.d_model })
    }

    /// The conditioning of CLIP token ids `[rows, tokens]` (T5's ids are derived from them):
    /// SD3 — CLIP-L's and CLIP-G's penultimate layers side by side, padded to T5's width, then
    /// T5's tokens; pooled, their projected end-of-text outputs. Flux — T5's tokens; pooled,
    /// CLIP-L's end-of-text output.
    pub fn encode(&self, ids: &Tensor) -> candle_core::Result<Conditioning> {
        let rows = ids.to_vec2::<u32>()?;
        // Each prompt ends at its largest id (the first, as `argmax` finds it), as CLIP's
        // end-of-text token is its vocabulary's last.
        let ends: Vec<usize> = rows
            .iter()
            .map(|row| row.iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(at, _)| at))
            .collect();
        let tokens = t5_tokens(self.pipeline);
        let t5_ids: Vec<u32> = rows
            .iter()
            .flat_map(|row| {
                (0..tokens).map(move |at| {
                    let id = row.get(at % row.len().max(1)).copied().unwrap_or(0) as usize;
                    ((id * 31 + at) % self.t5_vocab.max(1)) as u32
                })
            })
            .collect();
        let t5_ids = Tensor::from_vec(t5_ids, (rows.len(), tokens), ids.device())?;
        let t5 = self.t5.lock().unwrap_or_else(PoisonError::into_inner).forward(&t5_ids)?;
        let mut hidden = Vec::new();
        let mut pooled = Vec::new();
        for (encoder, projection) in &self.clips {
            let (last, penultimate) = encoder.encode_layers(ids)?;
            let ends = ends
                .iter()
                .enumerate()
                .map(|(row, &end)| last.i((row, end)))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let end = Tensor::stack(&ends, 0)?;
            pooled.push(match projection {
                Some(projection) => projection.forward(&end)?,
                None => end,
            });
            hidden.push(penultimate);
        }
        let pooled = Tensor::cat(&pooled, D::Minus1)?;
        if !matches!(self.pipeline, Pipeline::Sd3(_)) {
            return Ok(Conditioning { context: t5, pooled: Some(pooled) });
        }
        let clip = Tensor::cat(&hidden, D::Minus1)?;
        let missing = self.t5_width.saturating_sub(clip.dim(D::Minus1)?);
        let clip = clip.pad_with_zeros(D::Minus1, 0, missing)?;
        Ok(Conditioning { context: Tensor::cat(&[&clip, &t5.to_dtype(clip.dtype())?], 1)?, pooled: Some(pooled) })
    }
}
