//! A built pipeline: Stable Diffusion's text encoders, UNet and KL autoencoder, or SD3's MMDiT and
//! Flux's transformer with their autoencoders (and seeded text embeddings in place of their
//! text encoders), behind one interface the image stepper drives; and the flow-matching Euler
//! schedule SD3 and Flux sample along.

use candle_core::{D, DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::flux::{self, WithForward};
use candle_transformers::models::mmdit;
use candle_transformers::models::stable_diffusion::{schedulers, unet_2d, vae};

use super::config::{TransformerDenoiser, seeded_text_tokens};
use super::flow_text::FlowText;
use super::quantized::quantized_flux;
use super::{PipelineConfig, TEXT_ENCODER_FOLDERS, TRANSFORMER, TextEncoder, UNET, VAE};
use crate::models::ParamTensor;
use crate::suite::Pipeline;
use crate::suite::Quantization;

/// What a denoising step is conditioned on: the text tokens, and for SD3 and Flux the pooled text
/// embedding.
#[derive(Clone, Debug)]
pub struct Conditioning {
    /// Text tokens `[batch, tokens, width]`.
    pub context: Tensor,
    /// Pooled text `[batch, width]` (SD3, Flux).
    pub pooled: Option<Tensor>,
}

enum Denoiser {
    Unet(Box<unet_2d::UNet2DConditionModel>),
    Mmdit(Box<mmdit::model::MMDiT>),
    /// Flux's transformer, dense or quantized; `one_at_a_time`: candle 0.11's quantized Flux
    /// takes one image per call (its attention hands a strided slice to a quantized layer, which
    /// needs a contiguous input, as soon as the batch is above 1).
    Flux {
        model: Box<dyn WithForward>,
        one_at_a_time: bool,
    },
}

/// The KL autoencoder and the scale and shift latents are stored with.
struct Decoder {
    model: vae::AutoEncoderKL,
    scaling: f64,
    shift: f64,
}

/// A built pipeline, ready to run in one dtype on one device.
pub struct ImagePipeline {
    pipeline: Pipeline,
    text_encoders: Vec<TextEncoder>,
    /// SD3's or Flux's text encoders, when the pipeline has them.
    flow_text: Option<FlowText>,
    denoiser: Denoiser,
    decoder: Decoder,
    /// Widths of the seeded text embeddings (tokens, pooled) of SD3 and Flux.
    seeded_text: Option<(usize, usize)>,
    dtype: DType,
}

impl ImagePipeline {
    /// Builds every component from the weights `vb` serves; the UNet computes attention in slices
    /// of `sliced_attention` heads when given.
    pub fn build(
        config: &PipelineConfig,
        vb: VarBuilder,
        sliced_attention: Option<usize>,
    ) -> candle_core::Result<Self> {
        Self::build_quantized(config, vb, sliced_attention, None)
    }

    /// [`Self::build`], with Flux's transformer quantized in memory to `quantization` (the only
    /// denoiser candle-transformers has a quantized form of; others refuse it).
    pub fn build_quantized(
        config: &PipelineConfig,
        vb: VarBuilder,
        sliced_attention: Option<usize>,
        quantization: Option<Quantization>,
    ) -> candle_core::Result<Self> {
        if quantization.is_some() && !matches!(config.pipeline, Pipeline::Flux(_)) {
            candle_core::bail!("candle-transformers has no quantized form of {}", config.pipeline);
        }
        // SD3's and Flux's encoders are built as their pipelines use them (or seeded embeddings
        // stand for them); Stable Diffusion's give their last hidden states.
        let flow = config.transformer.is_some();
        let text_encoders = TEXT_ENCODER_FOLDERS
            .iter()
            .zip(&config.text_encoders)
            .filter(|_| !flow)
            .map(|(folder, encoder)| TextEncoder::build(encoder, vb.pp(*folder)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let flow_text = match (&config.t5, flow) {
            (Some(t5), true) => Some(FlowText::build(
                config.pipeline,
                &config.text_encoders,
                &TEXT_ENCODER_FOLDERS,
                TEXT_ENCODER_FOLDERS[config.text_encoders.len()],
                t5,
                &vb,
            )?),
            _ => None,
        };
        let (denoiser, seeded_text) = match &config.transformer {
            None => {
                let unet = unet_2d::UNet2DConditionModel::new(
                    vb.pp(UNET),
                    config.unet.in_channels,
                    config.unet.out_channels,
                    false,
                    config.candle_unet(sliced_attention),
                )?;
                (Denoiser::Unet(Box::new(unet)), None)
            }
            Some(TransformerDenoiser::Mmdit { depth, head_size, pooled, context, pos_embed_max_size }) => {
                let mmdit_config = mmdit::model::Config {
                    patch_size: 2,
                    in_channels: config.vae.latent_channels,
                    out_channels: config.vae.latent_channels,
                    depth: *depth,
                    head_size: *head_size,
                    adm_in_channels: *pooled,
                    pos_embed_max_size: *pos_embed_max_size,
                    context_embed_size: *context,
                    frequency_embedding_size: 256,
                };
                let model = mmdit::model::MMDiT::new(&mmdit_config, false, vb.pp(TRANSFORMER))?;
                (Denoiser::Mmdit(Box::new(model)), flow_text.is_none().then_some((*context, *pooled)))
            }
            Some(TransformerDenoiser::Flux {
                hidden,
                heads,
                double_blocks,
                single_blocks,
                pooled,
                context,
                axes_dim,
                guidance_embed,
            }) => {
                let flux_config = flux::model::Config {
                    in_channels: config.vae.latent_channels * 4,
                    vec_in_dim: *pooled,
                    context_in_dim: *context,
                    hidden_size: *hidden,
                    mlp_ratio: 4.0,
                    num_heads: *heads,
                    depth: *double_blocks,
                    depth_single_blocks: *single_blocks,
                    axes_dim: axes_dim.to_vec(),
                    theta: 10_000,
                    qkv_bias: true,
                    guidance_embed: *guidance_embed,
                };
                let model: Box<dyn WithForward> = match quantization {
                    Some(quantization) => {
                        let prefix = format!("{TRANSFORMER}.");
                        let params: Vec<ParamTensor> = super::recorded_parameters(config)
                            .into_iter()
                            .filter_map(|param| {
                                let name = param.name.strip_prefix(&prefix)?.to_owned();
                                Some(ParamTensor { name, ..param })
                            })
                            .collect();
                        Box::new(quantized_flux(&flux_config, &params, &vb.pp(TRANSFORMER), quantization)?)
                    }
                    None => Box::new(flux::model::Flux::new(&flux_config, vb.pp(TRANSFORMER))?),
                };
                let one_at_a_time = quantization.is_some();
                (Denoiser::Flux { model, one_at_a_time }, flow_text.is_none().then_some((*context, *pooled)))
            }
        };
        // Every family's autoencoder is diffusers' `AutoencoderKL` (SD3's and Flux's without the
        // 1×1 convolutions around the latent, with a shift besides the scale).
        let decoder =
            vae::AutoEncoderKL::new(vb.pp(VAE), config.vae.in_channels, config.vae.out_channels, config.candle_vae())?;
        let decoder = Decoder { model: decoder, scaling: config.vae.scaling_factor, shift: config.vae.shift_factor };
        Ok(Self {
            pipeline: config.pipeline,
            text_encoders,
            flow_text,
            denoiser,
            decoder,
            seeded_text,
            dtype: vb.dtype(),
        })
    }

    /// Whether the pipeline runs text encoders (a stage of its own), rather than taking seeded
    /// embeddings (SD3 and Flux without their encoders).
    pub fn has_text_encoder(&self) -> bool {
        !self.text_encoders.is_empty() || self.flow_text.is_some()
    }

    /// Whether classifier-free guidance doubles the batch (not Flux: its dev variant takes the
    /// guidance scale as an input, schnell none).
    pub fn doubles_batch_for_guidance(&self) -> bool {
        !matches!(self.pipeline, Pipeline::Flux(_))
    }

    /// The text conditioning from token ids `[batch, tokens]`: the encoders' outputs side by
    /// side; for SD3 and Flux, seeded embeddings (the ids' first value seeds them).
    pub fn encode_text(&self, ids: &Tensor) -> candle_core::Result<Conditioning> {
        if let Some(flow_text) = &self.flow_text {
            return flow_text.encode(ids);
        }
        if let Some((context, pooled)) = self.seeded_text {
            let rows = ids.dim(0)?;
            let seed = u64::from(ids.flatten_all()?.get(0)?.to_scalar::<u32>()?);
            let dtype = self.dtype;
            let tensor = |shape: &[usize], stream: &str| -> candle_core::Result<Tensor> {
                crate::models::seeded_tensor(shape, 1.0, crate::models::stream_seed(seed, stream))?
                    .to_dtype(dtype)?
                    .to_device(ids.device())
            };
            return Ok(Conditioning {
                context: tensor(&[rows, seeded_text_tokens(self.pipeline), context], "text tokens")?,
                pooled: Some(tensor(&[rows, pooled], "pooled text")?),
            });
        }
        let encoded =
            self.text_encoders.iter().map(|encoder| encoder.encode(ids)).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Conditioning { context: Tensor::cat(&encoded, D::Minus1)?, pooled: None })
    }

    /// The denoiser's prediction (noise, or velocity) for `latent` at `timestep` (on the
    /// 0–1000 scale) given the conditioning; `guidance` is Flux dev's guidance input.
    pub fn predict(
        &self,
        latent: &Tensor,
        timestep: f64,
        conditioning: &Conditioning,
        guidance: f64,
    ) -> candle_core::Result<Tensor> {
        let batch = latent.dim(0)?;
        let pooled =
            || conditioning.pooled.as_ref().ok_or_else(|| candle_core::Error::Msg("no pooled text embedding".into()));
        match &self.denoiser {
            Denoiser::Unet(unet) => unet.forward(latent, timestep, &conditioning.context),
            Denoiser::Mmdit(model) => {
                // candle's MMDiT takes f32 timesteps (and embeds them in f16).
                let t = Tensor::full(timestep as f32, (batch,), latent.device())?;
                model.forward(latent, &t, pooled()?, &conditioning.context, None)
            }
            Denoiser::Flux { one_at_a_time: true, .. } if batch > 1 => {
                let rows = (0..batch)
                    .map(|row| {
                        let one = Conditioning {
                            context: conditioning.context.narrow(0, row, 1)?,
                            pooled: Some(pooled()?.narrow(0, row, 1)?),
                        };
                        self.predict(&latent.narrow(0, row, 1)?, timestep, &one, guidance)
                    })
                    .collect::<candle_core::Result<Vec<_>>>()?;
                Tensor::cat(&rows, 0)
            }
            Denoiser::Flux { model, .. } => {
                let (_, channels, height, width) = latent.dims4()?;
                let state = flux::sampling::State::new(
                    &conditioning.context.narrow(0, 0, 1)?,
                    &pooled()?.narrow(0, 0, 1)?,
                    latent,
                )?;
                let t =
                    Tensor::full((timestep / 1000.0) as f32, (batch,), latent.device())?.to_dtype(latent.dtype())?;
                let guidance = Tensor::full(guidance as f32, (batch,), latent.device())?.to_dtype(latent.dtype())?;
                let packed = model.forward(
                    &state.img,
                    &state.img_ids,
                    &conditioning.context,
                    &state.txt_ids,
                    &t,
                    pooled()?,
                    Some(&guidance),
                )?;
                packed
                    .reshape((batch, height / 2, width / 2, channels, 2, 2))?
                    .permute((0, 3, 1, 4, 2, 5))?
                    .reshape((batch, channels, height, width))
            }
        }
    }

    /// Decodes a latent to images `[batch, 3, height, width]` with values in [0, 1].
    pub fn decode(&self, latent: &Tensor) -> candle_core::Result<Tensor> {
        let Decoder { model, scaling, shift } = &self.decoder;
        let image = model.decode(&((latent / *scaling)? + *shift)?)?;
        ((image / 2.0)? + 0.5)?.clamp(0f32, 1f32)
    }
}

/// Flow matching's Euler sampler: `steps` steps along a schedule of noise levels σ from 1 to 0
/// (shifted towards noise for SD3 and Flux dev), `x ← x + (σ_next − σ) · v` per step. It serves
/// candle's [`schedulers::Scheduler`] interface, timesteps on the 0–1000 scale.
pub struct FlowMatchEuler {
    sigmas: Vec<f64>,
    timesteps: Vec<usize>,
    taken: usize,
}

impl FlowMatchEuler {
    /// The schedule of `pipeline` over `steps` steps for a latent of `latent_cells` positions.
    pub fn new(pipeline: Pipeline, steps: usize, latent_cells: usize) -> Self {
        let sigmas: Vec<f64> = match pipeline {
            // Flux dev shifts by the image's size, as candle's sampling does; schnell does not.
            Pipeline::Flux(crate::suite::FluxVariant::Dev) => {
                flux::sampling::get_schedule(steps, Some((latent_cells / 4, 0.5, 1.15)))
            }
            Pipeline::Flux(_) => flux::sampling::get_schedule(steps, None),
            // SD3: the time shift of 3.0 its scheduler config names.
            _ => (0..=steps)
                .map(|step| {
                    let t = 1.0 - step as f64 / steps.max(1) as f64;
                    3.0 * t / (1.0 + 2.0 * t)
                })
                .collect(),
        };
        let timesteps = sigmas.iter().take(steps).map(|sigma| (sigma * 1000.0).round() as usize).collect();
        Self { sigmas, timesteps, taken: 0 }
    }
}

impl schedulers::Scheduler for FlowMatchEuler {
    fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    fn add_noise(&self, _original: &Tensor, _noise: Tensor, _timestep: usize) -> candle_core::Result<Tensor> {
        candle_core::bail!("flow matching here only samples; it adds no noise to images")
    }

    fn init_noise_sigma(&self) -> f64 {
        1.0
    }

    fn scale_model_input(&self, sample: Tensor, _timestep: usize) -> candle_core::Result<Tensor> {
        Ok(sample)
    }

    fn step(&mut self, model_output: &Tensor, _timestep: usize, sample: &Tensor) -> candle_core::Result<Tensor> {
        let (Some(&sigma), Some(&next)) = (self.sigmas.get(self.taken), self.sigmas.get(self.taken + 1)) else {
            candle_core::bail!("flow matching: more steps than the schedule has");
        };
        self.taken += 1;
        sample + (model_output * (next - sigma))?
    }
}
