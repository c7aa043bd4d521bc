//! The plan: a suite expanded into runs (workload × batch × phase, the baseline first in each
//! group), shards of it, and each workload's memory estimated before anything is allocated. The
//! runner, the result records and merging all speak of runs in these terms.

use serde::{Deserialize, Serialize};

use crate::models::{self, Architecture};
use crate::suite::{DeviceSpec, Suite};
use crate::units::{format_bytes, format_count};

/// Bytes overwritten before each step for cold-cache timing (`flush_cache_between_steps`): above
/// the L2 of current GPUs (H100: 50 MB) and the last-level cache one CPU core sees.
pub const CACHE_FLUSH_BYTES: usize = 128 << 20;

/// One run of the plan: a workload in a phase at a batch size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Position in the plan, from 0.
    pub index: usize,
    /// Index of the workload in the suite.
    pub workload_index: usize,
    /// Index of the phase in the suite.
    pub phase_index: usize,
    /// Workload name.
    pub workload: String,
    /// Phase name.
    pub phase: String,
    /// Items per step.
    pub batch_size: usize,
    /// Whether this is the baseline phase.
    pub is_baseline: bool,
}

impl PlannedRun {
    /// `workload/phase@batch`, the run's name in progress lines and tables.
    pub fn label(&self) -> String {
        format!("{}/{}@{}", self.workload, self.phase, self.batch_size)
    }
}

/// Expands the suite into runs. Per workload and batch size the baseline runs first, so every
/// other phase can be compared as soon as it finishes; a phase with its own batch size runs once
/// per workload at that size, after the workload's batch sizes.
pub fn expand(suite: &Suite) -> Vec<PlannedRun> {
    let baseline = suite.phases.iter().position(|phase| phase.name == suite.baseline);
    let mut phase_order: Vec<usize> = baseline.into_iter().collect();
    phase_order.extend((0..suite.phases.len()).filter(|&index| Some(index) != baseline));

    let mut runs = Vec::new();
    for (workload_index, workload) in suite.workloads.iter().enumerate() {
        let mut push = |phase_index: usize, batch_size: usize| {
            runs.push(PlannedRun {
                index: runs.len(),
                workload_index,
                phase_index,
                workload: workload.name.clone(),
                phase: suite.phases[phase_index].name.clone(),
                batch_size,
                is_baseline: Some(phase_index) == baseline,
            });
        };
        for batch_size in workload.effective_batch_sizes() {
            for &phase_index in phase_order.iter().filter(|&&p| suite.phases[p].batch_size.is_none()) {
                push(phase_index, batch_size);
            }
        }
        for &phase_index in &phase_order {
            if let Some(batch_size) = suite.phases[phase_index].batch_size {
                push(phase_index, batch_size);
            }
        }
    }
    runs
}

/// Which baseline output a run's accuracy is checked against: the workload's, or, when the probe
/// depends on the batch (a training run's probe is the loss trajectory on its measured batch), the
/// workload's at that batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeKey {
    /// Index of the workload in the suite.
    pub workload_index: usize,
    /// The batch size, for probes that depend on it.
    pub batch_size: Option<usize>,
}

impl ProbeKey {
    /// The key of `run` in `suite`.
    pub fn of(suite: &Suite, run: &PlannedRun) -> Self {
        let training = matches!(suite.workloads[run.workload_index].mode, crate::suite::Mode::Training(_));
        Self { workload_index: run.workload_index, batch_size: training.then_some(run.batch_size) }
    }

    /// The name of the file a result directory keeps this probe in.
    pub fn file_name(&self) -> String {
        match self.batch_size {
            None => format!("baseline-probe-{}.json", self.workload_index),
            Some(batch) => format!("baseline-probe-{}-batch-{batch}.json", self.workload_index),
        }
    }
}

/// A workload whose estimated memory need exceeds what the machine has available.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryProblem {
    /// The workload.
    pub workload: String,
    /// The estimate and the figure it was held against, in words.
    pub message: String,
}

