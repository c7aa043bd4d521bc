//! The transformer denoisers of SD3 (MMDiT) and Flux as diffusers stores them: the
//! `transformer/config.json` keys, and the tensor names of diffusers' `SD3Transformer2DModel` and
//! `FluxTransformer2DModel` next to the original (SAI / Black Forest Labs) names candle-transformers
//! builds under. Diffusers keeps q, k and v apart where the originals fuse them, and orders the
//! final modulation (scale, shift) where the originals write (shift, scale); the tables below are
//! diffusers' own conversion (`single_file_utils.py`) read backwards.

use std::collections::HashMap;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::config::TransformerDenoiser;
use crate::suite::Pipeline;

/// `transformer/config.json` of an SD3 or Flux pipeline (the keys phasebench reads; others are
/// ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransformerFile {
    /// `SD3Transformer2DModel` or `FluxTransformer2DModel`.
    #[serde(rename = "_class_name")]
    pub class_name: String,
    /// Latent side the model was trained at (SD3).
    pub sample_size: usize,
    /// Latent cells per token on a side (2 for SD3, 1 for Flux, whose latents come packed).
    pub patch_size: usize,
    /// Channels in (Flux: the packed latent's, four times the autoencoder's).
    pub in_channels: usize,
    /// Joint (SD3) or double-stream (Flux) blocks.
    pub num_layers: usize,
    /// Single-stream blocks (Flux).
    #[serde(skip_serializing_if = "is_zero")]
    pub num_single_layers: usize,
    /// Width of a head.
    pub attention_head_dim: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Width of the text tokens.
    pub joint_attention_dim: usize,
    /// Width the text tokens are projected to (SD3; the residual width).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption_projection_dim: Option<usize>,
    /// Width of the pooled text embedding.
    pub pooled_projection_dim: usize,
    /// Positions of the largest latent side the position embedding covers, in patches (SD3).
    #[serde(skip_serializing_if = "is_zero")]
    pub pos_embed_max_size: usize,
    /// Whether the guidance scale is an input (Flux dev).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guidance_embeds: bool,
    /// Rotary embedding widths per axis (Flux).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub axes_dims_rope: Vec<usize>,
}

impl Default for TransformerFile {
    /// SD3 Medium's transformer.
    fn default() -> Self {
        Self {
            class_name: "SD3Transformer2DModel".into(),
            sample_size: 128,
            patch_size: 2,
            in_channels: 16,
            num_layers: 24,
            num_single_layers: 0,
            attention_head_dim: 64,
            num_attention_heads: 24,
            joint_attention_dim: 4096,
            caption_projection_dim: None,
            pooled_projection_dim: 2048,
            pos_embed_max_size: 192,
            guidance_embeds: false,
            axes_dims_rope: vec![16, 56, 56],
        }
    }
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

/// The class diffusers gives the transformer of `pipeline`.
pub fn class_name(pipeline: Pipeline) -> &'static str {
    if matches!(pipeline, Pipeline::Flux(_)) { "FluxTransformer2DModel" } else { "SD3Transformer2DModel" }
}

