//! NVIDIA GPUs through NVML, loaded at run time: a machine without the driver library gets a
//! clear reason instead of GPU figures, and host sampling goes on.

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use serde::{Deserialize, Serialize};

use super::{GpuSample, TelemetrySample, TelemetrySource};

/// Samples every NVIDIA GPU; NVML is initialized once per source.
pub struct NvmlSource {
    nvml: Nvml,
    device_count: u32,
    pid: u32,
}

/// Why NVML could not be used, in words a user understands.
fn describe(error: &NvmlError) -> String {
    match error {
        NvmlError::LibloadingError(_) => {
            "GPU telemetry unavailable: NVIDIA driver library not found (libnvidia-ml.so.1)".into()
        }
        NvmlError::DriverNotLoaded => "GPU telemetry unavailable: the NVIDIA driver is not loaded".into(),
        NvmlError::NoPermission => "GPU telemetry unavailable: no permission to query the NVIDIA driver".into(),
        other => format!("GPU telemetry unavailable: {other}"),
    }
}

impl NvmlSource {
    /// Loads NVML and counts the GPUs; the error says why GPU telemetry is unavailable.
    pub fn open() -> Result<Self, String> {
        let nvml = Nvml::init().map_err(|error| describe(&error))?;
        let device_count = nvml.device_count().map_err(|error| describe(&error))?;
        if device_count == 0 {
            return Err("GPU telemetry unavailable: NVML found no NVIDIA GPU".into());
        }
        Ok(Self { nvml, device_count, pid: std::process::id() })
    }
}

impl TelemetrySource for NvmlSource {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn sample(&mut self, sample: &mut TelemetrySample) {
        for index in 0..self.device_count {
            let Ok(device) = self.nvml.device_by_index(index) else { continue };
            let mut gpu = GpuSample { index, ..GpuSample::default() };
            if let Ok(rates) = device.utilization_rates() {
                gpu.utilization_gpu_percent = Some(f64::from(rates.gpu));
                gpu.utilization_memory_percent = Some(f64::from(rates.memory));
            }
            if let Ok(memory) = device.memory_info() {
                gpu.memory_used_bytes = Some(memory.used);
                gpu.memory_total_bytes = Some(memory.total);
            }
            if let Ok(processes) = device.running_compute_processes() {
                let own = processes.iter().find(|p| p.pid == self.pid);
                gpu.process_memory_bytes = own.and_then(|p| match p.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                });
                gpu.other_processes = Some(processes.iter().filter(|p| p.pid != self.pid).count());
            }
            gpu.power_watts = device.power_usage().ok().map(|milliwatts| f64::from(milliwatts) / 1000.0);
            gpu.energy_millijoules = device.total_energy_consumption().ok();
            gpu.temperature_celsius = device.temperature(TemperatureSensor::Gpu).ok().map(f64::from);
            gpu.sm_clock_mhz = device.clock_info(Clock::SM).ok().map(f64::from);
            gpu.memory_clock_mhz = device.clock_info(Clock::Memory).ok().map(f64::from);
            if let Ok(reasons) = device.current_throttle_reasons() {
                gpu.throttle_reasons = reasons.iter_names().map(|(name, _)| name.to_owned()).collect();
            }
            gpu.pstate = device.performance_state().ok().map(|state| state as u32);
            sample.gpus.push(gpu);
        }
    }
}

/// One GPU as the environment records it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// NVML index.
    pub index: u32,
    /// Marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Unique id.
    pub uuid: Option<String>,
    /// PCI bus id.
    pub pci_bus_id: Option<String>,
    /// Device memory installed.
    pub memory_total_bytes: Option<u64>,
    /// Power limit in watts.
    pub power_limit_watts: Option<f64>,
}

/// The GPUs of the machine and the driver, or why they cannot be seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuEnvironment {
    /// Every NVIDIA GPU.
    pub gpus: Vec<GpuInfo>,
    /// NVIDIA driver version.
    pub driver_version: Option<String>,
    /// Highest CUDA version the driver supports, e.g. `13.0`.
    pub cuda_driver_version: Option<String>,
    /// Why GPU telemetry is unavailable, when it is.
    pub unavailable_reason: Option<String>,
}

/// Reads the GPUs and driver through NVML, or the reason it cannot.
pub fn gpu_environment() -> GpuEnvironment {
    let nvml = match Nvml::init() {
        Ok(nvml) => nvml,
        Err(error) => {
            return GpuEnvironment { unavailable_reason: Some(describe(&error)), ..GpuEnvironment::default() };
        }
    };
    let count = nvml.device_count().unwrap_or(0);
    let gpus = (0..count)
        .filter_map(|index| {
            let device = nvml.device_by_index(index).ok()?;
            Some(GpuInfo {
                index,
                name: device.name().unwrap_or_else(|_| "unknown NVIDIA GPU".into()),
                uuid: device.uuid().ok(),
                pci_bus_id: device.pci_info().ok().map(|pci| pci.bus_id),
                memory_total_bytes: device.memory_info().ok().map(|memory| memory.total),
                power_limit_watts: device.power_management_limit().ok().map(|mw| f64::from(mw) / 1000.0),
            })
        })
        .collect::<Vec<_>>();
    let cuda = nvml.sys_cuda_driver_version().ok().map(|v| format!("{}.{}", v / 1000, v % 1000 / 10));
    GpuEnvironment {
        unavailable_reason: gpus.is_empty().then(|| "GPU telemetry unavailable: NVML found no NVIDIA GPU".into()),
        gpus,
        driver_version: nvml.sys_driver_version().ok(),
        cuda_driver_version: cuda,
    }
}
