//! `Transformer`: a pre-norm encoder — per layer, layer norm → multi-head self-attention →
//! residual, layer norm → GELU MLP → residual — with a final layer norm. Inputs are token
//! embeddings `[batch, seq_len, hidden]`.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::{self, BuildOptions, LayerNorm, Linear, SelfAttention};
use super::{Architecture, Network, ParamInit, ParamTensor, linear_params};
use crate::suite::TransformerSpec;

struct Layer {
    norm1: LayerNorm,
    attention: SelfAttention,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

struct Transformer {
    layers: Vec<Layer>,
    final_norm: LayerNorm,
}

impl Network for Transformer {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = input.clone();
        for layer in &self.layers {
            x = (&x + layer.attention.forward(&layer.norm1.forward(&x)?)?)?;
            let mlp = layer.fc2.forward(&layer.fc1.forward(&layer.norm2.forward(&x)?)?.gelu()?)?;
            x = (x + mlp)?;
        }
        self.final_norm.forward(&x)
    }
}

/// Weight and bias of a layer norm of width `size` under `prefix`.
pub(super) fn norm_params(prefix: &str, size: usize) -> [ParamTensor; 2] {
    [
        ParamTensor::new(format!("{prefix}.weight"), vec![size], ParamInit::Ones),
        ParamTensor::new(format!("{prefix}.bias"), vec![size], ParamInit::Zeros),
    ]
}

impl Architecture for TransformerSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        let (hidden, ffn) = (self.hidden, self.hidden * self.ffn_mult);
        let mut params = Vec::new();
        for index in 0..self.layers {
            let prefix = format!("layers.{index}");
            params.extend(norm_params(&format!("{prefix}.norm1"), hidden));
            params.extend(layers::self_attention_params(
                &format!("{prefix}.attn"),
                hidden,
                1.0 / (hidden as f64).sqrt(),
            ));
            params.extend(norm_params(&format!("{prefix}.norm2"), hidden));
            params.extend(linear_params(&format!("{prefix}.fc1"), hidden, ffn));
            params.extend(linear_params(&format!("{prefix}.fc2"), ffn, hidden));
        }
        params.extend(norm_params("final_norm", hidden));
        params
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.seq_len, self.hidden]
    }

    fn flops_per_item(&self) -> Option<f64> {
        let (h, n) = (self.hidden as f64, self.seq_len as f64);
        let per_token = 2.0 * (4.0 * h * h + 2.0 * h * h * self.ffn_mult as f64) + 4.0 * n * h;
        Some(self.layers as f64 * n * per_token)
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        let (hidden, ffn) = (self.hidden, self.hidden * self.ffn_mult);
        let layers = (0..self.layers)
            .map(|index| {
                let vb = vb.pp(format!("layers.{index}"));
                Ok(Layer {
                    norm1: layers::layer_norm(hidden, true, vb.pp("norm1"), options)?,
                    attention: SelfAttention::new(hidden, self.heads, self.causal, vb.pp("attn"), options)?,
                    norm2: layers::layer_norm(hidden, true, vb.pp("norm2"), options)?,
                    fc1: layers::linear(hidden, ffn, true, vb.pp("fc1"), options)?,
                    fc2: layers::linear(ffn, hidden, true, vb.pp("fc2"), options)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Box::new(Transformer {
            layers,
            final_norm: layers::layer_norm(hidden, true, vb.pp("final_norm"), options)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::models::{generate_weights, seeded_input};

    /// One attention layer (qkv projection, per-head softmax attention with a causal mask, output
    /// projection) against loops written independently here.
    #[test]
    fn attention_matches_a_naive_reference() -> Result<(), Box<dyn std::error::Error>> {
        let (tokens, hidden, heads) = (4, 6, 2);
        let head_dim = hidden / heads;
        let spec = TransformerSpec { layers: 1, hidden, heads, seq_len: tokens, ffn_mult: 1, causal: true };
        let mut weights = generate_weights(&spec, 11)?;
        for bias in ["layers.0.attn.qkv.bias", "layers.0.attn.out.bias"] {
            let shape = weights[bias].dims().to_vec();
            weights.insert(bias.into(), crate::models::seeded_tensor(&shape, 0.5, 3)?);
        }
        let vb = VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
        for differentiable in [false, true] {
            let options = BuildOptions { quantization: None, differentiable };
            let attention = SelfAttention::new(hidden, heads, true, vb.pp("layers.0.attn"), options)?;
            let x = seeded_input(&spec, 1, 4, DType::F32, &Device::Cpu)?;
            let output = attention.forward(&x)?.get(0)?.to_vec2::<f32>()?;

            let x = x.get(0)?.to_vec2::<f32>()?;
            let w_qkv = weights["layers.0.attn.qkv.weight"].to_vec2::<f32>()?;
            let b_qkv = weights["layers.0.attn.qkv.bias"].to_vec1::<f32>()?;
            let w_out = weights["layers.0.attn.out.weight"].to_vec2::<f32>()?;
            let b_out = weights["layers.0.attn.out.bias"].to_vec1::<f32>()?;
            let project = |row: &[f32], w: &[Vec<f32>], b: &[f32]| -> Vec<f32> {
                w.iter().zip(b).map(|(w_row, b)| w_row.iter().zip(row).map(|(a, c)| a * c).sum::<f32>() + b).collect()
            };
            let qkv: Vec<Vec<f32>> = x.iter().map(|row| project(row, &w_qkv, &b_qkv)).collect();
            let mut attended = vec![vec![0f32; hidden]; tokens];
            for head in 0..heads {
                let part = |t: usize, which: usize| &qkv[t][which * hidden + head * head_dim..][..head_dim];
                for (i, attended_row) in attended.iter_mut().enumerate() {
                    let scores: Vec<f32> = (0..=i)
                        .map(|j| {
                            part(i, 0).iter().zip(part(j, 1)).map(|(a, b)| a * b).sum::<f32>()
                                / (head_dim as f32).sqrt()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f32 = exps.iter().sum();
                    for (j, e) in exps.iter().enumerate() {
                        for (d, value) in part(j, 2).iter().enumerate() {
                            attended_row[head * head_dim + d] += e / total * value;
                        }
                    }
                }
            }
            for (t, row) in attended.iter().enumerate() {
                for (got, want) in output[t].iter().zip(project(row, &w_out, &b_out)) {
                    assert!((got - want).abs() < 1e-4, "token {t}: {got} vs {want} (differentiable: {differentiable})");
                }
            }
        }
        Ok(())
    }
}
