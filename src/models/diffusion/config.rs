//! A diffusion pipeline's components as diffusers writes them (`unet/config.json`,
//! `vae/config.json`, `text_encoder/config.json`, `scheduler/scheduler_config.json`): read from a
//! folder, or made at the tiny preset's sizes, then turned into candle-transformers' configs.

use std::path::Path;

use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::stable_diffusion::{unet_2d, vae};
use serde::{Deserialize, Serialize};

use super::flow_text::T5EncoderConfig;
use super::transformer::TransformerFile;
use crate::suite::{Pipeline, StableDiffusionVersion};

/// A number for every block, or one number for all of them (diffusers writes both).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerBlock {
    /// The same for every block.
    One(usize),
    /// One per block.
    Each(Vec<usize>),
}

impl PerBlock {
    fn at(&self, block: usize) -> Option<usize> {
        match self {
            Self::One(value) => Some(*value),
            Self::Each(values) => values.get(block).copied(),
        }
    }
}

/// The UNet's `config.json` (the keys candle's `UNet2DConditionModel` uses; others are ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnetConfig {
    /// Latent channels in.
    pub in_channels: usize,
    /// Latent channels out.
    pub out_channels: usize,
    /// Channels of each resolution level.
    pub block_out_channels: Vec<usize>,
    /// Each level's block type; `CrossAttn…` levels attend to the text.
    pub down_block_types: Vec<String>,
    /// Attention heads of each level (diffusers' historical name for them).
    pub attention_head_dim: PerBlock,
    /// Transformer blocks of each cross-attention level.
    pub transformer_layers_per_block: PerBlock,
    /// ResNet layers per level.
    pub layers_per_block: usize,
    /// Width of the text embeddings attended to.
    pub cross_attention_dim: usize,
    /// Group-norm groups.
    pub norm_num_groups: usize,
    /// Group-norm epsilon.
    pub norm_eps: f64,
    /// Linear (not 1×1 convolution) projections around the transformer blocks.
    pub use_linear_projection: bool,
    /// Latent height and width the model was trained at.
    pub sample_size: usize,
}

impl Default for UnetConfig {
    /// Stable Diffusion 1.5's UNet.
    fn default() -> Self {
        Self {
            in_channels: 4,
            out_channels: 4,
            block_out_channels: vec![320, 640, 1280, 1280],
            down_block_types: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
                .map(String::from)
                .to_vec(),
            attention_head_dim: PerBlock::One(8),
            transformer_layers_per_block: PerBlock::One(1),
            layers_per_block: 2,
            cross_attention_dim: 768,
            norm_num_groups: 32,
            norm_eps: 1e-5,
            use_linear_projection: false,
            sample_size: 64,
        }
    }
}

/// The autoencoder's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VaeConfig {
    /// Image channels.
    pub in_channels: usize,
    /// Image channels out.
    pub out_channels: usize,
    /// Channels of each level.
    pub block_out_channels: Vec<usize>,
    /// ResNet layers per level.
    pub layers_per_block: usize,
    /// Latent channels.
    pub latent_channels: usize,
    /// Group-norm groups.
    pub norm_num_groups: usize,
    /// The factor latents are scaled by (a latent is divided by it before decoding).
    pub scaling_factor: f64,
    /// The shift latents are moved by after scaling back (SD3's autoencoder; 0 for SD 1.x–XL).
    pub shift_factor: f64,
    /// Whether the autoencoder has its 1×1 convolutions around the latent (not SD3's).
    pub use_quant_conv: bool,
}

impl Default for VaeConfig {
    /// Stable Diffusion 1.5's autoencoder.
    fn default() -> Self {
        Self {
            in_channels: 3,
            out_channels: 3,
            block_out_channels: vec![128, 256, 512, 512],
            layers_per_block: 2,
            latent_channels: 4,
            norm_num_groups: 32,
            scaling_factor: 0.18215,
            shift_factor: 0.0,
            use_quant_conv: true,
        }
    }
}

/// A CLIP text encoder's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextEncoderConfig {
    /// Token vocabulary.
    pub vocab_size: usize,
    /// Width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Tokens of a prompt.
    pub max_position_embeddings: usize,
    /// `quick_gelu` (OpenAI CLIP) or `gelu` (OpenCLIP).
    pub hidden_act: String,
    /// Width of the pooled projection.
    pub projection_dim: usize,
}