impl TransformerFile {
    /// The denoiser this file describes for a pipeline of `pipeline` whose autoencoder has
    /// `latent_channels`; the error says which key candle cannot build.
    pub fn denoiser(&self, pipeline: Pipeline, latent_channels: usize) -> Result<TransformerDenoiser, String> {
        let expected = class_name(pipeline);
        if self.class_name != expected {
            return Err(format!(
                "transformer/config.json is a {:?}, but {pipeline} has a {expected:?}",
                self.class_name
            ));
        }
        let hidden = self.attention_head_dim * self.num_attention_heads;
        if hidden == 0 || self.num_layers == 0 {
            return Err(
                "transformer/config.json: `num_layers`, `attention_head_dim` and `num_attention_heads` must be above 0"
                    .into(),
            );
        }
        if let Pipeline::Flux(_) = pipeline {
            let axes: [usize; 3] = self.axes_dims_rope.as_slice().try_into().map_err(|_| {
                format!(
                    "transformer/config.json: `axes_dims_rope` has {} widths; Flux has 3",
                    self.axes_dims_rope.len()
                )
            })?;
            if axes.iter().sum::<usize>() != self.attention_head_dim {
                return Err(format!(
                    "transformer/config.json: `axes_dims_rope` {axes:?} add up to {}, not `attention_head_dim` {}",
                    axes.iter().sum::<usize>(),
                    self.attention_head_dim
                ));
            }
            if self.patch_size != 1 || self.in_channels != 4 * latent_channels {
                return Err(format!(
                    "transformer/config.json: `patch_size` {} and `in_channels` {}; Flux takes latents packed 2×2 (patch size 1, 4 × the autoencoder's {latent_channels} channels = {})",
                    self.patch_size,
                    self.in_channels,
                    4 * latent_channels
                ));
            }
            return Ok(TransformerDenoiser::Flux {
                hidden,
                heads: self.num_attention_heads,
                double_blocks: self.num_layers,
                single_blocks: self.num_single_layers,
                pooled: self.pooled_projection_dim,
                context: self.joint_attention_dim,
                axes_dim: axes,
                guidance_embed: self.guidance_embeds,
            });
        }
        // candle's MMDiT has as many heads as joint blocks and patches of 2, as every SD3 has.
        if self.num_attention_heads != self.num_layers || self.patch_size != 2 {
            return Err(format!(
                "transformer/config.json: {} heads in {} blocks with `patch_size` {}; candle-transformers' MMDiT has as many heads as blocks and patches of 2 (as SD3 and SD3.5 have)",
                self.num_attention_heads, self.num_layers, self.patch_size
            ));
        }
        if self.caption_projection_dim.is_some_and(|width| width != hidden) || self.in_channels != latent_channels {
            return Err(format!(
                "transformer/config.json: `caption_projection_dim` {:?} and `in_channels` {} must be the residual width {hidden} and the autoencoder's {latent_channels} channels",
                self.caption_projection_dim, self.in_channels
            ));
        }
        Ok(TransformerDenoiser::Mmdit {
            depth: self.num_layers,
            head_size: self.attention_head_dim,
            pooled: self.pooled_projection_dim,
            context: self.joint_attention_dim,
            pos_embed_max_size: self.pos_embed_max_size,
        })
    }

    /// The file that describes `denoiser` (the latent side `sample_size` for SD3).
    pub fn describing(denoiser: &TransformerDenoiser, latent_channels: usize, sample_size: usize) -> Self {
        match denoiser {
            TransformerDenoiser::Mmdit { depth, head_size, pooled, context, pos_embed_max_size } => Self {
                sample_size,
                in_channels: latent_channels,
                num_layers: *depth,
                attention_head_dim: *head_size,
                num_attention_heads: *depth,
                joint_attention_dim: *context,
                caption_projection_dim: Some(depth * head_size),
                pooled_projection_dim: *pooled,
                pos_embed_max_size: *pos_embed_max_size,
                axes_dims_rope: Vec::new(),
                ..Self::default()
            },
            TransformerDenoiser::Flux {
                hidden,
                heads,
                double_blocks,
                single_blocks,
                pooled,
                context,
                axes_dim,
                guidance_embed,
            } => Self {
                class_name: class_name(Pipeline::Flux(crate::suite::FluxVariant::Schnell)).into(),
                sample_size,
                patch_size: 1,
                in_channels: 4 * latent_channels,
                num_layers: *double_blocks,
                num_single_layers: *single_blocks,
                attention_head_dim: hidden / (*heads).max(1),
                num_attention_heads: *heads,
                joint_attention_dim: *context,
                caption_projection_dim: None,
                pooled_projection_dim: *pooled,
                pos_embed_max_size: 0,
                guidance_embeds: *guidance_embed,
                axes_dims_rope: axes_dim.to_vec(),
            },
        }
    }
}

