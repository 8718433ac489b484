//! Sharded runs: a subset of a spec's zones, each zone written to its own file in a Hive-style
//! folder, with one manifest line per zone.
//!
//! **Which zones.** A [`Selection`] is either a [`Shard`] `I/N` (1-based): the zone at position
//! k (0-based, in the spec's zone order: order of first appearance in the margin files) belongs
//! to shard `k mod N + 1`, round-robin, so shards get similar numbers of zones whatever the
//! order; or a list of zone ids, one per line.
//!
//! **Where.** Zone `Z` goes to `DIR/zone=Z/part-0.parquet` (`.csv`, `.jsonl`), the zone id
//! escaped as Spark and Hive escape partition values (`%2F` for `/` …, [`zone_folder`]), so
//! Spark SQL, DuckDB or Arrow read `DIR` back as one table partitioned by `zone`. Every file is written to a hidden
//! temporary file in its folder and renamed when complete: a retried task overwrites cleanly and
//! readers (which skip names starting with `.`) never see half a file.
//!
//! **Invariance.** A zone's persons come from its own random stream ([`stream_seed`] of the seed
//! and the zone id), its fit involves no other zone, and its number of persons is decided over
//! the whole spec ([`GenerateOptions::persons`] is split over *all* zones, not the shard's), so a
//! zone's file is byte-identical however the zones are sharded.
//!
//! [`Selection`]: crate::inputs::Selection
//! [`Shard`]: crate::inputs::Shard
//! [`zone_folder`]: crate::reports::zone_folder
//! [`stream_seed`]: crate::inputs::stream_seed
//!
//! ```
//! use populace::generation::partition::write_partitioned;
//! use populace::generation::{Format, GenerateOptions};
//! use populace::inputs::{Calibration, Csv, FitOptions, MarginInput, Method, Problem, SeedInput, Selection, Shard, ZonesInput};
//!
//! let margin = "tract,sex,count\nt1,f,3\nt1,m,2\nt2,f,1\nt2,m,4\nt3,f,2\nt3,m,2\n";
//! let problem = Problem::builder()
//!     .margin(MarginInput::csv(Csv::text("sex.csv", margin)))
//!     .seed(SeedInput::csv(Csv::text("seed.csv", "sex\nf\nm\n")))
//!     .zones(ZonesInput::new("tract"))
//!     .build()
//!     .unwrap();
//! let rake = FitOptions::params().method(Method::Calibrate(Calibration::Rake)).check().unwrap();
//!
//! let zones = Selection::Shard("2/2".parse::<Shard>().unwrap()).zones(&problem, "problem").unwrap();
//! assert_eq!(zones, vec![1]); // t2
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("pool");
//! let mut lines = Vec::new();
//! let options = GenerateOptions::default().card(None);
//! let summary =
//!     write_partitioned(&problem, &rake, &options, &zones, &out, Format::Csv, &mut |l| lines.push(l.clone()), &mut |_| {})
//!         .unwrap();
//! assert_eq!((summary.persons, lines[0].persons), (5, 5));
//! assert!(lines[0].checksum.starts_with("sha256:"));
//! assert!(out.join("zone=t2/part-0.csv").is_file());
//! ```

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::sinks::FileSink;
use super::{plan, Batch, Format, GenerateOptions, Pool, Sink};
use crate::error::{Error, Result};
use crate::inputs::{for_each_chunk, FitOptions, Problem};
use crate::reports::{check_zone_folders, zone_folder, Hashing, TempFile};

/// One line of a sharded run's manifest, printed as JSON when a zone's file is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestLine {
    /// The zone id.
    pub zone: String,
    /// Persons in the file.
    pub persons: u64,
    /// The file, under the output folder as given.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// `sha256:` and the SHA-256 of its bytes in lowercase hex.
    pub checksum: String,
}

/// What a sharded generation did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PartitionSummary {
    /// What the persons were drawn from, as in [`GenerateSummary::method`](super::GenerateSummary::method).
    pub method: String,
    /// Zones written.
    pub zones: usize,
    /// Persons written, over all zones.
    pub persons: u64,
    /// Bytes written, over all files.
    pub bytes: u64,
    /// Whether every zone's fit converged.
    pub converged: bool,
    /// Exact mode: whether every zone met every hard margin; `null` in random mode.
    pub exact_margins: Option<bool>,
    /// Exact mode: the largest absolute error, in persons, of a margin cell of any zone.
    pub max_abs_margin_error: Option<u64>,
    /// Things to know that did not stop the generation.
    pub warnings: Vec<String>,
    /// What the inputs' missing values came to: the seed's, then each margin's that keeps them
    /// as the category `missing` (see [`crate::missing`]).
    pub missing: Vec<crate::missing::MissingCounts>,
    /// Wall time, in seconds.
    pub seconds: f64,
}

/// Persons of every zone of `problem` (in zone order) when `persons` are asked for in all, as
/// [`GenerateOptions::persons`] says.
pub fn zone_persons(problem: &Problem, persons: Option<u64>) -> Vec<u64> {
    plan::zone_persons(problem, persons)
}

