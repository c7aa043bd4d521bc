//! The compare view's image generation panel: each run's decoded probe image next to the
//! baseline's, its seconds per image as a bar stacked by stage (text encoder, denoising steps,
//! decode, to the scale of the slowest image) and its PSNR/SSIM against the baseline.

use egui::{Color32, RichText, Sense, Vec2};

use crate::results::RunResult;
use crate::units::format_secs;

/// Colours of the stages, as the HTML report draws them.
const STAGE_COLORS: [Color32; 3] =
    [Color32::from_rgb(0x8e, 0x6c, 0x8a), Color32::from_rgb(0x4c, 0x78, 0xa8), Color32::from_rgb(0xf5, 0x85, 0x18)];
const STAGE_NAMES: [&str; 3] = ["text encoder", "denoising steps", "decode"];
/// Side of a drawn thumbnail, in points.
const THUMBNAIL_SIDE: f32 = 112.0;
const BAR_WIDTH: f32 = 180.0;

/// The panel for the image generation runs among `runs` (nothing for other workloads).
pub fn image_runs_ui(ui: &mut egui::Ui, runs: &[&RunResult]) {
    let shown: Vec<&RunResult> =
        runs.iter().copied().filter(|run| run.generation.as_ref().is_some_and(|g| g.image.is_some())).collect();
    if shown.is_empty() {
        return;
    }
    let widest = shown
        .iter()
        .filter_map(|run| crate::report::image_stage_secs(run))
        .map(|stages| stages.iter().sum::<f64>())
        .fold(0.0, f64::max);
    ui.horizontal_wrapped(|ui| {
        for &run in &shown {
            ui.vertical(|ui| {
                ui.set_width(BAR_WIDTH + 8.0);
                thumbnail_ui(ui, run);
                ui.label(RichText::new(run.label()).strong().small());
                card_text_ui(ui, run);
                if let Some(stages) = crate::report::image_stage_secs(run) {
                    stage_bar_ui(ui, stages, widest);
                }
            });
        }
    });
    // No text-encoder stage where seeded embeddings stand for the encoders (SD3, Flux).
    let encoded_text = shown.iter().any(|run| run.generation.as_ref().is_some_and(|g| !g.text_encoder_secs.is_empty()));
    ui.horizontal(|ui| {
        for (name, color) in STAGE_NAMES.iter().zip(STAGE_COLORS).skip(usize::from(!encoded_text)) {
            let (swatch, _) = ui.allocate_exact_size(Vec2::splat(9.0), Sense::hover());
            ui.painter().rect_filled(swatch, 0.0, color);
            ui.label(RichText::new(*name).small());
        }
        ui.label(RichText::new("— bars to the scale of the slowest image").small().weak());
    });
}

/// The run's probe image, decoded once and kept as a texture in egui's memory.
fn thumbnail_ui(ui: &mut egui::Ui, run: &RunResult) {
    let encoded = run.generation.as_ref().and_then(|g| g.image.as_ref()).and_then(|image| image.thumbnail_png.as_ref());
    let Some(encoded) = encoded else {
        ui.label(RichText::new("no image").weak());
        return;
    };
    let id = egui::Id::unique(("thumbnail", encoded.as_str()));
    let texture = ui.ctx().data_mut(|data| data.get_temp::<Option<egui::TextureHandle>>(id));
    let texture = texture.unwrap_or_else(|| {
        let decoded = crate::runner::image::decode_thumbnail(encoded).map(|(width, height, rgb)| {
            let image = egui::ColorImage::from_rgb([width, height], &rgb);
            ui.ctx().load_texture(format!("thumbnail {}", run.label()), image, egui::TextureOptions::NEAREST)
        });
        ui.ctx().data_mut(|data| data.insert_temp(id, decoded.clone()));
        decoded
    });
    match texture {
        Some(texture) => {
            let size = texture.size_vec2();
            let scale = THUMBNAIL_SIDE / size.x.max(size.y).max(1.0);
            ui.add(egui::Image::new(&texture).fit_to_exact_size(size * scale))
                .on_hover_text(format!("{}: the probe's first image", run.label()));
        }
        None => {
            ui.label(RichText::new("unreadable image").weak());
        }
    }
}

/// Seconds per image (with the ratio to the baseline's) and the image against the baseline's.
fn card_text_ui(ui: &mut egui::Ui, run: &RunResult) {
    ui.label(RichText::new(crate::report::per_image_text(run)).small());
    ui.label(RichText::new(crate::report::image_fidelity_text(run)).small().weak());
}

/// One bar: the stages side by side, each as wide as its share of the slowest image.
fn stage_bar_ui(ui: &mut egui::Ui, stages: [f64; 3], widest: f64) {
    let (rect, response) = ui.allocate_exact_size(Vec2::new(BAR_WIDTH, 10.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().faint_bg_color);
    let mut left = rect.left();
    for (secs, color) in stages.iter().zip(STAGE_COLORS).filter(|(secs, _)| **secs > 0.0) {
        let width = if widest > 0.0 { (secs / widest) as f32 * BAR_WIDTH } else { 0.0 };
        let segment = egui::Rect::from_min_size(egui::pos2(left, rect.top()), Vec2::new(width.max(1.0), rect.height()));
        painter.rect_filled(segment, 0.0, color);
        left += width;
    }
    let text: Vec<String> =
        STAGE_NAMES.iter().zip(stages).map(|(name, secs)| format!("{name} {}", format_secs(secs))).collect();
    response.on_hover_text(text.join(" · "));
}
