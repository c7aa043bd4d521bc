//! What one step is in each workload mode: a forward pass, a training update, or one denoising
//! step of a generation. Each stepper times its own step with the device synchronized around it.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::Optimizer;

use crate::device;
use crate::models::{self, Architecture, BuildOptions, Network, Weights};
use crate::suite::{GenerationSpec, OptimizerSpec, Quantization, TrainingSpec};

/// One step's timing and what it produced.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepTiming {
    /// The whole step, in seconds.
    pub secs: f64,
    /// Training only, on the steps timed in parts ([`TRAINING_BREAKDOWN_EVERY`]): forward+loss,
    /// backward and optimizer seconds. Such a step serves the breakdown, not the step times.
    pub breakdown: Option<[f64; 3]>,
    /// Training only: the loss before this step's update.
    pub loss: Option<f64>,
    /// Generation only: set on the step that completes a generation, the sum of its timed steps.
    pub generation_secs: Option<f64>,
    /// Text generation only, on the step that processed the prompt: the prefill's seconds and the
    /// time to first token. Such a step serves these figures, not the (decode) step times.
    pub prefill: Option<[f64; 2]>,
    /// Image generation only: the stage this step ran when it was not a denoising step (the text
    /// encoding or the decode). Such a step serves the stage figures, not the step times.
    pub stage: Option<super::image::ImageStage>,
}

impl StepTiming {
    /// Whether the step is one of the run's headline steps (not a training step timed in parts, nor
    /// a text generation's prefill).
    pub fn is_headline(&self) -> bool {
        self.breakdown.is_none() && self.prefill.is_none() && self.stage.is_none()
    }
}

/// Runs the steps of one run.
pub trait Stepper {
    /// Runs and times one step.
    fn step(&mut self) -> candle_core::Result<StepTiming>;
    /// Whether measuring may stop here (a generation stops only between whole generations).
    fn at_boundary(&self) -> bool {
        true
    }
    /// Starts over from the initial state (after warm-up), keeping what was built.
    fn restart(&mut self) -> candle_core::Result<()> {
        Ok(())
    }
    /// The output compared with the baseline's for accuracy, as f32 values.
    fn probe(&mut self) -> candle_core::Result<Vec<f32>>;
}

/// Everything a stepper is built from.
pub struct StepperSetup<'a> {
    /// The model.
    pub arch: &'a dyn Architecture,
    /// f32 master weights.
    pub weights: &'a Weights,
    /// The phase's dtype.
    pub dtype: DType,
    /// The phase's device.
    pub device: &'a Device,
    /// The phase's quantization.
    pub quantization: Option<Quantization>,
    /// Items per step.
    pub batch_size: usize,
    /// Seed of the measured input.
    pub seed: u64,
    /// Seed of the probe input.
    pub probe_seed: u64,
    /// Items in the probe input.
    pub probe_batch: usize,
}

pub(super) fn to_f32_values(tensor: &Tensor) -> candle_core::Result<Vec<f32>> {
    tensor.to_device(&Device::Cpu)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// How long a run took to get ready for its first step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preparation {
    /// Converting the weights to the phase's dtype, quantizing and building the model, in seconds
    /// (everything before the first step but the copy to the device).
    pub load_secs: f64,
    /// The host→device copy of the weights and inputs in the phase's dtype, when the device is
    /// not the CPU.
    pub transfer: Option<Transfer>,
    /// The read of a model file the run loaded itself (a GGUF), when it did.
    pub file_load: Option<crate::results::FileLoadRecord>,
}

/// One timed host→device copy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Transfer {
    /// Seconds from the first byte sent to the device having them all.
    pub secs: f64,
    /// Bytes copied.
    pub bytes: u64,
}

/// What [`upload`] put on the device, and what it took.
pub(super) struct Uploaded {
    pub(super) weights: Weights,
    pub(super) inputs: Vec<Tensor>,
    pub(super) transfer: Option<Transfer>,
    /// Seconds converting to the phase's dtype on the host (part of the load).
    pub(super) convert_secs: f64,
}

/// On a GPU: converts the f32 master weights and the host `inputs` to `dtype` on the host (so the
/// device never holds an f32 copy of a reduced-precision model), then copies them to `device`,
/// timed apart from everything else. On the CPU nothing is converted or copied here and no
/// transfer is reported.
pub(super) fn upload(
    device: &Device,
    dtype: DType,
    weights: &Weights,
    inputs: &[Tensor],
) -> candle_core::Result<Uploaded> {
    if device.is_cpu() {
        return Ok(Uploaded { weights: weights.clone(), inputs: inputs.to_vec(), transfer: None, convert_secs: 0.0 });
    }
    convert_and_copy(device, dtype, weights, inputs)
}

