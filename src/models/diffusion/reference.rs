//! A pipeline's reference inputs and outputs, for checking another framework (diffusers) against
//! the model candle builds: the text conditioning, one denoiser call and one decode, on the CPU in
//! f32 (SD3 in f16, the only dtype candle's MMDiT runs in; its tensors are written as f32).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::{ImagePipeline, folder_weights, pipeline_config};
use crate::suite::{DiffusionSpec, Pipeline};

/// The timestep (0–1000 scale) and Flux's guidance input of the reference call.
const TIMESTEP: f64 = 700.0;
const GUIDANCE: f64 = 3.5;

/// `batch` seeded inputs and the pipeline's outputs for them, named as a safetensors file holds
/// them: `ids` (token ids; Stable Diffusion), `context` and `pooled` (the text conditioning),
/// `latent` (at the model's trained size), `timestep`, `guidance`, `output` (the denoiser's
/// prediction) and `image` (the latent decoded, values in [0, 1]). The weights are the folder's,
/// or seeded from `seed`.
pub fn reference_io(spec: &DiffusionSpec, seed: u64, batch: usize) -> Result<HashMap<String, Tensor>, String> {
    let config = pipeline_config(spec)?;
    let weights = match spec.path {
        Some(_) => folder_weights(spec)?,
        None => crate::models::generate_weights(spec, seed).map_err(|error| error.to_string())?,
    };
    // candle's MMDiT embeds timesteps in f16 whatever the weights, so SD3 runs in f16.
    let dtype = if matches!(spec.pipeline, Pipeline::Sd3(_)) { DType::F16 } else { DType::F32 };
    let run = || -> candle_core::Result<HashMap<String, Tensor>> {
        let weights = weights
            .into_iter()
            .map(|(name, tensor)| Ok((name, tensor.to_dtype(dtype)?)))
            .collect::<candle_core::Result<_>>()?;
        let pipeline = ImagePipeline::build(&config, VarBuilder::from_tensors(weights, dtype, &Device::Cpu), None)?;
        let vocab = config.text_encoders.first().map_or(1000, |encoder| encoder.vocab_size) as u32;
        let ids: Vec<u32> = (0..batch * 77).map(|i| (i as u32 * 37 + seed as u32) % vocab).collect();
        let ids = Tensor::from_vec(ids, (batch, 77), &Device::Cpu)?;
        let conditioning = pipeline.encode_text(&ids)?;
        let side = config.unet.sample_size;
        let shape = [batch, config.vae.latent_channels, side, side];
        let latent = crate::models::seeded_tensor(&shape, 1.0, crate::models::stream_seed(seed, "reference latent"))?
            .to_dtype(dtype)?;
        let output = pipeline.predict(&latent, TIMESTEP, &conditioning, GUIDANCE)?;
        let image = pipeline.decode(&latent)?;
        let mut io = HashMap::from([
            ("context".to_owned(), conditioning.context.clone()),
            ("latent".to_owned(), latent),
            ("timestep".to_owned(), Tensor::full(TIMESTEP as f32, batch, &Device::Cpu)?),
            ("guidance".to_owned(), Tensor::full(GUIDANCE as f32, batch, &Device::Cpu)?),
            ("output".to_owned(), output),
            ("image".to_owned(), image),
        ]);
        if pipeline.has_text_encoder() {
            io.insert("ids".into(), ids);
        }
        if let Some(pooled) = conditioning.pooled {
            io.insert("pooled".into(), pooled);
        }
        io.into_iter()
            .map(|(name, tensor)| {
                Ok((
                    name,
                    if tensor.dtype() == dtype && dtype != DType::F32 { tensor.to_dtype(DType::F32)? } else { tensor },
                ))
            })
            .collect()
    };
    run().map_err(|error| format!("the reference run failed: {error}"))
}
