//! Frame times while a suite runs (`--frame-stats`): the app's own performance check.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::PhasebenchApp;

/// Frame times measured while a suite runs, for the performance check.
#[derive(Clone, Debug, Default)]
pub struct FrameTimes {
    /// CPU seconds of each frame (UI and rendering, as eframe reports it), during runs.
    pub frame_secs: Vec<f64>,
    /// Plotted points in the frame with the most.
    pub max_plotted_points: usize,
    /// Whether the frame now being drawn began while a suite ran.
    pub previous_frame_ran_during_run: bool,
    /// CPU seconds of each frame that handled typing (a key or text event), running or not.
    pub typing_frame_secs: Vec<f64>,
    /// Whether the frame now being drawn handled typing.
    pub previous_frame_typed: bool,
    /// CPU seconds of each other frame outside runs (mouse moves, key releases): the control for
    /// the typing frames.
    pub other_frame_secs: Vec<f64>,
}

/// Frame-time statistics written by `--frame-stats`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FrameStats {
    /// Frames measured (while the suite ran).
    pub frames: usize,
    /// Median frame time in milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile frame time in milliseconds.
    pub p99_ms: f64,
    /// Longest frame in milliseconds.
    pub max_ms: f64,
    /// Most step-time points the live plots held in one frame.
    pub max_plotted_points: usize,
    /// Frames that took longer than 16 ms (one frame at 60 Hz).
    pub frames_over_16_ms: usize,
    /// Every frame time in milliseconds, in order.
    pub frame_ms: Vec<f64>,
    /// The result directory of the run.
    pub result_dir: Option<PathBuf>,
    /// Frames that handled typing (a key or text event), whether a suite ran or not.
    #[serde(default)]
    pub typing_frames: usize,
    /// Median time of a typing frame in milliseconds.
    #[serde(default)]
    pub typing_p50_ms: f64,
    /// 99th-percentile time of a typing frame in milliseconds.
    #[serde(default)]
    pub typing_p99_ms: f64,
    /// Longest typing frame in milliseconds.
    #[serde(default)]
    pub typing_max_ms: f64,
    /// Frames outside runs that handled no typing (the control for the typing frames).
    #[serde(default)]
    pub other_frames: usize,
    /// Median time of those frames in milliseconds.
    #[serde(default)]
    pub other_p50_ms: f64,
    /// 99th-percentile time of those frames in milliseconds.
    #[serde(default)]
    pub other_p99_ms: f64,
}

impl PhasebenchApp {
    /// Records the time of the previous frame (UI and rendering, as eframe measures it) when that
    /// whole frame ran while a suite was running; the frame that started the run is not counted.
    pub fn record_frame(&mut self, previous_frame_secs: Option<f32>, plotted_points: usize) {
        if self.frame_times.previous_frame_ran_during_run
            && self.is_running()
            && let Some(secs) = previous_frame_secs
        {
            self.frame_times.frame_secs.push(f64::from(secs));
            self.frame_times.max_plotted_points = self.frame_times.max_plotted_points.max(plotted_points);
        }
        self.frame_times.previous_frame_ran_during_run = self.is_running();
        if let Some(secs) = previous_frame_secs {
            if self.frame_times.previous_frame_typed {
                self.frame_times.typing_frame_secs.push(f64::from(secs));
            } else if !self.is_running() {
                self.frame_times.other_frame_secs.push(f64::from(secs));
            }
        }
    }

    /// Frame-time statistics of the last run.
    pub fn frame_stats(&self) -> FrameStats {
        let frames = Milliseconds::of(&self.frame_times.frame_secs);
        let typing = Milliseconds::of(&self.frame_times.typing_frame_secs);
        let other = Milliseconds::of(&self.frame_times.other_frame_secs);
        FrameStats {
            frames: frames.sorted.len(),
            p50_ms: frames.quantile(0.5),
            p99_ms: frames.quantile(0.99),
            max_ms: frames.quantile(1.0),
            max_plotted_points: self.frame_times.max_plotted_points,
            frames_over_16_ms: frames.sorted.iter().filter(|&&ms| ms > 16.0).count(),
            frame_ms: self.frame_times.frame_secs.iter().map(|secs| secs * 1e3).collect(),
            result_dir: self.session.as_ref().map(|session| session.result_dir.clone()),
            typing_frames: typing.sorted.len(),
            typing_p50_ms: typing.quantile(0.5),
            typing_p99_ms: typing.quantile(0.99),
            typing_max_ms: typing.quantile(1.0),
            other_frames: other.sorted.len(),
            other_p50_ms: other.quantile(0.5),
            other_p99_ms: other.quantile(0.99),
        }
    }

    pub(super) fn write_frame_stats(&mut self) {
        let Some(path) = self.config.frame_stats.clone() else { return };
        if self.frame_stats_written {
            return;
        }
        self.frame_stats_written = true;
        let written =
            serde_json::to_string_pretty(&self.frame_stats()).map_err(|error| error.to_string()).and_then(|text| {
                crate::atomic_file::write_atomically(&path, text.as_bytes()).map_err(|error| error.to_string())
            });
        if let Err(error) = written {
            self.status = format!("cannot write frame stats to {}: {error}", path.display());
        }
    }
}

/// Frame times in milliseconds, sorted, for their quantiles (0 when there are none).
struct Milliseconds {
    sorted: Vec<f64>,
}

impl Milliseconds {
    fn of(secs: &[f64]) -> Self {
        let mut sorted: Vec<f64> = secs.iter().map(|secs| secs * 1e3).collect();
        sorted.sort_by(f64::total_cmp);
        Self { sorted }
    }

    fn quantile(&self, q: f64) -> f64 {
        if self.sorted.is_empty() { 0.0 } else { crate::stats::quantile_sorted(&self.sorted, q) }
    }
}
