//! The devices a phase can be put on, as the editor's device picker lists them.

use crate::device::CudaSupport;
use crate::suite::DeviceSpec;
use crate::telemetry::GpuInfo;

/// One entry of the device picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceChoice {
    /// The device a phase gets when this entry is picked.
    pub device: DeviceSpec,
    /// What the entry shows, e.g. `cuda:1 — NVIDIA H100 80GB HBM3`.
    pub label: String,
    /// Why a phase on this device cannot run here, when it cannot.
    pub problem: Option<String>,
}

/// The CPU and every GPU of this machine: the CUDA driver's devices when this build has CUDA and
/// the driver answers, else the GPUs NVML lists (picking them is allowed in a CUDA build only, so
/// a suite can be written here for another machine), else `cuda:0` alone. `cuda` is `None`
/// until the machine was looked at.
pub fn device_choices(cuda: Option<&CudaSupport>, gpus: &[GpuInfo]) -> Vec<DeviceChoice> {
    let mut choices = vec![DeviceChoice { device: DeviceSpec::Cpu, label: "cpu".into(), problem: None }];
    let not_compiled = "this phasebench was built without CUDA (cargo build --release --features cuda)";
    match cuda {
        Some(CudaSupport::Devices(devices)) if !devices.is_empty() => {
            choices.extend(devices.iter().map(|device| DeviceChoice {
                device: DeviceSpec::Cuda(device.ordinal),
                label: format!("cuda:{} — {}", device.ordinal, device.name),
                problem: None,
            }));
        }
        other => {
            let problem = match other {
                Some(CudaSupport::NotCompiled) => not_compiled.to_owned(),
                Some(CudaSupport::Unavailable(reason)) => format!("CUDA cannot be used here: {reason}"),
                Some(CudaSupport::Devices(_)) => "the CUDA driver sees no GPU".to_owned(),
                None if cfg!(feature = "cuda") => "looking for GPUs…".to_owned(),
                None => not_compiled.to_owned(),
            };
            let named = gpus.iter().map(|gpu| (gpu.index as usize, format!("cuda:{} — {}", gpu.index, gpu.name)));
            let listed: Vec<(usize, String)> =
                if gpus.is_empty() { vec![(0, "cuda:0".to_owned())] } else { named.collect() };
            choices.extend(listed.into_iter().map(|(ordinal, label)| DeviceChoice {
                device: DeviceSpec::Cuda(ordinal),
                label,
                problem: Some(problem.clone()),
            }));
        }
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::CudaDeviceInfo;

    fn gpu(index: u32) -> GpuInfo {
        GpuInfo { index, name: format!("NVIDIA H100 #{index}"), ..GpuInfo::default() }
    }

    #[test]
    fn every_cuda_device_is_listed_with_its_name() {
        let cuda = CudaSupport::Devices(
            (0..3).map(|ordinal| CudaDeviceInfo { ordinal, name: format!("GPU {ordinal}"), uuid: None }).collect(),
        );
        let choices = device_choices(Some(&cuda), &[gpu(0)]);
        let labels: Vec<&str> = choices.iter().map(|choice| choice.label.as_str()).collect();
        assert_eq!(labels, ["cpu", "cuda:0 — GPU 0", "cuda:1 — GPU 1", "cuda:2 — GPU 2"]);
        assert!(choices.iter().all(|choice| choice.problem.is_none()));
    }

    #[test]
    fn without_cuda_the_machines_gpus_are_listed_with_the_reason() {
        let choices = device_choices(Some(&CudaSupport::NotCompiled), &[gpu(0), gpu(1)]);
        assert_eq!(choices.len(), 3);
        assert_eq!(choices[2].device, DeviceSpec::Cuda(1));
        assert!(choices[2].problem.as_deref().is_some_and(|p| p.contains("--features cuda")));
        let bare = device_choices(Some(&CudaSupport::Unavailable("no CUDA driver found".into())), &[]);
        assert_eq!(bare[1].label, "cuda:0");
        assert!(bare[1].problem.as_deref().is_some_and(|p| p.contains("no CUDA driver found")));
        assert!(bare[0].problem.is_none(), "the CPU always works");
    }
}