/// When a tensor's two halves trade places between the two layouts.
#[derive(Clone, Copy, PartialEq)]
enum Swap {
    Never,
    Always,
    /// In the last joint block only (SD3's text stream ends there with a (shift, scale) norm).
    InLastBlock,
}

impl Swap {
    /// Whether the halves trade places for a tensor of `block` (`last_block` the last one).
    fn applies(self, block: Option<usize>, last_block: usize) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::InLastBlock => block == Some(last_block),
        }
    }
}

/// One original tensor and the diffusers tensor(s) it is stored as, `{i}` a block and `{p}` the
/// parameter (`weight`, `bias`); several diffusers tensors are the original's rows in order.
type Rule = (&'static str, &'static [&'static str], Swap);

const SD3_RULES: &[Rule] = &[
    ("pos_embed", &["pos_embed.pos_embed"], Swap::Never),
    ("x_embedder.proj.{p}", &["pos_embed.proj.{p}"], Swap::Never),
    ("t_embedder.mlp.0.{p}", &["time_text_embed.timestep_embedder.linear_1.{p}"], Swap::Never),
    ("t_embedder.mlp.2.{p}", &["time_text_embed.timestep_embedder.linear_2.{p}"], Swap::Never),
    ("y_embedder.mlp.0.{p}", &["time_text_embed.text_embedder.linear_1.{p}"], Swap::Never),
    ("y_embedder.mlp.2.{p}", &["time_text_embed.text_embedder.linear_2.{p}"], Swap::Never),
    ("context_embedder.{p}", &["context_embedder.{p}"], Swap::Never),
    (
        "joint_blocks.{i}.x_block.attn.qkv.{p}",
        &[
            "transformer_blocks.{i}.attn.to_q.{p}",
            "transformer_blocks.{i}.attn.to_k.{p}",
            "transformer_blocks.{i}.attn.to_v.{p}",
        ],
        Swap::Never,
    ),
    (
        "joint_blocks.{i}.context_block.attn.qkv.{p}",
        &[
            "transformer_blocks.{i}.attn.add_q_proj.{p}",
            "transformer_blocks.{i}.attn.add_k_proj.{p}",
            "transformer_blocks.{i}.attn.add_v_proj.{p}",
        ],
        Swap::Never,
    ),
    ("joint_blocks.{i}.x_block.attn.ln_q.{p}", &["transformer_blocks.{i}.attn.norm_q.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.attn.ln_k.{p}", &["transformer_blocks.{i}.attn.norm_k.{p}"], Swap::Never),
    ("joint_blocks.{i}.context_block.attn.ln_q.{p}", &["transformer_blocks.{i}.attn.norm_added_q.{p}"], Swap::Never),
    ("joint_blocks.{i}.context_block.attn.ln_k.{p}", &["transformer_blocks.{i}.attn.norm_added_k.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.attn.proj.{p}", &["transformer_blocks.{i}.attn.to_out.0.{p}"], Swap::Never),
    ("joint_blocks.{i}.context_block.attn.proj.{p}", &["transformer_blocks.{i}.attn.to_add_out.{p}"], Swap::Never),
    (
        "joint_blocks.{i}.x_block.attn2.qkv.{p}",
        &[
            "transformer_blocks.{i}.attn2.to_q.{p}",
            "transformer_blocks.{i}.attn2.to_k.{p}",
            "transformer_blocks.{i}.attn2.to_v.{p}",
        ],
        Swap::Never,
    ),
    ("joint_blocks.{i}.x_block.attn2.ln_q.{p}", &["transformer_blocks.{i}.attn2.norm_q.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.attn2.ln_k.{p}", &["transformer_blocks.{i}.attn2.norm_k.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.attn2.proj.{p}", &["transformer_blocks.{i}.attn2.to_out.0.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.adaLN_modulation.1.{p}", &["transformer_blocks.{i}.norm1.linear.{p}"], Swap::Never),
    (
        "joint_blocks.{i}.context_block.adaLN_modulation.1.{p}",
        &["transformer_blocks.{i}.norm1_context.linear.{p}"],
        Swap::InLastBlock,
    ),
    ("joint_blocks.{i}.x_block.mlp.fc1.{p}", &["transformer_blocks.{i}.ff.net.0.proj.{p}"], Swap::Never),
    ("joint_blocks.{i}.x_block.mlp.fc2.{p}", &["transformer_blocks.{i}.ff.net.2.{p}"], Swap::Never),
    ("joint_blocks.{i}.context_block.mlp.fc1.{p}", &["transformer_blocks.{i}.ff_context.net.0.proj.{p}"], Swap::Never),
    ("joint_blocks.{i}.context_block.mlp.fc2.{p}", &["transformer_blocks.{i}.ff_context.net.2.{p}"], Swap::Never),
    ("final_layer.linear.{p}", &["proj_out.{p}"], Swap::Never),
    ("final_layer.adaLN_modulation.1.{p}", &["norm_out.linear.{p}"], Swap::Always),
];

const FLUX_RULES: &[Rule] = &[
    ("time_in.in_layer.{p}", &["time_text_embed.timestep_embedder.linear_1.{p}"], Swap::Never),
    ("time_in.out_layer.{p}", &["time_text_embed.timestep_embedder.linear_2.{p}"], Swap::Never),
    ("vector_in.in_layer.{p}", &["time_text_embed.text_embedder.linear_1.{p}"], Swap::Never),
    ("vector_in.out_layer.{p}", &["time_text_embed.text_embedder.linear_2.{p}"], Swap::Never),
    ("guidance_in.in_layer.{p}", &["time_text_embed.guidance_embedder.linear_1.{p}"], Swap::Never),
    ("guidance_in.out_layer.{p}", &["time_text_embed.guidance_embedder.linear_2.{p}"], Swap::Never),
    ("txt_in.{p}", &["context_embedder.{p}"], Swap::Never),
    ("img_in.{p}", &["x_embedder.{p}"], Swap::Never),
    ("double_blocks.{i}.img_mod.lin.{p}", &["transformer_blocks.{i}.norm1.linear.{p}"], Swap::Never),
    ("double_blocks.{i}.txt_mod.lin.{p}", &["transformer_blocks.{i}.norm1_context.linear.{p}"], Swap::Never),
    (
        "double_blocks.{i}.img_attn.qkv.{p}",
        &[
            "transformer_blocks.{i}.attn.to_q.{p}",
            "transformer_blocks.{i}.attn.to_k.{p}",
            "transformer_blocks.{i}.attn.to_v.{p}",
        ],
        Swap::Never,
    ),
    (
        "double_blocks.{i}.txt_attn.qkv.{p}",
        &[
            "transformer_blocks.{i}.attn.add_q_proj.{p}",
            "transformer_blocks.{i}.attn.add_k_proj.{p}",
            "transformer_blocks.{i}.attn.add_v_proj.{p}",
        ],
        Swap::Never,
    ),
    ("double_blocks.{i}.img_attn.norm.query_norm.scale", &["transformer_blocks.{i}.attn.norm_q.weight"], Swap::Never),
    ("double_blocks.{i}.img_attn.norm.key_norm.scale", &["transformer_blocks.{i}.attn.norm_k.weight"], Swap::Never),
    (
        "double_blocks.{i}.txt_attn.norm.query_norm.scale",
        &["transformer_blocks.{i}.attn.norm_added_q.weight"],
        Swap::Never,
    ),
    (
        "double_blocks.{i}.txt_attn.norm.key_norm.scale",
        &["transformer_blocks.{i}.attn.norm_added_k.weight"],
        Swap::Never,
    ),
    ("double_blocks.{i}.img_mlp.0.{p}", &["transformer_blocks.{i}.ff.net.0.proj.{p}"], Swap::Never),
    ("double_blocks.{i}.img_mlp.2.{p}", &["transformer_blocks.{i}.ff.net.2.{p}"], Swap::Never),
    ("double_blocks.{i}.txt_mlp.0.{p}", &["transformer_blocks.{i}.ff_context.net.0.proj.{p}"], Swap::Never),
    ("double_blocks.{i}.txt_mlp.2.{p}", &["transformer_blocks.{i}.ff_context.net.2.{p}"], Swap::Never),
    ("double_blocks.{i}.img_attn.proj.{p}", &["transformer_blocks.{i}.attn.to_out.0.{p}"], Swap::Never),
    ("double_blocks.{i}.txt_attn.proj.{p}", &["transformer_blocks.{i}.attn.to_add_out.{p}"], Swap::Never),
    ("single_blocks.{i}.modulation.lin.{p}", &["single_transformer_blocks.{i}.norm.linear.{p}"], Swap::Never),
    (
        "single_blocks.{i}.linear1.{p}",
        &[
            "single_transformer_blocks.{i}.attn.to_q.{p}",
            "single_transformer_blocks.{i}.attn.to_k.{p}",
            "single_transformer_blocks.{i}.attn.to_v.{p}",
            "single_transformer_blocks.{i}.proj_mlp.{p}",
        ],
        Swap::Never,
    ),
    ("single_blocks.{i}.norm.query_norm.scale", &["single_transformer_blocks.{i}.attn.norm_q.weight"], Swap::Never),
    ("single_blocks.{i}.norm.key_norm.scale", &["single_transformer_blocks.{i}.attn.norm_k.weight"], Swap::Never),
    ("single_blocks.{i}.linear2.{p}", &["single_transformer_blocks.{i}.proj_out.{p}"], Swap::Never),
    ("final_layer.linear.{p}", &["proj_out.{p}"], Swap::Never),
    ("final_layer.adaLN_modulation.1.{p}", &["norm_out.linear.{p}"], Swap::Always),
];

fn rules(pipeline: Pipeline) -> &'static [Rule] {
    if matches!(pipeline, Pipeline::Flux(_)) { FLUX_RULES } else { SD3_RULES }
}

/// The block index and parameter `name` fills `pattern` with, if it matches.
fn matches(pattern: &str, name: &str) -> Option<(Option<usize>, Option<String>)> {
    let (pattern, name): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), name.split('.').collect());
    if pattern.len() != name.len() {
        return None;
    }
    let (mut block, mut param) = (None, None);
    for (want, have) in pattern.iter().zip(&name) {
        match *want {
            "{i}" => block = Some(have.parse().ok()?),
            "{p}" => param = Some((*have).to_owned()),
            literal if literal == *have => {}
            _ => return None,
        }
    }
    Some((block, param))
}

fn fill(pattern: &str, block: Option<usize>, param: Option<&str>) -> String {
    let mut name = pattern.to_owned();
    if let Some(block) = block {
        name = name.replace("{i}", &block.to_string());
    }
    if let Some(param) = param {
        name = name.replace("{p}", param);
    }
    name
}

/// How one original tensor is stored: the diffusers names of its row blocks, in order, and
/// whether its halves trade places.
struct Stored {
    diffusers: Vec<String>,
    swapped: bool,
}

fn stored(pipeline: Pipeline, name: &str, last_block: usize) -> Option<Stored> {
    rules(pipeline).iter().find_map(|(original, diffusers, swap)| {
        let (block, param) = matches(original, name)?;
        let swapped = swap.applies(block, last_block);
        Some(Stored { diffusers: diffusers.iter().map(|d| fill(d, block, param.as_deref())).collect(), swapped })
    })
}

/// The diffusers names an original tensor of the transformer is stored under (the tensor's own
/// name when no rule knows it).
pub fn diffusers_names(pipeline: Pipeline, name: &str, last_block: usize) -> Vec<String> {
    stored(pipeline, name, last_block).map_or_else(|| vec![name.to_owned()], |stored| stored.diffusers)
}

fn swap_halves(tensor: &Tensor) -> candle_core::Result<Tensor> {
    let half = tensor.dim(0)? / 2;
    Tensor::cat(&[tensor.narrow(0, half, half)?, tensor.narrow(0, 0, half)?], 0)
}

/// The transformer's tensors (original names) as diffusers stores them: q, k and v apart, the
/// final modulation's halves swapped. `hidden` is the residual width (Flux's single blocks fuse
/// three of them with the MLP's input).
pub fn to_diffusers(
    pipeline: Pipeline,
    tensors: &HashMap<String, Tensor>,
    hidden: usize,
    last_block: usize,
) -> Result<HashMap<String, Tensor>, String> {
    let mut out = HashMap::new();
    for (name, tensor) in tensors {
        let Some(stored) = stored(pipeline, name, last_block) else {
            return Err(format!("no diffusers name is known for the transformer's tensor `{name}`"));
        };
        let split = || -> candle_core::Result<Vec<Tensor>> {
            let tensor = if stored.swapped { swap_halves(tensor)? } else { tensor.clone() };
            let rows = tensor.dim(0)?;
            let sizes: Vec<usize> = match stored.diffusers.len() {
                1 => vec![rows],
                3 => vec![rows / 3; 3],
                _ => vec![hidden, hidden, hidden, rows.saturating_sub(3 * hidden)],
            };
            let mut start = 0;
            sizes
                .into_iter()
                .map(|size| {
                    let part = tensor.narrow(0, start, size)?.contiguous();
                    start += size;
                    part
                })
                .collect()
        };
        let parts = split().map_err(|error| format!("transformer tensor `{name}`: {error}"))?;
        out.extend(stored.diffusers.iter().cloned().zip(parts));
    }
    Ok(out)
}

/// The transformer's tensors under their original names, from the tensors of diffusers' files:
/// fused where the original fuses them, the final modulation's halves swapped back. Tensors no
/// rule knows are left out; an original tensor whose parts are not all there is left out too
/// (the check against what the model needs names it).
pub fn from_diffusers(
    pipeline: Pipeline,
    mut tensors: HashMap<String, Tensor>,
    last_block: usize,
) -> Result<HashMap<String, Tensor>, String> {
    // The original tensor each diffusers tensor belongs to, and its place among the parts.
    let mut parts: HashMap<String, (Vec<Option<Tensor>>, bool)> = HashMap::new();
    let names: Vec<String> = tensors.keys().cloned().collect();
    for name in names {
        let found = rules(pipeline).iter().find_map(|(original, diffusers, swap)| {
            diffusers.iter().enumerate().find_map(|(place, pattern)| {
                let (block, param) = matches(pattern, &name)?;
                Some((fill(original, block, param.as_deref()), place, diffusers.len(), swap.applies(block, last_block)))
            })
        });
        let (Some((original, place, count, swapped)), Some(tensor)) = (found, tensors.remove(&name)) else {
            continue;
        };
        let entry = parts.entry(original).or_insert_with(|| (vec![None; count], swapped));
        entry.0[place] = Some(tensor);
    }
    let mut out = HashMap::new();
    for (original, (pieces, swapped)) in parts {
        let Some(pieces) = pieces.into_iter().collect::<Option<Vec<Tensor>>>() else { continue };
        let joined = Tensor::cat(&pieces, 0)
            .and_then(|tensor| if swapped { swap_halves(&tensor) } else { Ok(tensor) })
            .map_err(|error| format!("transformer/ tensors of `{original}` do not fit together: {error}"))?;
        out.insert(original, joined);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{FluxVariant, Sd3Variant};
    use candle_core::{DType, Device};

    fn rows(values: &[f32], width: usize) -> candle_core::Result<Tensor> {
        Tensor::from_vec(values.to_vec(), (values.len() / width, width), &Device::Cpu)
    }

    /// The names and row splits diffusers' conversion gives (`single_file_utils.py`): q, k, v
    /// apart in their order, Flux's single-block input split into q, k, v and the MLP's input,
    /// the final modulation and SD3's last text modulation as (scale, shift) — and back again.
    #[test]
    fn original_tensors_split_rename_and_swap_as_diffusers_converts_them() -> Result<(), Box<dyn std::error::Error>> {
        let sd3 = Pipeline::Sd3(Sd3Variant::Medium);
        let qkv = rows(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0], 2)?;
        let shift_scale = rows(&[10.0, 20.0], 1)?;
        let originals = HashMap::from([
            ("joint_blocks.0.x_block.attn.qkv.weight".to_owned(), qkv.clone()),
            ("joint_blocks.0.context_block.adaLN_modulation.1.bias".to_owned(), shift_scale.clone()),
            ("joint_blocks.1.context_block.adaLN_modulation.1.bias".to_owned(), shift_scale.clone()),
            ("joint_blocks.1.x_block.attn2.ln_q.weight".to_owned(), shift_scale.clone()),
            ("final_layer.adaLN_modulation.1.weight".to_owned(), shift_scale.clone()),
            ("pos_embed".to_owned(), qkv.clone()),
        ]);
        let stored = to_diffusers(sd3, &originals, 2, 1)?;
        let value = |name: &str| -> Result<Vec<f32>, Box<dyn std::error::Error>> {
            Ok(stored.get(name).ok_or(format!("no {name}"))?.flatten_all()?.to_vec1::<f32>()?)
        };
        assert_eq!(value("transformer_blocks.0.attn.to_q.weight")?, [1.0, 1.0]);
        assert_eq!(value("transformer_blocks.0.attn.to_v.weight")?, [3.0, 3.0]);
        // Only the last block's text modulation and the final one trade halves.
        assert_eq!(value("transformer_blocks.0.norm1_context.linear.bias")?, [10.0, 20.0]);
        assert_eq!(value("transformer_blocks.1.norm1_context.linear.bias")?, [20.0, 10.0]);
        assert_eq!(value("norm_out.linear.weight")?, [20.0, 10.0]);
        assert_eq!(value("transformer_blocks.1.attn2.norm_q.weight")?, [10.0, 20.0]);
        assert_eq!(value("pos_embed.pos_embed")?, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        let back = from_diffusers(sd3, stored, 1)?;
        assert_eq!(back.len(), originals.len());
        for (name, tensor) in &originals {
            let read = back.get(name).ok_or(format!("{name} not read back"))?;
            assert_eq!(read.flatten_all()?.to_vec1::<f32>()?, tensor.flatten_all()?.to_vec1::<f32>()?, "{name}");
        }

        let flux = Pipeline::Flux(FluxVariant::Dev);
        // hidden 1: q, k, v one row each, then the MLP's four rows.
        let linear1 = rows(&[1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 4.0], 1)?;
        let originals = HashMap::from([
            ("single_blocks.3.linear1.bias".to_owned(), linear1),
            ("double_blocks.0.txt_attn.norm.key_norm.scale".to_owned(), shift_scale.clone()),
            ("guidance_in.in_layer.weight".to_owned(), shift_scale.clone()),
        ]);
        let stored = to_diffusers(flux, &originals, 1, usize::MAX)?;
        let mut names: Vec<&str> = stored.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "single_transformer_blocks.3.attn.to_k.bias",
                "single_transformer_blocks.3.attn.to_q.bias",
                "single_transformer_blocks.3.attn.to_v.bias",
                "single_transformer_blocks.3.proj_mlp.bias",
                "time_text_embed.guidance_embedder.linear_1.weight",
                "transformer_blocks.0.attn.norm_added_k.weight",
            ]
        );
        assert_eq!(stored["single_transformer_blocks.3.proj_mlp.bias"].dims(), &[4, 1]);
        assert_eq!(diffusers_names(flux, "img_in.bias", usize::MAX), ["x_embedder.bias"]);
        // A tensor with a part missing is left out (the check against the model names it).
        let mut partial = stored;
        partial.remove("single_transformer_blocks.3.attn.to_k.bias");
        partial.insert("unrelated.weight".into(), Tensor::zeros(1, DType::F32, &Device::Cpu)?);
        let back = from_diffusers(flux, partial, usize::MAX)?;
        assert!(!back.contains_key("single_blocks.3.linear1.bias") && back.len() == 2, "{:?}", back.keys());
        Ok(())
    }
}
