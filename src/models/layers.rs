//! Building blocks shared by the catalog models: linear layers that may be quantized, layer norm
//! and softmax that use candle's fused kernels for inference and differentiable compositions for
//! training (the fused kernels have no backward pass), and attention.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{D, DType, Module, Tensor};
use candle_nn::{Init, VarBuilder};

use crate::suite::Quantization;

/// How a network is built for one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Quantize linear-layer weights to this format.
    pub quantization: Option<Quantization>,
    /// Use only operations with a backward pass (for training).
    pub differentiable: bool,
}

/// candle's GGML type for a quantization.
pub fn ggml_dtype(quantization: Quantization) -> GgmlDType {
    match quantization {
        Quantization::Q8_0 => GgmlDType::Q8_0,
        Quantization::Q4_0 => GgmlDType::Q4_0,
        Quantization::Q4K => GgmlDType::Q4K,
    }
}

/// A fully connected layer `y = x Wᵀ + b`, dense or with quantized weights.
pub enum Linear {
    /// Weights in the phase's dtype.
    Dense(candle_nn::Linear),
    /// Weights in a GGML block format; activations are computed in f32.
    Quantized {
        /// The quantized weight.
        weight: QMatMul,
        /// The bias, in the phase's dtype.
        bias: Option<Tensor>,
    },
}

impl Linear {
    /// Applies the layer to `x` (any leading dimensions).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Dense(linear) => linear.forward(x),
            Self::Quantized { weight, bias } => {
                let y = weight.forward(&x.to_dtype(DType::F32)?)?.to_dtype(x.dtype())?;
                match bias {
                    Some(bias) => y.broadcast_add(bias),
                    None => Ok(y),
                }
            }
        }
    }
}

/// A linear layer named `weight` (`[out, in]`) and optionally `bias` (`[out]`) under `vb`.
pub fn linear(
    in_dim: usize,
    out_dim: usize,
    bias: bool,
    vb: VarBuilder,
    options: BuildOptions,
) -> candle_core::Result<Linear> {
    let bias = if bias { Some(vb.get(out_dim, "bias")?) } else { None };
    match options.quantization {
        None => Ok(Linear::Dense(candle_nn::Linear::new(vb.get((out_dim, in_dim), "weight")?, bias))),
        Some(quantization) => {
            let format = ggml_dtype(quantization);
            if !in_dim.is_multiple_of(format.block_size()) {
                candle_core::bail!(
                    "cannot quantize `{}` to {quantization}: its {in_dim} input features are not a multiple of the block size {}",
                    vb.prefix(),
                    format.block_size()
                );
            }
            let weight = vb.get_with_hints_dtype((out_dim, in_dim), "weight", Init::Const(0.0), DType::F32)?;
            let weight = QMatMul::from_qtensor(QTensor::quantize(&weight, format)?)?;
            Ok(Linear::Quantized { weight, bias })
        }
    }
}

/// Bytes a `[out, in]` weight takes quantized (None when `in` is not a multiple of the block).
pub fn quantized_bytes(elements: usize, quantization: Quantization) -> usize {
    let format = ggml_dtype(quantization);
    elements / format.block_size() * format.type_size()
}

/// Layer normalization over the last dimension, with or without a learned scale and shift.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    fused: bool,
}

/// A layer norm of width `size`; with `affine`, its `weight` and `bias` are read from `vb`.
pub fn layer_norm(size: usize, affine: bool, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<LayerNorm> {
    let (weight, bias) = if affine {
        (vb.get(size, "weight")?, vb.get(size, "bias")?)
    } else {
        (Tensor::ones(size, vb.dtype(), vb.device())?, Tensor::zeros(size, vb.dtype(), vb.device())?)
    };
    Ok(LayerNorm { weight, bias, eps: 1e-5, fused: !options.differentiable })
}

impl LayerNorm {
    /// Normalizes `x` over its last dimension.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if self.fused {
            return candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps as f32);
        }
        let dtype = x.dtype();
        let x = x.to_dtype(DType::F32)?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let variance = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normalized = centered.broadcast_div(&(variance + self.eps)?.sqrt()?)?.to_dtype(dtype)?;
        normalized.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// Softmax over the last dimension: candle's fused kernel, or a differentiable composition.
pub fn softmax_last_dim(x: &Tensor, options: BuildOptions) -> candle_core::Result<Tensor> {
    if options.differentiable { candle_nn::ops::softmax(x, D::Minus1) } else { candle_nn::ops::softmax_last_dim(x) }
}

/// Multi-head self-attention: a fused `qkv` projection, scaled dot-product attention and an
/// output projection `out`.
pub struct SelfAttention {
    qkv: Linear,
    out: Linear,
    heads: usize,
    causal: bool,
    options: BuildOptions,
}

/// Parameter shapes of a [`SelfAttention`] of width `hidden` under `prefix`.
pub fn self_attention_params(prefix: &str, hidden: usize, init_std: f64) -> Vec<super::ParamTensor> {
    use super::{ParamInit::*, ParamTensor};
    vec![
        ParamTensor::linear(format!("{prefix}.qkv.weight"), vec![3 * hidden, hidden], Normal(init_std)),
        ParamTensor::new(format!("{prefix}.qkv.bias"), vec![3 * hidden], Zeros),
        ParamTensor::linear(format!("{prefix}.out.weight"), vec![hidden, hidden], Normal(init_std)),
        ParamTensor::new(format!("{prefix}.out.bias"), vec![hidden], Zeros),
    ]
}

impl SelfAttention {
    /// Reads the projections from `vb`.
    pub fn new(
        hidden: usize,
        heads: usize,
        causal: bool,
        vb: VarBuilder,
        options: BuildOptions,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            qkv: linear(hidden, 3 * hidden, true, vb.pp("qkv"), options)?,
            out: linear(hidden, hidden, true, vb.pp("out"), options)?,
            heads,
            causal,
            options,
        })
    }

    /// Attends over `x` of shape `[batch, tokens, hidden]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, tokens, hidden) = x.dims3()?;
        let head_dim = hidden / self.heads;
        // [batch, tokens, 3, heads, head_dim] -> 3 × [batch, heads, tokens, head_dim]
        let qkv = self.qkv.forward(x)?.reshape((batch, tokens, 3, self.heads, head_dim))?.permute((2, 0, 3, 1, 4))?;
        let (q, k, v) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let scores =
            if self.causal { scores.broadcast_add(&causal_mask(tokens, scores.dtype(), x.device())?)? } else { scores };
        let weights = softmax_last_dim(&scores, self.options)?;
        let attended = weights.matmul(&v)?.transpose(1, 2)?.reshape((batch, tokens, hidden))?;
        self.out.forward(&attended)
    }
}

/// `[tokens, tokens]` with 0 on and below the diagonal and −∞ above it.
fn causal_mask(tokens: usize, dtype: DType, device: &candle_core::Device) -> candle_core::Result<Tensor> {
    let values: Vec<f32> =
        (0..tokens).flat_map(|i| (0..tokens).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 })).collect();
    Tensor::from_vec(values, (tokens, tokens), device)?.to_dtype(dtype)
}
