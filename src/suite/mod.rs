//! Suite files: the schema, loading and saving RON, and validation whose errors name the file and,
//! where the text tells, the line and column at fault.

mod diffusion;
mod layout;
mod llm;
mod model_checks;
mod model_file;
mod parameters;
mod phase;
mod schedule;
mod schema;
mod threshold;
mod validate;
mod vision;

pub use diffusion::{
    DiffusionPreset, DiffusionSpec, FluxVariant, ImageGenerationSpec, ImagePhase, Pipeline, SchedulerKind, Sd3Variant,
    StableDiffusionVersion,
};
pub use layout::{SuiteText, suite_text};
pub use llm::{LlmFamily, LlmPreset, LlmShape, LlmSpec, TextGenerationSpec, quantization_block_problems};
pub use model_file::{ModelFileSpec, ModelPath, WORKLOAD_PLACEHOLDER, file_phase_problems};
pub use parameters::ModelParameter;
pub use phase::{DTypeSpec, DeviceSpec, Phase, Quantization};
pub use schedule::{InterleavedSpec, Schedule};
pub use schema::*;
pub use threshold::NoiseThreshold;
pub use validate::{MAX_DIMENSION, MAX_LAYERS, Problem, find_name_position, validate};
pub use vision::{VisionFamily, VisionPreset, VisionSpec};

use std::fmt;
use std::path::Path;

use ron::extensions::Extensions;
use serde::Deserialize;

/// The suite that ships with the binary and runs when no suite is given.
pub const DEFAULT_SUITE_RON: &str = include_str!("../../suites/quickstart.ron");

/// Name shown for the embedded default suite where a file path would be.
pub const DEFAULT_SUITE_ORIGIN: &str = "<embedded suites/quickstart.ron>";

/// The example suites shipped in `suites/`, embedded so the app offers them wherever it is
/// installed: file name and RON text.
pub const EXAMPLE_SUITES: &[(&str, &str)] = &[
    ("quickstart.ron", DEFAULT_SUITE_RON),
    ("precision.ron", include_str!("../../suites/precision.ron")),
    ("training.ron", include_str!("../../suites/training.ron")),
    ("vision.ron", include_str!("../../suites/vision.ron")),
    ("vision-encoders.ron", include_str!("../../suites/vision-encoders.ron")),
    ("diffusion.ron", include_str!("../../suites/diffusion.ron")),
    ("diffusion-real.ron", include_str!("../../suites/diffusion-real.ron")),
    ("diffusion-flow.ron", include_str!("../../suites/diffusion-flow.ron")),
    ("flux-quantized.ron", include_str!("../../suites/flux-quantized.ron")),
    ("llm.ron", include_str!("../../suites/llm.ron")),
    ("llm-files.ron", include_str!("../../suites/llm-files.ron")),
    ("batch-sweep.ron", include_str!("../../suites/batch-sweep.ron")),
    ("cpu-vs-cuda.ron", include_str!("../../suites/cpu-vs-cuda.ron")),
    ("gpu.ron", include_str!("../../suites/gpu.ron")),
];

/// The text of a shipped example suite by file name.
pub fn example_suite(file_name: &str) -> Option<&'static str> {
    EXAMPLE_SUITES.iter().find(|(name, _)| *name == file_name).map(|(_, text)| *text)
}

/// Largest suite file read, so that a wrong path (a dataset, a binary) fails fast.
pub const MAX_SUITE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// RON extensions suites are written with: `Mlp(hidden: 64)` instead of `Mlp((hidden: 64))` and
/// `batch_size: 8` instead of `batch_size: Some(8)`.
fn suite_extensions() -> Extensions {
    Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES
}

/// A line and column (both from 1) in a suite file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextPosition {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

