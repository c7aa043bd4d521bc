//! Writing results to disk after every run (write to a temporary file, then rename, so a crash
//! leaves the previous complete file) and reading them back with a version check.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{RESULT_FORMAT_VERSION, SuiteResult};
use crate::plan::ProbeKey;

/// Name of the result file inside a result directory.
pub const RESULT_FILE_NAME: &str = "result.json";

/// `id` of the `<script type="application/json">` element in which an HTML report embeds its
/// result.
pub const EMBEDDED_RESULT_ID: &str = "phasebench-result";

/// Why a result could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// A file or directory operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a phasebench result.
    #[error("{path}: not a phasebench result file: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The file was written by a newer phasebench.
    #[error(
        "{path}: result format version {found} is newer than this phasebench reads (up to {RESULT_FORMAT_VERSION}); upgrade phasebench"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ResultError + '_ {
    move |source| ResultError::Io { path: path.to_owned(), source }
}

/// The directory one suite's results are written to.
#[derive(Debug, Clone)]
pub struct ResultStore {
    directory: PathBuf,
}

impl ResultStore {
    /// Creates `<root>/<suite name>-<timestamp>/` (with a numeric suffix if it exists already).
    pub fn create(root: &Path, suite_name: &str, timestamp: &str) -> Result<Self, ResultError> {
        fs::create_dir_all(root).map_err(io_error(root))?;
        let base = format!("{}-{timestamp}", file_name_safe(suite_name));
        for attempt in 1..1000 {
            let name = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
            let directory = root.join(name);
            match fs::create_dir(&directory) {
                Ok(()) => return Ok(Self { directory }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(ResultError::Io { path: directory, source: error }),
            }
        }
        Err(ResultError::Io {
            path: root.join(base),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "too many result directories with this name",
            ),
        })
    }

    /// Opens an existing result directory (to resume the suite in it); it must hold a result file.
    pub fn open(directory: &Path) -> Result<Self, ResultError> {
        let result_path = directory.join(RESULT_FILE_NAME);
        fs::metadata(&result_path).map_err(io_error(&result_path))?;
        Ok(Self { directory: directory.to_owned() })
    }

    /// The result directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The result file.
    pub fn result_path(&self) -> PathBuf {
        self.directory.join(RESULT_FILE_NAME)
    }

    /// Replaces the result file with `result`, atomically: the old file stays whole until the new
    /// one is complete on disk.
    pub fn save(&self, result: &SuiteResult) -> Result<(), ResultError> {
        let path = self.result_path();
        let json = serde_json::to_vec_pretty(result)
            .map_err(|error| ResultError::Malformed { path: path.clone(), message: error.to_string() })?;
        self.write_atomically(RESULT_FILE_NAME, &json)
    }

    /// Keeps the baseline phase's probe output of workload `workload_index`, so a resumed suite
    /// checks the accuracy of its remaining runs against the same reference.
    pub fn save_probe(&self, key: ProbeKey, output: &[f32]) -> Result<(), ResultError> {
        let name = key.file_name();
        let json = serde_json::to_vec(output)
            .map_err(|error| ResultError::Malformed { path: self.directory.join(&name), message: error.to_string() })?;
        self.write_atomically(&name, &json)
    }

    /// The baseline probe outputs kept by [`Self::save_probe`] for `keys`; a missing or unreadable
    /// one is left out (the runs that need it then report no accuracy, with the reason).
    pub fn load_probes(
        &self,
        keys: impl IntoIterator<Item = ProbeKey>,
    ) -> std::collections::HashMap<ProbeKey, Vec<f32>> {
        keys.into_iter()
            .filter_map(|key| {
                let text = fs::read(self.directory.join(key.file_name())).ok()?;
                Some((key, serde_json::from_slice(&text).ok()?))
            })
            .collect()
    }

    /// Writes `name` in the result directory through a temporary file and a rename, so a crash
    /// leaves either the old file or the new one, whole.
    fn write_atomically(&self, name: &str, bytes: &[u8]) -> Result<(), ResultError> {
        let path = self.directory.join(name);
        crate::atomic_file::write_atomically(&path, bytes).map_err(io_error(&path))
    }
}

/// Keeps letters, digits, `-` and `_` of a name for use in a file name; the rest become `-`.
pub fn file_name_safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() { "suite".to_owned() } else { trimmed.chars().take(64).collect() }
}

/// The JSON an HTML report embeds, or why there is none.
fn embedded_json(html: &str) -> Result<&str, String> {
    let marker = format!("id=\"{EMBEDDED_RESULT_ID}\"");
    let at = html.find(&marker).ok_or_else(|| {
        format!("an HTML file without an embedded result (no element with {marker}); is it a phasebench report?")
    })?;
    let start = html[at..].find('>').map(|end| at + end + 1).ok_or("the embedded result element is not closed")?;
    let end =
        html[start..].find("</script>").map(|len| start + len).ok_or("the embedded result element is not closed")?;
    Ok(&html[start..end])
}

/// Reads a result file, the `result.json` inside a result directory, or the result embedded in
/// an HTML report.
pub fn load_result(path: &Path) -> Result<SuiteResult, ResultError> {
    let path = if path.is_dir() { path.join(RESULT_FILE_NAME) } else { path.to_owned() };
    let bytes = fs::read(&path).map_err(io_error(&path))?;
    parse_result(bytes, path)
}

/// Reads a result from the bytes of a result file or an HTML report; `path` names it in errors.
pub fn parse_result(bytes: Vec<u8>, path: PathBuf) -> Result<SuiteResult, ResultError> {
    let content = String::from_utf8(bytes).map_err(|error| ResultError::Malformed {
        path: path.clone(),
        message: format!("not UTF-8 text (invalid byte at offset {})", error.utf8_error().valid_up_to()),
    })?;
    let text = if content.trim_start().starts_with('<') {
        embedded_json(&content).map_err(|message| ResultError::Malformed { path: path.clone(), message })?
    } else {
        content.as_str()
    };
    let first_code_line = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with("//"));
    match first_code_line {
        Some(line) if line.starts_with('{') => {}
        Some(line) if line.starts_with("Suite") => {
            let message = "this is a suite file (RON), not a result; `phasebench run` runs it".to_owned();
            return Err(ResultError::Malformed { path, message });
        }
        Some(_) => {
            let message = "a result is a JSON object starting with `{` (result.json or an HTML report)".to_owned();
            return Err(ResultError::Malformed { path, message });
        }
        None => return Err(ResultError::Malformed { path, message: "the file is empty".to_owned() }),
    }
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: u32,
    }
    let malformed =
        |error: serde_json::Error| ResultError::Malformed { path: path.clone(), message: error.to_string() };
    let probe: VersionOnly = serde_json::from_str(text).map_err(malformed)?;
    match probe.format_version {
        found if found > RESULT_FORMAT_VERSION => Err(ResultError::FutureVersion { path, found }),
        // Version 1 is the only format so far; older formats get a converter arm here.
        _ => serde_json::from_str(text).map_err(malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe_for_files() {
        assert_eq!(file_name_safe("Quick start/../x"), "quick-start----x");
        assert_eq!(file_name_safe("///"), "suite");
    }

    #[test]
    fn a_result_from_a_newer_version_is_refused_clearly() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.json");
        fs::write(&path, r#"{"format_version": 99}"#)?;
        let error = load_result(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("version 99 is newer"), "{error}");
        Ok(())
    }

    #[test]
    fn a_non_result_json_is_refused_clearly() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.json");
        fs::write(&path, "[1, 2]")?;
        let error = load_result(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("not a phasebench result file"), "{error}");
        Ok(())
    }
}
