//! The headless command line: run suites with progress bars, validate suites, list the model
//! catalog and show saved results. Exit codes: 0 ok, 1 a run failed, 2 bad input, 130 cancelled.

mod progress;
mod slurm;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use phasebench::models;
use phasebench::report::BaselineComparison;
use phasebench::results::{self, SuiteResult, SuiteStatus};
use phasebench::runner::{self, RunEvent, RunOptions};
use phasebench::suite::{self, Suite};

/// Exit code when every run succeeded.
const EXIT_OK: u8 = 0;
/// Exit code when a run failed or a result could not be saved.
const EXIT_RUN_FAILED: u8 = 1;
/// Exit code for bad input (a suite or result file, an argument).
const EXIT_BAD_INPUT: u8 = 2;
/// Name of the HTML report `run` writes into the result directory.
const REPORT_FILE_NAME: &str = "report.html";
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_CANCELLED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "phasebench",
    version,
    about = "Benchmark ML workloads across optimization phases and compare them honestly.",
    long_about = "Benchmark ML workloads across optimization phases and compare them honestly.\n\n\
                  Without a command, the desktop app opens (the suite open last time, or the embedded default).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    window: WindowArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Report files to write.
#[derive(clap::Args, Clone, Debug, Default)]
struct ReportArgs {
    /// Write the self-contained HTML report (charts, tables, the embedded result) here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write a Markdown summary (tables for a PR comment) here.
    #[arg(long, value_name = "FILE")]
    md: Option<PathBuf>,
    /// Write one CSV row per run here.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
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

/// Writes the HTML report to `path` and says where.
fn write_html(result: &SuiteResult, baseline: Option<&BaselineComparison>, path: &Path) -> anyhow::Result<()> {
    let html = phasebench::report::html::render(result, baseline)?;
    std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))?;
    println!("html report: {}", path.display());
    Ok(())
}

/// Writes the reports asked for and says where.
fn write_reports(
    result: &SuiteResult,
    baseline: Option<&BaselineComparison>,
    reports: &ReportArgs,
) -> anyhow::Result<()> {
    if let Some(path) = &reports.html {
        write_html(result, baseline, path)?;
    }
    if let Some(path) = &reports.md {
        std::fs::write(path, phasebench::report::markdown::render(result, baseline))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("markdown: {}", path.display());
    }
    if let Some(path) = &reports.csv {
        let bytes = phasebench::report::csv::render(result)?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("csv: {}", path.display());
    }
    Ok(())
}

/// A saved result to compare a new run against.
#[derive(clap::Args, Clone, Debug, Default)]
struct BaselineArgs {
    /// Compare every run with the same run (workload, phase, batch) of this saved result.
    #[arg(long, value_name = "RESULT")]
    baseline: Option<PathBuf>,
    /// Changes within this fraction count as noise: `5%` or `0.05` (default: the suite's regression_threshold, 10 %).
    #[arg(long, value_parser = parse_fraction, requires = "baseline")]
    threshold: Option<f64>,
    /// Exit with 1 when a run regressed against the baseline.
    #[arg(long, requires = "baseline")]
    fail_on_regression: bool,
}

