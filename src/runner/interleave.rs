//! Interleaved rounds (`Schedule::Interleaved`): the arms of a comparison group (a workload at one
//! batch size: the baseline and each phase) are built once, warmed up, then measured in rounds.
//! Each round runs one short block of every arm, and a second block of the baseline (the A/A
//! control), in a fresh seeded random order, so a drift of the machine falls on every arm alike
//! instead of on whichever ran later. At each look (see [`crate::stats::LookSchedule`]) the group
//! stops when every comparison in it is decided, else when its budget runs out.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::execute::{self, RunContext};
use super::flush::CacheFlusher;
use super::measure::{self, StepLimits};
use super::steppers::Stepper;
use super::{RunEvent, secs_since};
use crate::compare;
use crate::device::{self, panic_message};
use crate::results::{RoundSteps, RunResult, RunStatus, StopReason};
use crate::stats::{self, SIGNIFICANCE, Speedup, Verdict};
use crate::suite::{DeviceSpec, InterleavedSpec, Mode, NoiseThreshold};
use crate::telemetry::{HeapPeakMeter, PeakRssMeter};

/// One arm of the group: its record, its built model and what it has used.
struct Arm {
    result: RunResult,
    stepper: Option<Box<dyn Stepper>>,
    device: Option<candle_core::Device>,
    /// Heap held at the end of building the model (its weights and inputs).
    build_heap_bytes: u64,
    /// The most heap any of its blocks added.
    block_heap_bytes: u64,
    /// Median step time of its last block, for sizing the switch warm-up.
    last_median_secs: f64,
}

impl Arm {
    fn live(&self) -> bool {
        self.stepper.is_some()
    }

    /// Ends the arm with `reason`; a GPU running out of memory is named as such, as in a
    /// sequential run.
    fn fail(&mut self, reason: String, context: &RunContext) {
        self.stepper = None;
        if !self.result.failed() {
            let reason = execute::failure_reason(context, &mut self.result, reason);
            self.result.status = RunStatus::Failed { reason };
        }
    }
}

/// Runs the group of `contexts` (the baseline first) on a thread named `phasebench-run`; never
/// panics. A group still going after `timeout` is abandoned and each arm recorded as failed,
/// timed out. Returns each arm's raw result and probe output, in the order given.
pub(super) fn execute_group(
    contexts: Vec<RunContext>,
    spec: InterleavedSpec,
    timeout: Duration,
) -> Vec<(RunResult, Option<Vec<f32>>)> {
    let skeletons: Vec<RunResult> =
        contexts.iter().map(|context| execute::new_run_result(&context.suite, &context.run)).collect();
    let abandoned = contexts.first().map(|context| context.abandoned.clone()).unwrap_or_default();
    let label = ("the interleaved group was ", "run_timeout_secs for each of its runs");
    execute::on_run_thread(move || measure_group(&contexts, spec), timeout, &abandoned, label).unwrap_or_else(
        |reason| {
            let failed = |mut result: RunResult| {
                result.status = RunStatus::Failed { reason: reason.clone() };
                (result, None)
            };
            skeletons.into_iter().map(failed).collect()
        },
    )
}

/// Builds, warms up, measures in rounds and probes every arm on this thread.
fn measure_group(contexts: &[RunContext], spec: InterleavedSpec) -> Vec<(RunResult, Option<Vec<f32>>)> {
    let mut rss = PeakRssMeter::start();
    let start_rss_bytes = rss.start_rss_bytes();
    let mut flushers: Vec<(DeviceSpec, Option<CacheFlusher>)> = Vec::new();
    let mut arms: Vec<Arm> = contexts.iter().map(|context| build_arm(context, &mut flushers)).collect();
    for (arm, context) in arms.iter_mut().zip(contexts) {
        warm_up_arm(arm, context, &mut flushers);
    }
    let stop = measure_rounds(&mut arms, contexts, spec, &mut flushers);
    let peak_rss_bytes = rss.peak_rss_bytes();
    let mut finished: Vec<(RunResult, Option<Vec<f32>>, Option<candle_core::Device>)> = arms
        .into_iter()
        .zip(contexts)
        .map(|(arm, context)| finish_arm(arm, context, stop, start_rss_bytes, peak_rss_bytes))
        .collect();
    drop(flushers);
    // Every arm's model is dropped by now: what is still in use was not given back.
    for ((result, _, device), context) in finished.iter_mut().zip(contexts) {
        if let Some(device) = device.take() {
            execute::record_device_memory_after(result, &device, context.suite.phases[context.run.phase_index].device);
        }
    }
    finished.into_iter().map(|(result, probe_output, _)| (result, probe_output)).collect()
}

