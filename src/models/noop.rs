//! `Noop(features)`: returns its input untouched, so a step costs only what the harness adds
//! around it. It measures phasebench's own overhead per step (`cargo bench --bench harness`).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::BuildOptions;
use super::{Architecture, Network, ParamTensor};
use crate::suite::NoopSpec;

struct Noop;

impl Network for Noop {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        // A clone shares the storage: no computation, no allocation of elements.
        Ok(input.clone())
    }
}

impl Architecture for NoopSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        Vec::new()
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.features]
    }

    fn flops_per_item(&self) -> Option<f64> {
        Some(0.0)
    }

    fn build(&self, _vb: VarBuilder, _options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        Ok(Box::new(Noop))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::models::{build_network, generate_weights, parameter_count, seeded_input};

    #[test]
    fn returns_its_input_and_has_no_parameters() -> candle_core::Result<()> {
        let spec = NoopSpec { features: 3 };
        let weights = generate_weights(&spec, 1)?;
        assert_eq!(parameter_count(&spec), 0);
        let network = build_network(&spec, &weights, DType::F32, &Device::Cpu, BuildOptions::default())?;
        let input = seeded_input(&spec, 2, 1, DType::F32, &Device::Cpu)?;
        assert_eq!(network.forward(&input)?.to_vec2::<f32>()?, input.to_vec2::<f32>()?);
        Ok(())
    }
}
