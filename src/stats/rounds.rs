//! Comparisons over rounds, not steps. When arms are measured in interleaved rounds (a short block
//! of each arm per round, in a random order), the round is the unit that repeats independently:
//! steps inside one block share the machine's state, so treating them as independent samples makes
//! intervals far too narrow (Kalibera & Jones, "Rigorous benchmarking in reasonable time", ISMM
//! 2013: repeat at the level where the variance is, and take the interval over those repetitions;
//! Abedi & Brecht, "Conducting repeatable experiments in highly variable cloud computing
//! environments", ICPE 2017: randomized multiple interleaved trials).
//!
//! The input is one log ratio per round, `ln(baseline time per item ÷ phase time per item)` of the
//! two blocks' medians. The speedup is their Hodges–Lehmann estimate (a robust geometric mean), with
//! the interval that inverts Wilcoxon's signed-rank test over the rounds; the paired test is that
//! same test; the resolution is the smallest change the rounds could have detected with 90 % power. Four verdicts separate "shown to
//! be within the threshold" (*equivalent*) from "could not tell" (*inconclusive*), as Chromium
//! Pinpoint's different / same / unknown does.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::{Interval, SIGNIFICANCE, StatsError, Verdict, check};

/// Power at which the resolution is stated.
pub const RESOLUTION_POWER: f64 = 0.9;

/// A phase against the baseline over interleaved rounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundComparison {
    /// Rounds compared.
    pub rounds: usize,
    /// Baseline ÷ phase time per item over the rounds (> 1: the phase is faster): the exponential of
    /// the Hodges–Lehmann estimate of the per-round log ratios.
    pub ratio: f64,
    /// Signed-rank interval of `ratio` over the rounds, at `confidence`.
    pub ratio_ci: Interval,
    /// Confidence of `ratio_ci` (below 1 − `alpha` when several looks share the error rate).
    pub confidence: f64,
    /// Two-sided p-value of Wilcoxon's signed-rank test of the log ratios against 0.
    pub p_value: f64,
    /// Smallest change (a fraction: 0.014 is ±1.4 %) these rounds detect with 90 % power at the
    /// same error rate.
    pub resolution: f64,
    /// Changes within `1 ± threshold` count as no change.
    pub threshold: f64,
    /// The conclusion.
    pub verdict: Verdict,
}

impl RoundComparison {
    /// For an inconclusive comparison, about how many times the rounds so far would settle it
    /// (the interval narrows with the square root of the rounds); `None` when it is decided or
    /// the estimate sits on a threshold, where no number of rounds is likely to settle it.
    pub fn rounds_factor_to_settle(&self) -> Option<f64> {
        if self.verdict != Verdict::Inconclusive {
            return None;
        }
        let (center, half_width) = log_center_and_half_width(self.ratio_ci);
        let bounds = [(1.0 + self.threshold).ln(), (1.0 - self.threshold).max(f64::MIN_POSITIVE).ln()];
        let distance = bounds.iter().map(|bound| (center - bound).abs()).fold(f64::INFINITY, f64::min);
        let factor = (half_width / distance).powi(2);
        (distance > 1e-9 && factor.is_finite() && factor <= 1e4).then_some(factor.max(1.0))
    }
}

fn log_center_and_half_width(interval: Interval) -> (f64, f64) {
    let (low, high) = (interval.low.ln(), interval.high.ln());
    ((low + high) / 2.0, (high - low) / 2.0)
}

