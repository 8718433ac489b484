//! Households and persons written per top-level zone (a state, a region): the fit runs on the
//! problem restricted to each zone ([`HouseholdProblem::restrict`]), which gives the weights
//! the whole fit gives it, and the zone's households and persons go to
//! `DIR/households/zone=ID/part-0.EXT` and `DIR/persons/zone=ID/part-0.EXT` (the id escaped as
//! Hive does, [`zone_folder`]), so `DIR/households` and `DIR/persons` each read back as one
//! table partitioned by `zone`. Ids are `ZONE-K` within the zone. A zone's files therefore
//! depend on that zone alone: they are byte-identical however the zones are sharded, and at
//! any thread count. Each file is written atomically.
//!
//! [`zone_folder`]: crate::reports::zone_folder

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::cards::HouseholdCards;
use super::{Expansion, TableFormat};
use crate::error::Result;
use crate::generation::CardTemplate;
use crate::households::fit;
use crate::inputs::{HouseholdFit, HouseholdProblem};
use crate::reports::{check_zone_folders, file_checksum, zone_folder};

/// One line of a partitioned run's manifest, printed as JSON when a zone's files are complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdManifestLine {
    /// The top-level zone's id.
    pub zone: String,
    /// Households in its files.
    pub households: u64,
    /// Persons in its files.
    pub persons: u64,
    /// Whether every balancing of the zone's fit converged.
    pub converged: bool,
    /// The households file, under the output folder as given.
    pub households_path: String,
    /// Its size in bytes.
    pub households_bytes: u64,
    /// `sha256:` and the SHA-256 of its bytes in lowercase hex.
    pub households_checksum: String,
    /// The persons file.
    pub persons_path: String,
    /// Its size in bytes.
    pub persons_bytes: u64,
    /// Its checksum.
    pub persons_checksum: String,
}

/// What a partitioned run did.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct HouseholdPartitionSummary {
    /// Zones written.
    pub zones: usize,
    /// Households written, over all zones.
    pub households: u64,
    /// Persons written, over all zones.
    pub persons: u64,
    /// Bytes written, over all files.
    pub bytes: u64,
    /// Whether every zone's fit converged.
    pub converged: bool,
    /// Wall time, in seconds.
    pub seconds: f64,
}

/// Where a partitioned run puts what.
#[derive(Debug, Clone)]
pub struct PartitionOutput<'a> {
    /// The output folder.
    pub dir: &'a Path,
    /// The files' format.
    pub format: TableFormat,
    /// The persons' card template; `None`: no cards.
    pub card: Option<&'a CardTemplate>,
}

