//! Pure exporters of a result: each `render` takes a [`SuiteResult`] and returns the file's
//! bytes, so the CLI and the app write the same reports. Markdown (summary tables for a PR
//! comment), CSV (one row per run) and a self-contained HTML page; the JSON export is the result
//! file itself.

pub mod csv;
pub mod html;
pub mod labels;
pub mod llama_bench;
pub mod markdown;
pub mod svg;

use crate::compare::{self, ResultDiff};
use crate::results::{RunResult, SuiteResult};
use crate::suite::AccuracyBounds;
use crate::units::{format_bytes, format_secs};

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The CSV writer failed.
    #[error("cannot write the CSV report: {0}")]
    Csv(#[from] ::csv::Error),
    /// The CSV writer's buffer could not be taken back.
    #[error("cannot finish the CSV report: {0}")]
    CsvBuffer(String),
    /// The HTML template failed to render.
    #[error("cannot render the HTML report: {0}")]
    Html(#[from] minijinja::Error),
    /// The result could not be written as JSON (the export, or the copy embedded in HTML).
    #[error("cannot write the result as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A file format the result is exported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The self-contained HTML report (charts, tables, the embedded result).
    Html,
    /// The result file: every raw step and sample.
    Json,
    /// Summary tables for a PR comment.
    Markdown,
    /// One row per run.
    Csv,
}

impl Format {
    /// Every format, in menu order.
    pub const ALL: [Self; 4] = [Self::Html, Self::Json, Self::Markdown, Self::Csv];

    /// The format's name.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Html => "HTML",
            Self::Json => "JSON",
            Self::Markdown => "Markdown",
            Self::Csv => "CSV",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Json => "json",
            Self::Markdown => "md",
            Self::Csv => "csv",
        }
    }
}

/// The bytes of `result` in `format`, compared with a saved result where one is given (HTML and
/// Markdown show that comparison): what the CLI and the app write, through one writer.
pub fn render(
    format: Format,
    result: &SuiteResult,
    baseline: Option<&BaselineComparison>,
) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Html => html::render(result, baseline)?.into_bytes(),
        Format::Json => serde_json::to_vec_pretty(result)?,
        Format::Markdown => markdown::render(result, baseline).into_bytes(),
        Format::Csv => csv::render(result)?,
    })
}

/// Whether the run's output passes the accuracy check against the baseline's under `bounds`
/// (`None`: not compared, e.g. the baseline itself).
pub fn accuracy_pass(run: &RunResult, bounds: &AccuracyBounds) -> Option<bool> {
    run.accuracy.as_ref().map(|accuracy| compare::accuracy_passes(accuracy, bounds, run.mode.kind()))
}

/// A saved result the report compares against, run by run.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineComparison {
    /// Where the saved result came from, as the reader should see it (a file path).
    pub source: String,
    /// The noise threshold used.
    pub threshold: f64,
    /// This result against the saved one.
    pub diff: ResultDiff,
}

/// The figures of one run as every table shows them (the app's compare view, the terminal, the
/// HTML, Markdown and CSV reports); `—` where there is nothing to show.
#[derive(Clone, Debug, PartialEq)]
pub struct RunCells {
    /// Median step time with its 95 % CI, or the run's status when it has no steps.
    pub p50: String,
    /// Median step time alone (narrow tables).
    pub median: String,
    /// Items finished per second as a bare number (images for generation; the header gives the unit).
    pub items_per_sec: String,
    /// Speedup with its CI in plain ASCII, two decimals: `1.23x [1.20, 1.27]` (terminal).
    pub speedup_plain: String,
    /// Largest absolute error, or how many output values were NaN or infinite (terminal).
    pub max_abs_error_plain: String,
    /// 90th percentile step time.
    pub p90: String,
    /// 99th percentile step time.
    pub p99: String,
    /// Items finished per second (images per second for generation).
    pub throughput: String,
    /// Speedup against the baseline with its CI (`1×` for the baseline).
    pub speedup: String,
    /// faster / slower / equivalent / inconclusive (no change: step-level), empty for the baseline.
    pub verdict: String,
    /// What stands behind the verdict: resolution, the A/A control and rounds, or "sequential,
    /// step-level CI" (empty for the baseline).
    pub basis: String,
    /// Whether the output passed the accuracy check, when compared.
    pub accuracy_pass: Option<bool>,
    /// Largest absolute difference from the baseline's output.
    pub max_abs_error: String,
    /// Cosine similarity with the baseline's output.
    pub cosine: String,
    /// Host memory the run needed (see [`RunResult::run_memory_bytes`]); the process's peak RSS,
    /// labelled, for files from before that figure.
    pub run_memory: String,
    /// GPU energy per measured step, and per item when a step holds several.
    pub energy: String,
    /// GPU memory the run took (see [`RunResult::gpu_memory_bytes`]).
    pub gpu_memory: String,
    /// Model build time, and the host→device copy when there was one.
    pub setup: String,
}

