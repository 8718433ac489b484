//! Kinds: the distinct category-code vectors of a zone's persons, numbered from 0 in order of
//! first appearance, so that whatever depends on a person's categories alone (the card unless the
//! template reads `person_id`, a CSV line after the identifier) is made once per kind.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Kinds numbered before the numbering starts over, which bounds what is cached per kind.
pub(crate) const LIMIT: usize = 1 << 20;

/// The numbering of a zone's kinds.
pub(crate) struct Kinds {
    /// Codes per person.
    attributes: usize,
    /// The kind of every unit seen so far, `u32::MAX` for a unit not seen.
    of_unit: Vec<u32>,
    /// The kind of every code vector seen so far.
    by_codes: HashMap<Box<[u32]>, u32, BuildHasherDefault<Fx>>,
    /// The codes of every kind, one after the other.
    codes: Vec<u32>,
    /// Where in its batch each kind numbered since the last [`Kinds::take_new`] first appeared.
    new: Vec<usize>,
}

impl Kinds {
    /// An empty numbering for persons with `attributes` codes, drawn as one of `units` units
    /// (0 when drawn attribute by attribute).
    pub(crate) fn new(attributes: usize, units: usize) -> Self {
        Kinds {
            attributes,
            of_unit: vec![u32::MAX; units],
            by_codes: HashMap::default(),
            codes: Vec::new(),
            new: Vec::new(),
        }
    }

    /// Number of kinds.
    pub(crate) fn len(&self) -> usize {
        self.by_codes.len()
    }

    /// Starts the numbering over.
    pub(crate) fn clear(&mut self) {
        self.of_unit.fill(u32::MAX);
        self.by_codes.clear();
        self.codes.clear();
        self.new.clear();
    }

    /// The kind of a person (the `i`-th of its batch) drawn as unit `unit`; `decode` appends
    /// the unit's codes, and is called only for a unit not seen before.
    pub(crate) fn of_unit(&mut self, unit: usize, i: usize, decode: impl FnOnce(&mut Vec<u32>)) -> u32 {
        let known = self.of_unit[unit];
        if known != u32::MAX {
            return known;
        }
        let start = self.codes.len();
        decode(&mut self.codes);
        let kind = match self.by_codes.get(&self.codes[start..]) {
            Some(&kind) => {
                self.codes.truncate(start);
                kind
            }
            None => self.number(start, i),
        };
        self.of_unit[unit] = kind;
        kind
    }

    /// The kind of a person (the `i`-th of its batch) with codes `codes`.
    pub(crate) fn of_codes(&mut self, codes: &[u32], i: usize) -> u32 {
        if let Some(&kind) = self.by_codes.get(codes) {
            return kind;
        }
        let start = self.codes.len();
        self.codes.extend_from_slice(codes);
        self.number(start, i)
    }

    /// Numbers the codes at `start` of `self.codes` as a new kind.
    fn number(&mut self, start: usize, i: usize) -> u32 {
        let kind = self.by_codes.len() as u32;
        self.by_codes.insert(self.codes[start..].into(), kind);
        self.new.push(i);
        kind
    }

    /// Where in its batch each kind numbered since the last call first appeared.
    pub(crate) fn take_new(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.new)
    }

    /// The codes of kind `kind`.
    pub(crate) fn codes(&self, kind: u32) -> &[u32] {
        let k = self.attributes;
        &self.codes[kind as usize * k..(kind as usize + 1) * k]
    }

    /// The codes of kinds `from`, `from + 1` … (all of them, one after the other).
    pub(crate) fn codes_from(&self, from: usize) -> &[u32] {
        &self.codes[from * self.attributes..]
    }
}

/// FxHash (rustc's hasher): fast for short keys of small integers, and not exposed to input an
/// adversary chooses.
#[derive(Default)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_numbered_in_order_of_first_appearance() {
        let mut kinds = Kinds::new(2, 0);
        let numbered: Vec<u32> =
            [[1, 0], [0, 1], [1, 0], [2, 2]].iter().enumerate().map(|(i, c)| kinds.of_codes(c, i)).collect();
        assert_eq!(numbered, vec![0, 1, 0, 2]);
        assert_eq!(
            (kinds.take_new(), kinds.codes_from(1), kinds.codes(2)),
            (vec![0, 1, 3], &[0, 1, 2, 2][..], &[2, 2][..])
        );
        assert_eq!((kinds.of_codes(&[0, 1], 0), kinds.take_new()), (1, vec![]));
    }

    #[test]
    fn units_with_the_same_codes_share_a_kind() {
        let mut kinds = Kinds::new(1, 3);
        let codes = [5, 7, 5];
        let mut decoded = 0;
        let mut kind = |kinds: &mut Kinds, u: usize, i| {
            kinds.of_unit(u, i, |out| {
                decoded += 1;
                out.push(codes[u]);
            })
        };
        let numbered: Vec<u32> = [0, 1, 2, 0].iter().enumerate().map(|(i, &u)| kind(&mut kinds, u, i)).collect();
        assert_eq!((numbered, kinds.take_new(), kinds.len()), (vec![0, 1, 0, 0], vec![0, 1], 2));
        kinds.clear();
        assert_eq!((kind(&mut kinds, 1, 0), kinds.codes(0)), (0, &[7][..]));
        assert_eq!(decoded, 4);
    }
}