/// The weights a model is built from, holding storage of their own: on the CPU a weight already
/// in `dtype` would otherwise share the f32 master's storage, so the run would not hold (nor its
/// memory figure count) the model an f32 deployment holds. Weights that are converted or
/// quantized get storage of their own when the model is built, so they are not copied here.
pub(super) fn owned_weights(
    weights: &Weights,
    dtype: DType,
    quantization: Option<Quantization>,
) -> candle_core::Result<Weights> {
    let shares_master = |tensor: &Tensor| quantization.is_none() && tensor.device().is_cpu() && tensor.dtype() == dtype;
    weights
        .iter()
        .map(|(name, tensor)| Ok((name.clone(), if shares_master(tensor) { tensor.copy()? } else { tensor.clone() })))
        .collect()
}

/// [`upload`]'s work for a device that is not the CPU (callable with the CPU in tests).
fn convert_and_copy(
    device: &Device,
    dtype: DType,
    weights: &Weights,
    inputs: &[Tensor],
) -> candle_core::Result<Uploaded> {
    let ((host_weights, host_inputs), convert_secs) =
        timed(&Device::Cpu, || map_tensors(weights, inputs, |tensor| tensor.to_dtype(dtype)))?;
    let bytes =
        host_weights.values().chain(&host_inputs).map(|t| (t.elem_count() * t.dtype().size_in_bytes()) as u64).sum();
    let ((weights, inputs), secs) =
        timed(device, || map_tensors(&host_weights, &host_inputs, |tensor| tensor.to_device(device)))?;
    Ok(Uploaded { weights, inputs, transfer: Some(Transfer { secs, bytes }), convert_secs })
}

/// `change` applied to every weight (keeping its name) and every input.
fn map_tensors(
    weights: &Weights,
    inputs: &[Tensor],
    change: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<(Weights, Vec<Tensor>)> {
    let weights = weights.iter().map(|(name, tensor)| Ok((name.clone(), change(tensor)?)));
    Ok((weights.collect::<candle_core::Result<_>>()?, inputs.iter().map(&change).collect::<candle_core::Result<_>>()?))
}

/// Seconds of `work`, with the device idle at the start and finished at the end.
pub(super) fn timed<T>(
    device: &Device,
    work: impl FnOnce() -> candle_core::Result<T>,
) -> candle_core::Result<(T, f64)> {
    device::synchronize(device)?;
    let start = Instant::now();
    let value = work()?;
    device::synchronize(device)?;
    Ok((value, start.elapsed().as_secs_f64()))
}

/// One forward pass per step.
pub struct InferenceStepper {
    network: Box<dyn Network>,
    input: Tensor,
    probe_input: Tensor,
    device: Device,
}

impl InferenceStepper {
    /// Copies the weights and inputs to the device and builds the model; returns it with the time
    /// each took.
    pub fn new(setup: &StepperSetup) -> candle_core::Result<(Self, Preparation)> {
        let host_inputs = [
            models::seeded_host_input(setup.arch, setup.batch_size, setup.seed)?,
            models::seeded_host_input(setup.arch, setup.probe_batch, setup.probe_seed)?,
        ];
        let uploaded = upload(setup.device, setup.dtype, setup.weights, &host_inputs)?;
        let options = BuildOptions { quantization: setup.quantization, differentiable: false };
        let (network, build_secs) = timed(setup.device, || {
            let weights = owned_weights(&uploaded.weights, setup.dtype, setup.quantization)?;
            models::build_network(setup.arch, &weights, setup.dtype, setup.device, options)
        })?;
        let [input, probe_input] = [&uploaded.inputs[0], &uploaded.inputs[1]].map(|input| input.to_dtype(setup.dtype));
        let stepper = Self { network, input: input?, probe_input: probe_input?, device: setup.device.clone() };
        let load_secs = uploaded.convert_secs + build_secs;
        Ok((stepper, Preparation { load_secs, transfer: uploaded.transfer, file_load: None }))
    }
}

impl Stepper for InferenceStepper {
    fn step(&mut self) -> candle_core::Result<StepTiming> {
        let (output, secs) = timed(&self.device, || self.network.forward(&self.input))?;
        drop(output);
        Ok(StepTiming { secs, ..StepTiming::default() })
    }

    fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
        to_f32_values(&self.network.forward(&self.probe_input)?)
    }
}

