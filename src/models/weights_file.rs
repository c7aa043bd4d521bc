//! Weights from a local safetensors file instead of the seed, checked against what the model
//! expects; and the seeded weights written out under the exact names the loader expects.

use std::collections::HashSet;
use std::path::Path;

use candle_core::{DType, Device};

use super::{Architecture, Weights};
use crate::device::candle_error_text;

/// Why a weights file cannot serve a model.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read or is not safetensors.
    #[error("{path}: cannot read the weights: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The file's tensors do not match the model.
    #[error("{path}: the weights do not fit the model:\n  {}", problems.join("\n  "))]
    Mismatch {
        /// The file.
        path: String,
        /// Every missing, unexpected, misshapen or non-float tensor.
        problems: Vec<String>,
    },
    /// The file could not be written.
    #[error("{path}: cannot write the weights: {reason}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// Loads the weights of `arch` from a safetensors file as f32 CPU tensors, after checking that
/// every tensor the model needs is there with its shape and a float dtype, and nothing else is.
pub fn load_weights(arch: &dyn Architecture, path: &Path) -> Result<Weights, WeightsError> {
    let shown = path.display().to_string();
    let tensors = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|error| WeightsError::Read { path: shown.clone(), reason: candle_error_text(&error) })?;
    let expected = arch.parameters();
    let mut problems = Vec::new();
    for param in &expected {
        match tensors.get(&param.name) {
            None => {
                problems.push(format!("tensor `{}` is missing (the model expects shape {:?})", param.name, param.shape))
            }
            Some(tensor) if tensor.dims() != param.shape.as_slice() => problems.push(format!(
                "tensor `{}` has shape {:?} in the file but the model expects {:?}",
                param.name,
                tensor.dims(),
                param.shape
            )),
            Some(tensor) if !matches!(tensor.dtype(), DType::F32 | DType::F16 | DType::BF16 | DType::F64) => problems
                .push(format!(
                    "tensor `{}` is {:?}; weights must be floats (F32, F16, BF16 or F64)",
                    param.name,
                    tensor.dtype()
                )),
            Some(_) => {}
        }
    }
    let names: HashSet<&str> = expected.iter().map(|param| param.name.as_str()).collect();
    let mut unexpected: Vec<&String> = tensors.keys().filter(|name| !names.contains(name.as_str())).collect();
    unexpected.sort();
    if !unexpected.is_empty() {
        let listed: Vec<String> = unexpected.iter().take(5).map(|name| format!("`{name}`")).collect();
        let more = if unexpected.len() > 5 { format!(" and {} more", unexpected.len() - 5) } else { String::new() };
        problems.push(format!("the file has tensors the model does not use: {}{more}", listed.join(", ")));
    }
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch { path: shown, problems });
    }
    tensors
        .into_iter()
        .map(|(name, tensor)| Ok((name, tensor.to_dtype(DType::F32)?)))
        .collect::<candle_core::Result<Weights>>()
        .map_err(|error| WeightsError::Read { path: shown, reason: candle_error_text(&error) })
}

/// Writes `weights` to a safetensors file.
pub fn save_weights(weights: &Weights, path: &Path) -> Result<(), WeightsError> {
    candle_core::safetensors::save(weights, path)
        .map_err(|error| WeightsError::Write { path: path.display().to_string(), reason: candle_error_text(&error) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{BuildOptions, build_network, generate_weights, seeded_input};
    use crate::suite::TransformerSpec;

    fn spec() -> TransformerSpec {
        TransformerSpec { layers: 1, hidden: 16, heads: 2, seq_len: 4, ffn_mult: 2, causal: false }
    }

    #[test]
    fn exported_weights_load_back_and_give_bit_identical_outputs() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("w.safetensors");
        let seeded = generate_weights(&spec(), 9)?;
        save_weights(&seeded, &path)?;
        let loaded = load_weights(&spec(), &path)?;
        let input = seeded_input(&spec(), 2, 1, DType::F32, &Device::Cpu)?;
        let output = |weights: &Weights| -> candle_core::Result<Vec<f32>> {
            build_network(&spec(), weights, DType::F32, &Device::Cpu, BuildOptions::default())?
                .forward(&input)?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        let (a, b) = (output(&seeded)?, output(&loaded)?);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        Ok(())
    }

    #[test]
    fn a_wrong_shape_names_the_tensor_and_both_shapes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("w.safetensors");
        let mut weights = generate_weights(&spec(), 9)?;
        weights.insert("layers.0.fc1.weight".into(), candle_core::Tensor::zeros((3, 16), DType::F32, &Device::Cpu)?);
        weights.remove("final_norm.bias");
        weights.insert("extra.tensor".into(), candle_core::Tensor::zeros(2, DType::F32, &Device::Cpu)?);
        save_weights(&weights, &path)?;
        let error = load_weights(&spec(), &path).err().map(|e| e.to_string()).unwrap_or_default();
        for fragment in [
            "tensor `layers.0.fc1.weight` has shape [3, 16] in the file but the model expects [32, 16]",
            "tensor `final_norm.bias` is missing (the model expects shape [16])",
            "the file has tensors the model does not use: `extra.tensor`",
        ] {
            assert!(error.contains(fragment), "{error}");
        }
        let missing = load_weights(&spec(), &dir.path().join("nope.safetensors")).err().map(|e| e.to_string());
        assert!(missing.unwrap_or_default().contains("nope.safetensors: cannot read the weights"));
        Ok(())
    }
}