/// Fits (with `options`) and writes the top-level zones at positions `zones` of `problem`
/// (see [the module docs](self)), as many zones at a time as there are threads; `manifest`
/// gets each zone's line, in the order of `zones`, once its files are complete.
///
/// # Errors
/// [`crate::Error::Input`], before anything is fitted, for a zone id too long for a folder name
/// and for a template that does not compile; those of [`HouseholdProblem::restrict`],
/// [`fit`], [`Expansion::new`] and [`Expansion::write`].
///
/// ```
/// use populace::generation::households::partition::{write_partitioned, PartitionOutput};
/// use populace::generation::households::TableFormat;
/// use populace::inputs::{HouseholdProblem, HouseholdSpec};
///
/// let dir = tempfile::tempdir().unwrap();
/// for (name, text) in [
///     ("households.csv", "hh,REGION,w,size\n1,north,5,1\n2,north,5,2\n3,south,5,2\n"),
///     ("persons.csv", "hh,age,sex\n1,70,female\n2,34,female\n2,36,male\n3,20,male\n3,22,female\n"),
///     ("regions.csv", "REGION,households\nnorth,3\nsouth,2\n"),
/// ] {
///     std::fs::write(dir.path().join(name), text).unwrap();
/// }
/// let mut spec = HouseholdSpec::from_toml_str(r#"
///     [geography]
///     levels = ["REGION"]
///     seed = "REGION"
///     [households]
///     file = "households.csv"
///     id = "hh"
///     weight = "w"
///     total_control = "households"
///     [persons]
///     file = "persons.csv"
///     household_id = "hh"
///     [[controls]]
///     geography = "REGION"
///     file = "regions.csv"
///     [[control]]
///     name = "households"
///     geography = "REGION"
///     expression = "w > 0"
/// "#, "spec.toml").unwrap();
/// spec.base = dir.path().to_path_buf();
/// let problem = HouseholdProblem::load(&spec).unwrap();
/// let out = dir.path().join("out");
/// let mut lines = Vec::new();
/// let output = PartitionOutput { dir: &out, format: TableFormat::Csv, card: None };
/// let summary = write_partitioned(&problem, &spec.fit, &output, &[1], &mut |l| lines.push(l.clone())).unwrap();
/// assert_eq!((summary.households, lines[0].zone.as_str()), (2, "south"));
/// let persons = std::fs::read_to_string(out.join("persons/zone=south/part-0.csv")).unwrap();
/// assert!(persons.starts_with("household_id,person_id,age,sex\nsouth-1,south-1,20,male\n"), "{persons}");
/// ```
pub fn write_partitioned(
    problem: &HouseholdProblem,
    options: &HouseholdFit,
    output: &PartitionOutput,
    zones: &[usize],
    manifest: &mut dyn FnMut(&HouseholdManifestLine),
) -> Result<HouseholdPartitionSummary> {
    let start = Instant::now();
    let top = &problem.geography.levels[0];
    if let Some(&z) = zones.iter().find(|&&z| z >= top.len()) {
        return Err(crate::Error::Inconsistent(format!("zone position {z} is past the last of {} zones", top.len())));
    }
    check_zone_folders(zones.iter().map(|&z| top.zones[z].as_str()))?;
    if let Some(template) = output.card {
        HouseholdCards::new(template, None, "")?;
    }
    let mut summary = HouseholdPartitionSummary { zones: zones.len(), converged: true, ..Default::default() };
    for chunk in zones.chunks(rayon::current_num_threads().max(1)) {
        let lines: Vec<Result<HouseholdManifestLine>> =
            chunk.par_iter().map(|&z| write_zone(problem, options, output, z)).collect();
        for line in lines {
            let line = line?;
            summary.households += line.households;
            summary.persons += line.persons;
            summary.bytes += line.households_bytes + line.persons_bytes;
            summary.converged &= line.converged;
            manifest(&line);
        }
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Fits and writes top-level zone `z`.
fn write_zone(
    problem: &HouseholdProblem,
    options: &HouseholdFit,
    output: &PartitionOutput,
    z: usize,
) -> Result<HouseholdManifestLine> {
    let zone = problem.geography.levels[0].zones[z].as_str();
    let sub = problem.restrict(&[z])?;
    let weights = fit(&sub, options)?;
    let mut expansion = Expansion::new(&sub, &weights)?.ids_within(zone);
    if let Some(template) = output.card {
        expansion = expansion.cards(template)?;
    }
    let file = format!("part-0.{}", output.format.extension());
    let path = |table: &str| -> Result<PathBuf> {
        let folder = zone_folder(&output.dir.join(table), zone);
        std::fs::create_dir_all(&folder).map_err(|e| crate::Error::write(&folder, e))?;
        Ok(folder.join(&file))
    };
    let (households, persons) = (path("households")?, path("persons")?);
    expansion.write(&households, &persons, output.format)?;
    let (households_checksum, households_bytes) = file_checksum(&households)?;
    let (persons_checksum, persons_bytes) = file_checksum(&persons)?;
    Ok(HouseholdManifestLine {
        zone: zone.to_string(),
        households: expansion.households(),
        persons: expansion.persons(),
        converged: weights.converged(),
        households_path: households.display().to_string(),
        households_bytes,
        households_checksum,
        persons_path: persons.display().to_string(),
        persons_bytes,
        persons_checksum,
    })
}
