//! Text-to-image diffusion pipelines of real families, built by `candle-transformers` (never
//! re-implemented here): Stable Diffusion's CLIP text encoder(s), conditional UNet and KL
//! autoencoder, from a diffusers-layout folder or with seeded weights at the tiny preset. Weights
//! are held as one map whose names start with the component's folder (`unet.`, `vae.`,
//! `text_encoder.`, `text_encoder_2.`), so a folder's safetensors load under their own names.

pub mod config;
mod flow_text;
mod folder;
mod pipeline;
mod presets;
mod quantized;
mod reference;
pub mod transformer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use candle_core::Tensor;
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model;
use candle_transformers::models::stable_diffusion::clip as sd_clip;

pub use config::{PipelineConfig, TEXT_ENCODER_FOLDERS, TextEncoderConfig};
pub use flow_text::{T5EncoderConfig, t5_tokens};
pub use folder::{
    ComponentLoad, PipelineFolder, folder_problems, folder_weights, folder_weights_timed, inspect_folder,
    workload_weight_files, write_folder, write_seeded_folder,
};
pub use pipeline::{Conditioning, FlowMatchEuler, ImagePipeline};
pub use reference::reference_io;

use super::{Architecture, BuildOptions, Network, ParamTensor};
use crate::suite::DiffusionSpec;

/// The components' folders in a diffusers pipeline, besides the text encoders.
const UNET: &str = "unet";
const VAE: &str = "vae";
const TRANSFORMER: &str = "transformer";

/// The component folders a pipeline of `config` reads, in order: the UNet (or SD3's and Flux's
/// transformer), the autoencoder, the text encoders.
fn components(config: &PipelineConfig) -> Vec<&'static str> {
    let denoiser = if config.transformer.is_some() { TRANSFORMER } else { UNET };
    // SD3's and Flux's T5 follows their CLIPs (`text_encoder_3/`, Flux's `text_encoder_2/`).
    let texts = config.text_encoders.len() + usize::from(config.t5.is_some());
    [denoiser, VAE].into_iter().chain(TEXT_ENCODER_FOLDERS.into_iter().take(texts)).collect()
}

/// The residual width and the last block of a transformer denoiser (for its diffusers names).
fn transformer_shape(config: &PipelineConfig) -> (usize, usize) {
    match &config.transformer {
        Some(config::TransformerDenoiser::Mmdit { depth, head_size, .. }) => {
            (depth * head_size, depth.saturating_sub(1))
        }
        Some(config::TransformerDenoiser::Flux { hidden, .. }) => (*hidden, usize::MAX),
        None => (0, usize::MAX),
    }
}

/// A CLIP text encoder: candle-transformers' Stable Diffusion CLIP at a published shape (its exact
/// activation), or its generic CLIP text model at other shapes (quick GELU).
enum TextEncoder {
    Published(sd_clip::ClipTextTransformer),
    Custom(text_model::ClipTextTransformer),
}

impl TextEncoder {
    fn build(config: &TextEncoderConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        match published_clip(config) {
            Some(published) => Ok(Self::Published(sd_clip::ClipTextTransformer::new(vb, &published)?)),
            None => Ok(Self::Custom(text_model::ClipTextTransformer::new(vb.pp("text_model"), &config.candle())?)),
        }
    }

    /// The last hidden states and the penultimate layer's (SD3's conditioning); at shapes that are
    /// not published ones the generic CLIP model gives the last layer only, which stands for both.
    fn encode_layers(&self, ids: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        match self {
            Self::Published(model) => model.forward_until_encoder_layer(ids, usize::MAX, -2),
            Self::Custom(model) => {
                let last = model.forward_with_mask(ids, usize::MAX)?;
                Ok((last.clone(), last))
            }
        }
    }

    /// The last hidden states `[batch, tokens, width]` of token ids `[batch, tokens]`.
    fn encode(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Published(model) => model.forward_with_mask(ids, usize::MAX),
            Self::Custom(model) => model.forward_with_mask(ids, usize::MAX),
        }
    }
}

