//! Fidelity of image generation: phasebench's denoising-step and per-image times against a plain
//! loop over the same candle-transformers Stable Diffusion pipeline, as candle's own example times
//! it (the text encoded once, then per step: the latent doubled for guidance, the scheduler's
//! input scaling, the UNet, the guidance mix, the scheduler step — `Instant` around each — and
//! the decode), with a second plain loop as the A/A control. Per round the three arms run in a
//! rotating order; the ratio is phasebench ÷ mean(plain A, plain B) and the control B ÷ A.
//!
//! The pipeline is SD 1.5's layout at a small width (UNet 64/128/128 channels, 128-wide text
//! encoder; ~13 M parameters), written once as a diffusers folder and read back through the path a
//! user's folder takes. With `--keep DIR` the folder stays in DIR with `io.safetensors`: a latent,
//! the text context, a timestep and the UNet's f32 output for them, for `benches/peers/diffusion.sh`
//! to check diffusers against.
//!
//! With `--flux` the pipeline is Flux.1 dev's layout at a small width instead (2 double- and 4
//! single-stream blocks 192 wide, seeded text embeddings made once, the guidance an input, flow-
//! matching Euler steps): the transformer denoiser's step against the same plain loop.
//!
//! Run: `cargo bench --bench diffusion_fidelity` (optionally `-- ROUNDS [--flux]`, default 3).
//! Figures: BENCHMARKS.md, section 14.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::stable_diffusion::ddim;
use candle_transformers::models::stable_diffusion::schedulers::{Scheduler, SchedulerConfig};
use common::min_median_max;
use phasebench::models::diffusion::config::{PerBlock, TransformerDenoiser, UnetConfig, VaeConfig};
use phasebench::models::diffusion::{self, FlowMatchEuler, ImagePipeline, PipelineConfig, TextEncoderConfig};
use phasebench::models::{self, seeded_tensor, stream_seed};
use phasebench::results::RunStatus;
use phasebench::runner::{RunOptions, run_to_end};
use phasebench::suite::{DiffusionSpec, FluxVariant, ModelPath, Pipeline, StableDiffusionVersion};

fn fail(message: &str) -> ! {
    eprintln!("diffusion fidelity bench: {message}");
    std::process::exit(1);
}

fn or_fail<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| fail(&error.to_string()))
}

const SEED: u64 = 7;
const STEPS: usize = 10;
const SIZE: usize = 128;
const GUIDANCE: f64 = 7.5;
const FLUX_GUIDANCE: f64 = 3.5;
/// Measured generations per arm (after one generation of warm-up).
const GENERATIONS: usize = 3;

/// SD 1.5's block layout at a small width.
fn bench_config() -> PipelineConfig {
    let text = TextEncoderConfig {
        vocab_size: 1000,
        hidden_size: 128,
        intermediate_size: 512,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        max_position_embeddings: 77,
        hidden_act: "quick_gelu".into(),
        projection_dim: 128,
    };
    let unet = UnetConfig {
        block_out_channels: vec![64, 128, 128],
        down_block_types: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"].map(String::from).to_vec(),
        attention_head_dim: PerBlock::One(4),
        layers_per_block: 1,
        cross_attention_dim: 128,
        sample_size: SIZE / 8,
        ..UnetConfig::default()
    };
    let vae = VaeConfig { block_out_channels: vec![32, 64, 64, 64], layers_per_block: 1, ..VaeConfig::default() };
    PipelineConfig {
        pipeline: Pipeline::StableDiffusion(StableDiffusionVersion::V1_5),
        transformer: None,
        unet,
        vae,
        text_encoders: vec![text],
        v_prediction: false,
        t5: None,
    }
}

/// Flux.1 dev's layout at a small width: 2 double- and 4 single-stream blocks 192 wide (3 heads
/// of 64), the guidance input, a 16-channel autoencoder.
fn flux_config() -> PipelineConfig {
    let transformer = TransformerDenoiser::Flux {
        hidden: 192,
        heads: 3,
        double_blocks: 2,
        single_blocks: 4,
        pooled: 128,
        context: 256,
        axes_dim: [16, 24, 24],
        guidance_embed: true,
    };
    let vae = VaeConfig {
        block_out_channels: vec![32, 64, 64, 64],
        layers_per_block: 1,
        latent_channels: 16,
        scaling_factor: 0.3611,
        shift_factor: 0.1159,
        use_quant_conv: false,
        ..VaeConfig::default()
    };
    let unet = UnetConfig { in_channels: 16, out_channels: 16, sample_size: SIZE / 8, ..UnetConfig::default() };
    PipelineConfig {
        pipeline: Pipeline::Flux(FluxVariant::Dev),
        transformer: Some(transformer),
        unet,
        vae,
        text_encoders: Vec::new(),
        v_prediction: false,
        t5: None,
    }
}

