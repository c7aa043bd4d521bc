//! The host: CPU and memory of this process and of the machine.

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::{TelemetrySample, TelemetrySource};

/// Samples this process's CPU and RSS and the machine's CPU and memory through sysinfo.
pub struct HostSource {
    system: Option<System>,
    pid: Option<Pid>,
}

impl HostSource {
    /// A host source for this process.
    pub fn new() -> Self {
        Self { system: System::new().ok(), pid: sysinfo::get_current_pid().ok() }
    }
}

impl Default for HostSource {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetrySource for HostSource {
    fn name(&self) -> &'static str {
        "host"
    }

    fn sample(&mut self, sample: &mut TelemetrySample) {
        let Some(system) = self.system.as_mut() else { return };
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        sample.host.system_memory_used_bytes = Some(system.used_memory());
        sample.host.system_memory_available_bytes = Some(system.available_memory());
        sample.host.system_cpu_percent = Some(percent(system.global_cpu_usage()));
        if let Some(pid) = self.pid {
            let kind = ProcessRefreshKind::nothing().with_memory().with_cpu();
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);
            if let Some(process) = system.process(pid) {
                sample.host.process_rss_bytes = Some(process.memory());
                sample.host.process_cpu_percent = Some(percent(process.cpu_usage()));
            }
        }
    }
}

/// A CPU percentage to 0.01 %: finer digits are noise of the sampling, and the f32 → f64
/// conversion would write each as 17 digits in every saved sample.
fn percent(value: f32) -> f64 {
    (f64::from(value) * 100.0).round() / 100.0
}

/// Measures the peak resident set size (RSS) of this process over a span of work.
///
/// On Linux the kernel's own high-water mark is reset at the start (`/proc/self/clear_refs`) and
/// read at the end (`VmHWM`), which catches every peak however short. Elsewhere, or where the
/// reset is not allowed, the larger of the RSS at start and end is reported.
pub struct PeakRssMeter {
    system: Option<System>,
    pid: Option<Pid>,
    kernel_peak_reset: bool,
    start_rss_bytes: Option<u64>,
}

impl PeakRssMeter {
    /// Starts measuring from now.
    pub fn start() -> Self {
        let kernel_peak_reset = cfg!(target_os = "linux") && std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let mut meter = Self {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            kernel_peak_reset,
            start_rss_bytes: None,
        };
        meter.start_rss_bytes = meter.current_rss_bytes();
        meter
    }

    /// The resident memory of this process now, when the OS tells.
    pub fn current_rss_bytes(&mut self) -> Option<u64> {
        let (system, pid) = (self.system.as_mut()?, self.pid?);
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_memory(),
        );
        system.process(pid).map(|process| process.memory())
    }

    /// The resident memory when measuring started.
    pub fn start_rss_bytes(&self) -> Option<u64> {
        self.start_rss_bytes
    }

    /// The peak resident memory since [`PeakRssMeter::start`].
    pub fn peak_rss_bytes(&mut self) -> Option<u64> {
        let end = self.current_rss_bytes();
        let kernel_peak = if self.kernel_peak_reset { read_vm_hwm_bytes() } else { None };
        [self.start_rss_bytes, end, kernel_peak].into_iter().flatten().max()
    }
}

/// The resident memory of this process now, when the OS tells (nothing is reset).
pub fn current_rss_bytes() -> Option<u64> {
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map(|process| process.memory())
}

/// `VmHWM` (peak RSS) from `/proc/self/status`, in bytes.
fn read_vm_hwm_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_allocation_shows_in_the_peak() {
        // Other tests in this process allocate, free and reset the kernel's mark at any time, so
        // the block is still held when the peak is read, and the peak is compared with the
        // resident memory seen while the block is held (not with a level from before it).
        let mut meter = PeakRssMeter::start();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let holding = meter.current_rss_bytes().unwrap_or(0);
        let peak = meter.peak_rss_bytes().unwrap_or(0);
        drop(block);
        assert!(holding >= 64 << 20, "the block is resident: {holding}");
        assert!(peak >= holding, "peak {peak} below the memory held {holding}");
    }
}
