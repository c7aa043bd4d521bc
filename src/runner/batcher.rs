//! Step times on their way to the front end: batched about every [`STEP_BATCH_INTERVAL`], never
//! blocking a step.

use std::time::Instant;

use super::execute::RunContext;
use super::{CancelToken, EventSender, RunEvent, STEP_BATCH_INTERVAL, StepKind};

/// Collects step times and sends them about every [`STEP_BATCH_INTERVAL`], never blocking a
/// step: when the channel is full the times wait for the next send. A run abandoned at its
/// timeout sends nothing more: its steps are no longer the front end's business.
pub(super) struct StepBatcher<'a> {
    events: &'a EventSender,
    abandoned: &'a CancelToken,
    index: usize,
    kind: StepKind,
    pending: Vec<f64>,
    last_send: Instant,
}

impl<'a> StepBatcher<'a> {
    pub(super) fn new(context: &'a RunContext, kind: StepKind) -> Self {
        Self {
            events: &context.events,
            abandoned: &context.abandoned,
            index: context.run.index,
            kind,
            pending: Vec::new(),
            last_send: Instant::now(),
        }
    }

    pub(super) fn push(&mut self, secs: f64) {
        if self.abandoned.is_cancelled() {
            return;
        }
        self.pending.push(secs);
        if self.last_send.elapsed() >= STEP_BATCH_INTERVAL {
            let event = self.take_event();
            if let Some(RunEvent::Steps { step_secs, .. }) = self.events.try_send(event) {
                self.pending = step_secs;
            }
            self.last_send = Instant::now();
        }
    }

    /// Marks a text generation's prefill before step `before_step`: sent at once if there is room
    /// (the event carries its place, whatever steps are still pending), else dropped — a mark,
    /// never a wait inside the measured loop.
    pub(super) fn prefill(&mut self, before_step: usize, ttft_secs: f64) {
        if self.abandoned.is_cancelled() {
            return;
        }
        let event = RunEvent::Prefill { index: self.index, kind: self.kind, before_step, ttft_secs };
        let _ = self.events.try_send(event);
    }

    /// Marks an image generation's stage before step `before_step`, as [`Self::prefill`] does.
    pub(super) fn stage(&mut self, before_step: usize, stage: super::image::ImageStage, secs: f64) {
        if self.abandoned.is_cancelled() {
            return;
        }
        let _ = self.events.try_send(RunEvent::Stage { index: self.index, kind: self.kind, before_step, stage, secs });
    }

    fn take_event(&mut self) -> RunEvent {
        RunEvent::Steps { index: self.index, kind: self.kind, step_secs: std::mem::take(&mut self.pending) }
    }

    /// Sends what is left, waiting for room if needed (outside the measured loop).
    pub(super) fn finish(&mut self) {
        if !self.pending.is_empty() && !self.abandoned.is_cancelled() {
            let event = self.take_event();
            self.events.send(event);
        }
    }
}
