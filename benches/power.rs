//! Power: how often a real slowdown is called *slower*, interleaved rounds against one arm after
//! the other, side by side in one run. The slowdown is real extra work proportional to the step:
//! the phase's `MatMul` has an inner dimension larger by 2, 3, 5 or 10 % (and 0 %: the same-code
//! control, whose *faster*/*slower* verdicts are false alarms), its true ratio measured first
//! at length (20 s).
//!
//! Each comparison measures the same time per arm in both modes. Interleaved: rounds of a block
//! of each arm (baseline, its A/A copy, phase) in a fresh random order, a block being the steps
//! that fit in `BLOCK_SECS` after one unrecorded switch step; looks after 10, 20, 40 … rounds
//! with the error rate split over the looks; stopped as soon as decided; judged by
//! `phasebench::stats::compare_rounds`, exactly as the runner's interleaved groups are.
//! Sequential: the baseline's steps, then the phase's (order alternating), judged by
//! `phasebench::stats::speedup::speedup` on the steps, as the runner's `Sequential` schedule is.
//!
//! Run: `cargo bench --bench power -- [COMPARISONS] [SECS_PER_ARM] [SEQUENTIAL_COMPARISONS]
//! [THRESHOLDS] [SLOWDOWNS]` (defaults 50, 3.3 — 10 s a comparison —, 20, `0,0.01` and
//! `0,0.02,0.03,0.05,0.1`: each comparison is judged at every threshold, 0 counting any change
//! the statistics can show, 0.01 a band of ±1 % as a suite's `noise_threshold` sets; `auto2` is
//! `noise_threshold: Auto(2.0)`, measured from the A/A blocks as the runner does). `POWER_K=56000`
//! makes the baseline's step ~90 ms instead of ~3 ms (the inner dimension, a multiple of 160).
//! `benches/sensitivity_all.sh` runs it with 2.5 s per arm, which took 33 minutes on the 2-vCPU
//! VM. Figures: BENCHMARKS.md §11.

mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use common::min_median_max;
use phasebench::models::{self, BuildOptions, Network};
use phasebench::stats::{self, LookSchedule, Verdict};
use phasebench::suite::{MatMulSpec, ModelSpec, NoiseThreshold};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use statrs::distribution::{Beta, ContinuousCDF};

/// The baseline's `MatMul`: a step of ~3 ms on the 2-vCPU VM. The inner dimension is a multiple
/// of 160 so that every slowdown below adds a multiple of 16 to it: gemm kernels run odd
/// dimensions slower, which would make the true ratio stray from the nominal one.
const BASE_M: usize = 256;
const BASE_N: usize = 512;
const BASE_K: usize = 1600;
/// Slowdowns injected by default, as fractions of extra inner dimension.
const SLOWDOWNS: [f64; 5] = [0.0, 0.02, 0.03, 0.05, 0.10];
/// One block of an interleaved round (the runner's default `block_ms: 20`).
const BLOCK_SECS: f64 = 0.020;
/// Rounds at the first look (the runner's default `first_look_rounds: 10`).
const FIRST_LOOK: usize = 10;
/// The overall two-sided error rate.
const ALPHA: f64 = 0.05;
/// Untimed steps before a sequential arm, as the runner's default `warmup_steps`.
const WARMUP_STEPS: usize = 5;

fn fail(message: &str) -> ! {
    eprintln!("power bench: {message}");
    std::process::exit(1);
}

fn or_fail<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| fail(&error.to_string()))
}

/// A `MatMul` network and its input, built as phasebench builds a workload.
struct Arm {
    network: Box<dyn Network>,
    input: Tensor,
}

impl Arm {
    fn new(k: usize, seed: u64) -> Self {
        let spec = ModelSpec::MatMul(MatMulSpec { m: BASE_M, n: BASE_N, k });
        let arch = models::architecture(&spec);
        let weights = or_fail(models::generate_weights(arch, seed));
        let network = or_fail(models::build_network(arch, &weights, DType::F32, &Device::Cpu, BuildOptions::default()));
        let input = or_fail(models::seeded_input(arch, 1, seed, DType::F32, &Device::Cpu));
        Self { network, input }
    }

    fn step(&self) -> f64 {
        let start = Instant::now();
        let output = or_fail(self.network.forward(&self.input));
        let secs = start.elapsed().as_secs_f64();
        drop(output);
        secs
    }