/// The flusher of `device`, allocated once per device before anything of the arms is counted.
fn flusher_of<'a>(
    flushers: &'a mut Vec<(DeviceSpec, Option<CacheFlusher>)>,
    spec: DeviceSpec,
    device: &candle_core::Device,
    wanted: bool,
) -> Result<&'a mut Option<CacheFlusher>, String> {
    let position = match flushers.iter().position(|(known, _)| *known == spec) {
        Some(position) => position,
        None => {
            let flusher = if wanted {
                Some(
                    CacheFlusher::new(device)
                        .map_err(execute::candle_error("cannot allocate the cache-flush buffer"))?,
                )
            } else {
                None
            };
            flushers.push((spec, flusher));
            flushers.len() - 1
        }
    };
    Ok(&mut flushers[position].1)
}

/// Opens the arm's device and builds its model; a failure is recorded on the arm.
fn build_arm(context: &RunContext, flushers: &mut Vec<(DeviceSpec, Option<CacheFlusher>)>) -> Arm {
    let mut arm = Arm {
        result: execute::new_run_result(&context.suite, &context.run),
        stepper: None,
        device: None,
        build_heap_bytes: 0,
        block_heap_bytes: 0,
        last_median_secs: 0.0,
    };
    let phase = &context.suite.phases[context.run.phase_index];
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let weights = context.weights.as_ref().map_err(Clone::clone)?;
        let device = device::open(phase.device).map_err(|error| error.to_string())?;
        flusher_of(flushers, phase.device, &device, context.suite.settings.flush_cache_between_steps)?;
        arm.result.device_memory = execute::device_memory_before(&device);
        let heap = HeapPeakMeter::start();
        let stepper = execute::build_stepper(context, &mut arm.result, weights, &device)?;
        arm.build_heap_bytes = heap.peak_growth_bytes();
        arm.stepper = Some(stepper);
        arm.device = Some(device);
        Ok(())
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => arm.fail(reason, context),
        Err(panic) => arm.fail(format!("panicked: {}", panic_message(&*panic)), context),
    }
    arm
}

/// The suite's warm-up steps of one arm, then its state restarted for measuring.
fn warm_up_arm(arm: &mut Arm, context: &RunContext, flushers: &mut Vec<(DeviceSpec, Option<CacheFlusher>)>) {
    let phase = &context.suite.phases[context.run.phase_index];
    let (Some(stepper), Some(device)) = (arm.stepper.as_mut(), arm.device.as_ref()) else { return };
    let result = &mut arm.result;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<bool, String> {
        let flusher = flusher_of(flushers, phase.device, device, false)?;
        let heap = HeapPeakMeter::start();
        let warmed = execute::warm_up(context, result, stepper.as_mut(), flusher)?;
        let heap_bytes = heap.peak_growth_bytes();
        stepper.restart().map_err(execute::candle_error("cannot restart after warm-up"))?;
        arm.block_heap_bytes = arm.block_heap_bytes.max(heap_bytes);
        Ok(warmed)
    }));
    match outcome {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => arm.result.stop_reason = Some(StopReason::Cancelled),
        Ok(Err(reason)) => arm.fail(reason, context),
        Err(panic) => arm.fail(format!("panicked: {}", panic_message(&*panic)), context),
    }
}

/// How the rounds of one group go: its looks and the error rate each may spend, fixed at the first
/// look — before any comparison is made — from how long a round takes and how many steps it
/// holds (never from the comparisons themselves).
struct RoundPlan {
    looks: Vec<usize>,
    alpha: f64,
}

