//! The serde types of a suite file: what to run (workloads), the variants to compare (phases) and
//! how to measure (settings).

use serde::{Deserialize, Serialize};

use super::Phase;

/// The suite file format version this program writes and reads.
pub const SUITE_VERSION: u32 = 1;

/// A benchmark suite: workloads × phases, measured under one set of settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// File format version; must be [`SUITE_VERSION`] or older.
    pub version: u32,
    /// Short name, used in result directory names and reports.
    pub name: String,
    /// What the suite demonstrates, for humans.
    #[serde(default)]
    pub description: String,
    /// Measurement settings shared by every run.
    #[serde(default)]
    pub settings: Settings,
    /// The models to benchmark.
    pub workloads: Vec<Workload>,
    /// The optimization variants to compare on every workload.
    pub phases: Vec<Phase>,
    /// Name of the phase every other phase is compared against.
    pub baseline: String,
    /// Goals the runs should meet, each checked after the suite ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// A goal for runs, e.g. `Target(metric: P50Ms, max: 20.0, workload: "mlp")`: every completed run
/// that matches the filters is checked against `min` and/or `max`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What is measured.
    pub metric: TargetMetric,
    /// Lowest acceptable value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest acceptable value.
    #[serde(default)]
    pub max: Option<f64>,
    /// Only runs of this workload (all when absent).
    #[serde(default)]
    pub workload: Option<String>,
    /// Only runs of this phase (all when absent).
    #[serde(default)]
    pub phase: Option<String>,
}

/// The figure a [`Target`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetMetric {
    /// Median step time in milliseconds (with its CI).
    P50Ms,
    /// 99th-percentile step time in milliseconds.
    P99Ms,
    /// Batch items per second at the median step (with its CI).
    ThroughputPerSec,
    /// Speed against the baseline per item (with its CI); phases other than the baseline.
    Speedup,
    /// Largest absolute output difference from the baseline; phases other than the baseline.
    AccuracyMaxAbs,
    /// Memory the run itself needed, in bytes: the GPU memory it took on a GPU, its host memory
    /// (model, inputs, activations) on the CPU.
    PeakMemoryBytes,
    /// GPU energy per measured step, in joules.
    EnergyPerStepJ,
    /// Median time of one whole generation, in seconds (generation workloads).
    GenerationSecs,
}

impl TargetMetric {
    /// The metric's name and unit for people.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::P50Ms => ("p50", "ms"),
            Self::P99Ms => ("p99", "ms"),
            Self::ThroughputPerSec => ("throughput", "items/s"),
            Self::Speedup => ("speedup", "×"),
            Self::AccuracyMaxAbs => ("max abs error", ""),
            Self::PeakMemoryBytes => ("peak memory", "bytes"),
            Self::EnergyPerStepJ => ("energy per step", "J"),
            Self::GenerationSecs => ("generation time", "s"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, unit) = self.metric.describe();
        write!(f, "{name}")?;
        if let Some(min) = self.min {
            write!(f, " ≥ {min} {unit}")?;
        }
        if let Some(max) = self.max {
            write!(f, " ≤ {max} {unit}")?;
        }
        if let Some(workload) = &self.workload {
            write!(f, " for {workload}")?;
        }
        if let Some(phase) = &self.phase {
            write!(f, " in {phase}")?;
        }
        Ok(())
    }
}

