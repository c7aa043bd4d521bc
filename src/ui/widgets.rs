//! Small pieces the panels share: colours, typed number fields with units and ranges, and the
//! explanations shown as tooltips on every metric.

use std::ops::RangeInclusive;
use std::str::FromStr;

use egui::{Color32, Stroke, StrokeKind};
use egui_plot::{BoxElem, BoxSpread, GridMark};

use crate::app::{BoxStats, Field, FieldKey, FieldState};
use crate::compare::Verdict;

/// Colour of invalid input and failures.
pub const ERROR_COLOR: Color32 = Color32::from_rgb(0xe0, 0x4b, 0x4b);

/// Colour of a phase in plots, by its index in the suite (stable while the suite runs).
pub fn phase_color(phase_index: usize) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(0x4c, 0x9b, 0xe8),
        Color32::from_rgb(0xf0, 0x8a, 0x24),
        Color32::from_rgb(0x3c, 0xb3, 0x71),
        Color32::from_rgb(0xd6, 0x4f, 0x9b),
        Color32::from_rgb(0x9a, 0x7b, 0xe0),
        Color32::from_rgb(0xc9, 0xb0, 0x2c),
        Color32::from_rgb(0x2c, 0xb5, 0xc0),
        Color32::from_rgb(0xa0, 0x6a, 0x4a),
    ];
    PALETTE[phase_index % PALETTE.len()]
}

/// Colour of a verdict: green faster, red slower, grey no change.
pub fn verdict_color(verdict: Verdict) -> Color32 {
    match verdict {
        Verdict::Faster => Color32::from_rgb(0x3c, 0xb3, 0x71),
        Verdict::Slower => ERROR_COLOR,
        Verdict::NoChange => Color32::GRAY,
        Verdict::Equivalent => Color32::from_rgb(0x5b, 0x9b, 0xd5),
        Verdict::Inconclusive => Color32::from_rgb(0xc8, 0xa0, 0x3c),
    }
}

/// A labelled text field holding a number of type `T` in `range`, with its unit after it.
/// Text that is not such a number stays on screen, outlined red with the reason below, and is
/// recorded in `fields` (which blocks Run). Returns the new value when valid text was typed.
#[allow(clippy::too_many_arguments)]
pub fn number_field<T>(
    ui: &mut egui::Ui,
    fields: &mut FieldState,
    field: Field,
    label: &str,
    unit: &str,
    hint: &str,
    range: RangeInclusive<T>,
    current: T,
) -> Option<T>
where
    T: FromStr + ToString + PartialOrd + Copy,
{
    let key = FieldKey::new(field);
    let mut accepted = None;
    ui.horizontal(|ui| {
        let label_response = ui.label(label).on_hover_text(hint);
        let text = fields.text.entry(key.clone()).or_insert_with(|| current.to_string());
        // A fixed id: a message appearing above the field must not hand its focus to another.
        let response = ui
            .add(egui::TextEdit::singleline(text).id(field_id(&key)).desired_width(90.0))
            .labelled_by(label_response.id)
            .on_hover_text(format!("{hint} ({} – {})", range.start().to_string(), range.end().to_string()));
        if !unit.is_empty() {
            ui.label(unit);
        }
        if response.changed() {
            match text.trim().parse::<T>() {
                Ok(value) if range.contains(&value) => {
                    fields.errors.remove(&key);
                    accepted = Some(value);
                }
                Ok(_) => {
                    fields.errors.insert(
                        key.clone(),
                        format!(
                            "{label} must be between {} and {}",
                            range.start().to_string(),
                            range.end().to_string()
                        ),
                    );
                }
                Err(_) => {
                    fields.errors.insert(key.clone(), format!("{label}: “{}” is not a number", text.trim()));
                }
            }
        }
        if fields.errors.contains_key(&key) || fields.problems.contains_key(key.path()) {
            outline_problem(ui, response.rect);
        }
    });
    // The field's own error first; else the suite's problem that names it (never a stale one:
    // both are replaced at every change).
    if let Some(error) = fields.errors.get(&key).or_else(|| fields.problems.get(key.path())) {
        ui.colored_label(ERROR_COLOR, error);
    }
    accepted
}

