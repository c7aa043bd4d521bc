//! Per-run aggregates of a telemetry series and the warnings that say when a measurement may not
//! be trusted. Pure functions over samples, so they are tested on scripted series.

use serde::{Deserialize, Serialize};

use super::{GpuSample, SamplerCost, TelemetrySample};
use crate::warnings::ValidityWarning;

/// How energy per step was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnergyMethod {
    /// From the GPU's energy counter over the measured window.
    Counter,
    /// From integrating sampled power over the measured window (no energy counter).
    PowerIntegral,
}

/// Host figures over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostAggregate {
    /// Mean CPU use of this process (percent of one core).
    pub mean_process_cpu_percent: Option<f64>,
    /// Peak CPU use of this process.
    pub peak_process_cpu_percent: Option<f64>,
    /// Mean CPU use of the machine (percent of all cores).
    pub mean_system_cpu_percent: Option<f64>,
    /// Peak sampled RSS of this process.
    pub peak_rss_bytes: Option<u64>,
}

/// One GPU's figures over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuAggregate {
    /// NVML index.
    pub index: u32,
    /// Mean utilization over the measured window.
    pub mean_utilization_percent: Option<f64>,
    /// Peak utilization.
    pub peak_utilization_percent: Option<f64>,
    /// Peak device memory used by everyone.
    pub peak_memory_used_bytes: Option<u64>,
    /// Peak device memory used by this process.
    pub peak_process_memory_bytes: Option<u64>,
    /// Mean power over the measured window.
    pub mean_power_watts: Option<f64>,
    /// Energy per measured step in joules.
    pub energy_per_step_joules: Option<f64>,
    /// How `energy_per_step_joules` was obtained.
    pub energy_method: Option<EnergyMethod>,
    /// Temperature at the first sample.
    pub temperature_start_celsius: Option<f64>,
    /// Temperature at the last sample.
    pub temperature_end_celsius: Option<f64>,
    /// Highest temperature.
    pub temperature_max_celsius: Option<f64>,
    /// Mean SM clock over the measured window.
    pub sm_clock_mean_mhz: Option<f64>,
    /// Lowest SM clock over the measured window.
    pub sm_clock_min_mhz: Option<f64>,
    /// Highest SM clock over the measured window.
    pub sm_clock_max_mhz: Option<f64>,
    /// Every throttle reason seen (sorted, once each).
    pub throttle_reasons_seen: Vec<String>,
    /// Most other compute processes seen on the GPU at once.
    pub max_other_processes: Option<usize>,
}

/// Telemetry of one run: the raw series, its aggregates and the warnings it raised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTelemetry {
    /// Every sample, on the run's clock.
    pub samples: Vec<TelemetrySample>,
    /// The measured window on the run's clock, `[start, end]` seconds.
    pub measured_window_secs: Option<[f64; 2]>,
    /// Host aggregates.
    pub host: HostAggregate,
    /// GPU aggregates, one per GPU.
    pub gpus: Vec<GpuAggregate>,
    /// Why there are no GPU figures, when there are none.
    pub gpu_unavailable_reason: Option<String>,
    /// What the sampler itself cost.
    pub sampler_cost: SamplerCost,
}

/// Linear interpolation of `value` at time `t` (clamped to the series' ends).
fn value_at(samples: &[(f64, f64)], t: f64) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if t <= first.0 {
        return Some(first.1);
    }
    if t >= last.0 {
        return Some(last.1);
    }
    let after = samples.iter().position(|(time, _)| *time >= t)?;
    let ((t0, v0), (t1, v1)) = (samples[after - 1], samples[after]);
    Some(v0 + (v1 - v0) * (t - t0) / (t1 - t0).max(f64::EPSILON))
}