/// candle's configuration of a published text encoder with exactly these sizes, if there is one.
fn published_clip(config: &TextEncoderConfig) -> Option<sd_clip::Config> {
    let shape = (config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.num_attention_heads);
    let gelu = config.hidden_act != "quick_gelu";
    if config.vocab_size != 49408 || config.max_position_embeddings != 77 {
        return None;
    }
    match (shape, gelu) {
        ((768, 3072, 12, 12), false) => Some(sd_clip::Config::v1_5()),
        ((1024, 4096, 23, 16), true) => Some(sd_clip::Config::v2_1()),
        ((1280, 5120, 32, 20), true) => Some(sd_clip::Config::sdxl2()),
        _ => None,
    }
}

/// Why a text encoder's configuration cannot be built (an activation the generic CLIP text model
/// lacks at a shape that is not a published one).
pub fn text_encoder_problem(config: &TextEncoderConfig) -> Option<String> {
    (published_clip(config).is_none() && config.hidden_act != "quick_gelu").then(|| {
        format!(
            "a text encoder with `hidden_act` {:?} at {} wide, {} layers is not a published CLIP shape, and candle-transformers' generic CLIP text model has quick_gelu only",
            config.hidden_act, config.hidden_size, config.num_hidden_layers
        )
    })
}

type Fingerprint = Vec<Option<(SystemTime, u64)>>;

fn fingerprint(folder: &Path) -> Fingerprint {
    let configs = [
        "unet/config.json",
        "vae/config.json",
        "text_encoder/config.json",
        "text_encoder_2/config.json",
        "text_encoder_3/config.json",
        "transformer/config.json",
    ];
    configs
        .iter()
        .map(|name| {
            let meta = std::fs::metadata(folder.join(name)).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

/// The pipeline configuration of `spec`: the tiny preset's, or its folder's (read once per folder
/// until its config files change); the error names the file.
pub fn pipeline_config(spec: &DiffusionSpec) -> Result<PipelineConfig, String> {
    type Known = HashMap<(PathBuf, crate::suite::Pipeline), (Fingerprint, Result<PipelineConfig, String>)>;
    static READ: OnceLock<Mutex<Known>> = OnceLock::new();
    let Some(path) = &spec.path else { return Ok(PipelineConfig::tiny(spec.pipeline)) };
    let folder = path.location();
    let print = fingerprint(&folder);
    let key = (folder.clone(), spec.pipeline);
    let cache = READ.get_or_init(Mutex::default);
    if let Some((known, config)) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
        && *known == print
    {
        return config.clone();
    }
    let config = PipelineConfig::read_folder(&folder, spec.pipeline).and_then(|config| {
        match config.text_encoders.iter().find_map(text_encoder_problem) {
            Some(problem) => Err(format!("{}: {problem}", folder.display())),
            None => Ok(config),
        }
    });
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (print, config.clone()));
    config
}

/// The tensors a pipeline of `config` holds, recorded once per configuration and process.
fn recorded_parameters(config: &PipelineConfig) -> Vec<ParamTensor> {
    static RECORDED: OnceLock<Mutex<HashMap<String, Vec<ParamTensor>>>> = OnceLock::new();
    let key = format!("{config:?}");
    let cache = RECORDED.get_or_init(Mutex::default);
    if let Some(known) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return known.clone();
    }
    // Stable Diffusion with today's diffusers names (the autoencoder's `to_q` attention); SD3
    // Medium without the optional tensors of SD3.5's blocks.
    // (T5's embedding under its `shared` name, as transformers saves it.)
    let presence = if matches!(config.pipeline, crate::suite::Pipeline::Sd3(_)) {
        super::recording::Presence::Names(std::iter::once("text_encoder_3.shared.weight".to_owned()).collect())
    } else {
        super::recording::Presence::All
    };
    let mut params = super::recording::record(presence, |vb| ImagePipeline::build(config, vb, None));
    // Flux's transformer layers a quantized phase stores in blocks (Q8_0's and Q4_0's of 32; Q4K's
    // 256-wide blocks leave a 64-wide input such as `img_in` in f32 too), for its weight bytes.
    if matches!(config.pipeline, crate::suite::Pipeline::Flux(_)) {
        for param in &mut params {
            param.quantizable = param.name.starts_with("transformer.")
                && param.name.ends_with(".weight")
                && param.shape.len() == 2
                && param.shape[1].is_multiple_of(32);
        }
    }
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, params.clone());
    params
}

