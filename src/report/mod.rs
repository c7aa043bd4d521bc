//! Pure exporters of a result: each `render` takes a [`SuiteResult`] and returns the file's
//! bytes, so the CLI and the app write the same reports. Markdown (summary tables for a PR
//! comment) and CSV (one row per run); the JSON export is the result file itself.

pub mod csv;
pub mod markdown;

use crate::compare;
use crate::results::{RunResult, RunStatus, SuiteStatus};

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The CSV writer failed.
    #[error("cannot write the CSV report: {0}")]
    Csv(#[from] ::csv::Error),
    /// The CSV writer's buffer could not be taken back.
    #[error("cannot finish the CSV report: {0}")]
    CsvBuffer(String),
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