    /// Steps until `secs` have passed (at least one).
    fn block(&self, secs: f64) -> Vec<f64> {
        let start = Instant::now();
        let mut steps = vec![self.step()];
        while start.elapsed().as_secs_f64() < secs {
            steps.push(self.step());
        }
        steps
    }
}

fn median(values: &[f64]) -> f64 {
    or_fail(stats::median(values))
}

/// The true ratio baseline ÷ phase, measured at length: 20 s of 20 ms blocks of the two arms
/// alternating (each arm "alone" within its block), the round-level estimate with its 95 %
/// interval. Blocks of a second or more would not do: this VM's speed moves by more than the
/// slowdowns between seconds.
fn true_ratio(baseline: &Arm, phase: &Arm) -> stats::RoundComparison {
    let start = Instant::now();
    let mut log_ratios = Vec::new();
    while start.elapsed().as_secs_f64() < 20.0 {
        let first_baseline = log_ratios.len().is_multiple_of(2);
        let arms = if first_baseline { [baseline, phase] } else { [phase, baseline] };
        let medians: Vec<f64> = arms
            .iter()
            .map(|arm| {
                arm.step();
                median(&arm.block(BLOCK_SECS))
            })
            .collect();
        let ratio = if first_baseline { medians[0] / medians[1] } else { medians[1] / medians[0] };
        log_ratios.push(ratio.ln());
    }
    or_fail(stats::compare_rounds(&log_ratios, 0.0, ALPHA))
}

/// What one comparison concluded.
struct Outcome {
    verdict: Verdict,
    /// Seconds measured until it stopped.
    secs: f64,
    /// Resolution at the stop (interleaved only).
    resolution: Option<f64>,
    /// The no-change band it was judged against (measured, for `Auto`).
    band: f64,
}

/// One comparison in interleaved rounds of the baseline, the baseline again (the A/A control
/// block, measured as the runner measures it, so the time is spent alike) and the phase, at most
/// `secs_per_arm` of measuring per arm; one outcome per threshold, each stopping at its own first
/// decided look (the rounds go on until every threshold's comparison has stopped).
fn interleaved(
    baseline: &Arm,
    phase: &Arm,
    secs_per_arm: f64,
    thresholds: &[NoiseThreshold],
    rng: &mut SmallRng,
) -> Vec<Outcome> {
    let arms = [baseline, baseline, phase];
    let start = Instant::now();
    let (mut log_ratios, mut control_ratios) = (Vec::new(), Vec::new());
    let (mut last_median, mut first_round_secs) = (0.0, 0.0);
    let mut schedule: Option<(Vec<usize>, f64)> = None;
    let mut outcomes: Vec<Option<Outcome>> = thresholds.iter().map(|_| None).collect();
    loop {
        let mut order = [0, 1, 2];
        order.shuffle(rng);
        let mut medians = [0.0; 3];
        for arm in order {
            // The switch step, unrecorded, for steps short enough that it costs little of the
            // block: the runner's rule.
            if last_median < BLOCK_SECS / 4.0 {
                arms[arm].step();
            }
            medians[arm] = median(&arms[arm].block(BLOCK_SECS));
        }
        last_median = medians[0];
        log_ratios.push((medians[0] / medians[2]).ln());
        control_ratios.push((medians[0] / medians[1]).ln());
        // At the first look, as the runner: how many rounds fit the budget — a round's time from
        // the rounds after the first, which also paid for switch steps long steps do not repeat —
        // hence the looks and their alpha.
        let rounds = log_ratios.len();
        if rounds == 1 {
            first_round_secs = start.elapsed().as_secs_f64();
        }
        if rounds < FIRST_LOOK {
            continue;
        }
        let (looks, alpha) = schedule.get_or_insert_with(|| {
            let elapsed = start.elapsed().as_secs_f64();
            let round_secs = (elapsed - first_round_secs) / (rounds - 1) as f64;
            let fit = rounds + ((secs_per_arm * 3.0 - elapsed).max(0.0) / round_secs) as usize;
            let schedule = LookSchedule { first: FIRST_LOOK, max_rounds: fit.clamp(FIRST_LOOK, 1000) };
            (schedule.looks(), schedule.alpha_per_look(ALPHA))
        });
        if !looks.contains(&log_ratios.len()) {
            continue;
        }
        let last = looks.last().is_some_and(|last| *last == log_ratios.len());
        for (threshold, outcome) in thresholds.iter().zip(&mut outcomes) {
            if outcome.is_some() {
                continue;
            }
            // `Auto` as the runner sets it: from the control's rounds so far and the planned rounds.
            let band = match threshold {
                NoiseThreshold::Fixed(fraction) => *fraction,
                NoiseThreshold::Auto { multiple } => {
                    let planned = looks.last().copied().unwrap_or(FIRST_LOOK);
                    stats::auto_threshold(*multiple, &control_ratios, planned, *alpha)
                        .unwrap_or(NoiseThreshold::AUTO_FALLBACK)
                }
            };
            let comparison = or_fail(stats::compare_rounds(&log_ratios, band, *alpha));
            if last || matches!(comparison.verdict, Verdict::Faster | Verdict::Slower | Verdict::Equivalent) {
                *outcome = Some(Outcome {
                    verdict: comparison.verdict,
                    secs: start.elapsed().as_secs_f64(),
                    resolution: Some(comparison.resolution),
                    band,
                });
            }
        }
        if outcomes.iter().all(Option::is_some) {
            return outcomes.into_iter().flatten().collect();
        }
    }
}

