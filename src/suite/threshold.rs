//! The noise threshold of a suite's comparisons: a fixed fraction, or `Auto` — a multiple of the
//! smallest change the machine let the group's own A/A control resolve.

use serde::{Deserialize, Serialize};

/// The band of relative change within which a phase counts as the same speed as the baseline. In
/// RON: `0.02` (±2 %), `Auto` (2× the A/A resolution) or `Auto(3.0)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ThresholdText", into = "ThresholdText")]
pub enum NoiseThreshold {
    /// A fixed fraction (0.02 = 2 %).
    Fixed(f64),
    /// `multiple` × the resolution (90 % power) the group's budget buys, estimated from the
    /// baseline's A/A control over the rounds so far and projected to the planned rounds;
    /// reported with each comparison. Needs interleaved rounds.
    Auto {
        /// How many A/A resolutions wide the band is.
        multiple: f64,
    },
}

impl NoiseThreshold {
    /// The band used where a comparison has no A/A control to measure it from (one phase after
    /// the other, a comparison of two runs): the fixed fraction, or for `Auto` 2 %.
    pub const AUTO_FALLBACK: f64 = 0.02;

    /// The multiple a bare `Auto` means: twice the resolution, so that a group of identical phases
    /// is shown *equivalent* in about half its budget, while any change the budget can resolve
    /// and larger than the band is still called.
    pub const DEFAULT_AUTO_MULTIPLE: f64 = 2.0;

    /// The fixed fraction, or [`Self::AUTO_FALLBACK`] for `Auto`.
    pub fn fixed_or_fallback(self) -> f64 {
        match self {
            Self::Fixed(fraction) => fraction,
            Self::Auto { .. } => Self::AUTO_FALLBACK,
        }
    }

    /// The multiple of the A/A resolution, for `Auto`.
    pub fn auto_multiple(self) -> Option<f64> {
        match self {
            Self::Fixed(_) => None,
            Self::Auto { multiple } => Some(multiple),
        }
    }
}

impl Default for NoiseThreshold {
    fn default() -> Self {
        Self::Fixed(0.02)
    }
}

impl std::fmt::Display for NoiseThreshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(fraction) => write!(f, "±{} %", fraction * 100.0),
            Self::Auto { multiple } => write!(f, "auto ({multiple}× the A/A resolution)"),
        }
    }
}

/// How the threshold is written: a number, `Auto`, or `Auto(multiple)` (ron hands an untagged
/// enum a bare identifier as a string and `Name(value)` as a one-entry map, as JSON has them).
#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged, expecting = "a fraction such as 0.02 (±2 %), `Auto`, or `Auto(3.0)` (3× the A/A resolution)")]
enum ThresholdText {
    Fixed(f64),
    Auto(AutoWord),
    AutoMultiple(AutoWithMultiple),
}

#[derive(Clone, Serialize, Deserialize)]
enum AutoWord {
    Auto,
}

#[derive(Clone, Serialize, Deserialize)]
enum AutoWithMultiple {
    Auto(f64),
}

impl From<ThresholdText> for NoiseThreshold {
    fn from(text: ThresholdText) -> Self {
        match text {
            ThresholdText::Fixed(fraction) => Self::Fixed(fraction),
            ThresholdText::Auto(AutoWord::Auto) => Self::Auto { multiple: Self::DEFAULT_AUTO_MULTIPLE },
            ThresholdText::AutoMultiple(AutoWithMultiple::Auto(multiple)) => Self::Auto { multiple },
        }
    }
}

impl From<NoiseThreshold> for ThresholdText {
    fn from(threshold: NoiseThreshold) -> Self {
        match threshold {
            NoiseThreshold::Fixed(fraction) => Self::Fixed(fraction),
            NoiseThreshold::Auto { multiple } => Self::AutoMultiple(AutoWithMultiple::Auto(multiple)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        noise_threshold: NoiseThreshold,
    }

    #[test]
    fn a_number_auto_and_auto_with_a_multiple_read_and_write_back() -> Result<(), Box<dyn std::error::Error>> {
        for (text, expected) in [
            ("(noise_threshold: 0.02)", NoiseThreshold::Fixed(0.02)),
            ("(noise_threshold: 0)", NoiseThreshold::Fixed(0.0)),
            ("(noise_threshold: Auto)", NoiseThreshold::Auto { multiple: 2.0 }),
            ("(noise_threshold: Auto(2.5))", NoiseThreshold::Auto { multiple: 2.5 }),
        ] {
            let holder: Holder = ron::from_str(text)?;
            assert_eq!(holder.noise_threshold, expected, "{text}");
            let again: Holder = ron::from_str(&ron::to_string(&holder)?)?;
            assert_eq!(again, holder, "RON round trip of {text}");
            let json: Holder = serde_json::from_str(&serde_json::to_string(&holder)?)?;
            assert_eq!(json, holder, "JSON round trip of {text}");
        }
        // Results written before `Auto` existed hold a plain number.
        let old: Holder = serde_json::from_str(r#"{"noise_threshold":0.05}"#)?;
        assert_eq!(old.noise_threshold, NoiseThreshold::Fixed(0.05));
        Ok(())
    }

    #[test]
    fn a_misspelt_threshold_says_what_is_expected_and_where() {
        let Err(error) = ron::from_str::<Holder>("(\n  noise_threshold: Atuo,\n)") else {
            panic!("`Atuo` is not a threshold")
        };
        let text = error.to_string();
        assert!(text.contains("`Auto`") && text.contains("0.02"), "{text}");
        assert_eq!(error.span.start.line, 2, "{text}");
    }
}
