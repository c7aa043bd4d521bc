//! What a generation run records besides its steps: whole generations (a DiT's or an image
//! pipeline's) and, for image generation, its stages, what it made and how it compares per image.

use serde::{Deserialize, Serialize};

/// Timing of whole generations (each `steps_per_generation` measured denoising steps).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Denoising steps per generation.
    pub steps_per_generation: usize,
    /// Time of each complete measured generation, in seconds: the sum of its timed denoising steps
    /// (files written before that fix hold wall time, cache flushes between steps included).
    pub generation_secs: Vec<f64>,
    /// Image generation: seconds of each measured generation's text encoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_encoder_secs: Vec<f64>,
    /// Image generation: seconds of each measured generation's decode to pixels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decode_secs: Vec<f64>,
    /// Image generation: what each generation made, and the probe's first image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRecord>,
}

/// What an image generation run generated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Classifier-free guidance scale (at 1 or below, off).
    pub guidance: f64,
    /// The scheduler's name.
    pub scheduler: String,
    /// Images in the probe generation compared with the baseline's.
    pub probe_images: usize,
    /// The probe's first decoded image as a PNG, base64-encoded (at most 128 pixels a side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_png: Option<String>,
    /// Seconds per image against the baseline run's at the same batch size: the ratio of the
    /// medians (> 1: this phase makes images faster) with its 95 % bootstrap interval. It is what
    /// a phase that changes the steps, the size or the guidance buys, which the per-step speedup
    /// does not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_image_speedup: Option<PerImageSpeedup>,
}

/// A ratio of seconds per image with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerImageSpeedup {
    /// Baseline median ÷ this run's median.
    pub ratio: f64,
    /// Lower end of the 95 % interval.
    pub low: f64,
    /// Upper end of the 95 % interval.
    pub high: f64,
    /// Faster or slower beyond the suite's noise threshold (the interval beyond it and the rank
    /// test significant, as a step-level comparison judges), else no change; absent in results
    /// from before it was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::stats::Verdict>,
}

impl PerImageSpeedup {
    /// "1.55× [1.45–1.64] faster".
    pub fn text(&self) -> String {
        let verdict = self.verdict.map(|verdict| format!(" {verdict}")).unwrap_or_default();
        format!("{:.2}× [{:.2}–{:.2}]{verdict}", self.ratio, self.low, self.high)
    }
}

impl ImageRecord {
    /// The probe output's layout: decoded images `[probe_images, 3, height, width]` first, then
    /// the final latent.
    pub fn probe_image_shape(&self) -> [usize; 4] {
        [self.probe_images, 3, self.height, self.width]
    }
}