/// How the desktop app starts.
#[derive(clap::Args, Clone, Debug)]
struct WindowArgs {
    /// Start running the suite as soon as the window opens.
    #[arg(long)]
    autorun: bool,
    /// Close the window once the suite has finished (with --autorun, for scripts).
    #[arg(long)]
    exit_when_done: bool,
    /// Directory under which result directories are created and listed in History.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Write frame-time statistics (JSON) of the run here when the suite finishes.
    #[arg(long, value_name = "FILE")]
    frame_stats: Option<PathBuf>,
    /// Open the embedded default suite instead of the one remembered from last time.
    #[arg(long)]
    default_suite: bool,
    /// Write the time the first frame was drawn (ns since the Unix epoch) here and close (startup benchmark).
    #[arg(long, value_name = "FILE", hide = true)]
    first_frame_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
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
    },
    /// Compare two saved results run by run (after against before) and flag regressions.
    Compare {
        /// The result before the change (file or directory).
        before: PathBuf,
        /// The result after the change (file or directory).
        after: PathBuf,
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
    /// Print the machine's environment and which telemetry sources work here.
    Env,
    /// Print the comparison table of a saved result (a result.json, its directory, or an HTML report).
    Show {
        /// Result file, result directory, or HTML report.
        result: PathBuf,
    },
    /// Write a workload's seeded weights to a safetensors file, under the names `weights:` loads.
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
    },
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => open_window(None, cli.window),
        Some(Command::Gui { suite, window }) => open_window(suite, window),
        Some(Command::Run { suite, out, resume, shard, reports, baseline }) => {
            run(suite.as_deref(), &out, resume.as_deref(), shard, &reports, &baseline)
        }
        Some(Command::Merge { dir, out, reports }) => merge(&dir, &out, &reports),
        Some(Command::Slurm { suite, out, nodes, partition, gpus_per_task, time, shared_nodes, resume, dry_run }) => {
            let request = slurm::JobRequest {
                name: String::new(),
                binary: PathBuf::new(),
                suite,
                out,
                shards: nodes,
                only: Vec::new(),
                partition,
                gpus_per_task,
                time,
                exclusive: !shared_nodes,
            };
            submit_to_slurm(request, resume, dry_run)
        }
        Some(Command::Report { result, reports }) => report(&result, &reports),
        Some(Command::Compare { before, after, threshold, fail_on_regression }) => {
            compare(&before, &after, threshold, fail_on_regression)
        }
        Some(Command::Validate { suites }) => Ok(validate(&suites)),
        Some(Command::Env) => {
            let cuda = phasebench::device::cuda_support();
            print!("{}", table::environment_text(&results::Environment::capture(), &cuda));
            Ok(EXIT_OK)
        }
        Some(Command::Models) => {
            print!("{}", table::catalog_text());
            Ok(EXIT_OK)
        }
        Some(Command::Show { result }) => show(&result),
        Some(Command::ExportWeights { suite, workload, out, io, batch }) => {
            export_weights(&suite, &workload, &out, io.as_deref().map(|io| (io, batch as usize)))
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

#[cfg(feature = "gui")]
fn open_window(suite: Option<PathBuf>, window: WindowArgs) -> anyhow::Result<u8> {
    if let Some(path) = &suite
        && !path.exists()
    {
        anyhow::bail!("{}: no such suite file", path.display());
    }
    let config = phasebench::app::AppConfig {
        suite,
        autorun: window.autorun,
        exit_when_done: window.exit_when_done,
        results_dir: window.results,
        telemetry: phasebench::telemetry::TelemetryChoice::Auto,
        frame_stats: window.frame_stats,
        restore_last_suite: !window.default_suite,
        native_dialogs: true,
        faults: Vec::new(),
        recovery_file: phasebench::app::default_recovery_file(),
        first_frame_file: window.first_frame_file,
    };
    phasebench::app::run_window(config)
        .map_err(|error| anyhow::anyhow!("{error}\n(no display? `phasebench run` measures a suite headless)"))?;
    Ok(EXIT_OK)
}

#[cfg(not(feature = "gui"))]
fn open_window(_suite: Option<PathBuf>, _window: WindowArgs) -> anyhow::Result<u8> {
    let _ = <Cli as clap::CommandFactory>::command().print_help();
    eprintln!("\nthis phasebench was built without the desktop app (the `gui` feature); use the commands above");
    Ok(EXIT_BAD_INPUT)
}

fn load(suite_path: Option<&Path>) -> Result<(Suite, String), suite::SuiteError> {
    match suite_path {
        Some(path) => Ok((phasebench::load_checked_suite(path)?, path.display().to_string())),
        None => Ok((
            phasebench::parse_checked_suite(suite::DEFAULT_SUITE_RON, suite::DEFAULT_SUITE_ORIGIN)?,
            suite::DEFAULT_SUITE_ORIGIN.to_owned(),
        )),
    }
}

fn report(path: &Path, reports: &ReportArgs) -> anyhow::Result<u8> {
    if reports.html.is_none() && reports.md.is_none() && reports.csv.is_none() {
        anyhow::bail!("say which reports to write: --html FILE, --md FILE and/or --csv FILE");
    }
    let result = results::load_result(path)?;
    write_reports(&result, None, reports)?;
    Ok(EXIT_OK)
}

fn compare(before: &Path, after: &Path, threshold: Option<f64>, fail_on_regression: bool) -> anyhow::Result<u8> {
    let before_result = results::load_result(before)?;
    let after_result = results::load_result(after)?;
    let threshold = threshold.unwrap_or(after_result.suite.settings.regression_threshold);
    let diff = phasebench::compare::diff_results(
        &before_result,
        &after_result,
        threshold,
        phasebench::stats::BOOTSTRAP_RESAMPLES,
    );
    print!("{}", table::diff_text(&diff, threshold));
    let regressions = diff.regressions();
    Ok(if regressions > 0 && fail_on_regression { EXIT_RUN_FAILED } else { EXIT_OK })
}

/// Starts a suite, or resumes the one in `resume`'s result directory.
fn start_or_resume(
    suite_path: Option<&Path>,
    out: &Path,
    resume: Option<&Path>,
    shard: Option<runner::Shard>,
) -> anyhow::Result<Result<runner::RunnerHandle, u8>> {
    if let Some(result_dir) = resume {
        let previous = results::load_result(result_dir)?;
        if previous.status == SuiteStatus::Completed && previous.runs.len() == previous.planned_runs {
            println!("nothing to resume: every run of {} is done", result_dir.display());
            return Ok(Err(EXIT_OK));
        }
        let origin = Path::new(&previous.suite_origin);
        let base_dir = origin.parent().filter(|_| origin.is_file()).unwrap_or(Path::new(".")).to_owned();
        let options = RunOptions::new(out, previous.suite_origin.clone()).with_base_dir(base_dir);
        let handle = runner::resume(result_dir, options, Arc::new(|| {}))
            .with_context(|| format!("cannot resume the suite in {}", result_dir.display()))?;
        return Ok(Ok(handle));
    }
    let (suite, origin) = match load(suite_path) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(Err(EXIT_BAD_INPUT));
        }
    };
    let base_dir = suite_path.and_then(Path::parent).unwrap_or(Path::new(".")).to_owned();
    let options = RunOptions::new(out, origin).with_base_dir(base_dir).with_shard(shard);
    let handle = runner::start(suite, options, Arc::new(|| {}))
        .with_context(|| format!("cannot start the suite (output directory {})", out.display()))?;
    Ok(Ok(handle))
}

