//! The diff: two runs or two results picked as "before" and "after", compared on a job thread.

use super::{JobOutcome, PhasebenchApp, View};
use crate::compare::{self, ResultDiff, Speedup};
use crate::results::{RunResult, SuiteResult};

/// Bootstrap resamples for diffs computed in the app (fewer than a run's, to stay interactive).
pub const DIFF_RESAMPLES: usize = 2_000;

/// One side of a diff: one run, or a whole result.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffSide {
    /// A single run.
    Run {
        /// Where it comes from and which run, for people.
        label: String,
        /// The run.
        run: Box<RunResult>,
        /// Noise threshold of its suite.
        noise_threshold: f64,
    },
    /// Every run of a result file.
    Result {
        /// The file.
        label: String,
        /// The result.
        result: Box<SuiteResult>,
    },
}

impl DiffSide {
    /// Words naming this side.
    pub fn label(&self) -> &str {
        match self {
            Self::Run { label, .. } | Self::Result { label, .. } => label,
        }
    }
}

/// What a diff of the two sides found.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffOutcome {
    /// Two runs: after against before.
    Runs(Result<Speedup, String>),
    /// Two results: every run both have, what only one has, and how their machines differ.
    Results(ResultDiff),
    /// One side is a run and the other a result.
    Mismatch,
}

/// The two sides of a diff and what comparing them found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiffState {
    /// The "before" side.
    pub before: Option<DiffSide>,
    /// The "after" side.
    pub after: Option<DiffSide>,
    /// The comparison, once both sides are set and it was computed.
    pub outcome: Option<DiffOutcome>,
    /// Whether the comparison is being computed on a job thread.
    pub comparing: bool,
    /// Counts side changes, so that a late answer for older sides is dropped.
    pub(super) generation: u64,
}

impl DiffState {
    /// Whether the side labelled `label` (a run's `workload/phase@batch in source`, or a result
    /// file's path) is picked as before and as after.
    pub fn picked(&self, label: &str) -> (bool, bool) {
        let is = |side: &Option<DiffSide>| side.as_ref().is_some_and(|side| side.label() == label);
        (is(&self.before), is(&self.after))
    }
}

/// The label a run of a comparison shown from `source` has as a side of the diff.
pub fn run_side_label(run: &RunResult, source: &str) -> String {
    format!("{} in {source}", run.label())
}

/// Compares the two sides (bootstrap CIs: on a job thread, never the UI's).
fn diff_outcome(before: &DiffSide, after: &DiffSide) -> DiffOutcome {
    match (before, after) {
        (DiffSide::Run { run: before, .. }, DiffSide::Run { run: after, noise_threshold, .. }) => DiffOutcome::Runs(
            compare::diff_runs(before, after, *noise_threshold, DIFF_RESAMPLES, 0x5eed)
                .map_err(|error| error.to_string()),
        ),
        (DiffSide::Result { result: before, .. }, DiffSide::Result { result: after, .. }) => {
            let threshold = after.suite.settings.regression_threshold;
            DiffOutcome::Results(compare::diff_results(before, after, threshold, DIFF_RESAMPLES))
        }
        _ => DiffOutcome::Mismatch,
    }
}

/// Which side of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Before.
    Before,
    /// After.
    After,
}

impl PhasebenchApp {
    /// Uses a saved result file as one side (read on a job thread).
    pub(super) fn load_diff_result(&mut self, side: Side, path: std::path::PathBuf) {
        let purpose = if side == Side::Before { super::FilePurpose::DiffBefore } else { super::FilePurpose::DiffAfter };
        self.spawn_load(purpose, path);
    }

    /// Uses a run of the shown comparison as one side.
    pub(super) fn diff_run(&mut self, side: Side, run_index: usize) {
        if let Some((source, suite, runs)) = self.shown_comparison()
            && let Some(run) = runs.get(run_index)
        {
            let label = run_side_label(run, &source);
            let picked = DiffSide::Run {
                label,
                run: Box::new(run.clone()),
                noise_threshold: suite.settings.noise_threshold.fixed_or_fallback(),
            };
            self.set_diff_side(side, picked);
        }
    }

    /// Sets one side; a pick of another kind than the other side (a run against a whole result)
    /// replaces that side instead of making a diff that cannot be computed. The view moves to
    /// Compare only once both sides are set, so picking in History can go on.
    pub(super) fn set_diff_side(&mut self, side: Side, picked: DiffSide) {
        let (mine, other) = match side {
            Side::Before => (&mut self.diff.before, &mut self.diff.after),
            Side::After => (&mut self.diff.after, &mut self.diff.before),
        };
        let same_kind =
            |a: &DiffSide, b: &DiffSide| matches!(a, DiffSide::Run { .. }) == matches!(b, DiffSide::Run { .. });
        if other.as_ref().is_some_and(|other| !same_kind(other, &picked)) {
            *other = None;
            self.status = "the other side was of another kind (a run against a whole result): pick it again".into();
        }
        *mine = Some(picked);
        self.diff.outcome = None;
        self.diff.generation += 1;
        if let (Some(before), Some(after)) = (self.diff.before.clone(), self.diff.after.clone()) {
            self.view = View::Compare;
            self.reveal_diff = true;
            let generation = self.diff.generation;
            let job = move || JobOutcome::Diff { generation, outcome: Box::new(diff_outcome(&before, &after)) };
            match self.jobs.spawn("diff", job) {
                Ok(()) => self.diff.comparing = true,
                Err(error) => self.status = error,
            }
        }
    }
}
