//! How far a phase's output drifts from the baseline phase's output on the same probe input.

mod image;

use serde::{Deserialize, Serialize};

pub use image::{ImageFidelity, compare_images, ssim};

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
    /// Language models: agreement of next-token predictions with the baseline's, teacher-forced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenAgreement>,
    /// Image generation: the decoded images against the baseline's (the figures above are of the
    /// final latents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageFidelity>,
}

/// How a language model's next-token predictions agree with the baseline's at the same positions
/// of the same sequence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenAgreement {
    /// Positions compared.
    pub positions: usize,
    /// Fraction of positions whose most likely next token is the baseline's.
    pub top1_agreement: f64,
    /// Mean Kullback-Leibler divergence KL(baseline ‖ phase) of the next-token distributions, in
    /// nats.
    pub mean_kl_divergence: f64,
}

/// Compares next-token logits `[positions, vocab]` (flattened) of a phase with the baseline's:
/// top-1 agreement and mean KL divergence of the softmax distributions. `None` when the lengths
/// do not split into rows of `vocab` or a row is not finite.
pub fn compare_next_tokens(reference: &[f32], candidate: &[f32], vocab: usize) -> Option<TokenAgreement> {
    if vocab == 0
        || reference.is_empty()
        || reference.len() != candidate.len()
        || !reference.len().is_multiple_of(vocab)
    {
        return None;
    }
    let argmax = |row: &[f32]| row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(index, _)| index);
    let log_softmax = |row: &[f32]| -> Option<Vec<f64>> {
        let peak = row.iter().map(|&v| f64::from(v)).fold(f64::NEG_INFINITY, f64::max);
        let log_sum = row.iter().map(|&v| (f64::from(v) - peak).exp()).sum::<f64>().ln() + peak;
        let values: Vec<f64> = row.iter().map(|&v| f64::from(v) - log_sum).collect();
        values.iter().all(|v| v.is_finite()).then_some(values)
    };
    let (mut agreeing, mut kl_sum) = (0usize, 0f64);
    let positions = reference.len() / vocab;
    for (reference, candidate) in reference.chunks_exact(vocab).zip(candidate.chunks_exact(vocab)) {
        agreeing += usize::from(argmax(reference) == argmax(candidate));
        let (p, q) = (log_softmax(reference)?, log_softmax(candidate)?);
        // Rounding can leave a hair below zero for identical distributions.
        kl_sum += p.iter().zip(&q).map(|(lp, lq)| lp.exp() * (lp - lq)).sum::<f64>().max(0.0);
    }
    Some(TokenAgreement {
        positions,
        top1_agreement: agreeing as f64 / positions as f64,
        mean_kl_divergence: kl_sum / positions as f64,
    })
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
        tokens: None,
        image: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers: two positions over a vocabulary of 3. KL of the first row, computed by hand:
    /// p = softmax(0, 0, ln 2) = (1/4, 1/4, 1/2), q = softmax(0, ln 2, 0) = (1/4, 1/2, 1/4);
    /// KL(p‖q) = 1/4 ln 1 + 1/4 ln(1/2) + 1/2 ln 2 = 1/4 ln 2. The second rows are equal (KL 0).
    #[test]
    fn next_token_agreement_and_kl_divergence_have_known_values() {
        let ln2 = std::f32::consts::LN_2;
        let reference = [0.0, 0.0, ln2, 5.0, 1.0, 0.0];
        let candidate = [0.0, ln2, 0.0, 5.0, 1.0, 0.0];
        let agreement = compare_next_tokens(&reference, &candidate, 3);
        let agreement =
            agreement.unwrap_or(TokenAgreement { positions: 0, top1_agreement: -1.0, mean_kl_divergence: -1.0 });
        assert_eq!((agreement.positions, agreement.top1_agreement), (2, 0.5));
        let expected = f64::from(ln2) / 4.0 / 2.0;
        assert!((agreement.mean_kl_divergence - expected).abs() < 1e-7, "{agreement:?}");
        assert_eq!(compare_next_tokens(&reference, &candidate[..5], 3), None, "lengths differ");
        assert_eq!(compare_next_tokens(&reference, &candidate, 4), None, "rows do not split");
    }

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
