//! Measured steps: the stopping rules of a stretch of steps (a sequential run, or one block of an
//! interleaved round), injected faults, and the mode-specific figures each step files.

use std::time::{Duration, Instant};

use super::batcher::StepBatcher;
use super::execute::{RunContext, candle_error};
use super::flush::CacheFlusher;
use super::steppers::{StepTiming, Stepper};
use super::{FaultKind, StepKind, secs_since};
use crate::results::{RunResult, StopReason};

/// When a stretch of measured steps stops: a whole sequential run's settings, or one block of an
/// interleaved round.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct StepLimits {
    pub min_steps: usize,
    pub max_steps: usize,
    pub min_secs: f64,
    pub max_secs: f64,
}

impl StepLimits {
    /// A sequential run's limits: the suite's settings.
    pub(super) fn of(settings: &crate::suite::Settings) -> Self {
        Self {
            min_steps: settings.min_steps,
            max_steps: settings.max_steps,
            min_secs: settings.min_secs,
            max_secs: settings.max_secs,
        }
    }
}

/// Measures steps until the stopping rules (`limits`, counted from this call, checked between
/// generations) or a cancel say so; records the measured window (extended when the run already
/// has one, as an interleaved run's blocks do).
pub(super) fn measure_steps(
    context: &RunContext,
    result: &mut RunResult,
    stepper: &mut dyn Stepper,
    flusher: &mut Option<CacheFlusher>,
    limits: StepLimits,
) -> Result<StopReason, String> {
    let settings = limits;
    let mut batcher = StepBatcher::new(context, StepKind::Measured);
    let measure_start = Instant::now();
    let steps_before = result.step_secs.len();
    let window_start = result.measured_window_secs.map_or_else(|| secs_since(context.origin), |window| window[0]);
    let stop_reason = loop {
        let (steps, elapsed) = (result.step_secs.len() - steps_before, secs_since(measure_start));
        if context.stopped() {
            break StopReason::Cancelled;
        }
        if let Some(reason) = context.memory.exceeded() {
            batcher.finish();
            result.measured_window_secs = Some([window_start, secs_since(context.origin)]);
            return Err(reason);
        }
        // A generation is measured whole: the rules below apply between generations only.
        if stepper.at_boundary() {
            if steps >= settings.max_steps {
                break StopReason::MaxSteps;
            } else if elapsed >= settings.max_secs {
                break StopReason::MaxSecs;
            } else if steps >= settings.min_steps && elapsed >= settings.min_secs {
                break StopReason::MinimumReached;
            }
        }
        let measured = result.step_secs.len();
        if let Some(fault) = context.fault_at(measured) {
            inject(context, fault, measured)?;
        }
        if let Some(flusher) = flusher.as_mut() {
            flusher.flush().map_err(candle_error("cache flush failed"))?;
        }
        // After the flush: a step's interval on the run's clock is the step alone (energy per step
        // integrates over these intervals).
        let step_start = secs_since(context.origin);
        match stepper.step() {
            Ok(timing) if !timing.is_headline() => {
                // Timed in parts for the breakdown, or a prefill: not a headline step time.
                if let Some([_, ttft]) = timing.prefill {
                    batcher.prefill(measured, ttft);
                }
                if let Some(stage) = timing.stage {
                    batcher.stage(measured, stage, timing.secs);
                }
                record_extras(result, &timing, true);
            }
            Ok(timing) => {
                result.step_secs.push(timing.secs);
                result.step_start_secs.push(step_start);
                record_extras(result, &timing, true);
                batcher.push(timing.secs);
            }
            Err(error) => {
                batcher.finish();
                return Err(format!("step {} failed: {error}", measured + 1));
            }
        }
    };
    batcher.finish();
    result.measured_window_secs = Some([window_start, secs_since(context.origin)]);
    Ok(stop_reason)
}

/// Acts out an injected fault before measured step `step` (from 0).
pub(super) fn inject(context: &RunContext, fault: FaultKind, step: usize) -> Result<(), String> {
    match fault {
        FaultKind::Panic => panic!("injected panic before step {}", step + 1),
        FaultKind::CandleError => {
            Err(candle_error("step failed")(candle_core::Error::Msg(format!("injected error at step {}", step + 1))))
        }
        FaultKind::Hang => {
            // A step that overruns the run's timeout and then finishes, as a slow kernel would:
            // the run must notice it was abandoned and stop there.
            while !context.abandoned.is_cancelled() {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        }
        FaultKind::NonFiniteOutput => Ok(()),
        FaultKind::DeviceOutOfMemory => {
            Err(format!("step {} failed: DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")", step + 1))
        }
    }
}

/// Files a step's mode-specific figures: losses always, the time breakdown, prefills and
/// whole-generation times for measured steps only.
pub(super) fn record_extras(result: &mut RunResult, timing: &StepTiming, measured: bool) {
    if let Some(training) = result.training.as_mut() {
        if let Some(loss) = timing.loss {
            training.losses.push(loss);
        }
        if let (true, Some([forward, backward, optimizer])) = (measured, timing.breakdown) {
            training.forward_secs.push(forward);
            training.backward_secs.push(backward);
            training.optimizer_secs.push(optimizer);
        }
    }
    if let (true, Some(generation)) = (measured, result.generation.as_mut()) {
        if let Some(secs) = timing.generation_secs {
            generation.generation_secs.push(secs);
        }
        match timing.stage {
            Some(super::image::ImageStage::TextEncoder) => generation.text_encoder_secs.push(timing.secs),
            Some(super::image::ImageStage::Decode) => generation.decode_secs.push(timing.secs),
            None => {}
        }
    }
    if let (true, Some(text)) = (measured, result.text.as_mut()) {
        if let Some([prefill, ttft]) = timing.prefill {
            text.prefill_secs.push(prefill);
            text.ttft_secs.push(ttft);
        }
        if let Some(secs) = timing.generation_secs {
            text.generation_secs.push(secs);
        }
    }
}