impl RoundPlan {
    /// The looks the budget allows: `spec`'s schedule cut at the rounds that fit in `max_steps`
    /// per arm (at `steps_per_round`) and in `budget_secs` (`rounds_done` rounds took
    /// `elapsed_secs`, and each further one `round_secs`).
    fn at_first_look(
        spec: InterleavedSpec,
        max_steps: usize,
        steps_per_round: impl Iterator<Item = f64>,
        rounds_done: usize,
        budget: (f64, f64),
        round_secs: f64,
    ) -> Self {
        let (budget_secs, elapsed_secs) = budget;
        let by_steps =
            steps_per_round.map(|steps| (max_steps as f64 / steps.max(1.0)) as usize).min().unwrap_or(spec.max_rounds);
        let by_time = rounds_done + ((budget_secs - elapsed_secs).max(0.0) / round_secs.max(1e-9)).floor() as usize;
        let feasible = spec.max_rounds.min(by_steps).min(by_time).max(spec.first_look_rounds);
        let schedule = crate::stats::LookSchedule { first: spec.first_look_rounds, max_rounds: feasible };
        Self { looks: schedule.looks(), alpha: schedule.alpha_per_look(SIGNIFICANCE) }
    }
}

/// The most steps one block of an arm may hold, so that `max_steps` leaves room for the first
/// look (the baseline runs two blocks a round).
fn block_step_cap(max_steps: usize, spec: InterleavedSpec, baseline: bool) -> usize {
    let blocks_per_round = if baseline { 2 } else { 1 };
    (max_steps / (spec.first_look_rounds.max(1) * blocks_per_round)).max(1)
}

