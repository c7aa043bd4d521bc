//! Saved results against saved results. Two runs of the same code on one machine differ by more
//! than the noise inside either run (clocks, caches, neighbours change between them), so a
//! comparison of single runs by their steps or rounds calls same-code pairs regressions far more
//! often than its error rate says. With several results per side the between-run variance can be
//! estimated: each result contributes one value per run (the log of its median time per item) and
//! the two sides are compared by a pooled two-sample Student t over those values — repetition at
//! the level where the variance is (Kalibera & Jones, ISMM 2013).

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::rounds::RESOLUTION_POWER;
use super::{Interval, StatsError, Verdict, check};

/// Results before against results after, for one run.
#[derive(Clone, Debug, PartialEq)]
pub struct BetweenRuns {
    /// Results before that had this run completed.
    pub before: usize,
    /// Results after that had this run completed.
    pub after: usize,
    /// Geometric mean time per item before ÷ after (> 1: after is faster).
    pub ratio: f64,
    /// Student-t interval of `ratio` at 1 − `alpha`.
    pub ratio_ci: Interval,
    /// Two-sided p-value of the pooled two-sample t test.
    pub p_value: f64,
    /// Smallest change these results detect with 90 % power at the same error rate.
    pub resolution: f64,
    /// The conclusion, as over rounds: faster / slower / equivalent / inconclusive.
    pub verdict: Verdict,
}

/// Compares the log median seconds per item of the results before (`before_logs`) with those
/// after, at error rate `alpha` and the no-change band `1 ± threshold`. Needs at least one value per
/// side and three in all (one degree of freedom for the spread).
pub fn compare_between_runs(
    before_logs: &[f64],
    after_logs: &[f64],
    threshold: f64,
    alpha: f64,
) -> Result<BetweenRuns, StatsError> {
    check(before_logs, 1)?;
    check(after_logs, 1)?;
    let (n, m) = (before_logs.len() as f64, after_logs.len() as f64);
    let degrees = n + m - 2.0;
    if degrees < 1.0 {
        return Err(StatsError::TooFewSamples { needed: 3, got: before_logs.len() + after_logs.len() });
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let squares = |values: &[f64], center: f64| values.iter().map(|value| (value - center).powi(2)).sum::<f64>();
    let (before_mean, after_mean) = (mean(before_logs), mean(after_logs));
    let pooled_variance = (squares(before_logs, before_mean) + squares(after_logs, after_mean)) / degrees;
    let standard_error = (pooled_variance * (1.0 / n + 1.0 / m)).sqrt();
    let difference = before_mean - after_mean;
    let quantile = |p: f64| StudentsT::new(0.0, 1.0, degrees).map_or(f64::INFINITY, |t| t.inverse_cdf(p));
    let t_alpha = quantile(1.0 - alpha / 2.0);
    let ratio_ci = Interval {
        low: (difference - t_alpha * standard_error).exp(),
        high: (difference + t_alpha * standard_error).exp(),
    };
    let p_value = if standard_error > 0.0 {
        StudentsT::new(0.0, 1.0, degrees).map_or(1.0, |t| 2.0 * t.sf((difference / standard_error).abs()))
    } else if difference == 0.0 {
        1.0
    } else {
        0.0
    };
    let resolution = ((t_alpha + quantile(RESOLUTION_POWER)) * standard_error).exp() - 1.0;
    Ok(BetweenRuns {
        before: before_logs.len(),
        after: after_logs.len(),
        ratio: difference.exp(),
        ratio_ci,
        p_value,
        resolution,
        verdict: super::rounds::verdict_of(ratio_ci, p_value, threshold, alpha),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipys_pooled_t_test() -> Result<(), StatsError> {
        // scipy 1.17.1: r = stats.ttest_ind(b, a, equal_var=True) with b = [-6.20, -6.18, -6.25],
        // a = [-6.10, -6.14, -6.08, -6.12]: pvalue 0.007594585393410021;
        // r.confidence_interval(0.95) = (-0.1595502713894244, -0.0404497286105749).
        let before = [-6.20, -6.18, -6.25];
        let after = [-6.10, -6.14, -6.08, -6.12];
        let comparison = compare_between_runs(&before, &after, 0.02, 0.05)?;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(comparison.p_value, 0.007594585393410021), "{comparison:?}");
        assert!(close(comparison.ratio_ci.low.ln(), -0.1595502713894244), "{comparison:?}");
        assert!(close(comparison.ratio_ci.high.ln(), -0.0404497286105749), "{comparison:?}");
        assert_eq!(comparison.verdict, Verdict::Slower);
        Ok(())
    }

    #[test]
    fn spread_between_results_widens_the_interval_and_one_per_side_is_refused() -> Result<(), StatsError> {
        let tight = compare_between_runs(&[-6.0, -6.001, -5.999], &[-6.0, -6.002, -5.998], 0.02, 0.05)?;
        assert_eq!(tight.verdict, Verdict::Equivalent, "{tight:?}");
        // The same centres, but results that move 10 % between runs: nothing can be said.
        let loose = compare_between_runs(&[-6.0, -6.1, -5.9], &[-6.0, -6.1, -5.9], 0.02, 0.05)?;
        assert_eq!(loose.verdict, Verdict::Inconclusive, "{loose:?}");
        assert!(loose.resolution > 10.0 * tight.resolution);
        assert!(compare_between_runs(&[-6.0], &[-6.1], 0.02, 0.05).is_err());
        Ok(())
    }
}
