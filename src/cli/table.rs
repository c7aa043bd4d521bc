//! Plain-text tables for the console: the comparison of a result and the model catalog.

use std::fmt::Write;

use phasebench::report::RunCells;
use phasebench::results::{RunResult, RunStatus, SuiteResult, SuiteStatus};
pub use phasebench::units::{format_bytes, format_secs};
use phasebench::{models, runner, suite};

/// Longest cell shown; longer text is cut with `…` (full text stays in the result file).
const MAX_CELL_CHARS: usize = 60;

fn clip(cell: &str) -> String {
    let first_line = cell.lines().next().unwrap_or_default();
    if first_line.chars().count() > MAX_CELL_CHARS {
        first_line.chars().take(MAX_CELL_CHARS - 1).chain(['…']).collect()
    } else {
        first_line.to_owned()
    }
}

/// Lays out rows under headers with columns padded to their widest cell.
fn layout(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|row| row.iter().map(|cell| clip(cell)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, &w)| format!("{cell:<w$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut text = line(headers.to_vec());
    text += &line(widths.iter().map(|&w| "-".repeat(w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in &rows {
        text += &line(row.iter().map(String::as_str).collect());
    }
    text
}

/// The comparison table of a result, one block per workload.
pub fn result_text(result: &SuiteResult) -> String {
    let mut text = header_text(result);
    for workload in &result.suite.workloads {
        workload_text(result, workload, &mut text);
    }
    sweeps_text(result, &mut text);
    failures_text(result, &mut text);
    text
}

/// The suite's status and the machine.
fn header_text(result: &SuiteResult) -> String {
    let env = &result.environment;
    let mut text = String::new();
    let status = match result.status {
        SuiteStatus::Completed => "completed",
        SuiteStatus::Cancelled => "cancelled",
        SuiteStatus::Running => "incomplete (interrupted while running)",
    };
    let _ = writeln!(
        text,
        "\nSuite `{}`: {status}, {}/{} runs, started {}\nMachine: {} ({} threads for candle), {} build, candle {}",
        result.suite.name,
        result.runs.len(),
        result.planned_runs,
        result.started_at.rfc3339(),
        env.cpu_model,
        env.compute_threads,
        env.build_profile,
        env.candle_version,
    );
    text
}

/// The comparison table of one workload, with each run's details and warnings below it.
fn workload_text(result: &SuiteResult, workload: &suite::Workload, text: &mut String) {
    let headers = [
        "phase",
        "batch",
        "dtype",
        "device",
        "p50",
        "p90",
        "items/s",
        "speedup [CI]",
        "verdict",
        "max abs err",
        "status",
    ];
    let rows: Vec<Vec<String>> = result
        .runs
        .iter()
        .filter(|run| run.workload == workload.name)
        .map(|run| {
            let cells = RunCells::of(run, &result.suite.settings.accuracy);
            // Plain ASCII in the terminal: `-` for nothing to show.
            let plain = |text: String| if text == "—" { "-".to_owned() } else { text };
            let status = match &run.status {
                RunStatus::Completed => "ok".to_owned(),
                RunStatus::Cancelled => "cancelled".to_owned(),
                RunStatus::Failed { .. } => "FAILED (see below)".to_owned(),
                RunStatus::Skipped { .. } => "skipped".to_owned(),
            };
            vec![
                run.phase.clone(),
                run.batch_size.to_string(),
                run.dtype.to_string(),
                run.device.to_string(),
                plain(cells.median),
                plain(cells.p90),
                plain(cells.items_per_sec),
                plain(cells.speedup_plain),
                run.speedup.as_ref().map_or("-".into(), |s| s.verdict.to_string()),
                plain(cells.max_abs_error_plain),
                status,
            ]
        })
        .collect();
    let _ = write!(
        text,
        "\n{} ({}, {})\n{}",
        workload.name,
        workload.model.kind_name(),
        workload.mode.name(),
        layout(&headers, &rows)
    );
    for run in result.runs.iter().filter(|run| run.workload == workload.name) {
        if let Some(details) = run_details(run) {
            let _ = writeln!(text, "  {}@{}: {details}", run.phase, run.batch_size);
        }
        for warning in &run.warnings {
            let _ = writeln!(text, "  {}@{}: WARNING: {warning}", run.phase, run.batch_size);
        }
    }
}

/// How far each batch sweep went.
fn sweeps_text(result: &SuiteResult, text: &mut String) {
    for sweep in &result.sweeps {
        let curve: Vec<String> = sweep
            .throughput_curve
            .iter()
            .map(|point| format!("{}: {:.1}/s", point.batch_size, point.items_per_sec))
            .collect();
        let _ = write!(
            text,
            "\nBatch sweep {}/{}: largest working batch {}; {}\n  items/s by batch: {}\n",
            sweep.workload,
            sweep.phase,
            sweep.largest_working_batch.map_or("none".to_owned(), |batch| batch.to_string()),
            sweep.stop.describe(),
            if curve.is_empty() { "-".to_owned() } else { curve.join(", ") }
        );
    }
}

/// Every failed run with its reason.
fn failures_text(result: &SuiteResult, text: &mut String) {
    let failures: Vec<String> = result
        .runs
        .iter()
        .filter_map(|run| match &run.status {
            RunStatus::Failed { reason } => Some(format!("  {}: {reason}", run.label())),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        let _ = write!(text, "\nFailed runs:\n{}\n", failures.join("\n"));
    }
}

fn median_of(values: &[f64]) -> Option<f64> {
    phasebench::stats::median(values).ok()
}

/// One line of what a run's mode adds: where training time goes, seconds per generated image,
/// weight bytes of a quantized phase.
fn run_details(run: &RunResult) -> Option<String> {
    let mut parts = Vec::new();
    // How sure the verdict is: interleaved rounds' resolution and A/A control.
    if let Some(speedup) = run.speedup.as_ref().filter(|speedup| speedup.rounds.is_some()) {
        parts.push(format!("{} {} · {}", speedup.ratio_text(), speedup.verdict, speedup.basis_text()));
    }
    // Setup matters when the run was on a GPU (the copy) or the build was slow.
    if let Some(setup) = phasebench::report::setup_text(run)
        && (run.transfer_secs.is_some() || run.load_secs.is_some_and(|secs| secs >= 1.0))
    {
        parts.push(setup);
    }
    if let Some(memory) = run.device_memory {
        let used = |bytes: Option<u64>| bytes.map_or("?".to_owned(), |b| format_bytes(b as f64));
        parts.push(format!(
            "GPU memory in use {} before, {} loaded, {} after (of {})",
            used(Some(memory.before_bytes)),
            used(memory.loaded_bytes),
            used(memory.after_bytes),
            format_bytes(memory.total_bytes as f64)
        ));
    }
    if let Some(training) = &run.training {
        let medians = [&training.forward_secs, &training.backward_secs, &training.optimizer_secs].map(|v| median_of(v));
        if let [Some(forward), Some(backward), Some(optimizer)] = medians {
            let total = forward + backward + optimizer;
            parts.push(format!(
                "forward {} ({:.0}%), backward {} ({:.0}%), optimizer {} ({:.0}%) in {} step(s) timed in parts",
                format_secs(forward),
                100.0 * forward / total,
                format_secs(backward),
                100.0 * backward / total,
                format_secs(optimizer),
                100.0 * optimizer / total,
                training.forward_secs.len()
            ));
        }
        if let (Some(first), Some(last)) = (training.losses.first(), training.losses.last()) {
            parts.push(format!("loss {first:.4} -> {last:.4} over {} steps", training.losses.len()));
        }
    }
    if let Some(text) = phasebench::report::image_generation_text(run) {
        parts.push(text);
    } else if let Some(generation) = &run.generation
        && let Some(per_image) = median_of(&generation.generation_secs)
    {
        parts.push(format!(
            "{} per generation of {} steps (median of {})",
            format_secs(per_image),
            generation.steps_per_generation,
            generation.generation_secs.len()
        ));
    }
    if let Some(text) = phasebench::report::text_generation_text(run) {
        parts.push(text);
    }
    // Energy is the GPU's: shown for runs on that GPU only.
    if let (Some(gpu), Some(joules)) = (run.gpu_index, run.energy_per_step_joules()) {
        parts.push(format!("{joules:.3} J per step on GPU {gpu}"));
    }
    if let Some(quantization) = run.quantization {
        parts.push(format!(
            "{quantization} weights {:.1} MiB (f32: {:.1} MiB)",
            run.param_bytes as f64 / 1048576.0,
            run.f32_param_bytes as f64 / 1048576.0
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The environment results record, whether CUDA phases can run, and which telemetry sources work.
pub fn environment_text(env: &phasebench::results::Environment, cuda: &phasebench::device::CudaSupport) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "phasebench {} ({} build, features: {})",
        env.phasebench_version,
        env.build_profile,
        env.features.join(", ")
    );
    let _ = writeln!(text, "candle     {} ({} threads for CPU work)", env.candle_version, env.compute_threads);
    let _ = writeln!(text, "host       {}", env.hostname.as_deref().unwrap_or("?"));
    let _ = writeln!(text, "os         {} (kernel {})", env.os, env.kernel.as_deref().unwrap_or("?"));
    let cores = env.cpu_physical_cores.map_or("?".to_owned(), |c| c.to_string());
    let _ = writeln!(
        text,
        "cpu        {} ({}, {cores} cores, {} threads)",
        env.cpu_model, env.cpu_arch, env.cpu_logical_cores
    );
    let _ = writeln!(
        text,
        "memory     {:.1} GiB, {:.1} GiB available",
        env.total_memory_bytes as f64 / GIB,
        env.available_memory_bytes as f64 / GIB
    );
    let gpu = &env.gpu;
    for info in &gpu.gpus {
        let memory = info.memory_total_bytes.map_or("?".to_owned(), |b| format!("{:.1} GiB", b as f64 / GIB));
        let power = info.power_limit_watts.map_or("?".to_owned(), |w| format!("{w:.0} W"));
        let _ = writeln!(
            text,
            "gpu {}      {} ({memory}, power limit {power}, {})",
            info.index,
            info.name,
            info.uuid.as_deref().unwrap_or("?")
        );
    }
    if !gpu.gpus.is_empty() {
        let _ = writeln!(
            text,
            "driver     {} (CUDA {})",
            gpu.driver_version.as_deref().unwrap_or("?"),
            gpu.cuda_driver_version.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(text, "cuda       {cuda}");
    if let Ok(list) = std::env::var("CUDA_VISIBLE_DEVICES") {
        let _ = writeln!(text, "           CUDA_VISIBLE_DEVICES={list}");
    }
    for device in cuda.devices() {
        let nvml = runner::nvml_gpu_of_cuda_device(device.ordinal, cuda, &gpu.gpus);
        let telemetry = nvml.map_or("no NVML telemetry".to_owned(), |index| format!("telemetry from gpu {index}"));
        let _ = writeln!(text, "  cuda:{:<4} {} ({telemetry})", device.ordinal, device.name);
    }
    let _ = writeln!(text, "\ntelemetry sources:");
    let _ = writeln!(text, "  host (sysinfo): process CPU and RSS, machine CPU and memory");
    match &gpu.unavailable_reason {
        None => {
            let _ = writeln!(
                text,
                "  nvml: {} GPU(s): utilization, memory, power, energy, temperature, clocks, throttling",
                gpu.gpus.len()
            );
        }
        Some(reason) => {
            let _ = writeln!(text, "  nvml: {reason}");
        }
    }
    text
}

/// The model catalog with parameters, defaults and modes.
pub fn catalog_text() -> String {
    let mut text =
        String::from("Models (sizes are element counts; every parameter is optional and has the default shown):\n");
    for entry in models::catalog() {
        let defaults = serde_json::to_value(&entry.default_spec).unwrap_or_default();
        let kind = entry.default_spec.kind_name();
        let _ = writeln!(text, "\n{kind}: {}", entry.summary);
        for (name, meaning) in entry.parameters {
            let default = defaults[kind][name].to_string();
            let _ = writeln!(text, "  {name:<8} default {default:<6} {meaning}");
        }
        let _ =
            writeln!(text, "  modes: {}", entry.modes.iter().map(|mode| mode.name()).collect::<Vec<_>>().join(", "));
        if let Ok(example) = suite::model_to_ron(&entry.default_spec) {
            let _ = writeln!(text, "  in a suite: model: {example}");
        }
    }
    text
}

/// The targets of a result, one line per check, and the score per phase; empty without targets.
pub fn targets_text(result: &SuiteResult) -> String {
    if result.suite.targets.is_empty() {
        return String::new();
    }
    let checks = phasebench::compare::evaluate_targets(&result.suite, &result.runs);
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|check| {
            let measured = match check.interval {
                Some(ci) => format!("{:.4} [{:.4}-{:.4}]", check.value, ci.low, ci.high),
                None => format!("{:.4}", check.value),
            };
            vec![
                result.suite.targets[check.target_index].to_string(),
                check.run.clone(),
                measured,
                check.outcome.to_string(),
            ]
        })
        .collect();
    let mut text = String::from("\ntargets\n");
    text += &layout(&["target", "run", "measured [95% CI]", "outcome"], &rows);
    for (phase, score) in phasebench::compare::phase_scores(&result.suite, &checks) {
        let _ = writeln!(text, "score {phase}: {score:.0}/100");
    }
    text
}

/// The recommendations for a result, each with its evidence; empty when no rule fires.
pub fn recommendations_text(result: &SuiteResult) -> String {
    let found = phasebench::compare::recommendations(result);
    if found.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nrecommendations\n");
    for recommendation in found {
        let _ = writeln!(text, "- {}\n  evidence: {}", recommendation.advice, recommendation.evidence);
    }
    text
}

/// The phase to ship per workload, one sentence each (the report's summary); empty without runs.
pub fn decisions_text(result: &SuiteResult) -> String {
    let checks = phasebench::compare::evaluate_targets(&result.suite, &result.runs);
    let decisions = phasebench::compare::decisions(&result.suite, &result.runs, &checks);
    if decisions.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "
decision
",
    );
    for decision in decisions {
        let _ = writeln!(text, "- {}: {}", decision.workload, decision.sentence);
    }
    text
}

/// The run-by-run comparison of two results, with unmatched runs and machine differences.
pub fn diff_text(diff: &phasebench::compare::ResultDiff, threshold: f64) -> String {
    let mut text = String::new();
    for warning in &diff.environment_differences {
        let _ = writeln!(text, "warning: {warning} (this alone can explain a change)");
    }
    let rows: Vec<Vec<String>> = diff
        .runs
        .iter()
        .map(|run| {
            let secs = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), format_secs);
            let (ratio, change, basis) = match &run.speedup {
                Ok(speedup) => (
                    format!("{:.3}x [{:.3}-{:.3}]", speedup.ratio, speedup.ratio_ci.low, speedup.ratio_ci.high),
                    phasebench::compare::Change::from(speedup.verdict).to_string(),
                    if speedup.between_results.is_some() {
                        speedup.basis_text()
                    } else {
                        "one run per side, step-level CI".to_owned()
                    },
                ),
                Err(reason) => ("-".to_owned(), format!("not compared: {reason}"), String::new()),
            };
            vec![run.label.clone(), secs(run.before_median_secs), secs(run.after_median_secs), ratio, change, basis]
        })
        .collect();
    text += &layout(&["run", "before p50", "after p50", "speed after/before [95% CI]", "change", "basis"], &rows);
    if !diff.only_before.is_empty() {
        let _ = writeln!(text, "only in before: {}", diff.only_before.join(", "));
    }
    if !diff.only_after.is_empty() {
        let _ = writeln!(text, "only in after: {}", diff.only_after.join(", "));
    }
    let _ = writeln!(
        text,
        "{} regressed, {} improved, {} unchanged (threshold {:.1} %, test p < 0.05)",
        diff.regressions(),
        diff.runs.iter().filter(|run| run.change() == Some(phasebench::compare::Change::Improved)).count(),
        diff.runs.iter().filter(|run| run.change() == Some(phasebench::compare::Change::Unchanged)).count(),
        threshold * 100.0
    );
    if diff.one_result_per_side() {
        let _ = writeln!(text, "{}", phasebench::compare::ONE_RESULT_PER_SIDE_NOTE);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_shown_in_a_readable_unit() {
        assert_eq!(format_secs(0.00123), "1.23 ms");
        assert_eq!(format_secs(12.3e-6), "12.3 µs");
        assert_eq!(format_secs(2.0), "2.00 s");
    }

    #[test]
    fn long_and_multi_line_cells_are_clipped() {
        let long = "x".repeat(70_000) + "\nsecond line";
        let text = layout(&["a"], &[vec![long]]);
        assert!(text.lines().nth(2).is_some_and(|line| line.chars().count() == MAX_CELL_CHARS && line.ends_with('…')));
    }

    /// Every GPU is listed, and each CUDA device says which NVML GPU its telemetry comes from
    /// (here the driver numbers the second GPU first, as `CUDA_VISIBLE_DEVICES=1,0` would).
    #[test]
    fn env_lists_every_gpu_and_maps_cuda_devices_to_them() {
        use phasebench::device::{CudaDeviceInfo, CudaSupport};
        use phasebench::telemetry::GpuInfo;
        let uuid = |n: u8| format!("GPU-{n}{n}{n}{n}0000-0000-0000-0000-000000000000");
        let mut env = phasebench::results::Environment::capture();
        env.gpu.gpus = (0..2u8)
            .map(|n| GpuInfo {
                index: u32::from(n),
                name: format!("NVIDIA H100 #{n}"),
                uuid: Some(uuid(n)),
                ..GpuInfo::default()
            })
            .collect();
        env.gpu.unavailable_reason = None;
        let cuda = CudaSupport::Devices(vec![
            CudaDeviceInfo { ordinal: 0, name: "NVIDIA H100 #1".into(), uuid: Some(uuid(1)) },
            CudaDeviceInfo { ordinal: 1, name: "NVIDIA H100 #0".into(), uuid: Some(uuid(0)) },
        ]);
        let text = environment_text(&env, &cuda);
        assert!(text.contains("gpu 0      NVIDIA H100 #0") && text.contains("gpu 1      NVIDIA H100 #1"), "{text}");
        assert!(text.contains("cuda       compiled in, 2 device(s) visible"), "{text}");
        assert!(text.contains("cuda:0    NVIDIA H100 #1 (telemetry from gpu 1)"), "{text}");
        assert!(text.contains("cuda:1    NVIDIA H100 #0 (telemetry from gpu 0)"), "{text}");
    }

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let text = layout(&["a", "bb"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "a     bb\n----  --\nlong  x\n");
    }
}