fn run(
    suite_path: Option<&Path>,
    out: &Path,
    resume: Option<&Path>,
    shard: Option<runner::Shard>,
    reports: &ReportArgs,
    baseline: &BaselineArgs,
) -> anyhow::Result<u8> {
    // Read the baseline before measuring anything, so a bad path fails at once.
    let saved_baseline = match &baseline.baseline {
        Some(path) => Some((path, results::load_result(path)?)),
        None => None,
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build of phasebench; build with --release for representative timings");
    }
    let handle = match start_or_resume(suite_path, out, resume, shard)? {
        Ok(handle) => handle,
        Err(code) => return Ok(code),
    };
    let handle_dir = handle.result_dir().to_owned();
    let result_file = handle_dir.join(results::RESULT_FILE_NAME);
    let cancel = handle.cancel_token();
    // Ctrl-C once: stop after the current step and keep what was measured. Twice: quit now (the
    // result file on disk still holds every finished run).
    ctrlc::set_handler(move || {
        if cancel.is_cancelled() {
            std::process::exit(i32::from(EXIT_CANCELLED));
        }
        cancel.cancel();
        eprintln!("\ncancelling after the current step (Ctrl-C again to quit at once)...");
    })
    .context("cannot install the Ctrl-C handler")?;

    let mut progress = progress::Progress::new();
    let mut save_failed = false;
    let result = runner::drive(handle, |event| {
        if let RunEvent::SaveFailed { message } = event {
            save_failed = true;
            progress.println(&format!("error: cannot save results: {message}"));
        }
        progress.handle(event);
    })?;
    progress.finish();

    print!("{}{}", table::result_text(&result), table::targets_text(&result));
    print!("{}", table::recommendations_text(&result));
    let comparison = saved_baseline.map(|(path, before)| {
        let threshold = baseline.threshold.unwrap_or(result.suite.settings.regression_threshold);
        let diff =
            phasebench::compare::diff_results(&before, &result, threshold, phasebench::stats::BOOTSTRAP_RESAMPLES);
        println!("\nagainst the baseline {}:", path.display());
        print!("{}", table::diff_text(&diff, threshold));
        BaselineComparison { source: path.display().to_string(), threshold, diff }
    });
    println!("results: {}", result_file.display());
    write_html(&result, comparison.as_ref(), &handle_dir.join(REPORT_FILE_NAME))?;
    write_reports(&result, comparison.as_ref(), reports)?;
    let regressed = comparison.as_ref().is_some_and(|comparison| comparison.diff.regressions() > 0);
    Ok(match exit_code(&result, save_failed) {
        EXIT_OK if regressed && baseline.fail_on_regression => EXIT_RUN_FAILED,
        code => code,
    })
}

