//! What the telemetry sampler costs: CPU seconds of its thread per wall second, at 100 ms and
//! 10 ms, with the sources a real run uses (host, and NVML where it loads), over several rounds
//! (min / median / max).
//!
//! Run: `cargo bench --bench telemetry_overhead` (optionally `-- SECONDS ROUNDS`, default 10 s per
//! interval and 3 rounds).

mod common;

use std::time::{Duration, Instant};

use common::min_median_max;
use phasebench::telemetry::{Sampler, TelemetryChoice, open_sources};

fn fail(message: &str) -> ! {
    eprintln!("telemetry_overhead: {message}");
    std::process::exit(1);
}

/// CPU share of one core and CPU microseconds per sample, sampling for `secs` at `interval_ms`.
fn measure(interval_ms: u64, secs: u64) -> (f64, f64) {
    let (sources, _) = open_sources(&TelemetryChoice::Auto);
    let sampler = Sampler::start(sources, Duration::from_millis(interval_ms), Instant::now(), |_| {})
        .unwrap_or_else(|_| fail("cannot start the sampler thread"));
    std::thread::sleep(Duration::from_secs(secs));
    let (_, _, cost) = sampler.finish().unwrap_or_else(|| fail("the sampler thread died"));
    let cpu = cost.cpu_secs.unwrap_or_else(|| fail("the sampler's CPU time cannot be read here"));
    let share = cost.cpu_share().unwrap_or(f64::NAN);
    println!(
        "{interval_ms:>7}ms {:>9} {cpu:>12.3} {share:>16.5} {:>11.1} µs",
        cost.samples,
        cpu / cost.samples as f64 * 1e6
    );
    (share * 100.0, cpu / cost.samples as f64 * 1e6)
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    let secs = numbers.first().copied().unwrap_or(10);
    let rounds = numbers.get(1).copied().unwrap_or(3).max(1);
    let (_, gpu_reason) = open_sources(&TelemetryChoice::Auto);
    println!("sources: host{}", gpu_reason.map_or_else(|| ", nvml".to_owned(), |reason| format!(" ({reason})")));
    println!("{:>9} {:>9} {:>12} {:>16} {:>14}", "interval", "samples", "cpu secs", "cpu s per wall s", "per sample");
    let intervals = [100, 10];
    let mut shares = [Vec::new(), Vec::new()];
    let mut per_sample = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate the order so drift of the machine favours neither interval.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let (share, micros) = measure(intervals[index], secs);
            shares[index].push(share);
            per_sample[index].push(micros);
        }
    }
    println!("\n| measure | min | median | max | unit | goal |\n|---|---|---|---|---|---|");
    for (index, interval_ms) in intervals.iter().enumerate() {
        let [min, median, max] = min_median_max(&shares[index]);
        println!(
            "| telemetry sampler CPU, {interval_ms} ms interval | {min:.2} | {median:.2} | {max:.2} | % of one core | – |"
        );
        let [min, median, max] = min_median_max(&per_sample[index]);
        println!(
            "| telemetry sampler CPU per sample, {interval_ms} ms interval | {min:.0} | {median:.0} | {max:.0} | µs | – |"
        );
    }
}