/// ∫ value dt over `[start, end]` by the trapezoid rule on the interpolated series.
fn integral(samples: &[(f64, f64)], start: f64, end: f64) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = vec![(start, value_at(samples, start)?)];
    points.extend(samples.iter().copied().filter(|(t, _)| *t > start && *t < end));
    points.push((end, value_at(samples, end)?));
    Some(points.windows(2).map(|pair| (pair[1].0 - pair[0].0) * (pair[0].1 + pair[1].1) / 2.0).sum())
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn max(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |best, value| Some(best.map_or(value, |b: f64| b.max(value))))
}

/// Aggregates a series over the measured window `[start, end]`; energy per step is integrated over
/// the measured steps themselves (`steps`: each step's start and duration on the run's clock), so
/// what runs between steps (a cache flush, the harness) is not counted.
pub fn aggregate(
    samples: &[TelemetrySample],
    window: [f64; 2],
    steps: &[[f64; 2]],
) -> (HostAggregate, Vec<GpuAggregate>) {
    let [start, end] = window;
    let in_window = |t: f64| t >= start && t <= end;
    let windowed: Vec<&TelemetrySample> = samples.iter().filter(|s| in_window(s.t_secs)).collect();
    let process_cpu: Vec<f64> = windowed.iter().filter_map(|s| s.host.process_cpu_percent).collect();
    let system_cpu: Vec<f64> = windowed.iter().filter_map(|s| s.host.system_cpu_percent).collect();
    let host = HostAggregate {
        mean_process_cpu_percent: mean(&process_cpu),
        peak_process_cpu_percent: max(process_cpu.iter().copied()),
        mean_system_cpu_percent: mean(&system_cpu),
        peak_rss_bytes: windowed.iter().filter_map(|s| s.host.process_rss_bytes).max(),
    };

    let mut indices: Vec<u32> = samples.iter().flat_map(|s| s.gpus.iter().map(|g| g.index)).collect();
    indices.sort_unstable();
    indices.dedup();
    let gpus = indices
        .into_iter()
        .map(|index| {
            let series: Vec<(f64, &GpuSample)> = samples
                .iter()
                .filter_map(|s| s.gpus.iter().find(|g| g.index == index).map(|g| (g.t_secs.unwrap_or(s.t_secs), g)))
                .collect();
            let pick = |field: fn(&GpuSample) -> Option<f64>| -> Vec<(f64, f64)> {
                series.iter().filter_map(|(t, g)| field(g).map(|v| (*t, v))).collect()
            };
            let windowed_values = |field: fn(&GpuSample) -> Option<f64>| -> Vec<f64> {
                series.iter().filter(|(t, _)| in_window(*t)).filter_map(|(_, g)| field(g)).collect()
            };
            let utilization = windowed_values(|g| g.utilization_gpu_percent);
            let sm_clock = windowed_values(|g| g.sm_clock_mhz);
            let temperature = pick(|g| g.temperature_celsius);
            let energy = pick(|g| g.energy_millijoules.map(|mj| mj as f64));
            let power = pick(|g| g.power_watts);
            let (energy_per_step_joules, energy_method) = energy_over_steps(&energy, &power, steps);
            let windowed_series = || series.iter().filter(|(t, _)| in_window(*t)).map(|(_, g)| *g);
            let mut throttle_reasons_seen: Vec<String> =
                windowed_series().flat_map(|g| g.throttle_reasons.iter().cloned()).collect();
            throttle_reasons_seen.sort();
            throttle_reasons_seen.dedup();
            GpuAggregate {
                index,
                mean_utilization_percent: mean(&utilization),
                peak_utilization_percent: max(utilization.iter().copied()),
                peak_memory_used_bytes: windowed_series().filter_map(|g| g.memory_used_bytes).max(),
                peak_process_memory_bytes: windowed_series().filter_map(|g| g.process_memory_bytes).max(),
                mean_power_watts: integral(&power, start, end).map(|joules| joules / (end - start).max(f64::EPSILON)),
                energy_per_step_joules,
                energy_method,
                temperature_start_celsius: value_at(&temperature, start),
                temperature_end_celsius: value_at(&temperature, end),
                temperature_max_celsius: max(temperature
                    .iter()
                    .filter(|(t, _)| in_window(*t))
                    .map(|(_, v)| *v)
                    .chain(value_at(&temperature, start))),
                sm_clock_mean_mhz: mean(&sm_clock),
                sm_clock_min_mhz: sm_clock.iter().copied().reduce(f64::min),
                sm_clock_max_mhz: max(sm_clock.iter().copied()),
                throttle_reasons_seen,
                max_other_processes: windowed_series().filter_map(|g| g.other_processes).max(),
            }
        })
        .collect();
    (host, gpus)
}