impl Default for TextEncoderConfig {
    /// CLIP ViT-L/14's text encoder (Stable Diffusion 1.5's).
    fn default() -> Self {
        Self {
            vocab_size: 49408,
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            max_position_embeddings: 77,
            hidden_act: "quick_gelu".into(),
            projection_dim: 768,
        }
    }
}

/// The keys of `scheduler/scheduler_config.json` phasebench takes from a folder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerFile {
    /// `epsilon` or `v_prediction`.
    pub prediction_type: Option<String>,
}

/// The denoiser of a flow-matching pipeline (SD3's MMDiT or Flux's transformer) at a size, with
/// the widths of the seeded text embeddings that stand for its text encoders.
#[derive(Clone, Debug, PartialEq)]
pub enum TransformerDenoiser {
    /// SD3's MMDiT: `depth` joint blocks of `depth` heads of `head_size`.
    Mmdit {
        /// Joint blocks (and heads).
        depth: usize,
        /// Width of a head.
        head_size: usize,
        /// Width of the pooled text embedding.
        pooled: usize,
        /// Width of the text tokens.
        context: usize,
        /// Positions of the largest latent side the position embedding covers, in patches.
        pos_embed_max_size: usize,
    },
    /// Flux's transformer: double-stream then single-stream blocks.
    Flux {
        /// Width of the residual stream.
        hidden: usize,
        /// Attention heads.
        heads: usize,
        /// Double-stream blocks.
        double_blocks: usize,
        /// Single-stream blocks.
        single_blocks: usize,
        /// Width of the pooled text embedding.
        pooled: usize,
        /// Width of the text tokens.
        context: usize,
        /// Rotary embedding widths per axis (they add up to a head's width).
        axes_dim: [usize; 3],
        /// Whether guidance is an input (dev) rather than absent (schnell).
        guidance_embed: bool,
    },
}

/// Tokens of the seeded text embeddings of a flow-matching pipeline, as many as its text
/// encoders give in diffusers: SD3 77 CLIP + 256 T5 tokens, Flux schnell 256 and dev 512 T5
/// tokens (the denoiser attends over them at every step, so they weigh on its time).
pub fn seeded_text_tokens(pipeline: Pipeline) -> usize {
    let clip_tokens = if matches!(pipeline, Pipeline::Sd3(_)) { 77 } else { 0 };
    clip_tokens + super::flow_text::t5_tokens(pipeline)
}

/// Everything a pipeline is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// The family and version.
    pub pipeline: Pipeline,
    /// The transformer denoiser of SD3 and Flux (their UNet fields unused); `None`: the UNet.
    pub transformer: Option<TransformerDenoiser>,
    /// The denoiser.
    pub unet: UnetConfig,
    /// The autoencoder.
    pub vae: VaeConfig,
    /// The text encoders, in order (SDXL has two; their outputs are concatenated).
    pub text_encoders: Vec<TextEncoderConfig>,
    /// Whether the UNet predicts velocity (v) instead of noise (ε).
    pub v_prediction: bool,
    /// SD3's and Flux's T5 encoder (with `text_encoders` their CLIPs); `None`: seeded text
    /// embeddings stand for their encoders.
    pub t5: Option<T5EncoderConfig>,
}

/// The folders of a diffusers pipeline's text encoders, in order.
pub const TEXT_ENCODER_FOLDERS: [&str; 3] = ["text_encoder", "text_encoder_2", "text_encoder_3"];

impl PipelineConfig {
    /// Reads a diffusers folder's component configs; the error names the file.
    pub fn read_folder(folder: &Path, pipeline: Pipeline) -> Result<Self, String> {
        let shown = folder.display();
        if !folder.is_dir() {
            return Err(if folder.exists() {
                format!(
                    "{shown}: is a file, but Diffusion `path` names a diffusers folder (unet/, vae/, text_encoder/)"
                )
            } else {
                format!("{shown}: No such file or directory")
            });
        }
        let Pipeline::StableDiffusion(version) = pipeline else {
            return Self::read_transformer_folder(folder, pipeline);
        };
        let unet: UnetConfig = read_json(&folder.join("unet/config.json"))?;
        let vae: VaeConfig = read_json(&folder.join("vae/config.json"))?;
        let wanted =
            if matches!(version, StableDiffusionVersion::Sdxl | StableDiffusionVersion::SdxlTurbo) { 2 } else { 1 };
        let text_encoders = TEXT_ENCODER_FOLDERS[..wanted]
            .iter()
            .map(|name| read_json(&folder.join(name).join("config.json")))
            .collect::<Result<Vec<TextEncoderConfig>, String>>()?;
        let scheduler_path = folder.join("scheduler/scheduler_config.json");
        let scheduler: SchedulerFile =
            if scheduler_path.exists() { read_json(&scheduler_path)? } else { SchedulerFile::default() };
        let v_prediction = match scheduler.prediction_type.as_deref() {
            Some("v_prediction") => true,
            Some(_) => false,
            None => version == StableDiffusionVersion::V2_1,
        };
        let config = Self { pipeline, transformer: None, unet, vae, text_encoders, v_prediction, t5: None };
        config.check().map_err(|problem| format!("{shown}: {problem}"))?;
        Ok(config)
    }

