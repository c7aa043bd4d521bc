//! The model catalog. Each model declares its parameter tensors, builds itself from a
//! [`VarBuilder`] and runs one forward pass. Weights are generated once per workload in f32 from
//! the seed ([`generate_weights`]) and converted per phase, so phases differ only by the
//! optimization they name. Adding a model is a new file here plus a [`ModelSpec`] variant.

mod convnet;
pub mod diffusion;
mod dit;
pub mod layers;
pub mod llm;
mod matmul;
mod mlp;
mod noop;
mod recording;
mod transformer;
pub mod vision;
mod weights_file;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

pub use layers::BuildOptions;
pub use weights_file::{WeightsError, load_weights, save_weights};

use crate::suite::{
    ConvNetSpec, DiffusionSpec, DiffusionTransformerSpec, LlmSpec, MatMulSpec, MlpSpec, ModeKind, ModelFileSpec,
    ModelSpec, NoopSpec, Quantization, TransformerSpec, VisionSpec,
};

/// Weights of one workload by tensor name (f32, on the CPU), the master copy every phase converts.
pub type Weights = HashMap<String, Tensor>;

/// How a parameter tensor is initialized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// Normal values with mean 0 and this standard deviation.
    Normal(f64),
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
}

/// One parameter tensor a model needs: its name, shape and how it is initialized.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamTensor {
    /// Name as looked up through the `VarBuilder` (e.g. `layers.0.weight`).
    pub name: String,
    /// Shape in candle's order.
    pub shape: Vec<usize>,
    /// Initialization of seeded weights.
    pub init: ParamInit,
    /// Whether it is a linear-layer weight, quantized by quantized phases.
    pub quantizable: bool,
}

impl ParamTensor {
    /// A tensor that stays in the phase's dtype.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, init: ParamInit) -> Self {
        Self { name: name.into(), shape, init, quantizable: false }
    }

    /// A linear-layer weight `[out, in]`, quantized by quantized phases.
    pub fn linear(name: impl Into<String>, shape: Vec<usize>, init: ParamInit) -> Self {
        Self { name: name.into(), shape, init, quantizable: true }
    }

    /// Number of elements.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The weight and bias of a linear layer `in → out` under `prefix`, initialized for unit variance.
pub fn linear_params(prefix: &str, in_dim: usize, out_dim: usize) -> [ParamTensor; 2] {
    [
        ParamTensor::linear(
            format!("{prefix}.weight"),
            vec![out_dim, in_dim],
            ParamInit::Normal(1.0 / (in_dim as f64).sqrt()),
        ),
        ParamTensor::new(format!("{prefix}.bias"), vec![out_dim], ParamInit::Zeros),
    ]
}

/// A built model, ready to run steps on one device in one dtype.
pub trait Network: Send {
    /// Runs one forward pass on `input` and returns the output.
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor>;

    /// Predicts the noise in `latent` at diffusion time `timestep` (1 = pure noise, 0 = clean).
    fn denoise(&self, latent: &Tensor, timestep: f64) -> candle_core::Result<Tensor> {
        let _ = (latent, timestep);
        candle_core::bail!("this model is not a diffusion model and cannot generate")
    }
}

/// What every catalog model tells about itself and how it builds.
pub trait Architecture {
    /// The parameter tensors, in a fixed order.
    fn parameters(&self) -> Vec<ParamTensor>;
    /// Shape of one input batch of `batch` items.
    fn input_shape(&self, batch: usize) -> Vec<usize>;
    /// Floating-point operations of one forward pass for one batch item, when known.
    fn flops_per_item(&self) -> Option<f64>;
    /// Builds the network from weights served by `vb` (in the phase's dtype and device).
    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>>;
    /// The language model's configuration, when this is one (it generates text instead of
    /// running [`Network`] steps).
    fn language_model(&self) -> Option<llm::LlmConfig> {
        None
    }
    /// Bytes the weights take when the model uses them as stored (a GGUF's quantized tensors),
    /// for memory estimates; `None` when a phase converts them to its dtype.
    fn stored_weight_bytes(&self) -> Option<f64> {
        None
    }
    /// Outputs of the classifier head, when the model is an image classifier: a phase's top-1
    /// agreement with the baseline is then measured on them.
    fn classes(&self) -> Option<usize> {
        None
    }
    /// The most items the model takes in one batch, when it cannot batch freely.
    fn batch_limit(&self) -> Option<usize> {
        None
    }
    /// The diffusion pipeline's configuration, when this is one (it generates images instead of
    /// running [`Network`] steps).
    fn image_pipeline(&self) -> Option<diffusion::PipelineConfig> {
        None
    }
}

