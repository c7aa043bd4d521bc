//! Combining the shard results of one suite (`run --shard I/N`, e.g. the tasks of a Slurm job
//! array) into one result, each run keeping the host that measured it.

use std::path::Path;

use super::{RunStatus, SuiteResult, SuiteStatus};
use crate::plan::{self, Shard};

/// Shard results combined, with what is missing.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The whole suite's result (runs in plan order); `Running` unless every shard completed.
    pub result: SuiteResult,
    /// Shards (from 1) with no result at all.
    pub missing: Vec<usize>,
    /// Shards whose result did not complete (killed, cancelled) or has failed runs.
    pub incomplete: Vec<usize>,
}

impl Merged {
    /// The shards to run again: missing or incomplete, in order.
    pub fn to_rerun(&self) -> Vec<usize> {
        let mut shards: Vec<usize> = self.missing.iter().chain(&self.incomplete).copied().collect();
        shards.sort_unstable();
        shards.dedup();
        shards
    }
}

/// Why shard results could not be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard results found (results of `phasebench run --shard I/N`)")]
    NoShards,
    /// The results are not shards of one suite split one way.
    #[error("the shard results are not of one suite split one way: {0}")]
    Mismatch(String),
}

/// Merges shard results of one suite. Where a shard has several results (a resubmitted task), the
/// one that completed — else the latest — is used.
pub fn merge(shards: Vec<SuiteResult>) -> Result<Merged, MergeError> {
    let first = shards.first().ok_or(MergeError::NoShards)?;
    let Some(Shard { count, .. }) = first.shard else {
        return Err(MergeError::Mismatch(format!("`{}` is not a shard result", first.suite.name)));
    };
    let suite = first.suite.clone();
    for other in &shards {
        match other.shard {
            Some(shard) if shard.count == count && other.suite == suite => {}
            Some(shard) if shard.count != count => {
                return Err(MergeError::Mismatch(format!("split into {count} and into {} shards", shard.count)));
            }
            _ => {
                return Err(MergeError::Mismatch(format!(
                    "suites `{}` and `{}` differ (or one is not a shard)",
                    suite.name, other.suite.name
                )));
            }
        }
    }
    // The best result per shard: completed first, then the latest started.
    let mut chosen: Vec<Option<SuiteResult>> = vec![None; count];
    for result in shards {
        let Some(shard) = result.shard else { continue };
        let slot = &mut chosen[shard.index - 1];
        let better = slot.as_ref().is_none_or(|current| {
            let rank = |r: &SuiteResult| (r.status == SuiteStatus::Completed, r.started_at);
            rank(&result) > rank(current)
        });
        if better {
            *slot = Some(result);
        }
    }
    let missing: Vec<usize> = (1..=count).filter(|index| chosen[index - 1].is_none()).collect();
    let present: Vec<&SuiteResult> = chosen.iter().flatten().collect();
    let incomplete: Vec<usize> = present
        .iter()
        .filter(|result| {
            result.status != SuiteStatus::Completed
                || result.runs.iter().any(|run| matches!(run.status, RunStatus::Failed { .. } | RunStatus::Cancelled))
        })
        .filter_map(|result| result.shard.map(|shard| shard.index))
        .collect();

    let Some(base) = present.first() else { return Err(MergeError::NoShards) };
    let mut merged = (*base).clone();
    merged.shard = None;
    merged.planned_runs = plan::expand(&suite).len();
    merged.started_at = present.iter().map(|r| r.started_at).min().unwrap_or_else(super::Timestamp::now);
    merged.finished_at = present.iter().filter_map(|r| r.finished_at).max();
    merged.resumed_at = present.iter().flat_map(|r| r.resumed_at.clone()).collect();
    merged.runs = present
        .iter()
        .flat_map(|result| {
            let host = result.environment.hostname.clone().unwrap_or_else(|| "unknown host".to_owned());
            result.runs.iter().cloned().map(move |mut run| {
                run.host = Some(host.clone());
                run
            })
        })
        .collect();
    merged.runs.sort_by_key(|run| run.index);
    // Each sweep from the shard that ran its workload.
    merged.sweeps = present
        .iter()
        .flat_map(|result| {
            result.sweeps.iter().filter(|sweep| result.runs.iter().any(|run| run.workload == sweep.workload)).cloned()
        })
        .collect();
    merged.status = if missing.is_empty() && incomplete.is_empty() && merged.runs.len() == merged.planned_runs {
        SuiteStatus::Completed
    } else {
        SuiteStatus::Running
    };
    Ok(Merged { result: merged, missing, incomplete })
}

/// The shard results in the result directories right under `dir`, and a line for each result file
/// that could not be read (it is left out).
pub fn shard_results_in(dir: &Path) -> std::io::Result<(Vec<SuiteResult>, Vec<String>)> {
    let (mut found, mut unreadable) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
        let file = entry.path().join(super::RESULT_FILE_NAME);
        if !file.is_file() {
            continue;
        }
        match super::load_result(&file) {
            Ok(result) if result.shard.is_some() => found.push(result),
            Ok(_) => {}
            Err(error) => unreadable.push(error.to_string()),
        }
    }
    Ok((found, unreadable))
}

/// Merges the shards under `dir` of the suite whose shard started last (other suites' shards in
/// the same directory are left alone).
pub fn merge_latest_in(dir: &Path) -> Result<Merged, String> {
    let (found, _) = shard_results_in(dir).map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    let newest = found.iter().max_by(|a, b| a.started_at.cmp(&b.started_at)).ok_or(MergeError::NoShards.to_string())?;
    let (suite, count) = (newest.suite.clone(), newest.shard.map(|shard| shard.count));
    let same: Vec<SuiteResult> =
        found.into_iter().filter(|result| result.suite == suite && result.shard.map(|s| s.count) == count).collect();
    merge(same).map_err(|error| error.to_string())
}