impl fmt::Display for TextPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Why a suite could not be loaded, saved or used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("{origin}: cannot read the suite file: {source}")]
    Read {
        /// The file.
        origin: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is too large to be a suite.
    #[error(
        "{origin}: is {size_bytes} bytes; a suite file is at most {MAX_SUITE_FILE_BYTES} bytes (is this the right file?)"
    )]
    TooLarge {
        /// The file.
        origin: String,
        /// Its size.
        size_bytes: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{origin}: is not UTF-8 text (invalid byte at offset {offset}); suite files are RON text")]
    NotText {
        /// The file.
        origin: String,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The RON text does not parse into a suite.
    #[error("{origin}:{position}: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// Where the parser stopped.
        position: TextPosition,
        /// What was wrong, in words.
        message: String,
    },
    /// The file was written by a newer phasebench.
    #[error(
        "{origin}: suite version {found} is newer than this phasebench understands (up to {SUITE_VERSION}); upgrade phasebench"
    )]
    FutureVersion {
        /// The file.
        origin: String,
        /// The version the file declares.
        found: u32,
    },
    /// The suite parsed but its contents are inconsistent.
    #[error("{}", format_problems(origin, problems))]
    Invalid {
        /// The file.
        origin: String,
        /// Every problem found, in file order where known.
        problems: Vec<Problem>,
    },
    /// The suite could not be written.
    #[error("{origin}: cannot save the suite: {source}")]
    Write {
        /// The file.
        origin: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The suite could not be turned into RON text.
    #[error("cannot write the suite as RON: {0}")]
    Serialize(#[from] ron::Error),
}

fn format_problems(origin: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| match problem.position {
            Some(position) => format!("{origin}:{position}: {}", problem.message),
            None => format!("{origin}: {}", problem.message),
        })
        .collect();
    lines.join("\n")
}

/// Reads, parses and validates a suite file.
pub fn load_suite(path: &Path) -> Result<Suite, SuiteError> {
    parse_suite(&read_suite_text(path)?, &path.display().to_string())
}

/// Reads a suite file as text, refusing files too large or not UTF-8.
pub fn read_suite_text(path: &Path) -> Result<String, SuiteError> {
    let origin = path.display().to_string();
    let read_error = |source| SuiteError::Read { origin: origin.clone(), source };
    let size_bytes = std::fs::metadata(path).map_err(read_error)?.len();
    if size_bytes > MAX_SUITE_FILE_BYTES {
        return Err(SuiteError::TooLarge { origin, size_bytes });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    String::from_utf8(bytes).map_err(|error| SuiteError::NotText { origin, offset: error.utf8_error().valid_up_to() })
}

/// Parses and validates suite text; `origin` names it in errors (usually the file path).
pub fn parse_suite(text: &str, origin: &str) -> Result<Suite, SuiteError> {
    if text.trim().is_empty() {
        return Err(SuiteError::Parse {
            origin: origin.to_owned(),
            position: TextPosition { line: 1, col: 1 },
            message: "the file is empty; a suite starts with `Suite(` (see suites/quickstart.ron)".into(),
        });
    }
    let first_code_line = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with("//"));
    if first_code_line.is_some_and(|line| line.starts_with('{')) {
        let what = if text.contains("\"format_version\"") {
            "this is a phasebench result file (JSON), not a suite; `phasebench show` and `phasebench report` read results"
        } else {
            "this looks like JSON; a suite is a RON file that starts with `Suite(` (see suites/quickstart.ron)"
        };
        return Err(SuiteError::Parse {
            origin: origin.to_owned(),
            position: TextPosition { line: 1, col: 1 },
            message: what.into(),
        });
    }
    let suite = parse_suite_unchecked(text, origin)?;
    let problems = validate(&suite, text);
    if problems.is_empty() { Ok(suite) } else { Err(SuiteError::Invalid { origin: origin.to_owned(), problems }) }
}

/// Parses suite text without the checks [`parse_suite`] adds (for a draft the editor will check).
pub fn parse_suite_unchecked(text: &str, origin: &str) -> Result<Suite, SuiteError> {
    check_version(text, origin)?;
    let options = ron::Options::default().with_default_extension(suite_extensions());
    options.from_str(text).map_err(|error| SuiteError::Parse {
        origin: origin.to_owned(),
        position: TextPosition { line: error.span.start.line, col: error.span.start.col },
        message: describe_ron_error(&error.code),
    })
}