/// The architecture behind a model spec.
pub fn architecture(spec: &ModelSpec) -> &dyn Architecture {
    match spec {
        ModelSpec::MatMul(spec) => spec,
        ModelSpec::Mlp(spec) => spec,
        ModelSpec::ConvNet(spec) => spec,
        ModelSpec::Transformer(spec) => spec,
        ModelSpec::DiffusionTransformer(spec) => spec,
        ModelSpec::Noop(spec) => spec,
        ModelSpec::Llm(spec) => spec,
        ModelSpec::HfFolder(spec) => llm::file_model(&spec.path.location(), llm::ModelFormat::HfFolder),
        ModelSpec::Gguf(spec) => llm::file_model(&spec.path.location(), llm::ModelFormat::Gguf),
        ModelSpec::Vision(spec) => spec,
        ModelSpec::Diffusion(spec) => spec,
    }
}

/// A catalog entry for `phasebench models` and the app's model picker.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    /// The model with default sizes.
    pub default_spec: ModelSpec,
    /// One line saying what it is.
    pub summary: &'static str,
    /// Each size parameter with its meaning.
    pub parameters: &'static [(&'static str, &'static str)],
    /// Workload modes it supports.
    pub modes: &'static [ModeKind],
}

/// The catalog entry of a model kind (as [`ModelSpec::kind_name`] names it).
pub fn catalog_entry(kind: &str) -> Option<CatalogEntry> {
    catalog().into_iter().find(|entry| entry.default_spec.kind_name() == kind)
}

