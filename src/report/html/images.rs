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
                        .map(|(&(name, class), secs)| SegmentView {
                            name,
                            class,
                            time: format_secs(secs),
                            percent: format!("{:.2}", if widest > 0.0 { 100.0 * secs / widest } else { 0.0 }),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let fidelity = match run.accuracy.as_ref().and_then(|accuracy| accuracy.image.as_ref()) {
                _ if run.is_baseline => "the reference image".to_owned(),
                Some(fidelity) => {
                    let psnr =
                        fidelity.psnr_db.map_or_else(|| "identical".to_owned(), |psnr| format!("PSNR {psnr:.1} dB"));
                    let ssim = fidelity.ssim.map(|ssim| format!(" · SSIM {ssim:.4}")).unwrap_or_default();
                    format!("{psnr}{ssim}")
                }
                None => "not compared".to_owned(),
            };
            Some(ImageView {
                label: run.label(),
                baseline: run.is_baseline,
                thumbnail: image.thumbnail_png.clone(),
                per_image: crate::stats::median(&run.generation.as_ref()?.generation_secs).map_or_else(
                    |_| "no whole image measured".to_owned(),
                    |secs| {
                        let against = image
                            .per_image_speedup
                            .map(|s| format!(" · {:.2}× [{:.2}–{:.2}]", s.ratio, s.low, s.high))
                            .unwrap_or_default();
                        format!("{} per image{against}", format_secs(secs))
                    },
                ),
                fidelity,
                segments,
            })
        })
        .collect()
}
