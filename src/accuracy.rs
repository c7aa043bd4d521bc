//! How far a phase's output drifts from the baseline phase's output on the same probe input.

use serde::{Deserialize, Serialize};

/// Drift of one output against a reference output, both compared as f32.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Number of values compared.
    pub elements: usize,
    /// Values that are NaN or infinite in the candidate but finite in the reference.
    pub nonfinite_values: usize,
    /// Largest absolute difference.
    pub max_abs_error: f64,
    /// Largest difference relative to the reference magnitude (floored at 1e-6).
    pub max_rel_error: f64,
    /// Mean absolute error.
    pub mean_abs_error: f64,
    /// Mean squared error.
    pub mean_squared_error: f64,
    /// Cosine similarity of the two outputs as vectors; absent when either is all zeros.
    pub cosine_similarity: Option<f64>,
    /// Peak signal-to-noise ratio in dB, peak = largest reference magnitude; absent when identical.
    pub psnr_db: Option<f64>,
    /// Relative error of the whole output, ‖candidate − reference‖₂ / ‖reference‖₂ (for training,
    /// of the loss trajectory): unlike the cosine it sees a rescaled output. Absent for an all-zero
    /// reference and in results written before it was recorded.
    #[serde(default)]
    pub relative_error: Option<f64>,
}

/// Why two outputs cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AccuracyError {
    /// The outputs have different numbers of values.
    #[error("output has {candidate} values but the baseline's has {reference}")]
    LengthMismatch {
        /// Values in the reference.
        reference: usize,
        /// Values in the candidate.
        candidate: usize,
    },
    /// There is nothing to compare.
    #[error("outputs are empty")]
    Empty,
}

/// Compares `candidate` with `reference` element by element. Non-finite candidate values are
/// counted, not folded into the error figures, so one NaN does not hide the rest.
pub fn compare_outputs(reference: &[f32], candidate: &[f32]) -> Result<Accuracy, AccuracyError> {
    if reference.len() != candidate.len() {
        return Err(AccuracyError::LengthMismatch { reference: reference.len(), candidate: candidate.len() });
    }
    if reference.is_empty() {
        return Err(AccuracyError::Empty);
    }
    let (mut nonfinite_values, mut compared) = (0usize, 0usize);
    let (mut max_abs, mut max_rel, mut sum_abs, mut sum_sq) = (0f64, 0f64, 0f64, 0f64);
    let (mut dot, mut norm_ref, mut norm_cand, mut peak) = (0f64, 0f64, 0f64, 0f64);
    for (&r, &c) in reference.iter().zip(candidate) {
        let (r, c) = (f64::from(r), f64::from(c));
        if !c.is_finite() || !r.is_finite() {
            if r.is_finite() {
                nonfinite_values += 1;
            }
            continue;
        }
        compared += 1;
        let diff = (r - c).abs();
        max_abs = max_abs.max(diff);
        max_rel = max_rel.max(diff / r.abs().max(1e-6));
        sum_abs += diff;
        sum_sq += diff * diff;
        dot += r * c;
        norm_ref += r * r;
        norm_cand += c * c;
        peak = peak.max(r.abs());
    }
    let count = compared.max(1) as f64;
    let mse = sum_sq / count;
    let cosine = (norm_ref > 0.0 && norm_cand > 0.0).then(|| dot / (norm_ref.sqrt() * norm_cand.sqrt()));
    let psnr_db = (mse > 0.0 && peak > 0.0).then(|| 10.0 * (peak * peak / mse).log10());
    Ok(Accuracy {
        elements: reference.len(),
        nonfinite_values,
        max_abs_error: max_abs,
        max_rel_error: max_rel,
        mean_abs_error: sum_abs / count,
        mean_squared_error: mse,
        cosine_similarity: cosine,
        psnr_db,
        relative_error: (norm_ref > 0.0).then(|| (sum_sq / norm_ref).sqrt()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_outputs_have_no_error() -> Result<(), AccuracyError> {
        let values = [1.0, -2.0, 3.5];
        let accuracy = compare_outputs(&values, &values)?;
        assert_eq!(accuracy.max_abs_error, 0.0);
        assert_eq!(accuracy.psnr_db, None);
        assert!((accuracy.cosine_similarity.unwrap_or(0.0) - 1.0).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn known_differences_give_known_figures() -> Result<(), AccuracyError> {
        let accuracy = compare_outputs(&[1.0, 2.0, 4.0, 0.0], &[1.5, 2.0, 3.0, 0.0])?;
        assert_eq!(accuracy.max_abs_error, 1.0);
        assert_eq!(accuracy.max_rel_error, 0.5);
        assert_eq!(accuracy.mean_abs_error, 1.5 / 4.0);
        assert_eq!(accuracy.mean_squared_error, 1.25 / 4.0);
        let psnr = accuracy.psnr_db.unwrap_or(f64::NAN);
        assert!((psnr - 10.0 * (16.0 / (1.25 / 4.0f64)).log10()).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn nan_in_the_candidate_is_counted_not_hidden() -> Result<(), AccuracyError> {
        let accuracy = compare_outputs(&[1.0, 2.0], &[f32::NAN, 2.0])?;
        assert_eq!(accuracy.nonfinite_values, 1);
        assert_eq!(accuracy.max_abs_error, 0.0);
        Ok(())
    }

    #[test]
    fn different_lengths_are_an_error() {
        assert_eq!(
            compare_outputs(&[1.0], &[1.0, 2.0]),
            Err(AccuracyError::LengthMismatch { reference: 1, candidate: 2 })
        );
    }
}
