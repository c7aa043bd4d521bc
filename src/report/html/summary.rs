//! The report's opening section: per workload, the phase to ship in one sentence, every phase's
//! verdict, drift, memory, energy and targets in one short table (each row linking to its details),
//! and the speed-against-drift chart with the Pareto front and the targets drawn.

use serde::Serialize;

use crate::compare::{Analysis, Decision, PhasePoint, Verdict};
use crate::results::SuiteResult;
use crate::units::format_bytes;

use super::{ChartView, phase_color, verdict_class};
use crate::report::svg::{self, Axes, TradeoffPoint};

#[derive(Serialize)]
pub(super) struct DecisionView {
    workload: String,
    sentence: String,
    ship: bool,
    rows: Vec<SummaryRowView>,
    chart: Option<ChartView>,
}

#[derive(Serialize)]
struct SummaryRowView {
    anchor: String,
    phase: String,
    baseline: bool,
    batch: usize,
    speedup: String,
    verdict: String,
    verdict_class: &'static str,
    drift: String,
    accuracy: &'static str,
    accuracy_class: &'static str,
    memory: String,
    energy: String,
    targets: String,
    targets_class: &'static str,
    front: bool,
    ship: bool,
}

/// One view per workload decision of `analysis`.
pub(super) fn decision_views(result: &SuiteResult, analysis: &Analysis) -> Vec<DecisionView> {
    analysis
        .decisions
        .iter()
        .map(|decision| DecisionView {
            workload: decision.workload.clone(),
            sentence: decision.sentence.clone(),
            ship: decision.ship.is_some(),
            rows: decision.points.iter().map(|point| row(result, decision, point)).collect(),
            chart: tradeoff_chart(result, decision),
        })
        .collect()
}

fn row(result: &SuiteResult, decision: &Decision, point: &PhasePoint) -> SummaryRowView {
    let verdict = point.speedup.as_ref().map(|speedup| speedup.verdict);
    let (accuracy, accuracy_class) = match point.accurate {
        Some(true) => ("pass", "good"),
        Some(false) => ("fail", "bad"),
        None if point.is_baseline => ("reference", ""),
        None => ("—", ""),
    };
    let (targets, targets_class) = if !point.failed_targets.is_empty() {
        (format!("missed: {}", point.failed_targets.join(", ")), "bad")
    } else if !point.undecided_targets.is_empty() {
        (format!("undecided: {}", point.undecided_targets.join(", ")), "unknown")
    } else if point.has_targets {
        ("met".to_owned(), "good")
    } else {
        ("—".to_owned(), "")
    };
    let anchor = result.runs.get(point.run_index).map_or_else(String::new, |run| format!("run-{}", run.index));
    SummaryRowView {
        anchor,
        phase: point.phase.clone(),
        baseline: point.is_baseline,
        batch: point.batch_size,
        speedup: match (&point.failed, &point.speedup) {
            (Some(_), _) => "failed".to_owned(),
            (None, Some(speedup)) => {
                format!("{:.2}× [{:.2}–{:.2}]", speedup.ratio, speedup.ratio_ci.low, speedup.ratio_ci.high)
            }
            (None, None) if point.is_baseline => "1× (reference)".to_owned(),
            (None, None) => "—".to_owned(),
        },
        verdict: verdict.map_or_else(String::new, |verdict| verdict.to_string()),
        verdict_class: verdict_class(verdict),
        drift: point.drift_text(),
        accuracy,
        accuracy_class,
        memory: point.memory_bytes.map_or_else(|| "—".to_owned(), |bytes| format_bytes(bytes as f64)),
        energy: point.energy_per_item_joules.map_or_else(|| "—".to_owned(), |joules| format!("{joules:.3} J")),
        targets,
        targets_class,
        front: point.on_front,
        ship: decision.ship.as_ref() == Some(&point.phase) && !matches!(verdict, Some(Verdict::Slower)),
    }
}

fn tradeoff_chart(result: &SuiteResult, decision: &Decision) -> Option<ChartView> {
    let largest = decision.points.iter().filter_map(|point| point.memory_bytes).max().unwrap_or(0).max(1) as f64;
    let first_baseline_batch =
        decision.points.iter().find(|point| point.is_baseline).map_or(0, |point| point.batch_size);
    let points: Vec<TradeoffPoint> = decision
        .points
        .iter()
        .filter(|point| point.failed.is_none())
        .filter(|point| !point.is_baseline || point.batch_size == first_baseline_batch)
        .filter_map(|point| {
            Some(TradeoffPoint {
                // The baseline is at (identical, 1×) at every batch size: drawn once.
                label: if point.is_baseline {
                    point.phase.clone()
                } else {
                    format!("{}@{}", point.phase, point.batch_size)
                },
                color: phase_color(result, &point.phase),
                drift: point.shown_drift()?,
                speedup: point.ratio()?,
                interval: point.speedup.as_ref().map(|speedup| (speedup.ratio_ci.low, speedup.ratio_ci.high)),
                size: point.memory_bytes.map_or(0.0, |bytes| bytes as f64 / largest),
                on_front: point.on_front,
            })
        })
        .collect();
    if points.len() < 2 {
        return None;
    }
    let title = format!("{}: speed against accuracy drift", decision.workload);
    let axes = Axes { title: &title, x_label: "drift from the baseline's output (log)", y_label: "speedup (×)" };
    Some(ChartView {
        svg: svg::tradeoff_chart(&axes, &points, Some(decision.max_drift), decision.min_speedup_target),
        title,
        caption: "Each phase at each batch size: up is faster, left is closer to the baseline's output (relative error of the whole output; the baseline sits at the left edge). Whiskers are the speedup's CI, a larger dot needs more memory, ringed dots joined by the line are the Pareto front (nothing is both faster and closer); the dashed lines are the baseline's speed, the accuracy bound and any speedup target.".to_owned(),
    })
}