impl RunCells {
    /// The cells of `run`, its accuracy judged by `bounds` (the suite's).
    pub fn of(run: &RunResult, bounds: &AccuracyBounds) -> Self {
        let items_per_sec = run.items_per_sec();
        let dash = || "—".to_owned();
        let (p50, p90, p99) = match &run.summary {
            Some(s) => (
                format!(
                    "{} [{}–{}]",
                    format_secs(s.median),
                    format_secs(s.median_ci.low),
                    format_secs(s.median_ci.high)
                ),
                format_secs(s.p90),
                format_secs(s.p99),
            ),
            None => (run.status.to_string(), dash(), dash()),
        };
        let (speedup, verdict) = match (&run.speedup, run.is_baseline) {
            (_, true) => ("1×".to_owned(), String::new()),
            (Some(s), false) => (s.ratio_text(), s.verdict.to_string()),
            (None, false) => (dash(), String::new()),
        };
        Self {
            p50,
            median: run.summary.as_ref().map_or_else(dash, |s| format_secs(s.median)),
            items_per_sec: items_per_sec.map_or_else(dash, |t| format!("{t:.1}")),
            speedup_plain: match (&run.speedup, run.is_baseline) {
                (Some(s), _) => format!("{:.2}x [{:.2}, {:.2}]", s.ratio, s.ratio_ci.low, s.ratio_ci.high),
                (None, true) => "baseline".to_owned(),
                (None, false) => dash(),
            },
            max_abs_error_plain: run.accuracy.as_ref().map_or_else(dash, |a| match a.nonfinite_values {
                0 => format!("{:.2e}", a.max_abs_error),
                bad => format!("NaN/inf x{bad}"),
            }),
            p90,
            p99,
            throughput: match (items_per_sec, &run.generation) {
                (None, _) => dash(),
                (Some(images), Some(_)) => format!("{images:.2} img/s"),
                (Some(items), None) => format!("{items:.1}/s"),
            },
            speedup,
            verdict,
            basis: run.speedup.as_ref().map_or_else(String::new, |speedup| speedup.basis_text()),
            accuracy_pass: accuracy_pass(run, bounds),
            max_abs_error: run.accuracy.as_ref().map_or_else(dash, |a| format!("{:.2e}", a.max_abs_error)),
            cosine: cosine_text(run).unwrap_or_else(dash),
            run_memory: match (run.run_memory_bytes, run.peak_rss_bytes) {
                (Some(bytes), _) => format_bytes(bytes as f64),
                (None, Some(rss)) => format!("{} process RSS", format_bytes(rss as f64)),
                (None, None) => dash(),
            },
            energy: run.energy_per_step_joules().map_or_else(dash, |joules| match run.batch_size {
                0 | 1 => format!("{joules:.3} J"),
                batch => format!("{joules:.3} J ({:.4} J/item)", joules / batch as f64),
            }),
            gpu_memory: run.gpu_memory_bytes().map_or_else(dash, |(bytes, nvml_peak)| {
                let text = format_bytes(bytes as f64);
                if nvml_peak { text } else { format!("{text} at load") }
            }),
            setup: setup_text(run).unwrap_or_else(dash),
        }
    }
}

