//! Zones: the zone-to-region map that tells which seed records each zone may draw on (PUMA →
//! tract, as PopulationSim does), the zones a sharded run covers ([`Selection`]) and how it goes
//! through them ([`for_each_chunk`]), and each zone's own random stream ([`stream_seed`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::margin::ZoneNames;
use super::rows::Rows;
use super::seed::Seed;
use super::Problem;
use crate::error::{Error, Location, Result};

/// For every zone, the seed records whose region is the zone's region in the zone-to-region
/// map `map` (columns `zone_column` and `region_column`).
pub(crate) fn records_by_region(
    map: &mut dyn Rows,
    zone_column: &str,
    region_column: &str,
    names: &ZoneNames,
    seed: &Seed,
) -> Result<Vec<Vec<usize>>> {
    let zone_col = map.column(zone_column, "zone")?;
    let region_col = map.column(region_column, "region")?;
    let mut region_of: Vec<Option<(String, u64)>> = vec![None; names.names.len()];
    while let Some(at) = map.next()? {
        let zone = map.field(at, zone_col)?.unwrap_or_default();
        let region = map.field(at, region_col)?.unwrap_or_default();
        let Some(code) = names.get(zone) else { continue }; // zones without margins are not fitted
        if let Some((_, first)) = &region_of[code as usize] {
            return Err(Error::input(
                map.at(at).at_column(zone_column),
                format!("zone \"{}\" is mapped twice (first on {} {first})", zone.escape_debug(), map.unit()),
            ));
        }
        region_of[code as usize] = Some((region.to_string(), at));
    }
    let mut by_region: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in seed.regions.iter().enumerate() {
        by_region.entry(r.as_str()).or_default().push(i);
    }
    names
        .names
        .iter()
        .zip(region_of)
        .map(|(zone, region)| {
            let Some((region, at)) = region else {
                return Err(Error::input(
                    map.location().clone(),
                    format!("zone \"{zone}\" has margins but no row here"),
                ));
            };
            by_region.get(region.as_str()).cloned().ok_or_else(|| {
                Error::input(
                    map.at(at).at_column(region_column),
                    format!("zone \"{zone}\" maps to region \"{region}\", which has no seed records in {}", seed.file),
                )
            })
        })
        .collect()
}

/// Zones per sub-problem: fitted together (in parallel), then drawn one after the other.
const CHUNK: usize = 256;