/// The guidance scale of the bench's generations: classifier-free for SD (the batch doubled),
/// Flux dev's input.
fn guidance(config: &PipelineConfig) -> f64 {
    if config.transformer.is_some() { FLUX_GUIDANCE } else { GUIDANCE }
}

/// Writes the bench's pipeline, seeded, as a diffusers folder in `folder`.
fn write_pipeline(folder: &Path, config: &PipelineConfig) -> DiffusionSpec {
    let config = config.clone();
    or_fail(config.write_folder(folder));
    let spec = DiffusionSpec {
        path: Some(ModelPath::new(folder.display().to_string())),
        preset: None,
        pipeline: config.pipeline,
    };
    let weights = or_fail(models::generate_weights(&spec, SEED));
    or_fail(diffusion::write_folder(folder, &config, &weights));
    spec
}

/// Median denoising-step and whole-image seconds of a plain generation loop.
fn plain_loop(config: &PipelineConfig, weights: &models::Weights) -> (f64, f64) {
    let owned: models::Weights = weights.iter().map(|(name, tensor)| (name.clone(), or_fail(tensor.copy()))).collect();
    let vb = candle_nn::VarBuilder::from_tensors(owned, DType::F32, &Device::Cpu);
    let pipeline = or_fail(ImagePipeline::build(config, vb, None));
    let flow = config.transformer.is_some();
    // Flux takes its guidance as an input: one row of text, the batch never doubled.
    let rows = if flow { 1 } else { 2 };
    let ids: Vec<u32> = (0..rows * 77).map(|i| (i * 37 % 1000) as u32).collect();
    let ids = or_fail(Tensor::from_vec(ids, (rows, 77), &Device::Cpu));
    let latent_shape = [1, config.vae.latent_channels, SIZE / 8, SIZE / 8];
    let noise = or_fail(seeded_tensor(&latent_shape, 1.0, stream_seed(SEED, "plain noise")));
    // Seeded text embeddings stand for Flux's encoders: made once, as phasebench makes them.
    let flow_context = flow.then(|| or_fail(pipeline.encode_text(&ids)));
    let (mut steps, mut images) = (Vec::new(), Vec::new());
    for generation in 0..=GENERATIONS {
        let image_start = Instant::now();
        let context = flow_context.clone().unwrap_or_else(|| or_fail(pipeline.encode_text(&ids)));
        let mut scheduler: Box<dyn Scheduler> = if flow {
            Box::new(FlowMatchEuler::new(config.pipeline, STEPS, (SIZE / 8) * (SIZE / 8)))
        } else {
            or_fail(ddim::DDIMSchedulerConfig::default().build(STEPS))
        };
        let mut latent = noise.clone();
        let timesteps = scheduler.timesteps().to_vec();
        for timestep in timesteps {
            let start = Instant::now();
            let guided = if flow {
                or_fail(pipeline.predict(&latent, timestep as f64, &context, FLUX_GUIDANCE))
            } else {
                let input = or_fail(Tensor::cat(&[&latent, &latent], 0));
                let input = or_fail(scheduler.scale_model_input(input, timestep));
                let prediction = or_fail(pipeline.predict(&input, timestep as f64, &context, GUIDANCE));
                let halves = or_fail(prediction.chunk(2, 0));
                or_fail(&halves[0] + or_fail(or_fail(&halves[1] - &halves[0]) * GUIDANCE))
            };
            latent = or_fail(scheduler.step(&guided, timestep, &latent));
            if generation > 0 {
                steps.push(start.elapsed().as_secs_f64());
            }
        }
        let _image = or_fail(pipeline.decode(&latent));
        if generation > 0 {
            images.push(image_start.elapsed().as_secs_f64());
        }
    }
    (or_fail(phasebench::stats::median(&steps)), or_fail(phasebench::stats::median(&images)))
}

/// Median denoising-step and whole-image seconds phasebench measures for the same pipeline.
fn phasebench_arm(folder: &Path, config: &PipelineConfig, scratch: &Path) -> (f64, f64) {
    let steps = GENERATIONS * STEPS;
    let pipeline = format!("{:?}", config.pipeline);
    let guidance = guidance(config);
    let text = format!(
        "Suite(version: 1, name: \"diffusion-fidelity\", settings: Settings(warmup_steps: {}, min_steps: {steps}, \
         max_steps: {steps}, min_secs: 0.0, max_secs: 600.0, seed: {SEED}, schedule: Sequential), \
         workloads: [Workload(name: \"w\", model: Diffusion(path: {:?}, pipeline: {pipeline}), \
         mode: ImageGeneration(steps: {STEPS}, width: {SIZE}, height: {SIZE}, guidance: {guidance}))], \
         phases: [Phase(name: \"f32\")], baseline: \"f32\")",
        STEPS + 2,
        folder.display().to_string()
    );
    let suite = or_fail(phasebench::parse_checked_suite(&text, "diffusion fidelity bench"));
    let result = or_fail(run_to_end(suite, RunOptions::new(scratch, "diffusion fidelity bench")));
    let run = result.runs.first().unwrap_or_else(|| fail("no run"));
    if run.status != RunStatus::Completed {
        fail(&format!("the run did not complete: {:?}", run.status));
    }
    let images = run
        .generation
        .as_ref()
        .map_or(f64::NAN, |generation| or_fail(phasebench::stats::median(&generation.generation_secs)));
    (or_fail(phasebench::stats::median(&run.step_secs)), images)
}

