//! Text-generation results in the shape of llama.cpp's `llama-bench` output, so they can sit next
//! to llama.cpp's numbers: one row per run and test — `pp<prompt>` (prompt processing: the
//! prefills) and `tg<tokens>` (text generation: the decode steps of each generation) — with the
//! mean and standard deviation of tokens per second over the repetitions, as Markdown or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::results::{RunResult, SuiteResult};
use crate::suite::DeviceSpec;
use crate::units::format_bytes;

/// One line of the table: a run's prompt processing or text generation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchRow {
    /// `workload/phase@batch`.
    pub run: String,
    /// The model as llama-bench names it: family, parameters and weight type.
    pub model: String,
    /// Bytes of the weights in the phase's type.
    pub size_bytes: u64,
    /// Parameters.
    pub params: u64,
    /// `CPU` or `CUDA`.
    pub backend: &'static str,
    /// Threads candle computes with on the CPU.
    pub threads: usize,
    /// Sequences per step.
    pub batch: usize,
    /// `pp<prompt tokens>` or `tg<generated tokens>`.
    pub test: String,
    /// Tokens per second, mean over the repetitions.
    pub avg_ts: f64,
    /// Their standard deviation (0 with one repetition).
    pub stddev_ts: f64,
    /// Tokens per second of every repetition.
    pub samples_ts: Vec<f64>,
}

fn mean_and_sd(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let variance = if values.len() > 1 {
        values.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64
    } else {
        0.0
    };
    (mean, variance.sqrt())
}

fn model_name(result: &SuiteResult, run: &RunResult) -> String {
    // llama-bench names the architecture; the workload's name stands in for other models.
    let text = run.text.as_ref();
    let family = text.and_then(|text| text.family.clone());
    let family = family
        .or_else(|| {
            result.suite.workloads.iter().find(|workload| workload.name == run.workload).and_then(|workload| {
                match &workload.model {
                    crate::suite::ModelSpec::Llm(spec) => Some(spec.family.model_type().to_owned()),
                    _ => None,
                }
            })
        })
        .unwrap_or_else(|| run.workload.clone());
    let params = run.param_count as f64;
    let size = if params >= 1e9 {
        format!("{:.1}B", params / 1e9)
    } else if params >= 1e6 {
        format!("{:.0}M", params / 1e6)
    } else {
        format!("{:.2}M", params / 1e6)
    };
    let weights = match text.and_then(|text| text.gguf.as_ref()) {
        Some(gguf) => gguf.weight_types.to_uppercase(),
        None => run.quantization.map_or_else(|| run.dtype.to_string().to_uppercase(), |q| q.to_string().to_uppercase()),
    };
    format!("{family} {size} {weights}")
}

/// The rows of every completed text-generation run: its prefills as `pp<prompt tokens>`, its
/// whole generations' decode steps as `tg<decode steps>`.
pub fn rows(result: &SuiteResult) -> Vec<BenchRow> {
    let mut rows = Vec::new();
    for run in result.runs.iter().filter(|run| !run.failed()) {
        let Some(text) = &run.text else { continue };
        let batch = run.batch_size;
        let row = |test: String, samples_ts: Vec<f64>| {
            let (avg_ts, stddev_ts) = mean_and_sd(&samples_ts);
            BenchRow {
                run: run.label(),
                model: model_name(result, run),
                size_bytes: run.param_bytes as u64,
                params: run.param_count as u64,
                backend: match run.device {
                    DeviceSpec::Cpu => "CPU",
                    DeviceSpec::Cuda(_) => "CUDA",
                },
                threads: result.environment.compute_threads,
                batch,
                test,
                avg_ts,
                stddev_ts,
                samples_ts,
            }
        };
        let prefill: Vec<f64> =
            text.prefill_secs.iter().map(|secs| (batch * text.prompt_tokens) as f64 / secs.max(1e-12)).collect();
        if !prefill.is_empty() {
            rows.push(row(format!("pp{}", text.prompt_tokens), prefill));
        }
        // Each generation's decode steps: its time less the time to first token.
        let decode_steps = text.new_tokens.saturating_sub(1);
        let generation: Vec<f64> = text
            .generation_secs
            .iter()
            .zip(&text.ttft_secs)
            .map(|(whole, ttft)| (batch * decode_steps) as f64 / (whole - ttft).max(1e-12))
            .collect();
        if !generation.is_empty() && decode_steps > 0 {
            rows.push(row(format!("tg{decode_steps}"), generation));
        }
    }
    rows
}

/// The Markdown table, llama-bench's columns and then the run it came from.
pub fn markdown(result: &SuiteResult) -> String {
    let mut text = String::from(
        "| model | size | params | backend | threads | n_batch | test | t/s | run |\n| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |\n",
    );
    for row in rows(result) {
        let params = row.params as f64;
        let params = if params >= 1e9 { format!("{:.2} B", params / 1e9) } else { format!("{:.2} M", params / 1e6) };
        let _ = writeln!(
            text,
            "| {} | {} | {params} | {} | {} | {} | {} | {:.2} ± {:.2} | {} |",
            crate::report::markdown::escape(&row.model),
            format_bytes(row.size_bytes as f64),
            row.backend,
            row.threads,
            row.batch,
            row.test,
            row.avg_ts,
            row.stddev_ts,
            crate::report::markdown::escape(&row.run)
        );
    }
    text
}

/// The rows as JSON (llama-bench's `-o json` names where they match).
pub fn json(result: &SuiteResult) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec_pretty(&rows(result))
}
