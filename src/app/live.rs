//! A suite running on the worker, as the app sees it: the plan, every step and telemetry sample
//! so far (ready to plot), finished runs, progress and the final result. Events are drained in a
//! time budget; long series are decimated for display only.

use std::path::PathBuf;
use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant};

use egui_plot::PlotPoint;

pub use super::series::{MAX_DISPLAY_POINTS, Series, decimate};

use crate::results::{RunResult, SuiteResult, SuiteStatus};
use crate::runner::{CancelToken, PlannedRun, RunEvent, RunnerHandle, StepKind};
use crate::suite::Suite;
use crate::telemetry::TelemetrySample;

/// Telemetry of one run as lines over the run's clock (seconds).
#[derive(Clone, Debug, Default)]
pub struct TelemetrySeries {
    /// CPU use of this process, % of one core.
    pub process_cpu_percent: Series,
    /// Resident memory of this process, MiB.
    pub rss_mib: Series,
    /// GPU utilization, %.
    pub gpu_utilization_percent: Series,
    /// GPU memory in use, MiB.
    pub gpu_memory_mib: Series,
    /// Board power, W.
    pub gpu_power_watts: Series,
    /// GPU temperature, °C.
    pub gpu_temperature_celsius: Series,
    /// SM clock, MHz.
    pub gpu_sm_clock_mhz: Series,
}

impl TelemetrySeries {
    /// Adds a sample; the GPU series follow GPU `gpu_index` (NVML's numbering), or the first GPU.
    fn push(&mut self, sample: &TelemetrySample, gpu_index: Option<u32>) {
        let t = sample.t_secs;
        if let Some(cpu) = sample.host.process_cpu_percent {
            self.process_cpu_percent.push(t, cpu);
        }
        if let Some(rss) = sample.host.process_rss_bytes {
            self.rss_mib.push(t, rss as f64 / (1024.0 * 1024.0));
        }
        let gpu = sample.gpus.iter().find(|gpu| Some(gpu.index) == gpu_index).or(sample.gpus.first());
        if let Some(gpu) = gpu {
            let push = |series: &mut Series, value: Option<f64>| {
                if let Some(value) = value {
                    series.push(t, value);
                }
            };
            push(&mut self.gpu_utilization_percent, gpu.utilization_gpu_percent);
            push(&mut self.gpu_memory_mib, gpu.memory_used_bytes.map(|b| b as f64 / (1024.0 * 1024.0)));
            push(&mut self.gpu_power_watts, gpu.power_watts);
            push(&mut self.gpu_temperature_celsius, gpu.temperature_celsius);
            push(&mut self.gpu_sm_clock_mhz, gpu.sm_clock_mhz);
        }
    }

    /// Whether any GPU figure arrived.
    pub fn has_gpu(&self) -> bool {
        !self.gpu_utilization_percent.is_empty()
            || !self.gpu_memory_mib.is_empty()
            || !self.gpu_power_watts.is_empty()
            || !self.gpu_temperature_celsius.is_empty()
    }

    fn series_mut(&mut self) -> [&mut Series; 7] {
        [
            &mut self.process_cpu_percent,
            &mut self.rss_mib,
            &mut self.gpu_utilization_percent,
            &mut self.gpu_memory_mib,
            &mut self.gpu_power_watts,
            &mut self.gpu_temperature_celsius,
            &mut self.gpu_sm_clock_mhz,
        ]
    }
}

/// Quartiles and whiskers of a run's measured step times, in milliseconds, for box plots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStats {
    /// Smallest step.
    pub min_ms: f64,
    /// First quartile.
    pub q1_ms: f64,
    /// Median.
    pub median_ms: f64,
    /// Third quartile.
    pub q3_ms: f64,
    /// Largest step.
    pub max_ms: f64,
}

impl BoxStats {
    /// The box of `step_secs`, or `None` when it is empty.
    pub fn of(step_secs: &[f64]) -> Option<Self> {
        crate::stats::box_stats(step_secs).as_ref().map(Self::from_secs)
    }