/// Compares a phase with the baseline from one log ratio per round (at least 2), with error rate
/// `alpha` (two-sided) and the no-change band `1 ± threshold`.
///
/// The estimate is the Hodges–Lehmann estimator (the median of the Walsh averages, all pairwise
/// means of the log ratios) and the interval is the one that inverts Wilcoxon's signed-rank test
/// (Hollander & Wolfe, Nonparametric Statistical Methods, §3.2; R's `wilcox.test(conf.int =
/// TRUE)`), not a Student-t interval around the mean: on shared VMs a few rounds catch the
/// machine switching speed mid-round and their log ratios are far out (BENCHMARKS.md §11), which
/// widens a t interval several times while hardly moving this one. It needs only that the log
/// ratios be symmetric about the true shift, which the random order of the arms in each round
/// guarantees when the arms are the same code.
///
/// *Faster* needs the whole interval above `1 + threshold` and Wilcoxon's p < `alpha`; *slower*
/// symmetrically; *equivalent* needs the whole interval inside the band (the interval-inclusion
/// form of an equivalence test); anything else is *inconclusive*.
pub fn compare_rounds(log_ratios: &[f64], threshold: f64, alpha: f64) -> Result<RoundComparison, StatsError> {
    check(log_ratios, 2)?;
    let rounds = log_ratios.len();
    let interval = signed_rank_interval(log_ratios, alpha);
    let ratio_ci = Interval { low: interval.low.exp(), high: interval.high.exp() };
    // The interval's half-width is about z(1 − α/2) standard errors of the estimate; the change
    // detected with 90 % power lies z(1 − α/2) + z(0.9) standard errors from zero.
    let resolution = resolution_at(standard_error_of(&interval), 1.0 - interval.confidence);
    let p_value = wilcoxon_signed_rank(log_ratios)?;
    let verdict = verdict_of(ratio_ci, p_value, threshold, alpha);
    Ok(RoundComparison {
        rounds,
        ratio: interval.estimate.exp(),
        ratio_ci,
        confidence: interval.confidence,
        p_value,
        resolution,
        threshold,
        verdict,
    })
}

/// The resolution (90 % power, two-sided error rate `alpha`) that `rounds` rounds are expected to
/// reach, from the spread of `log_ratios` (at least 2): their standard error estimated from the
/// 95 % signed-rank interval — robust to a few far-out rounds, and not the near-extreme interval
/// that a small error rate gives over few rounds — and shrunk by the square root of the rounds.
pub fn projected_resolution(log_ratios: &[f64], rounds: usize, alpha: f64) -> Result<f64, StatsError> {
    check(log_ratios, 2)?;
    let standard_error = standard_error_of(&signed_rank_interval(log_ratios, SIGNIFICANCE));
    let shrink = (log_ratios.len() as f64 / rounds.max(1) as f64).sqrt();
    Ok(resolution_at(standard_error * shrink, alpha))
}

/// The standard error of an estimate whose interval is `interval`: its half-width is about
/// z(1 − α/2) of them.
fn standard_error_of(interval: &SignedRankInterval) -> f64 {
    let z = Normal::standard().inverse_cdf(1.0 - (1.0 - interval.confidence) / 2.0);
    (interval.high - interval.low) / 2.0 / z
}

/// The change detected with 90 % power at two-sided error rate `alpha`: z(1 − α/2) + z(0.9)
/// standard errors from zero, as a fraction.
fn resolution_at(standard_error: f64, alpha: f64) -> f64 {
    let normal = Normal::standard();
    ((normal.inverse_cdf(1.0 - alpha / 2.0) + normal.inverse_cdf(RESOLUTION_POWER)) * standard_error).exp() - 1.0
}

/// The widest band `noise_threshold: Auto` sets: a wider one could never call a phase slower.
pub const WIDEST_AUTO_BAND: f64 = 0.5;

/// The band of `noise_threshold: Auto(multiple)`: `multiple` × the resolution that
/// `planned_rounds` rounds are expected to reach at error rate `alpha`, from the A/A control's
/// log ratios so far ([`projected_resolution`]), at most [`WIDEST_AUTO_BAND`]; `None` with fewer
/// than 2 control rounds.
pub fn auto_threshold(multiple: f64, control_log_ratios: &[f64], planned_rounds: usize, alpha: f64) -> Option<f64> {
    let planned = planned_rounds.max(control_log_ratios.len());
    let resolution = projected_resolution(control_log_ratios, planned, alpha).ok().filter(|r| r.is_finite())?;
    Some((multiple * resolution).min(WIDEST_AUTO_BAND))
}

/// One of the four verdicts from an interval of a ratio and its test's p-value: *faster* /
/// *slower* when the whole interval clears `1 ± threshold` and p < `alpha`, *equivalent* when it
/// lies inside, *inconclusive* otherwise.
pub(super) fn verdict_of(ratio_ci: Interval, p_value: f64, threshold: f64, alpha: f64) -> Verdict {
    if ratio_ci.low > 1.0 + threshold && p_value < alpha {
        Verdict::Faster
    } else if ratio_ci.high < 1.0 - threshold && p_value < alpha {
        Verdict::Slower
    } else if ratio_ci.low >= 1.0 - threshold && ratio_ci.high <= 1.0 + threshold {
        Verdict::Equivalent
    } else {
        Verdict::Inconclusive
    }
}

