//! Image generation by a diffusion pipeline, as steps: a generation is the text encoding (a stage
//! step), one measured step per denoising step (the UNet on the doubled batch under guidance, then
//! the scheduler), and the autoencoder's decode (a stage step that completes the generation).

use candle_core::{Device, Tensor};
use candle_transformers::models::stable_diffusion::{ddim, schedulers, uni_pc};

use super::steppers::{Preparation, StepTiming, Stepper, StepperSetup, owned_weights, timed, to_f32_values, upload};
use crate::models::diffusion::{Conditioning, FlowMatchEuler, ImagePipeline, PipelineConfig};
use crate::models::{seeded_tensor, stream_seed};
use crate::suite::{ImageGenerationSpec, Pipeline, SchedulerKind};

/// A stage of an image generation that is not a denoising step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageStage {
    /// The prompt through the text encoder(s).
    TextEncoder,
    /// The final latent through the autoencoder's decoder.
    Decode,
}

/// Generates images step by step (see the module's description).
pub struct ImageGenerationStepper {
    pipeline: ImagePipeline,
    spec: ImageGenerationSpec,
    device: Device,
    /// Token ids `[batch (×2 under guidance), tokens]`: the unconditional prompt first.
    ids: Tensor,
    probe_ids: Tensor,
    initial_latent: Tensor,
    probe_latent: Tensor,
    latent: Tensor,
    context: Option<Conditioning>,
    schedule: Schedule,
    scheduler: Box<dyn schedulers::Scheduler>,
    /// Whether each step runs the denoiser on the doubled batch (guidance on, not Flux).
    doubled: bool,
    /// 0: the next step encodes the text (or, without text encoders, starts denoising);
    /// 1..=steps: denoising; steps + 1: the decode.
    position: usize,
    generation_secs: f64,
}

/// How a generation's scheduler is made.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    kind: SchedulerKind,
    steps: usize,
    v_prediction: bool,
    /// SD3 and Flux: flow matching for this pipeline over a latent of this many positions.
    flow: Option<(Pipeline, usize)>,
}

/// Token ids of `batch` prompts of `tokens` ids below `vocab`, seeded, with the unconditional
/// prompt (one id repeated, as an empty prompt is padding) first when `guided`.
fn prompt_ids(batch: usize, tokens: usize, vocab: usize, seed: u64, guided: bool) -> candle_core::Result<Tensor> {
    let noise = seeded_tensor(&[batch * tokens], 1.0, seed)?.to_vec1::<f32>()?;
    let text: Vec<u32> = noise.iter().map(|value| ((value.abs() * 7919.0) as usize % vocab.max(1)) as u32).collect();
    let mut ids = if guided { vec![(vocab.saturating_sub(1)) as u32; batch * tokens] } else { Vec::new() };
    ids.extend(text);
    let rows = if guided { 2 * batch } else { batch };
    Tensor::from_vec(ids, (rows, tokens), &Device::Cpu)
}

impl Schedule {
    /// A fresh scheduler at the start of a generation.
    fn build(self) -> candle_core::Result<Box<dyn schedulers::Scheduler>> {
        use schedulers::SchedulerConfig;
        if let Some((pipeline, cells)) = self.flow {
            return Ok(Box::new(FlowMatchEuler::new(pipeline, self.steps, cells)));
        }
        let prediction_type = if self.v_prediction {
            schedulers::PredictionType::VPrediction
        } else {
            schedulers::PredictionType::Epsilon
        };
        match self.kind {
            SchedulerKind::Ddim => {
                ddim::DDIMSchedulerConfig { prediction_type, ..Default::default() }.build(self.steps)
            }
            SchedulerKind::UniPc => {
                uni_pc::UniPCSchedulerConfig { prediction_type, ..Default::default() }.build(self.steps)
            }
        }
    }
}

impl std::fmt::Display for ImageStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TextEncoder => "text encoder",
            Self::Decode => "decode",
        })
    }
}

