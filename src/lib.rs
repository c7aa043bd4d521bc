//! phasebench's engine: suites, the model catalog, the runner, statistics, comparisons and result
//! files. The engine has no user interface; the desktop app (`app` and `ui`, behind the default
//! `gui` feature) and the CLI drive it.

pub mod accuracy;
pub mod compare;
pub mod device;
pub mod models;
pub mod report;
pub mod results;
pub mod runner;
pub mod stats;
pub mod suite;
pub mod telemetry;
pub mod units;

#[cfg(feature = "gui")]
pub mod app;
#[cfg(feature = "gui")]
pub mod ui;

use std::path::Path;

use suite::{Problem, Suite, SuiteError};

/// Loads a suite file and checks it completely: syntax, consistency and whether each workload
/// fits in the memory available now.
pub fn load_checked_suite(path: &Path) -> Result<Suite, SuiteError> {
    parse_checked_suite(&suite::read_suite_text(path)?, &path.display().to_string())
}

/// Parses suite text and checks it completely, like [`load_checked_suite`].
pub fn parse_checked_suite(text: &str, origin: &str) -> Result<Suite, SuiteError> {
    let suite = suite::parse_suite(text, origin)?;
    check_resources(suite, text, origin)
}

fn check_resources(suite: Suite, text: &str, origin: &str) -> Result<Suite, SuiteError> {
    let Some(available) = results::environment::available_memory_bytes() else {
        return Ok(suite);
    };
    let problems: Vec<Problem> = runner::check_memory(&suite, available)
        .into_iter()
        .map(|problem| Problem {
            position: suite::find_name_position(text, &problem.workload),
            message: problem.message,
        })
        .collect();
    if problems.is_empty() { Ok(suite) } else { Err(SuiteError::Invalid { origin: origin.to_owned(), problems }) }
}