/// The Hodges–Lehmann estimate of a location and its signed-rank interval.
#[derive(Clone, Copy, Debug, PartialEq)]
struct SignedRankInterval {
    estimate: f64,
    low: f64,
    high: f64,
    /// The interval's actual confidence: at least 1 − α, except with too few values for that
    /// (then the widest interval there is, and its confidence).
    confidence: f64,
}

/// The Walsh averages' median and the interval `[W(c), W(N + 1 − c)]` of the sorted Walsh
/// averages (1-based, N = n(n+1)/2), where c − 1 is the largest lower-tail critical value of the
/// signed-rank statistic at α/2: exact null distribution up to 50 values, the normal
/// approximation beyond.
fn signed_rank_interval(values: &[f64], alpha: f64) -> SignedRankInterval {
    let n = values.len();
    let mut walsh: Vec<f64> = Vec::with_capacity(n * (n + 1) / 2);
    for (i, first) in values.iter().enumerate() {
        walsh.extend(values[i..].iter().map(|second| (first + second) / 2.0));
    }
    let total = walsh.len();
    let (c, confidence) = if n <= WILCOXON_EXACT_MAX {
        exact_critical_count(n, alpha)
    } else {
        let nf = n as f64;
        let z = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
        // The smallest count the normal test without continuity correction accepts (as the
        // p-value above is computed), so that the interval and the test agree.
        let c = (nf * (nf + 1.0) / 4.0 - z * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt()).ceil();
        ((c.max(1.0) as usize).min(total.div_ceil(2)), 1.0 - alpha)
    };
    let mut order_statistic = |rank_from_one: usize| -> f64 {
        let (_, value, _) = walsh.select_nth_unstable_by(rank_from_one - 1, f64::total_cmp);
        *value
    };
    let (low, high) = (order_statistic(c), order_statistic(total + 1 - c));
    SignedRankInterval { estimate: super::median_in_place(&mut walsh), low, high, confidence }
}

/// The c of [`signed_rank_interval`] from the exact null distribution of the signed-rank
/// statistic of `n` untied values, with the interval's exact confidence 1 − 2·P(T ≤ c − 1);
/// c is at least 1.
fn exact_critical_count(n: usize, alpha: f64) -> (usize, f64) {
    let ranks: Vec<usize> = (1..=n).collect();
    let ways = sign_assignments_by_sum(&ranks);
    let (total, all) = (n * (n + 1) / 2, 2f64.powi(n as i32));
    let (mut c, mut tail) = (1, ways[0] / all);
    // Grow c while P(T ≤ c) stays within α/2: then c + 1 is still a valid count.
    while c < total.div_ceil(2) && tail + ways[c] / all <= alpha / 2.0 {
        tail += ways[c] / all;
        c += 1;
    }
    (c, 1.0 - 2.0 * tail)
}

/// Largest number of non-zero differences whose p-value is computed exactly.
const WILCOXON_EXACT_MAX: usize = 50;

