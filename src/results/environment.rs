//! The machine and software a result was measured on.

use serde::{Deserialize, Serialize};
use sysinfo::System;

/// Facts about the machine and build that explain a result's numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Host name.
    pub hostname: Option<String>,
    /// Operating system with version.
    pub os: String,
    /// Kernel version.
    pub kernel: Option<String>,
    /// CPU architecture (e.g. `x86_64`).
    pub cpu_arch: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Physical CPU cores.
    pub cpu_physical_cores: Option<usize>,
    /// Logical CPUs (hardware threads).
    pub cpu_logical_cores: usize,
    /// Threads candle uses for CPU work (`RAYON_NUM_THREADS` or the physical cores).
    pub compute_threads: usize,
    /// Installed memory.
    pub total_memory_bytes: u64,
    /// Memory available when the suite started.
    pub available_memory_bytes: u64,
    /// phasebench version.
    pub phasebench_version: String,
    /// candle-core version.
    pub candle_version: String,
    /// `release` or `debug`; debug builds are far slower and not fit for comparison.
    pub build_profile: String,
    /// Cargo features compiled in (e.g. `cuda`).
    pub features: Vec<String>,
    /// NVIDIA GPUs and driver, or why they cannot be seen.
    #[serde(default)]
    pub gpu: crate::telemetry::GpuEnvironment,
}

impl Environment {
    /// Reads the environment of this process now.
    pub fn capture() -> Self {
        let (cpu_model, cpu_logical_cores, total_memory_bytes, available_memory_bytes) = match System::new() {
            Ok(mut system) => {
                system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
                system.refresh_memory();
                let model = system.cpus().first().map(|cpu| cpu.brand().trim().to_owned()).unwrap_or_default();
                (model, system.cpus().len(), system.total_memory(), system.available_memory())
            }
            Err(_) => (String::new(), 0, 0, 0),
        };
        let os_name =
            System::long_os_version().or_else(|_| System::name()).unwrap_or_else(|_| std::env::consts::OS.to_owned());
        let mut features = Vec::new();
        if cfg!(feature = "cuda") {
            features.push("cuda".to_owned());
        }
        if cfg!(feature = "gui") {
            features.push("gui".to_owned());
        }
        Self {
            hostname: System::host_name().ok(),
            os: os_name,
            kernel: System::kernel_version().ok(),
            cpu_arch: System::cpu_arch(),
            cpu_model: if cpu_model.is_empty() { "unknown".to_owned() } else { cpu_model },
            cpu_physical_cores: System::physical_core_count().ok(),
            cpu_logical_cores: cpu_logical_cores.max(std::thread::available_parallelism().map_or(0, usize::from)),
            compute_threads: candle_core::utils::get_num_threads(),
            total_memory_bytes,
            available_memory_bytes,
            phasebench_version: env!("CARGO_PKG_VERSION").to_owned(),
            candle_version: env!("PHASEBENCH_CANDLE_VERSION").to_owned(),
            build_profile: if cfg!(debug_assertions) { "debug" } else { "release" }.to_owned(),
            features,
            gpu: crate::telemetry::gpu_environment(),
        }
    }
}

/// Memory the OS says is available now, if it tells.
pub fn available_memory_bytes() -> Option<u64> {
    let mut system = System::new().ok()?;
    system.refresh_memory();
    Some(system.available_memory())
}