/// Estimates, per workload, the host memory for the f32 master weights, one converted copy and
/// the largest input batch (the first batch of a sweep: the sweep itself stops at its memory
/// budget), and lists the workloads that need more than `available_bytes`.
pub fn check_memory(suite: &Suite, available_bytes: u64) -> Vec<MemoryProblem> {
    let widest_dtype = suite.phases.iter().map(|phase| phase.dtype.size_bytes()).max().unwrap_or(4);
    let largest_batch = |workload: &crate::suite::Workload| {
        let phase_batches = suite.phases.iter().filter_map(|phase| phase.batch_size);
        let first_batches = workload.batch_sweep.map_or_else(|| workload.batch_sizes.clone(), |sweep| vec![sweep.from]);
        first_batches.into_iter().chain(phase_batches).max().unwrap_or(1)
    };
    suite
        .workloads
        .iter()
        .filter_map(|workload| {
            let arch: &dyn Architecture = models::architecture(&workload.model);
            let params = models::parameter_count(arch) as f64;
            let needed = models::memory_estimate_bytes(arch, largest_batch(workload), widest_dtype);
            (needed > available_bytes as f64).then(|| MemoryProblem {
                workload: workload.name.clone(),
                message: format!(
                    "workload `{}` needs about {} ({} parameters as f32 master plus a converted copy, and the input batch) but only {} is available; make the model smaller",
                    workload.name,
                    format_bytes(needed),
                    format_count(params),
                    format_bytes(available_bytes as f64),
                ),
            })
        })
        .collect()
}

/// Host memory a run adds before its first step: the model's weights and its input batch, in the
/// phase's dtype next to the f32 master (counted generously; activations are not included), and
/// on the CPU the cache-flush buffer and its source when the suite flushes between steps.
pub fn run_memory_estimate_bytes(suite: &Suite, run: &PlannedRun) -> f64 {
    let arch = models::architecture(&suite.workloads[run.workload_index].model);
    let phase = &suite.phases[run.phase_index];
    let model = models::memory_estimate_bytes(arch, run.batch_size, phase.dtype.size_bytes());
    let flush = if suite.settings.flush_cache_between_steps && phase.device == DeviceSpec::Cpu {
        2.0 * CACHE_FLUSH_BYTES as f64
    } else {
        0.0
    };
    model + flush
}

