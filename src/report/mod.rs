//! Pure exporters of a result: each `render` takes a [`SuiteResult`] and returns the file's
//! bytes, so the CLI and the app write the same reports. Markdown (summary tables for a PR
//! comment), CSV (one row per run) and a self-contained HTML page; the JSON export is the result
//! file itself.

pub mod csv;
pub mod html;
pub mod markdown;
pub mod svg;

use crate::compare::{self, ResultDiff};
use crate::results::{RunResult, RunStatus, SuiteStatus};
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
    /// The result could not be embedded as JSON.
    #[error("cannot embed the result in the HTML report: {0}")]
    Json(#[from] serde_json::Error),
}

/// The words for a run's status.
pub fn status_text(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Failed { .. } => "failed",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Skipped { .. } => "skipped",
    }
}

/// The reason a run failed or was skipped, or nothing.
pub fn status_reason(status: &RunStatus) -> &str {
    match status {
        RunStatus::Failed { reason } | RunStatus::Skipped { reason } => reason,
        RunStatus::Completed | RunStatus::Cancelled => "",
    }
}

/// The words for a suite's status.
pub fn suite_status_text(status: SuiteStatus) -> &'static str {
    match status {
        SuiteStatus::Completed => "completed",
        SuiteStatus::Cancelled => "cancelled",
        SuiteStatus::Running => "interrupted while running",
    }
}

/// Whether the run's output passes the accuracy check against the baseline's (`None`: not
/// compared, e.g. the baseline itself).
pub fn accuracy_pass(run: &RunResult) -> Option<bool> {
    run.accuracy.as_ref().map(compare::accuracy_passes)
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

/// The figures of one run as the report tables show them; `—` where there is nothing to show.
#[derive(Clone, Debug, PartialEq)]
pub struct RunCells {
    /// Median step time with its 95 % CI, or the run's status when it has no steps.
    pub p50: String,
    /// 90th percentile step time.
    pub p90: String,
    /// 99th percentile step time.
    pub p99: String,
    /// Items per second.
    pub throughput: String,
    /// Speedup against the baseline with its CI (`1×` for the baseline).
    pub speedup: String,
    /// faster / slower / no change (empty for the baseline).
    pub verdict: String,
    /// Whether the output passed the accuracy check, when compared.
    pub accuracy_pass: Option<bool>,
    /// Largest absolute difference from the baseline's output.
    pub max_abs_error: String,
    /// Cosine similarity with the baseline's output.
    pub cosine: String,
    /// Peak resident memory of the process.
    pub peak_rss: String,
    /// GPU energy per measured step.
    pub energy: String,
    /// GPU memory the run took (see [`RunResult::gpu_memory_bytes`]).
    pub gpu_memory: String,
    /// Model build time, and the host→device copy when there was one.
    pub setup: String,
}

impl RunCells {
    /// The cells of `run`.
    pub fn of(run: &RunResult) -> Self {
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
            None => (status_text(&run.status).to_owned(), dash(), dash()),
        };
        let (speedup, verdict) = match (&run.speedup, run.is_baseline) {
            (_, true) => ("1×".to_owned(), String::new()),
            (Some(s), false) => (s.ratio_text(), s.verdict.to_string()),
            (None, false) => (dash(), String::new()),
        };
        Self {
            p50,
            p90,
            p99,
            throughput: run.throughput_items_per_sec.map_or_else(dash, |t| format!("{t:.1}/s")),
            speedup,
            verdict,
            accuracy_pass: accuracy_pass(run),
            max_abs_error: run.accuracy.as_ref().map_or_else(dash, |a| format!("{:.2e}", a.max_abs_error)),
            cosine: run.accuracy.as_ref().and_then(|a| a.cosine_similarity).map_or_else(dash, |c| format!("{c:.6}")),
            peak_rss: run.peak_rss_bytes.map_or_else(dash, |bytes| format_bytes(bytes as f64)),
            energy: run.energy_per_step_joules().map_or_else(dash, |joules| format!("{joules:.3} J")),
            gpu_memory: run.gpu_memory_bytes().map_or_else(dash, |(bytes, nvml_peak)| {
                let text = format_bytes(bytes as f64);
                if nvml_peak { text } else { format!("{text} at load") }
            }),
            setup: setup_text(run).unwrap_or_else(dash),
        }
    }
}

/// How long a run took before its first step: the model build, and the host→device copy of the
/// weights and inputs (with its rate) when the run was on a GPU.
pub fn setup_text(run: &RunResult) -> Option<String> {
    let build = format!("build {}", format_secs(run.load_secs?));
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
