//! The headless command line: run suites with progress bars, validate suites, list the model
//! catalog and show saved results. Exit codes: 0 ok, 1 a run failed, 2 bad input, 130 cancelled.

mod args;
mod export;
mod inspect;
mod progress;
mod slurm;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use args::{BaselineArgs, Cli, Command, ReportArgs, ReportFormat, WindowArgs};
use clap::Parser;
use phasebench::atomic_file::write_atomically;
use phasebench::report::{BaselineComparison, Format};
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

/// Writes the report in `format` to `path` through the one atomic writer and says where.
fn write_report(
    format: Format,
    result: &SuiteResult,
    baseline: Option<&BaselineComparison>,
    path: &Path,
) -> anyhow::Result<()> {
    let bytes = phasebench::report::render(format, result, baseline)?;
    write_atomically(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    let what = match format {
        Format::Html => "html report",
        Format::Json => "result",
        Format::Markdown => "markdown",
        Format::Csv => "csv",
    };
    println!("{what}: {}", path.display());
    Ok(())
}

/// Writes the reports asked for and says where.
fn write_reports(
    result: &SuiteResult,
    baseline: Option<&BaselineComparison>,
    reports: &ReportArgs,
) -> anyhow::Result<()> {
    for (format, path) in [(Format::Html, &reports.html), (Format::Markdown, &reports.md), (Format::Csv, &reports.csv)]
    {
        if let Some(path) = path {
            write_report(format, result, baseline, path)?;
        }
    }
    if let Some(path) = &reports.llama_bench {
        let bytes = if path.extension().is_some_and(|extension| extension == "json") {
            phasebench::report::llama_bench::json(result)?
        } else {
            phasebench::report::llama_bench::markdown(result).into_bytes()
        };
        write_atomically(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("llama-bench table: {}", path.display());
    }
    Ok(())
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => open_window(None, cli.window),
        Some(Command::Gui { suite, window }) => open_window(suite, window),
        Some(Command::Run { suite, out, resume, shard, repeat, reports, baseline }) => {
            let plan = RunPlan { suite_path: suite.as_deref(), out: &out, resume: resume.as_deref(), shard, repeat };
            run(&plan, &reports, &baseline)
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
        Some(Command::Report { result, reports, format, out }) => report(&result, &reports, format, out.as_deref()),
        Some(Command::Compare { results, after, threshold, fail_on_regression }) => {
            compare(&results, &after, threshold, fail_on_regression)
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
        Some(Command::Inspect { path }) if path.extension().is_some_and(|extension| extension == "safetensors") => {
            inspect::inspect_vision(&path)
        }
        Some(Command::Inspect { path }) if path.join("unet").is_dir() || path.join("transformer").is_dir() => {
            inspect::inspect_diffusion(&path)
        }
        Some(Command::Inspect { path }) => phasebench::models::llm::read_model(&path)
            .map(|model| {
                print!("{}", inspect::inspect_text(&model));
                EXIT_OK
            })
            .map_err(anyhow::Error::from),
        Some(Command::Show { result }) => show(&result),
        Some(Command::ExportWeights { suite, workload, out, io, batch, quantization }) => {
            export::export_weights(&suite, &workload, &out, io.as_deref().map(|io| (io, batch as usize)), quantization)
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
    phasebench::ui::run_window(config)
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

fn report(path: &Path, reports: &ReportArgs, format: Option<ReportFormat>, out: Option<&Path>) -> anyhow::Result<u8> {
    let no_files =
        reports.html.is_none() && reports.md.is_none() && reports.csv.is_none() && reports.llama_bench.is_none();
    if no_files && format.is_none() {
        anyhow::bail!(
            "say which reports to write: --html FILE, --md FILE, --csv FILE and/or --llama-bench FILE, \
             or --format FORMAT (standard output, or --out FILE)"
        );
    }
    let result = results::load_result(path)?;
    write_reports(&result, None, reports)?;
    if let Some(format) = format {
        let bytes = match format {
            ReportFormat::Html => phasebench::report::render(Format::Html, &result, None)?,
            ReportFormat::Md => phasebench::report::render(Format::Markdown, &result, None)?,
            ReportFormat::Csv => phasebench::report::render(Format::Csv, &result, None)?,
            ReportFormat::Json => phasebench::report::render(Format::Json, &result, None)?,
            ReportFormat::LlamaBench => phasebench::report::llama_bench::markdown(&result).into_bytes(),
            ReportFormat::LlamaBenchJson => phasebench::report::llama_bench::json(&result)?,
        };
        match out {
            Some(out) => {
                write_atomically(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!("report: {}", out.display());
            }
            None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
        }
    }
    Ok(EXIT_OK)
}

/// `compare BEFORE AFTER`, or `compare BEFORE... -- AFTER...`.
fn compare(
    results: &[PathBuf],
    after: &[PathBuf],
    threshold: Option<f64>,
    fail_on_regression: bool,
) -> anyhow::Result<u8> {
    let (before, after) = match (results, after) {
        ([before, after], []) => (vec![before.clone()], vec![after.clone()]),
        (_, []) => anyhow::bail!(
            "compare needs one result before and one after (`compare BEFORE AFTER`), or several per side \
             separated by `--` (`compare B1 B2 B3 -- A1 A2 A3`); got {} result(s) and no `--`",
            results.len()
        ),
        (before, after) => (before.to_vec(), after.to_vec()),
    };
    let load = |paths: &[PathBuf]| paths.iter().map(|path| results::load_result(path)).collect::<Result<Vec<_>, _>>();
    let (before_results, after_results) = (load(&before)?, load(&after)?);
    let Some(last_after) = after_results.last() else { anyhow::bail!("no result after the change") };
    let threshold = threshold.unwrap_or(last_after.suite.settings.regression_threshold);
    let diff = phasebench::compare::diff_result_sets(
        &before_results,
        &after_results,
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

/// What `run` measures: the suite (or the result to resume), where, and how many times.
struct RunPlan<'a> {
    suite_path: Option<&'a Path>,
    out: &'a Path,
    resume: Option<&'a Path>,
    shard: Option<runner::Shard>,
    repeat: u32,
}

fn run(plan: &RunPlan, reports: &ReportArgs, baseline: &BaselineArgs) -> anyhow::Result<u8> {
    // Read the baseline before measuring anything, so a bad path fails at once.
    let saved_baselines =
        baseline.baseline.iter().map(|path| results::load_result(path)).collect::<Result<Vec<_>, _>>()?;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build of phasebench; build with --release for representative timings");
    }
    // Ctrl-C once: stop after the current step and keep what was measured (no further
    // repetition starts). Twice: quit now (the result file on disk still holds every finished run).
    let current_run: Arc<Mutex<Option<runner::CancelToken>>> = Arc::default();
    let handler_run = Arc::clone(&current_run);
    ctrlc::set_handler(move || {
        let token = handler_run.lock().ok().and_then(|current| current.clone());
        match token {
            Some(token) if !token.is_cancelled() => {
                token.cancel();
                eprintln!("\ncancelling after the current step (Ctrl-C again to quit at once)...");
            }
            _ => std::process::exit(i32::from(EXIT_CANCELLED)),
        }
    })
    .context("cannot install the Ctrl-C handler")?;

    let mut measured: Vec<(SuiteResult, PathBuf)> = Vec::new();
    let mut code = EXIT_OK;
    for repetition in 1..=plan.repeat {
        if plan.repeat > 1 {
            println!("\n=== repetition {repetition} of {}", plan.repeat);
        }
        let handle = match start_or_resume(plan.suite_path, plan.out, plan.resume, plan.shard)? {
            Ok(handle) => handle,
            Err(code) => return Ok(code),
        };
        let result_dir = handle.result_dir().to_owned();
        if let Ok(mut current) = current_run.lock() {
            *current = Some(handle.cancel_token());
        }
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
        print!("{}{}", table::recommendations_text(&result), table::decisions_text(&result));
        println!("results: {}", result_dir.join(results::RESULT_FILE_NAME).display());
        code = code.max(exit_code(&result, save_failed));
        let cancelled = result.status == SuiteStatus::Cancelled;
        if repetition < plan.repeat && !cancelled {
            // Each repetition's report is on disk before the next one starts.
            write_report(Format::Html, &result, None, &result_dir.join(REPORT_FILE_NAME))?;
        }
        measured.push((result, result_dir));
        if cancelled {
            break;
        }
    }
    let after: Vec<SuiteResult> = measured.iter().map(|(result, _)| result.clone()).collect();
    let Some((result, result_dir)) = measured.last() else {
        return Ok(code);
    };
    if measured.len() > 1 {
        let dirs = measured.iter().map(|(_, dir)| dir.display().to_string()).collect::<Vec<_>>();
        println!("\n{} results of the same suite: {}", dirs.len(), dirs.join(" "));
    }
    let comparison = (!saved_baselines.is_empty()).then(|| {
        let threshold = baseline.threshold.unwrap_or(result.suite.settings.regression_threshold);
        let diff = phasebench::compare::diff_result_sets(
            &saved_baselines,
            &after,
            threshold,
            phasebench::stats::BOOTSTRAP_RESAMPLES,
        );
        let source = baseline.baseline.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ");
        println!("\nagainst the baseline {source}:");
        print!("{}", table::diff_text(&diff, threshold));
        BaselineComparison { source, threshold, diff }
    });
    write_report(Format::Html, result, comparison.as_ref(), &result_dir.join(REPORT_FILE_NAME))?;
    write_reports(result, comparison.as_ref(), reports)?;
    let regressed = comparison.as_ref().is_some_and(|comparison| comparison.diff.regressions() > 0);
    Ok(match code {
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
    let json = phasebench::report::render(Format::Json, result, None)?;
    write_atomically(out, &json).with_context(|| format!("cannot write {}", out.display()))?;
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
    print!("{}{}", table::recommendations_text(&result), table::decisions_text(&result));
    Ok(exit_code(&result, false))
}