/// One comparison with each arm measured whole, one after the other; one outcome per threshold.
fn sequential(
    baseline: &Arm,
    phase: &Arm,
    secs_per_arm: f64,
    thresholds: &[NoiseThreshold],
    seed: u64,
) -> Vec<Outcome> {
    let start = Instant::now();
    let measure = |arm: &Arm| {
        for _ in 0..WARMUP_STEPS {
            arm.step();
        }
        arm.block(secs_per_arm)
    };
    let (base_steps, phase_steps) = if seed.is_multiple_of(2) {
        let base = measure(baseline);
        (base, measure(phase))
    } else {
        let phase_steps = measure(phase);
        (measure(baseline), phase_steps)
    };
    let secs = start.elapsed().as_secs_f64();
    thresholds
        .iter()
        .map(|threshold| {
            let band = threshold.fixed_or_fallback();
            let speedup = or_fail(stats::speedup::speedup(&base_steps, &phase_steps, band, 1000, seed));
            Outcome { verdict: speedup.verdict, secs, resolution: None, band }
        })
        .collect()
}

/// The exact binomial (Clopper-Pearson) 95 % interval of `k` successes in `n`.
fn clopper_pearson(k: usize, n: usize) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let low = if k == 0.0 { 0.0 } else { or_fail(Beta::new(k, n - k + 1.0)).inverse_cdf(0.025) };
    let high = if k == n { 1.0 } else { or_fail(Beta::new(k + 1.0, n - k)).inverse_cdf(0.975) };
    (low, high)
}

/// One table row: a cell's outcomes in one mode.
fn row(slowdown: f64, k: usize, truth: &stats::RoundComparison, mode: &str, outcomes: &[&Outcome]) -> String {
    let n = outcomes.len();
    let count = |verdict: Verdict| outcomes.iter().filter(|outcome| outcome.verdict == verdict).count();
    let (slower, faster) = (count(Verdict::Slower), count(Verdict::Faster));
    let (low, high) = clopper_pearson(slower, n);
    let others: Vec<String> = [Verdict::Equivalent, Verdict::Inconclusive, Verdict::NoChange]
        .into_iter()
        .filter(|verdict| count(*verdict) > 0)
        .map(|verdict| format!("{verdict:?} {}", count(verdict)))
        .collect();
    let secs: Vec<f64> = outcomes.iter().map(|outcome| outcome.secs).collect();
    let resolutions: Vec<f64> = outcomes.iter().filter_map(|outcome| outcome.resolution).collect();
    let resolution = if resolutions.is_empty() {
        "—".to_owned()
    } else {
        format!("±{:.1} %", min_median_max(&resolutions)[1] * 100.0)
    };
    let bands: Vec<f64> = outcomes.iter().map(|outcome| outcome.band).collect();
    let band = format!("±{:.1} %", min_median_max(&bands)[1] * 100.0);
    format!(
        "| {:.0} % (k {k}) | {:.4} [{:.4}–{:.4}] | {mode} | {n} | {slower} | {:.0} % [{:.0}–{:.0} %] | {faster} | {} | {:.1} | {resolution} | {band} |",
        slowdown * 100.0,
        truth.ratio,
        truth.ratio_ci.low,
        truth.ratio_ci.high,
        slower as f64 / n as f64 * 100.0,
        low * 100.0,
        high * 100.0,
        if others.is_empty() { "—".to_owned() } else { others.join(", ") },
        min_median_max(&secs)[1],
    )
}

