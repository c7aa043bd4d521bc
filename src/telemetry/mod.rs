//! Measurements of the machine while runs execute: a [`TelemetrySource`] trait with host
//! (sysinfo), NVIDIA GPU (NVML) and scripted (tests) sources, a sampler thread that timestamps
//! samples on the run's clock, per-run aggregates and validity warnings.

mod aggregate;
mod heap;
mod host;
mod nvml;
mod sampler;

pub use crate::warnings::ValidityWarning;
pub use aggregate::{EnergyMethod, GpuAggregate, HostAggregate, RunTelemetry, aggregate, compare_clocks};
pub use heap::HeapPeakMeter;
pub use host::{HostSource, PeakRssMeter, current_rss_bytes};
pub use nvml::{GpuEnvironment, GpuInfo, NvmlSource, gpu_environment, nvml_index_for_cuda};
pub use sampler::{Sampler, SamplerCost};

use serde::{Deserialize, Serialize};

/// Fastest sampling interval accepted.
pub const MIN_INTERVAL_MS: u64 = 10;

/// One sample of every source, taken at `t_secs` on the run's clock.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// Seconds since the run's clock origin (the same clock as its step times), in the middle of
    /// reading every source; each GPU carries its own read time too.
    pub t_secs: f64,
    /// This process and the host.
    pub host: HostSample,
    /// Each NVIDIA GPU, by NVML index.
    pub gpus: Vec<GpuSample>,
}

/// Host figures; absent when the OS does not tell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// CPU use of this process, in percent of one core.
    pub process_cpu_percent: Option<f64>,
    /// CPU use of the whole machine, in percent of all cores.
    pub system_cpu_percent: Option<f64>,
    /// Resident memory of this process.
    pub process_rss_bytes: Option<u64>,
    /// Memory in use on the machine.
    pub system_memory_used_bytes: Option<u64>,
    /// Memory still available on the machine.
    pub system_memory_available_bytes: Option<u64>,
}

/// One GPU's figures; every field is absent when the GPU does not support the query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    /// NVML device index.
    pub index: u32,
    /// When this GPU was read, in seconds on the run's clock (the middle of its source's read);
    /// absent in results from before it was recorded, where the sample's time stands for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_secs: Option<f64>,
    /// Percent of time a kernel was running.
    pub utilization_gpu_percent: Option<f64>,
    /// Percent of time device memory was read or written.
    pub utilization_memory_percent: Option<f64>,
    /// Device memory in use by everyone.
    pub memory_used_bytes: Option<u64>,
    /// Device memory installed.
    pub memory_total_bytes: Option<u64>,
    /// Device memory used by this process.
    pub process_memory_bytes: Option<u64>,
    /// Other processes running compute work on this GPU.
    pub other_processes: Option<usize>,
    /// Board power draw.
    pub power_watts: Option<f64>,
    /// Energy counter since the driver loaded (Volta and newer), in millijoules.
    pub energy_millijoules: Option<u64>,
    /// GPU temperature in °C.
    pub temperature_celsius: Option<f64>,
    /// Streaming-multiprocessor clock.
    pub sm_clock_mhz: Option<f64>,
    /// Memory clock.
    pub memory_clock_mhz: Option<f64>,
    /// Reasons the clocks are held down right now (empty when none).
    pub throttle_reasons: Vec<String>,
    /// Performance state (0 is the fastest).
    pub pstate: Option<u32>,
}

/// Something that can be sampled: the host, the GPUs, or a script in tests.
pub trait TelemetrySource: Send {
    /// Short name, e.g. `host` or `nvml`.
    fn name(&self) -> &'static str;
    /// Adds this source's figures to `sample`.
    fn sample(&mut self, sample: &mut TelemetrySample);
}

/// Scripted GPU samples for tests and demos: each call hands out the next one (the last repeats).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FakeSource {
    /// The samples to hand out, in order.
    pub gpu_samples: Vec<GpuSample>,
    /// When set, replaces the host's process RSS in every sample (to script memory growth).
    pub process_rss_bytes: Option<u64>,
    next: usize,
}

impl FakeSource {
    /// A source that replays `gpu_samples`.
    pub fn new(gpu_samples: Vec<GpuSample>) -> Self {
        Self { gpu_samples, process_rss_bytes: None, next: 0 }
    }

    /// Also reports the process's resident memory as `bytes` in every sample.
    pub fn with_process_rss(mut self, bytes: u64) -> Self {
        self.process_rss_bytes = Some(bytes);
        self
    }
}

impl TelemetrySource for FakeSource {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn sample(&mut self, sample: &mut TelemetrySample) {
        if let Some(gpu) = self.gpu_samples.get(self.next.min(self.gpu_samples.len().saturating_sub(1))) {
            sample.gpus.push(gpu.clone());
        }
        if let Some(bytes) = self.process_rss_bytes {
            sample.host.process_rss_bytes = Some(bytes);
        }
        self.next += 1;
    }
}

/// Which sources a suite samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum TelemetryChoice {
    /// The host, and NVIDIA GPUs when NVML loads.
    #[default]
    Auto,
    /// The host and a scripted GPU.
    Fake(FakeSource),
    /// Nothing is sampled.
    Off,
}

/// Opens the sources of a choice; also says why GPU telemetry is absent, when it is.
pub fn open_sources(choice: &TelemetryChoice) -> (Vec<Box<dyn TelemetrySource>>, Option<String>) {
    match choice {
        TelemetryChoice::Off => (Vec::new(), Some("telemetry is off".into())),
        TelemetryChoice::Fake(fake) => (vec![Box::new(HostSource::new()), Box::new(fake.clone())], None),
        TelemetryChoice::Auto => {
            let mut sources: Vec<Box<dyn TelemetrySource>> = vec![Box::new(HostSource::new())];
            match NvmlSource::open() {
                Ok(nvml) => {
                    sources.push(Box::new(nvml));
                    (sources, None)
                }
                Err(reason) => (sources, Some(reason)),
            }
        }
    }
}