/// The embedded default suite, parsed.
pub fn default_suite() -> Result<Suite, SuiteError> {
    parse_suite(DEFAULT_SUITE_RON, DEFAULT_SUITE_ORIGIN)
}

/// Rejects a suite from a newer phasebench before its unknown fields cause a confusing error.
fn check_version(text: &str, origin: &str) -> Result<(), SuiteError> {
    #[derive(Deserialize)]
    #[serde(rename = "Suite")]
    struct VersionOnly {
        version: u32,
    }
    let options = ron::Options::default().with_default_extension(suite_extensions());
    match options.from_str::<VersionOnly>(text) {
        Ok(probe) if probe.version > SUITE_VERSION => {
            Err(SuiteError::FutureVersion { origin: origin.to_owned(), found: probe.version })
        }
        // Anything else is judged by the full parse, which gives the better message.
        _ => Ok(()),
    }
}

/// Rewords the RON parser's messages where they would puzzle someone who does not know serde.
fn describe_ron_error(code: &ron::Error) -> String {
    match code {
        ron::Error::Eof => "the file ends too early (a bracket or parenthesis is not closed)".into(),
        ron::Error::ExpectedComma => {
            "expected a comma (or a closing bracket) here: the item before is not separated or a quote is not closed"
                .into()
        }
        ron::Error::IntegerOutOfBounds => {
            "this number is out of range for its field (negative, or too large for a whole number here)".into()
        }
        ron::Error::TrailingCharacters => {
            "there is more text after the suite's closing `)`; a file holds exactly one suite".into()
        }
        ron::Error::NoSuchStructField { expected, found, outer } => {
            let within = outer.as_deref().map(|o| format!(" in `{o}`")).unwrap_or_default();
            format!("unknown field `{found}`{within}; the fields allowed here are {}", list_names(expected))
        }
        ron::Error::MissingStructField { field, outer } => {
            let within = outer.as_deref().map(|o| format!(" `{o}`")).unwrap_or_default();
            format!("missing field `{field}` in{within}")
        }
        ron::Error::NoSuchEnumVariant { expected, found, outer } => {
            let within = outer.as_deref().map(|o| format!(" for `{}`", field_of_type(o))).unwrap_or_default();
            format!("unknown value `{found}`{within}; expected one of {}", list_names(expected))
        }
        other => other.to_string(),
    }
}

/// The suite field a schema type is written in, for messages (`DTypeSpec` → `dtype`).
fn field_of_type(type_name: &str) -> &str {
    match type_name {
        "ModelSpec" => "model",
        "DTypeSpec" => "dtype",
        "DeviceSpec" => "device",
        other => other,
    }
}

fn list_names(names: &[&str]) -> String {
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// Writes the suite as pretty RON that [`load_suite`] reads back to an equal suite.
pub fn save_suite(path: &Path, suite: &Suite) -> Result<(), SuiteError> {
    save_suite_text(path, &suite_to_ron(suite)?)
}

/// Writes suite text (e.g. from [`suite_text`]) to `path`, replacing the file whole or not at all.
pub fn save_suite_text(path: &Path, text: &str) -> Result<(), SuiteError> {
    let origin = path.display().to_string();
    crate::atomic_file::write_atomically(path, text.as_bytes()).map_err(|source| SuiteError::Write { origin, source })
}

/// The suite as pretty RON text.
pub fn suite_to_ron(suite: &Suite) -> Result<String, SuiteError> {
    let config = ron::ser::PrettyConfig::new().struct_names(true).extensions(suite_extensions());
    Ok(ron::ser::to_string_pretty(suite, config)?)
}

/// A model spec as it is written in a suite file, e.g. `Mlp(input: 256, hidden: 512, ...)`.
pub fn model_to_ron(model: &ModelSpec) -> Result<String, SuiteError> {
    let options = ron::Options::default().with_default_extension(suite_extensions());
    Ok(options.to_string(model)?.replace(':', ": ").replace(',', ", "))
}