/// Two-sided p-value of Wilcoxon's signed-rank test of `differences` against 0. Zeros are dropped
/// (Wilcoxon's convention, scipy's `zero_method="wilcox"`); ties get average ranks. Up to 50
/// non-zero differences the p-value is exact: the distribution of the positive rank sum over all
/// 2ⁿ sign assignments of these very ranks (so ties are handled exactly too), counted by dynamic
/// programming; beyond, the normal approximation with the tie correction and no continuity
/// correction (Hollander & Wolfe, Nonparametric Statistical Methods, §3.1). All zeros: p = 1.
pub fn wilcoxon_signed_rank(differences: &[f64]) -> Result<f64, StatsError> {
    check(differences, 1)?;
    let mut nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    if nonzero.is_empty() {
        return Ok(1.0);
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Ranks doubled, so average ranks of ties stay integers.
    let mut doubled_ranks = vec![0usize; nonzero.len()];
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < nonzero.len() {
        let mut end = start;
        while end + 1 < nonzero.len() && nonzero[end + 1].abs() == nonzero[start].abs() {
            end += 1;
        }
        doubled_ranks[start..=end].fill(start + end + 2);
        let tied = (end - start + 1) as f64;
        tie_term += tied.powi(3) - tied;
        start = end + 1;
    }
    let positive_doubled: usize =
        nonzero.iter().zip(&doubled_ranks).filter(|(d, _)| **d > 0.0).map(|(_, rank)| rank).sum();
    let n = nonzero.len() as f64;
    if nonzero.len() <= WILCOXON_EXACT_MAX {
        return Ok(exact_signed_rank_p(&doubled_ranks, positive_doubled));
    }
    let mean = n * (n + 1.0) / 4.0;
    let variance = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - tie_term / 48.0;
    if variance <= 0.0 {
        return Ok(1.0);
    }
    let z = (positive_doubled as f64 / 2.0 - mean).abs() / variance.sqrt();
    let normal = Normal::standard();
    Ok((2.0 * normal.sf(z)).min(1.0))
}

/// Two-sided p of the observed doubled positive rank sum among all sign assignments of `ranks`.
fn exact_signed_rank_p(doubled_ranks: &[usize], observed: usize) -> f64 {
    let total: usize = doubled_ranks.iter().sum();
    let ways = sign_assignments_by_sum(doubled_ranks);
    let all: f64 = ways.iter().sum();
    // The null distribution is symmetric about total/2: take the tail on the observed side.
    let low_side = observed.min(total - observed);
    let tail: f64 = ways[..=low_side].iter().sum();
    (2.0 * tail / all).min(1.0)
}

/// The null distribution of the signed-rank statistic over `ranks`, unnormalized: element s is
/// how many of the 2ⁿ sign assignments have positive rank sum s (as f64: exact up to 2⁵³),
/// counted by dynamic programming.
fn sign_assignments_by_sum(ranks: &[usize]) -> Vec<f64> {
    let total: usize = ranks.iter().sum();
    let mut ways = vec![0.0f64; total + 1];
    ways[0] = 1.0;
    let mut reached = 0;
    for &rank in ranks {
        for sum in (0..=reached).rev() {
            if ways[sum] > 0.0 {
                ways[sum + rank] += ways[sum];
            }
        }
        reached += rank;
    }
    ways
}

/// When a group of comparisons looks at its rounds: after `first`, then each time the rounds
/// double, up to `max_rounds`. The error rate is split evenly over the looks (Bonferroni alpha
/// spending), so stopping at the first decided look keeps the overall false-alarm rate at most
/// `alpha` whatever the correlation between looks; the price is a somewhat wider interval at each
/// look (99 % instead of 95 % with five looks) — chosen over an O'Brien-Fleming boundary because
/// it needs no model of how the looks correlate, and over an anytime-valid confidence sequence
/// because those are wider still at the few looks a benchmark takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookSchedule {
    /// Rounds at the first look.
    pub first: usize,
    /// Rounds the budget allows at most (the last look).
    pub max_rounds: usize,
}

impl LookSchedule {
    /// The rounds at which comparisons are evaluated, in order; the last is `max_rounds`.
    pub fn looks(&self) -> Vec<usize> {
        let first = self.first.max(2);
        let mut looks = Vec::new();
        let mut rounds = first;
        while rounds < self.max_rounds {
            looks.push(rounds);
            rounds *= 2;
        }
        looks.push(self.max_rounds.max(2));
        looks
    }

    /// The error rate each look may spend so that all looks together spend at most `alpha`.
    pub fn alpha_per_look(&self, alpha: f64) -> f64 {
        alpha / self.looks().len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal as NormalDistribution};

