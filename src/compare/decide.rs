//! Which phase to ship: for each workload, every phase as a point of speed against accuracy
//! drift (with memory and energy beside), the Pareto front of the two, and one sentence naming
//! the phase to ship and why — from the speed verdicts, the accuracy bounds and the targets.

use crate::accuracy::Accuracy;
use crate::results::{RunResult, RunStatus};
use crate::suite::{ModeKind, Suite};

use super::{Speedup, TargetCheck, TargetOutcome, Verdict, accuracy_passes};

/// Drift shown for an output identical to the baseline's (a log axis has no zero).
pub const IDENTICAL_DRIFT: f64 = 1e-9;

/// One run of a workload as the decision reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct PhasePoint {
    /// Position of the run among the runs the decision was made from.
    pub run_index: usize,
    /// `workload/phase@batch`, the run's label everywhere else.
    pub label: String,
    /// The phase.
    pub phase: String,
    /// Items per step.
    pub batch_size: usize,
    /// Whether it is the baseline phase (speedup 1, no drift, by definition).
    pub is_baseline: bool,
    /// Why the run failed, when it did.
    pub failed: Option<String>,
    /// Speed against the baseline at the same batch size (absent for the baseline).
    pub speedup: Option<Speedup>,
    /// Output drift from the baseline: the relative error of the whole output (of the loss for
    /// training), else 1 − cosine; absent when not compared.
    pub drift: Option<f64>,
    /// The cosine similarity of the outputs, when measured.
    pub cosine: Option<f64>,
    /// Whether the output is within the suite's accuracy bounds (absent when not compared).
    pub accurate: Option<bool>,
    /// Memory the run itself needed, in bytes (GPU memory on a GPU).
    pub memory_bytes: Option<u64>,
    /// GPU energy per item, in joules, when NVML measured it.
    pub energy_per_item_joules: Option<f64>,
    /// The targets this run missed, by metric name.
    pub failed_targets: Vec<String>,
    /// The targets whose interval straddles the bound on this run.
    pub undecided_targets: Vec<String>,
    /// Whether any target was checked on this run.
    pub has_targets: bool,
    /// Whether no other point of the workload is at least as fast with at most as much drift
    /// (and better in one of the two).
    pub on_front: bool,
}

impl PhasePoint {
    /// The speedup's point estimate (1 for the baseline).
    pub fn ratio(&self) -> Option<f64> {
        if self.is_baseline { Some(1.0) } else { self.speedup.as_ref().map(|speedup| speedup.ratio) }
    }

    /// The drift as a reader sees it, `8.6e-3 (cosine 0.99996)`; a dash for the baseline and when
    /// not compared.
    pub fn drift_text(&self) -> String {
        match (self.drift.filter(|_| !self.is_baseline), self.cosine) {
            (Some(drift), Some(cosine)) => format!("{drift:.1e} (cosine {cosine:.5})"),
            (Some(drift), None) => format!("{drift:.1e}"),
            _ => "—".to_owned(),
        }
    }

    /// The drift as drawn: the baseline and identical outputs at [`IDENTICAL_DRIFT`].
    pub fn shown_drift(&self) -> Option<f64> {
        if self.is_baseline { Some(IDENTICAL_DRIFT) } else { self.drift.map(|drift| drift.max(IDENTICAL_DRIFT)) }
    }
}

/// The decision for one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The workload.
    pub workload: String,
    /// Every run of it, baseline first, in run order otherwise.
    pub points: Vec<PhasePoint>,
    /// The phase to ship, when one beats the baseline and passes every check.
    pub ship: Option<String>,
    /// Why, in one sentence (e.g. "bf16: 1.90× [1.80–2.00] faster, cosine 0.99998, within
    /// targets — ship bf16; q4k is 2.60× but fails the accuracy bound").
    pub sentence: String,
    /// The smallest speedup a target asks of this workload, drawn on the chart.
    pub min_speedup_target: Option<f64>,
    /// The largest drift the accuracy bounds allow, drawn on the chart.
    pub max_drift: f64,
}

