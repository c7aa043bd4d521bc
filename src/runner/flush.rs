//! Cold caches between steps (`flush_cache_between_steps`): a buffer larger than the GPU's L2 and
//! the CPU's last-level cache, rewritten on the phase's device outside the timed region.

use crate::device;
use crate::plan::CACHE_FLUSH_BYTES;

/// Overwrites a device buffer of [`CACHE_FLUSH_BYTES`] so the next step starts with cold caches.
pub(super) struct CacheFlusher {
    buffer: candle_core::Tensor,
    /// What the buffer is overwritten with, made with it (so all the flusher's memory is taken
    /// before the run's heap is counted).
    source: candle_core::Tensor,
}

/// The value the flush writes (any value does; a known one lets tests check the whole buffer).
const CACHE_FLUSH_VALUE: f32 = 2.0;

impl CacheFlusher {
    /// Allocates the buffer and what it is overwritten with on `device`.
    pub(super) fn new(device: &candle_core::Device) -> candle_core::Result<Self> {
        let buffer = candle_core::Tensor::zeros(CACHE_FLUSH_BYTES / 4, candle_core::DType::F32, device)?;
        let source = candle_core::Tensor::full(CACHE_FLUSH_VALUE, buffer.elem_count(), device)?;
        Ok(Self { buffer, source })
    }

    /// Copies the source over the whole buffer in place (no allocation per step) and waits for
    /// the device, so the flush is over before the step's clock starts.
    pub(super) fn flush(&mut self) -> candle_core::Result<()> {
        self.buffer.slice_set(&self.source, 0, 0)?;
        device::synchronize(self.buffer.device())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flush rewrites the whole buffer, in place, on the CPU here.
    #[test]
    fn a_cache_flush_rewrites_the_whole_buffer() -> candle_core::Result<()> {
        let mut flusher = CacheFlusher::new(&candle_core::Device::Cpu)?;
        assert_eq!(flusher.buffer.elem_count() * 4, CACHE_FLUSH_BYTES);
        assert_eq!(flusher.buffer.max(0)?.to_scalar::<f32>()?, 0.0);
        flusher.flush()?;
        flusher.flush()?;
        assert_eq!(flusher.buffer.min(0)?.to_scalar::<f32>()?, 2.0);
        assert_eq!(flusher.buffer.max(0)?.to_scalar::<f32>()?, 2.0);
        Ok(())
    }
}
