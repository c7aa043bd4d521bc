//! Integration tests, one binary: suite files, the runner through its public API, and the real
//! `phasebench` binary end to end.

#[cfg(feature = "gui")]
mod app;
mod cli;
mod runner;
mod suites;

use std::path::PathBuf;

/// A fixture file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// Result type for tests that use `?`.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;