/// One decision per workload of `runs`, in suite order, from the target checks already made.
pub fn decisions(suite: &Suite, runs: &[RunResult], checks: &[TargetCheck]) -> Vec<Decision> {
    suite
        .workloads
        .iter()
        .filter(|workload| runs.iter().any(|run| run.workload == workload.name))
        .map(|workload| decide(suite, &workload.name, runs, checks))
        .collect()
}

fn point(suite: &Suite, run_index: usize, run: &RunResult, checks: &[TargetCheck]) -> PhasePoint {
    let label = run.label();
    let metric_name = |check: &&TargetCheck| {
        suite.targets.get(check.target_index).map_or_else(String::new, |target| target.metric.describe().0.to_owned())
    };
    let own: Vec<&TargetCheck> = checks.iter().filter(|check| check.run == label).collect();
    let named = |outcome: TargetOutcome| own.iter().filter(|check| check.outcome == outcome).map(metric_name).collect();
    let accurate =
        run.accuracy.as_ref().map(|accuracy| accuracy_passes(accuracy, &suite.settings.accuracy, run.mode.kind()));
    PhasePoint {
        run_index,
        phase: run.phase.clone(),
        batch_size: run.batch_size,
        is_baseline: run.is_baseline,
        failed: match &run.status {
            RunStatus::Failed { reason } => Some(reason.clone()),
            _ => None,
        },
        speedup: run.speedup.clone(),
        drift: run.accuracy.as_ref().map(|accuracy| drift(accuracy, run.mode.kind())),
        cosine: run.accuracy.as_ref().and_then(|accuracy| accuracy.cosine_similarity),
        accurate,
        memory_bytes: super::run_memory_target_bytes(run),
        energy_per_item_joules: run.energy_per_step_joules().map(|joules| joules / run.batch_size.max(1) as f64),
        failed_targets: named(TargetOutcome::Fail),
        undecided_targets: named(TargetOutcome::Undecided),
        has_targets: !own.is_empty(),
        on_front: false,
        label,
    }
}

/// How far an output drifted from the baseline's, as one number (0 = identical).
pub fn drift(accuracy: &Accuracy, mode: ModeKind) -> f64 {
    let whole = match mode {
        ModeKind::Training => Some(accuracy.max_rel_error),
        ModeKind::Inference | ModeKind::Generation | ModeKind::TextGeneration | ModeKind::ImageGeneration => {
            accuracy.relative_error
        }
    };
    whole.or(accuracy.cosine_similarity.map(|cosine| 1.0 - cosine)).unwrap_or(accuracy.max_rel_error)
}

/// Marks the points no other point beats on both speed and drift.
fn mark_front(points: &mut [PhasePoint]) {
    let scored: Vec<Option<(f64, f64)>> = points
        .iter()
        .map(|point| match (point.failed.is_none(), point.ratio(), point.shown_drift()) {
            (true, Some(ratio), Some(drift)) => Some((ratio, drift)),
            _ => None,
        })
        .collect();
    for (index, point) in points.iter_mut().enumerate() {
        let Some((ratio, drift)) = scored[index] else { continue };
        point.on_front = !scored.iter().enumerate().any(|(other, score)| {
            other != index && score.is_some_and(|(r, d)| r >= ratio && d <= drift && (r > ratio || d < drift))
        });
    }
}

/// Why a phase is not shipped, or how it would be; in the words of the sentence.
enum Standing {
    /// Faster beyond noise at some batch, slower at none, and every check passed.
    Candidate { speed: String, notes: Vec<String>, score: f64 },
    /// Not shipped, with the reason (and its speed, when it was faster).
    Rejected { speed: Option<String>, reason: String },
}

