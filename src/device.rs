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
            // cudarc panics when a CUDA library cannot be loaded; turn that into an error.
            match quietly_catch_unwind(|| Device::new_cuda(ordinal)) {
                Ok(Ok(device)) => Ok(device),
                Ok(Err(error)) => Err(DeviceError::CudaUnavailable { ordinal, reason: candle_error_text(&error) }),
                Err(panic) => Err(DeviceError::CudaUnavailable { ordinal, reason: missing_library_text(&panic) }),
            }
        }
    }
}

/// A GPU as the CUDA driver numbers it, i.e. after `CUDA_VISIBLE_DEVICES` and `CUDA_DEVICE_ORDER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaDeviceInfo {
    /// The ordinal a phase's `Cuda(N)` names.
    pub ordinal: usize,
    /// The driver's name for it, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Its UUID in NVML's spelling (`GPU-xxxxxxxx-…`), which names the same physical GPU in NVML.
    pub uuid: Option<String>,
}

/// Whether this binary can run CUDA phases on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CudaSupport {
    /// Built without the `cuda` feature.
    NotCompiled,
    /// Built with CUDA, but it cannot be used here; the text says why.
    Unavailable(String),
    /// The devices the CUDA driver sees, by ordinal.
    Devices(Vec<CudaDeviceInfo>),
}

impl CudaSupport {
    /// The visible CUDA devices (none when CUDA is not compiled in or unusable).
    pub fn devices(&self) -> &[CudaDeviceInfo] {
        match self {
            Self::Devices(devices) => devices,
            Self::NotCompiled | Self::Unavailable(_) => &[],
        }
    }
}

impl std::fmt::Display for CudaSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotCompiled => f.write_str("not compiled in (build with `--features cuda`, see README)"),
            Self::Unavailable(reason) => write!(f, "compiled in, unusable here: {reason}"),
            Self::Devices(devices) => write!(f, "compiled in, {} device(s) visible", devices.len()),
        }
    }
}

/// Asks the CUDA driver which devices it sees, without opening any (no context is created).
pub fn cuda_support() -> CudaSupport {
    #[cfg(feature = "cuda")]
    {
        use candle_core::cuda_backend::cudarc::driver::{CudaContext, DriverError, result};
        let enumerate = || -> Result<Vec<CudaDeviceInfo>, DriverError> {
            (0..CudaContext::device_count()?)
                .map(|ordinal| {
                    let device = result::device::get(ordinal)?;
                    let uuid = result::device::get_uuid(device).ok().map(|uuid| uuid.bytes.map(|byte| byte as u8));
                    Ok(CudaDeviceInfo {
                        ordinal: usize::try_from(ordinal).unwrap_or_default(),
                        name: result::device::get_name(device)?,
                        uuid: uuid.map(|bytes| nvml_style_uuid(&bytes)),
                    })
                })
                .collect()
        };
        match quietly_catch_unwind(enumerate) {
            Ok(Ok(devices)) => CudaSupport::Devices(devices),
            Ok(Err(error)) => CudaSupport::Unavailable(format!("the CUDA driver did not initialize: {error}")),
            Err(panic) => CudaSupport::Unavailable(missing_library_text(&panic)),
        }
    }
    #[cfg(not(feature = "cuda"))]
    CudaSupport::NotCompiled
}

