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

/// The NVML index of the physical GPU that CUDA calls `ordinal`. CUDA numbers only the devices
/// `CUDA_VISIBLE_DEVICES` lets through (`visible_devices`, its value), so `Cuda(0)` may be NVML's
/// GPU 3. The device's UUID from the CUDA driver decides when known; otherwise the list entry at
/// `ordinal` (an index, or a `GPU-` UUID or its prefix) does, and without the variable the
/// ordinal itself. `None` when no listed GPU matches (e.g. a MIG instance).
pub fn nvml_index_for_cuda(
    ordinal: usize,
    cuda_uuid: Option<&str>,
    visible_devices: Option<&str>,
    gpus: &[GpuInfo],
) -> Option<u32> {
    let with_uuid = |wanted: &str, prefix: bool| {
        let mut matching = gpus.iter().filter(|gpu| {
            gpu.uuid.as_deref().is_some_and(|uuid| {
                let (uuid, wanted) = (uuid.to_ascii_lowercase(), wanted.to_ascii_lowercase());
                if prefix { uuid.starts_with(&wanted) } else { uuid == wanted }
            })
        });
        // A prefix must name one GPU, as it must for CUDA.
        match (matching.next(), matching.next()) {
            (Some(gpu), None) => Some(gpu.index),
            _ => None,
        }
    };
    if let Some(uuid) = cuda_uuid {
        return with_uuid(uuid, false);
    }
    let Some(list) = visible_devices else {
        return gpus.iter().find(|gpu| gpu.index as usize == ordinal).map(|gpu| gpu.index);
    };
    let entry = list.split(',').map(str::trim).nth(ordinal)?;
    if let Ok(index) = entry.parse::<u32>() {
        gpus.iter().find(|gpu| gpu.index == index).map(|gpu| gpu.index)
    } else if entry.starts_with("GPU-") {
        with_uuid(entry, true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus() -> Vec<GpuInfo> {
        [
            "GPU-aaaa1111-0000-0000-0000-000000000000",
            "GPU-bbbb2222-0000-0000-0000-000000000000",
            "GPU-bbbb3333-0000-0000-0000-000000000000",
        ]
        .iter()
        .enumerate()
        .map(|(index, uuid)| GpuInfo {
            index: index as u32,
            name: "NVIDIA H100".into(),
            uuid: Some((*uuid).into()),
            ..GpuInfo::default()
        })
        .collect()
    }

    #[test]
    fn the_cuda_uuid_names_the_nvml_gpu_whatever_the_ordinal() {
        let uuid = Some("GPU-BBBB3333-0000-0000-0000-000000000000");
        assert_eq!(nvml_index_for_cuda(0, uuid, Some("2"), &gpus()), Some(2));
        assert_eq!(nvml_index_for_cuda(0, Some("GPU-cccc0000-0000-0000-0000-000000000000"), None, &gpus()), None);
    }

    #[test]
    fn cuda_visible_devices_renumbers_the_gpus() {
        assert_eq!(nvml_index_for_cuda(1, None, None, &gpus()), Some(1), "no variable: the ordinal is the index");
        assert_eq!(nvml_index_for_cuda(0, None, Some("2,0"), &gpus()), Some(2));
        assert_eq!(nvml_index_for_cuda(1, None, Some("2, 0"), &gpus()), Some(0));
        assert_eq!(nvml_index_for_cuda(2, None, Some("2,0"), &gpus()), None, "only two are visible");
        assert_eq!(nvml_index_for_cuda(0, None, Some(""), &gpus()), None, "none is visible");
        assert_eq!(nvml_index_for_cuda(0, None, Some("GPU-aaaa"), &gpus()), Some(0), "a unique UUID prefix");
        assert_eq!(nvml_index_for_cuda(0, None, Some("GPU-bbbb"), &gpus()), None, "an ambiguous prefix");
        assert_eq!(nvml_index_for_cuda(0, None, Some("MIG-1234"), &gpus()), None);
    }
}
