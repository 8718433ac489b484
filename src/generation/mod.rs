//! Generation: persona pools drawn from a fitted population.
//!
//! A [`Pool`] draws from a [`Fitted`] value ([`Pool::from_fitted`]: fit once, draw many pools),
//! or fits a [`Problem`] itself ([`Pool::new`], also for the naive stand-ins of [`Source`]), and
//! then streams persons, batch by batch, to a [`Sink`]: a CSV, JSON Lines or Parquet file through
//! [`Pool::write_file`], or any closure taking a [`Batch`]. Memory does not grow with the number
//! of persons.
//!
//! **What is drawn from.** With `method = "ipf"` the fitted joint's cells; with a seed
//! re-weighting method (rake, linear, logit, entropy) the seed records of each zone with their
//! calibrated weights (negative weights count as zero), each person carrying the record's
//! categories. [`Source::Independent`] draws every attribute independently from its one-way
//! marginal (taken from the first margin, in spec order, that contains it; from the seed's design
//! weights for an attribute in no margin); [`Source::Seedless`] fits the margins by IPF from a
//! uniform start, ignoring the seed, and draws from that joint.
//!
//! **How many.** [`GenerateOptions::persons`] persons in all; without zones `None` means the
//! margins' total, rounded. With zones, `None` gives each zone its own target total, rounded
//! (so a zone's persons do not depend on which other zones the spec holds); a number is split
//! over the zones in proportion to their totals (largest remainders).
//!
//! **Modes.** [`Mode::Exact`] scales the fitted counts to the zone's persons and integerizes
//! them with [`margin_preserving`](crate::integerize::margin_preserving) against the
//! margins scaled the same way (and rounded so that overlapping margins agree,
//! [`round_margins`](crate::integerize::round_margins)), so that when the persons equal the targets' total every (hard)
//! margin of the pool equals its target, wherever integer counts of the fitted units can meet
//! them all ([`GenerateSummary::exact_margins`] says whether they did). The persons then come in
//! random order (drawn without replacement from the integer counts), so any prefix is a simple
//! random sample of the pool.
//! [`Mode::Random`] draws every person independently with probability proportional to the
//! fitted counts (a multinomial pool).
//!
//! **Identifiers.** `person_id` is 1, 2, … N without zones (an integer); with zones it is
//! `ZONE-K`, K = 1, 2, … within each zone (a string such as `north-17`), and a `zone` column
//! follows it. Then one column per attribute in domain order, then `card` (unless disabled).
//!
//! **Reproducibility.** Each zone draws from its own ChaCha8 stream, seeded from
//! ([`GenerateOptions::seed`], zone name) by [`stream_seed`], so the same inputs and seed give
//! byte-identical files at any thread count, and a zone's persons do not depend on the other
//! zones.
//!
//! **Cards.** Every person gets a `card` rendered by a [MiniJinja](https://docs.rs/minijinja)
//! template (see [`cards`] for what a template sees and the default).
//!
//! ```
//! use populace::fitting::{fit, FitOptions};
//! use populace::generation::{Batch, GenerateOptions, Mode, Pool};
//! use populace::inputs::{Csv, MarginInput, Problem};
//!
//! let age_sex = "age_group,sex,count\n18-29,female,3\n18-29,male,2\n65+,female,3\n65+,male,2\n";
//! let problem = Problem::builder().margin(MarginInput::csv(Csv::text("age_sex.csv", age_sex))).build().unwrap();
//!
//! let fitted = fit(&problem, &FitOptions::default(), &mut []).unwrap(); // fit once…
//! let options = GenerateOptions::default().mode(Mode::Exact).seed(7);
//! let pool = Pool::from_fitted(&problem, &fitted, &options).unwrap(); // …draw as often as wanted
//! let mut women = 0;
//! let summary = pool
//!     .write(
//!         &mut |batch: &Batch| {
//!             for i in 0..batch.len() {
//!                 women += usize::from(batch.value(i, 1) == "female");
//!                 assert!(batch.card(i).unwrap().starts_with("You are a"));
//!             }
//!             Ok(())
//!         },
//!         &mut |_| {},
//!     )
//!     .unwrap();
//! assert_eq!((summary.persons, women), (10, 6)); // exact: the margins' total, margins met
//! ```

