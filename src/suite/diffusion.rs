//! Diffusion pipelines of real families as workloads: the user's diffusers-layout folder or seeded
//! tiny random weights, generating images in mode `ImageGeneration`, and what a phase may change
//! of a generation (steps, resolution, guidance, scheduler, attention slicing).

use serde::{Deserialize, Serialize};

use super::{ModelPath, ModelSpec, Phase};

/// A text-to-image pipeline, written `Diffusion(path: "models/sd15", pipeline: StableDiffusion(V1_5))`
/// (a diffusers folder) or `Diffusion(preset: TinyRandom, pipeline: StableDiffusion(V1_5))`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionSpec {
    /// A diffusers-layout folder (`unet/`, `vae/`, `text_encoder/` for Stable Diffusion;
    /// `transformer/`, `vae/` for SD3 and Flux; each with `config.json` and safetensors), relative
    /// to the suite file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<ModelPath>,
    /// Seeded random weights at a preset size, for a pipeline without files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<DiffusionPreset>,
    /// The pipeline's family and version.
    pub pipeline: Pipeline,
}

/// Sizes of a pipeline with seeded weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiffusionPreset {
    /// The family's block structure at test widths (UNet channels 32/64, VAE 32/64, a two-layer
    /// text encoder of width 32): seconds per image on a CPU.
    #[default]
    TinyRandom,
}

/// A pipeline family and version, as candle-transformers builds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pipeline {
    /// Stable Diffusion: CLIP text encoder(s), a conditional UNet, the KL autoencoder.
    StableDiffusion(StableDiffusionVersion),
    /// Stable Diffusion 3 (and 3.5): CLIP-L, CLIP-G and T5 text encoders, the MMDiT (joint
    /// text–image transformer) with flow matching and a 16-channel KL autoencoder.
    Sd3(Sd3Variant),
    /// Flux.1: CLIP-L and T5 text encoders, the double- and single-stream transformer with flow
    /// matching and a 16-channel KL autoencoder.
    Flux(FluxVariant),
}

/// A Stable Diffusion 3 variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sd3Variant {
    /// SD3 Medium's layout (24 joint blocks of 64-wide heads at full size).
    Medium,
}

/// A Flux.1 variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FluxVariant {
    /// schnell: distilled for 1–4 steps, no guidance.
    Schnell,
    /// dev: guidance distilled into an embedding (the guidance scale is an input, the batch is
    /// not doubled), a resolution-dependent schedule shift.
    Dev,
}

impl Pipeline {
    /// Whether the pipeline samples by flow matching (SD3, Flux) rather than a noise schedule.
    pub fn flow_matching(self) -> bool {
        !matches!(self, Self::StableDiffusion(_))
    }

    /// Pixels an image's side must be a multiple of (Flux packs 2×2 latent cells per token).
    pub fn size_multiple(self) -> usize {
        if matches!(self, Self::Flux(_)) { 16 } else { 8 }
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::StableDiffusion(StableDiffusionVersion::V1_5)
    }
}

impl std::fmt::Display for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::StableDiffusion(version) => write!(f, "Stable Diffusion {version}"),
            Self::Sd3(Sd3Variant::Medium) => f.write_str("Stable Diffusion 3 Medium"),
            Self::Flux(FluxVariant::Schnell) => f.write_str("Flux.1 schnell"),
            Self::Flux(FluxVariant::Dev) => f.write_str("Flux.1 dev"),
        }
    }
}

/// A Stable Diffusion version: its block layout, text encoders and prediction type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StableDiffusionVersion {
    /// 1.5: one CLIP ViT-L text encoder, ε-prediction, 512×512.
    V1_5,
    /// 2.1: one OpenCLIP ViT-H text encoder, v-prediction, 768×768, linear attention projections.
    V2_1,
    /// XL: two text encoders, three UNet levels with 2 and 10 transformer blocks, 1024×1024.
    Sdxl,
    /// XL Turbo: SDXL's layout distilled for 1–4 steps without guidance, 512×512.
    SdxlTurbo,
}

impl std::fmt::Display for StableDiffusionVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V1_5 => "1.5",
            Self::V2_1 => "2.1",
            Self::Sdxl => "XL",
            Self::SdxlTurbo => "XL Turbo",
        })
    }
}

/// The noise schedule that turns each step's prediction into the next latent. Only deterministic
/// schedulers are offered, so a phase's image can be compared with the baseline's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchedulerKind {
    /// DDIM with η = 0 (the Stable Diffusion pipelines' default here).
    #[default]
    Ddim,
    /// UniPC, a multistep predictor-corrector that needs fewer steps.
    UniPc,
}

impl std::fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ddim => "DDIM",
            Self::UniPc => "UniPC",
        })
    }
}

/// Settings of one image generation: the text is encoded, `steps` denoising steps run (each one
/// a measured step), then the latent is decoded to an image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageGenerationSpec {
    /// Denoising steps per image.
    pub steps: usize,
    /// Image width in pixels (a multiple of 8).
    pub width: usize,
    /// Image height in pixels (a multiple of 8).
    pub height: usize,
    /// Classifier-free guidance scale; above 1 each step runs the UNet on a doubled batch (with
    /// and without the text), at 1 or below guidance is off.
    pub guidance: f64,
    /// The scheduler.
    #[serde(default)]
    pub scheduler: SchedulerKind,
}

impl Default for ImageGenerationSpec {
    fn default() -> Self {
        Self { steps: 20, width: 512, height: 512, guidance: 7.5, scheduler: SchedulerKind::Ddim }
    }
}