impl ImageGenerationStepper {
    /// Builds the pipeline in the phase's dtype (attention in slices of `sliced_attention` heads
    /// when given) and the seeded prompts and starting noise of `spec` at the setup's batch.
    pub fn new(
        setup: &StepperSetup,
        config: &PipelineConfig,
        spec: ImageGenerationSpec,
        sliced_attention: Option<usize>,
    ) -> candle_core::Result<(Self, Preparation)> {
        let uploaded = upload(setup.device, setup.dtype, setup.weights, &[])?;
        let (pipeline, build_secs) = timed(setup.device, || {
            let weights = owned_weights(&uploaded.weights, setup.dtype, None)?;
            let vb = candle_nn::VarBuilder::from_tensors(weights, setup.dtype, setup.device);
            ImagePipeline::build_quantized(config, vb, sliced_attention, setup.quantization)
        })?;
        let tokens = config.text_encoders.first().map_or(77, |encoder| encoder.max_position_embeddings);
        // Without text encoders (SD3, Flux) the ids only seed the text embeddings.
        let vocab = config.text_encoders.iter().map(|encoder| encoder.vocab_size).min().unwrap_or(1000);
        let factor = config.vae_scale_factor();
        let cells = (spec.height / factor) * (spec.width / factor);
        let schedule = Schedule {
            kind: spec.scheduler,
            steps: spec.steps,
            v_prediction: config.v_prediction,
            flow: config.pipeline.flow_matching().then_some((config.pipeline, cells)),
        };
        let scheduler = schedule.build()?;
        let sigma = scheduler.init_noise_sigma();
        let doubled = spec.guided() && pipeline.doubles_batch_for_guidance();
        if !spec.width.is_multiple_of(factor) || !spec.height.is_multiple_of(factor) {
            candle_core::bail!(
                "{}×{} pixels do not divide into the autoencoder's {factor}-pixel latent cells",
                spec.width,
                spec.height
            );
        }
        let latent_shape =
            |batch: usize| vec![batch, config.vae.latent_channels, spec.height / factor, spec.width / factor];
        let noise = |batch: usize, seed: u64| -> candle_core::Result<Tensor> {
            (seeded_tensor(&latent_shape(batch), 1.0, stream_seed(seed, "latent noise"))? * sigma)?
                .to_dtype(setup.dtype)?
                .to_device(setup.device)
        };
        let ids = |batch: usize, seed: u64| -> candle_core::Result<Tensor> {
            prompt_ids(batch, tokens, vocab, stream_seed(seed, "prompt"), doubled)?.to_device(setup.device)
        };
        let initial_latent = noise(setup.batch_size, setup.seed)?;
        let stepper = Self {
            pipeline,
            spec,
            device: setup.device.clone(),
            ids: ids(setup.batch_size, setup.seed)?,
            probe_ids: ids(setup.probe_batch, setup.probe_seed)?,
            latent: initial_latent.clone(),
            initial_latent,
            probe_latent: noise(setup.probe_batch, setup.probe_seed)?,
            context: None,
            schedule,
            scheduler,
            doubled,
            position: 0,
            generation_secs: 0.0,
        };
        Ok((
            stepper,
            Preparation { load_secs: uploaded.convert_secs + build_secs, transfer: uploaded.transfer, file_load: None },
        ))
    }

    /// One denoising step of `latent` at the scheduler's `index`-th timestep; `doubled`: the
    /// denoiser runs on the latent twice (without and with the text) and guidance mixes them.
    fn denoise(
        pipeline: &ImagePipeline,
        scheduler: &mut dyn schedulers::Scheduler,
        (spec, doubled): (&ImageGenerationSpec, bool),
        latent: &Tensor,
        context: &Conditioning,
        index: usize,
    ) -> candle_core::Result<Tensor> {
        let timestep = scheduler.timesteps()[index];
        let input = if doubled { Tensor::cat(&[latent, latent], 0)? } else { latent.clone() };
        let input = scheduler.scale_model_input(input, timestep)?;
        let prediction = pipeline.predict(&input, timestep as f64, context, spec.guidance)?;
        let prediction = if doubled {
            let halves = prediction.chunk(2, 0)?;
            let (unconditional, text) = (&halves[0], &halves[1]);
            (unconditional + ((text - unconditional)? * spec.guidance)?)?
        } else {
            prediction
        };
        scheduler.step(&prediction, timestep, latent)
    }

    /// The probe's whole generation: decoded images `[batch, 3, height, width]` then the final
    /// latent, flattened as f32 (the layout `GenerationRecord::image` describes).
    fn generate_probe(&mut self) -> candle_core::Result<Vec<f32>> {
        let mut scheduler = self.schedule.build()?;
        let context = self.pipeline.encode_text(&self.probe_ids)?;
        let mut latent = self.probe_latent.clone();
        for index in 0..scheduler.timesteps().len() {
            let settings = (&self.spec, self.doubled);
            latent = Self::denoise(&self.pipeline, scheduler.as_mut(), settings, &latent, &context, index)?;
        }
        let image = self.pipeline.decode(&latent)?;
        let mut values = to_f32_values(&image)?;
        values.extend(to_f32_values(&latent)?);
        Ok(values)
    }
}

impl Stepper for ImageGenerationStepper {
    fn step(&mut self) -> candle_core::Result<StepTiming> {
        let denoising_steps = self.scheduler.timesteps().len();
        if self.position == 0 {
            self.position = 1;
            if self.pipeline.has_text_encoder() {
                let (context, secs) = timed(&self.device, || self.pipeline.encode_text(&self.ids))?;
                self.context = Some(context);
                self.generation_secs = secs;
                return Ok(StepTiming { secs, stage: Some(ImageStage::TextEncoder), ..StepTiming::default() });
            }
            // Seeded text embeddings (SD3, Flux) are no stage: made once, kept for every
            // generation, which starts denoising at once.
            if self.context.is_none() {
                self.context = Some(self.pipeline.encode_text(&self.ids)?);
            }
        }
        let Some(context) = &self.context else { candle_core::bail!("a denoising step before the text encoding") };
        if self.position <= denoising_steps {
            let index = self.position - 1;
            let (pipeline, settings, latent) = (&self.pipeline, (&self.spec, self.doubled), &self.latent);
            let scheduler = self.scheduler.as_mut();
            let (latent, secs) =
                timed(&self.device, || Self::denoise(pipeline, scheduler, settings, latent, context, index))?;
            self.latent = latent;
            self.position += 1;
            self.generation_secs += secs;
            return Ok(StepTiming { secs, ..StepTiming::default() });
        }
        let (_image, secs) = timed(&self.device, || self.pipeline.decode(&self.latent))?;
        let whole = self.generation_secs + secs;
        self.restart()?;
        Ok(StepTiming { secs, stage: Some(ImageStage::Decode), generation_secs: Some(whole), ..StepTiming::default() })
    }

