//! Checks a parsed suite for problems the parser cannot see: duplicate names, a baseline that
//! does not exist, sizes out of range and inconsistent measurement bounds.

use std::collections::HashSet;

use super::model_checks::{check_dimension, check_mode, check_model};
use super::{AccuracyBounds, DeviceSpec, Mode, ModelSpec, NoiseThreshold, Schedule, Suite, TextPosition, Workload};

/// Largest value accepted for a single model dimension or batch size.
pub const MAX_DIMENSION: usize = 1 << 20;

/// Largest number of layers accepted for a layered model.
pub const MAX_LAYERS: usize = 10_000;

/// One thing wrong with a suite, with where it stands in the file when that can be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, when known.
    pub position: Option<TextPosition>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Returns every problem in `suite`; `text` is the file it came from, used to locate names.
pub fn validate(suite: &Suite, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |position: Option<TextPosition>, message: String| {
        problems.push(Problem { position, message });
    };

    if suite.version == 0 {
        report(find_field(text, "version", 0), "`version` must be 1 or more".into());
    }
    if suite.name.trim().is_empty() {
        report(find_field(text, "name", 0), "the suite `name` is empty".into());
    }
    check_settings(suite, text, &mut report);

    check_workloads(suite, text, &mut report);
    check_phases(suite, text, &mut report);
    check_targets(suite, text, &mut report);
    problems.sort_by_key(|problem| problem.position.map(|p| (p.line, p.col)).unwrap_or((usize::MAX, 0)));
    problems
}

fn check_workloads(suite: &Suite, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    if suite.workloads.is_empty() {
        report(find_field(text, "workloads", 0), "the suite has no workloads; add at least one".into());
    }
    let mut seen = HashSet::new();
    for (index, workload) in suite.workloads.iter().enumerate() {
        // Located only when there is a problem: searching the text for every workload is what
        // made checking a 1 000-workload suite slow.
        let at = || find_name(text, &workload.name, 0);
        if workload.name.trim().is_empty() {
            report(at(), format!("workload #{} has an empty name", index + 1));
        } else if !seen.insert(workload.name.as_str()) {
            report(
                find_name(text, &workload.name, 1),
                format!("workload name `{}` is used twice; names must be unique", workload.name),
            );
        }
        check_workload(suite, workload, text, &mut *report);
    }
}

/// Batch sizes or sweep, model sizes and mode of one workload.
fn check_workload(
    suite: &Suite,
    workload: &Workload,
    text: &str,
    report: &mut impl FnMut(Option<TextPosition>, String),
) {
    let at = || find_name(text, &workload.name, 0);
    if let Some(sweep) = workload.batch_sweep {
        if workload.batch_sizes != [1] {
            report(
                at(),
                format!("workload `{}` has both `batch_sizes` and `batch_sweep`; give one of them", workload.name),
            );
        }
        if sweep.from == 0 || sweep.to < sweep.from || sweep.factor < 2 || sweep.to > MAX_DIMENSION {
            report(
                at(),
                format!(
                    "workload `{}`: `batch_sweep` needs 1 <= from <= to <= {MAX_DIMENSION} and factor >= 2 (got from {}, to {}, factor {})",
                    workload.name, sweep.from, sweep.to, sweep.factor
                ),
            );
        }
    }
    if workload.batch_sizes.is_empty() {
        report(at(), format!("workload `{}` has no batch sizes; give at least one, e.g. [1]", workload.name));
    }
    for &batch in &workload.batch_sizes {
        if let Some(message) = check_dimension("batch size", batch) {
            report(at(), format!("workload `{}`: {message}", workload.name));
        }
    }
    let messages = check_model(&workload.model).into_iter().chain(check_mode(workload.mode, &workload.model));
    for message in messages.chain(super::model_file::workload_file_problems(workload)) {
        report(at(), format!("workload `{}`: {message}", workload.name));
    }
    if workload.model.is_language_model() || suite.phases.iter().any(|phase| phase.gguf.is_some()) {
        for phase in &suite.phases {
            let batches = phase.batch_size.map_or_else(|| workload.effective_batch_sizes(), |batch| vec![batch]);
            let mut messages = super::file_phase_problems(&workload.model, phase, &batches);
            if let ModelSpec::Llm(spec) = &workload.model {
                messages.extend(spec.phase_problems(phase, &batches));
            }
            for message in messages {
                report(at(), format!("workload `{}`{message}", workload.name));
            }
        }
    }
    if let Mode::ImageGeneration(generation) = &workload.mode {
        for phase in &suite.phases {
            for message in super::diffusion::image_phase_problems(generation, phase, &workload.model) {
                report(at(), format!("workload `{}`{message}", workload.name));
            }
        }
    }
    if let ModelSpec::Vision(spec) = &workload.model {
        for phase in &suite.phases {
            let batches = phase.batch_size.map_or_else(|| workload.effective_batch_sizes(), |batch| vec![batch]);
            for message in spec.phase_problems(phase, &batches) {
                report(at(), format!("workload `{}`{message}", workload.name));
            }
        }
    }
    if matches!(workload.mode, Mode::Training(_)) {
        for phase in suite.phases.iter().filter(|phase| phase.quantization.is_some()) {
            report(
                at(),
                format!(
                    "workload `{}` trains, but phase `{}` quantizes its weights; quantized weights cannot be trained (drop the quantization or use Inference)",
                    workload.name, phase.name
                ),
            );
        }
    }
}