    /// Reads an SD3 or Flux diffusers folder's `transformer/config.json` and `vae/config.json`.
    fn read_transformer_folder(folder: &Path, pipeline: Pipeline) -> Result<Self, String> {
        let file: TransformerFile = read_json(&folder.join("transformer/config.json"))?;
        let vae: VaeConfig = read_json(&folder.join("vae/config.json"))?;
        let transformer = file
            .denoiser(pipeline, vae.latent_channels)
            .map_err(|problem| format!("{}/{problem}", folder.display()))?;
        let unet = UnetConfig {
            in_channels: vae.latent_channels,
            out_channels: vae.latent_channels,
            sample_size: file.sample_size,
            ..UnetConfig::default()
        };
        // The text encoders when the folder has them (CLIP-L, SD3's CLIP-G, then T5), else none:
        // seeded embeddings stand for them.
        let clips = if matches!(pipeline, Pipeline::Sd3(_)) { 2 } else { 1 };
        let t5_folder = TEXT_ENCODER_FOLDERS[clips];
        let present: Vec<bool> =
            TEXT_ENCODER_FOLDERS[..=clips].iter().map(|name| folder.join(name).join("config.json").is_file()).collect();
        let (text_encoders, t5) = if present.iter().all(|here| !here) {
            (Vec::new(), None)
        } else {
            let text_encoders = TEXT_ENCODER_FOLDERS[..clips]
                .iter()
                .map(|name| read_json(&folder.join(name).join("config.json")))
                .collect::<Result<Vec<TextEncoderConfig>, String>>()?;
            (text_encoders, Some(read_json(&folder.join(t5_folder).join("config.json"))?))
        };
        let config =
            Self { pipeline, transformer: Some(transformer), unet, vae, text_encoders, v_prediction: false, t5 };
        config.check().map_err(|problem| format!("{}: {problem}", folder.display()))?;
        Ok(config)
    }

