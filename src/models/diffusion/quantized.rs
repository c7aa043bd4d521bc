//! Flux's transformer quantized in memory, as candle-transformers' quantized Flux runs it (the
//! model GGUF files of Flux load into): every linear layer's weight in the phase's block format
//! where its input width is a multiple of the block, the rest (biases, norms, embeddings of other
//! widths) in f32. The tensors are written to a GGUF in memory and read back through candle's
//! quantized builder, the same path a GGUF file takes.

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::flux;
use candle_transformers::quantized_var_builder;

use crate::models::ParamTensor;
use crate::suite::Quantization;

/// Flux's transformer of `config` with the weights `vb` serves (under the transformer's own names;
/// `params` lists them), its linear layers quantized to `quantization`.
pub fn quantized_flux(
    config: &flux::model::Config,
    params: &[ParamTensor],
    vb: &VarBuilder,
    quantization: Quantization,
) -> candle_core::Result<flux::quantized_model::Flux> {
    let format = crate::models::layers::ggml_dtype(quantization);
    let block = format.block_size();
    if !config.hidden_size.is_multiple_of(block) {
        candle_core::bail!(
            "Flux's transformer is {} wide, but {quantization} blocks are {block} wide, so none of its layers would be quantized; use a width that is a multiple of {block} or another quantization",
            config.hidden_size
        );
    }
    let tensors = params
        .iter()
        .map(|param| {
            let tensor = vb.get(param.shape.as_slice(), &param.name)?.to_dtype(DType::F32)?.to_device(&Device::Cpu)?;
            let quantizable =
                param.name.ends_with(".weight") && param.shape.len() == 2 && param.shape[1].is_multiple_of(block);
            let qtensor = QTensor::quantize(&tensor, if quantizable { format } else { GgmlDType::F32 })?;
            Ok((param.name.clone(), qtensor))
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let named: Vec<(&str, &QTensor)> = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor)).collect();
    let mut buffer = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut buffer, &[], &named)?;
    let quantized = quantized_var_builder::VarBuilder::from_gguf_buffer(buffer.get_ref(), vb.device())?;
    flux::quantized_model::Flux::new(config, quantized)
}