/// Energy per measured step in joules and how it was found: the energy counter's (interpolated)
/// increase, else the power integral, over each step's own interval, averaged over the steps.
fn energy_over_steps(
    energy_millijoules: &[(f64, f64)],
    power_watts: &[(f64, f64)],
    steps: &[[f64; 2]],
) -> (Option<f64>, Option<EnergyMethod>) {
    if steps.is_empty() {
        return (None, None);
    }
    let count = steps.len() as f64;
    if energy_millijoules.len() >= 2 {
        let joules: Option<f64> = steps
            .iter()
            .map(|[start, secs]| {
                Some((value_at(energy_millijoules, start + secs)? - value_at(energy_millijoules, *start)?) / 1000.0)
            })
            .sum();
        (joules.map(|joules| joules / count), Some(EnergyMethod::Counter))
    } else if power_watts.len() >= 2 {
        let joules: Option<f64> = steps.iter().map(|[start, secs]| integral(power_watts, *start, start + secs)).sum();
        (joules.map(|joules| joules / count), Some(EnergyMethod::PowerIntegral))
    } else {
        (None, None)
    }
}

/// Throttle reasons that mean the clocks were slowed (not idle or a user's clock setting).
fn is_slowdown(reason: &str) -> bool {
    ["SLOWDOWN", "POWER_CAP", "BRAKE"].iter().any(|marker| reason.contains(marker))
}

impl GpuAggregate {
    /// The warnings this GPU's run raises.
    pub fn warnings(&self) -> Vec<ValidityWarning> {
        let mut warnings = Vec::new();
        let slowdowns: Vec<String> = self.throttle_reasons_seen.iter().filter(|r| is_slowdown(r)).cloned().collect();
        if !slowdowns.is_empty() {
            warnings.push(ValidityWarning::Throttled { gpu: self.index, reasons: slowdowns });
        }
        if let (Some(min_mhz), Some(max_mhz)) = (self.sm_clock_min_mhz, self.sm_clock_max_mhz)
            && min_mhz < 0.9 * max_mhz
        {
            warnings.push(ValidityWarning::ClockDrop { gpu: self.index, min_mhz, max_mhz });
        }
        if let (Some(start_celsius), Some(end_celsius)) = (self.temperature_start_celsius, self.temperature_end_celsius)
            && end_celsius - start_celsius > 10.0
        {
            warnings.push(ValidityWarning::TemperatureRise { gpu: self.index, start_celsius, end_celsius });
        }
        if let Some(count) = self.max_other_processes.filter(|&count| count > 0) {
            warnings.push(ValidityWarning::OtherProcesses { gpu: self.index, count });
        }
        warnings
    }
}