/// The stages of an image generation run's median image, in seconds: text encoding, all its
/// denoising steps (the median step × steps), decode; `None` for other runs or before a whole
/// generation was measured.
pub fn image_stage_secs(run: &RunResult) -> Option<[f64; 3]> {
    let generation = run.generation.as_ref().filter(|generation| generation.image.is_some())?;
    let median = |values: &[f64]| crate::stats::median(values).ok();
    let step = run.summary.as_ref().map(|summary| summary.median)?;
    // SD3 and Flux take seeded text embeddings: no text-encoder stage.
    let text = if generation.text_encoder_secs.is_empty() { 0.0 } else { median(&generation.text_encoder_secs)? };
    Some([text, step * generation.steps_per_generation as f64, median(&generation.decode_secs)?])
}

/// A card's line on seconds per image: the median and its ratio to the baseline's with the
/// interval and verdict, e.g. "177.88 ms per image · 1.55× [1.45–1.64] faster".
pub fn per_image_text(run: &RunResult) -> String {
    let Some(generation) = run.generation.as_ref() else { return "no image generated".to_owned() };
    match crate::stats::median(&generation.generation_secs) {
        Err(_) => "no whole image measured".to_owned(),
        Ok(secs) => {
            let against = generation
                .image
                .as_ref()
                .and_then(|image| image.per_image_speedup)
                .map(|speedup| format!(" · {}", speedup.text()))
                .unwrap_or_default();
            format!("{} per image{against}", format_secs(secs))
        }
    }
}

/// A card's line on the decoded image against the baseline's: "PSNR 25.0 dB · SSIM 0.9478",
/// "identical", "the reference image" for the baseline, or "not compared".
pub fn image_fidelity_text(run: &RunResult) -> String {
    match run.accuracy.as_ref().and_then(|accuracy| accuracy.image.as_ref()) {
        _ if run.is_baseline => "the reference image".to_owned(),
        Some(fidelity) => {
            let psnr = fidelity.psnr_db.map_or_else(|| "identical".to_owned(), |psnr| format!("PSNR {psnr:.1} dB"));
            let ssim = fidelity.ssim.map(|ssim| format!(" · SSIM {ssim:.4}")).unwrap_or_default();
            format!("{psnr}{ssim}")
        }
        None => "not compared".to_owned(),
    }
}

/// What an image generation run measured: each stage of the median image, seconds per image with
/// its 95 % interval and images per second, what was generated, and the decoded image against the
/// baseline's (PSNR, SSIM, mean absolute error).
pub fn image_generation_text(run: &RunResult) -> Option<String> {
    let generation = run.generation.as_ref()?;
    let image = generation.image.as_ref()?;
    let mut parts = Vec::new();
    if let (Some([text, steps, decode]), Ok(per_image)) =
        (image_stage_secs(run), crate::stats::median(&generation.generation_secs))
    {
        let interval = crate::stats::bootstrap_median_ci(&generation.generation_secs, 1000, 7)
            .map(|ci| format!(" [{}–{}]", format_secs(ci.low), format_secs(ci.high)))
            .unwrap_or_default();
        let against = image
            .per_image_speedup
            .map(|speedup| format!(", {} against the baseline's", speedup.text()))
            .unwrap_or_default();
        let text = if generation.text_encoder_secs.is_empty() {
            "seeded text embeddings".to_owned()
        } else {
            format!("text encoder {}", format_secs(text))
        };
        parts.push(format!(
            "{text} + {} steps {} + decode {} = {} per image{interval}{against} (median of {}; {:.2} images/s)",
            generation.steps_per_generation,
            format_secs(steps),
            format_secs(decode),
            format_secs(per_image),
            generation.generation_secs.len(),
            run.batch_size as f64 / per_image
        ));
    }
    let guidance = if image.guidance > 1.0 { format!("guidance {}", image.guidance) } else { "no guidance".to_owned() };
    parts.push(format!("{}×{}, {guidance}, {}", image.width, image.height, image.scheduler));
    if let Some(fidelity) = run.accuracy.as_ref().and_then(|accuracy| accuracy.image.as_ref()) {
        let psnr = fidelity.psnr_db.map_or_else(|| "identical".to_owned(), |psnr| format!("PSNR {psnr:.1} dB"));
        let ssim = fidelity.ssim.map(|ssim| format!(", SSIM {ssim:.4}")).unwrap_or_default();
        parts.push(format!("image vs baseline: {psnr}{ssim}, MAE {:.4}", fidelity.mean_abs_error));
    }
    Some(parts.join(" · "))
}

