//! What is derived from a run's raw steps once it ended: telemetry aggregates and warnings,
//! summary statistics, accuracy against the baseline's probe output and the speedup against the
//! baseline run; and which NVML GPU each phase's telemetry comes from.

use crate::accuracy;
use crate::compare;
use crate::results::{RunNote, RunResult, RunStatus};
use crate::stats;
use crate::suite::{DeviceSpec, Suite};
use crate::telemetry::{self, RunTelemetry, TelemetrySample};
use crate::warnings::{SAMPLER_BUDGET_PERCENT, ValidityWarning};

/// The NVML index of the GPU each phase runs on (`None` for CPU phases and GPUs NVML does not
/// list), matched through the CUDA driver's device UUIDs when CUDA is compiled in and usable.
pub(super) fn gpu_indices_of_phases(suite: &Suite, gpus: &[telemetry::GpuInfo]) -> Vec<Option<u32>> {
    let uses_cuda = suite.phases.iter().any(|phase| matches!(phase.device, DeviceSpec::Cuda(_)));
    let cuda = if uses_cuda && !gpus.is_empty() {
        crate::device::cuda_support()
    } else {
        crate::device::CudaSupport::NotCompiled
    };
    let gpu_of = |phase: &crate::suite::Phase| match phase.device {
        DeviceSpec::Cuda(ordinal) => nvml_gpu_of_cuda_device(ordinal, &cuda, gpus),
        DeviceSpec::Cpu => None,
    };
    suite.phases.iter().map(gpu_of).collect()
}

/// The NVML index of the GPU that CUDA device `ordinal` is in this process: by the device's UUID
/// from `cuda` when known, else by this process's `CUDA_VISIBLE_DEVICES` (see
/// [`telemetry::nvml_index_for_cuda`]).
pub fn nvml_gpu_of_cuda_device(
    ordinal: usize,
    cuda: &crate::device::CudaSupport,
    gpus: &[telemetry::GpuInfo],
) -> Option<u32> {
    let uuid = cuda.devices().iter().find(|device| device.ordinal == ordinal).and_then(|d| d.uuid.as_deref());
    let visible_devices = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    telemetry::nvml_index_for_cuda(ordinal, uuid, visible_devices.as_deref(), gpus)
}

/// Stores a run's telemetry with its aggregates over the measured window, and the warnings of the
/// GPU the run used.
pub(super) fn attach_telemetry(
    run: &mut RunResult,
    samples: Vec<TelemetrySample>,
    sampler_cost: telemetry::SamplerCost,
    interval_ms: u64,
    gpu_unavailable_reason: Option<String>,
) {
    let window = run.measured_window_secs.unwrap_or([0.0, samples.last().map_or(0.0, |s| s.t_secs)]);
    let steps: Vec<[f64; 2]> =
        run.step_start_secs.iter().zip(&run.step_secs).map(|(start, secs)| [*start, *secs]).collect();
    let (host, gpus) = telemetry::aggregate(&samples, window, &steps);
    if let Some(gpu) = gpus.iter().find(|gpu| Some(gpu.index) == run.gpu_index) {
        run.warnings.extend(gpu.warnings());
    }
    run.warnings.extend(sampler_cost_warning(&sampler_cost, interval_ms));
    run.telemetry = Some(RunTelemetry {
        samples,
        measured_window_secs: run.measured_window_secs,
        host,
        gpus,
        gpu_unavailable_reason,
        sampler_cost,
    });
}

/// Shortest run whose sampler cost is judged: in a shorter one the first sample (the process
/// table read once) dominates a share that says nothing about the sampling rate.
const SAMPLER_COST_MIN_WALL_SECS: f64 = 1.0;

/// A warning when the sampler cost more than its budget of a core during a run of at least
/// [`SAMPLER_COST_MIN_WALL_SECS`].
fn sampler_cost_warning(cost: &telemetry::SamplerCost, interval_ms: u64) -> Option<ValidityWarning> {
    let percent_of_core = cost.cpu_share()? * 100.0;
    (cost.wall_secs >= SAMPLER_COST_MIN_WALL_SECS && percent_of_core > SAMPLER_BUDGET_PERCENT)
        .then_some(ValidityWarning::SamplerCost { percent_of_core, interval_ms })
}

