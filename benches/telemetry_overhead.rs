//! What the telemetry sampler costs: CPU seconds of its thread per wall second, at 100 ms and
//! 10 ms, with the sources a real run uses (host, and NVML where it loads).
//!
//! Run: `cargo bench --bench telemetry_overhead` (optionally `-- SECONDS`, default 10 per interval).

use std::time::{Duration, Instant};

use phasebench::telemetry::{Sampler, TelemetryChoice, open_sources};

fn main() {
    let secs: u64 = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(10);
    let (_, gpu_reason) = open_sources(&TelemetryChoice::Auto);
    println!("sources: host{}", gpu_reason.map_or_else(|| ", nvml".to_owned(), |reason| format!(" ({reason})")));
    println!("{:>9} {:>9} {:>12} {:>16} {:>14}", "interval", "samples", "cpu secs", "cpu s per wall s", "per sample");
    for interval_ms in [100, 10] {
        let (sources, _) = open_sources(&TelemetryChoice::Auto);
        let Ok(sampler) = Sampler::start(sources, Duration::from_millis(interval_ms), Instant::now(), |_| {}) else {
            eprintln!("cannot start the sampler thread");
            std::process::exit(1);
        };
        std::thread::sleep(Duration::from_secs(secs));
        let Some((_, _, cost)) = sampler.finish() else {
            eprintln!("the sampler thread died");
            std::process::exit(1);
        };
        let cpu = cost.cpu_secs.unwrap_or(f64::NAN);
        println!(
            "{:>7}ms {:>9} {:>12.3} {:>16.5} {:>11.1} µs",
            interval_ms,
            cost.samples,
            cpu,
            cost.cpu_share().unwrap_or(f64::NAN),
            cpu / cost.samples as f64 * 1e6
        );
    }
}