    /// The box of step-time statistics in seconds, in milliseconds.
    pub fn from_secs(stats: &crate::stats::BoxStats) -> Self {
        let ms = |secs: f64| secs * 1e3;
        Self {
            min_ms: ms(stats.min),
            q1_ms: ms(stats.q1),
            median_ms: ms(stats.median),
            q3_ms: ms(stats.q3),
            max_ms: ms(stats.max),
        }
    }
}

/// One planned run with what has arrived for it.
#[derive(Clone, Debug)]
pub struct LiveRun {
    /// Its place in the plan.
    pub planned: PlannedRun,
    /// Warm-up steps: x = step number counted back from the first measured step (−W … −1), y = ms.
    pub warmup: Series,
    /// Measured steps: x = step number from 0, y = ms.
    pub measured: Series,
    /// Telemetry on the run's clock.
    pub telemetry: TelemetrySeries,
    /// Where its result is in the session's finished runs, once the run ended.
    pub finished: Option<usize>,
    /// Box of the measured steps, refreshed as steps arrive.
    pub box_stats: Option<BoxStats>,
    box_of_len: usize,
    box_refreshed: Option<Instant>,
    measured_secs: Vec<f64>,
    started: Option<Instant>,
    duration_secs: Option<f64>,
    /// NVML index of the GPU the run uses, once it started.
    gpu_index: Option<u32>,
    /// Its comparison with the baseline as interleaved rounds came, oldest first.
    pub rounds: Vec<RoundsLook>,
    /// Text generation: where each prefill happened, on the steps' axis (just before the step
    /// it preceded), with its time to first token in ms.
    pub prefills: Vec<PlotPoint>,
    /// Image generation: where each text encoding and decode happened, on the steps' axis (just
    /// before the step it preceded), with its time in ms.
    pub stages: Vec<(PlotPoint, crate::runner::image::ImageStage)>,
}

/// A phase's comparison with its baseline over the interleaved rounds measured so far.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundsLook {
    /// Rounds measured.
    pub rounds: usize,
    /// The comparison over them.
    pub speedup: crate::stats::Speedup,
    /// Whether the group stopped here, every comparison decided.
    pub decided: bool,
}

impl LiveRun {
    fn new(planned: PlannedRun) -> Self {
        Self {
            planned,
            warmup: Series::default(),
            measured: Series::default(),
            telemetry: TelemetrySeries::default(),
            finished: None,
            box_stats: None,
            box_of_len: 0,
            box_refreshed: None,
            measured_secs: Vec::new(),
            started: None,
            duration_secs: None,
            gpu_index: None,
            rounds: Vec::new(),
            prefills: Vec::new(),
            stages: Vec::new(),
        }
    }

    /// Whether the run has started and not ended.
    pub fn is_running(&self) -> bool {
        self.started.is_some() && self.finished.is_none()
    }
}

/// Where a session stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionState {
    /// Runs are being measured.
    Running,
    /// Cancel was asked for; the current step finishes first.
    Cancelling,
    /// The suite ended (completed or cancelled) and its result is final.
    Finished(SuiteStatus),
    /// The worker died outside any run; what was measured is on disk.
    WorkerDied(String),
}

/// A suite running on the worker thread, as the app shows it.
pub struct LiveSession {
    handle: Option<RunnerHandle>,
    cancel: CancelToken,
    /// The suite as it runs.
    pub suite: Suite,
    /// Every planned run, once the plan arrived.
    pub runs: Vec<LiveRun>,
    /// Plan index of the run being measured.
    pub current: Option<usize>,
    /// Where results are written.
    pub result_dir: PathBuf,
    /// Runs finished so far, in order: the session's one copy of each result (what the compare
    /// view shows, while running and after).
    pub finished: Vec<RunResult>,
    /// Where the session stands.
    pub state: SessionState,
    /// Problems to show (a result file that could not be written).
    pub messages: Vec<String>,
    /// The final result once the worker ended, its runs moved into `finished`.
    ended: Option<SuiteResult>,
    started: Instant,
    ended_secs: Option<f64>,
}

