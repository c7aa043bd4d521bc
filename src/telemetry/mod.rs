//! Measurements of the machine while runs execute. For now: this process's peak resident memory
//! over a run; the live sampler (NVML, host series) builds on this module.

mod host;

pub use host::PeakRssMeter;