/// How long and how carefully each run is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Steps run before measuring; timed and kept apart, never in statistics.
    pub warmup_steps: usize,
    /// A run measures at least this many steps (unless `max_secs` runs out first).
    pub min_steps: usize,
    /// A run stops after this many measured steps.
    pub max_steps: usize,
    /// A run measures for at least this long (unless `max_steps` is reached first).
    pub min_secs: f64,
    /// A run stops measuring after this long.
    pub max_secs: f64,
    /// Seed for weights, inputs and bootstrap resampling.
    pub seed: u64,
    /// Relative change within which a phase counts as the baseline's speed (0.02 = ±2 %), or `Auto`:
    /// a multiple of the resolution the group's A/A control reached (see `NoiseThreshold`).
    pub noise_threshold: super::NoiseThreshold,
    /// Relative change below which a comparison with a saved result (`compare`, `run --baseline`)
    /// says "unchanged"; larger than `noise_threshold` because separate runs of a suite also differ
    /// by the machine's state between them (0.10 = 10 %).
    pub regression_threshold: f64,
    /// Largest resident memory a batch sweep may grow the process to; by default half of the
    /// memory available when the suite starts.
    pub max_memory_bytes: Option<u64>,
    /// How often telemetry is sampled during a run, in milliseconds (at least 10).
    pub telemetry_interval_ms: u64,
    /// A run still going after this many seconds (a hung step, a runaway model) is abandoned and
    /// recorded as timed out; the suite goes on.
    pub run_timeout_secs: f64,
    /// "Cold" timing: overwrite a buffer larger than the caches (the GPU's L2, the CPU's last
    /// level) on the phase's device before every step, outside the timed region, so no step finds
    /// the previous step's data cached.
    pub flush_cache_between_steps: bool,
    /// How close a phase's output must stay to the baseline's to pass the accuracy check.
    pub accuracy: AccuracyBounds,
    /// How the phases of a workload at one batch size are measured against each other.
    pub schedule: super::Schedule,
}

/// How close a phase's output must stay to the baseline phase's on the probe input to pass: every
/// value finite, and each bound below held.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccuracyBounds {
    /// Smallest cosine similarity of the outputs as vectors (direction).
    pub min_cosine: f64,
    /// Largest relative error: of the whole output, ‖phase − baseline‖₂ / ‖baseline‖₂ (size as well
    /// as direction); for training, the largest relative difference of a step's loss.
    pub max_relative_error: f64,
    /// Smallest PSNR in dB of a generated image (generation only); none by default.
    pub min_psnr_db: Option<f64>,
    /// Text generation only: smallest fraction of positions whose most likely next token is the
    /// baseline's (teacher-forced).
    pub min_top1_agreement: f64,
}

impl Default for AccuracyBounds {
    fn default() -> Self {
        Self { min_cosine: 0.999, max_relative_error: 0.05, min_psnr_db: None, min_top1_agreement: 0.9 }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            warmup_steps: 5,
            min_steps: 20,
            max_steps: 500,
            min_secs: 0.5,
            max_secs: 10.0,
            seed: 42,
            noise_threshold: super::NoiseThreshold::Fixed(0.02),
            regression_threshold: 0.10,
            max_memory_bytes: None,
            telemetry_interval_ms: 100,
            run_timeout_secs: 600.0,
            flush_cache_between_steps: false,
            accuracy: AccuracyBounds::default(),
            schedule: super::Schedule::default(),
        }
    }
}

/// One model to benchmark, with the batch sizes to run it at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Unique name within the suite.
    pub name: String,
    /// The model from the catalog and its size parameters.
    pub model: ModelSpec,
    /// What one step does.
    #[serde(default)]
    pub mode: Mode,
    /// Batch sizes to run every phase at (a phase may override them).
    #[serde(default = "default_batch_sizes")]
    pub batch_sizes: Vec<usize>,
    /// Runs increasing batch sizes instead of `batch_sizes`, until one fails or would exceed the
    /// time or memory budget.
    #[serde(default)]
    pub batch_sweep: Option<BatchSweep>,
    /// A safetensors file with the model's weights (relative paths start at the suite file's
    /// folder); without it, weights are generated from the seed.
    #[serde(default)]
    pub weights: Option<String>,
}

fn default_batch_sizes() -> Vec<usize> {
    vec![1]
}

/// Batch sizes `from`, `from·factor`, `from·factor²`, … up to `to`, written `Sweep(from: 1, to: 512)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Sweep", deny_unknown_fields)]
pub struct BatchSweep {
    /// First batch size.
    pub from: usize,
    /// Largest batch size tried.
    pub to: usize,
    /// Growth from one batch size to the next (at least 2).
    #[serde(default = "default_sweep_factor")]
    pub factor: usize,
}

fn default_sweep_factor() -> usize {
    2
}

impl BatchSweep {
    /// The batch sizes of the sweep, in order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut batch = self.from;
        while batch <= self.to && batch > 0 {
            sizes.push(batch);
            match batch.checked_mul(self.factor.max(2)) {
                Some(next) => batch = next,
                None => break,
            }
        }
        sizes
    }
}