    /// Writes the component configs into `folder` in diffusers' layout (weights are written apart).
    pub fn write_folder(&self, folder: &Path) -> std::io::Result<()> {
        let write = |component: &str, name: &str, value: serde_json::Value| -> std::io::Result<()> {
            let dir = folder.join(component);
            std::fs::create_dir_all(&dir)?;
            let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
            crate::atomic_file::write_atomically(&dir.join(name), text.as_bytes())
        };
        // The keys phasebench reads, and those diffusers and transformers need beside them to load
        // the same model (block types of the way up, the class).
        let tagged = |value: serde_json::Result<serde_json::Value>,
                      extra: serde_json::Value|
         -> std::io::Result<serde_json::Value> {
            let mut value = value.map_err(std::io::Error::other)?;
            if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
                object.extend(extra.clone());
            }
            Ok(value)
        };
        let up_block_types: Vec<String> =
            self.unet.down_block_types.iter().rev().map(|kind| kind.replace("Down", "Up")).collect();
        let levels = self.vae.block_out_channels.len();
        let unet_extra = serde_json::json!({
            "_class_name": "UNet2DConditionModel", "up_block_types": up_block_types,
            "mid_block_type": "UNetMidBlock2DCrossAttn", "act_fn": "silu", "flip_sin_to_cos": true, "freq_shift": 0,
            "downsample_padding": 1, "mid_block_scale_factor": 1, "center_input_sample": false,
        });
        let vae_extra = serde_json::json!({
            "_class_name": "AutoencoderKL", "act_fn": "silu",
            "down_block_types": vec!["DownEncoderBlock2D"; levels], "up_block_types": vec!["UpDecoderBlock2D"; levels],
            "sample_size": self.unet.sample_size * self.vae_scale_factor(),
            "use_post_quant_conv": self.vae.use_quant_conv,
        });
        let text_extra = serde_json::json!({
            "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "layer_norm_eps": 1e-5,
        });
        write("vae", "config.json", tagged(serde_json::to_value(&self.vae), vae_extra)?)?;
        if let Some(denoiser) = &self.transformer {
            let file = TransformerFile::describing(denoiser, self.vae.latent_channels, self.unet.sample_size);
            write("transformer", "config.json", serde_json::to_value(file).map_err(std::io::Error::other)?)?;
            // SD3's CLIPs carry their projections (`CLIPTextModelWithProjection`); Flux's CLIP-L not.
            let class =
                if matches!(self.pipeline, Pipeline::Sd3(_)) { "CLIPTextModelWithProjection" } else { "CLIPTextModel" };
            // End-of-text found as the largest id (transformers' `eos_token_id: 2` reading), as
            // phasebench pools: prompts here are seeded ids, not tokenized text.
            let clip_extra = serde_json::json!({
                "architectures": [class], "model_type": "clip_text_model", "layer_norm_eps": 1e-5, "eos_token_id": 2,
            });
            for (name, encoder) in TEXT_ENCODER_FOLDERS.iter().zip(&self.text_encoders) {
                write(name, "config.json", tagged(serde_json::to_value(encoder), clip_extra.clone())?)?;
            }
            if let Some(t5) = &self.t5 {
                let t5_folder = TEXT_ENCODER_FOLDERS[self.text_encoders.len()];
                write(t5_folder, "config.json", t5.file_json().map_err(std::io::Error::other)?)?;
            }
            // Flux dev shifts its schedule by the image's size; SD3 and schnell by a constant.
            let dynamic = self.pipeline == Pipeline::Flux(crate::suite::FluxVariant::Dev);
            let shift = if matches!(self.pipeline, Pipeline::Sd3(_)) { 3.0 } else { 1.0 };
            return write(
                "scheduler",
                "scheduler_config.json",
                serde_json::json!({"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": shift,
                    "use_dynamic_shifting": dynamic, "base_shift": 0.5, "max_shift": 1.15}),
            );
        }
        write("unet", "config.json", tagged(serde_json::to_value(&self.unet), unet_extra)?)?;
        for (name, encoder) in TEXT_ENCODER_FOLDERS.iter().zip(&self.text_encoders) {
            write(name, "config.json", tagged(serde_json::to_value(encoder), text_extra.clone())?)?;
        }
        let prediction = if self.v_prediction { "v_prediction" } else { "epsilon" };
        write(
            "scheduler",
            "scheduler_config.json",
            serde_json::json!({"_class_name": "DDIMScheduler", "prediction_type": prediction}),
        )
    }

    /// Why the components do not fit together or cannot be built.
    pub fn check(&self) -> Result<(), String> {
        if let Some(denoiser) = &self.transformer {
            return self.check_flow_text(denoiser);
        }
        let unet = &self.unet;
        let levels = unet.block_out_channels.len();
        if levels == 0 || unet.down_block_types.len() != levels {
            return Err(format!(
                "unet/config.json has {} `block_out_channels` and {} `down_block_types`; they must be as many, at least one",
                levels,
                unet.down_block_types.len()
            ));
        }
        for (level, &channels) in unet.block_out_channels.iter().enumerate() {
            let heads = unet.attention_head_dim.at(level).unwrap_or(0);
            if heads == 0
                || !channels.is_multiple_of(heads)
                || unet.norm_num_groups == 0
                || !channels.is_multiple_of(unet.norm_num_groups)
            {
                return Err(format!(
                    "unet/config.json level {level}: {channels} channels must divide into `attention_head_dim` heads ({heads}) and `norm_num_groups` ({})",
                    unet.norm_num_groups
                ));
            }
        }
        let context: usize = self.text_encoders.iter().map(|encoder| encoder.hidden_size).sum();
        if context != unet.cross_attention_dim {
            return Err(format!(
                "the text encoders' widths add up to {context}, but unet/config.json `cross_attention_dim` is {}",
                unet.cross_attention_dim
            ));
        }
        if unet.in_channels != self.vae.latent_channels || unet.out_channels != self.vae.latent_channels {
            return Err(format!(
                "unet/config.json has {} → {} channels, but the autoencoder's latents have {}",
                unet.in_channels, unet.out_channels, self.vae.latent_channels
            ));
        }
        for encoder in &self.text_encoders {
            if encoder.num_attention_heads == 0 || !encoder.hidden_size.is_multiple_of(encoder.num_attention_heads) {
                return Err(format!(
                    "a text encoder's `hidden_size` ({}) must divide into `num_attention_heads` ({})",
                    encoder.hidden_size, encoder.num_attention_heads
                ));
            }
        }
        Ok(())
    }

    /// Why SD3's or Flux's text encoders do not give what its transformer takes.
    fn check_flow_text(&self, denoiser: &TransformerDenoiser) -> Result<(), String> {
        let Some(t5) = &self.t5 else { return Ok(()) };
        let (context, pooled) = match denoiser {
            TransformerDenoiser::Mmdit { context, pooled, .. } | TransformerDenoiser::Flux { context, pooled, .. } => {
                (*context, *pooled)
            }
        };
        let sd3 = matches!(self.pipeline, Pipeline::Sd3(_));
        let clip_width: usize = self.text_encoders.iter().map(|encoder| encoder.hidden_size).sum();
        let clip_pooled: usize = self
            .text_encoders
            .iter()
            .map(|encoder| if sd3 { encoder.projection_dim } else { encoder.hidden_size })
            .sum();
        if t5.d_model != context || clip_pooled != pooled || (sd3 && clip_width > context) {
            return Err(format!(
                "the text encoders give tokens {} wide (T5) and pooled text {clip_pooled} wide (CLIP), but transformer/config.json takes {context} and {pooled}",
                t5.d_model
            ));
        }
        Ok(())
    }

    /// candle's UNet configuration, with attention computed in slices of `sliced_attention` heads.
    pub fn candle_unet(&self, sliced_attention: Option<usize>) -> unet_2d::UNet2DConditionModelConfig {
        let unet = &self.unet;
        let blocks = unet
            .block_out_channels
            .iter()
            .zip(&unet.down_block_types)
            .enumerate()
            .map(|(level, (&out_channels, kind))| unet_2d::BlockConfig {
                out_channels,
                use_cross_attn: kind
                    .starts_with("CrossAttn")
                    .then(|| unet.transformer_layers_per_block.at(level).unwrap_or(1)),
                attention_head_dim: unet.attention_head_dim.at(level).unwrap_or(8),
            })
            .collect();
        unet_2d::UNet2DConditionModelConfig {
            blocks,
            layers_per_block: unet.layers_per_block,
            norm_num_groups: unet.norm_num_groups,
            norm_eps: unet.norm_eps,
            cross_attention_dim: unet.cross_attention_dim,
            sliced_attention_size: sliced_attention,
            use_linear_projection: unet.use_linear_projection,
            ..unet_2d::UNet2DConditionModelConfig::default()
        }
    }

    /// How many pixels of the image one latent position covers on a side (2 per autoencoder level
    /// after the first: 8 for Stable Diffusion).
    pub fn vae_scale_factor(&self) -> usize {
        1 << self.vae.block_out_channels.len().saturating_sub(1)
    }

    /// candle's autoencoder configuration.
    pub fn candle_vae(&self) -> vae::AutoEncoderKLConfig {
        vae::AutoEncoderKLConfig {
            block_out_channels: self.vae.block_out_channels.clone(),
            layers_per_block: self.vae.layers_per_block,
            latent_channels: self.vae.latent_channels,
            norm_num_groups: self.vae.norm_num_groups,
            use_quant_conv: self.vae.use_quant_conv,
            use_post_quant_conv: self.vae.use_quant_conv,
        }
    }
}

impl TextEncoderConfig {
    /// candle's CLIP text configuration.
    pub fn candle(&self) -> ClipTextConfig {
        ClipTextConfig {
            vocab_size: self.vocab_size,
            embed_dim: self.hidden_size,
            // The generic CLIP text model has quick GELU only; other activations are refused
            // at shapes that are not published ones (`text_encoder_problem`).
            activation: Activation::QuickGelu,
            intermediate_size: self.intermediate_size,
            max_position_embeddings: self.max_position_embeddings,
            pad_with: None,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            projection_dim: self.projection_dim,
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            format!("{shown}: missing (a diffusers pipeline folder has unet/, vae/ and text_encoder/, each with config.json and safetensors)")
        } else {
            format!("{shown}: {error}")
        }
    })?;
    serde_json::from_str(&text)
        .map_err(|error| format!("{shown}: line {}, column {}: {error}", error.line(), error.column()))
}