    fn at_boundary(&self) -> bool {
        self.position == 0
    }

    fn restart(&mut self) -> candle_core::Result<()> {
        self.scheduler = self.schedule.build()?;
        self.latent = self.initial_latent.clone();
        if self.pipeline.has_text_encoder() {
            self.context = None;
        }
        self.position = 0;
        self.generation_secs = 0.0;
        Ok(())
    }

    fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
        self.generate_probe()
    }
}

/// A PNG of one image `[3, height, width]` with values in [0, 1], encoded as base64 (for a
/// `data:image/png;base64,` URI), shrunk by whole factors (box filter) to at most `max_side`
/// pixels on its longer side.
pub fn thumbnail_png_base64(values: &[f32], height: usize, width: usize, max_side: usize) -> Option<String> {
    thumbnail_png(values, height, width, max_side).map(|png| base64(&png))
}

fn thumbnail_png(values: &[f32], height: usize, width: usize, max_side: usize) -> Option<Vec<u8>> {
    if values.len() < 3 * height * width || height == 0 || width == 0 {
        return None;
    }
    let factor = height.max(width).div_ceil(max_side.max(1)).max(1);
    let (out_height, out_width) = (height / factor, width / factor);
    if out_height == 0 || out_width == 0 {
        return None;
    }
    let mut pixels = Vec::with_capacity(out_height * out_width * 3);
    for row in 0..out_height {
        for column in 0..out_width {
            for channel in 0..3 {
                let mut sum = 0.0f32;
                for dy in 0..factor {
                    for dx in 0..factor {
                        sum += values[channel * height * width + (row * factor + dy) * width + column * factor + dx];
                    }
                }
                let mean = sum / (factor * factor) as f32;
                pixels.push((mean.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, out_width as u32, out_height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(png)
}

/// A thumbnail written by [`thumbnail_png_base64`] read back: width, height and RGB bytes (for
/// the app, which draws it as a texture); `None` when the text is not such a PNG.
pub fn decode_thumbnail(encoded: &str) -> Option<(usize, usize, Vec<u8>)> {
    let png = unbase64(encoded)?;
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().ok()?;
    let mut pixels = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut pixels).ok()?;
    if frame.color_type != png::ColorType::Rgb || frame.bit_depth != png::BitDepth::Eight {
        return None;
    }
    pixels.truncate(frame.buffer_size());
    Some((frame.width as usize, frame.height as usize, pixels))
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |value, (i, &byte)| value | u32::from(byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(char::from(ALPHABET[(value >> (18 - 6 * i) & 63) as usize]));
            } else {
                text.push('=');
            }
        }
    }
    text
}

/// Standard base64 read back; `None` on a character outside the alphabet.
fn unbase64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.trim_end_matches('=').as_bytes().chunks(4) {
        let bits = chunk.iter().try_fold(0u32, |bits, &c| Some(bits << 6 | value(c)?))? << (6 * (4 - chunk.len()));
        bytes.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
            assert_eq!(unbase64(encoded).as_deref(), Some(plain.as_bytes()), "{encoded}");
        }
        assert_eq!(unbase64("Zm9v!"), None, "not base64");
    }

    #[test]
    fn a_thumbnail_is_a_png_of_the_shrunk_size() {
        let (height, width) = (64, 32);
        let values: Vec<f32> = (0..3 * height * width).map(|i| (i % 7) as f32 / 6.0).collect();
        let png = thumbnail_png(&values, height, width, 32).unwrap_or_default();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let info = decoder.read_info().map(|reader| (reader.info().width, reader.info().height));
        assert_eq!(info.ok(), Some((16, 32)), "shrunk by 2 to fit 32 pixels");
        let encoded = thumbnail_png_base64(&values, height, width, 32).unwrap_or_default();
        // PNG signature, base64-encoded: 0x89 'P' 'N' 'G' → "iVBORw0KGgo".
        assert!(encoded.starts_with("iVBORw0KGgo"), "{encoded}");
        let (width, height, pixels) = decode_thumbnail(&encoded).unwrap_or_default();
        assert_eq!((width, height, pixels.len()), (16, 32, 16 * 32 * 3), "read back");
        // The first pixel averages 2×2 pixels of each channel: red's are i % 7 / 6 at i = 0, 1,
        // 32 and 33 (the next row), so (0 + 1 + 4 + 5) / 6 / 4.
        assert_eq!(pixels[0], (10.0f32 / 6.0 / 4.0 * 255.0).round() as u8);
        assert!(thumbnail_png_base64(&values[..10], height, width, 32).is_none(), "too few values");
    }
}
