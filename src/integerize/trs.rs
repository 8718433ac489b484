//! Truncate–replicate–sample: integer parts, then the rest drawn by systematic πps sampling.

use rand::seq::SliceRandom;
use rand::Rng;

use super::validate_weights;
use crate::error::Result;

/// Truncate–replicate–sample (Lovelace & Ballas 2013): integer parts, then the remaining count
/// `R = round(Σw) − Σ⌊w⌋` drawn without replacement with probability proportional to the
/// fractional parts.
///
/// The draw is randomized systematic πps sampling (Madow 1949; Hartley & Rao 1962): the records
/// with a fractional part are put in random order and `R` equally spaced points with a random start
/// pick records with inclusion probability `π_i = min(1, c·f_i)`, `c` chosen so that `Σπ = R`.
/// Unlike successive draws (R's `sample(prob = )`, as in the published R implementation), this gives
/// inclusion probabilities exactly proportional to the fractional parts, so `E[count_i] = w_i`
/// whenever `Σw` is an integer.
///
/// Guarantees: `Σ counts = round(Σw)` (halves rounded away from zero); every count is `⌊w⌋` or
/// `⌊w⌋ + 1` (and exactly `w` for integer weights); the same generator state gives the same counts.
///
/// # Errors
/// [`Error::Input`](crate::Error::Input) for a weight that is negative, NaN, infinite or above 2^52.
pub fn trs(weights: &[f64], rng: &mut impl Rng) -> Result<Vec<u64>> {
    validate_weights(weights)?;
    let mut counts: Vec<u64> = weights.iter().map(|w| w.floor() as u64).collect();
    let fracs: Vec<f64> = weights.iter().map(|w| w - w.floor()).collect();
    // round(Σw) − Σ⌊w⌋ = round(Σf) because Σ⌊w⌋ is an integer; summing only the fractional parts
    // avoids losing them against a large total.
    let remaining = fracs.iter().sum::<f64>().round() as usize;
    for i in systematic_pps(&fracs, remaining, rng) {
        counts[i] += 1;
    }
    Ok(counts)
}

/// Randomized systematic πps sample of `n_draw` distinct indices with inclusion probability
/// proportional to `sizes` (capped at 1). `n_draw` must not exceed the number of positive sizes.
fn systematic_pps(sizes: &[f64], n_draw: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut cand: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0.0).collect();
    if n_draw == 0 {
        return Vec::new();
    }
    if n_draw >= cand.len() {
        return cand;
    }
    // Inclusion probabilities: scale to sum n_draw, taking units whose scaled size reaches 1 with
    // certainty and rescaling the rest.
    let mut certain = vec![false; sizes.len()];
    let mut n_certain = 0;
    let scale = loop {
        let rest: f64 = cand.iter().filter(|&&i| !certain[i]).map(|&i| sizes[i]).sum();
        let scale = (n_draw - n_certain) as f64 / rest;
        let mut changed = false;
        for &i in &cand {
            if !certain[i] && sizes[i] * scale >= 1.0 && n_certain < n_draw {
                certain[i] = true;
                n_certain += 1;
                changed = true;
            }
        }
        if !changed || n_certain == n_draw {
            break scale;
        }
    };
    let mut chosen: Vec<usize> = cand.iter().copied().filter(|&i| certain[i]).collect();
    let n_rest = n_draw - n_certain;
    cand.retain(|&i| !certain[i]);
    cand.shuffle(rng);
    let start: f64 = rng.random();
    let mut cum = 0.0;
    let mut next = 0;
    let mut picked = vec![false; cand.len()];
    for (j, &i) in cand.iter().enumerate() {
        cum += sizes[i] * scale;
        if next < n_rest && start + (next as f64) < cum {
            chosen.push(i);
            picked[j] = true;
            next += 1;
        }
    }
    // Round-off can leave the last point just past the cumulative total; take the last unpicked.
    for j in (0..cand.len()).rev() {
        if next >= n_rest {
            break;
        }
        if !picked[j] {
            chosen.push(cand[j]);
            next += 1;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn trs_total_and_bounds() {
        let cases: [&[f64]; 4] = [
            &[0.0, 0.3, 1.0, 2.5, 7.75, 0.999, 3.2, 0.01, 12.0, 4.49],
            &[0.5, 0.5, 0.5, 0.5, 0.5], // Σf = 2.5 rounds up to 3
            &[0.9, 0.3, 1.3],           // Σf = 1.5: the 0.9 record is certain, the others 0.5 each
            &[0.999_999_999, 0.999_999_999, 0.999_999_999],
        ];
        for weights in cases {
            let total = weights.iter().sum::<f64>().round() as u64;
            for seed in 0..200 {
                let counts = trs(weights, &mut rng(seed)).unwrap();
                assert_eq!(counts.iter().sum::<u64>(), total, "{weights:?}");
                for (c, w) in counts.iter().zip(weights) {
                    let f = w.floor() as u64;
                    assert!(*c == f || *c == f + 1, "count {c} for weight {w}");
                    if w.fract() == 0.0 {
                        assert_eq!(*c, f);
                    }
                }
            }
        }
        assert_eq!(trs(&[0.9, 0.3, 1.3], &mut rng(3)).unwrap()[0], 1);
        // Half-way totals round away from zero.
        assert_eq!(trs(&[0.25, 0.25], &mut rng(1)).unwrap().iter().sum::<u64>(), 1);
        assert_eq!(trs(&[0.2, 0.2], &mut rng(1)).unwrap().iter().sum::<u64>(), 0);
        assert!(trs(&[], &mut rng(1)).unwrap().is_empty());
    }

    #[test]
    fn trs_reproducible() {
        let weights: Vec<f64> = (0..500).map(|i| (i as f64 * 0.37).sin().abs() * 3.0).collect();
        let a = trs(&weights, &mut rng(42)).unwrap();
        assert_eq!(a, trs(&weights, &mut rng(42)).unwrap());
        assert_ne!(a, trs(&weights, &mut rng(43)).unwrap());
    }

    /// Mean count over 2,000 seeds within 3 standard errors of the weight. The fractional parts are
    /// uneven on purpose: successive sampling ∝ f (R's `sample(prob = )`) includes the 0.9 record
    /// with probability ≈ 0.75 and fails this test.
    #[test]
    fn trs_unbiased() {
        let weights = [2.9, 0.1, 1.5, 0.5, 3.6, 0.4];
        let runs = 2000;
        let mut sums = [0u64; 6];
        for seed in 0..runs {
            let counts = trs(&weights, &mut rng(seed)).unwrap();
            for (s, c) in sums.iter_mut().zip(&counts) {
                *s += c;
            }
        }
        for (s, w) in sums.iter().zip(&weights) {
            let mean = *s as f64 / runs as f64;
            let f = w - w.floor();
            let se = (f * (1.0 - f) / runs as f64).sqrt();
            assert!((mean - w).abs() <= 3.0 * se, "weight {w}: mean count {mean}, standard error {se}");
        }
    }

    #[test]
    fn trs_rejects_bad_weights() {
        for bad in [f64::NAN, -0.5, f64::INFINITY, 1e17] {
            let err = trs(&[1.0, bad], &mut rng(0)).unwrap_err();
            assert!(matches!(err, Error::Input { .. }), "{err}");
            assert!(err.to_string().contains("record 1"), "{err}");
        }
    }
}
