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
}

impl Kinds {
    /// An empty numbering for persons with `attributes` codes, drawn as one of `units` units
    /// (`None`: attribute by attribute).
    pub(crate) fn new(attributes: usize, units: Option<usize>) -> Self {
        Kinds {
            attributes,
            of_unit: vec![u32::MAX; units.unwrap_or(0)],
            by_codes: HashMap::default(),
            codes: Vec::new(),
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
    }

    /// Appends the kind of each of `persons` persons to `kinds`: their codes are `codes`, their
    /// units `units` (empty when drawn attribute by attribute). Returns the person at which each
    /// new kind first appears.
    pub(crate) fn assign(&mut self, persons: usize, codes: &[u32], units: &[u32], kinds: &mut Vec<u32>) -> Vec<usize> {
        let k = self.attributes;
        let mut first = Vec::new();
        kinds.reserve(persons);
        for i in 0..persons {
            let person = &codes[i * k..(i + 1) * k];
            let kind = match units.get(i).and_then(|&u| self.of_unit.get_mut(u as usize)) {
                Some(known) if *known != u32::MAX => *known,
                Some(unit) => {
                    *unit = Self::number(&mut self.by_codes, &mut self.codes, person, i, &mut first);
                    *unit
                }
                None => Self::number(&mut self.by_codes, &mut self.codes, person, i, &mut first),
            };
            kinds.push(kind);
        }
        first
    }

    /// The kind of `person` (the `i`-th of its batch), numbered anew if not seen yet.
    fn number(
        by_codes: &mut HashMap<Box<[u32]>, u32, BuildHasherDefault<Fx>>,
        codes: &mut Vec<u32>,
        person: &[u32],
        i: usize,
        first: &mut Vec<usize>,
    ) -> u32 {
        if let Some(&kind) = by_codes.get(person) {
            return kind;
        }
        let kind = by_codes.len() as u32;
        by_codes.insert(person.into(), kind);
        codes.extend_from_slice(person);
        first.push(i);
        kind
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
        let codes = [1, 0, 0, 1, 1, 0, 2, 2];
        let mut kinds = Kinds::new(2, None);
        let mut numbered = Vec::new();
        assert_eq!(kinds.assign(4, &codes, &[], &mut numbered), vec![0, 1, 3]);
        assert_eq!(numbered, vec![0, 1, 0, 2]);
        assert_eq!(kinds.codes_from(1), &[0, 1, 2, 2]);
        numbered.clear();
        assert_eq!(kinds.assign(1, &[0, 1], &[], &mut numbered), Vec::<usize>::new());
        assert_eq!(numbered, vec![1]);
    }

    #[test]
    fn units_with_the_same_codes_share_a_kind() {
        let mut kinds = Kinds::new(1, Some(3));
        let mut numbered = Vec::new();
        assert_eq!(kinds.assign(4, &[5, 7, 5, 5], &[0, 1, 2, 0], &mut numbered), vec![0, 1]);
        assert_eq!(numbered, vec![0, 1, 0, 0]);
        kinds.clear();
        numbered.clear();
        kinds.assign(1, &[7], &[1], &mut numbered);
        assert_eq!((numbered, kinds.len()), (vec![0], 1));
    }
}