impl Architecture for DiffusionSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        pipeline_config(self).map(|config| recorded_parameters(&config)).unwrap_or_default()
    }

    /// The starting latent at the UNet's trained sample size.
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        let config = pipeline_config(self).unwrap_or_else(|_| PipelineConfig::tiny(self.pipeline));
        vec![batch, config.vae.latent_channels, config.unet.sample_size, config.unet.sample_size]
    }

    fn flops_per_item(&self) -> Option<f64> {
        None
    }

    fn build(&self, _vb: VarBuilder, _options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        candle_core::bail!(
            "a diffusion pipeline generates images in mode ImageGeneration; it has no single forward pass"
        )
    }

    fn image_pipeline(&self) -> Option<PipelineConfig> {
        pipeline_config(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Pipeline, StableDiffusionVersion};
    use candle_core::{DType, Device};

    /// Stable Diffusion 1.5 at its published sizes (the configs' defaults) records exactly the
    /// published parameter counts of runwayml/stable-diffusion-v1-5's components, under their
    /// diffusers names: UNet 859 520 964, VAE 83 653 863, CLIP text encoder 123 060 480.
    #[test]
    fn stable_diffusion_1_5_records_its_published_parameters() {
        let config = PipelineConfig {
            pipeline: Pipeline::StableDiffusion(StableDiffusionVersion::V1_5),
            transformer: None,
            unet: config::UnetConfig::default(),
            vae: config::VaeConfig::default(),
            text_encoders: vec![TextEncoderConfig::default()],
            v_prediction: false,
            t5: None,
        };
        let params = recorded_parameters(&config);
        let count = |prefix: &str| -> usize {
            params.iter().filter(|param| param.name.starts_with(prefix)).map(ParamTensor::elements).sum()
        };
        assert_eq!(count("unet."), 859_520_964);
        assert_eq!(count("vae."), 83_653_863);
        assert_eq!(count("text_encoder."), 123_060_480);
        let names: Vec<&str> = params.iter().map(|param| param.name.as_str()).collect();
        for name in [
            "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "vae.decoder.up_blocks.3.resnets.2.conv2.weight",
            "text_encoder.text_model.encoder.layers.11.mlp.fc2.weight",
            // Today's diffusers names of the autoencoder's attention (not `query`/`key`/`value`).
            "vae.decoder.mid_block.attentions.0.to_q.weight",
        ] {
            assert!(names.contains(&name), "{name}");
        }
    }

    #[test]
    fn every_tiny_pipeline_generates_an_image_of_the_asked_size() -> candle_core::Result<()> {
        for version in [StableDiffusionVersion::V1_5, StableDiffusionVersion::V2_1, StableDiffusionVersion::Sdxl] {
            let spec = DiffusionSpec { pipeline: Pipeline::StableDiffusion(version), ..DiffusionSpec::default() };
            let config = PipelineConfig::tiny(spec.pipeline);
            assert_eq!(config.check(), Ok(()), "{version}");
            let weights = crate::models::generate_weights(&spec, 3)?;
            let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
            let pipeline = ImagePipeline::build(&config, vb, None)?;
            let ids = Tensor::zeros((2, 77), DType::U32, &Device::Cpu)?;
            let context = pipeline.encode_text(&ids)?;
            assert_eq!(context.context.dims(), &[2, 77, config.unet.cross_attention_dim], "{version}");
            let latent = Tensor::zeros((2, 4, 6, 5), DType::F32, &Device::Cpu)?;
            let predicted = pipeline.predict(&latent, 500.0, &context, 7.5)?;
            assert_eq!(predicted.dims(), latent.dims(), "{version}");
            let image = pipeline.decode(&latent)?;
            assert_eq!(image.dims(), &[2, 3, 48, 40], "{version}: 8× the latent");
        }
        Ok(())
    }

    /// SD3 (in f16: candle's MMDiT embeds timesteps in f16) and Flux build at the tiny preset with
    /// their CLIP and T5 encoders, predict a velocity of the latent's shape, and decode 8×.
    #[test]
    fn sd3_and_flux_predict_and_decode_at_the_tiny_preset() -> candle_core::Result<()> {
        use crate::suite::{FluxVariant, Sd3Variant};
        use candle_transformers::models::stable_diffusion::schedulers::Scheduler;
        let cases = [
            (Pipeline::Sd3(Sd3Variant::Medium), DType::F16),
            (Pipeline::Flux(FluxVariant::Schnell), DType::F32),
            (Pipeline::Flux(FluxVariant::Dev), DType::F32),
        ];
        for (pipeline, dtype) in cases {
            let spec = DiffusionSpec { pipeline, ..DiffusionSpec::default() };
            let config = PipelineConfig::tiny(pipeline);
            let weights = crate::models::generate_weights(&spec, 3)?;
            let weights = weights
                .into_iter()
                .map(|(name, t)| Ok((name, t.to_dtype(dtype)?)))
                .collect::<candle_core::Result<_>>()?;
            let built = ImagePipeline::build(&config, VarBuilder::from_tensors(weights, dtype, &Device::Cpu), None)?;
            assert!(built.has_text_encoder(), "{pipeline}: CLIP and T5 at the tiny preset");
            let ids = Tensor::new(&[[5u32; 77], [9u32; 77]], &Device::Cpu)?;
            let conditioning = built.encode_text(&ids)?;
            // SD3: both CLIPs' 77 tokens then T5's 256; Flux: T5's (256 schnell, 512 dev), and the
            // pooled text the transformer takes.
            let tokens = config::seeded_text_tokens(pipeline);
            assert_eq!(conditioning.context.dims(), &[2, tokens, 64], "{pipeline}");
            let pooled = conditioning.pooled.as_ref().map(|pooled| pooled.dims().to_vec());
            assert_eq!(pooled, Some(vec![2, if pipeline == Pipeline::Sd3(Sd3Variant::Medium) { 64 } else { 32 }]));
            let latent = Tensor::zeros((2, 16, 8, 6), dtype, &Device::Cpu)?;
            let velocity = built.predict(&latent, 700.0, &conditioning, 3.5)?;
            assert_eq!(velocity.dims(), latent.dims(), "{pipeline}");
            assert_eq!(built.decode(&latent)?.dims(), &[2, 3, 64, 48], "{pipeline}");
            let mut schedule = FlowMatchEuler::new(pipeline, 4, 48);
            assert_eq!(schedule.timesteps().len(), 4, "{pipeline}");
            assert!(
                schedule.timesteps()[0] >= 999 && schedule.timesteps().windows(2).all(|w| w[0] > w[1]),
                "{pipeline}"
            );
            // Four Euler steps of a constant velocity of 1 move a latent by σ_end − σ_start = −1.
            let mut x = Tensor::zeros(3, DType::F32, &Device::Cpu)?;
            let ones = Tensor::ones(3, DType::F32, &Device::Cpu)?;
            for timestep in schedule.timesteps().to_vec() {
                x = schedule.step(&ones, timestep, &x)?;
            }
            let moved = x.to_vec1::<f32>()?;
            assert!(moved.iter().all(|value| (value + 1.0).abs() < 1e-5), "{pipeline}: {moved:?}");
        }
        Ok(())
    }

    /// SD3 and Flux written as diffusers folders (their transformers under diffusers' names) read
    /// back to exactly the weights they were written from.
    #[test]
    fn sd3_and_flux_folders_read_back_the_weights_they_were_written_from() -> Result<(), Box<dyn std::error::Error>> {
        use crate::suite::{FluxVariant, ModelPath, Sd3Variant};
        for pipeline in
            [Pipeline::Sd3(Sd3Variant::Medium), Pipeline::Flux(FluxVariant::Schnell), Pipeline::Flux(FluxVariant::Dev)]
        {
            let dir = tempfile::tempdir()?;
            write_seeded_folder(dir.path(), pipeline, 7)?;
            let spec =
                DiffusionSpec { path: Some(ModelPath::new(dir.path().to_string_lossy())), preset: None, pipeline };
            assert_eq!(pipeline_config(&spec)?, PipelineConfig::tiny(pipeline), "{pipeline}");
            assert_eq!(inspect_folder(dir.path())?.pipeline, pipeline);
            let read = folder_weights(&spec)?;
            let written = crate::models::generate_weights(&DiffusionSpec { pipeline, ..DiffusionSpec::default() }, 7)?;
            assert_eq!(read.len(), written.len(), "{pipeline}");
            for (name, tensor) in &written {
                let back = read.get(name).ok_or(format!("{pipeline}: {name} not read back"))?;
                let differs = (back - tensor)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
                assert_eq!(differs, 0.0, "{pipeline}: {name}");
            }
        }
        Ok(())
    }
}