impl ImageGenerationSpec {
    /// Whether classifier-free guidance runs (the UNet's batch doubled).
    pub fn guided(&self) -> bool {
        self.guidance > 1.0
    }

    /// The generation as `phase` changes it.
    pub fn for_phase(&self, phase: &Phase) -> Self {
        let Some(image) = &phase.image else { return *self };
        Self {
            steps: image.steps.unwrap_or(self.steps),
            width: image.width.unwrap_or(self.width),
            height: image.height.unwrap_or(self.height),
            guidance: image.guidance.unwrap_or(self.guidance),
            scheduler: image.scheduler.unwrap_or(self.scheduler),
        }
    }
}

/// What a phase changes of an image generation, written
/// `Phase(name: "8 steps", image: (steps: 8))`; every field left out keeps the workload's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePhase {
    /// Denoising steps instead of the workload's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Image width instead of the workload's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// Image height instead of the workload's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    /// Guidance scale instead of the workload's (1 turns guidance off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<f64>,
    /// Scheduler instead of the workload's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<SchedulerKind>,
    /// Attention computed in slices of this many heads (less memory, usually slower).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliced_attention: Option<usize>,
}

impl Phase {
    /// The attention slice size this phase sets for diffusion pipelines.
    pub fn sliced_attention(&self) -> Option<usize> {
        self.image.and_then(|image| image.sliced_attention)
    }
}

/// Why `spec` cannot be built, without opening its files.
pub(super) fn diffusion_problems(spec: &DiffusionSpec) -> Vec<String> {
    match (&spec.path, spec.preset) {
        (Some(_), Some(_)) => vec![
            "Diffusion has both `path` and `preset`; a folder brings its own sizes and weights, so keep one".into(),
        ],
        (None, None) => {
            vec!["Diffusion needs `path` (a diffusers folder) or `preset: TinyRandom` (seeded weights)".into()]
        }
        (Some(path), None) if path.written().trim().is_empty() => {
            vec!["Diffusion `path` is empty; name the pipeline's folder".into()]
        }
        _ => Vec::new(),
    }
}

/// Why `generation` cannot run, each message naming the field.
pub(super) fn generation_problems(generation: &ImageGenerationSpec, model: &ModelSpec, from: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let pipeline = match model {
        ModelSpec::Diffusion(spec) => spec.pipeline,
        _ => {
            messages.push(format!(
                "mode ImageGeneration needs a diffusion pipeline (Diffusion), not {}",
                model.kind_name()
            ));
            Pipeline::default()
        }
    };
    if !(1..=1000).contains(&generation.steps) {
        messages.push(format!("{from} `steps` is {}; it must be from 1 to 1000", generation.steps));
    }
    let multiple = pipeline.size_multiple();
    for (name, value) in [("width", generation.width), ("height", generation.height)] {
        if value == 0 || !value.is_multiple_of(multiple) || value > 4096 {
            messages.push(format!(
                "{from} `{name}` is {value}; for {pipeline} it must be a multiple of {multiple} from {multiple} to 4096"
            ));
        }
    }
    if pipeline.flow_matching() && generation.scheduler != SchedulerKind::Ddim {
        messages.push(format!(
            "{from} `scheduler` is {}, but {pipeline} samples by flow matching (Euler steps along its schedule); leave the scheduler out",
            generation.scheduler
        ));
    }
    if !(generation.guidance.is_finite() && generation.guidance >= 0.0) {
        messages.push(format!(
            "{from} `guidance` is {}; it must be a number ≥ 0 (1 or less: no guidance)",
            generation.guidance
        ));
    }
    messages
}

/// Why `phase` cannot run the image generation `generation` of the diffusion workload `model`,
/// each message continuing "workload `name`".
pub(super) fn image_phase_problems(generation: &ImageGenerationSpec, phase: &Phase, model: &ModelSpec) -> Vec<String> {
    if !matches!(model, ModelSpec::Diffusion(_)) {
        return Vec::new();
    }
    let mut messages: Vec<String> =
        generation_problems(&generation.for_phase(phase), model, &format!("phase `{}` image", phase.name))
            .into_iter()
            .map(|message| format!(": {message}"))
            .collect();
    let flux = matches!(model, ModelSpec::Diffusion(DiffusionSpec { pipeline: Pipeline::Flux(_), .. }));
    match phase.quantization {
        Some(_) if !flux => messages.push(format!(
            ": phase `{}` quantizes, but candle-transformers has a quantized form of Flux's transformer only, not of this pipeline (drop `quantization`)",
            phase.name
        )),
        Some(quantization) if phase.dtype != super::DTypeSpec::F32 => messages.push(format!(
            ": phase `{}` quantizes Flux's transformer to {quantization} in {}, but candle-transformers' quantized Flux runs in F32 (set `dtype: F32`)",
            phase.name, phase.dtype
        )),
        _ => {}
    }
    if let ModelSpec::Diffusion(DiffusionSpec { pipeline: Pipeline::Sd3(_), .. }) = model
        && phase.dtype != super::DTypeSpec::F16
    {
        messages.push(format!(
            " is SD3, but phase `{}` runs it in {}: candle-transformers 0.11's MMDiT embeds its timesteps in f16 whatever the weights, so SD3 runs in F16 only",
            phase.name, phase.dtype
        ));
    }
    if phase.sliced_attention().is_some() {
        messages.push(format!(
            ": phase `{}` sets `sliced_attention`, but candle-transformers 0.11's sliced attention fails on every shape (it stacks the slices where it must concatenate them: \"unexpected rank, expected: 3, got: 4\"); drop it until candle mends it",
            phase.name
        ));
    }
    messages
}