/// Shard `index` of `count` (1-based): the zones at positions `index − 1`, `index − 1 + count` …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number, at most `count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `1 ≤ I ≤ N`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let usage = || format!("expected I/N, shard I of N with 1 <= I <= N (e.g. 2/8), got \"{s}\"");
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let (index, count) = (i.trim().parse::<usize>().map_err(|_| usage())?, n.trim().parse().map_err(|_| usage())?);
        if index == 0 || index > count {
            return Err(format!(
                "shard {index} of {count} does not exist: I/N needs 1 <= I <= N (shards are numbered from 1)"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Which zones a run covers.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every N-th zone, round-robin in the spec's zone order.
    Shard(Shard),
    /// Zone ids, one per line (surrounding spaces trimmed, blank lines skipped).
    Listed {
        /// Where the list came from, for messages (`stdin` or a file).
        source: String,
        /// The list.
        text: String,
    },
}

impl Selection {
    /// Positions in `problem.zones` of the selected zones: in zone order for a shard, in list
    /// order for a list. `spec` names the spec in messages.
    ///
    /// # Errors
    /// [`Error::Input`] when the spec has no `[zones]`, and, naming the list's source and line,
    /// for an unknown or repeated zone id.
    pub fn zones(&self, problem: &Problem, spec: &str) -> Result<Vec<usize>> {
        if problem.zones[0].name.is_none() {
            let what = match self {
                Selection::Shard(s) => format!("--shard {s}"),
                Selection::Listed { .. } => "--zones".into(),
            };
            return Err(Error::input(
                Location::file(spec),
                format!("{what} selects zones, but the spec has no [zones] section: there is nothing to shard"),
            ));
        }
        let position: HashMap<&str, usize> =
            problem.zones.iter().enumerate().filter_map(|(z, zone)| Some((zone.name.as_deref()?, z))).collect();
        let unknown = format!("no margin of {spec} has this zone");
        self.pick(problem.zones.len(), |id| position.get(id).copied(), &unknown)
    }

    /// Positions of the selected zones among `count` zones: in zone order for a shard, in list
    /// order for a list, whose ids `find` places; `unknown` ends the message for an id it does
    /// not place.
    ///
    /// # Errors
    /// [`Error::Input`], naming the list's source and line, for an unknown or repeated zone id.
    pub(crate) fn pick(&self, count: usize, find: impl Fn(&str) -> Option<usize>, unknown: &str) -> Result<Vec<usize>> {
        match self {
            Selection::Shard(shard) => Ok((shard.index - 1..count).step_by(shard.count).collect()),
            Selection::Listed { source, text } => {
                let mut first_line: HashMap<usize, usize> = HashMap::new();
                let mut zones = Vec::new();
                for (n, line) in text.lines().enumerate() {
                    let id = line.trim();
                    if id.is_empty() {
                        continue;
                    }
                    let at = Location::file(source.as_str()).at_line(n as u64 + 1);
                    let Some(z) = find(id) else {
                        return Err(Error::input(at, format!("unknown zone \"{}\": {unknown}", id.escape_debug())));
                    };
                    if let Some(first) = first_line.insert(z, n + 1) {
                        return Err(Error::input(
                            at,
                            format!("zone \"{}\" is listed twice (first on line {first})", id.escape_debug()),
                        ));
                    }
                    zones.push(z);
                }
                Ok(zones)
            }
        }
    }
}

/// Runs `f` on sub-problems holding the zones at positions `zones` of `problem`, 256 at a time
/// and in order (`f` also gets the positions). The seed moves from one sub-problem to the next
/// instead of being copied.
///
/// # Errors
/// [`Error::Inconsistent`] for a position past the last zone; `f`'s errors.
pub fn for_each_chunk(
    problem: &Problem,
    zones: &[usize],
    mut f: impl FnMut(&Problem, &[usize]) -> Result<()>,
) -> Result<()> {
    if let Some(z) = zones.iter().find(|&&z| z >= problem.zones.len()) {
        return Err(Error::Inconsistent(format!(
            "zone position {z} is past the last of {} zones",
            problem.zones.len()
        )));
    }
    let mut seed = problem.seed.clone();
    for chunk in zones.chunks(CHUNK) {
        let sub = Problem {
            domain: problem.domain.clone(),
            zones: chunk.iter().map(|&z| problem.zones[z].clone()).collect(),
            seed: seed.take(),
            warnings: Vec::new(),
            missing: Vec::new(),
            structural_zeros: problem.structural_zeros.clone(),
            totals: problem.totals.clone(),
        };
        let done = f(&sub, chunk);
        seed = sub.seed;
        done?;
    }
    Ok(())
}

/// The seed of a zone's random stream: FNV-1a of the zone's name (`""` without zones), mixed with
/// the spec's seed.
///
/// Everything random about a zone (integerizing its calibrated weights, drawing its persons)
/// draws from a generator seeded with this, so a zone's result depends on the seed and its name
/// alone: not on which other zones are fitted with it, their order, or the thread count.
///
/// ```
/// use populace::inputs::stream_seed;
/// assert_eq!(stream_seed(7, "tract 12"), stream_seed(7, "tract 12"));
/// assert_ne!(stream_seed(7, "tract 12"), stream_seed(7, "tract 13"));
/// ```
pub fn stream_seed(seed: u64, zone: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in zone.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_one_based() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard { index: 2, count: 8 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn zone_streams_differ_by_zone_and_seed() {
        assert_ne!(stream_seed(1, "a"), stream_seed(1, "b"));
        assert_ne!(stream_seed(1, "a"), stream_seed(2, "a"));
        assert_eq!(stream_seed(7, "tract 12"), stream_seed(7, "tract 12"));
        // pinned: pools and integerized weights written so far depend on these values
        assert_eq!(stream_seed(1, "Fresno"), 0x92e0_5a70_a7d1_c633);
    }
}
