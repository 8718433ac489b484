//! Nested geographies: levels of zones, each zone inside one zone of the level above, read from
//! a crosswalk with one row per lowest zone and a column per level.

use std::collections::HashMap;

use super::table::Table;
use crate::error::{Error, Result};

/// The zones of one level.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Level {
    /// The level's name (`TAZ`).
    pub name: String,
    /// Its zones, in order of first appearance in the crosswalk.
    pub zones: Vec<String>,
    /// The zone of the level above that each zone lies in (empty for the top level).
    pub parent: Vec<u32>,
    index: HashMap<String, u32>,
}

impl Level {
    fn new(name: &str) -> Level {
        Level { name: name.to_string(), zones: Vec::new(), parent: Vec::new(), index: HashMap::new() }
    }

    /// The position of the zone named `zone` (`600` and `00600.0` are the same zone: numbers
    /// compare as numbers, as pandas reads them).
    pub fn zone(&self, zone: &str) -> Option<usize> {
        self.index.get(key(zone).as_ref()).map(|&z| z as usize)
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether the level has no zone.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    fn insert(&mut self, zone: &str) -> (usize, bool) {
        let k = key(zone).into_owned();
        if let Some(&z) = self.index.get(&k) {
            return (z as usize, false);
        }
        let z = self.zones.len();
        self.index.insert(k, z as u32);
        self.zones.push(zone.to_string());
        (z, true)
    }
}

/// The levels, largest first, and which is the seed's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Geography {
    /// The levels, largest first.
    pub levels: Vec<Level>,
    /// The position of the seed level.
    pub seed: usize,
}

impl Geography {
    /// The zone of level `up` (at or above `level`) that zone `zone` of `level` lies in.
    pub fn ancestor(&self, level: usize, zone: usize, up: usize) -> usize {
        let mut z = zone;
        for l in (up + 1..=level).rev() {
            z = self.levels[l].parent[z] as usize;
        }
        z
    }

    /// The zones of level `level` inside each zone of level `up`, in zone order.
    pub fn children(&self, up: usize, level: usize) -> Vec<Vec<usize>> {
        let mut inside = vec![Vec::new(); self.levels[up].len()];
        for z in 0..self.levels[level].len() {
            inside[self.ancestor(level, z, up)].push(z);
        }
        inside
    }

    /// The lowest level's position.
    pub fn lowest(&self) -> usize {
        self.levels.len() - 1
    }

    /// The zones lying in the top-level zones that `keep` marks, in their order, and for each
    /// level the new position of each old zone (`None`: left out).
    pub(crate) fn within(&self, keep: &[bool]) -> (Geography, Vec<Vec<Option<u32>>>) {
        let mut levels: Vec<Level> = Vec::with_capacity(self.levels.len());
        let mut maps: Vec<Vec<Option<u32>>> = Vec::with_capacity(self.levels.len());
        for (l, level) in self.levels.iter().enumerate() {
            let mut kept = Level::new(&level.name);
            let mut map = vec![None; level.len()];
            for (z, zone) in level.zones.iter().enumerate() {
                // Some(parent's new position, if any) when the zone is kept.
                let parent = match l {
                    0 => keep.get(z).copied().unwrap_or(false).then_some(None),
                    _ => maps[l - 1][level.parent[z] as usize].map(Some),
                };
                let Some(parent) = parent else { continue };
                let (n, _) = kept.insert(zone);
                kept.parent.extend(parent);
                map[z] = Some(n as u32);
            }
            levels.push(kept);
            maps.push(map);
        }
        (Geography { levels, seed: self.seed }, maps)
    }

    /// One level whose zones are `zones` (a geography without a crosswalk).
    pub(crate) fn single(name: &str, zones: impl IntoIterator<Item = String>) -> Geography {
        let mut level = Level::new(name);
        for zone in zones {
            level.insert(&zone);
        }
        Geography { levels: vec![level], seed: 0 }
    }

    /// Reads the crosswalk `table`, keeping the rows whose lowest zone `keep` accepts; the
    /// number of rows left out is returned beside the geography. A zone may appear on many
    /// rows (a crosswalk of finer zones than the levels fitted), always in the same parents.
    ///
    /// # Errors
    /// [`Error::Input`] for a missing level column or zone, or a zone placed in two parents
    /// (naming both rows).
    pub(crate) fn read(
        table: &Table,
        names: &[String],
        seed: usize,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<(Geography, usize)> {
        let columns: Vec<usize> = names.iter().map(|n| table.column(n, "geography level")).collect::<Result<_>>()?;
        let mut levels: Vec<Level> = names.iter().map(|n| Level::new(n)).collect();
        // The row each zone was first seen on, for messages.
        let mut first: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        let lowest = names.len() - 1;
        let mut left_out = 0;
        for row in 0..table.rows() {
            let zones: Vec<&str> = columns.iter().map(|&c| table.required(row, c, "zone")).collect::<Result<_>>()?;
            if !keep(zones[lowest]) {
                left_out += 1;
                continue;
            }
            let mut parent = None;
            for (l, &zone) in zones.iter().enumerate() {
                let (z, new) = levels[l].insert(zone);
                if new {
                    first[l].push(row);
                    if let Some(p) = parent {
                        levels[l].parent.push(p as u32);
                    }
                } else if let Some(p) = parent {
                    let had = levels[l].parent[z] as usize;
                    if had != p {
                        let before = table.at_row(first[l][z]);
                        return Err(Error::input(
                            table.at(row, columns[l]),
                            format!(
                                "{} zone \"{zone}\" lies in {} \"{}\" here but in {} \"{}\" at {before}: the \
                                 levels do not nest",
                                names[l],
                                names[l - 1],
                                levels[l - 1].zones[p],
                                names[l - 1],
                                levels[l - 1].zones[had]
                            ),
                        ));
                    }
                }
                parent = Some(z);
            }
        }
        if levels[lowest].is_empty() {
            return Err(Error::input(
                crate::error::Location::file(&table.name),
                "the crosswalk has no zone to fit (no row, or none with controls)",
            ));
        }
        Ok((Geography { levels, seed }, left_out))
    }
}

/// How zone and household ids compare: an integer written as a number (`600`, `00600`,
/// `600.0`) by its value, anything else as written.
pub(crate) fn key(id: &str) -> std::borrow::Cow<'_, str> {
    let plain = id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty();
    if plain && !id.starts_with('0') {
        return id.into();
    }
    match id.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", v as i64).into()
        }
        _ => id.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_as_numbers() {
        assert_eq!(key("600"), "600");
        assert_eq!(key("00600"), "600");
        assert_eq!(key("600.0"), "600");
        assert_eq!(key("0"), "0");
        assert_eq!(key("6a"), "6a");
        assert_eq!(key("1e400"), "1e400");
        assert_eq!(key("-0"), "0");
    }
}
