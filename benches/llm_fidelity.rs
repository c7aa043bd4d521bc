//! Fidelity of text generation: phasebench's decode step and prefill times against a plain loop
//! over the same candle-transformers model, as candle's own examples time generation (a prefill
//! forward, then one forward and argmax per token, `Instant` around each), with a second plain
//! loop as the A/A control. Per round the three arms run in a rotating order; the ratio is
//! phasebench ÷ mean(plain A, plain B) and the control plain B ÷ plain A.
//!
//! Run: `cargo bench --bench llm_fidelity` (optionally `-- ROUNDS`, default 3). Figures:
//! BENCHMARKS.md, section 12.

mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use common::min_median_max;
use phasebench::models::llm::{self, LlmConfig};
use phasebench::models::{self, stream_seed};
use phasebench::results::RunStatus;
use phasebench::runner::{RunOptions, run_to_end};
use phasebench::suite::{LlmFamily, LlmPreset, LlmSpec};

fn fail(message: &str) -> ! {
    eprintln!("llm fidelity bench: {message}");
    std::process::exit(1);
}

fn or_fail<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| fail(&error.to_string()))
}

const SEED: u64 = 7;
const PROMPT_TOKENS: usize = 128;
const NEW_TOKENS: usize = 32;
/// Measured generations per arm (after one generation of warm-up).
const GENERATIONS: usize = 3;

/// Median decode-step and prefill seconds of a plain generation loop.
fn plain_loop(spec: &LlmSpec, weights: &models::Weights) -> (f64, f64) {
    let config = LlmConfig::of_spec(spec);
    // Weights of its own, as a model loaded from a file has (and as phasebench's runs hold): the
    // master copy's storage serves every arm of the bench otherwise.
    let owned: models::Weights = weights.iter().map(|(name, tensor)| (name.clone(), or_fail(tensor.copy()))).collect();
    let vb = candle_nn::VarBuilder::from_tensors(owned, DType::F32, &Device::Cpu);
    let mut model = or_fail(llm::build_text_model(&config, vb));
    let ids = llm::seeded_tokens(PROMPT_TOKENS, config.vocab, stream_seed(SEED, llm::PROMPT_STREAM));
    let prompt = or_fail(Tensor::from_vec(ids, (1, PROMPT_TOKENS), &Device::Cpu));
    let (mut decode, mut prefill) = (Vec::new(), Vec::new());
    for generation in 0..=GENERATIONS {
        model.clear_cache();
        let start = Instant::now();
        let mut token = or_fail(llm::greedy_tokens(&or_fail(model.forward(&prompt, 0))));
        if generation > 0 {
            prefill.push(start.elapsed().as_secs_f64());
        }
        for position in 0..NEW_TOKENS - 1 {
            let start = Instant::now();
            token = or_fail(llm::greedy_tokens(&or_fail(model.forward(&token, PROMPT_TOKENS + position))));
            if generation > 0 {
                decode.push(start.elapsed().as_secs_f64());
            }
        }
    }
    (or_fail(phasebench::stats::median(&decode)), or_fail(phasebench::stats::median(&prefill)))
}

/// Median decode-step and prefill seconds phasebench measures for the same model and prompt.
fn phasebench_arm(spec: &LlmSpec, scratch: &std::path::Path) -> (f64, f64) {
    let model = or_fail(phasebench::suite::model_to_ron(&phasebench::suite::ModelSpec::Llm(spec.clone())));
    let steps = GENERATIONS * (NEW_TOKENS - 1);
    let text = format!(
        "Suite(version: 1, name: \"llm-fidelity\", settings: Settings(warmup_steps: {NEW_TOKENS}, min_steps: {steps}, \
         max_steps: {steps}, min_secs: 0.0, max_secs: 600.0, seed: {SEED}, schedule: Sequential), \
         workloads: [Workload(name: \"w\", model: {model}, \
         mode: TextGeneration(prompt_tokens: {PROMPT_TOKENS}, new_tokens: {NEW_TOKENS}))], \
         phases: [Phase(name: \"f32\")], baseline: \"f32\")"
    );
    let suite = or_fail(phasebench::parse_checked_suite(&text, "llm fidelity bench"));
    let result = or_fail(run_to_end(suite, RunOptions::new(scratch, "llm fidelity bench")));
    let run = result.runs.first().unwrap_or_else(|| fail("no run"));
    if run.status != RunStatus::Completed {
        fail(&format!("the run did not complete: {:?}", run.status));
    }
    let prefill = run.text.as_ref().map_or(f64::NAN, |text| or_fail(phasebench::stats::median(&text.prefill_secs)));
    (or_fail(phasebench::stats::median(&run.step_secs)), prefill)
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(3);
    let scratch = or_fail(tempfile::tempdir());
    println!(
        "text generation, prompt {PROMPT_TOKENS}, {NEW_TOKENS} new tokens, batch 1, f32 on the CPU; {rounds} rounds"
    );
    println!("| model | figure | phasebench ÷ plain (min / median / max) | control B ÷ A (min / median / max) |");
    println!("|---|---|---|---|");
    for family in [LlmFamily::Llama, LlmFamily::Qwen3] {
        let spec = LlmSpec { family, preset: LlmPreset::Medium };
        let weights = or_fail(models::generate_weights(&spec, SEED));
        let (mut decode, mut prefill, mut decode_control, mut prefill_control) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let mut arms = [(0.0, 0.0); 3];
            for step in 0..3 {
                let arm = (round + step) % 3;
                arms[arm] = if arm == 0 { phasebench_arm(&spec, scratch.path()) } else { plain_loop(&spec, &weights) };
            }
            let [ours, a, b] = arms;
            decode.push(ours.0 / ((a.0 + b.0) / 2.0));
            prefill.push(ours.1 / ((a.1 + b.1) / 2.0));
            decode_control.push(b.0 / a.0);
            prefill_control.push(b.1 / a.1);
            eprintln!(
                "{family} round {round}: decode {:.2} ms (plain {:.2} / {:.2}), prefill {:.1} ms (plain {:.1} / {:.1})",
                ours.0 * 1e3,
                a.0 * 1e3,
                b.0 * 1e3,
                ours.1 * 1e3,
                a.1 * 1e3,
                b.1 * 1e3
            );
        }
        let params = models::parameter_count(&spec) as f64 / 1e6;
        for (figure, ratios, control) in
            [("decode step", &decode, &decode_control), ("prefill", &prefill, &prefill_control)]
        {
            let [low, mid, high] = min_median_max(ratios);
            let [c_low, c_mid, c_high] = min_median_max(control);
            println!(
                "| {family} Medium ({params:.0} M) | {figure} | {low:.3} / {mid:.3} / {high:.3} | {c_low:.3} / {c_mid:.3} / {c_high:.3} |"
            );
        }
    }
}