pub mod cards;
mod draw;
pub mod households;
mod kinds;
pub mod partition;
mod plan;
mod sinks;

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

pub use cards::{CardTemplate, DEFAULT_TEMPLATE};
pub use sinks::Format;

use crate::error::{Error, Result};
use crate::fitting::{self, Fitted};
use crate::inputs::{stream_seed, Domain, FitOptions, Problem};
use crate::iteration::Observer;
use crate::missing::MissingCounts;
use cards::Cards;
use kinds::Kinds;
use plan::ZonePlan;

/// The last epoch given out: every numbering of kinds, in any pool, gets its own (from 1 on).
static EPOCHS: AtomicU64 = AtomicU64::new(1);

/// Persons per batch handed to a [`Sink`] (and per Parquet record batch).
pub const BATCH_SIZE: usize = 1 << 16;

/// The most persons a pool may have: 2^48, far beyond what a disk holds, and far enough
/// below 2^64 that sums of counts never overflow.
pub const MAX_PERSONS: u64 = 1 << 48;

/// How persons are drawn from the fitted counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Mode {
    /// Integer counts that meet the margins (scaled to the persons asked for), in random order.
    Exact,
    /// Independent draws proportional to the fitted counts (multinomial).
    Random,
}

impl Mode {
    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::Random => "random",
        }
    }
}

/// What the pool is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Source {
    /// The problem as specified: the fitted joint (ipf) or the calibrated seed.
    Calibrated,
    /// Naive: every attribute independent, from its one-way marginal.
    Independent,
    /// Naive: IPF on the margins from a uniform start, ignoring the seed.
    Seedless,
}

impl Source {
    /// `calibrated`, `naive independent` or `naive seedless`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Calibrated => "calibrated",
            Source::Independent => "naive independent",
            Source::Seedless => "naive seedless",
        }
    }
}

/// What to generate: [`Default`], then what differs, field by field or chained
/// (`GenerateOptions::default().persons(Some(100)).seed(7)`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Persons in all; `None`: each zone's target total, rounded (see the module docs).
    pub persons: Option<u64>,
    /// Exact (margin-preserving integer counts) or random (multinomial) draws.
    pub mode: Mode,
    /// Calibrated, or one of the naive pools.
    pub source: Source,
    /// Seed of every zone's random stream.
    pub seed: u64,
    /// The template of the `card` column; `None`: no card column.
    pub card: Option<CardTemplate>,
}

impl Default for GenerateOptions {
    /// Exact, calibrated, the margins' total, seed 1, the default card.
    fn default() -> Self {
        GenerateOptions {
            persons: None,
            mode: Mode::Exact,
            source: Source::Calibrated,
            seed: 1,
            card: Some(CardTemplate::default()),
        }
    }
}

impl GenerateOptions {
    /// Sets [`GenerateOptions::persons`].
    pub fn persons(mut self, persons: Option<u64>) -> Self {
        self.persons = persons;
        self
    }