impl LiveSession {
    /// Follows a suite the runner just started.
    pub fn new(suite: Suite, handle: RunnerHandle) -> Self {
        Self {
            cancel: handle.cancel_token(),
            result_dir: handle.result_dir().to_owned(),
            handle: Some(handle),
            suite,
            runs: Vec::new(),
            current: None,
            finished: Vec::new(),
            state: SessionState::Running,
            messages: Vec::new(),
            ended: None,
            started: Instant::now(),
            ended_secs: None,
        }
    }

    /// Asks the worker to stop after the current step.
    pub fn cancel(&mut self) {
        if self.state == SessionState::Running {
            self.cancel.cancel();
            self.state = SessionState::Cancelling;
        }
    }

    /// The result of a finished run of this session.
    pub fn result_of(&self, run: &LiveRun) -> Option<&RunResult> {
        self.finished.get(run.finished?)
    }

    /// Whether the worker ended and its final result is in.
    pub fn has_final_result(&self) -> bool {
        self.ended.is_some()
    }

    /// The final result (a copy with every run), once the worker ended.
    pub fn final_result(&self) -> Option<SuiteResult> {
        let ended = self.ended.as_ref()?;
        Some(SuiteResult { runs: self.finished.clone(), ..ended.clone() })
    }

    /// Whether the worker is still measuring, or has reported the end but not yet been joined
    /// (so that its final result is in place once this turns false).
    pub fn is_active(&self) -> bool {
        matches!(self.state, SessionState::Running | SessionState::Cancelling) || self.handle.is_some()
    }

    /// Handles the events waiting, for at most `budget`; returns whether there is more to do
    /// (events left, or a worker that reported the end and is still returning).
    pub fn drain(&mut self, budget: Duration) -> bool {
        let deadline = Instant::now() + budget;
        loop {
            let Some(handle) = &self.handle else { return false };
            match handle.events.try_recv() {
                Ok(event) => self.apply(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.collect_worker();
                    break;
                }
            }
            if Instant::now() >= deadline {
                self.refresh_display();
                return true;
            }
        }
        let mut waiting = false;
        if matches!(self.state, SessionState::Finished(_))
            && let Some(handle) = &self.handle
        {
            if handle.is_finished() {
                self.collect_worker();
            } else {
                // The worker sent its last event and is returning; look again next frame.
                waiting = true;
            }
        }
        self.refresh_display();
        waiting
    }

    /// Joins the ended worker and keeps its final result.
    fn collect_worker(&mut self) {
        let Some(handle) = self.handle.take() else { return };
        match handle.join() {
            Ok(mut result) => {
                if !matches!(self.state, SessionState::Finished(_)) {
                    self.state = SessionState::Finished(result.status);
                }
                // The worker's record is the authority; keep one copy of each run.
                self.finished = std::mem::take(&mut result.runs);
                for (position, finished) in self.finished.iter().enumerate() {
                    if let Some(run) = self.runs.get_mut(finished.index) {
                        run.finished = Some(position);
                    }
                }
                self.ended = Some(result);
            }
            Err(error) => self.state = SessionState::WorkerDied(error.to_string()),
        }
        self.ended_secs.get_or_insert(self.started.elapsed().as_secs_f64());
        self.current = None;
    }