enum TrainOptimizer {
    AdamW(candle_nn::AdamW),
    Sgd(candle_nn::SGD),
}

/// How often a training step is measured in parts (forward, backward, optimizer, each between two
/// synchronizations) instead of whole: the breakdown, kept apart from the headline step times.
pub const TRAINING_BREAKDOWN_EVERY: usize = 10;

/// Forward, MSE loss against a fixed seeded target, backward and an optimizer update per step, on
/// one fixed batch. A step is timed whole, with one synchronization before and after, as a real
/// training loop runs; the first of every [`TRAINING_BREAKDOWN_EVERY`] steps is instead timed in
/// its three parts (which serializes launches against the device's work) and serves only the
/// breakdown. The loss is computed in f32 whatever the phase's dtype (candle reduces f16 in
/// f16, which saturates on large tensors). The accuracy probe is the loss trajectory.
pub struct TrainingStepper {
    network: Box<dyn Network>,
    optimizer: TrainOptimizer,
    input: Tensor,
    target: Tensor,
    device: Device,
    losses: Vec<f64>,
    probe_len: usize,
    /// Steps taken so far, warm-up included.
    steps_taken: usize,
}

impl TrainingStepper {
    /// Builds a trainable model, its optimizer and the fixed batch; `probe_len` losses form the
    /// accuracy probe.
    pub fn new(
        setup: &StepperSetup,
        training: TrainingSpec,
        probe_len: usize,
    ) -> candle_core::Result<(Self, Preparation)> {
        let host_input = models::seeded_host_input(setup.arch, setup.batch_size, setup.seed)?;
        let uploaded = upload(setup.device, setup.dtype, setup.weights, &[host_input])?;
        let ((network, vars), build_secs) =
            timed(setup.device, || models::build_trainable(setup.arch, &uploaded.weights, setup.dtype, setup.device))?;
        let (load_secs, transfer) = (uploaded.convert_secs + build_secs, uploaded.transfer);
        let optimizer = new_optimizer(vars, training.optimizer)?;
        let input = uploaded.inputs[0].to_dtype(setup.dtype)?;
        let output_shape = network.forward(&input)?.dims().to_vec();
        let target = models::seeded_tensor(&output_shape, 1.0, models::stream_seed(setup.seed, "target"))?
            .to_device(setup.device)?;
        let device = setup.device.clone();
        let losses = Vec::new();
        let stepper = Self { network, optimizer, input, target, device, losses, probe_len, steps_taken: 0 };
        Ok((stepper, Preparation { load_secs, transfer, file_load: None }))
    }
}

fn new_optimizer(vars: Vec<Var>, spec: OptimizerSpec) -> candle_core::Result<TrainOptimizer> {
    Ok(match spec {
        OptimizerSpec::AdamW(rate) => TrainOptimizer::AdamW(candle_nn::AdamW::new(
            vars,
            candle_nn::ParamsAdamW { lr: rate.lr, ..candle_nn::ParamsAdamW::default() },
        )?),
        OptimizerSpec::Sgd(rate) => TrainOptimizer::Sgd(candle_nn::SGD::new(vars, rate.lr)?),
    })
}

impl TrainingStepper {
    fn loss(&self) -> candle_core::Result<Tensor> {
        let output = self.network.forward(&self.input)?.to_dtype(DType::F32)?;
        candle_nn::loss::mse(&output, &self.target)
    }

    fn update(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        match &mut self.optimizer {
            TrainOptimizer::AdamW(adam) => adam.step(grads),
            TrainOptimizer::Sgd(sgd) => sgd.step(grads),
        }
    }

    /// One step in three synchronized parts: the breakdown's sample.
    fn step_in_parts(&mut self) -> candle_core::Result<(Tensor, [f64; 3])> {
        let (loss, forward) = timed(&self.device, || self.loss())?;
        let (grads, backward) = timed(&self.device, || loss.backward())?;
        let device = self.device.clone();
        let ((), optimizer) = timed(&device, || self.update(&grads))?;
        Ok((loss, [forward, backward, optimizer]))
    }
}

impl Stepper for TrainingStepper {
    fn step(&mut self) -> candle_core::Result<StepTiming> {
        self.steps_taken += 1;
        // The first step after a (re)start and every TRAINING_BREAKDOWN_EVERY-th after it.
        let (loss, secs, breakdown) = if self.steps_taken % TRAINING_BREAKDOWN_EVERY == 1 {
            let (loss, parts) = self.step_in_parts()?;
            (loss, parts.iter().sum(), Some(parts))
        } else {
            let device = self.device.clone();
            let (loss, secs) = timed(&device, || {
                let loss = self.loss()?;
                let grads = loss.backward()?;
                self.update(&grads)?;
                Ok(loss)
            })?;
            (loss, secs, None)
        };
        let loss_value = f64::from(loss.to_scalar::<f32>()?);
        self.losses.push(loss_value);
        Ok(StepTiming { secs, breakdown, loss: Some(loss_value), ..StepTiming::default() })
    }

