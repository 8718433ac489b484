//! Dense tables over attributes of a domain: the fitted joint and its marginals.

use crate::error::{Error, Location, Result};

/// A dense table over some attributes of a domain, row-major (last attribute fastest), every
/// attribute's categories in domain order.
///
/// ```
/// use populace::fitting::Table;
/// // attributes 0 (2 categories) × 2 (3 categories) of some domain
/// let table = Table { attributes: vec![0, 2], sizes: vec![2, 3], values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] };
/// assert_eq!(table.marginal(&[2]).unwrap().values, vec![5.0, 7.0, 9.0]);
/// let swapped = table.marginal(&[2, 0]).unwrap(); // transposed: attribute 0 now fastest
/// assert_eq!(swapped.values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// let (codes, value) = table.cells().nth(4).unwrap();
/// assert_eq!((codes, value), (vec![1, 1], 5.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Domain positions of the attributes, in order.
    pub attributes: Vec<usize>,
    /// Categories per attribute.
    pub sizes: Vec<usize>,
    /// Cell values.
    pub values: Vec<f64>,
}

impl Table {
    /// The table summed onto `attributes` (domain positions, each among the table's, in the
    /// order wanted): the marginal table, row-major in that order. Every cell is added in
    /// turn, in the table's order, so a marginal is the same to the last bit however often it
    /// is taken; an empty list gives the total.
    ///
    /// # Errors
    /// [`Error::Input`] for an attribute the table does not have or one named twice;
    /// [`Error::Inconsistent`] when the table's values do not fill its sizes.
    pub fn marginal(&self, attributes: &[usize]) -> Result<Table> {
        self.check_shape()?;
        let mut positions = Vec::with_capacity(attributes.len());
        for (i, &a) in attributes.iter().enumerate() {
            let Some(p) = self.attributes.iter().position(|&x| x == a) else {
                return Err(marginal_error(format!("attribute {a} is not one of the table's {:?}", self.attributes)));
            };
            if attributes[..i].contains(&a) {
                return Err(marginal_error(format!("attribute {a} is asked for twice")));
            }
            positions.push(p);
        }
        let sizes: Vec<usize> = positions.iter().map(|&p| self.sizes[p]).collect();
        // the stride of each of the table's attributes in the marginal (0: summed over)
        let mut strides = vec![0; self.sizes.len()];
        let mut stride = 1;
        for (&p, &size) in positions.iter().zip(&sizes).rev() {
            strides[p] = stride;
            stride *= size;
        }
        let mut values = vec![0.0; stride];
        let mut odometer = Odometer::new(&self.sizes);
        let mut at = 0;
        for &v in &self.values {
            values[at] += v;
            odometer.advance(|d, wrapped| {
                if wrapped {
                    at -= (self.sizes[d] - 1) * strides[d];
                } else {
                    at += strides[d];
                }
            });
        }
        Ok(Table { attributes: attributes.to_vec(), sizes, values })
    }

    /// Every cell with its codes (one per attribute, in the table's order), in row-major order.
    ///
    /// # Panics
    /// When the values do not fill the table's sizes (a table built by hand wrongly).
    pub fn cells(&self) -> impl Iterator<Item = (Vec<u32>, f64)> + '_ {
        if let Err(e) = self.check_shape() {
            panic!("{e}");
        }
        let mut odometer = Odometer::new(&self.sizes);
        self.values.iter().map(move |&v| {
            let cell = odometer.codes.clone();
            odometer.advance(|_, _| {});
            (cell, v)
        })
    }

    /// Refuses values that do not fill the sizes, and attributes and sizes of different lengths.
    fn check_shape(&self) -> Result<()> {
        let cells = self.sizes.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s));
        if self.attributes.len() != self.sizes.len() || cells != Some(self.values.len()) {
            return Err(Error::Inconsistent(format!(
                "a table of {} attributes with sizes {:?} has {} values",
                self.attributes.len(),
                self.sizes,
                self.values.len()
            )));
        }
        Ok(())
    }
}

fn marginal_error(message: String) -> Error {
    Error::input(Location::file("marginal"), message)
}

/// The codes of a row-major table's cells, one cell after the other.
struct Odometer<'s> {
    sizes: &'s [usize],
    codes: Vec<u32>,
}

impl<'s> Odometer<'s> {
    fn new(sizes: &'s [usize]) -> Self {
        Odometer { sizes, codes: vec![0; sizes.len()] }
    }

