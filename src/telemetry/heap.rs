//! The heap a run allocates, counted byte for byte: the process's global allocator is the system
//! allocator wrapped in a counter of bytes allocated less bytes freed since the last reset, and of
//! that count's peak. Unlike resident memory it does not depend on what the allocator kept from
//! earlier runs or on which pages were touched.

use std::alloc::System;

use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait};

#[global_allocator]
static HEAP: PeakMemAlloc<System> = PeakMemAlloc::system();

/// Measures the peak growth of the process's heap from its start: the most bytes held at once
/// beyond what was held when it started. The counter is process-wide, so one meter measures at a
/// time (runs are sequential) and allocations of other threads in the window count too.
#[derive(Debug)]
pub struct HeapPeakMeter(());

impl HeapPeakMeter {
    /// Starts measuring from now (forgets the peak of any earlier meter).
    pub fn start() -> Self {
        HEAP.reset_peak_memory();
        Self(())
    }

    /// The most bytes held at once since [`HeapPeakMeter::start`], beyond those held then.
    pub fn peak_growth_bytes(&self) -> u64 {
        HEAP.get_peak_memory() as u64
    }
}
