//! Choosing the device a phase runs on, and waiting for it before a clock is read.

use candle_core::{DType, Device};

use crate::suite::{DTypeSpec, DeviceSpec};

/// Why a phase's device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// This binary was built without CUDA support.
    #[error(
        "phase needs CUDA device {ordinal}, but this phasebench was built without the `cuda` feature (rebuild with `cargo build --release --features cuda`)"
    )]
    CudaNotCompiled {
        /// The requested GPU.
        ordinal: usize,
    },
    /// CUDA is compiled in but the device could not be opened.
    #[error("cannot open CUDA device {ordinal}: {reason}")]
    CudaUnavailable {
        /// The requested GPU.
        ordinal: usize,
        /// candle's or the driver's reason.
        reason: String,
    },
}

/// Opens the device a phase asks for.
pub fn open(spec: DeviceSpec) -> Result<Device, DeviceError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(ordinal) if !cfg!(feature = "cuda") => Err(DeviceError::CudaNotCompiled { ordinal }),
        DeviceSpec::Cuda(ordinal) => {
            // cudarc panics when the driver library cannot be loaded; turn that into an error.
            let opened = std::panic::catch_unwind(|| Device::new_cuda(ordinal));
            match opened {
                Ok(Ok(device)) => Ok(device),
                Ok(Err(error)) => Err(DeviceError::CudaUnavailable { ordinal, reason: error.to_string() }),
                Err(panic) => Err(DeviceError::CudaUnavailable { ordinal, reason: panic_message(&*panic) }),
            }
        }
    }
}

/// Waits until all work queued on `device` has finished, so that a clock read after it is honest.
pub fn synchronize(device: &Device) -> candle_core::Result<()> {
    device.synchronize()
}

/// The candle dtype of a phase's dtype.
pub fn dtype(spec: DTypeSpec) -> DType {
    match spec {
        DTypeSpec::F32 => DType::F32,
        DTypeSpec::F16 => DType::F16,
        DTypeSpec::BF16 => DType::BF16,
    }
}

/// A candle error's message without the backtrace candle attaches when `RUST_BACKTRACE` is set.
pub fn candle_error_text(error: &candle_core::Error) -> String {
    match error {
        candle_core::Error::WithBacktrace { inner, .. } => candle_error_text(inner),
        other => other.to_string(),
    }
}

/// The text of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let error = open(DeviceSpec::Cuda(0)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("built without the `cuda` feature"), "{error}");
    }

    #[test]
    fn cpu_always_opens() {
        assert!(open(DeviceSpec::Cpu).is_ok());
    }
}
