//! One CSV row per run, for spreadsheets and scripts. Columns (times in seconds, memory in
//! bytes, empty when unknown): see [`COLUMNS`]; nine are text generation's (medians of the
//! prefill and time to first token, decode tokens per second, next-token agreement), the last six
//! image generation's (medians of a whole image and its stages, the per-image ratio to the
//! baseline's, PSNR and SSIM of the decoded image).

use crate::results::SuiteResult;

use super::{ReportError, accuracy_pass};

/// The header row, in order.
pub const COLUMNS: [&str; 61] = [
    "workload",
    "phase",
    "batch_size",
    "is_baseline",
    "model",
    "mode",
    "dtype",
    "device",
    "quantization",
    "status",
    "reason",
    "measured_steps",
    "median_secs",
    "median_ci_low_secs",
    "median_ci_high_secs",
    "p90_secs",
    "p99_secs",
    "mean_secs",
    "sd_secs",
    "throughput_items_per_sec",
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
    "verdict",
    "p_value",
    "rounds",
    "resolution",
    "ci_confidence",
    "aa_ratio",
    "aa_ci_low",
    "aa_ci_high",
    "max_abs_error",
    "cosine_similarity",
    "relative_error",
    "accuracy_pass",
    "peak_rss_bytes",
    "run_memory_bytes",
    "energy_per_step_joules",
    "energy_per_item_joules",
    "gpu_memory_bytes",
    "gpu_memory_source",
    "load_secs",
    "transfer_secs",
    "transfer_bytes",
    "gpu_index",
    "prompt_tokens",
    "new_tokens",
    "prefill_secs",
    "prefill_tokens_per_sec",
    "ttft_secs",
    "decode_tokens_per_sec",
    "kv_cache_bytes",
    "top1_agreement",
    "mean_kl_divergence",
    "secs_per_image",
    "per_image_speedup",
    "per_image_verdict",
    "text_encoder_secs",
    "decode_secs",
    "image_psnr_db",
    "image_ssim",
];

fn number(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

/// The CSV report of `result`.
pub fn render(result: &SuiteResult) -> Result<Vec<u8>, ReportError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for run in &result.runs {
        let summary = run.summary.as_ref();
        let speedup = run.speedup.as_ref();
        let rounds = speedup.and_then(|s| s.rounds.as_ref());
        let control = rounds.and_then(|r| r.control);
        let gpu_memory = run.gpu_memory_bytes();
        let text = run.text.as_ref();
        let tokens = run.accuracy.as_ref().and_then(|accuracy| accuracy.tokens);
        let generation = run.generation.as_ref().filter(|generation| generation.image.is_some());
        let median = |values: &[f64]| crate::stats::median(values).ok();
        let fidelity = run.accuracy.as_ref().and_then(|accuracy| accuracy.image.as_ref());
        let record: [String; 61] = [
            run.workload.clone(),
            run.phase.clone(),
            run.batch_size.to_string(),
            run.is_baseline.to_string(),
            run.model.clone(),
            run.mode.name().to_owned(),
            run.dtype.to_string(),
            run.device.to_string(),
            run.quantization.map_or_else(String::new, |q| q.to_string()),
            run.status.to_string(),
            run.status.reason().to_owned(),
            run.step_secs.len().to_string(),
            number(summary.map(|s| s.median)),
            number(summary.map(|s| s.median_ci.low)),
            number(summary.map(|s| s.median_ci.high)),
            number(summary.map(|s| s.p90)),
            number(summary.map(|s| s.p99)),
            number(summary.map(|s| s.mean)),
            number(summary.map(|s| s.sd)),
            number(run.items_per_sec()),
            number(speedup.map(|s| s.ratio)),
            number(speedup.map(|s| s.ratio_ci.low)),
            number(speedup.map(|s| s.ratio_ci.high)),
            speedup.map_or_else(String::new, |s| s.verdict.to_string()),
            number(speedup.map(|s| s.p_value)),
            rounds.map_or_else(String::new, |r| r.rounds.to_string()),
            number(rounds.map(|r| r.resolution)),
            number(rounds.map(|r| r.confidence)),
            number(control.map(|(ratio, _)| ratio)),
            number(control.map(|(_, ci)| ci.low)),
            number(control.map(|(_, ci)| ci.high)),
            number(run.accuracy.as_ref().map(|a| a.max_abs_error)),
            number(run.accuracy.as_ref().and_then(|a| a.cosine_similarity)),
            number(run.accuracy.as_ref().and_then(|a| a.relative_error)),
            accuracy_pass(run, &result.suite.settings.accuracy).map_or_else(String::new, |pass| pass.to_string()),
            run.peak_rss_bytes.map_or_else(String::new, |bytes| bytes.to_string()),
            run.run_memory_bytes.map_or_else(String::new, |bytes| bytes.to_string()),
            number(run.energy_per_step_joules()),
            number(run.energy_per_item_joules()),
            gpu_memory.map_or_else(String::new, |(bytes, _)| bytes.to_string()),
            gpu_memory.map_or("", |(_, nvml_peak)| if nvml_peak { "nvml_peak" } else { "driver_at_load" }).to_owned(),
            number(run.load_secs),
            number(run.transfer_secs),
            run.transfer_bytes.map_or_else(String::new, |bytes| bytes.to_string()),
            run.gpu_index.map_or_else(String::new, |index| index.to_string()),
            text.map_or_else(String::new, |text| text.prompt_tokens.to_string()),
            text.map_or_else(String::new, |text| text.new_tokens.to_string()),
            number(text.and_then(|text| crate::stats::median(&text.prefill_secs).ok())),
            number(text.and_then(|text| text.prefill_tokens_per_sec(run.batch_size))),
            number(text.and_then(|text| text.median_ttft_secs())),
            number(run.decode_tokens_per_sec()),
            text.map_or_else(String::new, |text| text.kv_cache_bytes.to_string()),
            number(tokens.map(|tokens| tokens.top1_agreement)),
            number(tokens.map(|tokens| tokens.mean_kl_divergence)),
            number(generation.and_then(|g| median(&g.generation_secs))),
            number(generation.and_then(|g| g.image.as_ref()?.per_image_speedup).map(|s| s.ratio)),
            generation
                .and_then(|g| g.image.as_ref()?.per_image_speedup?.verdict)
                .map(|verdict| verdict.to_string())
                .unwrap_or_default(),
            number(generation.and_then(|g| median(&g.text_encoder_secs))),
            number(generation.and_then(|g| median(&g.decode_secs))),
            number(fidelity.and_then(|f| f.psnr_db)),
            number(fidelity.and_then(|f| f.ssim)),
        ];
        writer.write_record(&record)?;
    }
    writer.into_inner().map_err(|error| ReportError::CsvBuffer(error.to_string()))
}