/// What a text-generation run measured besides its decode steps: prefill time and prompt tokens
/// per second, time to first token, decode tokens per second, a whole generation, the KV cache,
/// and how often its next tokens are the baseline's.
pub fn text_generation_text(run: &RunResult) -> Option<String> {
    let text = run.text.as_ref()?;
    let median = |values: &[f64]| crate::stats::median(values).ok();
    let mut parts = Vec::new();
    if let (Some(prefill), Some(rate)) = (median(&text.prefill_secs), text.prefill_tokens_per_sec(run.batch_size)) {
        parts.push(format!("prefill {} of {} tokens ({:.0} tok/s)", format_secs(prefill), text.prompt_tokens, rate));
    }
    if let Some(ttft) = text.median_ttft_secs() {
        parts.push(format!("TTFT {}", format_secs(ttft)));
    }
    if let Some(rate) = run.decode_tokens_per_sec() {
        parts.push(format!("decode {rate:.1} tok/s"));
    }
    if let Some(whole) = median(&text.generation_secs) {
        parts.push(format!(
            "{} per generation of {} tokens (median of {})",
            format_secs(whole),
            text.new_tokens,
            text.generation_secs.len()
        ));
    }
    if let Some(gguf) = &text.gguf {
        parts.push(format!("GGUF {} ({}, {})", gguf.path, gguf.weight_types, format_bytes(gguf.bytes as f64)));
    }
    parts.push(if text.kv_cache {
        format!("KV cache {}", format_bytes(text.kv_cache_bytes as f64))
    } else {
        "no KV cache (context recomputed each token)".to_owned()
    });
    if let Some(tokens) = run.accuracy.as_ref().and_then(|accuracy| accuracy.tokens) {
        parts.push(format!(
            "next token as the baseline's at {:.0} % of {} positions (KL {:.2e} nats)",
            100.0 * tokens.top1_agreement,
            tokens.positions,
            tokens.mean_kl_divergence
        ));
    }
    Some(parts.join(", "))
}

/// The cosine with the baseline's output; for an image classifier, with how many images of the
/// probe batch got the baseline's class (text generation says its agreement in its own line).
fn cosine_text(run: &RunResult) -> Option<String> {
    let accuracy = run.accuracy.as_ref()?;
    let cosine = accuracy.cosine_similarity.map(|cosine| format!("{cosine:.6}"));
    let top1 = accuracy.tokens.filter(|_| run.text.is_none()).map(|tokens| {
        let agreeing = (tokens.top1_agreement * tokens.positions as f64).round();
        format!("top-1 {agreeing:.0}/{}", tokens.positions)
    });
    match (cosine, top1) {
        (Some(cosine), Some(top1)) => Some(format!("{cosine} · {top1}")),
        (cosine, top1) => cosine.or(top1),
    }
}

/// How long a run took before its first step: the read of its model files (with how much was in
/// the page cache) when it had some, the model build, and the host→device copy of the weights and
/// inputs (with its rate) when the run was on a GPU.
pub fn setup_text(run: &RunResult) -> Option<String> {
    let build = format!("build {}", format_secs(run.load_secs?));
    let build = match &run.file_load {
        Some(load) if load.includes_build => load.text(),
        Some(load) => format!("{}, {build}", load.text()),
        None => build,
    };
    Some(match (run.transfer_secs, run.transfer_bytes) {
        (Some(secs), Some(bytes)) => format!(
            "{build}, copy {} in {} ({}/s)",
            format_bytes(bytes as f64),
            format_secs(secs),
            format_bytes(bytes as f64 / secs.max(1e-9))
        ),
        _ => build,
    })
}