    /// Applies one event from the worker.
    pub fn apply(&mut self, event: RunEvent) {
        match event {
            RunEvent::Planned { runs, result_dir } => {
                self.runs = runs.into_iter().map(LiveRun::new).collect();
                self.result_dir = result_dir;
            }
            RunEvent::RunStarted { index, gpu_index } => {
                self.current = Some(index);
                if let Some(run) = self.runs.get_mut(index) {
                    run.started = Some(Instant::now());
                    run.gpu_index = gpu_index;
                }
            }
            RunEvent::Steps { index, kind, step_secs } => {
                let warmup_steps = self.suite.settings.warmup_steps as f64;
                let Some(run) = self.runs.get_mut(index) else { return };
                for secs in step_secs {
                    match kind {
                        StepKind::Warmup => run.warmup.push(run.warmup.len() as f64 - warmup_steps, secs * 1e3),
                        StepKind::Measured => {
                            run.measured.push(run.measured.len() as f64, secs * 1e3);
                            run.measured_secs.push(secs);
                        }
                    }
                }
            }
            RunEvent::Prefill { index, kind, before_step, ttft_secs } => {
                let first = if kind == StepKind::Warmup { -(self.suite.settings.warmup_steps as f64) } else { 0.0 };
                if let Some(run) = self.runs.get_mut(index) {
                    run.prefills.push(PlotPoint::new(first + before_step as f64 - 0.5, ttft_secs * 1e3));
                }
            }
            RunEvent::Stage { index, kind, before_step, stage, secs } => {
                let first = if kind == StepKind::Warmup { -(self.suite.settings.warmup_steps as f64) } else { 0.0 };
                if let Some(run) = self.runs.get_mut(index) {
                    run.stages.push((PlotPoint::new(first + before_step as f64 - 0.5, secs * 1e3), stage));
                }
            }
            RunEvent::Telemetry { index, samples } => {
                if let Some(run) = self.runs.get_mut(index) {
                    for sample in &samples {
                        run.telemetry.push(sample, run.gpu_index);
                    }
                }
            }
            RunEvent::Rounds { index, rounds, speedup, decided } => {
                if let Some(run) = self.runs.get_mut(index) {
                    run.rounds.push(RoundsLook { rounds, speedup: *speedup, decided });
                }
            }
            RunEvent::RunFinished { result } => self.finish_run(*result),
            RunEvent::SaveFailed { message } => self.messages.push(format!("cannot save results: {message}")),
            RunEvent::SuiteFinished { status } => {
                self.state = SessionState::Finished(status);
                self.ended_secs = Some(self.started.elapsed().as_secs_f64());
                self.current = None;
            }
        }
    }

    fn finish_run(&mut self, result: RunResult) {
        if let Some(run) = self.runs.get_mut(result.index) {
            // The result is the authority: rebuild the lines from it (a live batch may be late).
            run.warmup.clear();
            run.measured.clear();
            let warmups = result.warmup_step_secs.len() as f64;
            for (i, secs) in result.warmup_step_secs.iter().enumerate() {
                run.warmup.push(i as f64 - warmups, secs * 1e3);
            }
            for (i, secs) in result.step_secs.iter().enumerate() {
                run.measured.push(i as f64, secs * 1e3);
            }
            run.measured_secs = result.step_secs.clone();
            run.box_stats = BoxStats::of(&run.measured_secs);
            run.box_of_len = run.measured_secs.len();
            run.duration_secs = run.started.map(|started| started.elapsed().as_secs_f64());
            run.finished = Some(self.finished.len());
        }
        self.finished.push(result);
    }

    /// Brings decimated display copies and box statistics up to date.
    fn refresh_display(&mut self) {
        for run in &mut self.runs {
            run.warmup.refresh_display();
            run.measured.refresh_display();
            for series in run.telemetry.series_mut() {
                series.refresh_display();
            }
            // Sorting a long run's steps is the costliest thing here: at most twice a second.
            let stale = run.box_of_len != run.measured_secs.len();
            let due = run.box_refreshed.is_none_or(|at| at.elapsed() >= Duration::from_millis(500));
            if stale && due {
                run.box_stats = BoxStats::of(&run.measured_secs);
                run.box_of_len = run.measured_secs.len();
                run.box_refreshed = Some(Instant::now());
            }
        }
    }

    /// Runs that ended (completed, failed, cancelled or skipped) and runs planned.
    pub fn progress(&self) -> (usize, usize) {
        (self.finished.len(), self.runs.len())
    }

