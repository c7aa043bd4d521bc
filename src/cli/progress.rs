//! Progress on stderr while a suite runs: a bar over runs, a live line for the current run, and a
//! line per finished run (printed plainly when stderr is not a terminal).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use phasebench::results::RunStatus;
use phasebench::runner::{PlannedRun, RunEvent, StepKind};
use phasebench::telemetry::TelemetrySample;

use super::table::format_secs;

pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    current: ProgressBar,
    interactive: bool,
    runs: Vec<PlannedRun>,
    warmup_steps: usize,
    measured_steps: usize,
    /// What the current run is doing.
    activity: String,
    /// The latest telemetry, e.g. `CPU 195% RSS 48 MiB`.
    live: String,
}

impl Progress {
    pub fn new() -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} runs")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let current = multi.add(ProgressBar::new_spinner());
        current.enable_steady_tick(Duration::from_millis(120));
        Self {
            multi,
            overall,
            current,
            interactive: std::io::stderr().is_terminal(),
            runs: Vec::new(),
            warmup_steps: 0,
            measured_steps: 0,
            activity: String::new(),
            live: String::new(),
        }
    }

    fn show(&self) {
        if self.live.is_empty() {
            self.current.set_message(self.activity.clone());
        } else {
            self.current.set_message(format!("{}  |  {}", self.activity, self.live));
        }
    }

    /// Prints a line above the bars (or plainly when stderr is not a terminal).
    pub fn println(&self, line: &str) {
        if self.interactive {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    fn label(&self, index: usize) -> String {
        self.runs.get(index).map_or_else(|| format!("run {index}"), PlannedRun::label)
    }

    pub fn handle(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Planned { runs, result_dir } => {
                self.runs = runs.clone();
                self.overall.set_length(runs.len() as u64);
                self.println(&format!("{} runs; results go to {}", runs.len(), result_dir.display()));
            }
            RunEvent::RunStarted { index, .. } => {
                self.warmup_steps = 0;
                self.measured_steps = 0;
                self.activity = format!("{}: building the model", self.label(*index));
                self.show();
            }
            RunEvent::Steps { index, kind, step_secs } => {
                let last = step_secs.last().copied().unwrap_or_default();
                let message = match kind {
                    StepKind::Warmup => {
                        self.warmup_steps += step_secs.len();
                        format!(
                            "{}: warm-up step {}, last {}",
                            self.label(*index),
                            self.warmup_steps,
                            format_secs(last)
                        )
                    }
                    StepKind::Measured => {
                        self.measured_steps += step_secs.len();
                        format!(
                            "{}: {} steps measured, last {}",
                            self.label(*index),
                            self.measured_steps,
                            format_secs(last)
                        )
                    }
                };
                self.activity = message;
                self.show();
            }
            RunEvent::Prefill { index, ttft_secs, .. } => {
                self.activity =
                    format!("{}: prefill, time to first token {}", self.label(*index), format_secs(*ttft_secs));
                self.show();
            }
            RunEvent::Stage { index, stage, secs, .. } => {
                self.activity = format!("{}: {stage} took {}", self.label(*index), format_secs(*secs));
                self.show();
            }
            RunEvent::Telemetry { samples, .. } => {
                if let Some(sample) = samples.last() {
                    self.live = live_text(sample);
                    self.show();
                }
            }
            RunEvent::RunFinished { result } => {
                self.overall.inc(1);
                let label = self.label(result.index);
                let line = match &result.status {
                    RunStatus::Failed { reason } => format!("FAILED    {label}: {reason}"),
                    RunStatus::Cancelled => format!("cancelled {label} after {} steps", result.step_secs.len()),
                    RunStatus::Skipped { reason } => format!("skipped   {label}: {reason}"),
                    RunStatus::Completed => match &result.summary {
                        Some(summary) => format!(
                            "done      {label}: {} steps, median {}",
                            summary.count,
                            format_secs(summary.median)
                        ),
                        None => format!(
                            "done      {label}: {}",
                            result.notes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                        ),
                    },
                };
                self.println(&line);
            }
            RunEvent::Rounds { index, rounds, speedup, decided } => {
                let line = format!(
                    "{}: round {rounds}, {} {}",
                    self.label(*index),
                    speedup.ratio_text(),
                    if *decided { format!("decided: {}", speedup.verdict) } else { speedup.verdict.to_string() }
                );
                if *decided {
                    self.println(&line);
                } else {
                    self.activity = line;
                    self.show();
                }
            }
            RunEvent::SaveFailed { .. } | RunEvent::SuiteFinished { .. } => {}
        }
    }

    pub fn finish(&self) {
        self.current.finish_and_clear();
        self.overall.finish_and_clear();
    }
}

/// The figures a user watches while a run measures: the GPU's when there is one, else the CPU's.
fn live_text(sample: &TelemetrySample) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let gpus: Vec<String> = sample
        .gpus
        .iter()
        .map(|gpu| {
            let mut parts = vec![format!("GPU{}", gpu.index)];
            parts.extend(gpu.utilization_gpu_percent.map(|u| format!("{u:.0}%")));
            parts.extend(gpu.memory_used_bytes.map(|b| format!("{:.0} MiB", b as f64 / MIB)));
            parts.extend(gpu.power_watts.map(|w| format!("{w:.0} W")));
            parts.join(" ")
        })
        .collect();
    if !gpus.is_empty() {
        return gpus.join(", ");
    }
    let host = &sample.host;
    let cpu = host.process_cpu_percent.map_or_else(|| "CPU ?".to_owned(), |c| format!("CPU {c:.0}%"));
    let rss = host.process_rss_bytes.map_or_else(|| "RSS ?".to_owned(), |b| format!("RSS {:.0} MiB", b as f64 / MIB));
    format!("{cpu} {rss}")
}