/// Fits (with `fit`) and draws the zones at positions `zones` of `problem`, a chunk of zones at
/// a time, and writes each to `dir/zone=ID/part-0.EXT` in `format`; `manifest` gets each zone's
/// line as its file is complete, `progress` the persons of every batch. Zones without persons
/// get a file without rows. Persons per zone are decided over all of `problem`'s zones.
///
/// # Errors
/// [`Error::Input`], before anything is written, for a zone id too long
/// for a folder name ([`check_zone_folders`]); those of [`for_each_chunk`], [`Pool::new`] and
/// [`Pool::write_file`].
// The fit options and the generation options stay apart, as everywhere else in the library.
#[allow(clippy::too_many_arguments)]
pub fn write_partitioned(
    problem: &Problem,
    fit: &FitOptions,
    options: &GenerateOptions,
    zones: &[usize],
    dir: &Path,
    format: Format,
    manifest: &mut dyn FnMut(&ManifestLine),
    progress: &mut dyn FnMut(u64),
) -> Result<PartitionSummary> {
    let start = Instant::now();
    check_zone_folders(zones.iter().map(|&z| problem.zones[z].name.as_deref().unwrap_or("")))?;
    let persons = zone_persons(problem, options.persons);
    let mut summary = PartitionSummary {
        method: String::new(),
        zones: zones.len(),
        persons: 0,
        bytes: 0,
        converged: true,
        exact_margins: None,
        max_abs_margin_error: None,
        warnings: Vec::new(),
        missing: problem.missing.clone(),
        seconds: 0.0,
    };
    for_each_chunk(problem, zones, |sub, chunk| {
        let pool = Pool::with_persons(sub, fit, options, chunk.iter().map(|&z| persons[z]).collect(), &mut [])?;
        let file = format!("part-0.{}", extension(format));
        let mut bytes = 0;
        let mut sink = Partitioner {
            pool: &pool,
            dir,
            file: &file,
            format,
            next: 0,
            open: None,
            manifest: &mut |line| {
                bytes += line.bytes;
                manifest(line);
            },
        };
        let written = pool.write(&mut sink, &mut *progress)?;
        sink.finish()?;
        summary.persons += written.persons;
        summary.bytes += bytes;
        summary.converged &= written.converged;
        if let (Some(exact), Some(error)) = (written.exact_margins, written.max_abs_margin_error) {
            summary.exact_margins = Some(summary.exact_margins.unwrap_or(true) && exact);
            summary.max_abs_margin_error = Some(summary.max_abs_margin_error.unwrap_or(0).max(error));
        }
        summary.warnings.extend(written.warnings);
        summary.method = written.method;
        Ok(())
    })?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// The extension of a format's files.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Jsonl => "jsonl",
        Format::Parquet => "parquet",
    }
}

/// A zone's file being written.
struct ZoneFile {
    /// Position of the zone in the pool.
    zone: usize,
    path: PathBuf,
    sink: FileSink<Hashing<BufWriter<TempFile>>>,
}

/// A sink that starts a new file whenever the zone changes.
struct Partitioner<'p, 'm> {
    pool: &'p Pool<'p>,
    dir: &'p Path,
    file: &'p str,
    format: Format,
    /// Position of the next zone to open.
    next: usize,
    open: Option<ZoneFile>,
    manifest: &'m mut dyn FnMut(&ManifestLine),
}

impl Partitioner<'_, '_> {
    /// Opens the next zone's file in a temporary file.
    fn open(&mut self) -> Result<()> {
        let zone = self.next;
        let Some(plan) = self.pool.zones.get(zone) else {
            return Err(Error::Inconsistent("a batch came from a zone that is not in the pool".into()));
        };
        let name = plan.name.as_deref().unwrap_or("");
        let folder = zone_folder(self.dir, name);
        let path = folder.join(self.file);
        std::fs::create_dir_all(&folder).map_err(|e| Error::write(&folder, e))?;
        let tmp = TempFile::beside(&path).map_err(|e| Error::write(&path, e))?;
        let writer = Hashing::new(BufWriter::with_capacity(1 << 18, tmp));
        let pool = self.pool;
        let sink = FileSink::new(self.format, writer, &path, pool.problem, true, pool.cards.is_some())?;
        self.open = Some(ZoneFile { zone, path, sink });
        self.next += 1;
        Ok(())
    }

    /// Completes the open file (if any): flushed, synced, renamed, and its manifest line sent.
    fn close(&mut self) -> Result<()> {
        let Some(ZoneFile { zone, path, sink }) = self.open.take() else {
            return Ok(());
        };
        let err = |e| Error::write(&path, e);
        let (writer, checksum, bytes) = sink.finish()?.finish();
        let tmp = writer.into_inner().map_err(|e| err(e.into_error()))?;
        tmp.persist(&path)?;
        let plan = &self.pool.zones[zone];
        (self.manifest)(&ManifestLine {
            zone: plan.name.clone().unwrap_or_default(),
            persons: plan.persons,
            path: path.display().to_string(),
            bytes,
            checksum,
        });
        Ok(())
    }

    /// Closes the last file and writes the files of any zones left (without persons).
    fn finish(mut self) -> Result<()> {
        self.close()?;
        while self.next < self.pool.zones.len() {
            self.open()?;
            self.close()?;
        }
        Ok(())
    }
}

impl Sink for Partitioner<'_, '_> {
    fn write(&mut self, batch: &Batch<'_>) -> Result<()> {
        let same = |p: &Self, z: usize| p.pool.zones[z].name.as_deref() == batch.zone();
        if !self.open.as_ref().is_some_and(|f| same(self, f.zone)) {
            self.close()?;
            // zones before this one drew no persons: their files have no rows
            while self.next < self.pool.zones.len() && !same(self, self.next) {
                self.open()?;
                self.close()?;
            }
            self.open()?;
        }
        match &mut self.open {
            Some(file) => file.sink.write(batch),
            None => Ok(()),
        }
    }
}
