//! `Mlp(input, hidden, layers, output)`: linear layers with GELU between them.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::{self, BuildOptions, Linear};
use super::{Architecture, Network, ParamTensor, linear_params};
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
    /// (name, input features, output features) of each hidden layer, then of the head.
    fn layer_dims(&self) -> Vec<(String, usize, usize)> {
        let mut dims = Vec::with_capacity(self.layers + 1);
        let mut features = self.input;
        for index in 0..self.layers {
            dims.push((format!("layers.{index}"), features, self.hidden));
            features = self.hidden;
        }
        dims.push(("head".to_owned(), features, self.output));
        dims
    }
}

impl Architecture for MlpSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        self.layer_dims().iter().flat_map(|(name, fan_in, fan_out)| linear_params(name, *fan_in, *fan_out)).collect()
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.input]
    }

    fn flops_per_item(&self) -> Option<f64> {
        Some(self.layer_dims().iter().map(|(_, i, o)| 2.0 * *i as f64 * *o as f64).sum())
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        let mut layers = self
            .layer_dims()
            .into_iter()
            .map(|(name, fan_in, fan_out)| layers::linear(fan_in, fan_out, true, vb.pp(name), options))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let head = layers.pop().ok_or_else(|| candle_core::Error::Msg("an Mlp needs its output layer".into()))?;
        Ok(Box::new(Mlp { hidden: layers, head }))
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
