//! The serde types of a suite file: what to run (workloads), the variants to compare (phases) and
//! how to measure (settings).

use serde::{Deserialize, Serialize};

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
    /// Relative change below which a comparison says "no detectable change" (0.02 = 2 %).
    pub noise_threshold: f64,
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
            noise_threshold: 0.02,
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
}

fn default_batch_sizes() -> Vec<usize> {
    vec![1]
}

/// What one measured step of a workload does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// One forward pass on a batch.
    #[default]
    Inference,
}

/// A model from the built-in catalog with its size parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// A single batched matrix product `[batch, m, k] × [k, n]`.
    MatMul(MatMulSpec),
    /// A multi-layer perceptron with GELU activations.
    Mlp(MlpSpec),
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

/// One optimization variant applied to every workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique name within the suite.
    pub name: String,
    /// Numeric type of weights and activations.
    #[serde(default)]
    pub dtype: DTypeSpec,
    /// Where the workload runs.
    #[serde(default)]
    pub device: DeviceSpec,
    /// Runs this phase at this batch size instead of the workload's batch sizes.
    #[serde(default)]
    pub batch_size: Option<usize>,
}

/// Numeric type of a phase's weights and activations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DTypeSpec {
    /// 32-bit IEEE float.
    #[default]
    F32,
    /// 16-bit IEEE half precision.
    F16,
    /// 16-bit brain float.
    BF16,
}

impl DTypeSpec {
    /// Bytes one element of this type takes.
    pub fn size_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
        }
    }
}

/// The device a phase runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceSpec {
    /// The host CPU (all cores candle is allowed to use).
    #[default]
    Cpu,
    /// The CUDA GPU with this ordinal.
    Cuda(usize),
}

impl std::fmt::Display for DTypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
        })
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
        }
    }
}

impl ModelSpec {
    /// The catalog name of this model, as written in suite files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::MatMul(_) => "MatMul",
            Self::Mlp(_) => "Mlp",
        }
    }
}
