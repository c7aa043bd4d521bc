//! How close a phase's decoded images are to the baseline's, in the figures image people read:
//! PSNR and SSIM over pixel values in [0, 1], with the mean absolute and squared errors and the
//! cosine similarity beside them.

use serde::{Deserialize, Serialize};

/// A phase's images against the baseline's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageFidelity {
    /// Images compared.
    pub images: usize,
    /// Mean absolute difference of pixel values.
    pub mean_abs_error: f64,
    /// Mean squared difference of pixel values.
    pub mean_squared_error: f64,
    /// Peak signal-to-noise ratio in dB for a data range of 1; absent when the images are equal.
    pub psnr_db: Option<f64>,
    /// Mean structural similarity (Wang et al. 2004; Gaussian window σ = 1.5, as scikit-image's
    /// `structural_similarity(gaussian_weights=True)`), averaged over images and channels; absent
    /// for images under 11 pixels on a side.
    pub ssim: Option<f64>,
    /// Cosine similarity of all pixel values as one vector.
    pub cosine_similarity: Option<f64>,
}

/// Compares `candidate` images with `reference` images, both `[images, channels, height, width]`
/// flattened with values in [0, 1]; `None` when the lengths do not match the shape or a value
/// is not finite.
pub fn compare_images(reference: &[f32], candidate: &[f32], shape: [usize; 4]) -> Option<ImageFidelity> {
    let [images, channels, height, width] = shape;
    let plane = height * width;
    if images * channels * plane == 0
        || reference.len() != images * channels * plane
        || candidate.len() != reference.len()
    {
        return None;
    }
    if !reference.iter().chain(candidate).all(|value| value.is_finite()) {
        return None;
    }
    let (mut sum_abs, mut sum_sq, mut dot, mut norm_ref, mut norm_cand) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for (&r, &c) in reference.iter().zip(candidate) {
        let (r, c) = (f64::from(r), f64::from(c));
        sum_abs += (r - c).abs();
        sum_sq += (r - c) * (r - c);
        dot += r * c;
        norm_ref += r * r;
        norm_cand += c * c;
    }
    let count = reference.len() as f64;
    let mse = sum_sq / count;
    let planes = reference.chunks_exact(plane).zip(candidate.chunks_exact(plane));
    let ssim_values: Option<Vec<f64>> = planes.map(|(r, c)| ssim(r, c, height, width)).collect();
    Some(ImageFidelity {
        images,
        mean_abs_error: sum_abs / count,
        mean_squared_error: mse,
        psnr_db: (mse > 0.0).then(|| 10.0 * (1.0 / mse).log10()),
        ssim: ssim_values.map(|values| values.iter().sum::<f64>() / values.len() as f64),
        cosine_similarity: (norm_ref > 0.0 && norm_cand > 0.0).then(|| dot / (norm_ref.sqrt() * norm_cand.sqrt())),
    })
}

/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;
/// Half the window: scikit-image's `int(truncate * sigma + 0.5)` with `truncate = 3.5`.
const RADIUS: usize = 5;

/// The mean SSIM of two single-channel images `height × width` with a data range of 1, as
/// scikit-image computes it with `gaussian_weights=True, sigma=1.5, use_sample_covariance=False`:
/// local statistics from a separable 11-tap Gaussian (scipy's `reflect` borders), the SSIM map
/// averaged without the `RADIUS`-pixel border. `None` under 11 pixels on a side.
pub fn ssim(reference: &[f32], candidate: &[f32], height: usize, width: usize) -> Option<f64> {
    if height <= 2 * RADIUS
        || width <= 2 * RADIUS
        || reference.len() != height * width
        || candidate.len() != reference.len()
    {
        return None;
    }
    let x: Vec<f64> = reference.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = candidate.iter().map(|&v| f64::from(v)).collect();
    let product = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).collect::<Vec<f64>>();
    let blur = |values: &[f64]| gaussian_blur(values, height, width);
    let (mu_x, mu_y) = (blur(&x), blur(&y));
    let (xx, yy, xy) = (blur(&product(&x, &x)), blur(&product(&y, &y)), blur(&product(&x, &y)));
    let (c1, c2) = ((0.01f64).powi(2), (0.03f64).powi(2));
    let mut sum = 0.0;
    let mut count = 0usize;
    for row in RADIUS..height - RADIUS {
        for column in RADIUS..width - RADIUS {
            let i = row * width + column;
            let (mx, my) = (mu_x[i], mu_y[i]);
            let (vx, vy, cov) = (xx[i] - mx * mx, yy[i] - my * my, xy[i] - mx * my);
            sum += ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            count += 1;
        }
    }
    Some(sum / count as f64)
}