fn check_phases(suite: &Suite, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    if suite.phases.is_empty() {
        report(find_field(text, "phases", 0), "the suite has no phases; add at least one".into());
    }
    let mut seen = HashSet::new();
    for (index, phase) in suite.phases.iter().enumerate() {
        if phase.name.trim().is_empty() {
            report(find_field(text, "phases", 0), format!("phase #{} has an empty name", index + 1));
        } else if !seen.insert(phase.name.as_str()) {
            report(
                find_name(text, &phase.name, 1),
                format!("phase name `{}` is used twice; names must be unique", phase.name),
            );
        }
        if phase.image.is_some()
            && !suite.workloads.iter().any(|workload| matches!(workload.mode, Mode::ImageGeneration(_)))
        {
            report(
                find_name(text, &phase.name, 0),
                format!(
                    "phase `{}` sets `image` options, but no workload generates images (mode ImageGeneration)",
                    phase.name
                ),
            );
        }
        if let Some(batch) = phase.batch_size
            && let Some(message) = check_dimension("batch size", batch)
        {
            report(find_name(text, &phase.name, 0), format!("phase `{}`: {message}", phase.name));
        }
    }
    if !suite.phases.is_empty() && !suite.phases.iter().any(|phase| phase.name == suite.baseline) {
        let names: Vec<String> = suite.phases.iter().map(|phase| format!("`{}`", phase.name)).collect();
        report(
            find_field(text, "baseline", 0),
            format!(
                "baseline `{}` is not one of the phases ({}); set `baseline` to a phase name",
                suite.baseline,
                names.join(", ")
            ),
        );
    }
}

fn check_targets(suite: &Suite, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    for (index, target) in suite.targets.iter().enumerate() {
        let at = || find_field(text, "metric", index);
        let what = format!("target #{} ({:?})", index + 1, target.metric);
        match (target.min, target.max) {
            (None, None) => report(at(), format!("{what} has neither `min` nor `max`; give the bound it checks")),
            (Some(min), Some(max)) if min > max => report(at(), format!("{what} has `min` {min} above `max` {max}")),
            _ => {}
        }
        if [target.min, target.max].into_iter().flatten().any(|bound| !bound.is_finite()) {
            report(at(), format!("{what} has a bound that is not a finite number"));
        }
        if let Some(workload) = &target.workload
            && !suite.workloads.iter().any(|w| &w.name == workload)
        {
            report(at(), format!("{what} names workload `{workload}`, which the suite does not have"));
        }
        if let Some(phase) = &target.phase
            && !suite.phases.iter().any(|p| &p.name == phase)
        {
            report(at(), format!("{what} names phase `{phase}`, which the suite does not have"));
        }
    }
}

