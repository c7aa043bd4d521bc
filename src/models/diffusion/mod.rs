//! Text-to-image diffusion pipelines of real families, built by `candle-transformers` (never
//! re-implemented here): Stable Diffusion's CLIP text encoder(s), conditional UNet and KL
//! autoencoder, from a diffusers-layout folder or with seeded weights at the tiny preset. Weights
//! are held as one map whose names start with the component's folder (`unet.`, `vae.`,
//! `text_encoder.`, `text_encoder_2.`), so a folder's safetensors load under their own names.

pub mod config;
mod pipeline;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model;
use candle_transformers::models::stable_diffusion::clip as sd_clip;

pub use config::{PipelineConfig, TEXT_ENCODER_FOLDERS, TextEncoderConfig};
pub use pipeline::{Conditioning, FlowMatchEuler, ImagePipeline};

use super::{Architecture, BuildOptions, Network, ParamTensor, Weights};
use crate::suite::{DiffusionSpec, ModelSpec};

/// The components' folders in a diffusers pipeline, besides the text encoders.
const UNET: &str = "unet";
const VAE: &str = "vae";

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
    let configs = ["unet/config.json", "vae/config.json", "text_encoder/config.json", "text_encoder_2/config.json"];
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
    let presence = if matches!(config.pipeline, crate::suite::Pipeline::Sd3(_)) {
        super::recording::Presence::None
    } else {
        super::recording::Presence::All
    };
    let params = super::recording::record(presence, |vb| ImagePipeline::build(config, vb, None));
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

/// A component folder's safetensors files: the full-precision ones when the folder also holds
/// a variant (`*.fp16.safetensors`), else the variant's.
fn component_files(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(folder).map_err(|error| format!("{}: {error}", folder.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "safetensors"))
        .collect();
    files.sort();
    let is_variant = |path: &PathBuf| path.file_name().is_some_and(|name| name.to_string_lossy().contains(".fp16."));
    if files.iter().any(|path| !is_variant(path)) {
        files.retain(|path| !is_variant(path));
    }
    if files.is_empty() {
        return Err(format!("{}: no .safetensors file (the component's weights)", folder.display()));
    }
    Ok(files)
}

/// The folders and weight files of a diffusers pipeline with `config`'s components.
fn pipeline_files(folder: &Path, config: &PipelineConfig) -> Result<Vec<(&'static str, PathBuf)>, String> {
    let components = [UNET, VAE].into_iter().chain(TEXT_ENCODER_FOLDERS.into_iter().take(config.text_encoders.len()));
    let mut files = Vec::new();
    for component in components {
        files.extend(component_files(&folder.join(component))?.into_iter().map(|file| (component, file)));
    }
    Ok(files)
}

/// The safetensors files a Diffusion workload with a folder reads (for the load record).
pub fn workload_weight_files(model: &ModelSpec) -> Option<Vec<PathBuf>> {
    let ModelSpec::Diffusion(spec) = model else { return None };
    let folder = spec.path.as_ref()?.location();
    let config = pipeline_config(spec).ok()?;
    pipeline_files(&folder, &config).ok().map(|files| files.into_iter().map(|(_, file)| file).collect())
}

/// Reads a Diffusion workload's folder into f32 master weights named `component.tensor`, checked
/// against the tensors the configured pipeline needs: a missing tensor or a shape that differs is
/// an error naming the component, the tensor and both shapes.
pub fn folder_weights(spec: &DiffusionSpec) -> Result<Weights, String> {
    let Some(path) = &spec.path else { return Err("Diffusion without a folder has no files to read".into()) };
    let folder = path.location();
    let config = pipeline_config(spec)?;
    let mut weights = Weights::new();
    for (component, file) in pipeline_files(&folder, &config)? {
        let tensors = candle_core::safetensors::load(&file, &Device::Cpu)
            .map_err(|error| format!("{}: {error}", file.display()))?;
        for (name, tensor) in tensors {
            let tensor = tensor.to_dtype(DType::F32).map_err(|error| format!("{}: {error}", file.display()))?;
            weights.insert(format!("{component}.{name}"), tensor);
        }
    }
    // The tensors the pipeline asks for given the names the files use (an older autoencoder's
    // `query`/`key`/`value` attention, or today's `to_q`…).
    let present = weights.keys().cloned().collect();
    let needed = super::recording::record(super::recording::Presence::Names(present), |vb| {
        ImagePipeline::build(&config, vb, None)
    });
    check_weights(&folder, &needed, &weights)?;
    Ok(weights)
}

