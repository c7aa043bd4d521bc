//! A pipeline's diffusers folder: its components' weight files, read into one map of f32 weights
//! (SD3's and Flux's transformers renamed to the names candle builds with) and checked against
//! what the configured pipeline needs; written from seeded weights; inspected for what it holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use candle_core::{DType, Device, Tensor};

use super::config::{self, PipelineConfig};
use super::{
    Fingerprint, ImagePipeline, TRANSFORMER, components, fingerprint, pipeline_config, recorded_parameters,
    text_encoder_problem, transformer, transformer_shape,
};
use crate::models::{ParamTensor, Weights};
use crate::suite::{DiffusionSpec, ModelSpec};

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
    let mut files = Vec::new();
    for component in components(config) {
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
    folder_weights_timed(spec).map(|(weights, _)| weights)
}

/// One component of a pipeline folder read from its files.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComponentLoad {
    /// The component's folder (`unet`, `vae`, `text_encoder`…).
    pub component: String,
    /// Bytes of its files.
    pub bytes: u64,
    /// Seconds to read them into f32 weights.
    pub read_secs: f64,
}

/// [`folder_weights`], with each component's bytes and reading time.
pub fn folder_weights_timed(spec: &DiffusionSpec) -> Result<(Weights, Vec<ComponentLoad>), String> {
    let Some(path) = &spec.path else { return Err("Diffusion without a folder has no files to read".into()) };
    let folder = path.location();
    let config = pipeline_config(spec)?;
    let mut weights = Weights::new();
    let mut transformer = HashMap::new();
    let mut loads: Vec<ComponentLoad> = Vec::new();
    for (component, file) in pipeline_files(&folder, &config)? {
        let start = std::time::Instant::now();
        let bytes = std::fs::metadata(&file).map(|meta| meta.len()).unwrap_or(0);
        let tensors = candle_core::safetensors::load(&file, &Device::Cpu)
            .map_err(|error| format!("{}: {error}", file.display()))?;
        for (name, tensor) in tensors {
            let tensor = tensor.to_dtype(DType::F32).map_err(|error| format!("{}: {error}", file.display()))?;
            if component == TRANSFORMER {
                transformer.insert(name, tensor);
            } else {
                weights.insert(format!("{component}.{name}"), tensor);
            }
        }
        let read_secs = start.elapsed().as_secs_f64();
        match loads.last_mut().filter(|load| load.component == component) {
            Some(load) => {
                load.bytes += bytes;
                load.read_secs += read_secs;
            }
            None => loads.push(ComponentLoad { component: component.to_owned(), bytes, read_secs }),
        }
    }
    // SD3's and Flux's transformers under the original names candle builds them with.
    let (_, last_block) = transformer_shape(&config);
    let transformer = transformer::from_diffusers(config.pipeline, transformer, last_block)
        .map_err(|error| format!("{}: {error}", folder.display()))?;
    weights.extend(transformer.into_iter().map(|(name, tensor)| (format!("{TRANSFORMER}.{name}"), tensor)));
    // The tensors the pipeline asks for given the names the files use (an older autoencoder's
    // `query`/`key`/`value` attention, or today's `to_q`…).
    let present = weights.keys().cloned().collect();
    let needed = crate::models::recording::record(crate::models::recording::Presence::Names(present), |vb| {
        ImagePipeline::build(&config, vb, None)
    });
    check_weights(&folder, &config, &needed, &weights)?;
    Ok((weights, loads))
}