fn speed_words(points: &[&PhasePoint]) -> String {
    let speedups: Vec<&Speedup> = points.iter().filter_map(|point| point.speedup.as_ref()).collect();
    match speedups.as_slice() {
        [one] => {
            let (ratio, low, high, word) = if one.ratio >= 1.0 {
                (one.ratio, one.ratio_ci.low, one.ratio_ci.high, "faster")
            } else {
                (1.0 / one.ratio, 1.0 / one.ratio_ci.high, 1.0 / one.ratio_ci.low, "slower")
            };
            format!("{ratio:.2}× [{low:.2}–{high:.2}] {word}")
        }
        many => {
            let ratios = many.iter().map(|speedup| speedup.ratio);
            let (low, high) = ratios.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r), hi.max(r)));
            let batches: Vec<String> = points.iter().map(|point| point.batch_size.to_string()).collect();
            let range = |a: f64, b: f64| {
                let (a, b) = (format!("{a:.2}×"), format!("{b:.2}×"));
                if a == b { a } else { format!("{a}–{b}") }
            };
            let speed = if low >= 1.0 {
                format!("{} faster", range(low, high))
            } else if high < 1.0 {
                format!("{} slower", range(1.0 / high, 1.0 / low))
            } else {
                format!("{} the baseline's speed", range(low, high))
            };
            format!("{speed} at batch {}", batches.join("/"))
        }
    }
}

fn accuracy_words(points: &[&PhasePoint]) -> Option<String> {
    let worst_cosine = points
        .iter()
        .filter_map(|point| point.cosine)
        .fold(None, |worst: Option<f64>, cosine| Some(worst.map_or(cosine, |worst| worst.min(cosine))));
    let worst_drift = points.iter().filter_map(|point| point.drift).fold(0.0_f64, f64::max);
    match worst_cosine {
        Some(cosine) => Some(format!("cosine {cosine:.5}")),
        None if points.iter().any(|point| point.drift.is_some()) => Some(format!("drift {worst_drift:.2e}")),
        None => None,
    }
}

fn standing(points: &[&PhasePoint]) -> Standing {
    if let Some(reason) = points.iter().find_map(|point| point.failed.as_ref()) {
        return Standing::Rejected { speed: None, reason: format!("failed ({reason})") };
    }
    let verdicts: Vec<Verdict> = points.iter().filter_map(|point| point.speedup.as_ref().map(|s| s.verdict)).collect();
    let faster = verdicts.contains(&Verdict::Faster);
    let speed = (!verdicts.is_empty()).then(|| speed_words(points));
    if points.iter().any(|point| point.accurate == Some(false)) {
        let accuracy = accuracy_words(points).map_or_else(String::new, |words| format!(" ({words})"));
        return Standing::Rejected {
            speed: speed.filter(|_| faster),
            reason: format!("fails the accuracy bound{accuracy}"),
        };
    }
    let failed_targets: Vec<&str> =
        points.iter().flat_map(|point| point.failed_targets.iter().map(String::as_str)).collect();
    if let Some(first) = failed_targets.first() {
        return Standing::Rejected { speed: speed.filter(|_| faster), reason: format!("fails the {first} target") };
    }
    let reason = if verdicts.is_empty() {
        "has no speedup measured".to_owned()
    } else if verdicts.contains(&Verdict::Slower) {
        format!("is {}", speed.clone().unwrap_or_default())
    } else if !faster && verdicts.contains(&Verdict::Inconclusive) {
        "could not be told apart from the baseline yet (inconclusive: give it a longer budget)".to_owned()
    } else if !faster {
        "is no faster than the baseline".to_owned()
    } else {
        let mut notes: Vec<String> = accuracy_words(points).into_iter().collect();
        if points.iter().any(|point| point.accurate.is_none()) {
            notes.push("accuracy not checked".to_owned());
        }
        let undecided: Vec<&str> =
            points.iter().flat_map(|point| point.undecided_targets.iter().map(String::as_str)).collect();
        if let Some(first) = undecided.first() {
            notes.push(format!("{first} target undecided"));
        } else if points.iter().any(|point| point.has_targets) {
            notes.push("within targets".to_owned());
        }
        // The geometric mean over batch sizes, so one batch does not outvote the others.
        let logs: Vec<f64> = points.iter().filter_map(|point| point.ratio()).map(f64::ln).collect();
        let score = (logs.iter().sum::<f64>() / logs.len().max(1) as f64).exp();
        return Standing::Candidate { speed: speed.unwrap_or_default(), notes, score };
    };
    Standing::Rejected { speed: None, reason }
}