/// The accuracy check's bounds: a cosine in −1…1, a finite relative error of 0 or more, a finite PSNR.
fn check_accuracy_bounds(bounds: &AccuracyBounds, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    let at = |field: &str| find_field(text, field, 0);
    if !(-1.0..=1.0).contains(&bounds.min_cosine) {
        report(at("min_cosine"), format!("`min_cosine` is {}; a cosine similarity lies in -1 to 1", bounds.min_cosine));
    }
    if !bounds.max_relative_error.is_finite() || bounds.max_relative_error < 0.0 {
        report(
            at("max_relative_error"),
            format!(
                "`max_relative_error` is {}; it must be a finite fraction, 0 or more (0.05 = 5 %)",
                bounds.max_relative_error
            ),
        );
    }
    if bounds.min_psnr_db.is_some_and(|psnr| !psnr.is_finite()) {
        report(at("min_psnr_db"), "`min_psnr_db` must be a finite number of dB".into());
    }
    if !(0.0..=1.0).contains(&bounds.min_top1_agreement) {
        report(
            at("min_top1_agreement"),
            format!("`min_top1_agreement` is {}; it is a fraction from 0 to 1 (0.9 = 90 %)", bounds.min_top1_agreement),
        );
    }
}

/// Interleaved rounds need blocks of some length and at least two rounds at the first look, which
/// the budget of rounds must allow.
fn check_schedule(schedule: &Schedule, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    let Schedule::Interleaved(spec) = schedule else { return };
    let at = |field: &str| find_field(text, field, 0);
    if spec.block_ms == 0 {
        report(
            at("block_ms"),
            "`block_ms` is 0; a block of a phase's steps lasts 1 ms or more (20 is the default)".into(),
        );
    }
    if spec.first_look_rounds < 2 {
        report(
            at("first_look_rounds"),
            format!("`first_look_rounds` is {}; an interval over rounds needs at least 2", spec.first_look_rounds),
        );
    }
    if spec.max_rounds < spec.first_look_rounds {
        report(
            at("max_rounds"),
            format!(
                "`max_rounds` ({}) is below `first_look_rounds` ({}); the first look could never happen",
                spec.max_rounds, spec.first_look_rounds
            ),
        );
    }
}

fn check_settings(suite: &Suite, text: &str, report: &mut impl FnMut(Option<TextPosition>, String)) {
    let s = &suite.settings;
    let at = |field: &str| find_field(text, field, 0);
    if s.warmup_steps == 0 && suite.phases.iter().any(|phase| matches!(phase.device, DeviceSpec::Cuda(_))) {
        report(
            at("warmup_steps"),
            "`warmup_steps` is 0, but CUDA phases need at least 1: kernels load and cuBLAS sets up on first use, which would be timed as a step".into(),
        );
    }
    if s.min_steps < 2 {
        report(at("min_steps"), format!("`min_steps` is {}; statistics need at least 2 measured steps", s.min_steps));
    }
    check_accuracy_bounds(&s.accuracy, text, report);
    check_schedule(&s.schedule, text, report);
    if s.max_steps < s.min_steps {
        report(at("max_steps"), format!("`max_steps` ({}) is below `min_steps` ({})", s.max_steps, s.min_steps));
    }
    for (field, value) in [("min_secs", s.min_secs), ("max_secs", s.max_secs)] {
        if !value.is_finite() || value < 0.0 {
            report(at(field), format!("`{field}` is {value}; it must be a finite number of seconds, 0 or more"));
        }
    }
    if s.max_secs.is_finite() && s.min_secs.is_finite() && s.max_secs < s.min_secs {
        report(at("max_secs"), format!("`max_secs` ({}) is below `min_secs` ({})", s.max_secs, s.min_secs));
    }
    if s.max_secs == 0.0 {
        report(at("max_secs"), "`max_secs` is 0: no step could be measured".into());
    }
    if !s.run_timeout_secs.is_finite() || s.run_timeout_secs <= 0.0 || s.run_timeout_secs > 1e7 {
        report(
            at("run_timeout_secs"),
            format!(
                "`run_timeout_secs` is {}; it must be a number of seconds above 0 (default 600)",
                s.run_timeout_secs
            ),
        );
    } else if s.max_secs.is_finite() && s.run_timeout_secs < s.max_secs {
        report(
            at("run_timeout_secs"),
            format!(
                "`run_timeout_secs` ({}) is below `max_secs` ({}): every run would time out",
                s.run_timeout_secs, s.max_secs
            ),
        );
    }
    if s.telemetry_interval_ms < crate::telemetry::MIN_INTERVAL_MS {
        report(
            at("telemetry_interval_ms"),
            format!(
                "`telemetry_interval_ms` is {}; sampling faster than every {} ms costs more than it tells",
                s.telemetry_interval_ms,
                crate::telemetry::MIN_INTERVAL_MS
            ),
        );
    }
    if s.max_memory_bytes == Some(0) {
        report(
            at("max_memory_bytes"),
            "`max_memory_bytes` is 0; leave it out for the default (half the available memory)".into(),
        );
    }
    match s.noise_threshold {
        NoiseThreshold::Fixed(fraction) if !(0.0..1.0).contains(&fraction) => report(
            at("noise_threshold"),
            format!("`noise_threshold` is {fraction}; it is a fraction from 0 to below 1 (0.02 = 2 %), or `Auto`"),
        ),
        NoiseThreshold::Auto { multiple } if !(multiple > 0.0 && multiple <= 100.0) => report(
            at("noise_threshold"),
            format!(
                "`noise_threshold` is Auto({multiple}); the multiple of the A/A resolution is above 0, at most 100"
            ),
        ),
        NoiseThreshold::Auto { .. } if s.schedule == Schedule::Sequential => report(
            at("noise_threshold"),
            "`noise_threshold: Auto` is measured by the A/A control of interleaved rounds, which \
             `schedule: Sequential` has not; give a fraction such as 0.02"
                .into(),
        ),
        _ => {}
    }
    if !(0.0..1.0).contains(&s.regression_threshold) {
        report(
            at("regression_threshold"),
            format!(
                "`regression_threshold` is {}; it is a fraction from 0 to below 1 (0.10 = 10 %)",
                s.regression_threshold
            ),
        );
    }
}