fn exit_code(result: &SuiteResult, save_failed: bool) -> u8 {
    if result.status == SuiteStatus::Cancelled {
        EXIT_CANCELLED
    } else if save_failed || result.has_unexpected_failures() {
        EXIT_RUN_FAILED
    } else {
        EXIT_OK
    }
}

/// The shard results right under `dir`; unreadable ones are reported and left out.
fn shard_results(dir: &Path) -> anyhow::Result<Vec<SuiteResult>> {
    let (found, unreadable) =
        results::merge::shard_results_in(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for problem in unreadable {
        eprintln!("warning: left out: {problem}");
    }
    Ok(found)
}

fn merge(dir: &Path, out: &Path, reports: &ReportArgs) -> anyhow::Result<u8> {
    let merged = results::merge::merge(shard_results(dir)?)?;
    let result = &merged.result;
    let json = serde_json::to_vec_pretty(result)?;
    std::fs::write(out, json).with_context(|| format!("cannot write {}", out.display()))?;
    let hosts: std::collections::BTreeSet<&str> = result.runs.iter().filter_map(|run| run.host.as_deref()).collect();
    print!("{}", table::result_text(result));
    println!(
        "merged {} of {} runs from {} host(s): {}",
        result.runs.len(),
        result.planned_runs,
        hosts.len(),
        hosts.into_iter().collect::<Vec<_>>().join(", ")
    );
    let list = |shards: &[usize]| shards.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    if !merged.missing.is_empty() {
        println!("missing shards: {}", list(&merged.missing));
    }
    if !merged.incomplete.is_empty() {
        println!("incomplete shards (killed, cancelled or with failed runs): {}", list(&merged.incomplete));
    }
    if !merged.to_rerun().is_empty() {
        println!("run them again with: phasebench slurm SUITE --out {} --resume", dir.display());
    }
    println!("merged result: {}", out.display());
    write_reports(result, None, reports)?;
    Ok(if merged.to_rerun().is_empty() { EXIT_OK } else { EXIT_RUN_FAILED })
}

fn submit_to_slurm(mut request: slurm::JobRequest, resume: bool, dry_run: bool) -> anyhow::Result<u8> {
    let suite = match phasebench::load_checked_suite(&request.suite) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    if request.shards == 0 {
        anyhow::bail!("--nodes must be at least 1");
    }
    if dry_run {
        request.out = std::path::absolute(&request.out)?;
    } else {
        std::fs::create_dir_all(&request.out).with_context(|| format!("cannot create {}", request.out.display()))?;
        request.out = request.out.canonicalize()?;
    }
    request.suite = request.suite.canonicalize()?;
    request.binary = std::env::current_exe().context("cannot find the phasebench binary")?;
    request.name = results::file_name_safe(&suite.name);
    if resume {
        let found = if request.out.is_dir() { shard_results(&request.out)? } else { Vec::new() };
        let merged = if found.is_empty() { None } else { Some(results::merge::merge(found)?) };
        request.only = match merged {
            Some(merged) => merged.to_rerun(),
            None => (1..=request.shards).collect(),
        };
        if request.only.is_empty() {
            println!("nothing to resume: every shard under {} completed", request.out.display());
            return Ok(EXIT_OK);
        }
    }
    if dry_run {
        print!("{}", slurm::script(&request));
        return Ok(EXIT_OK);
    }
    let script = slurm::write_script(&request).context("cannot write the sbatch script")?;
    let job = slurm::submit(&script).map_err(|error| anyhow::anyhow!(error))?;
    let tasks = if request.only.is_empty() { request.shards } else { request.only.len() };
    println!("submitted job {job}: {tasks} array task(s), script {}", script.display());
    println!("when it is done: phasebench merge {} --out merged.json", request.out.display());
    Ok(EXIT_OK)
}

fn validate(paths: &[PathBuf]) -> u8 {
    let mut code = EXIT_OK;
    for path in paths {
        match phasebench::load_checked_suite(path) {
            Ok(suite) => {
                let runs = runner::expand(&suite).len();
                let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
                println!(
                    "{}: ok ({}, {}, {})",
                    path.display(),
                    count(suite.workloads.len(), "workload"),
                    count(suite.phases.len(), "phase"),
                    count(runs, "run")
                );
            }
            Err(error) => {
                eprintln!("error: {error}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}

fn show(path: &Path) -> anyhow::Result<u8> {
    let result = results::load_result(path)?;
    print!("{}{}", table::result_text(&result), table::targets_text(&result));
    print!("{}", table::recommendations_text(&result));
    Ok(exit_code(&result, false))
}

fn export_weights(
    suite_path: &Path,
    workload_name: &str,
    out: &Path,
    io: Option<(&Path, usize)>,
) -> anyhow::Result<u8> {
    let suite = match phasebench::load_checked_suite(suite_path) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let Some(workload) = suite.workloads.iter().find(|workload| workload.name == workload_name) else {
        let names: Vec<&str> = suite.workloads.iter().map(|workload| workload.name.as_str()).collect();
        anyhow::bail!(
            "{}: no workload `{workload_name}` (the workloads are: {})",
            suite_path.display(),
            names.join(", ")
        );
    };
    let arch = models::architecture(&workload.model);
    let weights = models::generate_weights(arch, suite.settings.seed).context("cannot generate the weights")?;
    models::save_weights(&weights, out)?;
    println!(
        "wrote {} tensors ({} parameters, f32) of `{workload_name}` with seed {} to {}",
        weights.len(),
        models::parameter_count(arch),
        suite.settings.seed,
        out.display()
    );
    if let Some((io_path, batch)) = io {
        let (input, output) = models::reference_io(arch, &weights, batch, suite.settings.seed)
            .context("cannot run the model on the seeded input")?;
        let (input_shape, output_shape) = (input.dims().to_vec(), output.dims().to_vec());
        let tensors = std::collections::HashMap::from([("input".to_owned(), input), ("output".to_owned(), output)]);
        models::save_weights(&tensors, io_path)?;
        println!(
            "wrote the seeded input {input_shape:?} (batch {batch}) and its f32 CPU output {output_shape:?} to {}",
            io_path.display()
        );
    }
    Ok(EXIT_OK)
}
