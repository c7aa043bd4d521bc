//! phasebench's engine: suites, the model catalog, the runner, statistics, comparisons and result
//! files. The engine has no user interface; the desktop app (`app` and `ui`, behind the default
//! `gui` feature) and the CLI drive it.

pub mod accuracy;
pub mod atomic_file;
pub mod compare;
pub mod device;
pub mod models;
pub mod plan;
pub mod report;
pub mod results;
pub mod runner;
pub mod stats;
pub mod suite;
pub mod telemetry;
pub mod units;
pub mod warnings;

#[cfg(feature = "gui")]
pub mod app;
#[cfg(feature = "gui")]
pub mod ui;

use std::path::Path;

use suite::{Problem, Suite, SuiteError};

/// Loads a suite file and checks it completely: syntax, consistency, the model files it names
/// (relative to the file's folder) and whether each workload fits in the memory available now.
pub fn load_checked_suite(path: &Path) -> Result<Suite, SuiteError> {
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let available = results::environment::available_memory_bytes();
    parse_checked_suite_with_memory(&suite::read_suite_text(path)?, &path.display().to_string(), base_dir, available)
}

/// Parses suite text and checks it completely, like [`load_checked_suite`]; model paths start at
/// the working directory.
pub fn parse_checked_suite(text: &str, origin: &str) -> Result<Suite, SuiteError> {
    parse_checked_suite_with_memory(text, origin, Path::new("."), results::environment::available_memory_bytes())
}

/// Parses suite text and checks it completely, its model paths starting at `base_dir`, against
/// `available_bytes` of memory (`None`: not known, so not checked), for callers that measured it
/// once (the editor checks every edit).
pub fn parse_checked_suite_with_memory(
    text: &str,
    origin: &str,
    base_dir: &Path,
    available_bytes: Option<u64>,
) -> Result<Suite, SuiteError> {
    let mut suite = suite::parse_suite(text, origin)?;
    suite.resolve_model_paths(base_dir);
    let at_workload =
        |workload: &str, message: String| Problem { position: suite::find_name_position(text, workload), message };
    let mut problems: Vec<Problem> = models::llm::model_file_problems(&suite)
        .into_iter()
        .chain(models::diffusion::folder_problems(&suite))
        .map(|(workload, message)| at_workload(&workload, message))
        .collect();
    if let Some(available) = available_bytes {
        problems.extend(
            plan::check_memory(&suite, available)
                .into_iter()
                .map(|problem| at_workload(&problem.workload, problem.message)),
        );
    }
    if problems.is_empty() { Ok(suite) } else { Err(SuiteError::Invalid { origin: origin.to_owned(), problems }) }
}
