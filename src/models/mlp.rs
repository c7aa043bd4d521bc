//! `Mlp(input, hidden, layers, output)`: linear layers with GELU between them.

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::{Architecture, Network, ParamTensor};
use crate::suite::MlpSpec;

struct Mlp {
    hidden: Vec<Linear>,
    head: Linear,
}

impl Network for Mlp {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = input.clone();
        for layer in &self.hidden {
            x = layer.forward(&x)?.gelu()?;
        }
        self.head.forward(&x)
    }
}

impl MlpSpec {
    /// (input features, output features) of each hidden layer, then of the head.
    fn layer_dims(&self) -> Vec<(usize, usize)> {
        let mut dims = Vec::with_capacity(self.layers + 1);
        let mut features = self.input;
        for _ in 0..self.layers {
            dims.push((features, self.hidden));
            features = self.hidden;
        }
        dims.push((features, self.output));
        dims
    }
}

impl Architecture for MlpSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        let dims = self.layer_dims();
        let last = dims.len() - 1;
        dims.into_iter()
            .enumerate()
            .flat_map(|(index, (fan_in, fan_out))| {
                let prefix = if index == last { "head".to_owned() } else { format!("layers.{index}") };
                [
                    ParamTensor {
                        name: format!("{prefix}.weight"),
                        shape: vec![fan_out, fan_in],
                        init_std: 1.0 / (fan_in as f64).sqrt(),
                    },
                    ParamTensor { name: format!("{prefix}.bias"), shape: vec![fan_out], init_std: 0.0 },
                ]
            })
            .collect()
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.input]
    }

    fn flops_per_item(&self) -> Option<f64> {
        Some(self.layer_dims().iter().map(|&(i, o)| 2.0 * i as f64 * o as f64).sum())
    }

    fn build(&self, vb: VarBuilder) -> candle_core::Result<Box<dyn Network>> {
        let dims = self.layer_dims();
        let (&(head_in, head_out), hidden_dims) = dims
            .split_last()
            .ok_or_else(|| candle_core::Error::Msg("an Mlp needs at least its output layer".into()))?;
        let hidden = hidden_dims
            .iter()
            .enumerate()
            .map(|(index, &(fan_in, fan_out))| candle_nn::linear(fan_in, fan_out, vb.pp(format!("layers.{index}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let head = candle_nn::linear(head_in, head_out, vb.pp("head"))?;
        Ok(Box::new(Mlp { hidden, head }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_layer_sizes() {
        let spec = MlpSpec { input: 4, hidden: 8, layers: 2, output: 3 };
        let expected = (4 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3);
        assert_eq!(crate::models::parameter_count(&spec), expected);
    }
}