    #[test]
    fn the_hodges_lehmann_interval_inverts_scipys_signed_rank_test() -> Result<(), StatsError> {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // Exact (12 values). Python: the Walsh averages sorted, the null distribution of the
        // positive rank sum by enumerating all 4 096 sign assignments, c = 14; checked against
        // scipy 1.17.1: stats.wilcoxon(r - d, method="exact").pvalue is 0.064 and 0.052 just
        // inside the ends (d = low + 1e-9, high − 1e-9) and 0.034 and 0.042 just outside.
        let r = [0.012, -0.004, 0.021, 0.008, 0.015, -0.002, 0.011, 0.019, 0.006, 0.009, 0.013, -0.001];
        let comparison = compare_rounds(&r, 0.0, 0.05)?;
        assert!(close(comparison.ratio.ln(), 0.009250000000000001), "{comparison:?}");
        assert!(close(comparison.ratio_ci.low.ln(), 0.0034999999999999996), "{comparison:?}");
        assert!(close(comparison.ratio_ci.high.ln(), 0.0145), "{comparison:?}");
        assert!(close(comparison.confidence, 0.95751953125), "{comparison:?}");
        // Normal approximation (60 values, no ties): c = ceil(n(n+1)/4 − 1.96·σ) = 649; scipy's
        // stats.wilcoxon(x - d, method="approx") is 0.063 and 0.056 just inside, 0.044 and 0.049
        // just outside.
        let x: Vec<f64> = (0..60).map(|i| (((i * 37) % 23) as f64 - 10.5) / 100.0 + 0.02 + i as f64 * 1e-6).collect();
        let comparison = compare_rounds(&x, 0.0, 0.05)?;
        assert!(close(comparison.ratio.ln(), 0.0250205), "{comparison:?}");
        assert!(close(comparison.ratio_ci.low.ln(), 0.005033499999999999), "{comparison:?}");
        assert!(close(comparison.ratio_ci.high.ln(), 0.040051), "{comparison:?}");
        assert!(close(comparison.confidence, 0.95));
        Ok(())
    }