/// Writes a latent, a text context, a timestep and the UNet's output for them to `path`.
fn write_io(config: &PipelineConfig, weights: &models::Weights, path: &Path) {
    let vb = candle_nn::VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
    let pipeline = or_fail(ImagePipeline::build(config, vb, None));
    let ids: Vec<u32> = (0..2 * 77).map(|i| (i * 37 % 1000) as u32).collect();
    let ids = or_fail(Tensor::from_vec(ids, (2, 77), &Device::Cpu));
    let context = or_fail(pipeline.encode_text(&ids));
    let latent = or_fail(seeded_tensor(&[2, 4, SIZE / 8, SIZE / 8], 1.0, stream_seed(SEED, "io latent")));
    let timestep = 501.0;
    let output = or_fail(pipeline.predict(&latent, timestep, &context, GUIDANCE));
    let tensors: HashMap<String, Tensor> = [
        ("ids", ids),
        ("context", context.context),
        ("latent", latent),
        ("timestep", or_fail(Tensor::new(&[timestep as f32], &Device::Cpu))),
        ("unet_output", output),
    ]
    .into_iter()
    .map(|(name, tensor)| (name.to_owned(), tensor))
    .collect();
    or_fail(candle_core::safetensors::save(&tensors, path));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|arg| arg.parse().ok()).unwrap_or(3);
    let keep: Option<PathBuf> =
        args.iter().position(|arg| arg == "--keep").and_then(|at| args.get(at + 1)).map(PathBuf::from);
    let scratch = or_fail(tempfile::tempdir());
    let config = if args.iter().any(|arg| arg == "--flux") { flux_config() } else { bench_config() };
    let folder = keep.clone().unwrap_or_else(|| scratch.path().join("pipeline"));
    let spec = write_pipeline(&folder, &config);
    let config = or_fail(diffusion::pipeline_config(&spec));
    let weights = or_fail(diffusion::folder_weights(&spec));
    if let Some(keep) = keep.as_ref().filter(|_| config.transformer.is_none()) {
        write_io(&config, &weights, &keep.join("io.safetensors"));
    }
    let layout = if config.transformer.is_some() {
        format!(
            "Flux.1 dev layout at 192 wide, 2 double + 4 single blocks, {STEPS} flow-matching Euler steps, guidance input {FLUX_GUIDANCE}"
        )
    } else {
        format!("SD 1.5 layout at UNet 64/128/128, {STEPS} DDIM steps, guidance {GUIDANCE}")
    };
    println!(
        "image generation, {layout} ({:.1} M parameters), {SIZE}×{SIZE}, batch 1, f32 on the CPU; {rounds} rounds",
        models::parameter_count(&spec) as f64 / 1e6
    );
    println!("| figure | phasebench ÷ plain (min / median / max) | control B ÷ A (min / median / max) |");
    println!("|---|---|---|");
    let (mut step, mut image, mut step_control, mut image_control) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut arms = [(0.0, 0.0); 3];
        for offset in 0..3 {
            let arm = (round + offset) % 3;
            arms[arm] =
                if arm == 0 { phasebench_arm(&folder, &config, scratch.path()) } else { plain_loop(&config, &weights) };
        }
        let [ours, a, b] = arms;
        step.push(ours.0 / ((a.0 + b.0) / 2.0));
        image.push(ours.1 / ((a.1 + b.1) / 2.0));
        step_control.push(b.0 / a.0);
        image_control.push(b.1 / a.1);
        eprintln!(
            "round {round}: step {:.2} ms (plain {:.2} / {:.2}), image {:.1} ms (plain {:.1} / {:.1})",
            ours.0 * 1e3,
            a.0 * 1e3,
            b.0 * 1e3,
            ours.1 * 1e3,
            a.1 * 1e3,
            b.1 * 1e3
        );
    }
    for (figure, ratios, control) in [("denoising step", &step, &step_control), ("whole image", &image, &image_control)]
    {
        let [low, mid, high] = min_median_max(ratios);
        let [c_low, c_mid, c_high] = min_median_max(control);
        println!("| {figure} | {low:.3} / {mid:.3} / {high:.3} | {c_low:.3} / {c_mid:.3} / {c_high:.3} |");
    }
}