fn decide(suite: &Suite, workload: &str, runs: &[RunResult], checks: &[TargetCheck]) -> Decision {
    let mut points: Vec<PhasePoint> = runs
        .iter()
        .enumerate()
        .filter(|(_, run)| run.workload == workload)
        .map(|(index, run)| point(suite, index, run, checks))
        .collect();
    points.sort_by_key(|point| !point.is_baseline);
    mark_front(&mut points);
    // The phases measured, in suite order (a phase a result names but its suite no longer has
    // comes last, in run order).
    let mut phases: Vec<&str> = Vec::new();
    for point in points.iter().filter(|point| !point.is_baseline) {
        if !phases.contains(&point.phase.as_str()) {
            phases.push(&point.phase);
        }
    }
    let position = |phase: &str| suite.phases.iter().position(|known| known.name == phase).unwrap_or(usize::MAX);
    phases.sort_by_key(|phase| position(phase));
    let mut standings: Vec<(String, Standing, f64)> = Vec::new();
    for phase in phases {
        let own: Vec<&PhasePoint> = points.iter().filter(|point| point.phase == phase).collect();
        let best = own.iter().filter_map(|point| point.ratio()).fold(0.0, f64::max);
        standings.push((phase.to_owned(), standing(&own), best));
    }
    let ship = standings
        .iter()
        .filter_map(|(phase, standing, _)| match standing {
            Standing::Candidate { score, .. } => Some((phase, *score)),
            Standing::Rejected { .. } => None,
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(phase, _)| phase.clone());
    let sentence = sentence(&suite.baseline, ship.as_deref(), &standings);
    let min_speedup_target = suite
        .targets
        .iter()
        .filter(|target| target.metric == crate::suite::TargetMetric::Speedup)
        .filter(|target| target.workload.as_ref().is_none_or(|name| name == workload))
        .filter_map(|target| target.min)
        .reduce(f64::max);
    let max_drift = suite.settings.accuracy.max_relative_error;
    Decision { workload: workload.to_owned(), points, ship, sentence, min_speedup_target, max_drift }
}

fn sentence(baseline: &str, ship: Option<&str>, standings: &[(String, Standing, f64)]) -> String {
    let rejected = |phase: &String, standing: &Standing| match standing {
        Standing::Rejected { speed: Some(speed), reason } => Some(format!("{phase} is {speed} but {reason}")),
        Standing::Rejected { speed: None, reason } => Some(format!("{phase} {reason}")),
        Standing::Candidate { .. } => None,
    };
    match ship {
        Some(pick) => {
            let Some((_, Standing::Candidate { speed, notes, .. }, pick_best)) =
                standings.iter().find(|(phase, _, _)| phase == pick)
            else {
                return format!("ship {pick}");
            };
            let mut text = format!("{pick}: {speed}");
            for note in notes {
                text.push_str(", ");
                text.push_str(note);
            }
            text.push_str(&format!(" — ship {pick}"));
            // The phases a reader would ask about: those that were faster still.
            let faster_rejected: Vec<String> = standings
                .iter()
                .filter(|(phase, _, best)| phase != pick && best > pick_best)
                .filter_map(|(phase, standing, _)| rejected(phase, standing))
                .collect();
            if !faster_rejected.is_empty() {
                text.push_str("; ");
                text.push_str(&faster_rejected.join("; "));
            }
            text
        }
        None if standings.is_empty() => format!("only the baseline phase “{baseline}” was measured: nothing to choose"),
        None => {
            let reasons: Vec<String> =
                standings.iter().filter_map(|(phase, standing, _)| rejected(phase, standing)).collect();
            format!("keep {baseline}: {}", reasons.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;

    fn speedup(ratio: f64, verdict: Verdict) -> Speedup {
        Speedup {
            ratio,
            ratio_ci: Interval { low: ratio - 0.1, high: ratio + 0.1 },
            p_value: 0.001,
            noise_threshold: 0.02,
            verdict,
            rounds: None,
            between_results: None,
        }
    }

    fn point_of(phase: &str, ratio: Option<(f64, Verdict)>, cosine: Option<f64>) -> PhasePoint {
        PhasePoint {
            run_index: 0,
            label: format!("w/{phase}@1"),
            phase: phase.to_owned(),
            batch_size: 1,
            is_baseline: ratio.is_none(),
            failed: None,
            speedup: ratio.map(|(ratio, verdict)| speedup(ratio, verdict)),
            drift: cosine.map(|cosine| 1.0 - cosine),
            cosine,
            accurate: cosine.map(|cosine| cosine >= 0.999),
            memory_bytes: None,
            energy_per_item_joules: None,
            failed_targets: Vec::new(),
            undecided_targets: Vec::new(),
            has_targets: false,
            on_front: false,
        }
    }

    #[test]
    fn the_front_holds_the_points_nothing_beats_on_both_speed_and_drift() {
        let mut points = vec![
            point_of("base", None, None),
            point_of("bf16", Some((1.9, Verdict::Faster)), Some(0.99998)),
            point_of("f16", Some((1.5, Verdict::Faster)), Some(0.9999)),
            point_of("q4k", Some((2.6, Verdict::Faster)), Some(0.97)),
        ];
        mark_front(&mut points);
        let front: Vec<&str> = points.iter().filter(|p| p.on_front).map(|p| p.phase.as_str()).collect();
        // f16 is slower than bf16 and drifts more: dominated.
        assert_eq!(front, ["base", "bf16", "q4k"]);
    }

    #[test]
    fn the_fastest_accurate_phase_is_shipped_and_a_faster_inaccurate_one_is_named() {
        let points = [
            point_of("bf16", Some((1.9, Verdict::Faster)), Some(0.99998)),
            point_of("q4k", Some((2.6, Verdict::Faster)), Some(0.97)),
            point_of("f16", Some((1.0, Verdict::Equivalent)), Some(0.99999)),
        ];
        let standings: Vec<(String, Standing, f64)> = points
            .iter()
            .map(|point| (point.phase.clone(), standing(&[point]), point.ratio().unwrap_or(0.0)))
            .collect();
        let text = sentence("f32", Some("bf16"), &standings);
        assert_eq!(
            text,
            "bf16: 1.90× [1.80–2.00] faster, cosine 0.99998 — ship bf16; \
             q4k is 2.60× [2.50–2.70] faster but fails the accuracy bound (cosine 0.97000)"
        );
        let none = sentence("f32", None, &standings[1..]);
        assert_eq!(
            none,
            "keep f32: q4k is 2.60× [2.50–2.70] faster but fails the accuracy bound (cosine 0.97000); \
             f16 is no faster than the baseline"
        );
    }

    #[test]
    fn slower_failed_and_undecided_phases_are_not_shipped_and_say_why() {
        let slower = point_of("slow", Some((0.8, Verdict::Slower)), Some(1.0));
        let Standing::Rejected { reason, .. } = standing(&[&slower]) else { panic!("a slower phase was a candidate") };
        assert_eq!(reason, "is 1.25× [1.11–1.43] slower");
        let mut failed = point_of("oom", Some((2.0, Verdict::Faster)), Some(1.0));
        failed.failed = Some("out of memory".into());
        let Standing::Rejected { reason, .. } = standing(&[&failed]) else { panic!("a failed phase was a candidate") };
        assert_eq!(reason, "failed (out of memory)");
        let mut missed = point_of("tight", Some((1.2, Verdict::Faster)), Some(1.0));
        missed.failed_targets.push("p50".into());
        let Standing::Rejected { reason, .. } = standing(&[&missed]) else { panic!("a target miss was a candidate") };
        assert_eq!(reason, "fails the p50 target");
        let unsure = point_of("maybe", Some((1.01, Verdict::Inconclusive)), Some(1.0));
        assert!(matches!(standing(&[&unsure]), Standing::Rejected { .. }));
        let mut straddling = point_of("close", Some((1.3, Verdict::Faster)), Some(1.0));
        straddling.undecided_targets.push("speedup".into());
        straddling.has_targets = true;
        let Standing::Candidate { notes, .. } = standing(&[&straddling]) else { panic!("no candidate") };
        assert_eq!(notes, ["cosine 1.00000", "speedup target undecided"]);
    }
}
