//! Drawing units: without replacement from integer counts (an urn over a Fenwick tree, so a
//! draw costs O(log units)), or with replacement proportionally to weights.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;

/// Integer counts to draw from without replacement: every draw picks a unit with probability
/// proportional to its remaining count and removes one from it, so draining the urn yields a
/// uniformly random ordering of the multiset.
#[derive(Debug, Clone)]
pub(crate) struct Urn {
    /// 1-based Fenwick tree of the remaining counts, padded with `u64::MAX` up to twice `top`
    /// so that the descent needs no bounds check (a padded node is never stepped into).
    tree: Vec<u64>,
    /// Number of units.
    units: usize,
    remaining: u64,
    /// The largest power of two not above the number of units.
    top: usize,
}

impl Urn {
    /// An urn holding `counts[u]` copies of unit `u`.
    pub(crate) fn new(counts: &[u64]) -> Self {
        let n = counts.len();
        let top = if n == 0 { 0 } else { 1 << (usize::BITS - 1 - n.leading_zeros()) };
        let mut tree = vec![u64::MAX; (2 * top).max(n + 1)];
        tree[..=n].fill(0);
        for (i, &c) in counts.iter().enumerate() {
            let i = i + 1;
            tree[i] += c;
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i];
            }
        }
        Urn { tree, units: n, remaining: counts.iter().sum(), top }
    }

    /// Draws one unit and removes it. The caller draws at most as many times as the urn holds.
    pub(crate) fn draw(&mut self, rng: &mut impl Rng) -> usize {
        debug_assert!(self.remaining > 0, "drew from an empty urn");
        let mut r = rng.random_range(0..self.remaining);
        let mut pos = 0;
        let mut step = self.top;
        while step > 0 {
            // without a branch: which way the descent goes is as random as the draw
            let count = self.tree[pos + step];
            let down = count <= r;
            r -= if down { count } else { 0 };
            pos += if down { step } else { 0 };
            step >>= 1;
        }
        let unit = pos;
        let mut i = unit + 1;
        while i <= self.units {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
        self.remaining -= 1;
        unit
    }
}

/// How one categorical variable (a unit, or an attribute of a naive pool) is drawn.
#[derive(Debug, Clone)]
pub(crate) enum Choice {
    /// Without replacement from integer counts (exact mode).
    Counts(Vec<u64>),
    /// With replacement, proportionally to weights (random mode).
    Weights(WeightedIndex<f64>),
}

impl Choice {
    /// A fresh picker: a full urn, or the weighted distribution.
    pub(crate) fn picker(&self) -> Picker<'_> {
        match self {
            Choice::Counts(counts) => Picker::Urn(Urn::new(counts)),
            Choice::Weights(w) => Picker::Weights(w),
        }
    }
}

/// A [`Choice`] being drawn from.
pub(crate) enum Picker<'a> {
    /// Remaining counts.
    Urn(Urn),
    /// Weights.
    Weights(&'a WeightedIndex<f64>),
}

impl Picker<'_> {
    /// Draws one.
    pub(crate) fn pick(&mut self, rng: &mut impl Rng) -> usize {
        match self {
            Picker::Urn(urn) => urn.draw(rng),
            Picker::Weights(w) => w.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn draining_an_urn_returns_every_copy() {
        for counts in [vec![3u64, 0, 5, 1, 0, 2, 7], vec![1], vec![0, 0, 4], vec![2; 16], vec![1; 17]] {
            let mut urn = Urn::new(&counts);
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let total: u64 = counts.iter().sum();
            let mut seen = vec![0u64; counts.len()];
            for _ in 0..total {
                seen[urn.draw(&mut rng)] += 1;
            }
            assert_eq!(seen, counts);
        }
    }

    #[test]
    fn urn_draws_are_proportional_to_counts() {
        // first draw of an urn with counts 1 and 3: unit 1 three times as often
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 40_000;
        let ones = (0..n).filter(|_| Urn::new(&[1, 3]).draw(&mut rng) == 1).count() as f64;
        assert!((ones / n as f64 - 0.75).abs() < 0.01, "{}", ones / n as f64);
    }

    #[test]
    fn the_same_stream_gives_the_same_order() {
        let order = |seed| {
            let mut urn = Urn::new(&[4, 4, 4]);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..12).map(|_| urn.draw(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(order(5), order(5));
        assert_ne!(order(5), order(6));
    }
}