    #[test]
    fn a_few_far_out_rounds_barely_widen_the_interval() -> Result<(), StatsError> {
        // 100 rounds within ±1 % and 8 that caught the machine switching speed mid-round.
        let mut rounds: Vec<f64> = (0..100).map(|i| ((i * 37) % 21) as f64 / 1000.0 - 0.01).collect();
        rounds.extend([0.3, -0.35, 0.28, -0.3, 0.4, -0.25, 0.33, -0.31]);
        let comparison = compare_rounds(&rounds, 0.02, 0.05)?;
        let half_width = (comparison.ratio_ci.high.ln() - comparison.ratio_ci.low.ln()) / 2.0;
        assert!(half_width < 0.005, "{comparison:?}");
        assert_eq!(comparison.verdict, Verdict::Equivalent);
        // Too few values for 95 %: the widest interval, and its confidence said.
        let few = compare_rounds(&[0.01, 0.02, 0.015], 0.02, 0.05)?;
        assert!((few.confidence - 0.75).abs() < 1e-12, "{few:?}");
        assert!((few.ratio_ci.low.ln() - 0.01).abs() < 1e-12 && (few.ratio_ci.high.ln() - 0.02).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn wilcoxon_matches_scipy_exact_with_and_without_ties_and_approximate_beyond_fifty() -> Result<(), StatsError> {
        // scipy 1.17.1, stats.wilcoxon(r): statistic 6.0, pvalue 0.0068359375 (exact).
        let r = [0.012, -0.004, 0.021, 0.008, 0.015, -0.002, 0.011, 0.019, 0.006, 0.009, 0.013, -0.001];
        assert!((wilcoxon_signed_rank(&r)? - 0.0068359375).abs() < 1e-12);
        // With a zero (dropped) and ties: stats.wilcoxon(r2) = 0.40625 (exact over sign flips).
        let r2 = [0.01, 0.01, -0.02, 0.03, 0.0, 0.01, -0.01, 0.02];
        assert!((wilcoxon_signed_rank(&r2)? - 0.40625).abs() < 1e-12);
        // 60 values: x = [((i * 37) % 23 - 10.5) / 100 + 0.02 for i in range(60)];
        // stats.wilcoxon(x, method="approx") = 0.012530113666807906, statistic 576 (ties present,
        // no continuity correction).
        let x: Vec<f64> = (0..60).map(|i| (((i * 37) % 23) as f64 - 10.5) / 100.0 + 0.02).collect();
        let p = wilcoxon_signed_rank(&x)?;
        assert!((p - 0.012530113666807906).abs() < 1e-9, "{p}");
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0])?, 1.0);
        Ok(())
    }

    #[test]
    fn the_four_verdicts() -> Result<(), StatsError> {
        let around = |center: f64, spread: f64| -> Vec<f64> {
            (0..20).map(|i| center + spread * ((i % 5) as f64 - 2.0)).collect()
        };
        let verdict = |rounds: &[f64]| compare_rounds(rounds, 0.02, 0.05).map(|comparison| comparison.verdict);
        assert_eq!(verdict(&around(0.10, 0.005))?, Verdict::Faster);
        assert_eq!(verdict(&around(-0.10, 0.005))?, Verdict::Slower);
        assert_eq!(verdict(&around(0.0, 0.002))?, Verdict::Equivalent);
        // Centred at the threshold, or too spread to tell.
        assert_eq!(verdict(&around(0.02, 0.002))?, Verdict::Inconclusive);
        let wide = compare_rounds(&around(0.0, 0.05), 0.02, 0.05)?;
        assert_eq!(wide.verdict, Verdict::Inconclusive);
        let factor = wide.rounds_factor_to_settle();
        assert!(factor.is_some_and(|factor| factor > 1.0), "more rounds would settle it: {factor:?}");
        // A faster phase whose interval reaches into the band is not called faster.
        assert_eq!(verdict(&around(0.025, 0.012))?, Verdict::Inconclusive);
        Ok(())
    }

    #[test]
    fn the_resolution_shrinks_with_the_square_root_of_the_rounds() -> Result<(), StatsError> {
        let noise = |rounds: usize| -> Vec<f64> {
            let mut rng = SmallRng::seed_from_u64(7);
            (0..rounds).map(|_| rng.random_range(-0.01..0.01)).collect()
        };
        let (few, many) =
            (compare_rounds(&noise(16), 0.02, 0.05)?.resolution, compare_rounds(&noise(256), 0.02, 0.05)?.resolution);
        let ratio = few / many;
        assert!((2.8..6.0).contains(&ratio), "16 → 256 rounds should narrow ~4×: {few} / {many} = {ratio}");
        Ok(())
    }

    /// The band `noise_threshold: Auto` sets rests on this: ten rounds foretell the resolution of
    /// 400 at a small per-look error rate (within −20 … +35 %, erring wide: the exact interval of
    /// ten rounds is conservative), closer than the first look's own resolution, whose interval
    /// at that error rate sits near the extremes of ten rounds.
    #[test]
    fn a_few_rounds_foretell_the_resolution_of_many() -> Result<(), StatsError> {
        let Ok(normal) = NormalDistribution::new(0.0, 0.05) else { panic!("a valid distribution") };
        let (mut foretold_ratios, mut naive_ratios) = (Vec::new(), Vec::new());
        for seed in 0..40 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let ratios: Vec<f64> = (0..400).map(|_| normal.sample(&mut rng)).collect();
            let reached = compare_rounds(&ratios, 0.0, 0.007)?.resolution;
            foretold_ratios.push(projected_resolution(&ratios[..10], 400, 0.007)? / reached);
            // The first look's own resolution, shrunk the same way.
            let own = compare_rounds(&ratios[..10], 0.0, 0.007)?.resolution;
            naive_ratios.push((own.ln_1p() * (10.0_f64 / 400.0).sqrt()).exp_m1() / reached);
        }
        let (foretold, naive) = (super::super::median(&foretold_ratios)?, super::super::median(&naive_ratios)?);
        assert!((0.8..1.35).contains(&foretold), "foretold ÷ reached, median {foretold}: {foretold_ratios:?}");
        assert!(naive > foretold, "the first look's own resolution overstates: median {naive} against {foretold}");
        Ok(())
    }

    #[test]
    fn looks_double_up_to_the_budget_and_share_alpha() {
        let schedule = LookSchedule { first: 10, max_rounds: 100 };
        assert_eq!(schedule.looks(), vec![10, 20, 40, 80, 100]);
        assert!((schedule.alpha_per_look(0.05) - 0.01).abs() < 1e-15);
        assert_eq!(LookSchedule { first: 10, max_rounds: 10 }.looks(), vec![10]);
    }

    /// A machine whose speed drifts slowly (a random walk in log time) and whose steps are noisy;
    /// both arms are the same code. Returns one (arm A steps, arm B steps) pair of sequential
    /// blocks and the per-round log ratios of interleaved blocks on the same kind of machine.
    fn drifting_machine(seed: u64, rounds: usize, steps_per_block: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let (Ok(step_noise), Ok(drift)) = (NormalDistribution::new(0.0, 0.03), NormalDistribution::new(0.0, 0.01))
        else {
            panic!("valid normal parameters")
        };
        let mut log_speed = 0.0;
        let block = |rng: &mut SmallRng, log_speed: &mut f64| -> Vec<f64> {
            (0..steps_per_block)
                .map(|_| {
                    *log_speed += drift.sample(rng);
                    0.002 * (*log_speed + step_noise.sample(rng)).exp()
                })
                .collect()
        };
        let total = rounds * steps_per_block;
        let sequential_a: Vec<f64> = (0..rounds).flat_map(|_| block(&mut rng, &mut log_speed)).collect();
        let sequential_b: Vec<f64> = (0..rounds).flat_map(|_| block(&mut rng, &mut log_speed)).collect();
        assert_eq!(sequential_a.len(), total);
        let median = |values: &[f64]| crate::stats::median(values).unwrap_or(f64::NAN);
        let interleaved = (0..rounds)
            .map(|_| {
                let a_first = rng.random_bool(0.5);
                let first = block(&mut rng, &mut log_speed);
                let second = block(&mut rng, &mut log_speed);
                let (a, b) = if a_first { (first, second) } else { (second, first) };
                (median(&a) / median(&b)).ln()
            })
            .collect();
        (sequential_a, sequential_b, interleaved)
    }

    /// How many of `trials` same-code comparisons on a drifting machine end faster/slower:
    /// sequential blocks with step-level statistics, and interleaved rounds looked at on
    /// `schedule`, each look at `alpha_per_look`, stopping at the first decided look.
    fn false_alarms(
        trials: u64,
        threshold: f64,
        schedule: LookSchedule,
        alpha_per_look: f64,
    ) -> Result<(usize, usize), StatsError> {
        let (mut sequential_alarms, mut interleaved_alarms) = (0, 0);
        for trial in 0..trials {
            let (a, b, rounds) = drifting_machine(1000 + trial, schedule.max_rounds, 8);
            let step_level = crate::stats::speedup::speedup(&a, &b, threshold, 500, trial)?;
            if step_level.verdict != crate::stats::Verdict::NoChange {
                sequential_alarms += 1;
            }
            for look in schedule.looks() {
                match compare_rounds(&rounds[..look], threshold, alpha_per_look)?.verdict {
                    Verdict::Faster | Verdict::Slower => {
                        interleaved_alarms += 1;
                        break;
                    }
                    Verdict::Equivalent => break,
                    Verdict::Inconclusive | Verdict::NoChange => {}
                }
            }
        }
        Ok((sequential_alarms, interleaved_alarms))
    }

    #[test]
    fn on_a_drifting_machine_step_level_verdicts_false_alarm_and_round_level_ones_do_not() -> Result<(), StatsError> {
        let trials = 300;
        let schedule = LookSchedule { first: 10, max_rounds: 80 };
        // With no threshold every look can only alarm or go on, so the looks' error rates add up:
        // spending alpha over the looks keeps the total at 5 %, testing every look at 5 % does not.
        let (sequential, corrected) = false_alarms(trials, 0.0, schedule, schedule.alpha_per_look(0.05))?;
        let (_, uncorrected) = false_alarms(trials, 0.0, schedule, 0.05)?;
        eprintln!(
            "false alarms of {trials}: sequential {sequential}, interleaved {corrected}, uncorrected looks {uncorrected}"
        );
        // 95 % binomial upper range of a 5 % rate over 300 trials: 23.
        assert!(sequential > trials as usize / 4, "sequential false alarms {sequential} of {trials}");
        assert!(corrected <= 23, "interleaved false alarms {corrected} of {trials}");
        assert!(uncorrected > corrected, "the correction changes nothing: {uncorrected} vs {corrected}");
        // With the default 2 % band, same-code comparisons end equivalent or inconclusive.
        let (_, banded) = false_alarms(trials, 0.02, schedule, schedule.alpha_per_look(0.05))?;
        assert!(banded <= 23, "interleaved false alarms with a 2 % band {banded} of {trials}");
        Ok(())
    }
}