    /// Seconds since the suite started (until it ended).
    pub fn elapsed_secs(&self) -> f64 {
        self.ended_secs.unwrap_or_else(|| self.started.elapsed().as_secs_f64())
    }

    /// Time left, from the budgets of the runs not finished (`max_secs` each) and the pace of the
    /// finished ones against theirs (load and warm-up included; an interleaved group's runs end
    /// together). `None` once the suite ended.
    pub fn time_left(&self) -> Option<TimeLeft> {
        if !self.is_active() {
            return None;
        }
        // When the last run ended, in seconds since the suite started.
        let finished: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|run| Some(run.started?.duration_since(self.started).as_secs_f64() + run.duration_secs?))
            .collect();
        let last_end = finished.iter().copied().fold(0.0, f64::max);
        let unfinished = self.runs.len().saturating_sub(finished.len());
        let since_last_end = (self.elapsed_secs() - last_end).max(0.0);
        let measured: f64 = self.finished.iter().map(|run| run.step_secs.iter().sum::<f64>()).sum();
        let settings = &self.suite.settings;
        Some(TimeLeft::of(
            settings.max_secs.max(settings.min_secs),
            (finished.len(), last_end, measured),
            unfinished,
            since_last_end,
        ))
    }

    /// The run being measured, or the last one that finished.
    pub fn focus_run(&self) -> Option<&LiveRun> {
        self.current.or_else(|| self.finished.last().map(|run| run.index)).and_then(|index| self.runs.get(index))
    }
}

/// How long a running suite has left, from the budgets of the runs still to go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeLeft {
    /// Seconds left if every run not finished measures for its whole budget, plus the preparation
    /// (build, warm-up, accuracy probe) that finished runs took on average; runs end sooner when
    /// their comparison is decided or they reach `max_steps`.
    pub at_most_secs: f64,
}

impl TimeLeft {
    /// From the per-run budget `budget_secs`; the runs finished, the seconds from the start until
    /// the last of them ended and the seconds they measured; the runs not finished; and the
    /// seconds since that end (spent on the runs not finished).
    pub fn of(
        budget_secs: f64,
        (finished, finished_secs, measured_secs): (usize, f64, f64),
        unfinished: usize,
        since_secs: f64,
    ) -> Self {
        let preparation = if finished == 0 { 0.0 } else { (finished_secs - measured_secs).max(0.0) / finished as f64 };
        Self { at_most_secs: (unfinished as f64 * (budget_secs + preparation) - since_secs).max(0.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20, item 6: the time left comes from the budgets of the runs still to go, not from
    /// how fast the first runs went (they stopped early, decided: "≈3.5 s left" with 24 s to go).
    #[test]
    fn the_time_left_comes_from_the_remaining_budgets() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // Nothing finished: every run left may take its budget.
        let start = TimeLeft::of(2.0, (0, 0.0, 0.0), 12, 0.5);
        assert!(close(start.at_most_secs, 23.5), "{start:?}");
        // Three runs decided early, ending at 2.64 s having measured 2.34 s between them: the six
        // left still have 2 s each, plus 0.1 s of preparation each; 1.3 s of it are spent.
        let later = TimeLeft::of(2.0, (3, 2.64, 2.34), 6, 1.3);
        assert!(close(later.at_most_secs, 6.0 * 2.1 - 1.3), "{later:?}");
        // Past the budget of the runs left: nothing is promised.
        assert!(close(TimeLeft::of(2.0, (3, 2.64, 2.34), 1, 5.0).at_most_secs, 0.0));
    }

    #[test]
    fn box_stats_are_quartiles_in_milliseconds() {
        let Some(stats) = BoxStats::of(&[0.005, 0.001, 0.004, 0.002, 0.003]) else { panic!("no box") };
        let got = [stats.min_ms, stats.q1_ms, stats.median_ms, stats.q3_ms, stats.max_ms];
        for (got, want) in got.iter().zip([1.0, 2.0, 3.0, 4.0, 5.0]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert_eq!(BoxStats::of(&[]), None);
    }
}
