//! Simulated answers: each predictor's sampled answers per person and item, for effect
//! replication and run-to-run variance.
//!
//! A predictor that samples (an external simulator answering with one option per request)
//! supplies its own draws. For one that gives probabilities, populace draws `repeats` answers
//! per person from them, from a ChaCha8 stream keyed by (seed, predictor, item, person), so the
//! draws do not depend on the order or the thread count.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::crossfit::Predictions;
use super::spec::SimulationSpec;

/// Sampled answers `[predictor][item][person]`; empty where there is no prediction.
pub type Draws = Vec<Vec<Vec<Vec<usize>>>>;

/// Where a predictor's draws came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DrawSource {
    /// The predictor sampled them itself.
    Predictor,
    /// populace drew them from the predictor's probabilities.
    Populace,
}

/// Draws for every predictor, item and predicted person, and each predictor's source.
pub fn draws(preds: &Predictions, spec: &SimulationSpec) -> (Draws, Vec<DrawSource>) {
    let mut sources = Vec::new();
    let draws = preds
        .iter()
        .enumerate()
        .map(|(m, per_item)| {
            let own = per_item.iter().flatten().flatten().any(|p| !p.draws.is_empty());
            sources.push(if own { DrawSource::Predictor } else { DrawSource::Populace });
            per_item
                .iter()
                .enumerate()
                .map(|(i, per_person)| {
                    per_person
                        .iter()
                        .enumerate()
                        .map(|(p, pred)| match pred {
                            None => Vec::new(),
                            Some(pred) if own => pred.draws.clone(),
                            Some(pred) => sample(&pred.probabilities, spec.repeats, stream(spec.seed, m, i, p)),
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    (draws, sources)
}

fn stream(seed: u64, predictor: usize, item: usize, person: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((predictor as u64) << 48) ^ ((item as u64) << 32));
    rng.set_stream(person as u64);
    rng
}

fn sample(probabilities: &[f64], repeats: usize, mut rng: ChaCha8Rng) -> Vec<usize> {
    match WeightedIndex::new(probabilities) {
        Ok(dist) => (0..repeats).map(|_| dist.sample(&mut rng)).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_frequencies_follow_the_probabilities() {
        let draws = sample(&[0.2, 0.8], 20_000, stream(1, 0, 0, 0));
        let share = draws.iter().filter(|&&d| d == 1).count() as f64 / draws.len() as f64;
        assert!((share - 0.8).abs() < 0.015, "{share}");
        assert_eq!(draws, sample(&[0.2, 0.8], 20_000, stream(1, 0, 0, 0)));
        assert_ne!(draws, sample(&[0.2, 0.8], 20_000, stream(1, 0, 0, 1)));
    }
}