    /// Moves to the next cell, telling `step` of every attribute that moved, last first: its
    /// position, and whether it wrapped around to 0 (the next one then moves too).
    fn advance(&mut self, mut step: impl FnMut(usize, bool)) {
        for d in (0..self.codes.len()).rev() {
            self.codes[d] += 1;
            if (self.codes[d] as usize) < self.sizes[d] {
                step(d, false);
                return;
            }
            self.codes[d] = 0;
            step(d, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(sizes: Vec<usize>, values: Vec<f64>) -> Table {
        Table { attributes: (0..sizes.len()).map(|a| 10 + a).collect(), sizes, values }
    }

    /// Brute force: every cell's codes by division, added onto `onto` (table positions).
    fn brute(t: &Table, onto: &[usize]) -> Vec<f64> {
        let mut out = vec![0.0; onto.iter().map(|&p| t.sizes[p]).product()];
        for (i, &v) in t.values.iter().enumerate() {
            let mut codes = vec![0; t.sizes.len()];
            let mut rest = i;
            for d in (0..t.sizes.len()).rev() {
                codes[d] = rest % t.sizes[d];
                rest /= t.sizes[d];
            }
            out[onto.iter().fold(0, |acc, &p| acc * t.sizes[p] + codes[p])] += v;
        }
        out
    }

    #[test]
    fn marginals_keep_the_order_asked_for_and_an_empty_list_gives_the_total() {
        let t = table(vec![2, 3, 2], (1..=12).map(f64::from).collect());
        let all = t.marginal(&[10, 11, 12]).unwrap();
        assert_eq!(all, t);
        let ca = t.marginal(&[12, 10]).unwrap();
        assert_eq!((ca.attributes.clone(), ca.sizes.clone()), (vec![12, 10], vec![2, 2]));
        assert_eq!(ca.values, brute(&t, &[2, 0]));
        assert_eq!(ca.values, vec![1.0 + 3.0 + 5.0, 7.0 + 9.0 + 11.0, 2.0 + 4.0 + 6.0, 8.0 + 10.0 + 12.0]);
        let total = t.marginal(&[]).unwrap();
        assert_eq!((total.sizes.len(), total.values), (0, vec![78.0]));
    }

    #[test]
    fn unknown_repeated_and_misshapen_are_refused() {
        let t = table(vec![2, 2], vec![1.0; 4]);
        assert!(matches!(t.marginal(&[3]), Err(Error::Input { .. })));
        assert!(matches!(t.marginal(&[10, 10]), Err(Error::Input { .. })));
        let short = table(vec![2, 2], vec![1.0; 3]);
        assert!(matches!(short.marginal(&[10]), Err(Error::Inconsistent(_))));
    }

    #[test]
    fn cells_come_row_major_with_their_codes() {
        let t = table(vec![2, 3], (0..6).map(f64::from).collect());
        let cells: Vec<(Vec<u32>, f64)> = t.cells().collect();
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], (vec![0, 0], 0.0));
        assert_eq!(cells[2], (vec![0, 2], 2.0));
        assert_eq!(cells[3], (vec![1, 0], 3.0));
        assert_eq!(cells[5], (vec![1, 2], 5.0));
    }

    /// A table of 1 to 4 attributes (2 to 4 categories) with whole-number values, so sums in any
    /// order are exact; and two nested subsets of its positions, each in some order.
    fn nested() -> impl Strategy<Value = (Table, Vec<usize>, Vec<usize>)> {
        prop::collection::vec(2usize..5, 1..5)
            .prop_flat_map(|sizes| {
                let cells: usize = sizes.iter().product();
                let n = sizes.len();
                (
                    Just(sizes),
                    prop::collection::vec(0u32..1000, cells),
                    Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
                    0..=n,
                )
            })
            .prop_flat_map(|(sizes, values, order, keep)| {
                let outer: Vec<usize> = order[..keep].to_vec();
                (Just(sizes), Just(values), Just(outer.clone()), Just(outer).prop_shuffle(), 0..=keep)
            })
            .prop_map(|(sizes, values, outer, shuffled, inner)| {
                let t = table(sizes, values.into_iter().map(f64::from).collect());
                (t, outer, shuffled[..inner].to_vec())
            })
    }

    proptest! {
        #[test]
        fn a_marginal_of_a_marginal_is_the_direct_marginal((t, outer, inner) in nested()) {
            let names = |p: &[usize]| p.iter().map(|&p| t.attributes[p]).collect::<Vec<_>>();
            let direct = t.marginal(&names(&inner)).unwrap();
            prop_assert_eq!(&direct.values, &brute(&t, &inner));
            let twice = t.marginal(&names(&outer)).unwrap().marginal(&names(&inner)).unwrap();
            prop_assert_eq!(twice, direct);
            let total: f64 = t.values.iter().sum();
            prop_assert_eq!(t.marginal(&names(&outer)).unwrap().values.iter().sum::<f64>(), total);
        }
    }
}
