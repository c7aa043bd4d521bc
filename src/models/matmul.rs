//! `MatMul(m, n, k)`: a batched matrix product `[batch, m, k] × Wᵀ` with `W: [n, k]`, the GEMM
//! of a bias-free linear layer (so quantized phases apply to it too).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::{self, BuildOptions, Linear};
use super::{Architecture, Network, ParamInit, ParamTensor};
use crate::suite::MatMulSpec;

struct MatMul {
    linear: Linear,
}

impl Network for MatMul {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        self.linear.forward(input)
    }
}

impl Architecture for MatMulSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        vec![ParamTensor::linear("weight", vec![self.n, self.k], ParamInit::Normal(1.0 / (self.k as f64).sqrt()))]
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.m, self.k]
    }

    fn flops_per_item(&self) -> Option<f64> {
        Some(2.0 * self.m as f64 * self.n as f64 * self.k as f64)
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        Ok(Box::new(MatMul { linear: layers::linear(self.k, self.n, false, vb, options)? }))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::models::{build_network, generate_weights, seeded_input};
    use crate::suite::Quantization;

    /// The forward pass against a triple loop written independently here.
    #[test]
    fn forward_matches_a_naive_matrix_product() -> candle_core::Result<()> {
        let spec = MatMulSpec { m: 3, n: 4, k: 5 };
        let weights = generate_weights(&spec, 3)?;
        let network = build_network(&spec, &weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
        let input = seeded_input(&spec, 2, 3, DType::F32, &Device::Cpu)?;
        let output = network.forward(&input)?.to_vec3::<f32>()?;
        let a = input.to_vec3::<f32>()?;
        let w = weights["weight"].to_vec2::<f32>()?;
        for b in 0..2 {
            for i in 0..3 {
                for j in 0..4 {
                    let expected: f32 = (0..5).map(|p| a[b][i][p] * w[j][p]).sum();
                    assert!((output[b][i][j] - expected).abs() < 1e-5, "[{b},{i},{j}]");
                }
            }
        }
        Ok(())
    }

    /// Q8_0 stays close to f32 and takes under 30 % of its bytes.
    #[test]
    fn q8_0_is_close_to_f32_and_small() -> Result<(), Box<dyn std::error::Error>> {
        let spec = MatMulSpec { m: 8, n: 64, k: 256 };
        let weights = generate_weights(&spec, 5)?;
        let input = seeded_input(&spec, 2, 5, DType::F32, &Device::Cpu)?;
        let quantized = BuildOptions { quantization: Some(Quantization::Q8_0), differentiable: false };
        let reference = build_network(&spec, &weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
        let q8 = build_network(&spec, &weights, DType::F32, &Device::Cpu, quantized)?;
        let reference = reference.forward(&input)?.flatten_all()?.to_vec1::<f32>()?;
        let q8 = q8.forward(&input)?.flatten_all()?.to_vec1::<f32>()?;
        let drift = crate::accuracy::compare_outputs(&reference, &q8)?;
        // Outputs have unit scale; 8-bit blocks keep about two decimal digits.
        assert!(drift.max_abs_error < 0.05, "{drift:?}");
        assert!(drift.cosine_similarity.unwrap_or(0.0) > 0.999, "{drift:?}");
        let f32_bytes = crate::models::parameter_bytes(&spec, 4, None);
        let q8_bytes = crate::models::parameter_bytes(&spec, 4, Some(Quantization::Q8_0));
        assert!((q8_bytes as f64) < 0.3 * f32_bytes as f64, "{q8_bytes} vs {f32_bytes}");
        Ok(())
    }
}
