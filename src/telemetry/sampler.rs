//! The sampler thread: samples every source at a fixed interval on the run's clock, hands each
//! batch to a callback, sleeps on a condition variable so that stopping is immediate, and
//! measures its own CPU cost.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{TelemetrySample, TelemetrySource};

/// How often samples are handed to the callback at most (they are kept in full regardless).
const BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// What the sampler thread itself cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplerCost {
    /// CPU seconds the sampler thread used (Linux; absent elsewhere).
    pub cpu_secs: Option<f64>,
    /// Wall seconds it ran.
    pub wall_secs: f64,
    /// Samples taken.
    pub samples: usize,
}

impl SamplerCost {
    /// CPU seconds per wall second: the share of one core the sampler used.
    pub fn cpu_share(&self) -> Option<f64> {
        Some(self.cpu_secs? / self.wall_secs.max(1e-9))
    }
}

type Output = (Vec<Box<dyn TelemetrySource>>, Vec<TelemetrySample>, SamplerCost);

/// A running sampler thread.
pub struct Sampler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<Output>,
}

/// CPU seconds this thread has used: from `/proc/thread-self/schedstat` (nanoseconds) where the
/// kernel has it, else `/proc/thread-self/stat` (clock ticks of 1/100 s).
fn thread_cpu_secs() -> Option<f64> {
    if let Ok(schedstat) = std::fs::read_to_string("/proc/thread-self/schedstat")
        && let Some(Ok(nanos)) = schedstat.split_whitespace().next().map(str::parse::<u64>)
    {
        return Some(nanos as f64 / 1e9);
    }
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

impl Sampler {
    /// Starts sampling `sources` every `interval` on a thread named `phasebench-telemetry`;
    /// timestamps are seconds since `origin`. `on_batch` receives new samples about every 50 ms.
    /// Returns once the first sample is taken, so the series covers everything that follows.
    pub fn start(
        mut sources: Vec<Box<dyn TelemetrySource>>,
        interval: Duration,
        origin: Instant,
        mut on_batch: impl FnMut(Vec<TelemetrySample>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop_signal = Arc::clone(&stop);
        let (ready, first_sample_taken) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new().name("phasebench-telemetry".into()).spawn(move || {
            let (started, cpu_at_start) = (Instant::now(), thread_cpu_secs());
            let mut samples = Vec::new();
            let mut unsent = Vec::new();
            let mut last_batch = Instant::now();
            let mut take_sample = |samples: &mut Vec<TelemetrySample>, unsent: &mut Vec<TelemetrySample>| {
                let mut sample = TelemetrySample::default();
                let read_start = origin.elapsed().as_secs_f64();
                for source in &mut sources {
                    let (before, gpus_before) = (origin.elapsed().as_secs_f64(), sample.gpus.len());
                    source.sample(&mut sample);
                    // Each GPU is stamped at its own source's read, not after every source.
                    let read_at = (before + origin.elapsed().as_secs_f64()) / 2.0;
                    for gpu in &mut sample.gpus[gpus_before..] {
                        gpu.t_secs = Some(read_at);
                    }
                }
                sample.t_secs = (read_start + origin.elapsed().as_secs_f64()) / 2.0;
                samples.push(sample.clone());
                unsent.push(sample);
            };
            loop {
                take_sample(&mut samples, &mut unsent);
                let _ = ready.try_send(());
                if last_batch.elapsed() >= BATCH_INTERVAL {
                    on_batch(std::mem::take(&mut unsent));
                    last_batch = Instant::now();
                }
                let (lock, condvar) = &*stop_signal;
                let Ok(stopped) = lock.lock() else { break };
                let Ok((stopped, _)) = condvar.wait_timeout_while(stopped, interval, |stopped| !*stopped) else {
                    break;
                };
                if *stopped {
                    break;
                }
            }
            // One last sample, so the series covers the whole run.
            take_sample(&mut samples, &mut unsent);
            on_batch(unsent);
            let cost = SamplerCost {
                cpu_secs: thread_cpu_secs().zip(cpu_at_start).map(|(end, start)| end - start),
                wall_secs: started.elapsed().as_secs_f64(),
                samples: samples.len(),
            };
            (sources, samples, cost)
        })?;
        // An error here means the thread died before sampling; `finish` reports that.
        let _ = first_sample_taken.recv();
        Ok(Self { stop, thread })
    }

    /// Stops the thread (at once, not after the current interval) and returns the sources for
    /// reuse, every sample and the sampler's cost; `None` if the thread panicked.
    pub fn finish(self) -> Option<Output> {
        let (lock, condvar) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        condvar.notify_all();
        self.thread.join().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{FakeSource, GpuSample};

    #[test]
    fn samples_are_timestamped_on_the_given_clock_and_stop_promptly() {
        let fake = FakeSource::new(vec![GpuSample { index: 0, power_watts: Some(100.0), ..GpuSample::default() }]);
        let origin = Instant::now();
        let (sender, receiver) = std::sync::mpsc::sync_channel(1000);
        let sampler = Sampler::start(vec![Box::new(fake)], Duration::from_millis(10), origin, move |batch| {
            let _ = sender.try_send(batch.len());
        });
        let Ok(sampler) = sampler else { panic!("cannot start the sampler") };
        std::thread::sleep(Duration::from_millis(120));
        let stop_requested = origin.elapsed().as_secs_f64();
        let Some((sources, samples, cost)) = sampler.finish() else { panic!("sampler thread died") };
        assert_eq!(sources.len(), 1);
        assert!(samples.len() >= 5, "{} samples", samples.len());
        assert!(samples.windows(2).all(|pair| pair[0].t_secs < pair[1].t_secs));
        // Stopping does not wait out an interval, and the last sample is taken at the stop.
        let last = samples.last().map_or(0.0, |sample| sample.t_secs);
        assert!(last >= stop_requested && last < stop_requested + 0.05, "{last} vs {stop_requested}");
        assert_eq!(cost.samples, samples.len());
        assert_eq!(receiver.try_iter().sum::<usize>(), samples.len(), "every sample reaches the callback");
    }

    /// A GPU source that notes when it was read, on the sampler's clock.
    struct NotingSource {
        origin: Instant,
        reads: Arc<Mutex<Vec<f64>>>,
    }

    impl TelemetrySource for NotingSource {
        fn name(&self) -> &'static str {
            "noting"
        }

        fn sample(&mut self, sample: &mut TelemetrySample) {
            if let Ok(mut reads) = self.reads.lock() {
                reads.push(self.origin.elapsed().as_secs_f64());
            }
            sample.gpus.push(GpuSample { index: 0, energy_millijoules: Some(1), ..GpuSample::default() });
        }
    }

    /// A source that takes 40 ms to read (a slow process table).
    struct SlowSource;

    impl TelemetrySource for SlowSource {
        fn name(&self) -> &'static str {
            "slow"
        }

        fn sample(&mut self, _sample: &mut TelemetrySample) {
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Issue 18, defect 10: a GPU's figures (its energy counter) are stamped when that GPU was
    /// read, not after a slow source read after it (40 ms later here).
    #[test]
    fn each_gpu_is_stamped_at_its_own_read() {
        let origin = Instant::now();
        let reads = Arc::new(Mutex::new(Vec::new()));
        let sources: Vec<Box<dyn TelemetrySource>> =
            vec![Box::new(NotingSource { origin, reads: Arc::clone(&reads) }), Box::new(SlowSource)];
        let Ok(sampler) = Sampler::start(sources, Duration::from_millis(10), origin, |_| {}) else {
            panic!("cannot start the sampler")
        };
        std::thread::sleep(Duration::from_millis(100));
        let Some((_, samples, _)) = sampler.finish() else { panic!("sampler thread died") };
        let reads = reads.lock().map(|reads| reads.clone()).unwrap_or_default();
        assert_eq!(reads.len(), samples.len());
        for (sample, read_at) in samples.iter().zip(&reads) {
            let stamped = sample.gpus[0].t_secs.unwrap_or(sample.t_secs);
            assert!((stamped - read_at).abs() < 0.005, "GPU stamped at {stamped}, read at {read_at}");
            assert!(sample.t_secs > *read_at, "the sample's own time is the middle of all reads");
        }
    }
}