/// Outlines a field (its `rect`) whose value has a problem, in the error colour.
pub fn outline_problem(ui: &egui::Ui, rect: egui::Rect) {
    ui.painter().rect_stroke(rect.expand(1.0), 2.0, Stroke::new(1.5, ERROR_COLOR), StrokeKind::Outside);
}

/// The id of a form field's text edit: fixed by the field, not by the widgets drawn before it, so
/// focus and the cursor stay put when a message appears or goes above it.
pub fn field_id(key: &FieldKey) -> egui::Id {
    egui::Id::unique(("form field", key))
}

/// A labelled single-line text field; returns whether the text changed. A `problem` (e.g. the
/// name is used twice) outlines the field and is written under it.
pub fn text_field(
    ui: &mut egui::Ui,
    label: &str,
    hint: &str,
    text: &mut String,
    width: f32,
    problem: Option<&str>,
) -> bool {
    let changed = ui
        .horizontal(|ui| {
            let label_response = ui.label(label).on_hover_text(hint);
            // Labels are unique in the editor, so they name the field's fixed id.
            let id = egui::Id::unique(("text field", label));
            let response = ui
                .add(egui::TextEdit::singleline(text).id(id).desired_width(width))
                .labelled_by(label_response.id)
                .on_hover_text(hint);
            if problem.is_some() {
                outline_problem(ui, response.rect);
            }
            response.changed()
        })
        .inner;
    if let Some(problem) = problem {
        ui.colored_label(ERROR_COLOR, problem);
    }
    changed
}

/// What each metric of the compare table means, shown on its header.
pub const METRIC_HINTS: &[(&str, &str)] = &[
    ("Phase", "the optimization variant; the baseline is what the others are compared with"),
    ("Batch", "items per step"),
    ("Status", "completed, failed (with the reason), cancelled or skipped"),
    ("p50", "median step time with its 95 % bootstrap confidence interval"),
    ("p90", "90th-percentile step time: 1 step in 10 is slower"),
    ("p99", "99th-percentile step time: 1 step in 100 is slower"),
    (
        "Throughput",
        "items finished per second: batch items at the median step time; for generation, images at the median time of a whole generation",
    ),
    ("Speedup", "baseline time per item ÷ this phase's, with its 95 % CI (> 1 is faster)"),
    (
        "Verdict",
        "faster/slower only when the whole CI is beyond the noise threshold and a Mann-Whitney U test gives p < 0.05",
    ),
    ("Max abs err", "largest absolute difference of this phase's output from the baseline's on the same input"),
    ("Cosine", "cosine similarity of the output with the baseline's (1 = same direction)"),
    ("Accuracy", "pass when every output is finite and the cosine similarity is at least 0.999"),
    (
        "Run memory",
        "host memory the run itself held at its peak: weights in the phase's dtype, inputs, activations, gradients, optimizer state (not the shared f32 master)",
    ),
    (
        "Energy/step",
        "GPU energy per measured step, integrated over the steps themselves (not the gaps between them), and per item at batch > 1 (energy counter, else integrated power); needs NVML",
    ),
    ("Warnings", "reasons to distrust the timing (throttling, clock drops, other processes); hover for the fix"),
];

/// The explanation of a metric column.
pub fn metric_hint(name: &str) -> &'static str {
    METRIC_HINTS.iter().find(|(metric, _)| *metric == name).map_or("", |(_, hint)| hint)
}

/// An x-axis formatter for categories: grid marks at whole numbers are labelled with `names`
/// (position 0 is the first), every other mark is left blank.
pub fn category_formatter(names: Vec<String>) -> impl Fn(GridMark, &RangeInclusive<f64>) -> String {
    move |mark, _| {
        let nearest = mark.value.round();
        if (mark.value - nearest).abs() > 1e-6 || nearest < 0.0 {
            return String::new();
        }
        names.get(nearest as usize).cloned().unwrap_or_default()
    }
}

/// A box of step times (quartiles, median, fastest and slowest) at `position`, in `color`.
pub fn box_element(position: usize, stats: BoxStats, name: &str, color: Color32) -> BoxElem {
    let spread = BoxSpread::new(stats.min_ms, stats.q1_ms, stats.median_ms, stats.q3_ms, stats.max_ms);
    BoxElem::new(position as f64, spread)
        .name(name)
        .fill(color.gamma_multiply(0.3))
        .stroke(Stroke::new(1.5, color))
        .box_width(0.6)
}