/// Fills in what is derived from the raw steps: summary, throughput, speedup against the
/// baseline run and accuracy against the baseline's probe output.
pub(super) fn derive(
    run: &mut RunResult,
    probe_output: Option<&[f32]>,
    reference_output: Option<&Vec<f32>>,
    earlier_runs: &[RunResult],
    suite: &Suite,
    resamples: usize,
) {
    let seed = suite.settings.seed ^ (run.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    summarize_steps(run, suite, resamples, seed);
    let classes = suite
        .workloads
        .iter()
        .find(|workload| workload.name == run.workload && matches!(workload.mode, crate::suite::Mode::Inference))
        .and_then(|workload| crate::models::architecture(&workload.model).classes());
    if let Some(image) = run.generation.as_mut().and_then(|generation| generation.image.as_mut()) {
        image.thumbnail_png =
            probe_output.and_then(|output| super::image::thumbnail_png_base64(output, image.height, image.width, 128));
    }
    let image_shape =
        run.generation.as_ref().and_then(|generation| generation.image.as_ref()).map(|image| image.probe_image_shape());
    match image_shape {
        Some(shape) => compare_images(run, probe_output, reference_output.map(Vec::as_slice), shape),
        None => compare_output(run, probe_output, reference_output, classes),
    }
    if run.is_baseline || !matches!(run.status, RunStatus::Completed) || run.summary.is_none() {
        return;
    }
    per_image_speedup(run, earlier_runs, suite, resamples, seed);
    speedup_against_baseline(run, earlier_runs, suite, resamples, seed);
}

/// Summary statistics, throughput and the warm-up check of the measured steps.
fn summarize_steps(run: &mut RunResult, suite: &Suite, resamples: usize, seed: u64) {
    if run.step_secs.len() >= 2 {
        match stats::summarize(&run.step_secs, resamples, seed) {
            Ok(summary) => {
                run.throughput_items_per_sec = Some(run.batch_size as f64 / summary.median);
                run.summary = Some(summary);
                if let Some(drift) = stats::warmup_drift(&run.step_secs) {
                    run.warnings.push(telemetry::ValidityWarning::WarmupTooShort {
                        head_steps: drift.head_steps,
                        slower_percent: drift.slower_fraction * 100.0,
                        warmup_steps: suite.settings.warmup_steps,
                    });
                }
            }
            Err(error) => run.notes.push(RunNote::NoStatistics { reason: error.to_string() }),
        }
    } else if matches!(run.status, RunStatus::Completed) {
        run.notes.push(RunNote::Info(format!(
            "only {} measured step(s) fit in max_secs; statistics need 2 (raise max_secs)",
            run.step_secs.len()
        )));
    }
}

/// Output drift against the baseline's probe output, when both exist; for an image classifier of
/// `classes` outputs, also the top-1 agreement of its predictions over the probe batch.
fn compare_output(
    run: &mut RunResult,
    probe_output: Option<&[f32]>,
    reference_output: Option<&Vec<f32>>,
    classes: Option<usize>,
) {
    if let (Some(output), Some(reference)) = (probe_output, reference_output) {
        // Training probes are loss trajectories; runs stopped by time may have fewer steps, so
        // they are compared over the steps both have.
        let (reference, output) = if run.training.is_some() && reference.len() != output.len() {
            let common = reference.len().min(output.len());
            run.notes.push(RunNote::Info(format!(
                "loss trajectory compared with the baseline's over the first {common} steps"
            )));
            (&reference[..common], &output[..common])
        } else {
            (reference.as_slice(), output)
        };
        match accuracy::compare_outputs(reference, output) {
            Ok(mut drift) => {
                if let Some(rows) = run.text.as_ref().map(|text| text.vocab).or(classes) {
                    drift.tokens = accuracy::compare_next_tokens(reference, output, rows);
                }
                if drift.nonfinite_values > 0 {
                    run.notes
                        .push(RunNote::Info(format!("{} output values are NaN or infinite", drift.nonfinite_values)));
                }
                run.accuracy = Some(drift);
            }
            Err(error) => run.notes.push(RunNote::NoAccuracy { reason: error.to_string() }),
        }
    } else if !run.is_baseline && !run.failed() {
        run.notes.push(RunNote::NoAccuracy {
            reason: "the baseline phase has no output for this workload (it failed or was cancelled)".into(),
        });
    }
}

/// An image generation's drift: the figures of the final latents (after the images in the probe
/// output) and the decoded images' PSNR, SSIM and errors.
fn compare_images(
    run: &mut RunResult,
    probe_output: Option<&[f32]>,
    reference_output: Option<&[f32]>,
    shape: [usize; 4],
) {
    let pixels: usize = shape.iter().product();
    let (Some(output), Some(reference)) = (probe_output, reference_output) else {
        return compare_output(run, probe_output, reference_output.map(<[f32]>::to_vec).as_ref(), None);
    };
    if output.len() != reference.len() || output.len() <= pixels {
        run.notes.push(RunNote::NoAccuracy {
            reason: format!(
                "the phase's probe made {} values and the baseline's {}: images of another size or latent are not compared (compare phases at one resolution)",
                output.len(),
                reference.len()
            ),
        });
        return;
    }
    let ((image, latent), (reference_image, reference_latent)) = (output.split_at(pixels), reference.split_at(pixels));
    compare_output(run, Some(latent), Some(&reference_latent.to_vec()), None);
    if let Some(accuracy) = run.accuracy.as_mut() {
        accuracy.image = accuracy::compare_images(reference_image, image, shape);
    }
}

/// An image generation's seconds per image against the completed baseline run's at its batch
/// size, judged at the suite's noise threshold as a step-level comparison is.
fn per_image_speedup(run: &mut RunResult, earlier_runs: &[RunResult], suite: &Suite, resamples: usize, seed: u64) {
    let Some(baseline) = earlier_runs.iter().find(|other| {
        other.is_baseline
            && other.workload == run.workload
            && other.batch_size == run.batch_size
            && other.status == RunStatus::Completed
    }) else {
        return;
    };
    let Some(reference) = baseline.generation.as_ref().map(|generation| &generation.generation_secs) else { return };
    let alpha = baseline.rounds.as_ref().map_or(stats::SIGNIFICANCE, |rounds| rounds.alpha);
    let (threshold, _) = compare::group_threshold(suite.settings.noise_threshold, baseline, alpha);
    let Some(generation) = run.generation.as_mut().filter(|generation| generation.image.is_some()) else { return };
    if let (Ok(judged), Some(image)) = (
        stats::speedup::speedup(reference, &generation.generation_secs, threshold.fraction, resamples, seed),
        generation.image.as_mut(),
    ) {
        image.per_image_speedup = Some(crate::results::PerImageSpeedup {
            ratio: judged.ratio,
            low: judged.ratio_ci.low,
            high: judged.ratio_ci.high,
            verdict: Some(judged.verdict),
        });
    }
}

/// The speedup against the completed baseline run of the same workload, with the clock check of
/// their GPUs; a note says why when there is none.
fn speedup_against_baseline(
    run: &mut RunResult,
    earlier_runs: &[RunResult],
    suite: &Suite,
    resamples: usize,
    seed: u64,
) {
    if run.accuracy.as_ref().is_some_and(|accuracy| accuracy.nonfinite_values > 0) {
        run.notes.push(RunNote::NoSpeedup {
            reason: "the outputs are NaN or infinite, so its speed is not comparable".into(),
        });
        return;
    }
    // The reference is the completed baseline run at the same batch size. Only a phase with its own
    // batch size is compared with the workload's first completed baseline: an explicit, labelled
    // per-item comparison across batch sizes.
    let completed_baselines = || {
        earlier_runs.iter().filter(|r| {
            r.is_baseline && r.workload == run.workload && r.status == RunStatus::Completed && r.summary.is_some()
        })
    };
    let own_batch = suite.phases.iter().any(|phase| phase.name == run.phase && phase.batch_size.is_some());
    let baseline = completed_baselines()
        .find(|r| r.batch_size == run.batch_size)
        .or_else(|| if own_batch { completed_baselines().next() } else { None });
    let Some(baseline) = baseline else {
        let reason = if own_batch {
            "the baseline run of this workload did not complete".to_owned()
        } else {
            format!(
                "the baseline run of this workload at batch {} did not complete, and a run at another batch size is no reference",
                run.batch_size
            )
        };
        run.notes.push(RunNote::NoSpeedup { reason });
        return;
    };
    if let (Some(baseline_gpu), Some(run_gpu)) = (baseline.used_gpu(), run.used_gpu())
        && let Some(warning) = telemetry::compare_clocks(baseline_gpu, run_gpu)
    {
        run.warnings.push(warning);
    }
    if baseline.batch_size != run.batch_size {
        run.notes.push(RunNote::Info(format!(
            "speedup is per item against the baseline at batch {} (this run: batch {})",
            baseline.batch_size, run.batch_size
        )));
    }
    // The error rate the group's looks spent, so the verdict is the one the stopping rule saw.
    let alpha = baseline.rounds.as_ref().map_or(stats::SIGNIFICANCE, |rounds| rounds.alpha);
    let setting = suite.settings.noise_threshold;
    let (threshold, control) = compare::group_threshold(setting, baseline, alpha);
    if setting.auto_multiple().is_some() && threshold.auto_multiple.is_none() {
        run.notes.push(RunNote::Info(format!(
            "noise_threshold Auto is measured by the A/A control of interleaved rounds, which this comparison has not; judged at ±{} %",
            threshold.fraction * 100.0
        )));
    }
    let compared = compare::compare_in_rounds_with_control(baseline, run, control.as_ref(), threshold, alpha)
        .unwrap_or_else(|| compare::diff_runs(baseline, run, threshold.fraction, resamples, seed));
    match compared {
        Ok(speedup) => {
            if let Some(warning) = unreliable_machine(&speedup, baseline, run) {
                run.warnings.push(warning);
            }
            run.speedup = Some(speedup);
        }
        Err(error) => run.notes.push(RunNote::NoSpeedup { reason: error.to_string() }),
    }
}

/// A warning when the A/A control of the rounds excludes 1, naming what telemetry saw on either
/// run (throttling, clocks, other processes, the sampler) or else drift.
fn unreliable_machine(speedup: &stats::Speedup, baseline: &RunResult, run: &RunResult) -> Option<ValidityWarning> {
    let rounds = speedup.rounds.as_ref().filter(|rounds| rounds.machine_unreliable())?;
    let (ratio, interval) = rounds.control?;
    let seen = baseline.warnings.iter().chain(&run.warnings).find(|warning| {
        !matches!(warning, ValidityWarning::WarmupTooShort { .. } | ValidityWarning::UnreliableMachine { .. })
    });
    let cause = seen.map_or_else(
        || "drift (the machine's speed changed between blocks: other programs, frequency scaling, a shared VM's neighbours)".to_owned(),
        |warning| format!("what telemetry saw: {warning}"),
    );
    Some(ValidityWarning::UnreliableMachine { ratio, low: interval.low, high: interval.high, cause })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18, defect 10: the sampler's own cost is warned about above its budget, not below.
    #[test]
    fn a_sampler_over_its_budget_of_a_core_is_warned_about() {
        let cost = |cpu_secs| telemetry::SamplerCost { cpu_secs: Some(cpu_secs), wall_secs: 2.0, samples: 200 };
        assert_eq!(sampler_cost_warning(&cost(0.006), 100), None, "0.3 % of a core");
        let Some(ValidityWarning::SamplerCost { percent_of_core, interval_ms }) = sampler_cost_warning(&cost(0.1), 10)
        else {
            panic!("5 % of a core is over the budget")
        };
        assert!((percent_of_core - 5.0).abs() < 1e-9 && interval_ms == 10);
        let unknown = telemetry::SamplerCost { cpu_secs: None, wall_secs: 2.0, samples: 200 };
        assert_eq!(sampler_cost_warning(&unknown, 10), None, "no figure, no warning");
        let short = telemetry::SamplerCost { cpu_secs: Some(0.01), wall_secs: 0.2, samples: 3 };
        assert_eq!(sampler_cost_warning(&short, 100), None, "a short run's share is its first sample's");
    }
}