/// Measures rounds until every comparison is decided at a look (and every arm has its minimum
/// steps, and the group `min_secs` per arm), an arm reaches `max_steps`, the group's budget
/// (`max_secs` per arm) or `max_rounds` runs out, or the suite is cancelled; returns why it stopped.
fn measure_rounds(
    arms: &mut [Arm],
    contexts: &[RunContext],
    spec: InterleavedSpec,
    flushers: &mut Vec<(DeviceSpec, Option<CacheFlusher>)>,
) -> StopReason {
    let Some(first) = contexts.first() else { return StopReason::Cancelled };
    if arms.iter().any(|arm| arm.result.stop_reason == Some(StopReason::Cancelled)) || first.stopped() {
        return StopReason::Cancelled;
    }
    let settings = &first.suite.settings;
    let block_secs = spec.block_ms as f64 / 1e3;
    for arm in arms.iter_mut() {
        arm.result.rounds = Some(RoundSteps { block_secs, alpha: SIGNIFICANCE, ..RoundSteps::default() });
    }
    let budget_secs = settings.max_secs * arms.len() as f64;
    let min_secs = settings.min_secs * arms.len() as f64;
    let seed = settings.seed ^ (first.run.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut rng = SmallRng::seed_from_u64(seed);
    let started = Instant::now();
    let (mut plan, mut first_round_secs): (Option<RoundPlan>, f64) = (None, 0.0);
    for round in 0..spec.max_rounds.max(1) {
        // The baseline (arm 0) runs twice: its control block is (0, true).
        let mut order: Vec<(usize, bool)> = (0..arms.len()).map(|arm| (arm, false)).collect();
        if arms[0].result.is_baseline {
            order.push((0, true));
        }
        order.shuffle(&mut rng);
        for (index, control) in order {
            if first.stopped() {
                return StopReason::Cancelled;
            }
            let cap = block_step_cap(settings.max_steps, spec, arms[index].result.is_baseline);
            let block = Block { round: round as u32, control, secs: block_secs, max_steps: cap };
            measure_block(&mut arms[index], &contexts[index], block, flushers, &mut rng);
        }
        if let Some(reason) = first.memory.exceeded() {
            for (arm, context) in arms.iter_mut().zip(contexts).filter(|(arm, _)| arm.live()) {
                arm.fail(reason.clone(), context);
            }
            return StopReason::MaxSecs;
        }
        let elapsed = secs_since(started);
        let rounds_done = round + 1;
        if rounds_done == 1 {
            first_round_secs = elapsed;
        }
        if plan.is_none() && rounds_done >= spec.first_look_rounds.max(2) {
            // A round's time from the rounds after the first, which also paid for warming up
            // and for switch steps that long steps do not take again.
            let round_secs = (elapsed - first_round_secs) / (rounds_done - 1) as f64;
            let steps =
                arms.iter().filter(|arm| arm.live()).map(|arm| arm.result.step_secs.len() as f64 / rounds_done as f64);
            let budget = (budget_secs, elapsed);
            let made = RoundPlan::at_first_look(spec, settings.max_steps, steps, rounds_done, budget, round_secs);
            for arm in arms.iter_mut() {
                if let Some(rounds) = arm.result.rounds.as_mut() {
                    rounds.alpha = made.alpha;
                    rounds.planned_rounds = made.looks.last().copied();
                }
            }
            plan = Some(made);
        }
        let minimum_met = elapsed >= min_secs
            && arms.iter().filter(|arm| arm.live()).all(|arm| arm.result.step_secs.len() >= settings.min_steps);
        if plan.as_ref().is_some_and(|plan| look_or_report(arms, contexts, plan, rounds_done, minimum_met)) {
            return StopReason::Decided;
        }
        if elapsed >= budget_secs {
            return StopReason::MaxSecs;
        }
        if arms.iter().filter(|arm| arm.live()).any(|arm| arm.result.step_secs.len() >= settings.max_steps) {
            return StopReason::MaxSteps;
        }
        if arms.iter().all(|arm| !arm.live()) {
            break;
        }
    }
    StopReason::MaxRounds
}

/// Rounds between two progress reports of the comparisons (besides every look).
const PROGRESS_EVERY_ROUNDS: usize = 10;

/// At a look or a progress report: compares every live phase with the baseline so far and sends
/// the comparisons to the front end; returns whether the group is decided (at a look, with its
/// minimum measured, every comparison decided).
fn look_or_report(
    arms: &[Arm],
    contexts: &[RunContext],
    plan: &RoundPlan,
    rounds_done: usize,
    minimum_met: bool,
) -> bool {
    let look = plan.looks.contains(&rounds_done);
    if !look && !rounds_done.is_multiple_of(PROGRESS_EVERY_ROUNDS) {
        return false;
    }
    let Some(first) = contexts.first() else { return false };
    let interim = interim_comparisons(arms, first.suite.settings.noise_threshold, plan.alpha);
    let decided = look && minimum_met && interim.as_ref().is_some_and(|interim| all_decided(arms, interim));
    for (position, speedup) in interim.into_iter().flatten() {
        let event = RunEvent::Rounds {
            index: contexts[position].run.index,
            rounds: rounds_done,
            speedup: Box::new(speedup),
            decided,
        };
        // Progress only: the result holds everything, so an event the front end has no room
        // for is dropped rather than waited for.
        let _ = contexts[position].events.try_send(event);
    }
    decided
}

/// Every live phase's comparison with the live baseline so far, at error rate `alpha`, by the
/// phase's position in `arms`; `None` without a live baseline (nothing to compare with). An `Auto`
/// threshold is measured from the A/A control's rounds so far.
fn interim_comparisons(arms: &[Arm], setting: NoiseThreshold, alpha: f64) -> Option<Vec<(usize, Speedup)>> {
    let baseline = &arms.first().filter(|arm| arm.live() && arm.result.is_baseline)?.result;
    // The band and the A/A control are the baseline's own: measured once for the whole group.
    let (threshold, control) = compare::group_threshold(setting, baseline, alpha);
    Some(
        arms.iter()
            .enumerate()
            .skip(1)
            .filter(|(_, arm)| arm.live())
            .filter_map(|(position, arm)| {
                let speedup =
                    compare::compare_in_rounds_with_control(baseline, &arm.result, control.as_ref(), threshold, alpha)?
                        .ok()?;
                Some((position, speedup))
            })
            .collect(),
    )
}

/// Whether every live phase has a decided comparison (faster, slower or equivalent) in `interim`.
fn all_decided(arms: &[Arm], interim: &[(usize, Speedup)]) -> bool {
    arms.iter().enumerate().skip(1).filter(|(_, arm)| arm.live()).all(|(position, _)| {
        interim.iter().any(|(decided, speedup)| *decided == position && speedup.verdict != Verdict::Inconclusive)
    })
}

/// Where a block falls and how long it may run.
#[derive(Clone, Copy, Debug)]
struct Block {
    round: u32,
    /// The baseline's second block of the round (the A/A control).
    control: bool,
    secs: f64,
    max_steps: usize,
}

/// One block of one arm: a switch warm-up step for short inference steps (recorded apart), then
/// steps for about `block.secs` (at least one, at most `block.max_steps`; whole generations),
/// each filed under its round.
fn measure_block(
    arm: &mut Arm,
    context: &RunContext,
    block: Block,
    flushers: &mut Vec<(DeviceSpec, Option<CacheFlusher>)>,
    rng: &mut SmallRng,
) {
    let phase = &context.suite.phases[context.run.phase_index];
    let inference = matches!(context.suite.workloads[context.run.workload_index].mode, Mode::Inference);
    let (Some(stepper), Some(device)) = (arm.stepper.as_mut(), arm.device.as_ref()) else { return };
    let result = &mut arm.result;
    let last_median_secs = arm.last_median_secs;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(u64, f64), String> {
        let flusher = flusher_of(flushers, phase.device, device, false)?;
        let heap = HeapPeakMeter::start();
        // After a switch the caches hold another arm's data: one step, recorded as warm-up, for
        // steps short enough that it costs little of the block.
        if inference && last_median_secs < block.secs / 4.0 {
            if let Some(flusher) = flusher.as_mut() {
                flusher.flush().map_err(execute::candle_error("cache flush failed"))?;
            }
            let timing = stepper.step().map_err(execute::candle_error("warm-up step failed"))?;
            if let Some(rounds) = result.rounds.as_mut() {
                rounds.switch_warmup_secs.push(timing.secs);
            }
        }
        let before = result.step_secs.len();
        // A little jitter keeps blocks from locking onto a periodic disturbance.
        let secs = block.secs * rng.random_range(0.9..1.1);
        let limits = StepLimits { min_steps: 1, max_steps: block.max_steps, min_secs: secs, max_secs: secs };
        measure::measure_steps(context, result, stepper.as_mut(), flusher, limits)?;
        let added = result.step_secs.len() - before;
        if let Some(rounds) = result.rounds.as_mut() {
            rounds.step_round.extend(std::iter::repeat_n(block.round, added));
            if result.is_baseline {
                rounds.step_control.extend(std::iter::repeat_n(block.control, added));
            }
        }
        let median = stats::median(&result.step_secs[before..]).unwrap_or(last_median_secs);
        Ok((heap.peak_growth_bytes(), median))
    }));
    match outcome {
        Ok(Ok((heap_bytes, median))) => {
            arm.block_heap_bytes = arm.block_heap_bytes.max(heap_bytes);
            arm.last_median_secs = median;
        }
        Ok(Err(reason)) => arm.fail(reason, context),
        Err(panic) => arm.fail(format!("panicked: {}", panic_message(&*panic)), context),
    }
}