impl Workload {
    /// The batch sizes this workload runs at: the sweep's, or `batch_sizes`.
    pub fn effective_batch_sizes(&self) -> Vec<usize> {
        self.batch_sweep.map_or_else(|| self.batch_sizes.clone(), |sweep| sweep.batch_sizes())
    }
}

/// What one measured step of a workload does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Mode {
    /// One forward pass on a batch.
    #[default]
    Inference,
    /// Forward, loss, backward and optimizer update on a fixed batch.
    Training(TrainingSpec),
    /// Diffusion sampling: one generation is `steps` denoising steps; each step is measured.
    Generation(GenerationSpec),
    /// Language-model generation: a prefill, then one measured step per further token.
    TextGeneration(super::TextGenerationSpec),
    /// Image generation by a diffusion pipeline: text encoding, one measured step per denoising
    /// step, the autoencoder's decode.
    ImageGeneration(super::ImageGenerationSpec),
}

impl Mode {
    /// The mode's name as written in suites.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Which mode this is, without its settings.
    pub fn kind(&self) -> ModeKind {
        match self {
            Self::Inference => ModeKind::Inference,
            Self::Training(_) => ModeKind::Training,
            Self::Generation(_) => ModeKind::Generation,
            Self::TextGeneration(_) => ModeKind::TextGeneration,
            Self::ImageGeneration(_) => ModeKind::ImageGeneration,
        }
    }
}

/// A [`Mode`] without its settings: what the catalog says a model supports and the editor offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModeKind {
    /// [`Mode::Inference`].
    Inference,
    /// [`Mode::Training`].
    Training,
    /// [`Mode::Generation`].
    Generation,
    /// [`Mode::TextGeneration`].
    TextGeneration,
    /// [`Mode::ImageGeneration`].
    ImageGeneration,
}

impl ModeKind {
    /// The mode's name as written in suites.
    pub fn name(self) -> &'static str {
        match self {
            Self::Inference => "Inference",
            Self::Training => "Training",
            Self::Generation => "Generation",
            Self::TextGeneration => "TextGeneration",
            Self::ImageGeneration => "ImageGeneration",
        }
    }

    /// The mode in words, for headings: "inference", "image generation".
    pub fn words(self) -> &'static str {
        match self {
            Self::Inference => "inference",
            Self::Training => "training",
            Self::Generation => "generation",
            Self::TextGeneration => "text generation",
            Self::ImageGeneration => "image generation",
        }
    }

    /// The mode with the settings a new workload starts from (AdamW at 1e-3; 20 denoising steps; a
    /// 128-token prompt and 32 new tokens).
    pub fn default_mode(self) -> Mode {
        match self {
            Self::Inference => Mode::Inference,
            Self::Training => {
                Mode::Training(TrainingSpec { optimizer: OptimizerSpec::AdamW(LearningRate { lr: 1e-3 }) })
            }
            Self::Generation => Mode::Generation(GenerationSpec { steps: 20 }),
            Self::TextGeneration => Mode::TextGeneration(super::TextGenerationSpec::default()),
            Self::ImageGeneration => Mode::ImageGeneration(super::ImageGenerationSpec::default()),
        }
    }
}

/// Settings of a training step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// The optimizer that updates the weights after each backward pass.
    pub optimizer: OptimizerSpec,
}

/// An optimizer and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerSpec {
    /// AdamW (decoupled weight decay 0.01).
    AdamW(LearningRate),
    /// Plain stochastic gradient descent.
    Sgd(LearningRate),
}

/// A learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningRate {
    /// Step size.
    pub lr: f64,
}

/// Settings of a generation loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSpec {
    /// Denoising steps per generated image.
    pub steps: usize,
}

