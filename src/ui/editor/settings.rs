//! The settings form: how long each run measures, and how runs are compared.

use crate::app::{Field, SuiteDocument};
use crate::suite::{InterleavedSpec, NoiseThreshold, Schedule};

use super::super::widgets::number_field;

/// A number field bound to a setting: sets it and `changed` when valid text was typed.
/// The hint beside a fraction field, from its value: `(0.15 = 15 %)`.
fn percent_hint(fraction: f64) -> String {
    format!("({fraction} = {} %)", (fraction * 1e4).round() / 1e2)
}

macro_rules! field {
    ($ui:expr, $fields:expr, $changed:expr, $value:expr, $key:expr, $label:literal, $unit:expr, $hint:literal, $range:expr) => {
        if let Some(value) = number_field($ui, $fields, $key, $label, &$unit, $hint, $range, $value) {
            $value = value;
            $changed = true;
        }
    };
}

pub(super) fn settings_form_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    ui.strong("Settings");
    let mut changed = budget_fields_ui(ui, document);
    changed |= comparison_fields_ui(ui, document);
    changed |= schedule_fields_ui(ui, document);
    changed |= accuracy_fields_ui(ui, document);
    changed
}

/// Interleaved rounds or one phase after another, and the length of a round's block.
fn schedule_fields_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    let mut interleaved = matches!(settings.schedule, Schedule::Interleaved(_));
    if ui
        .checkbox(&mut interleaved, "Interleave phases in rounds")
        .on_hover_text(
            "measure the phases of a workload in rounds of short blocks in a random order, with a second baseline block as the A/A control, so a drift of the machine falls on every phase alike; off: one phase after another",
        )
        .changed()
    {
        settings.schedule =
            if interleaved { Schedule::Interleaved(InterleavedSpec::default()) } else { Schedule::Sequential };
        if !interleaved && settings.noise_threshold.auto_multiple().is_some() {
            // Auto needs the rounds' A/A control; one phase after another keeps a fixed band.
            settings.noise_threshold = NoiseThreshold::Fixed(NoiseThreshold::AUTO_FALLBACK);
            fields.forget(Field::Setting("noise_threshold"));
        }
        changed = true;
    }
    if let Schedule::Interleaved(spec) = &mut settings.schedule {
        field!(
            ui,
            fields,
            changed,
            spec.block_ms,
            Field::Setting("block_ms"),
            "Round block",
            "ms",
            "how long each phase runs in a round (at least one step; whole generations)",
            1..=60_000
        );
    }
    changed
}

/// The noise threshold: a fixed fraction, or `Auto` — a multiple of the A/A control's resolution
/// (interleaved rounds only).
fn noise_threshold_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    let interleaved = matches!(settings.schedule, Schedule::Interleaved(_));
    let mut auto = settings.noise_threshold.auto_multiple().is_some();
    let toggle = ui.add_enabled(interleaved, egui::Checkbox::new(&mut auto, "Noise threshold from the A/A control"));
    if toggle
        .on_hover_text("Auto: the band within which a phase counts as the baseline's speed is a multiple of the smallest change the group's budget can resolve, measured by its own A/A control, so it fits this machine's noise; needs interleaved rounds")
        .on_disabled_hover_text("needs interleaved rounds: the A/A control is measured in them")
        .changed()
    {
        settings.noise_threshold = if auto {
            NoiseThreshold::Auto { multiple: NoiseThreshold::DEFAULT_AUTO_MULTIPLE }
        } else {
            NoiseThreshold::Fixed(NoiseThreshold::AUTO_FALLBACK)
        };
        // The field now holds a multiple instead of a fraction, or back.
        fields.forget(Field::Setting("noise_threshold"));
        changed = true;
    }
    match &mut settings.noise_threshold {
        NoiseThreshold::Fixed(fraction) => field!(
            ui,
            fields,
            changed,
            *fraction,
            Field::Setting("noise_threshold"),
            "Noise threshold",
            percent_hint(*fraction),
            "changes between phases smaller than this count as no change",
            0.0..=1.0
        ),
        NoiseThreshold::Auto { multiple } => field!(
            ui,
            fields,
            changed,
            *multiple,
            Field::Setting("noise_threshold"),
            "Noise threshold",
            "× A/A resolution",
            "the band is this many times the resolution the group's budget buys (estimated from the A/A control's rounds, projected to the planned rounds); each comparison reports the band it got",
            0.01..=100.0
        ),
    }
    changed
}

