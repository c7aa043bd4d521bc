//! The serde types of a phase: the optimization variant (dtype, device, quantization, batch size,
//! KV cache) applied to every workload.

use serde::{Deserialize, Serialize};

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
    /// Quantizes the weights of every linear layer (inference and generation only).
    #[serde(default)]
    pub quantization: Option<Quantization>,
    /// Text generation only: `false` recomputes the whole context for every new token instead of
    /// keeping the attention keys and values (the KV cache); on when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache: Option<bool>,
    /// Text generation from the user's files only: runs this GGUF file (relative to the suite
    /// file's folder; `{workload}` stands for the workload's name) instead of the workload's
    /// weights — e.g. llama.cpp's quantization of the Hugging Face folder the baseline runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<super::ModelPath>,
    /// Image generation only: what this phase changes of each generation (steps, resolution,
    /// guidance, scheduler, attention slicing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<super::ImagePhase>,
}

impl Phase {
    /// Whether text generation keeps the KV cache in this phase.
    pub fn uses_kv_cache(&self) -> bool {
        self.kv_cache.unwrap_or(true)
    }
}

/// Weight quantization of linear layers, with candle's GGML block formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quantization {
    /// 8-bit, blocks of 32 (8.5 bits per weight).
    Q8_0,
    /// 4-bit, blocks of 32 (4.5 bits per weight).
    Q4_0,
    /// 4-bit k-quant, super-blocks of 256 (4.5 bits per weight).
    Q4K,
}

impl std::fmt::Display for Quantization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
            Self::Q4K => "q4k",
        })
    }
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