/// The command line: `[COMPARISONS] [SECS_PER_ARM] [SEQUENTIAL_COMPARISONS] [THRESHOLDS]
/// [SLOWDOWNS]` (the lists comma-separated).
struct Options {
    comparisons: usize,
    secs_per_arm: f64,
    sequential_comparisons: usize,
    thresholds: Vec<NoiseThreshold>,
    slowdowns: Vec<f64>,
    /// The baseline's inner dimension (`POWER_K`, a multiple of 160; default [`BASE_K`]).
    base_k: usize,
}

impl Options {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
        let number = |index: usize, default: f64| args.get(index).and_then(|arg| arg.parse().ok()).unwrap_or(default);
        let list = |index: usize, default: &[f64]| {
            args.get(index).map_or_else(
                || default.to_vec(),
                |list| list.split(',').map(|value| or_fail(value.trim().parse::<f64>())).collect(),
            )
        };
        // A threshold is a fraction or `autoK`: `noise_threshold: Auto(K)`.
        let thresholds = args.get(3).map_or_else(
            || vec![NoiseThreshold::Fixed(0.0), NoiseThreshold::Fixed(0.01)],
            |list| {
                list.split(',')
                    .map(|value| match value.trim().strip_prefix("auto") {
                        Some(multiple) => NoiseThreshold::Auto { multiple: or_fail(multiple.parse::<f64>()) },
                        None => NoiseThreshold::Fixed(or_fail(value.trim().parse::<f64>())),
                    })
                    .collect()
            },
        );
        let base_k = std::env::var("POWER_K").map_or(BASE_K, |k| or_fail(k.parse::<usize>()));
        if !base_k.is_multiple_of(160) {
            fail("POWER_K must be a multiple of 160, so every slowdown adds a multiple of 16");
        }
        Self {
            comparisons: (number(0, 50.0) as usize).max(1),
            secs_per_arm: number(1, 3.3),
            sequential_comparisons: number(2, 20.0) as usize,
            thresholds,
            slowdowns: list(4, &SLOWDOWNS),
            base_k,
        }
    }
}

fn main() {
    let options = Options::from_args();
    println!(
        "power bench: {} interleaved and {} sequential comparisons per cell, {} s per arm, thresholds {:?}, \
         inner dimension {}, candle threads {}",
        options.comparisons,
        options.sequential_comparisons,
        options.secs_per_arm,
        options.thresholds,
        options.base_k,
        candle_core::utils::get_num_threads()
    );
    let baseline = Arm::new(options.base_k, 7);
    let mut rng = SmallRng::seed_from_u64(2026);
    let mut rows = Vec::new();
    for &slowdown in &options.slowdowns {
        let k = (options.base_k as f64 * (1.0 + slowdown)).round() as usize;
        let phase = Arm::new(k, 7);
        let truth = true_ratio(&baseline, &phase);
        let thresholds = &options.thresholds;
        let (mut by_rounds, mut one_after_other) = (Vec::new(), Vec::new());
        for index in 0..options.comparisons {
            // The modes alternate, so a drift of the machine favours neither.
            let seed = rng.random::<u64>() ^ index as u64;
            by_rounds.push(interleaved(&baseline, &phase, options.secs_per_arm, thresholds, &mut rng));
            if index < options.sequential_comparisons {
                one_after_other.push(sequential(&baseline, &phase, options.secs_per_arm, thresholds, seed));
            }
        }
        for (which, threshold) in thresholds.iter().enumerate() {
            for (mode, outcomes) in [("interleaved", &by_rounds), ("sequential", &one_after_other)] {
                if mode == "sequential" && threshold.auto_multiple().is_some() {
                    continue; // `Auto` needs the rounds' A/A control
                }
                let outcomes: Vec<&Outcome> = outcomes.iter().map(|per_threshold| &per_threshold[which]).collect();
                if !outcomes.is_empty() {
                    rows.push(row(slowdown, k, &truth, &format!("{mode}, {threshold}"), &outcomes));
                }
            }
        }
        eprintln!("power bench: {:.0} % done", slowdown * 100.0);
    }
    println!();
    println!(
        "| slowdown | true ratio (at length) | mode, threshold | comparisons | slower | power [95 % CI] | faster | \
         other verdicts | median seconds to stop | median resolution | median band |"
    );
    println!("|---|---:|---|---:|---:|---|---:|---|---:|---:|---:|");
    rows.iter().for_each(|row| println!("{row}"));
}