/// The accuracy check's bounds: how close a phase's output must stay to the baseline's.
fn accuracy_fields_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    field!(
        ui,
        fields,
        changed,
        settings.accuracy.min_cosine,
        Field::Setting("accuracy.min_cosine"),
        "Accuracy: min cosine",
        "",
        "a phase's output passes when its cosine similarity with the baseline's is at least this",
        -1.0..=1.0
    );
    field!(
        ui,
        fields,
        changed,
        settings.accuracy.max_relative_error,
        Field::Setting("accuracy.max_relative_error"),
        "Accuracy: max relative error",
        percent_hint(settings.accuracy.max_relative_error),
        "…and its relative error ‖phase − baseline‖ / ‖baseline‖ at most this (for training: each step's loss)",
        0.0..=1e6
    );
    // Language models only: the share of next tokens that must be the baseline's.
    let generates_text =
        document.suite.workloads.iter().any(|workload| matches!(workload.mode, crate::suite::Mode::TextGeneration(_)));
    if generates_text {
        field!(
            ui,
            fields,
            changed,
            settings.accuracy.min_top1_agreement,
            Field::Setting("accuracy.min_top1_agreement"),
            "Accuracy: min top-1 agreement",
            percent_hint(settings.accuracy.min_top1_agreement),
            "text generation: the share of positions whose most likely next token is the baseline's, at least this",
            0.0..=1.0
        );
    }
    changed
}

/// Warm-up and how long each run measures.
fn budget_fields_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    field!(
        ui,
        fields,
        changed,
        settings.warmup_steps,
        Field::Setting("warmup_steps"),
        "Warm-up",
        "steps",
        "steps run before measuring; kept apart, never in statistics",
        0..=100_000
    );
    field!(
        ui,
        fields,
        changed,
        settings.min_steps,
        Field::Setting("min_steps"),
        "Min steps",
        "steps",
        "a run measures at least this many steps (unless max seconds runs out)",
        1..=10_000_000
    );
    field!(
        ui,
        fields,
        changed,
        settings.max_steps,
        Field::Setting("max_steps"),
        "Max steps",
        "steps",
        "a run stops after this many measured steps",
        2..=10_000_000
    );
    field!(
        ui,
        fields,
        changed,
        settings.min_secs,
        Field::Setting("min_secs"),
        "Min time",
        "s",
        "a run measures at least this long (unless max steps is reached)",
        0.0..=86_400.0
    );
    field!(
        ui,
        fields,
        changed,
        settings.max_secs,
        Field::Setting("max_secs"),
        "Max time",
        "s",
        "a run stops measuring after this long",
        0.001..=86_400.0
    );
    changed
}

/// Seed, thresholds, timeout, telemetry and cold caches.
fn comparison_fields_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    field!(
        ui,
        fields,
        changed,
        settings.seed,
        Field::Setting("seed"),
        "Seed",
        "",
        "seed of weights, inputs and bootstrap resampling",
        0..=u64::MAX
    );
    changed |= noise_threshold_ui(ui, document);
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    field!(
        ui,
        fields,
        changed,
        settings.regression_threshold,
        Field::Setting("regression_threshold"),
        "Regression threshold",
        percent_hint(settings.regression_threshold),
        "against a saved result (compare, run --baseline), changes smaller than this count as unchanged: separate runs also differ by the machine's state",
        0.0..=1.0
    );
    field!(
        ui,
        fields,
        changed,
        settings.run_timeout_secs,
        Field::Setting("run_timeout_secs"),
        "Run timeout",
        "s",
        "a run still going after this long (a hung step) is abandoned as timed out; the suite goes on",
        0.001..=1e7
    );
    field!(
        ui,
        fields,
        changed,
        settings.telemetry_interval_ms,
        Field::Setting("telemetry_interval_ms"),
        "Telemetry every",
        "ms",
        "how often GPU and host figures are sampled during a run",
        10..=60_000
    );
    changed |= ui
        .checkbox(&mut settings.flush_cache_between_steps, "Cold caches (flush between steps)")
        .on_hover_text(
            "overwrite a buffer larger than the GPU's L2 / the CPU's last-level cache before every step, outside the timed region",
        )
        .changed();
    changed
}