/// A CUDA device UUID (16 bytes) as NVML writes it: `GPU-` and 8-4-4-4-12 lowercase hex digits.
pub fn nvml_style_uuid(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("GPU-{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

thread_local! {
    /// Set while [`quietly_catch_unwind`] runs `work` on this thread.
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work`, catching a panic without the panic hook printing it (cudarc panics, with a long
/// message, when a CUDA library is missing; the caller reports it better). The hook is wrapped
/// once, and stays silent only for this thread while `work` runs: runs on other threads that
/// panic at the same time are still reported.
fn quietly_catch_unwind<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET_PANICS.with(|quiet| quiet.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    QUIET_PANICS.with(|quiet| quiet.set(false));
    outcome.map_err(|panic| panic_message(&*panic))
}

/// What a user should read when cudarc could not load a CUDA library (its panic text names it).
pub fn missing_library_text(panic_text: &str) -> String {
    let library = panic_text.split("Unable to dynamically load the \"").nth(1).and_then(|rest| rest.split('"').next());
    match library {
        Some("cuda") => "no CUDA driver found (libcuda.so.1 could not be loaded): install the NVIDIA driver, \
                         or put the folder holding libcuda.so.1 on LD_LIBRARY_PATH"
            .to_owned(),
        Some(name) => format!(
            "the CUDA library `{name}` could not be loaded (e.g. lib{name}.so.13): put the folder holding it on \
             LD_LIBRARY_PATH (PyTorch's cu13 wheels keep them in site-packages/nvidia/cu13/lib)"
        ),
        None => panic_text.to_owned(),
    }
}

/// Waits until all work queued on `device` has finished, so that a clock read after it is honest.
pub fn synchronize(device: &Device) -> candle_core::Result<()> {
    device.synchronize()
}

/// Device memory in use (by every process) and installed, from the CUDA driver; `None` on the
/// CPU or when the driver cannot tell.
pub fn memory_in_use(device: &Device) -> Option<(u64, u64)> {
    #[cfg(feature = "cuda")]
    {
        let cuda = device.as_cuda_device().ok()?;
        let (free, total) = cuda.cuda_stream().context().mem_get_info().ok()?;
        Some((total.saturating_sub(free) as u64, total as u64))
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = device;
        None
    }
}

/// Whether a failure's text is the GPU running out of memory (the CUDA driver's or cuBLAS's
/// allocation error), as opposed to any other failure.
pub fn is_out_of_memory(reason: &str) -> bool {
    ["CUDA_ERROR_OUT_OF_MEMORY", "CUBLAS_STATUS_ALLOC_FAILED"].iter().any(|marker| reason.contains(marker))
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
    fn missing_cuda_libraries_are_named_with_what_to_do() {
        let driver = missing_library_text(
            "Unable to dynamically load the \"cuda\" shared library - searched for library names: [\"libcuda.so\"].",
        );
        assert!(driver.starts_with("no CUDA driver found"), "{driver}");
        let cublas = missing_library_text("Unable to dynamically load the \"cublas\" shared library - searched ...");
        assert!(cublas.contains("`cublas`") && cublas.contains("LD_LIBRARY_PATH"), "{cublas}");
        assert_eq!(missing_library_text("something else"), "something else");
    }

    #[test]
    fn a_caught_panic_is_quiet_and_becomes_its_message() {
        let caught =
            quietly_catch_unwind(|| -> u8 { panic!("Unable to dynamically load the \"cuda\" shared library") });
        assert_eq!(caught.err().as_deref(), Some("Unable to dynamically load the \"cuda\" shared library"));
        assert_eq!(quietly_catch_unwind(|| 7), Ok(7));
        assert!(!QUIET_PANICS.with(std::cell::Cell::get), "the thread is loud again afterwards");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_build_without_cuda_says_so() {
        assert_eq!(cuda_support(), CudaSupport::NotCompiled);
        assert!(cuda_support().to_string().contains("--features cuda"));
    }

    #[test]
    fn cuda_uuids_are_written_as_nvml_writes_them() {
        let bytes = [0x8f, 0x1e, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7];
        assert_eq!(nvml_style_uuid(&bytes), "GPU-8f1e293a-4b5c-6d7e-8091-a2b3c4d5e6f7");
    }

    #[test]
    fn out_of_memory_is_told_apart_from_other_failures() {
        assert!(is_out_of_memory("warm-up step failed: DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")"));
        assert!(is_out_of_memory("step 3 failed: CublasError(CUBLAS_STATUS_ALLOC_FAILED)"));
        assert!(!is_out_of_memory("step 3 failed: shape mismatch in matmul"));
        assert_eq!(memory_in_use(&Device::Cpu), None, "the CPU has no device memory to report");
    }

    #[test]
    fn cpu_always_opens() {
        assert!(open(DeviceSpec::Cpu).is_ok());
    }
}