/// Where `name: "<value>"` is first written in suite text, if it is.
pub fn find_name_position(text: &str, value: &str) -> Option<TextPosition> {
    find_name(text, value, 0)
}

/// Finds the `occurrence`-th (from 0) place where `name: "<value>"` is written.
fn find_name(text: &str, value: &str, occurrence: usize) -> Option<TextPosition> {
    let quoted = format!("\"{value}\"");
    let mut found = 0;
    for (offset, _) in text.match_indices(&quoted) {
        let before = text[..offset].trim_end();
        if before.ends_with(':')
            && before[..before.len() - 1].trim_end().ends_with("name")
            && !in_line_comment(text, offset)
        {
            if found == occurrence {
                return Some(position_of(text, offset));
            }
            found += 1;
        }
    }
    None
}

/// Finds the `occurrence`-th (from 0) place where the field `field:` is written.
fn find_field(text: &str, field: &str, occurrence: usize) -> Option<TextPosition> {
    let mut found = 0;
    for (offset, _) in text.match_indices(field) {
        let preceded_by_word = text[..offset].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let followed_by_colon = text[offset + field.len()..].trim_start().starts_with(':');
        if !preceded_by_word && followed_by_colon && !in_line_comment(text, offset) {
            if found == occurrence {
                return Some(position_of(text, offset));
            }
            found += 1;
        }
    }
    None
}

/// Whether `offset` lies in a `//` comment: after a `//` outside a string on its line.
fn in_line_comment(text: &str, offset: usize) -> bool {
    let line = text[..offset].rsplit('\n').next().unwrap_or("");
    let (mut in_string, mut escaped, mut previous) = (false, false, ' ');
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '/' if !in_string && previous == '/' => return true,
            _ => {}
        }
        previous = c;
    }
    false
}

fn position_of(text: &str, offset: usize) -> TextPosition {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    TextPosition { line, col }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_columns_from_one() {
        let text = "a\n  name: \"x\",\n";
        assert_eq!(find_name(text, "x", 0), Some(TextPosition { line: 2, col: 9 }));
        assert_eq!(find_field(text, "name", 0), Some(TextPosition { line: 2, col: 3 }));
        assert_eq!(find_name(text, "x", 1), None);
    }

    #[test]
    fn field_search_skips_longer_names() {
        let text = "min_steps: 1, steps: 2";
        assert_eq!(find_field(text, "steps", 0), Some(TextPosition { line: 1, col: 15 }));
    }

    #[test]
    fn positions_skip_commented_out_text_but_not_slashes_in_strings() {
        let text = "// name: \"x\", steps: 1\n  // steps: 3\n  weights: \"a//b\", steps: 2, name: \"x\"";
        assert_eq!(find_field(text, "steps", 0), Some(TextPosition { line: 3, col: 20 }));
        assert_eq!(find_name(text, "x", 0), Some(TextPosition { line: 3, col: 36 }));
    }
}
