//! Executing one run: open the device, build the model in the phase's dtype, warm up, measure
//! steps until the stop rules say so, and take the probe output for the accuracy check.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batcher::StepBatcher;
use super::flush::CacheFlusher;
use super::measure::{StepLimits, measure_steps, record_extras};
use super::steppers::{GenerationStepper, InferenceStepper, Preparation, Stepper, StepperSetup, TrainingStepper};
use super::text::TextGenerationStepper;
use super::{CancelToken, EventSender, FaultKind, InjectedFault, StepKind};
use crate::device::{self, candle_error_text, panic_message};
use crate::models::{self, Weights};
use crate::plan::PlannedRun;
use crate::results::{
    DeviceMemory, FailureKind, GenerationRecord, ImageRecord, RunResult, RunStatus, StopReason, TextGenerationRecord,
    Timestamp, TrainingRecord,
};
use crate::suite::{DeviceSpec, Mode, Suite};
use crate::telemetry::{HeapPeakMeter, PeakRssMeter, ValidityWarning};

/// Items in the fixed probe input whose output is compared across phases.
pub const PROBE_BATCH: usize = 2;

/// Mixed into the seed for the probe input, so it differs from the measured input.
const PROBE_SEED_SALT: u64 = 0x7072_6f62_6521;

/// Trips when telemetry sees the process's resident memory above the budget, so the run stops
/// itself instead of letting the OS kill the process.
#[derive(Debug)]
pub(super) struct MemoryGuard {
    budget_bytes: u64,
    /// The largest RSS seen above the budget in this run (0: none).
    seen_bytes: std::sync::atomic::AtomicU64,
}

impl MemoryGuard {
    pub(super) fn new(budget_bytes: u64) -> Self {
        Self { budget_bytes, seen_bytes: std::sync::atomic::AtomicU64::new(0) }
    }

