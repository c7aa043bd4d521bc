//! `MatMul(m, n, k)`: a batched matrix product against one weight matrix.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{Architecture, Network, ParamTensor};
use crate::suite::MatMulSpec;

struct MatMul {
    weight: Tensor,
}

impl Network for MatMul {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        input.broadcast_matmul(&self.weight)
    }
}

impl Architecture for MatMulSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        vec![ParamTensor { name: "weight".into(), shape: vec![self.k, self.n], init_std: 1.0 / (self.k as f64).sqrt() }]
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.m, self.k]
    }

    fn flops_per_item(&self) -> Option<f64> {
        Some(2.0 * self.m as f64 * self.n as f64 * self.k as f64)
    }

    fn build(&self, vb: VarBuilder) -> candle_core::Result<Box<dyn Network>> {
        let weight = vb.get((self.k, self.n), "weight")?;
        Ok(Box::new(MatMul { weight }))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::models::{build_network, generate_weights, seeded_input};

    /// The forward pass against a triple loop written independently here.
    #[test]
    fn forward_matches_a_naive_matrix_product() -> candle_core::Result<()> {
        let spec = MatMulSpec { m: 3, n: 4, k: 5 };
        let weights = generate_weights(&spec, 3)?;
        let network = build_network(&spec, &weights, DType::F32, &Device::Cpu)?;
        let input = seeded_input(&spec, 2, 3, DType::F32, &Device::Cpu)?;
        let output = network.forward(&input)?.to_vec3::<f32>()?;
        let a = input.to_vec3::<f32>()?;
        let w = weights["weight"].to_vec2::<f32>()?;
        for b in 0..2 {
            for i in 0..3 {
                for j in 0..4 {
                    let expected: f32 = (0..5).map(|p| a[b][i][p] * w[p][j]).sum();
                    assert!((output[b][i][j] - expected).abs() < 1e-5, "[{b},{i},{j}]");
                }
            }
        }
        Ok(())
    }
}