/// A separable Gaussian filter (σ = [`SIGMA`], radius [`RADIUS`]) with scipy's `reflect` border
/// (the edge pixel repeated: `d c b a | a b c d | d c b a`).
fn gaussian_blur(values: &[f64], height: usize, width: usize) -> Vec<f64> {
    let raw: Vec<f64> = (0..=2 * RADIUS)
        .map(|k| {
            let offset = k as f64 - RADIUS as f64;
            (-offset * offset / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let total: f64 = raw.iter().sum();
    let kernel: Vec<f64> = raw.iter().map(|w| w / total).collect();
    let reflect = |index: isize, len: usize| -> usize {
        let len = len as isize;
        let period = 2 * len;
        let wrapped = index.rem_euclid(period);
        (if wrapped < len { wrapped } else { period - 1 - wrapped }) as usize
    };
    let pass = |input: &[f64], along_rows: bool| -> Vec<f64> {
        let mut output = vec![0.0; input.len()];
        for row in 0..height {
            for column in 0..width {
                output[row * width + column] = kernel
                    .iter()
                    .enumerate()
                    .map(|(k, weight)| {
                        let offset = k as isize - RADIUS as isize;
                        let (r, c) = if along_rows {
                            (row, reflect(column as isize + offset, width))
                        } else {
                            (reflect(row as isize + offset, height), column)
                        };
                        weight * input[r * width + c]
                    })
                    .sum();
            }
        }
        output
    };
    pass(&pass(values, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16×20 test pattern and a perturbed copy, built as the reference script builds them.
    fn pattern() -> (Vec<f32>, Vec<f32>) {
        let (height, width) = (16, 20);
        let mut reference = Vec::new();
        let mut candidate = Vec::new();
        for i in 0..height {
            for j in 0..width {
                let value = ((i * 7 + j * 3) % 16) as f32 / 15.0;
                reference.push(value);
                candidate.push((f64::from(value) + 0.05 * ((i + 2 * j) as f64).sin()).clamp(0.0, 1.0) as f32);
            }
        }
        (reference, candidate)
    }

    /// Reference values from scikit-image 0.26.0 / NumPy 2.4.6 on the same arrays (float64):
    /// ```python
    /// i, j = np.meshgrid(np.arange(16), np.arange(20), indexing="ij")
    /// ref = (((i * 7 + j * 3) % 16) / 15.0).astype(np.float32)
    /// cand = np.clip(ref + 0.05 * np.sin(i + 2.0 * j), 0, 1).astype(np.float32)
    /// structural_similarity(ref, cand, data_range=1.0, gaussian_weights=True, sigma=1.5,
    ///                       use_sample_covariance=False)       # 0.9941208178369345
    /// peak_signal_noise_ratio(ref, cand, data_range=1.0)       # 29.20578651797547
    /// np.mean(np.abs(ref - cand)), np.mean((ref - cand) ** 2)  # 0.030447032980737275, 0.0012006636101944209
    /// ```
    #[test]
    fn ssim_and_psnr_match_scikit_image() {
        let (reference, candidate) = pattern();
        let fidelity = compare_images(&reference, &candidate, [1, 1, 16, 20]);
        let Some(fidelity) = fidelity else { panic!("comparable images") };
        let close = |value: Option<f64>, expected: f64, tolerance: f64| {
            value.is_some_and(|value| (value - expected).abs() < tolerance)
        };
        assert!(close(fidelity.ssim, 0.9941208178369345, 1e-9), "{fidelity:?}");
        assert!(close(fidelity.psnr_db, 29.20578651797547, 1e-6), "{fidelity:?}");
        assert!((fidelity.mean_abs_error - 0.030447032980737275).abs() < 1e-9, "{fidelity:?}");
        assert!((fidelity.mean_squared_error - 0.0012006636101944209).abs() < 1e-9, "{fidelity:?}");
    }

    #[test]
    fn an_image_against_itself_is_perfect_and_mismatched_shapes_are_not_compared() {
        let (reference, _) = pattern();
        let fidelity = compare_images(&reference, &reference, [1, 1, 16, 20]);
        let Some(fidelity) = fidelity else { panic!("comparable images") };
        assert_eq!((fidelity.psnr_db, fidelity.mean_squared_error), (None, 0.0), "no noise: PSNR is unbounded");
        assert!(fidelity.ssim.is_some_and(|ssim| (ssim - 1.0).abs() < 1e-12), "{fidelity:?}");
        assert!(compare_images(&reference, &reference, [1, 1, 16, 21]).is_none(), "the shape must fit");
        assert!(ssim(&reference[..100], &reference[..100], 10, 10).is_none(), "under 11 pixels a side");
    }
}