/// A model from the built-in catalog with its size parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// A single batched matrix product `[batch, m, k] × [k, n]`.
    MatMul(MatMulSpec),
    /// A multi-layer perceptron with GELU activations.
    Mlp(MlpSpec),
    /// A residual convolutional image classifier.
    ConvNet(ConvNetSpec),
    /// A pre-norm transformer encoder.
    Transformer(TransformerSpec),
    /// A DiT-style diffusion denoiser with timestep-modulated layer norms.
    DiffusionTransformer(DiffusionTransformerSpec),
    /// Returns its input: a step costs only the harness around it (measures phasebench's overhead).
    Noop(NoopSpec),
    /// A language model of a real family (Llama, Mistral, Qwen) with seeded weights.
    Llm(super::LlmSpec),
    /// The user's own language model from a Hugging Face folder (`config.json` and safetensors).
    HfFolder(super::ModelFileSpec),
    /// The user's own quantized language model from a GGUF file (llama.cpp's format).
    Gguf(super::ModelFileSpec),
    /// A vision encoder of a real family (ViT, DINOv2, ConvNeXt, ResNet) with a classifier head.
    Vision(super::VisionSpec),
    /// A text-to-image diffusion pipeline of a real family (Stable Diffusion), from a diffusers
    /// folder or with seeded weights.
    Diffusion(super::DiffusionSpec),
}

/// Sizes of a [`ModelSpec::ConvNet`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConvNetSpec {
    /// Channels of the input image.
    pub in_channels: usize,
    /// Height and width of the input image in pixels.
    pub image_size: usize,
    /// Channels of every convolution after the stem.
    pub channels: usize,
    /// Residual blocks (two 3×3 convolutions with group norm and SiLU each).
    pub blocks: usize,
    /// Output classes.
    pub classes: usize,
}

impl Default for ConvNetSpec {
    fn default() -> Self {
        Self { in_channels: 3, image_size: 32, channels: 32, blocks: 2, classes: 10 }
    }
}

/// Sizes of a [`ModelSpec::Transformer`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerSpec {
    /// Encoder layers.
    pub layers: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Attention heads; must divide `hidden`.
    pub heads: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Width of the MLP as a multiple of `hidden`.
    pub ffn_mult: usize,
    /// Whether attention is masked to earlier tokens (decoder-style).
    pub causal: bool,
}

impl Default for TransformerSpec {
    fn default() -> Self {
        Self { layers: 2, hidden: 256, heads: 4, seq_len: 64, ffn_mult: 4, causal: false }
    }
}

/// Sizes of a [`ModelSpec::DiffusionTransformer`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiffusionTransformerSpec {
    /// Height and width of the latent in pixels.
    pub image_size: usize,
    /// Patch size; must divide `image_size`.
    pub patch: usize,
    /// Channels of the latent.
    pub channels: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads; must divide `hidden`.
    pub heads: usize,
}

impl Default for DiffusionTransformerSpec {
    fn default() -> Self {
        Self { image_size: 32, patch: 4, channels: 4, hidden: 256, layers: 4, heads: 4 }
    }
}

/// Sizes of a [`ModelSpec::Noop`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoopSpec {
    /// Features of each input item (the input is made once; the model only passes it on).
    pub features: usize,
}

impl Default for NoopSpec {
    fn default() -> Self {
        Self { features: 1 }
    }
}

/// Sizes of a [`ModelSpec::MatMul`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatMulSpec {
    /// Rows of the input per batch item.
    pub m: usize,
    /// Columns of the weight matrix (output features).
    pub n: usize,
    /// Inner dimension (input features).
    pub k: usize,
}

impl Default for MatMulSpec {
    fn default() -> Self {
        Self { m: 512, n: 512, k: 512 }
    }
}

/// Sizes of a [`ModelSpec::Mlp`] workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpSpec {
    /// Input features.
    pub input: usize,
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Number of hidden layers (each a linear layer followed by GELU).
    pub layers: usize,
    /// Output features.
    pub output: usize,
}

impl Default for MlpSpec {
    fn default() -> Self {
        Self { input: 256, hidden: 512, layers: 4, output: 10 }
    }
}

impl ModelSpec {
    /// The catalog name of this model, as written in suite files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::MatMul(_) => "MatMul",
            Self::Mlp(_) => "Mlp",
            Self::ConvNet(_) => "ConvNet",
            Self::Transformer(_) => "Transformer",
            Self::DiffusionTransformer(_) => "DiffusionTransformer",
            Self::Noop(_) => "Noop",
            Self::Llm(_) => "Llm",
            Self::HfFolder(_) => "HfFolder",
            Self::Gguf(_) => "Gguf",
            Self::Vision(_) => "Vision",
            Self::Diffusion(_) => "Diffusion",
        }
    }
}
