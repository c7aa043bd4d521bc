//! How the phases of one workload at one batch size are measured against each other: in
//! interleaved rounds (the default) or one after another.

use serde::{Deserialize, Serialize};

/// How the phases of a comparison group (a workload at one batch size) are scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// Every phase's model is built once, then measured in rounds: each round runs one short block
    /// of every phase, and a second block of the baseline (the A/A control), in a fresh random
    /// order, until every comparison is decided or the budget runs out.
    Interleaved(InterleavedSpec),
    /// Each phase runs as one contiguous block, one after another (for models that cannot all be
    /// in memory at once, and to compare with the behaviour before rounds).
    Sequential,
}

impl Default for Schedule {
    fn default() -> Self {
        Self::Interleaved(InterleavedSpec::default())
    }
}

/// The shape of interleaved rounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InterleavedSpec {
    /// Length of one phase's block in a round, in milliseconds (a block has at least one step, and
    /// a generation's block whole generations).
    pub block_ms: u64,
    /// Rounds before the first look at the comparisons; each later look doubles them.
    pub first_look_rounds: usize,
    /// Rounds at most; `max_secs` per phase bounds the group's time as well.
    pub max_rounds: usize,
}

impl Default for InterleavedSpec {
    fn default() -> Self {
        Self { block_ms: 20, first_look_rounds: 10, max_rounds: 1000 }
    }
}

impl InterleavedSpec {
    /// The looks this schedule takes (see [`crate::stats::LookSchedule`]).
    pub fn looks(&self) -> crate::stats::LookSchedule {
        crate::stats::LookSchedule { first: self.first_look_rounds, max_rounds: self.max_rounds }
    }
}