/// Host memory a comparison group measured together in interleaved rounds adds: each run's
/// estimate, with what its runs share counted once — the f32 master weights of the workload and,
/// on the CPU, the cache-flush buffers.
pub fn group_memory_estimate_bytes(suite: &Suite, runs: &[&PlannedRun]) -> f64 {
    let Some(first) = runs.first() else { return 0.0 };
    let each: f64 = runs.iter().map(|run| run_memory_estimate_bytes(suite, run)).sum();
    let master =
        models::parameter_count(models::architecture(&suite.workloads[first.workload_index].model)) as f64 * 4.0;
    let flushing_on_cpu = runs
        .iter()
        .filter(|run| {
            suite.settings.flush_cache_between_steps && suite.phases[run.phase_index].device == DeviceSpec::Cpu
        })
        .count();
    each - (runs.len() - 1) as f64 * master - flushing_on_cpu.saturating_sub(1) as f64 * 2.0 * CACHE_FLUSH_BYTES as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{DTypeSpec, MatMulSpec, ModelSpec, Phase, Settings, Workload};

    fn suite(batch_override: Option<usize>) -> Suite {
        let phase = |name: &str, batch_size| Phase {
            name: name.into(),
            dtype: DTypeSpec::F32,
            device: DeviceSpec::Cpu,
            batch_size,
            quantization: None,
            kv_cache: None,
            gguf: None,
            image: None,
        };
        Suite {
            version: 1,
            name: "t".into(),
            description: String::new(),
            settings: Settings::default(),
            workloads: vec![Workload {
                name: "w".into(),
                model: ModelSpec::MatMul(MatMulSpec { m: 2, n: 2, k: 2 }),
                mode: Default::default(),
                batch_sizes: vec![1, 4],
                batch_sweep: None,
                weights: None,
            }],
            phases: vec![phase("fast", None), phase("base", None), phase("big", batch_override)],
            baseline: "base".into(),
            targets: Vec::new(),
        }
    }

    #[test]
    fn baseline_runs_first_for_each_batch() {
        let labels: Vec<String> = expand(&suite(None)).iter().map(PlannedRun::label).collect();
        assert_eq!(labels, ["w/base@1", "w/fast@1", "w/big@1", "w/base@4", "w/fast@4", "w/big@4"]);
    }

    #[test]
    fn a_batch_override_runs_once_after_the_workload_batches() {
        let labels: Vec<String> = expand(&suite(Some(64))).iter().map(PlannedRun::label).collect();
        assert_eq!(labels, ["w/base@1", "w/fast@1", "w/base@4", "w/fast@4", "w/big@64"]);
    }

    #[test]
    fn the_cache_flush_buffers_count_in_a_cpu_runs_memory_estimate() {
        let mut flushed = suite(None);
        let plain = run_memory_estimate_bytes(&flushed, &expand(&flushed)[0]);
        flushed.settings.flush_cache_between_steps = true;
        let with_flush = run_memory_estimate_bytes(&flushed, &expand(&flushed)[0]);
        assert_eq!(with_flush - plain, 256.0 * 1024.0 * 1024.0, "buffer and source, 128 MiB each");
        flushed.phases[1].device = DeviceSpec::Cuda(0);
        assert_eq!(run_memory_estimate_bytes(&flushed, &expand(&flushed)[0]), plain, "a GPU's buffer is on the GPU");
    }

    /// A group of runs measured together shares the f32 master and the flush buffers.
    #[test]
    fn a_group_counts_the_master_and_the_flush_buffers_once() {
        let mut suite = suite(None);
        suite.settings.flush_cache_between_steps = true;
        let plan = expand(&suite);
        let group: Vec<&PlannedRun> = plan.iter().filter(|run| run.batch_size == 1).collect();
        assert_eq!(group.len(), 3);
        let each = run_memory_estimate_bytes(&suite, group[0]);
        let master = 2.0 * 2.0 * 4.0; // MatMul 2×2×2: one 2×2 weight in f32
        let flush = 2.0 * CACHE_FLUSH_BYTES as f64;
        assert_eq!(group_memory_estimate_bytes(&suite, &group), 3.0 * each - 2.0 * master - 2.0 * flush);
        assert_eq!(group_memory_estimate_bytes(&suite, &group[..1]), each);
    }

    #[test]
    fn a_model_beyond_memory_is_refused_with_the_estimate() {
        let mut big = suite(None);
        big.workloads[0].model = ModelSpec::MatMul(MatMulSpec { m: 1, n: 1 << 20, k: 1 << 20 });
        let problems = check_memory(&big, 16 << 30);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("needs about 8.0 TiB"), "{}", problems[0].message);
        assert!(check_memory(&suite(None), 16 << 30).is_empty());
    }
}

/// One of `count` parts of a plan, numbered from 1 (`--shard 2/3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("`{text}` is not a shard like 2/3 (part 2 of 3, parts from 1)");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let (index, count) =
            (index.trim().parse().map_err(|_| invalid())?, count.trim().parse().map_err(|_| invalid())?);
        if count == 0 || index == 0 || index > count || count > 10_000 {
            return Err(invalid());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The runs of `plan` that belong to `shard`. Runs are dealt out in comparison groups — a
/// workload at one batch size with its baseline run (a phase with its own batch size joins its
/// workload's first baseline; a batch sweep stays whole) — round-robin over the shards, so every
/// run is in exactly one shard and each shard has the baselines its comparisons need.
pub fn shard_plan(plan: &[PlannedRun], suite: &Suite, shard: Shard) -> Vec<PlannedRun> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let group_of = |run: &PlannedRun| -> (usize, usize) {
        if suite.workloads[run.workload_index].batch_sweep.is_some() {
            return (run.workload_index, usize::MAX);
        }
        let baseline_at = |batch: usize| {
            plan.iter().any(|other| {
                other.is_baseline && other.workload_index == run.workload_index && other.batch_size == batch
            })
        };
        if baseline_at(run.batch_size) {
            return (run.workload_index, run.batch_size);
        }
        let first_baseline = plan.iter().find(|other| other.is_baseline && other.workload_index == run.workload_index);
        (run.workload_index, first_baseline.map_or(run.batch_size, |baseline| baseline.batch_size))
    };
    let mut kept = Vec::new();
    for run in plan {
        let group = group_of(run);
        let position = groups.iter().position(|known| *known == group).unwrap_or_else(|| {
            groups.push(group);
            groups.len() - 1
        });
        if position % shard.count == shard.index - 1 {
            kept.push(run.clone());
        }
    }
    kept
}