/// Why `weights` cannot build a pipeline that needs `needed` (at most three tensors named).
fn check_weights(
    folder: &Path,
    config: &PipelineConfig,
    needed: &[ParamTensor],
    weights: &Weights,
) -> Result<(), String> {
    let (_, last_block) = transformer_shape(config);
    let mut problems = Vec::new();
    for param in needed {
        let (component, original) = param.name.split_once('.').unwrap_or(("", &param.name));
        // A transformer's tensor as the files name it (q, k and v apart).
        let name = if component == TRANSFORMER {
            transformer::diffusers_names(config.pipeline, original, last_block).join("` + `")
        } else {
            original.to_owned()
        };
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
    let weights = crate::models::generate_weights(&DiffusionSpec { pipeline, ..DiffusionSpec::default() }, seed)
        .map_err(|error| format!("cannot generate the weights: {error}"))?;
    write_folder(folder, &config, &weights)
}

/// Writes `weights` (named `component.tensor`) and `config` as a diffusers folder: each
/// component's `config.json` and its safetensors file.
pub fn write_folder(folder: &Path, config: &PipelineConfig, weights: &Weights) -> Result<(), String> {
    config.write_folder(folder).map_err(|error| format!("{}: {error}", folder.display()))?;
    let (hidden, last_block) = transformer_shape(config);
    for component in components(config) {
        let prefix = format!("{component}.");
        let mut tensors: HashMap<String, Tensor> = weights
            .iter()
            .filter_map(|(name, tensor)| Some((name.strip_prefix(&prefix)?.to_owned(), tensor.clone())))
            .collect();
        if component == TRANSFORMER {
            tensors = transformer::to_diffusers(config.pipeline, &tensors, hidden, last_block)?;
        }
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
    /// One line: the family, the UNet's levels (or the transformer's blocks), the text encoders
    /// and the size.
    pub fn summary(&self) -> String {
        let parameters = crate::units::format_count(self.parameters as f64);
        let latent = self.config.vae_scale_factor();
        match &self.config.transformer {
            Some(config::TransformerDenoiser::Mmdit { depth, head_size, .. }) => {
                return format!(
                    "{} · MMDiT {depth} joint blocks × {head_size}-wide heads · {} · latent ×{latent} · {parameters} parameters",
                    self.pipeline,
                    self.text_summary()
                );
            }
            Some(config::TransformerDenoiser::Flux { hidden, double_blocks, single_blocks, .. }) => {
                return format!(
                    "{} · transformer {double_blocks} double + {single_blocks} single blocks, {hidden} wide · {} · latent ×{latent} · {parameters} parameters",
                    self.pipeline,
                    self.text_summary()
                );
            }
            None => {}
        }
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

    /// SD3's and Flux's text encoders, or the seeded embeddings standing for them.
    fn text_summary(&self) -> String {
        match &self.config.t5 {
            Some(t5) => format!("{} CLIP + T5 {} wide", self.config.text_encoders.len(), t5.d_model),
            None => "seeded text embeddings".to_owned(),
        }
    }

    /// The workload that runs this folder, as a suite writes it.
    pub fn workload_text(&self, path: &str) -> String {
        use crate::suite::{FluxVariant, Pipeline};
        let side = self.config.unet.sample_size * self.config.vae_scale_factor();
        // Each family's usual generation: schnell 4 steps unguided, Flux dev 3.5 as an input,
        // SD3 28 steps at 7.0.
        let (name, steps, guidance) = match self.pipeline {
            Pipeline::Flux(FluxVariant::Schnell) => ("flux", 4, 0.0),
            Pipeline::Flux(FluxVariant::Dev) => ("flux", 28, 3.5),
            Pipeline::Sd3(_) => ("sd3", 28, 7.0),
            Pipeline::StableDiffusion(_) => ("sd", 20, 7.5),
        };
        format!(
            "Workload(name: {name:?}, model: Diffusion(path: {path:?}, pipeline: {:?}), mode: ImageGeneration(steps: {steps}, width: {side}, height: {side}, guidance: {guidance:?}))",
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
    let transformer_config = folder.join("transformer/config.json");
    if transformer_config.is_file() {
        return read_transformer_folder(folder, &transformer_config);
    }
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
    measured_folder(folder, config)
}

/// An SD3 or Flux folder: the transformer's class names the family, Flux's guidance input the
/// variant.
fn read_transformer_folder(folder: &Path, transformer_config: &Path) -> Result<PipelineFolder, String> {
    use crate::suite::{FluxVariant, Pipeline, Sd3Variant};
    let file: transformer::TransformerFile = serde_json::from_str(
        &std::fs::read_to_string(transformer_config)
            .map_err(|error| format!("{}: {error}", transformer_config.display()))?,
    )
    .map_err(|error| format!("{}: {error}", transformer_config.display()))?;
    let pipeline = match file.class_name.as_str() {
        "FluxTransformer2DModel" if file.guidance_embeds => Pipeline::Flux(FluxVariant::Dev),
        "FluxTransformer2DModel" => Pipeline::Flux(FluxVariant::Schnell),
        "SD3Transformer2DModel" => Pipeline::Sd3(Sd3Variant::Medium),
        other => {
            return Err(format!(
                "{}: a {other:?}; phasebench reads SD3Transformer2DModel and FluxTransformer2DModel transformers",
                transformer_config.display()
            ));
        }
    };
    measured_folder(folder, PipelineConfig::read_folder(folder, pipeline)?)
}

fn measured_folder(folder: &Path, config: PipelineConfig) -> Result<PipelineFolder, String> {
    let pipeline = config.pipeline;
    let files = pipeline_files(folder, &config)?;
    let bytes = files.iter().filter_map(|(_, file)| std::fs::metadata(file).ok()).map(|meta| meta.len()).sum();
    let parameters = recorded_parameters(&config).iter().map(ParamTensor::elements).sum();
    Ok(PipelineFolder { pipeline, config, parameters, bytes })
}
