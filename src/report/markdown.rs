//! A Markdown summary of a result for a PR comment: one table per workload with every phase ×
//! batch against the baseline, then failures and warnings. User strings are escaped so a name
//! cannot break the table or inject HTML.

use std::fmt::Write;

use super::{BaselineComparison, RunCells};
use crate::results::{RunResult, SuiteResult};

/// Escapes text for a Markdown table cell: pipes, backticks, HTML and line breaks.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '*' => out.push_str("\\*"),
            '_' => out.push_str("\\_"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown report of `result`, with its comparison against a saved result when given.
pub fn render(result: &SuiteResult, baseline: Option<&BaselineComparison>) -> String {
    let mut md = String::new();
    header_section(result, &mut md);
    decision_section(result, &mut md);
    workload_sections(result, &mut md);
    targets_section(result, &mut md);
    if let Some(comparison) = baseline {
        regression_section(comparison, &mut md);
    }
    recommendations_section(result, &mut md);
    problems_section(result, &mut md);
    md
}

/// The phase to ship per workload, one sentence each, before the details.
fn decision_section(result: &SuiteResult, md: &mut String) {
    let checks = crate::compare::evaluate_targets(&result.suite, &result.runs);
    let decisions = crate::compare::decisions(&result.suite, &result.runs, &checks);
    if decisions.is_empty() {
        return;
    }
    md.push_str("## Decision\n\n");
    for decision in decisions {
        let _ = writeln!(md, "- **{}**: {}", escape(&decision.workload), escape(&decision.sentence));
    }
    md.push('\n');
}

/// Title, description, status and the machine.
fn header_section(result: &SuiteResult, md: &mut String) {
    let env = &result.environment;
    let _ = writeln!(md, "# {} — phasebench report\n", escape(&result.suite.name));
    if !result.suite.description.is_empty() {
        let _ = writeln!(md, "{}\n", escape(&result.suite.description));
    }
    let _ = writeln!(
        md,
        "{} of {} runs, {}; started {}. Every phase is compared with **{}**.\n",
        result.runs.len(),
        result.planned_runs,
        result.status,
        escape(&result.started_at.to_string()),
        escape(&result.suite.baseline)
    );
    let gpu = match env.gpu.gpus.as_slice() {
        [] => "no NVIDIA GPU".to_owned(),
        gpus => {
            gpus.iter().map(|gpu| format!("GPU {} {}", gpu.index, escape(&gpu.name))).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        md,
        "Machine: {} ({} threads for compute), {}, {}; phasebench {}, candle {}, {} build.\n",
        escape(&env.cpu_model),
        env.compute_threads,
        gpu,
        escape(&env.os),
        escape(&env.phasebench_version),
        escape(&env.candle_version),
        escape(&env.build_profile)
    );
}

/// One table per workload that has runs.
fn workload_sections(result: &SuiteResult, md: &mut String) {
    for workload in &result.suite.workloads {
        let runs: Vec<&RunResult> = result.runs.iter().filter(|run| run.workload == workload.name).collect();
        if runs.is_empty() {
            continue;
        }
        let _ = writeln!(
            md,
            "## {} ({}, {})\n",
            escape(&workload.name),
            workload.model.kind_name(),
            workload.mode.name().to_lowercase()
        );
        md.push_str("| Phase | Batch | p50 [95 % CI] | p90 | p99 | Throughput | Speedup [CI] | Verdict | Basis | Accuracy | Run memory | GPU memory | Energy/step | Setup |\n");
        md.push_str("|---|---:|---|---:|---:|---:|---|---|---|---|---:|---:|---:|---|\n");
        for run in &runs {
            let _ = writeln!(md, "{}", row(run, &result.suite.settings.accuracy));
        }
        md.push('\n');
        // Text generation: prefill, time to first token, decode rate and KV cache of each run;
        // image generation: its stages, seconds per image and PSNR/SSIM against the baseline.
        for run in &runs {
            if let Some(text) = super::text_generation_text(run).or_else(|| super::image_generation_text(run)) {
                let _ = writeln!(md, "- {}: {}", run_name(run), escape(&text));
            }
        }
        if runs.iter().any(|run| run.text.is_some() || run.generation.as_ref().is_some_and(|g| g.image.is_some())) {
            md.push('\n');
        }
    }
}

/// The rule set's advice with its evidence.
fn recommendations_section(result: &SuiteResult, md: &mut String) {
    let recommendations = crate::compare::recommendations(result);
    if !recommendations.is_empty() {
        md.push_str("## Recommendations\n\n");
        for recommendation in recommendations {
            let _ =
                writeln!(md, "- **{}** Evidence: {}", escape(&recommendation.advice), escape(&recommendation.evidence));
        }
        md.push('\n');
    }
}

/// Runs that failed or were skipped, and every validity warning.
fn problems_section(result: &SuiteResult, md: &mut String) {
    let problems: Vec<&RunResult> = result.runs.iter().filter(|run| !run.status.reason().is_empty()).collect();
    if !problems.is_empty() {
        md.push_str("## Failed or skipped runs\n\n");
        for run in problems {
            let _ = writeln!(md, "- {}: {} — {}", run_name(run), run.status, escape(run.status.reason()));
        }
        md.push('\n');
    }
    let warned: Vec<&RunResult> = result.runs.iter().filter(|run| !run.warnings.is_empty()).collect();
    if !warned.is_empty() {
        md.push_str("## Warnings\n\n");
        for run in warned {
            for warning in &run.warnings {
                let _ = writeln!(md, "- {}: {}", run_name(run), escape(&warning.to_string()));
            }
        }
        md.push('\n');
    }
}

/// The targets table and the score per phase, when the suite declares targets.
fn targets_section(result: &SuiteResult, md: &mut String) {
    let checks = crate::compare::evaluate_targets(&result.suite, &result.runs);
    if result.suite.targets.is_empty() {
        return;
    }
    md.push_str("## Targets\n\n| Target | Run | Measured [95 % CI] | Outcome |\n|---|---|---|---|\n");
    for check in &checks {
        let target = &result.suite.targets[check.target_index];
        let measured = check.measured_text();
        let outcome = match check.outcome {
            crate::compare::TargetOutcome::Fail => "**fail**".to_owned(),
            other => other.to_string(),
        };
        let _ = writeln!(md, "| {} | {} | {measured} | {outcome} |", escape(&target.to_string()), escape(&check.run));
    }
    if checks.is_empty() {
        md.push_str("| (no completed run measures these targets) | | | |\n");
    }
    md.push('\n');
    let scores = crate::compare::phase_scores(&result.suite, &checks);
    if !scores.is_empty() {
        let listed: Vec<String> = scores.iter().map(|(phase, score)| format!("{} {score:.0}", escape(phase))).collect();
        let _ = writeln!(md, "Score (0–100, 100 = every target met): {}\n", listed.join(", "));
    }
}

/// The run-by-run comparison with a saved result: every change, unmatched runs, and machine
/// differences as warnings.
fn regression_section(comparison: &BaselineComparison, md: &mut String) {
    let diff = &comparison.diff;
    let _ = writeln!(
        md,
        "## Against the saved baseline\n\nCompared with `{}`; changes within {:.1} % count as noise. **{} regressed.**\n",
        comparison.source.replace('`', "'"),
        comparison.threshold * 100.0,
        diff.regressions()
    );
    for warning in &diff.environment_differences {
        let _ = writeln!(md, "> Warning: {}", escape(warning));
    }
    if !diff.environment_differences.is_empty() {
        md.push('\n');
    }
    md.push_str("| Run | Median before | Median after | Speedup [95 % CI] | Change |\n|---|---:|---:|---|---|\n");
    for run in &diff.runs {
        let median = |secs: Option<f64>| secs.map_or_else(|| "—".to_owned(), crate::units::format_secs);
        let (speedup, change) = match &run.speedup {
            Ok(s) => (
                s.ratio_text(),
                match crate::compare::Change::from(s.verdict) {
                    crate::compare::Change::Regressed => "**regressed**".to_owned(),
                    other => other.to_string(),
                },
            ),
            Err(reason) => ("—".to_owned(), escape(reason)),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {speedup} | {change} |",
            escape(&run.label),
            median(run.before_median_secs),
            median(run.after_median_secs)
        );
    }
    md.push('\n');
    for (what, runs) in [("Only in the saved baseline", &diff.only_before), ("New in this result", &diff.only_after)] {
        if !runs.is_empty() {
            let listed: Vec<String> = runs.iter().map(|run| escape(run)).collect();
            let _ = writeln!(md, "{what}: {}\n", listed.join(", "));
        }
    }
}

/// `workload/phase@batch`, escaped.
fn run_name(run: &RunResult) -> String {
    escape(&run.label())
}

fn row(run: &RunResult, bounds: &crate::suite::AccuracyBounds) -> String {
    let phase = if run.is_baseline { format!("**{}** (baseline)", escape(&run.phase)) } else { escape(&run.phase) };
    let cells = RunCells::of(run, bounds);
    let accuracy = match cells.accuracy_pass {
        Some(pass) => format!(
            "{} (max abs {}, cos {})",
            if pass { "pass" } else { "**fail**" },
            cells.max_abs_error,
            cells.cosine
        ),
        None if run.is_baseline => "reference".to_owned(),
        None => "—".to_owned(),
    };
    format!(
        "| {phase} | {} | {} | {} | {} | {} | {} | {} | {} | {accuracy} | {} | {} | {} | {} |",
        run.batch_size,
        cells.p50,
        cells.p90,
        cells.p99,
        cells.throughput,
        cells.speedup,
        cells.verdict,
        cells.basis,
        cells.run_memory,
        cells.gpu_memory,
        cells.energy,
        cells.setup
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_the_table_or_inject_html() {
        assert_eq!(escape("a|b`c<script>\n"), "a\\|b\\`c&lt;script&gt; ");
    }
}