/// Every model in the catalog, with defaults.
pub fn catalog() -> Vec<CatalogEntry> {
    vec![
        CatalogEntry {
            default_spec: ModelSpec::MatMul(MatMulSpec::default()),
            summary: "one batched matrix product [batch, m, k] x [k, n]; the GEMM at the heart of every model",
            parameters: &[
                ("m", "rows of the input per batch item"),
                ("n", "output features (columns of the weight)"),
                ("k", "input features (inner dimension)"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training],
        },
        CatalogEntry {
            default_spec: ModelSpec::Mlp(MlpSpec::default()),
            summary: "multi-layer perceptron: linear layers with GELU between them",
            parameters: &[
                ("input", "input features"),
                ("hidden", "width of each hidden layer"),
                ("layers", "number of hidden layers"),
                ("output", "output features"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training],
        },
        CatalogEntry {
            default_spec: ModelSpec::ConvNet(ConvNetSpec::default()),
            summary: "residual CNN image classifier: 3x3 conv stem, residual blocks with group norm and SiLU, pooling, linear head",
            parameters: &[
                ("in_channels", "channels of the input image"),
                ("image_size", "height and width of the input in pixels"),
                ("channels", "channels of every convolution"),
                ("blocks", "residual blocks"),
                ("classes", "output classes"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training],
        },
        CatalogEntry {
            default_spec: ModelSpec::Transformer(TransformerSpec::default()),
            summary: "pre-norm transformer encoder: multi-head self-attention (fused softmax) and GELU MLP with residuals",
            parameters: &[
                ("layers", "encoder layers"),
                ("hidden", "width of the residual stream"),
                ("heads", "attention heads (must divide hidden)"),
                ("seq_len", "tokens per sequence"),
                ("ffn_mult", "MLP width as a multiple of hidden"),
                ("causal", "mask attention to earlier tokens (true/false)"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training],
        },
        CatalogEntry {
            default_spec: ModelSpec::DiffusionTransformer(DiffusionTransformerSpec::default()),
            summary: "DiT-style diffusion denoiser: patchify, timestep embedding, blocks with adaptive layer-norm modulation, unpatchify",
            parameters: &[
                ("image_size", "height and width of the latent in pixels"),
                ("patch", "patch size (must divide image_size)"),
                ("channels", "latent channels"),
                ("hidden", "width of the residual stream"),
                ("layers", "transformer blocks"),
                ("heads", "attention heads (must divide hidden)"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training, ModeKind::Generation],
        },
        CatalogEntry {
            default_spec: ModelSpec::Noop(NoopSpec::default()),
            summary: "returns its input: a step costs only the harness around it, to measure phasebench's own overhead",
            parameters: &[("features", "features of each input item")],
            modes: &[ModeKind::Inference],
        },
        CatalogEntry {
            default_spec: ModelSpec::Llm(LlmSpec::default()),
            summary: "language model of a real family (candle-transformers' Llama, Mistral, Qwen2, Qwen3, Phi-3) with seeded weights: prefill, then one token per step",
            parameters: &[
                ("family", "Llama, Mistral, Qwen2, Qwen3 or Phi3"),
                (
                    "preset",
                    "Tiny (~0.16 M parameters), Small (~25 M), Medium (~125 M), Large (~0.4 B) or Custom(hidden, layers, heads, kv_heads, intermediate, vocab, context)",
                ),
            ],
            modes: &[ModeKind::TextGeneration],
        },
        CatalogEntry {
            default_spec: ModelSpec::HfFolder(ModelFileSpec::default()),
            summary: "your own language model from a Hugging Face folder (config.json and safetensors; llama, mistral, qwen2, qwen3, phi3)",
            parameters: &[("path", "the folder, relative to the suite file's folder")],
            modes: &[ModeKind::TextGeneration],
        },
        CatalogEntry {
            default_spec: ModelSpec::Gguf(ModelFileSpec::default()),
            summary: "your own quantized language model from a GGUF file (llama.cpp's format; llama, mistral, qwen2, qwen3, phi3)",
            parameters: &[("path", "the .gguf file, relative to the suite file's folder")],
            modes: &[ModeKind::TextGeneration],
        },
        CatalogEntry {
            default_spec: ModelSpec::Vision(VisionSpec::default()),
            summary: "vision encoder of a real family (candle-transformers' ViT, DINOv2, ConvNeXt, ResNet) with a classifier head; seeded, or your checkpoint as the workload's `weights`",
            parameters: &[
                ("family", "Vit, Dinov2, ConvNext or ResNet"),
                (
                    "preset",
                    "Tiny (test shape; ResNet-18, ConvNeXt-Atto), Small (ViT-S, DINOv2-S, ConvNeXt-T, ResNet-50) or Base (ViT-B/16, DINOv2-B, ConvNeXt-B, ResNet-101)",
                ),
                ("image_size", "height and width of the input image in pixels"),
                ("classes", "outputs of the classifier head (DINOv2: 1000)"),
            ],
            modes: &[ModeKind::Inference, ModeKind::Training],
        },
        CatalogEntry {
            default_spec: ModelSpec::Diffusion(DiffusionSpec {
                preset: Some(crate::suite::DiffusionPreset::TinyRandom),
                ..DiffusionSpec::default()
            }),
            summary: "text-to-image pipeline of a real family (candle-transformers' Stable Diffusion 1.5, 2.1, XL, SD3's MMDiT, Flux.1) from your diffusers folder or seeded at a tiny size; text encoding, each denoising step and the decode timed apart",
            parameters: &[
                ("path", "a diffusers folder (unet/, vae/, text_encoder/), relative to the suite file's folder"),
                ("preset", "TinyRandom: seeded weights at test widths, when there is no folder"),
                (
                    "pipeline",
                    "StableDiffusion(V1_5 | V2_1 | Sdxl | SdxlTurbo), Sd3(Medium) (f16 only) or Flux(Schnell | Dev)",
                ),
            ],
            modes: &[ModeKind::ImageGeneration],
        },
    ]
}

/// Total parameter count of a model.
pub fn parameter_count(arch: &dyn Architecture) -> usize {
    arch.parameters().iter().map(ParamTensor::elements).sum()
}

/// Host memory a workload needs before activations: the f32 master weights and one copy in a
/// phase dtype of `dtype_bytes`, plus an input batch of `batch` items in f32 and that dtype.
pub fn memory_estimate_bytes(arch: &dyn Architecture, batch: usize, dtype_bytes: usize) -> f64 {
    let elements = |shape: &[usize]| shape.iter().map(|&d| d as f64).product::<f64>();
    let input = elements(&arch.input_shape(batch)) * (4.0 + dtype_bytes as f64);
    if let Some(stored) = arch.stored_weight_bytes() {
        return stored + input;
    }
    let params: f64 = arch.parameters().iter().map(|p| elements(&p.shape)).sum();
    params * (4.0 + dtype_bytes as f64) + input
}

/// Bytes of a model's parameters in a phase: elements × dtype size, linear weights in their
/// quantized block format when the phase quantizes; a GGUF's as stored.
pub fn parameter_bytes(arch: &dyn Architecture, dtype_bytes: usize, quantization: Option<Quantization>) -> usize {
    if let Some(stored) = arch.stored_weight_bytes() {
        return stored as usize;
    }
    arch.parameters()
        .iter()
        .map(|param| match quantization {
            Some(quantization) if param.quantizable => layers::quantized_bytes(param.elements(), quantization),
            _ => param.elements() * dtype_bytes,
        })
        .sum()
}

/// Generates the seeded f32 master weights of a model on the CPU. Each tensor draws from its own
/// stream (seed and name), so the same seed gives the same tensor whatever else the model has.
pub fn generate_weights(arch: &dyn Architecture, seed: u64) -> candle_core::Result<Weights> {
    arch.parameters()
        .into_iter()
        .map(|param| {
            let tensor = match param.init {
                ParamInit::Normal(std) => seeded_tensor(&param.shape, std, stream_seed(seed, &param.name))?,
                ParamInit::Zeros => Tensor::zeros(param.shape.as_slice(), DType::F32, &Device::Cpu)?,
                ParamInit::Ones => Tensor::ones(param.shape.as_slice(), DType::F32, &Device::Cpu)?,
            };
            Ok((param.name, tensor))
        })
        .collect()
}

/// An f32 CPU tensor of normal values with standard deviation `std` (zeros when `std` is 0).
pub fn seeded_tensor(shape: &[usize], std: f64, seed: u64) -> candle_core::Result<Tensor> {
    let elements: usize = shape.iter().product();
    if std == 0.0 {
        return Tensor::zeros(shape, DType::F32, &Device::Cpu);
    }
    let normal = Normal::new(0.0f32, std as f32).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let values: Vec<f32> = (0..elements).map(|_| normal.sample(&mut rng)).collect();
    Tensor::from_vec(values, shape, &Device::Cpu)
}

/// Mixes a seed with a name (FNV-1a) so that each named stream is independent.
pub fn stream_seed(seed: u64, name: &str) -> u64 {
    name.bytes()
        .fold(seed ^ 0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Builds a model from master weights, converted to `dtype` on `device`.
pub fn build_network(
    arch: &dyn Architecture,
    weights: &Weights,
    dtype: DType,
    device: &Device,
    options: BuildOptions,
) -> candle_core::Result<Box<dyn Network>> {
    let vb = VarBuilder::from_tensors(weights.clone(), dtype, device);
    arch.build(vb, options)
}

/// Builds a trainable model: every weight becomes a [`candle_core::Var`] in `dtype` on `device`,
/// returned for the optimizer.
pub fn build_trainable(
    arch: &dyn Architecture,
    weights: &Weights,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<(Box<dyn Network>, Vec<candle_core::Var>)> {
    let mut vars = Vec::with_capacity(weights.len());
    let mut tensors = HashMap::with_capacity(weights.len());
    for (name, tensor) in weights {
        let var = candle_core::Var::from_tensor(&tensor.to_device(device)?.to_dtype(dtype)?)?;
        // The tensor shares the variable's storage, so gradients reach the optimizer's vars.
        tensors.insert(name.clone(), var.as_tensor().clone());
        vars.push(var);
    }
    let vb = VarBuilder::from_tensors(tensors, dtype, device);
    let network = arch.build(vb, BuildOptions { quantization: None, differentiable: true })?;
    Ok((network, vars))
}

/// The seeded f32 input batch of `batch` items that a run with `seed` measures, and the model's
/// f32 CPU output for it: a reference to check another framework's implementation against.
pub fn reference_io(
    arch: &dyn Architecture,
    weights: &Weights,
    batch: usize,
    seed: u64,
) -> candle_core::Result<(Tensor, Tensor)> {
    let network = build_network(arch, weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
    let input = seeded_input(arch, batch, seed, DType::F32, &Device::Cpu)?;
    let output = network.forward(&input)?;
    Ok((input, output))
}

/// A seeded input batch for `arch`, converted to `dtype` on `device`.
pub fn seeded_input(
    arch: &dyn Architecture,
    batch: usize,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    seeded_host_input(arch, batch, seed)?.to_device(device)?.to_dtype(dtype)
}

/// The seeded input batch as f32 values in host memory, before it is copied to a device.
pub fn seeded_host_input(arch: &dyn Architecture, batch: usize, seed: u64) -> candle_core::Result<Tensor> {
    seeded_tensor(&arch.input_shape(batch), 1.0, stream_seed(seed, "input"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_reproducible_from_the_seed() -> candle_core::Result<()> {
        let spec = MlpSpec { input: 8, hidden: 16, layers: 2, output: 3 };
        let a = generate_weights(&spec, 7)?;
        let b = generate_weights(&spec, 7)?;
        let c = generate_weights(&spec, 8)?;
        let name = "layers.0.weight";
        let values = |w: &Weights| w[name].flatten_all()?.to_vec1::<f32>();
        assert_eq!(values(&a)?, values(&b)?);
        assert_ne!(values(&a)?, values(&c)?);
        Ok(())
    }

    #[test]
    fn every_catalog_model_builds_and_gives_its_output_shape() -> candle_core::Result<()> {
        let cases = [
            (ModelSpec::MatMul(MatMulSpec { m: 3, n: 5, k: 4 }), vec![2, 3, 5]),
            (ModelSpec::Mlp(MlpSpec { input: 6, hidden: 8, layers: 3, output: 4 }), vec![2, 4]),
            (
                ModelSpec::ConvNet(ConvNetSpec { in_channels: 3, image_size: 8, channels: 8, blocks: 2, classes: 5 }),
                vec![2, 5],
            ),
            (
                ModelSpec::Transformer(TransformerSpec {
                    layers: 2,
                    hidden: 8,
                    heads: 2,
                    seq_len: 5,
                    ffn_mult: 2,
                    causal: true,
                }),
                vec![2, 5, 8],
            ),
            (
                ModelSpec::DiffusionTransformer(DiffusionTransformerSpec {
                    image_size: 8,
                    patch: 2,
                    channels: 3,
                    hidden: 8,
                    layers: 2,
                    heads: 2,
                }),
                vec![2, 3, 8, 8],
            ),
        ];
        for (spec, expected_shape) in cases {
            let arch = architecture(&spec);
            let weights = generate_weights(arch, 1)?;
            let network = build_network(arch, &weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
            let input = seeded_input(arch, 2, 1, DType::F32, &Device::Cpu)?;
            assert_eq!(network.forward(&input)?.dims(), expected_shape.as_slice(), "{spec:?}");
            assert_eq!(weights.len(), arch.parameters().len());
        }
        Ok(())
    }
}
