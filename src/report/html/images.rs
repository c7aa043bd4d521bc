//! The report's image generation panel: each run's decoded probe image (a PNG data URI, so the
//! report stays one offline file) beside its seconds per image as a bar stacked by stage (text
//! encoder, denoising steps, decode) and its PSNR/SSIM against the baseline's image.

use serde::Serialize;

use crate::results::RunResult;
use crate::units::format_secs;

/// One run's image and stages.
#[derive(Serialize)]
pub(super) struct ImageView {
    label: String,
    baseline: bool,
    /// Base64 PNG, when the run made its probe image.
    thumbnail: Option<String>,
    per_image: String,
    fidelity: String,
    segments: Vec<SegmentView>,
}

/// One stage's part of the stacked bar.
#[derive(Serialize)]
pub(super) struct SegmentView {
    name: &'static str,
    class: &'static str,
    time: String,
    /// Width as a percentage of the slowest run's image.
    percent: String,
}

/// The panel's entries for the image generation runs among `runs` (none for other runs).
pub(super) fn image_views(runs: &[&RunResult]) -> Vec<ImageView> {
    let widest = runs
        .iter()
        .filter_map(|run| super::super::image_stage_secs(run))
        .map(|stages| stages.iter().sum::<f64>())
        .fold(0.0, f64::max);
    runs.iter()
        .filter_map(|run| {
            let image = run.generation.as_ref()?.image.as_ref()?;
            let stages = super::super::image_stage_secs(run);
            let names = [("text encoder", "text-encoder"), ("denoising steps", "steps"), ("decode", "decode")];
            let segments = stages
                .map(|stages| {
                    names
                        .iter()
                        .zip(stages)
                        // No text-encoder stage where seeded embeddings stand for it (SD3, Flux).
                        .filter(|(_, secs)| *secs > 0.0)
                        .map(|(&(name, class), secs)| SegmentView {
                            name,
                            class,
                            time: format_secs(secs),
                            percent: format!("{:.2}", if widest > 0.0 { 100.0 * secs / widest } else { 0.0 }),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(ImageView {
                label: run.label(),
                baseline: run.is_baseline,
                thumbnail: image.thumbnail_png.clone(),
                per_image: super::super::per_image_text(run),
                fidelity: super::super::image_fidelity_text(run),
                segments,
            })
        })
        .collect()
}