/// Why `weights` cannot build a pipeline that needs `needed` (at most three tensors named).
fn check_weights(folder: &Path, needed: &[ParamTensor], weights: &Weights) -> Result<(), String> {
    let mut problems = Vec::new();
    for param in needed {
        let (component, name) = param.name.split_once('.').unwrap_or(("", &param.name));
        match weights.get(&param.name) {
            None => problems.push(format!("{component}/ has no tensor `{name}` {:?}", param.shape)),
            Some(tensor) if tensor.dims() != param.shape.as_slice() => problems.push(format!(
                "{component}/ tensor `{name}` is {:?}, but its config.json makes it {:?}",
                tensor.dims(),
                param.shape
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let more = problems.len().saturating_sub(3);
    problems.truncate(3);
    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
    Err(format!(
        "{}: {}{more}; are the config.json files the ones the weights were saved with?",
        folder.display(),
        problems.join("; ")
    ))
}

/// Why a Diffusion workload's folder cannot be read, as `(workload, message)` pairs: a missing
/// component or config file, configs that do not fit together, or no weights file.
pub fn folder_problems(suite: &crate::suite::Suite) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for workload in &suite.workloads {
        let ModelSpec::Diffusion(spec) = &workload.model else { continue };
        let Some(path) = &spec.path else { continue };
        let found = pipeline_config(spec).and_then(|config| pipeline_files(&path.location(), &config).map(|_| ()));
        if let Err(message) = found {
            problems.push((workload.name.clone(), format!("workload `{}`: {message}", workload.name)));
        }
    }
    problems
}

/// Writes a pipeline of `pipeline`'s family at the tiny preset, its weights seeded from `seed`,
/// as a diffusers folder: what tests and users without files load through the folder path.
pub fn write_seeded_folder(folder: &Path, pipeline: crate::suite::Pipeline, seed: u64) -> Result<(), String> {
    let config = PipelineConfig::tiny(pipeline);
    let weights = super::generate_weights(&DiffusionSpec { pipeline, ..DiffusionSpec::default() }, seed)
        .map_err(|error| format!("cannot generate the weights: {error}"))?;
    write_folder(folder, &config, &weights)
}

/// Writes `weights` (named `component.tensor`) and `config` as a diffusers folder: each
/// component's `config.json` and its safetensors file.
pub fn write_folder(folder: &Path, config: &PipelineConfig, weights: &Weights) -> Result<(), String> {
    config.write_folder(folder).map_err(|error| format!("{}: {error}", folder.display()))?;
    let components = [UNET, VAE].into_iter().chain(TEXT_ENCODER_FOLDERS.into_iter().take(config.text_encoders.len()));
    for component in components {
        let prefix = format!("{component}.");
        let tensors: HashMap<String, Tensor> = weights
            .iter()
            .filter_map(|(name, tensor)| Some((name.strip_prefix(&prefix)?.to_owned(), tensor.clone())))
            .collect();
        let file_name = if component.starts_with("text_encoder") {
            "model.safetensors"
        } else {
            "diffusion_pytorch_model.safetensors"
        };
        let file = folder.join(component).join(file_name);
        candle_core::safetensors::save(&tensors, &file).map_err(|error| format!("{}: {error}", file.display()))?;
    }
    Ok(())
}

/// What a diffusers folder holds, as `phasebench inspect` and the editor tell it.
#[derive(Clone, Debug)]
pub struct PipelineFolder {
    /// The pipeline its configs point to (XL when it has a second text encoder; 2.1 when it
    /// predicts velocity or its text encoder is OpenCLIP's; else 1.5).
    pub pipeline: crate::suite::Pipeline,
    /// Its configuration.
    pub config: PipelineConfig,
    /// Parameters of its components.
    pub parameters: usize,
    /// Bytes of its weight files.
    pub bytes: u64,
}

impl PipelineFolder {
    /// One line: the family, the UNet's levels, the text encoders and the size.
    pub fn summary(&self) -> String {
        let unet = &self.config.unet;
        format!(
            "{} · UNet {:?} channels, cross-attention {} · {} text encoder(s) · latent ×{} · {} parameters",
            self.pipeline,
            unet.block_out_channels,
            unet.cross_attention_dim,
            self.config.text_encoders.len(),
            self.config.vae_scale_factor(),
            crate::units::format_count(self.parameters as f64)
        )
    }

    /// The workload that runs this folder, as a suite writes it.
    pub fn workload_text(&self, path: &str) -> String {
        let side = self.config.unet.sample_size * self.config.vae_scale_factor();
        format!(
            "Workload(name: \"sd\", model: Diffusion(path: {path:?}, pipeline: {:?}), mode: ImageGeneration(steps: 20, width: {side}, height: {side}, guidance: 7.5))",
            self.pipeline
        )
    }
}

/// Reads a diffusers folder's configs (not its weights) and tells which pipeline it holds; the
/// error names the missing or broken file. Read once per folder until its config files change
/// (the editor asks every frame).
pub fn inspect_folder(folder: &Path) -> Result<PipelineFolder, String> {
    type Known = HashMap<PathBuf, (Fingerprint, Result<PipelineFolder, String>)>;
    static READ: OnceLock<Mutex<Known>> = OnceLock::new();
    let print = fingerprint(folder);
    let cache = READ.get_or_init(Mutex::default);
    if let Some((known, folder)) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(folder)
        && *known == print
    {
        return folder.clone();
    }
    let read = read_pipeline_folder(folder);
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(folder.to_owned(), (print, read.clone()));
    read
}

fn read_pipeline_folder(folder: &Path) -> Result<PipelineFolder, String> {
    use crate::suite::{Pipeline, StableDiffusionVersion as V};
    let version = if folder.join("text_encoder_2").is_dir() {
        // SDXL Turbo is SDXL's layout trained at 512 pixels (a 64-position latent).
        let unet: config::UnetConfig = serde_json::from_str(
            &std::fs::read_to_string(folder.join("unet/config.json"))
                .map_err(|error| format!("{}/unet/config.json: {error}", folder.display()))?,
        )
        .map_err(|error| format!("{}/unet/config.json: {error}", folder.display()))?;
        if unet.sample_size == 64 { V::SdxlTurbo } else { V::Sdxl }
    } else {
        let v1 = PipelineConfig::read_folder(folder, Pipeline::StableDiffusion(V::V1_5))?;
        let open_clip = v1.text_encoders.iter().any(|encoder| encoder.hidden_act != "quick_gelu");
        // SD 2.x: v-prediction, OpenCLIP's text encoder, or linear projections in the UNet.
        if v1.v_prediction || open_clip || v1.unet.use_linear_projection { V::V2_1 } else { V::V1_5 }
    };
    let pipeline = Pipeline::StableDiffusion(version);
    let config = PipelineConfig::read_folder(folder, pipeline)?;
    if let Some(problem) = config.text_encoders.iter().find_map(text_encoder_problem) {
        return Err(format!("{}: {problem}", folder.display()));
    }
    let files = pipeline_files(folder, &config)?;
    let bytes = files.iter().filter_map(|(_, file)| std::fs::metadata(file).ok()).map(|meta| meta.len()).sum();
    let parameters = recorded_parameters(&config).iter().map(ParamTensor::elements).sum();
    Ok(PipelineFolder { pipeline, config, parameters, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Pipeline, StableDiffusionVersion};

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

    /// SD3 (in f16: candle's MMDiT embeds timesteps in f16) and Flux build at the tiny preset,
    /// predict a velocity of the latent's shape from seeded text embeddings, and decode 8×.
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
            assert!(!built.has_text_encoder(), "{pipeline}: seeded text embeddings");
            let ids = Tensor::new(&[[5u32; 77], [9u32; 77]], &Device::Cpu)?;
            let conditioning = built.encode_text(&ids)?;
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
}
