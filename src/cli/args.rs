//! The command line: clap's arguments of every command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use phasebench::runner;
use phasebench::suite::Quantization;

#[derive(Parser)]
#[command(
    name = "phasebench",
    version,
    about = "Benchmark ML workloads across optimization phases and compare them honestly.",
    long_about = "Benchmark ML workloads across optimization phases and compare them honestly.\n\n\
                  Without a command, the desktop app opens (the suite open last time, or the embedded default).",
    args_conflicts_with_subcommands = true
)]
pub(super) struct Cli {
    #[command(flatten)]
    pub(super) window: WindowArgs,
    #[command(subcommand)]
    pub(super) command: Option<Command>,
}

/// Report files to write.
#[derive(clap::Args, Clone, Debug, Default)]
pub(super) struct ReportArgs {
    /// Write the self-contained HTML report (charts, tables, the embedded result) here.
    #[arg(long, value_name = "FILE")]
    pub(super) html: Option<PathBuf>,
    /// Write a Markdown summary (tables for a PR comment) here.
    #[arg(long, value_name = "FILE")]
    pub(super) md: Option<PathBuf>,
    /// Write one CSV row per run here.
    #[arg(long, value_name = "FILE")]
    pub(super) csv: Option<PathBuf>,
    /// Write text-generation results as llama.cpp's llama-bench prints them (pp/tg tokens per
    /// second, mean ± sd) here: JSON when FILE ends in .json, Markdown otherwise.
    #[arg(long, value_name = "FILE")]
    pub(super) llama_bench: Option<PathBuf>,
}

/// A report `report --format` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReportFormat {
    /// The self-contained HTML report.
    Html,
    /// The Markdown summary.
    Md,
    /// One CSV row per run.
    Csv,
    /// The result file itself (every raw step and sample).
    Json,
    /// Text generation as llama.cpp's llama-bench Markdown table.
    LlamaBench,
    /// Text generation as llama-bench's JSON rows.
    LlamaBenchJson,
}

/// Reads `5%` or `0.05` as 0.05.
fn parse_fraction(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.trim().strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (text.trim(), 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 && value / scale < 1.0 => Ok(value / scale),
        _ => Err(format!("`{text}` is not a fraction like 5% or 0.05")),
    }
}

/// A saved result to compare a new run against.
#[derive(clap::Args, Clone, Debug, Default)]
pub(super) struct BaselineArgs {
    /// Compare every run with the same run (workload, phase, batch) of this saved result; given
    /// several times, with several saved results, judged between results (see `compare`).
    #[arg(long, value_name = "RESULT")]
    pub(super) baseline: Vec<PathBuf>,
    /// Changes within this fraction count as noise: `5%` or `0.05` (default: the suite's regression_threshold, 10 %).
    #[arg(long, value_parser = parse_fraction, requires = "baseline")]
    pub(super) threshold: Option<f64>,
    /// Exit with 1 when a run regressed against the baseline.
    #[arg(long, requires = "baseline")]
    pub(super) fail_on_regression: bool,
}