    /// Sets [`GenerateOptions::mode`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`GenerateOptions::source`].
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Sets [`GenerateOptions::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`GenerateOptions::card`].
    pub fn card(mut self, card: Option<CardTemplate>) -> Self {
        self.card = card;
        self
    }
}

/// What a generation did; printed by `populace generate` (as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct GenerateSummary {
    /// Persons written.
    pub persons: u64,
    /// `exact` or `random`.
    pub mode: Mode,
    /// `calibrated`, `naive independent` or `naive seedless`.
    pub source: String,
    /// What the persons were drawn from: `ipf` (a fitted joint), a calibration method (seed
    /// records), or `one-way margins`.
    pub method: String,
    /// The random seed.
    pub seed: u64,
    /// Number of zones (0 without `[zones]`).
    pub zones: usize,
    /// The attributes, in column order.
    pub attributes: Vec<String>,
    /// Whether a `card` column was written.
    pub card: bool,
    /// Whether every fit converged (always true for `naive independent`).
    pub converged: bool,
    /// Exact mode: whether every hard margin (one-way marginal for `naive independent`) of the
    /// pool equals its target scaled to the zone's persons and rounded; `null` in random mode.
    pub exact_margins: Option<bool>,
    /// Exact mode: the largest absolute error, in persons, of a margin cell of the pool.
    pub max_abs_margin_error: Option<u64>,
    /// The output file, when written by [`Pool::write_file`].
    pub file: Option<String>,
    /// The output format, when written by [`Pool::write_file`].
    pub format: Option<Format>,
    /// Things to know that did not stop the generation.
    pub warnings: Vec<String>,
    /// What the inputs' missing values came to: the seed's, then each margin's that keeps them
    /// as the category `missing` (see [`crate::missing`]).
    pub missing: Vec<MissingCounts>,
    /// Wall time of fitting and writing, in seconds.
    pub seconds: f64,
}

/// A person's identifier: `1`, `2`, … without zones, `ZONE-K` with zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonId<'a> {
    /// Position in a pool without zones (1-based).
    Number(u64),
    /// Zone name and position within the zone (1-based).
    Zoned(&'a str, u64),
}

impl fmt::Display for PersonId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonId::Number(n) => fmt::Display::fmt(n, f),
            PersonId::Zoned(zone, k) => f.pad(&format!("{zone}-{k}")),
        }
    }
}

/// Up to [`BATCH_SIZE`] consecutive persons of one zone.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    domain: &'a Domain,
    zone: Option<&'a str>,
    first: u64,
    /// The kind of every person (see [`kinds`]).
    kinds: &'a [u32],
    /// The codes of every kind of the epoch, one after the other.
    kind_codes: &'a [u32],
    /// Numbers the kinds' meanings: kinds of batches with the same epoch mean the same codes.
    epoch: u64,
    /// The cards, by kind or (`per_person`) by person.
    cards: Option<&'a [Arc<str>]>,
    per_person: bool,
}

impl<'a> Batch<'a> {
    /// Number of persons.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Whether the batch has no persons.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The zone of every person in the batch (`None` without zones).
    pub fn zone(&self) -> Option<&'a str> {
        self.zone
    }

    /// The identifier of person `i` of the batch.
    pub fn person_id(&self, i: usize) -> PersonId<'a> {
        let k = self.first + i as u64;
        match self.zone {
            Some(zone) => PersonId::Zoned(zone, k),
            None => PersonId::Number(k),
        }
    }

    /// Category codes of person `i`, one per attribute of the domain.
    pub fn codes(&self, i: usize) -> &'a [u32] {
        let (k, kind) = (self.domain.attributes().len(), self.kinds[i] as usize);
        &self.kind_codes[kind * k..(kind + 1) * k]
    }

    /// The category of attribute `attribute` (domain position) of person `i`.
    pub fn value(&self, i: usize, attribute: usize) -> &'a str {
        let code = self.codes(i)[attribute] as usize;
        &self.domain.attribute(attribute).categories()[code]
    }

    /// The card of person `i`, when cards are rendered.
    pub fn card(&self, i: usize) -> Option<&'a str> {
        let at = if self.per_person { i } else { self.kinds[i] as usize };
        self.cards.map(|c| &*c[at])
    }

    /// The kind of every person, and the epoch that gives the kinds their meaning: persons of
    /// the same kind and epoch have the same codes and card. `None` when cards are per person.
    pub(crate) fn kinds(&self) -> Option<(&'a [u32], u64)> {
        (!self.per_person).then_some((self.kinds, self.epoch))
    }
}

/// Receives the persons of a pool, batch by batch, in zone order then person order.
pub trait Sink {
    /// Takes one batch.
    fn write(&mut self, batch: &Batch<'_>) -> Result<()>;
}

impl<F: FnMut(&Batch<'_>) -> Result<()>> Sink for F {
    fn write(&mut self, batch: &Batch<'_>) -> Result<()> {
        self(batch)
    }
}

/// A fitted population ready to draw persons from.
pub struct Pool<'a> {
    problem: &'a Problem,
    options: GenerateOptions,
    zones: Vec<ZonePlan<'a>>,
    cards: Option<Cards>,
    method: String,
    converged: bool,
    warnings: Vec<String>,
    start: Instant,
}

impl<'a> Pool<'a> {
    /// Fits `problem` with `fit` (or a naive stand-in, as `options.source` says; observers see
    /// the iterations of a fit without zones), decides every zone's persons, integerizes in
    /// exact mode, and compiles the card template: [`fitting::fit`] then
    /// [`Pool::from_fitted`], for a calibrated pool.
    ///
    /// # Errors
    /// The fit's errors; [`Error::Input`] for a template that does not compile (naming its file
    /// and line); [`Error::Inconsistent`] for an attribute named like an output column
    /// (`person_id`, `zone` with zones, `card` with cards).
    pub fn new(
        problem: &'a Problem,
        fit: &FitOptions,
        options: &GenerateOptions,
        observers: &mut [&mut dyn Observer],
    ) -> Result<Self> {
        Self::with_persons(problem, fit, options, plan::zone_persons(problem, options.persons), observers)
    }

    /// A calibrated pool drawn from `fitted`, a fit of `problem`: fit once, draw as many pools
    /// (seeds, sizes, modes) as wanted.
    ///
    /// ```
    /// use populace::fitting::{fit, FitOptions};
    /// use populace::generation::{GenerateOptions, Mode, Pool};
    /// use populace::inputs::{Csv, MarginInput, Problem};
    ///
    /// let sex = MarginInput::csv(Csv::text("sex.csv", "sex,count\nf,6\nm,4\n"));
    /// let problem = Problem::builder().margin(sex).build().unwrap();
    ///
    /// let fitted = fit(&problem, &FitOptions::default(), &mut []).unwrap();
    /// for seed in 1..=3 {
    ///     let options = GenerateOptions::default().persons(Some(20)).mode(Mode::Random).seed(seed);
    ///     assert_eq!(Pool::from_fitted(&problem, &fitted, &options).unwrap().persons(), 20);
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::Inconsistent`] when `fitted` is not a fit of `problem`'s zones and attributes,
    /// or `options.source` asks for a naive pool (which [`Pool::new`] fits itself); as
    /// [`Pool::new`] for the template and the output columns.
    pub fn from_fitted(problem: &'a Problem, fitted: &Fitted, options: &GenerateOptions) -> Result<Self> {
        let start = Instant::now();
        if options.source != Source::Calibrated {
            return Err(Error::Inconsistent(format!(
                "a fitted value makes a calibrated pool, not a {} one: draw naive pools with Pool::new",
                options.source.name()
            )));
        }
        let cards = prepare(problem, options)?;
        let basis = plan::calibrated(problem, Cow::Borrowed(fitted))?;
        Self::planned(problem, options, plan::zone_persons(problem, options.persons), basis, cards, start)
    }

    /// [`Pool::new`] with every zone's persons decided by the caller, in zone order.
    fn with_persons(
        problem: &'a Problem,
        fit: &FitOptions,
        options: &GenerateOptions,
        persons: Vec<u64>,
        observers: &mut [&mut dyn Observer],
    ) -> Result<Self> {
        let start = Instant::now();
        let cards = prepare(problem, options)?;
        let basis = match options.source {
            Source::Calibrated => plan::calibrated(problem, Cow::Owned(fitting::fit(problem, fit, observers)?))?,
            Source::Seedless => plan::seedless(problem, fit, observers)?,
            Source::Independent => plan::independent(problem)?,
        };
        Self::planned(problem, options, persons, basis, cards, start)
    }

    /// The pool that draws `persons` from `basis`.
    fn planned(
        problem: &'a Problem,
        options: &GenerateOptions,
        persons: Vec<u64>,
        basis: plan::Basis<'a>,
        cards: Option<Cards>,
        start: Instant,
    ) -> Result<Self> {
        let planned = plan::plan(problem, basis, options, persons)?;
        Ok(Pool {
            problem,
            options: options.clone(),
            zones: planned.zones,
            cards,
            method: planned.method,
            converged: planned.converged,
            warnings: planned.warnings,
            start,
        })
    }

    /// Persons the pool will write.
    pub fn persons(&self) -> u64 {
        self.zones.iter().map(|z| z.persons).sum()
    }

    /// The output columns, in order: `person_id`, `zone` (with zones), the attributes, `card`.
    pub fn columns(&self) -> Vec<String> {
        let mut columns = vec!["person_id".to_string()];
        if self.zoned() {
            columns.push("zone".into());
        }
        columns.extend(self.problem.domain.attributes().iter().map(|a| a.name().to_string()));
        if self.cards.is_some() {
            columns.push("card".into());
        }
        columns
    }

    /// Things to know that did not stop the fit (non-convergence, clamped weights …).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn zoned(&self) -> bool {
        self.problem.zones[0].name.is_some()
    }

    /// Draws every person and hands them to `sink` in batches; `progress` is told how many
    /// persons each batch had. Writing twice gives the same persons.
    pub fn write(&self, sink: &mut dyn Sink, progress: &mut dyn FnMut(u64)) -> Result<GenerateSummary> {
        let domain = &self.problem.domain;
        // Persons are drawn and their new cards rendered on a second thread while this one
        // writes: at most three batches are in memory, and the order is the producer's, so the
        // output does not depend on the scheduling.
        std::thread::scope(|scope| {
            let (sender, batches) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || self.draw(&sender));
            let (mut kind_codes, mut cards) = (Vec::new(), Vec::new());
            let mut epoch = 0;
            for drawn in batches {
                let drawn = drawn?;
                if drawn.fresh {
                    kind_codes.clear();
                    cards.clear();
                    epoch = EPOCHS.fetch_add(1, Ordering::Relaxed);
                }
                kind_codes.extend_from_slice(&drawn.new_codes);
                let per_person = self.cards.as_ref().is_some_and(Cards::per_person);
                if per_person {
                    cards.clear();
                }
                cards.extend(drawn.cards);
                sink.write(&Batch {
                    domain,
                    zone: self.zones[drawn.zone].name.as_deref(),
                    first: drawn.first,
                    kinds: &drawn.kinds,
                    kind_codes: &kind_codes,
                    epoch,
                    cards: self.cards.is_some().then_some(cards.as_slice()),
                    per_person,
                })?;
                progress(drawn.kinds.len() as u64);
            }
            Ok::<(), Error>(())
        })?;
        Ok(self.summary())
    }

    /// Draws every batch and sends it, stopping at the first error or when the receiver hangs up.
    fn draw(&self, sender: &std::sync::mpsc::SyncSender<Result<Drawn>>) {
        let k = self.problem.domain.attributes().len();
        for (z, zone) in self.zones.iter().enumerate() {
            let mut draws = zone.draws();
            let mut kinds = Kinds::new(k, draws.units());
            let mut done = 0u64;
            while done < zone.persons {
                let len = (zone.persons - done).min(BATCH_SIZE as u64) as usize;
                let fresh = done == 0 || kinds.len() > kinds::LIMIT;
                if fresh {
                    kinds.clear();
                }
                let known = kinds.len();
                let mut numbered = Vec::new();
                draws.fill(len, &mut kinds, &mut numbered);
                let drawn = self.cards(z, done + 1, &mut kinds, known, &numbered).map(|cards| Drawn {
                    zone: z,
                    first: done + 1,
                    kinds: numbered,
                    fresh,
                    new_codes: kinds.codes_from(known).to_vec(),
                    cards,
                });
                let failed = drawn.is_err();
                if sender.send(drawn).is_err() || failed {
                    return;
                }
                done += len as u64;
            }
        }
    }

    /// The cards of a batch of zone `z` whose first person is number `first` and whose persons
    /// are of kinds `numbered`: of its new kinds (numbered from `known` on), or of every person
    /// when cards are per person; none without cards.
    fn cards(&self, z: usize, first: u64, kinds: &mut Kinds, known: usize, numbered: &[u32]) -> Result<Vec<Arc<str>>> {
        let domain = &self.problem.domain;
        let zone = self.zones[z].name.as_deref();
        let new = kinds.take_new();
        match &self.cards {
            None => Ok(Vec::new()),
            Some(cards) if cards.per_person() => {
                let codes: Vec<u32> = numbered.iter().flat_map(|&kind| kinds.codes(kind)).copied().collect();
                cards.render(domain, zone, first, &codes, &mut cards.cache())
            }
            Some(cards) => {
                let numbers: Vec<u64> = new.iter().map(|&i| first + i as u64).collect();
                cards.render_kinds(domain, zone, kinds.codes_from(known), &numbers)
            }
        }
    }

    /// Writes the pool to `path` in the format its extension names (`.csv`, `.jsonl`,
    /// `.parquet`), atomically: into a temporary file in the same folder (created if missing),
    /// renamed to `path` only when complete.
    ///
    /// # Errors
    /// [`Error::Input`] for an unknown extension; [`Error::Write`] when the file cannot be written.
    pub fn write_file(&self, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<GenerateSummary> {
        let format = Format::from_path(path)?;
        let err = |e| Error::write(path, e);
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = crate::reports::TempFile::beside(path).map_err(err)?;
        let writer = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        let (mut summary, writer) = self.write_to(format, writer, path, progress)?;
        drop(writer);
        tmp.persist(path)?;
        summary.file = Some(path.display().to_string());
        summary.format = Some(format);
        summary.seconds = self.start.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Writes the pool in `format` to `writer`, flushes it and hands it back; errors name the
    /// output `name`. [`Pool::write_file`] is this into a temporary file.
    ///
    /// # Errors
    /// [`Error::Write`] when `writer` fails; [`Error::Input`] for Parquet in a build without it.
    pub fn write_to<W: Write + Send>(
        &self,
        format: Format,
        writer: W,
        name: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(GenerateSummary, W)> {
        let mut sink = sinks::FileSink::new(format, writer, name, self.problem, self.zoned(), self.cards.is_some())?;
        let summary = self.write(&mut sink, progress)?;
        let mut writer = sink.finish()?;
        writer.flush().map_err(|e| Error::write(name, e))?;
        Ok((summary, writer))
    }

    fn summary(&self) -> GenerateSummary {
        let exact = (self.options.mode == Mode::Exact).then(|| {
            let error = self.zones.iter().map(|z| z.margin_error).max().unwrap_or(0);
            (error == 0, error)
        });
        GenerateSummary {
            persons: self.persons(),
            mode: self.options.mode,
            source: self.options.source.name().to_string(),
            method: self.method.clone(),
            seed: self.options.seed,
            zones: if self.zoned() { self.zones.len() } else { 0 },
            attributes: self.problem.domain.attributes().iter().map(|a| a.name().to_string()).collect(),
            card: self.cards.is_some(),
            converged: self.converged,
            exact_margins: exact.map(|e| e.0),
            max_abs_margin_error: exact.map(|e| e.1),
            file: None,
            format: None,
            warnings: self.warnings.clone(),
            missing: self.problem.missing.clone(),
            seconds: self.start.elapsed().as_secs_f64(),
        }
    }
}

/// A batch drawn, on its way to the sink.
struct Drawn {
    /// Position of the zone in the pool.
    zone: usize,
    /// Number of the batch's first person within the zone.
    first: u64,
    /// The kind of every person.
    kinds: Vec<u32>,
    /// Whether the kinds are numbered anew from this batch on.
    fresh: bool,
    /// The codes of the kinds new in this batch, one after the other.
    new_codes: Vec<u32>,
    /// The cards of the kinds new in this batch, or of every person when cards are per person.
    cards: Vec<Arc<str>>,
}

/// Fits `problem` with `fit`, draws the pool `options` describe and hands it to `sink`:
/// [`Pool::new`] then [`Pool::write`], without observers or progress.
pub fn generate(
    problem: &Problem,
    fit: &FitOptions,
    options: &GenerateOptions,
    sink: &mut dyn Sink,
) -> Result<GenerateSummary> {
    Pool::new(problem, fit, options, &mut [])?.write(sink, &mut |_| {})
}

/// Refuses attributes named like an output column, and compiles the card template.
fn prepare(problem: &Problem, options: &GenerateOptions) -> Result<Option<Cards>> {
    if let Some(n) = options.persons.filter(|&n| n > MAX_PERSONS) {
        return Err(Error::TooLarge(format!(
            "{n} persons are more than a pool can hold ({MAX_PERSONS}, 2^48; a file of them would take \
             petabytes): ask for fewer"
        )));
    }
    let zoned = problem.zones[0].name.is_some();
    let reserved = [("person_id", true), ("zone", zoned), ("card", options.card.is_some())];
    for (column, used) in reserved {
        if used && problem.domain.index_of(column).is_some() {
            return Err(Error::Inconsistent(format!(
                "attribute \"{column}\" has the name of an output column of the pool; rename it in the margins and seed{}",
                if column == "card" { ", or leave the card out" } else { "" }
            )));
        }
    }
    options.card.as_ref().map(|t| Cards::new(t, &problem.domain)).transpose()
}

/// The random stream of a zone: [`stream_seed`] of the seed and the zone's name (`""` without
/// zones).
fn zone_rng(seed: u64, zone: Option<&str>) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(stream_seed(seed, zone.unwrap_or("")))
}