/// Warns when a phase ran at a mean SM clock more than 5 % away from the baseline's.
pub fn compare_clocks(baseline: &GpuAggregate, phase: &GpuAggregate) -> Option<ValidityWarning> {
    let (baseline_mhz, phase_mhz) = (baseline.sm_clock_mean_mhz?, phase.sm_clock_mean_mhz?);
    ((phase_mhz - baseline_mhz).abs() > 0.05 * baseline_mhz)
        .then_some(ValidityWarning::ClocksDiffer { baseline_mhz, phase_mhz })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clean GPU: steady clocks and temperature, energy counter +30 J per second.
    fn clean(t: f64) -> TelemetrySample {
        TelemetrySample {
            t_secs: t,
            gpus: vec![GpuSample {
                index: 0,
                utilization_gpu_percent: Some(90.0),
                power_watts: Some(30.0),
                energy_millijoules: Some(1_000_000 + (t * 30_000.0) as u64),
                temperature_celsius: Some(50.0),
                sm_clock_mhz: Some(1980.0),
                other_processes: Some(0),
                throttle_reasons: vec!["GPU_IDLE".into()],
                ..GpuSample::default()
            }],
            ..TelemetrySample::default()
        }
    }

    fn series(make: impl Fn(f64) -> TelemetrySample) -> Vec<TelemetrySample> {
        (0..=20).map(|i| make(f64::from(i) * 0.1)).collect()
    }

    /// `count` back-to-back steps filling `[start, end]`.
    fn steps(start: f64, end: f64, count: usize) -> Vec<[f64; 2]> {
        let secs = (end - start) / count as f64;
        (0..count).map(|i| [start + i as f64 * secs, secs]).collect()
    }

    #[test]
    fn energy_per_step_from_the_counter_is_exact() {
        // Window 0.5..1.5 s holds 10 steps: 30 J/s × 1 s / 10 = 3 J per step.
        let (_, gpus) = aggregate(&series(clean), [0.5, 1.5], &steps(0.5, 1.5, 10));
        assert_eq!(gpus[0].energy_method, Some(EnergyMethod::Counter));
        assert!((gpus[0].energy_per_step_joules.unwrap_or(0.0) - 3.0).abs() < 1e-9);
        // Between samples too: 0.55..1.25 s at 30 J/s over 7 steps.
        let (_, gpus) = aggregate(&series(clean), [0.55, 1.25], &steps(0.55, 1.25, 7));
        assert!((gpus[0].energy_per_step_joules.unwrap_or(0.0) - 30.0 * 0.7 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn without_a_counter_energy_integrates_power_and_says_so() {
        let no_counter = |t| {
            let mut sample = clean(t);
            sample.gpus[0].energy_millijoules = None;
            sample.gpus[0].power_watts = Some(if t < 1.0 { 20.0 } else { 40.0 });
            sample
        };
        let (_, gpus) = aggregate(&series(no_counter), [0.0, 2.0], &steps(0.0, 2.0, 4));
        assert_eq!(gpus[0].energy_method, Some(EnergyMethod::PowerIntegral));
        // 20 W for 0.9 s, a ramp to 40 W over 0.1 s, 40 W for 1 s: 18 + 3 + 40 = 61 J over 4 steps.
        assert!((gpus[0].energy_per_step_joules.unwrap_or(0.0) - 61.0 / 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_clean_run_raises_no_warning() {
        let (_, gpus) = aggregate(&series(clean), [0.0, 2.0], &steps(0.0, 2.0, 10));
        assert_eq!(gpus[0].warnings(), vec![]);
        assert_eq!(compare_clocks(&gpus[0], &gpus[0]), None);
    }

    #[test]
    fn each_warning_fires_on_its_scripted_case() {
        let throttled = |t| {
            let mut sample = clean(t);
            if t > 1.0 {
                sample.gpus[0].throttle_reasons = vec!["SW_THERMAL_SLOWDOWN".into()];
                sample.gpus[0].sm_clock_mhz = Some(1500.0);
                sample.gpus[0].temperature_celsius = Some(75.0);
                sample.gpus[0].other_processes = Some(2);
            }
            sample
        };
        let (_, gpus) = aggregate(&series(throttled), [0.0, 2.0], &steps(0.0, 2.0, 10));
        let warnings = gpus[0].warnings();
        assert!(warnings.contains(&ValidityWarning::Throttled { gpu: 0, reasons: vec!["SW_THERMAL_SLOWDOWN".into()] }));
        assert!(warnings.contains(&ValidityWarning::ClockDrop { gpu: 0, min_mhz: 1500.0, max_mhz: 1980.0 }));
        assert!(warnings.contains(&ValidityWarning::TemperatureRise {
            gpu: 0,
            start_celsius: 50.0,
            end_celsius: 75.0
        }));
        assert!(warnings.contains(&ValidityWarning::OtherProcesses { gpu: 0, count: 2 }));
        let (_, baseline) = aggregate(&series(clean), [0.0, 2.0], &steps(0.0, 2.0, 10));
        let warning = compare_clocks(&baseline[0], &gpus[0]).map(|w| w.to_string()).unwrap_or_default();
        assert!(warning.starts_with("comparison may be unfair: clocks differ"), "{warning}");
    }

    #[test]
    fn host_figures_are_aggregated_over_the_window() {
        let host = |t: f64| TelemetrySample {
            t_secs: t,
            host: super::super::HostSample {
                process_cpu_percent: Some(if t < 1.0 { 100.0 } else { 200.0 }),
                // Highest while the model is built, before the window: a windowed peak must not see it.
                process_rss_bytes: Some(if t < 1.0 { 9000 } else { (t * 1000.0) as u64 }),
                ..Default::default()
            },
            gpus: vec![],
        };
        let (aggregate, gpus) = aggregate(&series(host), [1.0, 2.0], &steps(1.0, 2.0, 5));
        assert!(gpus.is_empty());
        assert_eq!(aggregate.mean_process_cpu_percent, Some(200.0));
        assert_eq!(aggregate.peak_rss_bytes, Some(2000));
    }

    /// Issue 18, defect 6: energy per step covers the steps, not the gaps between them (cache
    /// flushes, the harness): 10 steps of 50 ms with 50 ms gaps at 30 W are 1.5 J each, not 3.
    #[test]
    fn energy_per_step_leaves_out_the_gaps_between_steps() {
        let gapped: Vec<[f64; 2]> = (0..10).map(|i| [0.5 + f64::from(i) * 0.1, 0.05]).collect();
        let (_, gpus) = aggregate(&series(clean), [0.5, 1.5], &gapped);
        assert!((gpus[0].energy_per_step_joules.unwrap_or(0.0) - 1.5).abs() < 1e-9, "{:?}", gpus[0]);
        let no_counter = |t| {
            let mut sample = clean(t);
            sample.gpus[0].energy_millijoules = None;
            sample
        };
        let (_, gpus) = aggregate(&series(no_counter), [0.5, 1.5], &gapped);
        assert!((gpus[0].energy_per_step_joules.unwrap_or(0.0) - 1.5).abs() < 1e-9, "{:?}", gpus[0]);
    }

    /// Issue 18, defect 9: what happened outside the measured window (throttling while the model
    /// was built, a neighbour on the GPU, a hot device after the run) raises no warning for it.
    #[test]
    fn warnings_and_peaks_cover_the_measured_window_only() {
        let noisy_outside = |t: f64| {
            let mut sample = clean(t);
            if t < 0.5 {
                sample.gpus[0].throttle_reasons = vec!["SW_THERMAL_SLOWDOWN".into()];
                sample.gpus[0].other_processes = Some(2);
                sample.gpus[0].memory_used_bytes = Some(80 << 30);
            }
            if t > 1.5 {
                sample.gpus[0].temperature_celsius = Some(80.0);
            }
            sample
        };
        let (_, gpus) = aggregate(&series(noisy_outside), [0.5, 1.5], &steps(0.5, 1.5, 10));
        assert_eq!(gpus[0].warnings(), vec![], "{:?}", gpus[0]);
        assert_eq!(gpus[0].temperature_end_celsius, Some(50.0));
        assert_eq!(gpus[0].peak_memory_used_bytes, None);
        let (_, whole) = aggregate(&series(noisy_outside), [0.0, 2.0], &steps(0.0, 2.0, 10));
        assert!(!whole[0].warnings().is_empty(), "the same samples inside the window do warn");
    }
}
