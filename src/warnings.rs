//! Validity warnings: reasons to distrust a run's timings, each with what to do about it. They
//! come from telemetry (throttling, another process on the GPU), the device (memory not given
//! back) and the statistics of the steps (a warm-up too short); the result record keeps them.

use serde::{Deserialize, Serialize};

use crate::units::format_bytes;

/// Share of one core, in percent, the telemetry sampler may use before a run is warned about it
/// (measured here: 0.3 % at a 100 ms interval, 2.6 % at 10 ms; BENCHMARKS.md §4).
pub const SAMPLER_BUDGET_PERCENT: f64 = 2.0;

/// A reason to distrust a measurement, with what to do about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ValidityWarning {
    /// The GPU slowed its clocks during the run.
    Throttled {
        /// NVML index.
        gpu: u32,
        /// The reasons NVML gave.
        reasons: Vec<String>,
    },
    /// The SM clock fell below 90 % of its maximum during the run.
    ClockDrop {
        /// NVML index.
        gpu: u32,
        /// Lowest clock.
        min_mhz: f64,
        /// Highest clock.
        max_mhz: f64,
    },
    /// The GPU warmed by more than 10 °C during the run.
    TemperatureRise {
        /// NVML index.
        gpu: u32,
        /// At the start.
        start_celsius: f64,
        /// At the end.
        end_celsius: f64,
    },
    /// Another process used the GPU during the run.
    OtherProcesses {
        /// NVML index.
        gpu: u32,
        /// Most processes seen at once.
        count: usize,
    },
    /// The first measured steps were slower than the rest: warm-up was too short.
    WarmupTooShort {
        /// How many first measured steps were compared.
        head_steps: usize,
        /// How much slower their median was, in percent.
        slower_percent: f64,
        /// The suite's warm-up steps.
        warmup_steps: usize,
    },
    /// The telemetry sampler used more than [`SAMPLER_BUDGET_PERCENT`] of a core: on a busy CPU it
    /// takes time from the measured threads.
    SamplerCost {
        /// Its CPU time per wall time, in percent of one core.
        percent_of_core: f64,
        /// The sampling interval.
        interval_ms: u64,
    },
    /// A CUDA run left more device memory in use after it ended than before it started.
    DeviceMemoryNotReturned {
        /// The CUDA ordinal of the run's device.
        ordinal: usize,
        /// Bytes still in use beyond the level before the run.
        extra_bytes: u64,
    },
    /// The baseline and this phase ran at SM clocks more than 5 % apart.
    ClocksDiffer {
        /// Baseline's mean SM clock.
        baseline_mhz: f64,
        /// This run's mean SM clock.
        phase_mhz: f64,
    },
    /// Interleaved rounds: the baseline against itself (A/A) in the same rounds differed beyond
    /// chance, so the machine moved under the comparison.
    UnreliableMachine {
        /// The A/A ratio.
        ratio: f64,
        /// Its interval, which excludes 1.
        low: f64,
        /// Upper end of the interval.
        high: f64,
        /// The likely cause, from what telemetry saw (or drift when it saw nothing).
        cause: String,
    },
}

impl std::fmt::Display for ValidityWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Throttled { gpu, reasons } => write!(
                f,
                "GPU {gpu} throttled ({}): timings are slower than the hardware can do; improve cooling or power headroom, or lock clocks (nvidia-smi -lgc)",
                reasons.join(", ")
            ),
            Self::ClockDrop { gpu, min_mhz, max_mhz } => write!(
                f,
                "GPU {gpu} SM clock fell to {min_mhz:.0} MHz from {max_mhz:.0} MHz: lock clocks (nvidia-smi -lgc) or warm up longer"
            ),
            Self::TemperatureRise { gpu, start_celsius, end_celsius } => write!(
                f,
                "GPU {gpu} warmed from {start_celsius:.0} °C to {end_celsius:.0} °C: later phases run hotter; warm up longer or interleave phases"
            ),
            Self::OtherProcesses { gpu, count } => write!(
                f,
                "{count} other process(es) used GPU {gpu} during the run: timings include their contention; run on an idle GPU"
            ),
            Self::WarmupTooShort { head_steps, slower_percent, warmup_steps } => write!(
                f,
                "the first {head_steps} measured steps were {slower_percent:.0} % slower than the rest: {warmup_steps} warm-up step(s) did not reach the steady state (kernel loading, caches, clocks); raise warmup_steps"
            ),
            Self::SamplerCost { percent_of_core, interval_ms } => write!(
                f,
                "the telemetry sampler used {percent_of_core:.1} % of a core (a sample every {interval_ms} ms), over the {SAMPLER_BUDGET_PERCENT} % budget: it takes CPU time from the measured threads; raise telemetry_interval_ms"
            ),
            Self::DeviceMemoryNotReturned { ordinal, extra_bytes } => write!(
                f,
                "cuda:{ordinal} had {} more device memory in use after the run than before it: memory was not given back (or another process took it), so later runs on this GPU have less",
                format_bytes(*extra_bytes as f64)
            ),
            Self::ClocksDiffer { baseline_mhz, phase_mhz } => write!(
                f,
                "comparison may be unfair: clocks differ (baseline {baseline_mhz:.0} MHz, this phase {phase_mhz:.0} MHz); lock clocks (nvidia-smi -lgc)"
            ),
            Self::UnreliableMachine { ratio, low, high, cause } => write!(
                f,
                "unreliable machine: the baseline against itself in the same rounds (A/A) came out {ratio:.3} [{low:.3}–{high:.3}], not 1; likely {cause}; rerun on a quieter machine before trusting this verdict"
            ),
        }
    }
}
