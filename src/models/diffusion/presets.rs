//! The tiny presets of every pipeline family: the family's block layout, narrow and shallow, for
//! seeded weights (tests, CI, first looks).

use super::config::{PerBlock, PipelineConfig, TextEncoderConfig, TransformerDenoiser, UnetConfig, VaeConfig};
use super::flow_text::T5EncoderConfig;
use crate::suite::{Pipeline, StableDiffusionVersion};

impl PipelineConfig {
    /// The pipeline at test sizes: its family's block layout, narrow and shallow.
    pub fn tiny(pipeline: Pipeline) -> Self {
        let version = match pipeline {
            Pipeline::StableDiffusion(version) => version,
            Pipeline::Sd3(_) | Pipeline::Flux(_) => return Self::tiny_transformer(pipeline),
        };
        let xl = matches!(version, StableDiffusionVersion::Sdxl | StableDiffusionVersion::SdxlTurbo);
        // Quick GELU throughout: at shapes that are not published ones candle-transformers' CLIP
        // text model has no other activation (OpenCLIP's GELU costs the same).
        let text = || TextEncoderConfig {
            vocab_size: 1000,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            max_position_embeddings: 77,
            hidden_act: "quick_gelu".into(),
            projection_dim: 32,
        };
        let (down_block_types, transformer_layers) = if xl {
            (["DownBlock2D", "CrossAttnDownBlock2D"], PerBlock::Each(vec![1, 2]))
        } else {
            (["CrossAttnDownBlock2D", "DownBlock2D"], PerBlock::One(1))
        };
        let unet = UnetConfig {
            block_out_channels: vec![32, 64],
            down_block_types: down_block_types.map(String::from).to_vec(),
            attention_head_dim: PerBlock::Each(vec![2, 4]),
            transformer_layers_per_block: transformer_layers,
            layers_per_block: 1,
            cross_attention_dim: if xl { 64 } else { 32 },
            norm_num_groups: 8,
            use_linear_projection: version != StableDiffusionVersion::V1_5,
            sample_size: 8,
            ..UnetConfig::default()
        };
        // Four levels, as every Stable Diffusion autoencoder: images are 8× the latent's size.
        let vae = VaeConfig {
            block_out_channels: vec![32, 32, 64, 64],
            layers_per_block: 1,
            norm_num_groups: 8,
            scaling_factor: if xl { 0.13025 } else { 0.18215 },
            ..VaeConfig::default()
        };
        let text_encoders = if xl { vec![text(), text()] } else { vec![text()] };
        let v_prediction = version == StableDiffusionVersion::V2_1;
        Self { pipeline, transformer: None, unet, vae, text_encoders, v_prediction, t5: None }
    }

    /// SD3 or Flux at test sizes: two blocks of two heads, 16 latent channels, four autoencoder
    /// levels (diffusers' `AutoencoderKL` without the 1×1 convolutions around the latent).
    fn tiny_transformer(pipeline: Pipeline) -> Self {
        let (transformer, vae) = match pipeline {
            Pipeline::Flux(variant) => (
                TransformerDenoiser::Flux {
                    hidden: 64,
                    heads: 2,
                    double_blocks: 1,
                    single_blocks: 2,
                    pooled: 32,
                    context: 64,
                    axes_dim: [8, 12, 12],
                    guidance_embed: variant == crate::suite::FluxVariant::Dev,
                },
                VaeConfig {
                    scaling_factor: 0.3611,
                    shift_factor: 0.1159,
                    use_quant_conv: false,
                    norm_num_groups: 8,
                    ..VaeConfig::default()
                },
            ),
            _ => (
                TransformerDenoiser::Mmdit { depth: 2, head_size: 64, pooled: 64, context: 64, pos_embed_max_size: 64 },
                VaeConfig {
                    scaling_factor: 1.5305,
                    shift_factor: 0.0609,
                    use_quant_conv: false,
                    norm_num_groups: 8,
                    ..VaeConfig::default()
                },
            ),
        };
        let vae =
            VaeConfig { block_out_channels: vec![32, 32, 64, 64], layers_per_block: 1, latent_channels: 16, ..vae };
        let unet = UnetConfig { in_channels: 16, out_channels: 16, sample_size: 8, ..UnetConfig::default() };
        // CLIP-L (and SD3's CLIP-G) 32 wide and T5 64 wide: SD3's text tokens are the CLIPs side by
        // side (64) then T5's, its pooled text the two projections (64); Flux's pooled text is
        // CLIP-L's (32), its tokens T5's.
        let clip = TextEncoderConfig {
            vocab_size: 1000,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            projection_dim: 32,
            ..TextEncoderConfig::default()
        };
        let clips = if matches!(pipeline, Pipeline::Sd3(_)) { 2 } else { 1 };
        let t5 = T5EncoderConfig {
            vocab_size: 1000,
            d_model: 64,
            d_kv: 16,
            d_ff: 128,
            num_layers: 2,
            num_heads: 4,
            ..T5EncoderConfig::default()
        };
        Self {
            pipeline,
            transformer: Some(transformer),
            unet,
            vae,
            text_encoders: vec![clip; clips],
            v_prediction: false,
            t5: Some(t5),
        }
    }
}