    /// After warm-up: training goes on from where it is; the breakdown schedule starts over, so
    /// the first measured step is timed in parts and every run has a breakdown.
    fn restart(&mut self) -> candle_core::Result<()> {
        self.steps_taken = 0;
        Ok(())
    }

    fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
        Ok(self.losses.iter().take(self.probe_len).map(|&loss| loss as f32).collect())
    }
}

/// Diffusion sampling: each step predicts the noise at the current time and moves the latent one
/// Euler step towards the data (`x ← x − ε̂ / N`); `N` steps make one generation.
pub struct GenerationStepper {
    network: Box<dyn Network>,
    initial_latent: Tensor,
    latent: Tensor,
    probe_latent: Tensor,
    steps_per_generation: usize,
    step_in_generation: usize,
    /// Timed seconds of this generation's steps so far (what runs between steps, such as a cache
    /// flush, is not part of a generation's time).
    generation_secs: f64,
    device: Device,
}

impl GenerationStepper {
    /// Builds the model and the seeded starting noise.
    pub fn new(setup: &StepperSetup, generation: GenerationSpec) -> candle_core::Result<(Self, Preparation)> {
        let (inference, preparation) = InferenceStepper::new(setup)?;
        let stepper = Self {
            network: inference.network,
            latent: inference.input.clone(),
            initial_latent: inference.input,
            probe_latent: inference.probe_input,
            steps_per_generation: generation.steps,
            step_in_generation: 0,
            generation_secs: 0.0,
            device: setup.device.clone(),
        };
        Ok((stepper, preparation))
    }

    fn denoise_step(&self, latent: &Tensor, step: usize) -> candle_core::Result<Tensor> {
        let timestep = 1.0 - step as f64 / self.steps_per_generation as f64;
        let noise = self.network.denoise(latent, timestep)?;
        latent - (noise / self.steps_per_generation as f64)?
    }
}

impl Stepper for GenerationStepper {
    fn step(&mut self) -> candle_core::Result<StepTiming> {
        let (latent, secs) = timed(&self.device, || self.denoise_step(&self.latent, self.step_in_generation))?;
        self.latent = latent;
        self.step_in_generation += 1;
        self.generation_secs += secs;
        let mut timing = StepTiming { secs, ..StepTiming::default() };
        if self.step_in_generation == self.steps_per_generation {
            timing.generation_secs = Some(self.generation_secs);
            self.restart()?;
        }
        Ok(timing)
    }

    fn at_boundary(&self) -> bool {
        self.step_in_generation == 0
    }

    fn restart(&mut self) -> candle_core::Result<()> {
        self.latent = self.initial_latent.clone();
        self.step_in_generation = 0;
        self.generation_secs = 0.0;
        Ok(())
    }

    fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
        let mut latent = self.probe_latent.clone();
        for step in 0..self.steps_per_generation {
            latent = self.denoise_step(&latent, step)?;
        }
        to_f32_values(&latent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{ConvNetSpec, DiffusionTransformerSpec, LearningRate, MlpSpec, ModelSpec, TransformerSpec};

    #[test]
    fn the_device_copy_is_of_the_converted_weights_and_inputs() -> candle_core::Result<()> {
        let spec = crate::suite::MlpSpec { input: 8, hidden: 16, layers: 2, output: 4 };
        let weights = models::generate_weights(&spec, 1)?;
        let input = models::seeded_host_input(&spec, 3, 1)?;
        let f32_bytes: usize = weights.values().chain([&input]).map(|t| t.elem_count() * 4).sum();
        let uploaded = convert_and_copy(&Device::Cpu, DType::BF16, &weights, std::slice::from_ref(&input))?;
        assert_eq!(uploaded.transfer.map(|t| t.bytes), Some(f32_bytes as u64 / 2), "bf16: half the bytes");
        assert!(uploaded.weights.values().chain(&uploaded.inputs).all(|t| t.dtype() == DType::BF16));
        let on_cpu = upload(&Device::Cpu, DType::BF16, &weights, std::slice::from_ref(&input))?;
        assert!(on_cpu.transfer.is_none() && on_cpu.inputs[0].dtype() == DType::F32, "the CPU copies nothing");
        Ok(())
    }

    fn setup<'a>(arch: &'a dyn Architecture, weights: &'a Weights, device: &'a Device) -> StepperSetup<'a> {
        StepperSetup {
            arch,
            weights,
            dtype: DType::F32,
            device,
            quantization: None,
            batch_size: 4,
            seed: 1,
            probe_seed: 2,
            probe_batch: 2,
        }
    }

    #[test]
    fn training_lowers_the_loss_on_a_fixed_batch_for_every_model() -> candle_core::Result<()> {
        let models = [
            ModelSpec::Mlp(MlpSpec { input: 8, hidden: 16, layers: 2, output: 4 }),
            ModelSpec::ConvNet(ConvNetSpec { in_channels: 3, image_size: 8, channels: 8, blocks: 1, classes: 4 }),
            ModelSpec::Transformer(TransformerSpec {
                layers: 1,
                hidden: 16,
                heads: 2,
                seq_len: 4,
                ffn_mult: 2,
                causal: false,
            }),
            ModelSpec::DiffusionTransformer(DiffusionTransformerSpec {
                image_size: 8,
                patch: 4,
                channels: 2,
                hidden: 16,
                layers: 1,
                heads: 2,
            }),
        ];
        for (spec, optimizer) in models.iter().zip([
            OptimizerSpec::AdamW(LearningRate { lr: 1e-2 }),
            OptimizerSpec::Sgd(LearningRate { lr: 5e-2 }),
            OptimizerSpec::AdamW(LearningRate { lr: 1e-2 }),
            OptimizerSpec::AdamW(LearningRate { lr: 1e-2 }),
        ]) {
            let arch = models::architecture(spec);
            let weights = models::generate_weights(arch, 3)?;
            let (mut stepper, _) =
                TrainingStepper::new(&setup(arch, &weights, &Device::Cpu), TrainingSpec { optimizer }, 20)?;
            let mut losses = Vec::new();
            for step in 0..20 {
                let timing = stepper.step()?;
                // Steps 1 and 11 are timed in parts (the breakdown); the others whole.
                match timing.breakdown {
                    Some([forward, backward, update]) => {
                        assert!(step % TRAINING_BREAKDOWN_EVERY == 0, "step {step} in parts");
                        assert!(forward > 0.0 && backward > 0.0 && update > 0.0);
                        assert!((forward + backward + update - timing.secs).abs() < 1e-12);
                    }
                    None => assert!(step % TRAINING_BREAKDOWN_EVERY != 0 && timing.secs > 0.0, "step {step} whole"),
                }
                losses.push(timing.loss.unwrap_or(f64::NAN));
            }
            assert!(losses[19] < 0.9 * losses[0], "{}: {losses:?}", spec.kind_name());
            assert_eq!(stepper.probe()?.len(), 20);
        }
        Ok(())
    }

    #[test]
    fn a_generation_is_timed_whole_after_its_denoising_steps() -> candle_core::Result<()> {
        let spec = DiffusionTransformerSpec { image_size: 8, patch: 4, channels: 2, hidden: 16, layers: 1, heads: 2 };
        let weights = models::generate_weights(&spec, 3)?;
        let (mut stepper, _) =
            GenerationStepper::new(&setup(&spec, &weights, &Device::Cpu), GenerationSpec { steps: 3 })?;
        for generation in 0..2 {
            assert!(stepper.at_boundary());
            for step in 0..3 {
                let timing = stepper.step()?;
                assert_eq!(timing.generation_secs.is_some(), step == 2, "generation {generation} step {step}");
                assert_eq!(stepper.at_boundary(), step == 2);
            }
        }
        // The probe is a whole generation from the probe noise: the final latent of 2 items.
        assert_eq!(stepper.probe()?.len(), 2 * 2 * 8 * 8);
        Ok(())
    }

    #[test]
    fn quantizing_a_layer_whose_width_is_not_a_block_multiple_fails_with_the_reason() -> candle_core::Result<()> {
        let spec = MlpSpec { input: 100, hidden: 256, layers: 1, output: 8 };
        let weights = models::generate_weights(&spec, 3)?;
        let mut quantized = setup(&spec, &weights, &Device::Cpu);
        quantized.quantization = Some(Quantization::Q4K);
        let error = InferenceStepper::new(&quantized).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            error.contains(
                "cannot quantize `layers.0` to q4k: its 100 input features are not a multiple of the block size 256"
            ),
            "{error}"
        );
        Ok(())
    }
}