/// How the desktop app starts.
#[derive(clap::Args, Clone, Debug)]
pub(super) struct WindowArgs {
    /// Start running the suite as soon as the window opens.
    #[arg(long)]
    pub(super) autorun: bool,
    /// Close the window once the suite has finished (with --autorun, for scripts).
    #[arg(long)]
    pub(super) exit_when_done: bool,
    /// Directory under which result directories are created and listed in History.
    #[arg(long, default_value = "results")]
    pub(super) results: PathBuf,
    /// Write frame-time statistics (JSON) of the run here when the suite finishes.
    #[arg(long, value_name = "FILE")]
    pub(super) frame_stats: Option<PathBuf>,
    /// Open the embedded default suite instead of the one remembered from last time.
    #[arg(long)]
    pub(super) default_suite: bool,
    /// Write the time the first frame was drawn (ns since the Unix epoch) here and close (startup benchmark).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(super) first_frame_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Open the desktop app with a suite (the remembered or embedded default one when none is given).
    Gui {
        /// Suite file (.ron).
        suite: Option<PathBuf>,
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Run a suite (the embedded quickstart suite when none is given) and write its results and
    /// HTML report.
    Run {
        /// Suite file (.ron). Without it, the embedded default suite runs.
        suite: Option<PathBuf>,
        /// Directory under which a `<suite>-<time>/` result directory (result.json, report.html) is created.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Continue the suite of this result directory after it stopped part-way (killed, crashed,
        /// cancelled): finished runs are kept, the rest run into the same result.
        #[arg(long, value_name = "RESULT_DIR", conflicts_with = "suite")]
        resume: Option<PathBuf>,
        /// Run only part I of N of the plan (whole comparison groups, with their baselines), e.g. 2/3.
        #[arg(long, value_name = "I/N", conflicts_with = "resume")]
        shard: Option<runner::Shard>,
        /// Run the whole suite N times, one result each (saved as each finishes); with
        /// `--baseline`, the runs are judged between results over all N (see `compare`).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100),
              conflicts_with_all = ["resume", "shard"])]
        repeat: u32,
        #[command(flatten)]
        reports: ReportArgs,
        #[command(flatten)]
        baseline: BaselineArgs,
    },
    /// Write reports of a saved result (a result.json, its directory, or an HTML report).
    Report {
        /// Result file, result directory, or HTML report.
        result: PathBuf,
        #[command(flatten)]
        reports: ReportArgs,
        /// Write one report in this format to standard output (or to --out), e.g. `--format llama-bench`.
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
        /// With --format: the file to write instead of standard output.
        #[arg(long, short, value_name = "FILE", requires = "format")]
        out: Option<PathBuf>,
    },
    /// Compare saved results run by run (after against before) and flag regressions:
    /// `compare BEFORE AFTER`, or several per side, `compare B1 B2 B3 -- A1 A2 A3`, for a verdict
    /// that includes the noise between runs.
    Compare {
        /// The result before the change, and the result after it (files or directories); or,
        /// with `--` and results after it, every result before the change.
        #[arg(required = true, num_args = 1.., value_name = "RESULT")]
        results: Vec<PathBuf>,
        /// The results after the change, when several are given per side.
        #[arg(last = true, value_name = "AFTER")]
        after: Vec<PathBuf>,
        /// Changes within this fraction count as noise: `5%` or `0.05` (default: the after suite's regression_threshold, 10 %).
        #[arg(long, value_parser = parse_fraction)]
        threshold: Option<f64>,
        /// Exit with 1 when a run regressed.
        #[arg(long)]
        fail_on_regression: bool,
    },
    /// Combine the shard results under a directory (`run --shard`, `slurm`) into one result.
    Merge {
        /// Directory holding the shard result directories.
        dir: PathBuf,
        /// The merged result file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Run a suite on a Slurm cluster as a job array, one shard per array task.
    Slurm {
        /// Suite file (.ron).
        suite: PathBuf,
        /// Shared directory (visible to every node) for the script, logs and shard results.
        #[arg(long)]
        out: PathBuf,
        /// Number of shards, one array task each.
        #[arg(long, default_value_t = 2)]
        nodes: usize,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// GPUs per array task.
        #[arg(long)]
        gpus_per_task: Option<u32>,
        /// Time limit per task, e.g. 01:00:00.
        #[arg(long)]
        time: Option<String>,
        /// Let tasks share nodes (by default each gets its node exclusively).
        #[arg(long)]
        shared_nodes: bool,
        /// Submit only the shards missing or incomplete under --out.
        #[arg(long)]
        resume: bool,
        /// Print the script instead of submitting it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check suite files without running them.
    Validate {
        /// Suite files (.ron).
        #[arg(required = true)]
        suites: Vec<PathBuf>,
    },
    /// List the model catalog with each model's parameters, defaults and modes.
    Models,
    /// Tell what a model file or folder is — a language model (a Hugging Face folder or a .gguf
    /// file), a vision checkpoint (.safetensors) or a diffusers pipeline folder — and the workload
    /// that runs it.
    Inspect {
        /// A folder with config.json and *.safetensors, a .gguf file, a vision .safetensors, or a
        /// diffusers folder (unet/, vae/, text_encoder/).
        path: PathBuf,
    },
    /// Print the machine's environment and which telemetry sources work here.
    Env,
    /// Print the comparison table of a saved result (a result.json, its directory, or an HTML report).
    Show {
        /// Result file, result directory, or HTML report.
        result: PathBuf,
    },
    /// Write a workload's seeded weights to a safetensors file, under the names `weights:` loads;
    /// a language model's as a Hugging Face folder, or as a GGUF when --out ends in .gguf; a diffusion
    /// pipeline's as a diffusers folder.
    ExportWeights {
        /// Suite file (.ron).
        suite: PathBuf,
        /// Name of the workload whose model's weights are written.
        #[arg(long)]
        workload: String,
        /// The safetensors file to write.
        #[arg(long)]
        out: PathBuf,
        /// Also write the seeded input batch phasebench measures (`input`) and the model's f32 CPU
        /// output for it (`output`) to this safetensors file, to check another framework against.
        #[arg(long, value_name = "FILE")]
        io: Option<PathBuf>,
        /// Items in the batch written by --io (at least 1).
        #[arg(long, default_value_t = 1, requires = "io", value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
        /// A language model written as a GGUF (`--out model.gguf`): its weights' block format,
        /// q8_0 (the default), q4_0 or q4k.
        #[arg(long, value_parser = parse_quantization)]
        quantization: Option<Quantization>,
    },
}

/// A quantization as suites and reports write it (`q8_0`, `q4_0`, `q4k`).
fn parse_quantization(text: &str) -> Result<Quantization, String> {
    [Quantization::Q8_0, Quantization::Q4_0, Quantization::Q4K]
        .into_iter()
        .find(|quantization| quantization.to_string().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("`{text}` is not a quantization; use q8_0, q4_0 or q4k"))
}