    /// Takes new telemetry samples into account (called on the sampler thread).
    pub(super) fn observe(&self, samples: &[crate::telemetry::TelemetrySample]) {
        for rss in samples.iter().filter_map(|sample| sample.host.process_rss_bytes) {
            if rss > self.budget_bytes {
                self.seen_bytes.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Forgets what the previous run saw.
    pub(super) fn reset(&self) {
        self.seen_bytes.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Why the run must stop, once the budget was crossed.
    pub(super) fn exceeded(&self) -> Option<String> {
        match self.seen_bytes.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            seen => Some(format!(
                "out of memory budget: the process grew to {} of resident memory, over max_memory_bytes ({}); raise it or make the batch or model smaller",
                crate::units::format_bytes(seen as f64),
                crate::units::format_bytes(self.budget_bytes as f64)
            )),
        }
    }
}

/// Everything one run needs, owned, so it can run on a thread of its own and be abandoned when
/// it overruns its timeout.
pub(super) struct RunContext {
    /// The run's clock origin, shared with the telemetry sampler.
    pub origin: Instant,
    /// Stops the run when the process outgrows the memory budget.
    pub memory: Arc<MemoryGuard>,
    pub suite: Arc<Suite>,
    pub run: PlannedRun,
    /// The workload's f32 master weights (tensors are shared, not copied), or why there are none.
    pub weights: Result<Weights, String>,
    /// The suite's cancellation.
    pub cancel: CancelToken,
    /// This run's own stop, set when it overran its timeout.
    pub abandoned: CancelToken,
    pub events: EventSender,
    /// Faults to inject (tests of failure handling only).
    pub faults: Vec<InjectedFault>,
}

impl RunContext {
    pub(super) fn fault_at(&self, measured_step: usize) -> Option<FaultKind> {
        self.faults
            .iter()
            .find(|fault| fault.run_index == self.run.index && fault.at_step == measured_step)
            .map(|fault| fault.kind)
    }

    /// Whether the run must stop at its next step: the suite was cancelled, or this run overran its
    /// timeout and was abandoned (its result is already recorded; it must not go on measuring
    /// beside the next run).
    pub(super) fn stopped(&self) -> bool {
        self.cancel.is_cancelled() || self.abandoned.is_cancelled()
    }

    pub(super) fn outputs_made_non_finite(&self) -> bool {
        self.faults.iter().any(|fault| fault.run_index == self.run.index && fault.kind == FaultKind::NonFiniteOutput)
    }
}

/// Runs one plan entry on a thread named `phasebench-run`; never panics. A run that has not
/// ended after `timeout` is abandoned (its thread is told to stop and left behind) and recorded
/// as failed, timed out. Returns the raw result and the probe output (as f32).
pub(super) fn execute(context: RunContext, timeout: Duration) -> (RunResult, Option<Vec<f32>>) {
    let (suite, run, abandoned) = (Arc::clone(&context.suite), context.run.clone(), context.abandoned.clone());
    on_run_thread(move || execute_here(&context), timeout, &abandoned, ("", "run_timeout_secs")).unwrap_or_else(
        |reason| {
            let mut result = new_run_result(&suite, &run);
            result.status = RunStatus::Failed { reason };
            (result, None)
        },
    )
}

/// Runs `work` on a thread named `phasebench-run` and waits for it at most `timeout`. When it
/// overruns, `abandoned` is set (the thread stops at its next step and is left behind) and the
/// reason names what timed out and its budget (`label`: e.g. `("", "run_timeout_secs")`).
pub(super) fn on_run_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    timeout: Duration,
    abandoned: &CancelToken,
    label: (&str, &str),
) -> Result<T, String> {
    let (sender, outcome) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("phasebench-run".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|error| format!("cannot start the run's thread: {error}"))?;
    match outcome.recv_timeout(timeout) {
        Ok(value) => Ok(value),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            abandoned.cancel();
            let (what, budget) = label;
            Err(format!(
                "timed out: {what}still running after {} ({budget}); abandoned, the suite goes on",
                crate::units::format_secs(timeout.as_secs_f64())
            ))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err("the run's thread ended without a result".into()),
    }
}

/// Runs one plan entry on this thread; never panics.
fn execute_here(context: &RunContext) -> (RunResult, Option<Vec<f32>>) {
    let mut result = new_run_result(&context.suite, &context.run);
    let mut meter = PeakRssMeter::start();
    result.start_rss_bytes = meter.start_rss_bytes();
    let outcome = catch_unwind(AssertUnwindSafe(|| measure(context, &mut result)));
    result.peak_rss_bytes = meter.peak_rss_bytes();
    let probe_output = match outcome {
        Ok(Ok(probe_output)) => probe_output,
        Ok(Err(reason)) => {
            result.status = RunStatus::Failed { reason };
            None
        }
        Err(panic) => {
            result.status = RunStatus::Failed { reason: format!("panicked: {}", panic_message(&*panic)) };
            None
        }
    };
    if result.stop_reason == Some(StopReason::Cancelled) {
        result.status = RunStatus::Cancelled;
    }
    (result, probe_output)
}

/// Bytes of the phase's weights: a GGUF's own (the phase's or the workload's), else the model's
/// parameters in the phase's dtype or quantization.
fn phase_parameter_bytes(workload: &crate::suite::Workload, phase: &crate::suite::Phase) -> usize {
    let gguf = phase
        .gguf
        .as_ref()
        .map(|path| models::llm::file_model(&path.location_for(&workload.name), models::llm::ModelFormat::Gguf));
    match gguf.and_then(|model| model.file.as_ref().ok()) {
        Some(file) => file.bytes as usize,
        None => {
            models::parameter_bytes(models::architecture(&workload.model), phase.dtype.size_bytes(), phase.quantization)
        }
    }
}

/// The record of a run before anything is measured: its identity and what the model is.
pub(super) fn new_run_result(suite: &Suite, run: &PlannedRun) -> RunResult {
    let workload = &suite.workloads[run.workload_index];
    let phase = &suite.phases[run.phase_index];
    let arch = models::architecture(&workload.model);
    let param_count = models::parameter_count(arch);
    RunResult {
        index: run.index,
        workload: run.workload.clone(),
        phase: run.phase.clone(),
        batch_size: run.batch_size,
        is_baseline: run.is_baseline,
        model: workload.model.kind_name().to_owned(),
        dtype: phase.dtype,
        device: phase.device,
        quantization: phase.quantization,
        mode: workload.mode,
        status: RunStatus::Completed,
        started_at: Timestamp::now(),
        load_secs: None,
        transfer_secs: None,
        transfer_bytes: None,
        file_load: None,
        gpu_index: None,
        device_memory: None,
        warmup_step_secs: Vec::new(),
        step_secs: Vec::new(),
        step_start_secs: Vec::new(),
        measured_window_secs: None,
        stop_reason: None,
        param_count,
        param_bytes: phase_parameter_bytes(workload, phase),
        f32_param_bytes: param_count * 4,
        flops_per_item: arch.flops_per_item(),
        peak_rss_bytes: None,
        start_rss_bytes: None,
        run_memory_bytes: None,
        summary: None,
        throughput_items_per_sec: None,
        speedup: None,
        accuracy: None,
        training: None,
        generation: None,
        text: None,
        rounds: None,
        telemetry: None,
        warnings: Vec::new(),
        notes: Vec::new(),
        failure: None,
        host: None,
    }
}

/// The measuring part of a run; fills `result` as it goes so a failure keeps what was measured.
/// On a GPU it also records the device memory before, during and after the run (once everything
/// the run allocated is dropped) and names an out-of-memory failure as such.
fn measure(context: &RunContext, result: &mut RunResult) -> Result<Option<Vec<f32>>, String> {
    let phase = &context.suite.phases[context.run.phase_index];
    let weights = context.weights.as_ref().map_err(Clone::clone)?;
    let device = device::open(phase.device).map_err(|error| error.to_string())?;
    // The harness's own buffer comes first, so neither the device memory nor the heap of the run
    // counts it.
    let mut flusher = if context.suite.settings.flush_cache_between_steps {
        Some(CacheFlusher::new(&device).map_err(candle_error("cannot allocate the cache-flush buffer"))?)
    } else {
        None
    };
    result.device_memory = device_memory_before(&device);
    let heap = HeapPeakMeter::start();
    let outcome = measure_on(context, result, weights, &device, &mut flusher);
    result.run_memory_bytes = Some(heap.peak_growth_bytes());
    record_device_memory_after(result, &device, phase.device);
    outcome.map_err(|reason| failure_reason(context, result, reason))
}

/// The device memory in use when a run's device was opened, when the device tells (CUDA).
pub(super) fn device_memory_before(device: &candle_core::Device) -> Option<DeviceMemory> {
    device::memory_in_use(device).map(|(before_bytes, total_bytes)| DeviceMemory {
        total_bytes,
        before_bytes,
        ..DeviceMemory::default()
    })
}

/// Reads the device memory once everything of the run is dropped, and warns when more than the
/// tolerance was not given back.
pub(super) fn record_device_memory_after(result: &mut RunResult, device: &candle_core::Device, spec: DeviceSpec) {
    if let (Some(memory), DeviceSpec::Cuda(ordinal)) = (result.device_memory.as_mut(), spec) {
        // Frees on a stream are asynchronous: wait for them before reading.
        let _ = device::synchronize(device);
        memory.after_bytes = device::memory_in_use(device).map(|(used, _)| used);
        if let Some(extra_bytes) = memory.not_returned_bytes() {
            result.warnings.push(ValidityWarning::DeviceMemoryNotReturned { ordinal, extra_bytes });
        }
    }
}

/// A failed run's reason as recorded: a device out of memory is named as such (and marked, so
/// sweeps stop there), with what a user needs first on a GPU.
pub(super) fn failure_reason(context: &RunContext, result: &mut RunResult, reason: String) -> String {
    if !device::is_out_of_memory(&reason) {
        return reason;
    }
    result.failure = Some(FailureKind::OutOfDeviceMemory);
    match context.suite.phases[context.run.phase_index].device {
        DeviceSpec::Cuda(ordinal) => {
            out_of_memory_reason(ordinal, context.run.batch_size, result.device_memory, reason)
        }
        DeviceSpec::Cpu => reason,
    }
}

/// A CUDA failure's reason, led by what a user needs when it is the GPU running out of memory.
fn out_of_memory_reason(ordinal: usize, batch_size: usize, memory: Option<DeviceMemory>, reason: String) -> String {
    if !device::is_out_of_memory(&reason) {
        return reason;
    }
    let memory = memory.map_or_else(String::new, |memory| {
        format!(
            " ({} installed, {} in use before the run)",
            crate::units::format_bytes(memory.total_bytes as f64),
            crate::units::format_bytes(memory.before_bytes as f64)
        )
    });
    format!(
        "out of GPU memory on cuda:{ordinal} at batch {batch_size}{memory}; a smaller batch or dtype may fit: {reason}"
    )
}

/// Builds the run's model on `device`, warms up, measures and probes; everything it allocates is
/// dropped when it returns.
fn measure_on(
    context: &RunContext,
    result: &mut RunResult,
    weights: &Weights,
    device: &candle_core::Device,
    flusher: &mut Option<CacheFlusher>,
) -> Result<Option<Vec<f32>>, String> {
    let mut stepper = build_stepper(context, result, weights, device)?;
    if !warm_up(context, result, stepper.as_mut(), flusher)? {
        result.stop_reason = Some(StopReason::Cancelled);
        return Ok(None);
    }
    stepper.restart().map_err(candle_error("cannot restart after warm-up"))?;
    let limits = StepLimits::of(&context.suite.settings);
    let stop_reason = measure_steps(context, result, stepper.as_mut(), flusher, limits)?;
    result.stop_reason = Some(stop_reason);
    if stop_reason == StopReason::Cancelled {
        return Ok(None);
    }
    probe(context, stepper.as_mut()).map(Some)
}

/// The output on the probe input compared with the baseline's (made non-finite by an injected
/// fault in tests of that check).
pub(super) fn probe(context: &RunContext, stepper: &mut dyn Stepper) -> Result<Vec<f32>, String> {
    let mut output = stepper.probe().map_err(candle_error("probe for the accuracy check failed"))?;
    if context.outputs_made_non_finite() {
        output.iter_mut().step_by(2).for_each(|value| *value = f32::NAN);
    }
    Ok(output)
}

/// The stepper of the run's mode on `device`; records what building it took (the build and the
/// host→device copy, the device memory once loaded) and opens the mode's record.
pub(super) fn build_stepper(
    context: &RunContext,
    result: &mut RunResult,
    weights: &Weights,
    device: &candle_core::Device,
) -> Result<Box<dyn Stepper>, String> {
    let (suite, run) = (&*context.suite, &context.run);
    let settings = &suite.settings;
    let workload = &suite.workloads[run.workload_index];
    let phase = &suite.phases[run.phase_index];
    let arch = models::architecture(&workload.model);
    let setup = StepperSetup {
        arch,
        weights,
        dtype: device::dtype(phase.dtype),
        device,
        quantization: phase.quantization,
        batch_size: run.batch_size,
        seed: settings.seed,
        probe_seed: settings.seed ^ PROBE_SEED_SALT,
        probe_batch: arch.batch_limit().map_or(PROBE_BATCH, |limit| limit.min(PROBE_BATCH)),
    };
    let built: candle_core::Result<(Box<dyn Stepper>, Preparation)> = match workload.mode {
        Mode::Inference => InferenceStepper::new(&setup).map(|(s, prep)| (Box::new(s) as Box<dyn Stepper>, prep)),
        Mode::Training(training) => {
            result.training = Some(TrainingRecord {
                breakdown_every: super::steppers::TRAINING_BREAKDOWN_EVERY,
                ..TrainingRecord::default()
            });
            TrainingStepper::new(&setup, training, settings.warmup_steps + settings.min_steps)
                .map(|(s, prep)| (Box::new(s) as Box<dyn Stepper>, prep))
        }
        Mode::Generation(generation) => {
            result.generation =
                Some(GenerationRecord { steps_per_generation: generation.steps, ..GenerationRecord::default() });
            GenerationStepper::new(&setup, generation).map(|(s, prep)| (Box::new(s) as Box<dyn Stepper>, prep))
        }
        Mode::ImageGeneration(generation) => {
            let generation = generation.for_phase(phase);
            let config = setup.arch.image_pipeline().ok_or_else(|| {
                candle_core::Error::Msg("the model is not a diffusion pipeline; mode ImageGeneration needs one".into())
            });
            result.generation = Some(GenerationRecord {
                steps_per_generation: generation.steps,
                image: Some(ImageRecord {
                    width: generation.width,
                    height: generation.height,
                    guidance: generation.guidance,
                    scheduler: match &workload.model {
                        crate::suite::ModelSpec::Diffusion(spec) if spec.pipeline.flow_matching() => {
                            "flow-matching Euler".to_owned()
                        }
                        _ => generation.scheduler.to_string(),
                    },
                    probe_images: setup.probe_batch,
                    thumbnail_png: None,
                    per_image_speedup: None,
                }),
                ..GenerationRecord::default()
            });
            config.and_then(|config| {
                super::image::ImageGenerationStepper::new(&setup, &config, generation, phase.sliced_attention())
                    .map(|(s, prep)| (Box::new(s) as Box<dyn Stepper>, prep))
            })
        }
        Mode::TextGeneration(text) => super::text::language_model(setup.arch).and_then(|config| {
            let tokens = text.prompt_tokens + text.new_tokens;
            let source = super::text::TextSource::of(workload, phase);
            result.text = Some(TextGenerationRecord {
                prompt_tokens: text.prompt_tokens,
                new_tokens: text.new_tokens,
                kv_cache: phase.uses_kv_cache(),
                vocab: config.vocab,
                kv_cache_bytes: if phase.uses_kv_cache() {
                    config.kv_cache_bytes(run.batch_size, tokens, phase.dtype.size_bytes())
                } else {
                    0
                },
                family: Some(config.family.model_type().to_owned()),
                gguf: source.gguf_record(),
                ..TextGenerationRecord::default()
            });
            TextGenerationStepper::new(&setup, &config, text, phase.uses_kv_cache(), &source)
                .map(|(s, prep)| (Box::new(s) as Box<dyn Stepper>, prep))
        }),
    };
    let (stepper, preparation) = built.map_err(candle_error("cannot build the model"))?;
    result.load_secs = Some(preparation.load_secs);
    result.file_load = preparation.file_load;
    result.transfer_secs = preparation.transfer.map(|transfer| transfer.secs);
    result.transfer_bytes = preparation.transfer.map(|transfer| transfer.bytes);
    if let Some(memory) = result.device_memory.as_mut() {
        memory.loaded_bytes = device::memory_in_use(device).map(|(used, _)| used);
    }
    Ok(stepper)
}

/// Runs the warm-up steps (recorded apart); `Ok(false)` when cancelled during them.
pub(super) fn warm_up(
    context: &RunContext,
    result: &mut RunResult,
    stepper: &mut dyn Stepper,
    flusher: &mut Option<CacheFlusher>,
) -> Result<bool, String> {
    let mut batcher = StepBatcher::new(context, StepKind::Warmup);
    for _ in 0..context.suite.settings.warmup_steps {
        if context.stopped() {
            batcher.finish();
            return Ok(false);
        }
        if let Some(reason) = context.memory.exceeded() {
            batcher.finish();
            return Err(reason);
        }
        if let Some(flusher) = flusher.as_mut() {
            flusher.flush().map_err(candle_error("cache flush failed"))?;
        }
        let timing = stepper.step().map_err(candle_error("warm-up step failed"))?;
        if let Some([_, ttft]) = timing.prefill {
            batcher.prefill(result.warmup_step_secs.len(), ttft);
        }
        if let Some(stage) = timing.stage {
            batcher.stage(result.warmup_step_secs.len(), stage, timing.secs);
        }
        result.warmup_step_secs.push(timing.secs);
        record_extras(result, &timing, false);
        batcher.push(timing.secs);
    }
    batcher.finish();
    Ok(true)
}

/// Turns a candle error into a failure reason that says what was being done.
pub(super) fn candle_error(what: &'static str) -> impl Fn(candle_core::Error) -> String {
    move |error| format!("{what}: {}", candle_error_text(&error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::measure::measure_steps;
    use crate::runner::steppers::StepTiming;

    #[test]
    fn a_cuda_out_of_memory_failure_says_so_first() {
        let raw = "warm-up step failed: DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")".to_owned();
        let memory = DeviceMemory { total_bytes: 80 << 30, before_bytes: 1 << 29, ..DeviceMemory::default() };
        let reason = out_of_memory_reason(1, 4096, Some(memory), raw.clone());
        assert!(
            reason.starts_with(
                "out of GPU memory on cuda:1 at batch 4096 (80.0 GiB installed, 512.0 MiB in use before the run)"
            ),
            "{reason}"
        );
        assert!(reason.ends_with(&raw), "the driver's words are kept: {reason}");
        assert_eq!(out_of_memory_reason(0, 1, None, "shape mismatch".into()), "shape mismatch");
    }

    /// A step counter standing in for a model.
    struct CountingStepper(usize);

    impl Stepper for CountingStepper {
        fn step(&mut self) -> candle_core::Result<StepTiming> {
            self.0 += 1;
            Ok(StepTiming { secs: 1e-6, ..StepTiming::default() })
        }

        fn probe(&mut self) -> candle_core::Result<Vec<f32>> {
            Ok(Vec::new())
        }
    }

    /// Issue 18, defect 1: an abandoned run takes no further step and sends no step event, in
    /// warm-up and measurement alike (the suite's own cancel token is untouched).
    #[test]
    fn an_abandoned_run_takes_no_further_step() -> Result<(), crate::suite::SuiteError> {
        let suite = crate::suite::default_suite()?;
        let run = crate::plan::expand(&suite).remove(0);
        let (sender, receiver) = std::sync::mpsc::sync_channel(16);
        let context = RunContext {
            origin: Instant::now(),
            memory: Arc::new(MemoryGuard::new(u64::MAX)),
            suite: Arc::new(suite),
            run,
            weights: Err("not needed".into()),
            cancel: CancelToken::default(),
            abandoned: CancelToken::default(),
            events: EventSender { sender, wake: Arc::new(|| {}) },
            faults: Vec::new(),
        };
        context.abandoned.cancel();
        let mut result = new_run_result(&context.suite, &context.run);
        let mut stepper = CountingStepper(0);
        assert_eq!(warm_up(&context, &mut result, &mut stepper, &mut None), Ok(false));
        let limits = StepLimits::of(&context.suite.settings);
        assert_eq!(measure_steps(&context, &mut result, &mut stepper, &mut None, limits), Ok(StopReason::Cancelled));
        assert_eq!(stepper.0, 0, "no step after the run was abandoned");
        assert!(result.step_secs.is_empty() && result.warmup_step_secs.is_empty());
        assert!(receiver.try_recv().is_err(), "no event from an abandoned run");
        assert!(!context.cancel.is_cancelled());
        Ok(())
    }
}
