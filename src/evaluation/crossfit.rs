//! Cross-fitting: persons in seeded folds, every predictor fitted on the other folds and
//! asked about the fold's persons, so nobody is predicted by a model that saw them.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;

use super::data::Dataset;
use super::predictor::{predict_checked, Prediction, Predictor};

/// Held-out predictions: `[predictor][item][person]`, `None` where the answer is missing.
pub type Predictions = Vec<Vec<Vec<Option<Prediction>>>>;

/// Assigns persons to `folds` folds by a seeded shuffle (ChaCha8): fold sizes differ by at
/// most one.
pub fn assign_folds(persons: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..persons).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; persons];
    for (i, &p) in order.iter().enumerate() {
        fold[p] = i % folds;
    }
    fold
}

/// Cross-fits `predictors` on `data`: for every fold and item, fits on the other folds and
/// predicts the fold's persons who answered the item.
pub fn cross_fit(
    data: &Dataset,
    predictors: &mut [Box<dyn Predictor>],
    folds: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Predictions> {
    let n = data.persons();
    let fold = assign_folds(n, folds, seed);
    let mut out: Predictions = vec![vec![vec![None; n]; data.items().len()]; predictors.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&p| fold[p] != f).collect();
        let test: Vec<usize> = (0..n).filter(|&p| fold[p] == f).collect();
        for (i, item) in data.items().enumerate() {
            for (m, predictor) in predictors.iter_mut().enumerate() {
                progress(&format!("fold {}/{folds}, item {}, {}", f + 1, item.name(), predictor.name()));
                predictor.fit(data, &train, i)?;
                let answered: Vec<usize> = test.iter().copied().filter(|&p| item.answer(p).is_some()).collect();
                for (p, prediction) in answered.iter().zip(predict_checked(predictor.as_mut(), data, &answered, i)?) {
                    out[m][i][*p] = Some(prediction);
                }
            }
        }
    }
    Ok(out)
}