/// The arm's record once measuring stopped: stop reason, probe output and memory figures; its
/// model is dropped, its device handed back for the reading after the group.
fn finish_arm(
    mut arm: Arm,
    context: &RunContext,
    stop: StopReason,
    start_rss_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
) -> (RunResult, Option<Vec<f32>>, Option<candle_core::Device>) {
    arm.result.start_rss_bytes = start_rss_bytes;
    arm.result.peak_rss_bytes = peak_rss_bytes;
    arm.result.run_memory_bytes = Some(arm.build_heap_bytes + arm.block_heap_bytes);
    let mut probe_output = None;
    if let Some(mut stepper) = arm.stepper.take() {
        arm.result.stop_reason = Some(stop);
        if stop == StopReason::Cancelled {
            arm.result.status = RunStatus::Cancelled;
        } else {
            match catch_unwind(AssertUnwindSafe(|| execute::probe(context, stepper.as_mut()))) {
                Ok(Ok(output)) => probe_output = Some(output),
                Ok(Err(reason)) => arm.fail(reason, context),
                Err(panic) => arm.fail(format!("panicked: {}", panic_message(&*panic)), context),
            }
        }
    } else if arm.result.stop_reason == Some(StopReason::Cancelled) {
        arm.result.status = RunStatus::Cancelled;
    }
    (arm.result, probe_output, arm.device.take())
}
