//! Building a [`Problem`] from tables in files or in memory: [`ProblemBuilder`] and the inputs
//! it takes ([`MarginInput`], [`SeedInput`], [`ZonesInput`]), each read from [`Csv`] text (a
//! file, bytes, or any reader) or from a [`Frame`] in memory. [`Problem::load`] is this
//! builder fed with the files a spec names.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::csvfile::CsvFile;
use super::domain::Domain;
use super::margin::{self, MarginRead, MarginTable, Wide, ZoneNames};
use super::parquetfile::Contents;
use super::rows::{CsvRows, FrameRows, Numbers, PairRows, Rows};
use super::seed::{self, Seed, SeedColumns};
use super::structural::StructuralZero;
use super::{zones, FitOptions, Method, Problem, Spec, Total, Zone};
use crate::binning::Bins;
use crate::error::{Error, Location, Result};
use crate::frame::Frame;
use crate::missing::{MissingCounts, MissingPolicy, MissingValues};

/// The default of [`ProblemBuilder::consistency_tolerance`] (and of the spec's `[fit]
/// consistency_tolerance`).
pub(crate) const CONSISTENCY_TOLERANCE: f64 = 1e-6;

/// CSV text with a header row, comma-separated, named in messages: a file (read when the
/// problem is built), bytes in memory, or what a reader gives.
///
/// Every reader of CSV in populace reads it the same way: fields are trimmed, blank lines
/// skipped, a byte-order mark dropped, and errors name the file (or the name given), the line
/// and the column. A Parquet file (named `.parquet`, or starting with `PAR1`) is read as its
/// table instead, its places rows.
#[derive(Debug, Clone)]
pub struct Csv {
    name: String,
    text: CsvText,
}

#[derive(Debug, Clone)]
enum CsvText {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Csv {
    /// The CSV file `path`, read when the problem is built and named by its path in messages.
    pub fn file(path: impl Into<PathBuf>) -> Csv {
        let path = path.into();
        Csv { name: path.display().to_string(), text: CsvText::File(path) }
    }

    /// CSV text in memory, named `name` in messages.
    pub fn text(name: impl Into<String>, text: impl Into<Vec<u8>>) -> Csv {
        Csv { name: name.into(), text: CsvText::Bytes(text.into()) }
    }

    /// All that `reader` gives, read now, named `name` in messages.
    ///
    /// # Errors
    /// [`Error::Read`] when reading fails.
    pub fn read(name: impl Into<String>, reader: impl Read) -> Result<Csv> {
        let name = name.into();
        let bytes = crate::memory::read_input(reader, None, &name)?;
        Ok(Csv { name, text: CsvText::Bytes(bytes) })
    }

    /// Its name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its name and bytes, reading the file if it is one.
    fn into_bytes(self) -> Result<(String, Vec<u8>)> {
        let bytes = match self.text {
            CsvText::File(path) => crate::memory::read_file(&path, &self.name)?,
            CsvText::Bytes(bytes) => bytes,
        };
        Ok((self.name, bytes))
    }

    /// Its name and contents: CSV text, or a Parquet file's rows.
    fn contents(self) -> Result<(String, Contents)> {
        let (name, bytes) = self.into_bytes()?;
        let contents = Contents::of(bytes, &name)?;
        Ok((name, contents))
    }
}

/// An input table: CSV text or a frame in memory.
#[derive(Debug, Clone)]
enum Table {
    Csv(Csv),
    Frame { name: String, frame: Frame },
}

impl Table {
    /// Runs `f` on the table's rows.
    fn rows<T>(self, f: impl FnOnce(&mut dyn Rows) -> Result<T>) -> Result<T> {
        match self {
            Table::Csv(csv) => match csv.contents()? {
                (name, Contents::Csv(bytes)) => f(&mut CsvRows::new(CsvFile::from_bytes(bytes, &name)?)),
                (name, Contents::Parquet(frame)) => f(&mut FrameRows::new(&name, &frame)),
            },
            Table::Frame { name, frame } => f(&mut FrameRows::new(&name, &frame)),
        }
    }

    fn name(&self) -> &str {
        match self {
            Table::Csv(csv) => csv.name(),
            Table::Frame { name, .. } => name,
        }
    }
}

/// A marginal table for [`ProblemBuilder::margin`]: a tidy table with one column per attribute
/// (and, in a problem with zones, the zone column), one row per cell, and each cell's count,
/// from the column `count` unless said otherwise. Cells absent from it have target zero.
///
/// ```
/// use populace::frame::Frame;
/// use populace::inputs::{Csv, MarginInput};
///
/// let from_text = MarginInput::csv(Csv::text("sex.csv", "sex,n\nf,60\nm,40\n")).count_column("n");
/// let sexes = Frame::from_columns(&[("sex", ["f", "m"])])?;
/// let from_memory = MarginInput::frame("sex", sexes).counts(vec![60.0, 40.0]);
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MarginInput {
    table: Table,
    counts: Numbers,
    importance: Option<f64>,
    missing: MissingPolicy,
    /// A wide layout: the attribute, and each (column, category).
    wide: Option<(String, Vec<(String, String)>)>,
}

impl MarginInput {
    /// A margin read from CSV text.
    pub fn csv(csv: Csv) -> MarginInput {
        MarginInput::new(Table::Csv(csv))
    }

    /// A margin held in a frame, named `name` in messages. Its counts are given with
    /// [`MarginInput::counts`] (or are a column of the frame: [`MarginInput::count_column`]).
    pub fn frame(name: impl Into<String>, frame: Frame) -> MarginInput {
        MarginInput::new(Table::Frame { name: name.into(), frame })
    }

    fn new(table: Table) -> MarginInput {
        MarginInput {
            table,
            counts: Numbers::Column("count".into()),
            importance: None,
            missing: MissingPolicy::Error,
            wide: None,
        }
    }

    /// The counts are in the column `name` (default `count`), as text; every other column but
    /// the zone column is an attribute.
    pub fn count_column(mut self, name: impl Into<String>) -> MarginInput {
        self.counts = Numbers::Column(name.into());
        self
    }

    /// The counts, one per row of the table in order; every column but the zone column is an
    /// attribute.
    pub fn counts(mut self, counts: Vec<f64>) -> MarginInput {
        self.counts = Numbers::Values(counts);
        self
    }

    /// For [entropy calibration](crate::inputs::Calibration::Entropy): how strongly the margin
    /// is enforced, a positive number (default: hard).
    pub fn importance(mut self, importance: f64) -> MarginInput {
        self.importance = Some(importance);
        self
    }

    /// What a row with a missing attribute value is (see [`crate::missing`]):
    /// [`MissingPolicy::Error`] (the default), or [`MissingPolicy::Category`], a target for the
    /// category `missing`. [`MissingPolicy::Drop`] is refused: it would change the targets.
    pub fn missing(mut self, policy: MissingPolicy) -> MarginInput {
        self.missing = policy;
        self
    }

    /// A wide table, as census and PopulationSim control tables are laid out: one row per zone
    /// (one row in all without zones), and each of `columns` (column, category) holding the
    /// count of its category of `attribute`. Other columns are ignored.
    ///
    /// ```
    /// use populace::inputs::{Csv, MarginInput, Problem, ZonesInput};
    ///
    /// let controls = "tract,HHSIZE1,HHSIZE2,POP\nt1,30,70,170\nt2,50,50,150\n";
    /// let sizes = MarginInput::csv(Csv::text("controls.csv", controls))
    ///     .wide("hh_size", [("HHSIZE1", "1"), ("HHSIZE2", "2")]);
    /// let problem = Problem::builder().margin(sizes).zones(ZonesInput::new("tract")).build()?;
    /// assert_eq!(problem.zones[1].margins[0].targets, [50.0, 50.0]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn wide<C: Into<String>, K: Into<String>>(
        mut self,
        attribute: impl Into<String>,
        columns: impl IntoIterator<Item = (C, K)>,
    ) -> MarginInput {
        self.wide = Some((attribute.into(), columns.into_iter().map(|(c, k)| (c.into(), k.into())).collect()));
        self
    }
}

/// The seed for [`ProblemBuilder::seed`]: microdata (one row per record) or a dense table (one
/// row per cell, its count as the weight), with one column per attribute of the problem. Other
/// columns are ignored. Every record weighs 1 unless weights are given.
///
/// ```
/// use populace::frame::Frame;
/// use populace::inputs::{Csv, SeedInput};
///
/// let from_text = SeedInput::csv(Csv::text("persons.csv", "id,sex,w\np1,f,2\np2,m,1.5\n"))
///     .id_column("id")
///     .weight_column("w");
/// let persons = Frame::from_columns(&[("sex", ["f", "m"])])?;
/// let from_memory = SeedInput::frame("persons", persons).weights(vec![2.0, 1.5]);
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SeedInput {
    table: Table,
    weights: Option<Numbers>,
    id: Vec<String>,
    missing: MissingPolicy,
}

impl SeedInput {
    /// A seed read from CSV text.
    pub fn csv(csv: Csv) -> SeedInput {
        SeedInput { table: Table::Csv(csv), weights: None, id: Vec::new(), missing: MissingPolicy::Drop }
    }

    /// A seed held in a frame, named `name` in messages.
    pub fn frame(name: impl Into<String>, frame: Frame) -> SeedInput {
        SeedInput {
            table: Table::Frame { name: name.into(), frame },
            weights: None,
            id: Vec::new(),
            missing: MissingPolicy::Drop,
        }
    }

    /// The design weights (or a dense seed's cell counts) are in the column `name`, as text.
    pub fn weight_column(mut self, name: impl Into<String>) -> SeedInput {
        self.weights = Some(Numbers::Column(name.into()));
        self
    }

    /// The design weights, one per record in order.
    pub fn weights(mut self, weights: Vec<f64>) -> SeedInput {
        self.weights = Some(Numbers::Values(weights));
        self
    }

    /// The record identifiers are in the column `name` (default: records are named by their
    /// 1-based row number).
    pub fn id_column(mut self, name: impl Into<String>) -> SeedInput {
        self.id = vec![name.into()];
        self
    }

    /// The record identifiers are the values of `names` together (a survey whose ids are unique
    /// only within a year: `["year", "respondent_id"]`); in [`RecordIds`](super::RecordIds)
    /// the parts are joined by [`ID_SEPARATOR`](super::ID_SEPARATOR).
    pub fn id_columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> SeedInput {
        self.id = names.into_iter().map(Into::into).collect();
        self
    }

    /// What a record with a missing attribute value is (see [`crate::missing`]): left out and
    /// counted ([`MissingPolicy::Drop`], the default), kept with the category `missing`, which a
    /// margin must then know ([`MissingPolicy::Category`]), or an error ([`MissingPolicy::Error`]).
    pub fn missing(mut self, policy: MissingPolicy) -> SeedInput {
        self.missing = policy;
        self
    }

    /// Reads the seed, its records coded against `domain`; `region` is the region column,
    /// `values` the numeric columns to read as numbers.
    fn read(
        self,
        domain: &Domain,
        region: Option<&str>,
        missing_values: &MissingValues,
        bins: &[Bins],
        values: &[String],
    ) -> Result<Seed> {
        let SeedInput { table, weights, id, missing } = self;
        let weight = match &weights {
            Some(Numbers::Column(name)) => Some(name.as_str()),
            _ => None,
        };
        let columns = SeedColumns { weight, id: &id, region, missing_values, missing, bins, values };
        let mut seed = match table {
            Table::Csv(csv) => match csv.contents()? {
                (name, Contents::Csv(bytes)) => seed::from_bytes(bytes, &name, columns, domain)?,
                (name, Contents::Parquet(frame)) => seed::from_frame(&name, &frame, columns, domain)?,
            },
            Table::Frame { name, frame } => seed::from_frame(&name, &frame, columns, domain)?,
        };
        if let Some(Numbers::Values(values)) = &weights {
            seed::set_weights(&mut seed, values)?;
        }
        Ok(seed)
    }
}

/// A numeric total for [`ProblemBuilder::total`]: the population total of a numeric column of
/// the seed (total income, hours worked), optionally within a category (the income of women),
/// which seed re-weighting meets alongside the margins.
///
/// ```
/// use populace::inputs::{Calibration, Csv, FitOptions, MarginInput, Method, Problem, SeedInput, TotalInput};
///
/// // numeric totals re-weight the seed: a calibration method, not ipf
/// let linear = FitOptions::params().method(Method::Calibrate(Calibration::Linear)).check()?;
/// let problem = Problem::builder()
///     .fit_options(&linear)
///     .margin(MarginInput::csv(Csv::text("sex", "sex,count\nf,60\nm,40\n")))
///     .seed(SeedInput::csv(Csv::text("people", "sex,income\nf,10\nm,30\nf,20\n")))
///     .total(TotalInput::new("income", 2000.0))
///     .total(TotalInput::new("income", 900.0).within("sex", "f"))
///     .build()?;
/// let seed = problem.seed.as_ref().unwrap();
/// assert_eq!(seed.values, [10.0, 30.0, 20.0]);
/// assert_eq!((0..3).map(|i| problem.totals[1].value(seed, i)).collect::<Vec<_>>(), [10.0, 0.0, 20.0]);
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TotalInput {
    column: String,
    total: f64,
    within: Vec<(String, String)>,
}

impl TotalInput {
    /// The total of the seed's numeric column `column` over the population.
    pub fn new(column: impl Into<String>, total: f64) -> TotalInput {
        TotalInput { column: column.into(), total, within: Vec::new() }
    }

    /// Restricts the total to the records whose `attribute` is `category` (repeatable: every
    /// condition must hold).
    pub fn within(mut self, attribute: impl Into<String>, category: impl Into<String>) -> TotalInput {
        self.within.push((attribute.into(), category.into()));
        self
    }
}

/// The zones of a problem for [`ProblemBuilder::zones`]: the margins' zone column, and, when
/// seeds are regional, which seed records each zone may draw on.
///
/// ```
/// use populace::inputs::{ZoneMap, ZonesInput};
///
/// let by_tract = ZonesInput::new("tract");
/// // tracts t1 and t2 lie in PUMA 101: they draw on the seed records whose "puma" is 101
/// let regional = ZonesInput::new("tract").regions("puma", ZoneMap::pairs("tracts", [("t1", "101"), ("t2", "101")]));
/// ```
#[derive(Debug, Clone)]
pub struct ZonesInput {
    column: String,
    regions: Option<(String, ZoneMap)>,
}

impl ZonesInput {
    /// Zones named in each margin's column `column`: margins are fitted zone by zone.
    pub fn new(column: impl Into<String>) -> ZonesInput {
        ZonesInput { column: column.into(), regions: None }
    }

    /// Each zone draws only on the seed records whose `seed_column` holds the region `map`
    /// gives the zone (PUMA → tract, as PopulationSim does).
    pub fn regions(mut self, seed_column: impl Into<String>, map: ZoneMap) -> ZonesInput {
        self.regions = Some((seed_column.into(), map));
        self
    }
}

/// Each zone's region, for [`ZonesInput::regions`]: a table with the zone column (named as the
/// margins') and the region column (named as the seed's), or pairs in memory. Zones it lists
/// without margins are ignored; a zone with margins must be in it once.
#[derive(Debug, Clone)]
pub struct ZoneMap {
    map: Map,
}

#[derive(Debug, Clone)]
enum Map {
    Table(Table),
    Pairs { name: String, pairs: Vec<(String, String)> },
}

impl ZoneMap {
    /// The map as CSV text.
    pub fn csv(csv: Csv) -> ZoneMap {
        ZoneMap { map: Map::Table(Table::Csv(csv)) }
    }

    /// The map held in a frame, named `name` in messages.
    pub fn frame(name: impl Into<String>, frame: Frame) -> ZoneMap {
        ZoneMap { map: Map::Table(Table::Frame { name: name.into(), frame }) }
    }

    /// The map as (zone, region) pairs, named `name` in messages.
    pub fn pairs<Z: Into<String>, R: Into<String>>(
        name: impl Into<String>,
        pairs: impl IntoIterator<Item = (Z, R)>,
    ) -> ZoneMap {
        let pairs = pairs.into_iter().map(|(z, r)| (z.into(), r.into())).collect();
        ZoneMap { map: Map::Pairs { name: name.into(), pairs } }
    }

    /// For every zone of `names`, the seed records of its region.
    fn records(
        self,
        zone_column: &str,
        region_column: &str,
        names: &ZoneNames,
        seed: &Seed,
    ) -> Result<Vec<Vec<usize>>> {
        let by_region = |rows: &mut dyn Rows| zones::records_by_region(rows, zone_column, region_column, names, seed);
        match self.map {
            Map::Table(table) => table.rows(by_region),
            Map::Pairs { name, pairs } => by_region(&mut PairRows::new(&name, [zone_column, region_column], &pairs)),
        }
    }
}

/// A [`Problem`] being put together from its inputs, then [`ProblemBuilder::build`]: made by
/// [`Problem::builder`]. Its inputs are read and checked when it is built, so that a problem
/// from memory meets every check a problem from files does.
///
/// ```
/// use populace::inputs::{Csv, MarginInput, Problem};
///
/// let problem = Problem::builder()
///     .attribute("sex", ["f", "m"])
///     .margin(MarginInput::csv(Csv::text("age_sex", "age,sex,count\nyoung,f,30\nyoung,m,20\nold,f,25\nold,m,25\n")))
///     .margin(MarginInput::csv(Csv::text("sex_job", "sex,job,count\nf,yes,35\nf,no,20\nm,yes,30\nm,no,15\n")))
///     .build()?;
/// let names: Vec<&str> = problem.domain.attributes().iter().map(|a| a.name()).collect();
/// assert_eq!(names, ["sex", "age", "job"]); // declared first, then in order of appearance
/// assert_eq!(problem.single_zone().total(), 100.0);
///
/// // every check of a problem from files applies: here, totals that disagree
/// let err = Problem::builder()
///     .margin(MarginInput::csv(Csv::text("a", "sex,count\nf,60\nm,40\n")))
///     .margin(MarginInput::csv(Csv::text("b", "age,count\nyoung,50\nold,60\n")))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("margin totals disagree: a sums to 100 but b sums to 110"));
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProblemBuilder {
    source: String,
    attributes: Vec<(String, Vec<String>)>,
    bins: Vec<Bins>,
    margins: Vec<MarginInput>,
    seed: Option<SeedInput>,
    zones: Option<ZonesInput>,
    rescale: bool,
    consistency_tolerance: f64,
    fit_options: FitOptions,
    missing_values: MissingValues,
    structural_zeros: Vec<Vec<(String, Vec<String>)>>,
    totals: Vec<TotalInput>,
}

impl Default for ProblemBuilder {
    fn default() -> Self {
        ProblemBuilder {
            source: "problem".into(),
            attributes: Vec::new(),
            bins: Vec::new(),
            margins: Vec::new(),
            seed: None,
            zones: None,
            rescale: false,
            consistency_tolerance: CONSISTENCY_TOLERANCE,
            fit_options: FitOptions::default(),
            missing_values: MissingValues::default(),
            structural_zeros: Vec::new(),
            totals: Vec::new(),
        }
    }
}

impl Problem {
    /// A builder of a problem from inputs in files or memory.
    pub fn builder() -> ProblemBuilder {
        ProblemBuilder::default()
    }
}

impl ProblemBuilder {
    /// A builder holding everything `spec` says about the problem: its declared attributes,
    /// margins, seed, zones and `consistency_tolerance`, and its `[fit]` options to check the
    /// targets against. `open` gives the CSV of each file the spec names, as written in it
    /// ([`Problem::load`] opens `Csv::file(spec.resolve(file))`; files may as well come from
    /// memory or an archive).
    ///
    /// ```
    /// use populace::inputs::{Csv, ProblemBuilder, Spec};
    ///
    /// let spec = Spec::from_toml_str("[[margin]]\nfile = \"sex.csv\"\n", "spec.toml")?;
    /// let files = |file: &std::path::Path| Csv::text(file.display().to_string(), "sex,count\nf,6\nm,4\n");
    /// let problem = ProblemBuilder::from_spec(&spec, files).build()?;
    /// assert_eq!(problem.single_zone().margins[0].file, "sex.csv");
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn from_spec(spec: &Spec, mut open: impl FnMut(&Path) -> Csv) -> ProblemBuilder {
        let mut builder = Problem::builder()
            .source(&spec.source)
            .consistency_tolerance(spec.consistency_tolerance)
            .fit_options(&spec.fit)
            .missing_values(spec.missing_values.clone());
        for rule in &spec.structural_zeros {
            builder = builder.structural_zero(rule.iter().map(|(a, c)| (a.clone(), c.clone())));
        }
        for (name, categories) in &spec.attributes {
            builder = match spec.bins.iter().find(|b| b.name() == name) {
                Some(bins) => builder.binned(bins.clone()),
                None => builder.attribute(name, categories),
            };
        }
        for m in &spec.margins {
            let mut margin = MarginInput::csv(open(&m.file)).count_column(&m.count).missing(m.missing);
            if let (Some(attribute), Some(columns)) = (&m.attribute, &m.columns) {
                margin = margin.wide(attribute, columns.iter().map(|(c, k)| (c.clone(), k.clone())));
            }
            builder = builder.margin(match m.importance {
                Some(importance) => margin.importance(importance),
                None => margin,
            });
        }
        if let Some(s) = &spec.seed {
            let mut seed = SeedInput::csv(open(&s.file)).missing(s.missing);
            if let Some(weight) = &s.weight {
                seed = seed.weight_column(weight);
            }
            if let Some(id) = &s.id {
                seed = seed.id_columns(id.iter().cloned());
            }
            builder = builder.seed(seed);
        }
        for t in &spec.totals {
            let total = t.within.iter().fold(TotalInput::new(&t.column, t.total), |total, (a, c)| total.within(a, c));
            builder = builder.total(total);
        }
        if let Some(z) = &spec.zones {
            let mut zones = ZonesInput::new(&z.column);
            if let (Some(region), Some(map)) = (&z.seed_region, &z.map) {
                zones = zones.regions(region, ZoneMap::csv(open(map)));
            }
            builder = builder.zones(zones);
        }
        builder
    }

    /// What messages about the problem as a whole name (a spec's path, say; default `problem`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Declares an attribute and its categories, in order. Declared attributes come first in
    /// the joint, in declaration order; their values elsewhere must be among these categories.
    /// An attribute in no margin is taken from the seed. Undeclared attributes learn their
    /// categories from the margins, in order of first appearance.
    pub fn attribute<C: Into<String>>(
        mut self,
        name: impl Into<String>,
        categories: impl IntoIterator<Item = C>,
    ) -> Self {
        self.attributes.push((name.into(), categories.into_iter().map(Into::into).collect()));
        self
    }

    /// Declares an attribute binned from a numeric column of the seed: its categories are the
    /// bins' labels, in order (see [`binning`](crate::binning)).
    ///
    /// ```
    /// use populace::binning::Bins;
    /// use populace::inputs::{Csv, MarginInput, Problem, SeedInput};
    ///
    /// let bands = ["young".to_string(), "old".to_string()];
    /// let problem = Problem::builder()
    ///     .binned(Bins::new("age_group", "age", &[0.0, 40.0], Some(&bands))?)
    ///     .margin(MarginInput::csv(Csv::text("age", "age_group,count\nyoung,30\nold,70\n")))
    ///     .seed(SeedInput::csv(Csv::text("people", "id,age\n1,23\n2,67\n3,41\n")))
    ///     .build()?;
    /// let seed = problem.seed.as_ref().unwrap();
    /// assert_eq!((0..3).map(|i| seed.code(i, 0)).collect::<Vec<_>>(), [0, 1, 1]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn binned(mut self, bins: Bins) -> Self {
        self.attributes.push((bins.name().to_string(), bins.labels().to_vec()));
        self.bins.push(bins);
        self
    }

    /// Adds a marginal table (at least one is needed). Margins are fitted in the order added.
    pub fn margin(mut self, margin: MarginInput) -> Self {
        self.margins.push(margin);
        self
    }

    /// The seed to re-weight or to take the joint's structure from.
    pub fn seed(mut self, seed: SeedInput) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Adds a numeric total ([`TotalInput`]): a constraint of seed re-weighting, met by every
    /// calibration method alongside the margins. Needs a seed with the column, and no zones.
    pub fn total(mut self, total: TotalInput) -> Self {
        self.totals.push(total);
        self
    }

    /// Fits margins zone by zone.
    pub fn zones(mut self, zones: ZonesInput) -> Self {
        self.zones = Some(zones);
        self
    }

    /// Scale every margin to the first margin's total instead of refusing totals that disagree;
    /// each scaling is reported in [`Problem::warnings`] (default: refuse).
    pub fn rescale(mut self, rescale: bool) -> Self {
        self.rescale = rescale;
        self
    }

    /// How far, as a fraction of the total, margins' totals and the sub-margins overlapping
    /// margins share may disagree (default `1e-6`).
    pub fn consistency_tolerance(mut self, tolerance: f64) -> Self {
        self.consistency_tolerance = tolerance;
        self
    }

    /// The options the problem is meant to be fitted with (default [`FitOptions::default`]):
    /// building refuses a stopping tolerance that every target is within (any weights, even all
    /// zero, would meet it), and warns when it exceeds a millionth of a zone's total. The
    /// problem does not keep them: give them to [`fit`](crate::fitting::fit).
    pub fn fit_options(mut self, options: &FitOptions) -> Self {
        self.fit_options = *options;
        self
    }

    /// The field values read as missing in every input (default [`MissingValues::default`]:
    /// empty, `NA`, `N/A`, `NaN`, `NULL`, `.`).
    pub fn missing_values(mut self, values: MissingValues) -> Self {
        self.missing_values = values;
        self
    }

    /// Declares a structural zero: the cells whose category of every attribute named in `rule`
    /// is among its listed ones cannot exist. Seed records there are left out (with a warning),
    /// and no fit or generated person puts mass there ([`StructuralZero`]).
    pub fn structural_zero<A, C, S>(mut self, rule: impl IntoIterator<Item = (A, C)>) -> Self
    where
        A: Into<String>,
        C: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.structural_zeros
            .push(rule.into_iter().map(|(a, c)| (a.into(), c.into_iter().map(Into::into).collect())).collect());
        self
    }

    /// Reads every input and checks them, alone and together: categories belong to their
    /// declared lists; counts and weights are finite and non-negative; no cell appears twice;
    /// every margin of a zone sums to the same total (or is rescaled); overlapping margins agree
    /// on the sub-margin they share; the fit's tolerance is below the targets.
    ///
    /// # Errors
    /// [`Error::Read`] for a file that cannot be read, [`Error::Input`] naming the table (file
    /// or name), line or row, and column at fault, [`Error::Inconsistent`] for margins that
    /// disagree.
    pub fn build(self) -> Result<Problem> {
        self.check()?;
        let ProblemBuilder {
            source,
            attributes,
            bins,
            margins,
            seed,
            zones,
            rescale,
            consistency_tolerance,
            fit_options,
            missing_values,
            structural_zeros,
            totals,
        } = self;
        let source = Location::file(source);
        let mut domain = Domain::declared(attributes.iter().map(|(n, c)| (n, c)));
        let mut zone_names = ZoneNames::default();
        let zone_column = zones.as_ref().map(|z| z.column.as_str());
        let mut raw = Vec::with_capacity(margins.len());
        for MarginInput { table, counts, importance, missing, wide } in margins {
            let how =
                MarginRead { counts: &counts, importance, zone: zone_column, missing_values: &missing_values, missing };
            raw.push(table.rows(|rows| match &wide {
                Some((attribute, columns)) => {
                    margin::read_wide(rows, how, &Wide { attribute, columns }, &mut domain, &mut zone_names)
                }
                None => margin::read(rows, how, &mut domain, &mut zone_names),
            })?);
        }
        let region_column = zones.as_ref().and_then(|z| z.regions.as_ref()).map(|(column, _)| column.as_str());
        let mut value_columns: Vec<String> = Vec::new();
        for t in &totals {
            if !value_columns.contains(&t.column) {
                value_columns.push(t.column.clone());
            }
        }
        let mut seed =
            seed.map(|s| s.read(&domain, region_column, &missing_values, &bins, &value_columns)).transpose()?;
        let totals = totals
            .iter()
            .enumerate()
            .map(|(i, t)| total(&domain, t, &value_columns, &source.at_row(i as u64 + 1)))
            .collect::<Result<Vec<_>>>()?;
        let structural_zeros = structural_zeros
            .iter()
            .enumerate()
            .map(|(i, rule)| StructuralZero::new(&domain, rule, &source.at_row(i as u64 + 1)))
            .collect::<Result<Vec<_>>>()?;
        let mut warnings: Vec<String> = raw.iter().filter_map(|m| m.note.clone()).collect();
        warnings.extend(seed.iter().flat_map(|s| s.notes.iter().cloned()));
        if let (Some(seed), false) = (&mut seed, structural_zeros.is_empty()) {
            let mut codes = Vec::with_capacity(seed.attributes.len());
            let inside: Vec<usize> = (0..seed.len())
                .filter(|&i| {
                    codes.clear();
                    codes.extend(seed.record(i));
                    structural_zeros.iter().any(|r| r.contains(&codes))
                })
                .collect();
            if !inside.is_empty() {
                let weight: f64 = inside.iter().map(|&i| seed.weights[i]).sum();
                warnings.push(format!(
                    "{}: {} record{} (weight {weight}) in a structural zero left out",
                    seed.file,
                    inside.len(),
                    if inside.len() == 1 { "" } else { "s" }
                ));
                seed::leave_out(seed, &inside);
            }
        }
        let mut missing: Vec<MissingCounts> = seed.iter().map(|s| s.missing.clone()).collect();
        missing.extend(raw.iter().filter(|m| m.missing.policy == MissingPolicy::Category).map(|m| m.missing.clone()));
        let nzones = zone_names.names.len();
        let per_margin: Vec<Vec<MarginTable>> = raw.into_iter().map(|m| m.finish(&domain, nzones)).collect();
        let in_margin = |a: usize| per_margin.iter().any(|m| m[0].attributes.contains(&a));
        if let Some(unused) = (0..domain.attributes().len()).find(|&a| !in_margin(a) && seed.is_none()) {
            return Err(Error::input(
                source,
                format!(
                    "[attributes] declares {}, which appears in no margin, and there is no seed to take it from",
                    domain.attribute(unused).name()
                ),
            ));
        }
        let named = zones.is_some();
        let records = match (zones, &seed) {
            (Some(ZonesInput { column, regions: Some((region, map)) }), Some(seed)) => {
                Some(map.records(&column, &region, &zone_names, seed)?)
            }
            _ => None,
        };
        let mut zones: Vec<Zone> = (0..nzones.max(1))
            .map(|z| Zone {
                name: named.then(|| zone_names.names[z].clone()),
                margins: per_margin.iter().map(|m| m[z].clone()).collect(),
                records: records.as_ref().map(|r| r[z].clone()),
            })
            .collect();
        for zone in &mut zones {
            reconcile_totals(zone, consistency_tolerance, rescale, &mut warnings)?;
            check_shared_margins(&domain, zone, consistency_tolerance)?;
        }
        check_tolerance(&source, fit_options.stopping().tolerance(), &zones, &mut warnings)?;
        Ok(Problem { domain, zones, seed, warnings, missing, structural_zeros, totals })
    }

    /// The checks of the builder's own settings, before any input is read.
    fn check(&self) -> Result<()> {
        let bad = |message: String| Err(Error::input(Location::file(&self.source), message));
        if self.margins.is_empty() {
            return bad("a problem needs at least one margin".into());
        }
        for (i, (attribute, categories)) in self.attributes.iter().enumerate() {
            if self.attributes[..i].iter().any(|(a, _)| a == attribute) {
                return bad(format!("attribute {attribute} is declared twice"));
            }
            if categories.is_empty() {
                return bad(format!("attribute {attribute} declares no categories"));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(c) = categories.iter().find(|c| !seen.insert(c.trim())) {
                return bad(format!("attribute {attribute} declares category \"{c}\" twice"));
            }
            if let Some(c) = categories.iter().find(|c| self.missing_values.is_missing(c.trim())) {
                return bad(format!(
                    "attribute {attribute} declares category \"{}\", which is read as missing; \
                     name it otherwise, or set missing_values to the values that mean missing in your files",
                    c.escape_debug()
                ));
            }
        }
        if !(self.consistency_tolerance.is_finite() && self.consistency_tolerance >= 0.0) {
            return bad(format!(
                "consistency_tolerance must be a non-negative number, found {}",
                self.consistency_tolerance
            ));
        }
        for m in &self.margins {
            if let Some(i) = m.importance.filter(|i| !(i.is_finite() && *i > 0.0)) {
                return bad(format!("margin {}: importance must be a positive number, found {i}", m.table.name()));
            }
            if m.missing == MissingPolicy::Drop {
                return bad(format!(
                    "margin {}: dropping rows with missing values would change its targets; \
                     a margin's missing values are an error or the category \"missing\"",
                    m.table.name()
                ));
            }
            if let Some((attribute, columns)) = &m.wide {
                if attribute.is_empty() || columns.is_empty() {
                    return bad(format!(
                        "margin {}: a wide margin names its attribute and its columns",
                        m.table.name()
                    ));
                }
                if matches!(m.counts, Numbers::Values(_)) {
                    return bad(format!("margin {}: a wide margin's counts are its columns", m.table.name()));
                }
            }
        }
        if let Some(t) = self.totals.first() {
            let what = format!("[[total]] of {}", t.column);
            if self.seed.is_none() {
                return bad(format!("{what}: a numeric total is a total of a seed column, but there is no seed"));
            }
            if self.zones.is_some() {
                return bad(format!(
                    "{what}: numeric totals apply to the whole seed, so they cannot be used with [zones]"
                ));
            }
            if self.fit_options.method() == Method::Ipf {
                return bad(format!(
                    "{what}: numeric totals re-weight the seed's records; method = \"ipf\" fits a table of \
                     categories (use \"linear\", \"rake\", \"logit\" or \"entropy\")"
                ));
            }
        }
        if let Some(t) = self.totals.iter().find(|t| !t.total.is_finite()) {
            return bad(format!("[[total]] of {}: total {} is not a finite number", t.column, t.total));
        }
        if let (Some(ZonesInput { regions: Some(_), .. }), None) = (&self.zones, &self.seed) {
            return bad("zone regions say which seed records each zone draws on, but there is no seed".into());
        }
        Ok(())
    }
}

/// The numeric total `input`, its column the `values`' and its conditions coded against
/// `domain`; `at` names it in errors.
fn total(domain: &Domain, input: &TotalInput, values: &[String], at: &Location) -> Result<Total> {
    let what = format!("[[total]] of {}", input.column);
    let within = input
        .within
        .iter()
        .map(|(attribute, category)| {
            let a = domain.index_of(attribute).ok_or_else(|| {
                Error::input(
                    at.clone(),
                    format!("{what}: within names {attribute}, which is not an attribute of the problem"),
                )
            })?;
            let code = domain.attribute(a).code(category).ok_or_else(|| {
                Error::input(
                    at.clone(),
                    format!(
                        "{what}: within {attribute} = \"{}\": not a category of {attribute}",
                        category.escape_debug()
                    ),
                )
            })?;
            Ok((a, code))
        })
        .collect::<Result<Vec<_>>>()?;
    let column = values.iter().position(|v| *v == input.column).unwrap_or_default();
    Ok(Total { column, within, total: input.total })
}

/// Sums a margin's targets onto a subset of its attributes (row-major in `onto` order).
fn project(domain: &Domain, margin: &MarginTable, onto: &[usize]) -> Vec<f64> {
    {
        let sizes = domain.sizes(&margin.attributes);
        let onto_sizes = domain.sizes(onto);
        let position: Vec<usize> =
            onto.iter().map(|a| margin.attributes.iter().position(|x| x == a).expect("subset of the margin")).collect();
        let mut out = vec![0.0; onto_sizes.iter().product()];
        for (index, &t) in margin.targets.iter().enumerate() {
            let codes = MarginTable::codes(&sizes, index);
            let j = position.iter().zip(&onto_sizes).fold(0usize, |acc, (&p, &s)| acc * s + codes[p] as usize);
            out[j] += t;
        }
        out
    }
}

fn reconcile_totals(zone: &mut Zone, tolerance: f64, rescale: bool, warnings: &mut Vec<String>) -> Result<()> {
    let prefix = zone.prefix();
    let totals: Vec<f64> = zone.margins.iter().map(MarginTable::total).collect();
    for (m, &t) in zone.margins.iter().zip(&totals) {
        if !t.is_finite() {
            return Err(Error::input(Location::file(&m.file), format!("{prefix}the counts sum to infinity")));
        }
        if t <= 0.0 {
            return Err(Error::input(
                Location::file(&m.file),
                format!("{prefix}every count is zero (or the zone has no rows): a margin needs a positive total"),
            ));
        }
    }
    let reference = totals[0];
    for (i, &total) in totals.iter().enumerate().skip(1) {
        let relative = (total - reference).abs() / reference;
        if relative <= tolerance {
            continue;
        }
        let (first, this) = (&zone.margins[0].file, &zone.margins[i].file);
        if !rescale {
            return Err(Error::Inconsistent(format!(
                "{prefix}margin totals disagree: {first} sums to {reference} but {this} sums to {total} \
                 (relative difference {relative:.3e}, tolerance {tolerance:.1e}); fix the tables, or pass \
                 --rescale to scale every margin to the first one's total"
            )));
        }
        let factor = reference / total;
        warnings.push(format!("{prefix}rescaled {this} from total {total} to {reference} (factor {factor:.9})"));
        zone.margins[i].targets.iter_mut().for_each(|t| *t *= factor);
    }
    Ok(())
}

/// The fit's tolerance is absolute: refuses one that every target is within (any weights, even
/// all zero, would "converge"), and warns when it exceeds a millionth of a zone's total.
fn check_tolerance(source: &Location, tolerance: f64, zones: &[Zone], warnings: &mut Vec<String>) -> Result<()> {
    let mut coarse: Option<(&Zone, f64)> = None;
    let mut count = 0;
    for zone in zones {
        let largest = zone.margins.iter().flat_map(|m| m.targets.iter().copied()).fold(0.0, f64::max);
        if largest <= tolerance {
            return Err(Error::input(
                source.clone(),
                format!(
                    "{}[fit] tolerance = {tolerance:e} is at least every target (the largest is {largest:e}): any \
                     weights, even all zero, would meet it; lower the tolerance or scale the counts up",
                    zone.prefix()
                ),
            ));
        }
        let total = zone.total();
        if tolerance > 1e-6 * total {
            count += 1;
            if coarse.is_none_or(|(_, t)| total < t) {
                coarse = Some((zone, total));
            }
        }
    }
    if let Some((zone, total)) = coarse {
        let others = if count > 1 { format!(" (and {} other zones)", count - 1) } else { String::new() };
        warnings.push(format!(
            "{}[fit] tolerance = {tolerance:e} is more than a millionth of the margins' total {total:e}{others}: a \
             fit that meets it may still be off by a noticeable fraction; lower the tolerance",
            zone.prefix()
        ));
    }
    Ok(())
}

fn check_shared_margins(domain: &Domain, zone: &Zone, tolerance: f64) -> Result<()> {
    let limit = tolerance * zone.total();
    for (i, a) in zone.margins.iter().enumerate() {
        for b in &zone.margins[i + 1..] {
            let shared: Vec<usize> = a.attributes.iter().copied().filter(|x| b.attributes.contains(x)).collect();
            if shared.is_empty() {
                continue;
            }
            let pa = project(domain, a, &shared);
            let pb = project(domain, b, &shared);
            let worst =
                (0..pa.len()).max_by(|&x, &y| (pa[x] - pb[x]).abs().total_cmp(&(pa[y] - pb[y]).abs())).unwrap_or(0);
            if (pa[worst] - pb[worst]).abs() > limit {
                let codes = MarginTable::codes(&domain.sizes(&shared), worst);
                return Err(Error::Inconsistent(format!(
                    "{}overlapping margins disagree on their shared cell ({}): {} gives {} but {} gives {} \
                     (tolerance {:.1e} of the total); overlapping tables must agree on what they share",
                    zone.prefix(),
                    domain.label(&shared, &codes),
                    a.file,
                    pa[worst],
                    b.file,
                    pb[worst],
                    tolerance
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    use std::path::Path;

    use super::*;
    use crate::inputs::{LoadOptions, Spec};

    /// Everything a problem holds, in a form two problems can be compared by.
    fn summary(p: &Problem) -> String {
        let mut out = String::new();
        for a in p.domain.attributes() {
            writeln!(out, "{} {:?} {}", a.name(), a.categories(), a.is_declared()).unwrap();
        }
        for z in &p.zones {
            writeln!(out, "{:?} {:?}", z.name, z.records).unwrap();
            for m in &z.margins {
                writeln!(out, "  {} {:?} {:?} {:?}", m.file, m.attributes, m.importance, m.targets).unwrap();
            }
        }
        if let Some(s) = &p.seed {
            writeln!(out, "{} {:?} {:?} {:?} {:?} {:?}", s.file, s.attributes, s.frame, s.weights, s.ids, s.regions)
                .unwrap();
        }
        writeln!(out, "{:?}", p.warnings).unwrap();
        out
    }

    /// A CSV file's columns, values trimmed.
    fn columns(path: &Path) -> Vec<(String, Vec<String>)> {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).unwrap();
        let mut columns: Vec<(String, Vec<String>)> =
            reader.headers().unwrap().iter().map(|h| (h.to_string(), Vec::new())).collect();
        for record in reader.records() {
            for (column, value) in columns.iter_mut().zip(record.unwrap().iter()) {
                column.1.push(value.to_string());
            }
        }
        columns
    }

    fn frame(columns: &[(String, Vec<String>)]) -> Frame {
        Frame::from_columns(columns).unwrap()
    }

    /// The problem of a shipped spec, built from its files' text, or from frames.
    fn in_memory(spec: &Spec, frames: bool) -> Problem {
        let mut b = Problem::builder()
            .source(&spec.source)
            .consistency_tolerance(spec.consistency_tolerance)
            .fit_options(&spec.fit)
            .missing_values(spec.missing_values.clone());
        for (name, categories) in &spec.attributes {
            b = b.attribute(name, categories);
        }
        let text = |path: &Path| Csv::text(path.display().to_string(), std::fs::read(path).unwrap());
        for m in &spec.margins {
            let path = spec.resolve(&m.file);
            let mut margin = if frames {
                // counts given alongside the frame
                let mut columns = columns(&path);
                let at = columns.iter().position(|(n, _)| *n == m.count).unwrap();
                let counts = columns.remove(at).1.iter().map(|c| c.parse().unwrap()).collect();
                MarginInput::frame(path.display().to_string(), frame(&columns)).counts(counts)
            } else {
                MarginInput::csv(text(&path)).count_column(&m.count)
            };
            if let Some(i) = m.importance {
                margin = margin.importance(i);
            }
            b = b.margin(margin);
        }
        if let Some(s) = &spec.seed {
            let path = spec.resolve(&s.file);
            // the weights as a text column of the frame
            let mut seed = if frames {
                SeedInput::frame(path.display().to_string(), frame(&columns(&path)))
            } else {
                SeedInput::csv(text(&path))
            };
            if let Some(w) = &s.weight {
                seed = seed.weight_column(w);
            }
            if let Some(id) = &s.id {
                seed = seed.id_columns(id.iter().cloned());
            }
            b = b.seed(seed);
        }
        if let Some(z) = &spec.zones {
            let mut zones = ZonesInput::new(&z.column);
            if let (Some(region), Some(map)) = (&z.seed_region, &z.map) {
                let path = spec.resolve(map);
                let map = if frames {
                    let columns = columns(&path);
                    let (zone, region) = (&columns[0].1, &columns[1].1);
                    ZoneMap::pairs(path.display().to_string(), zone.iter().zip(region))
                } else {
                    ZoneMap::csv(text(&path))
                };
                zones = zones.regions(region, map);
            }
            b = b.zones(zones);
        }
        b.build().unwrap()
    }

    #[test]
    fn shipped_specs_build_the_same_problem_from_memory() {
        for name in ["api_counties_regional.toml", "acs2012_entropy.toml", "acs2012_logit.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration").join(name);
            let spec = Spec::from_path(&path).unwrap();
            let loaded = summary(&Problem::load(&spec, LoadOptions::default()).unwrap());
            assert_eq!(summary(&in_memory(&spec, false)), loaded, "{name} from text");
            assert_eq!(summary(&in_memory(&spec, true)), loaded, "{name} from frames");
        }
    }

    fn sexes() -> MarginInput {
        MarginInput::frame("sex", Frame::from_columns(&[("sex", ["f", "m"])]).unwrap()).counts(vec![6.0, 4.0])
    }

    fn error(builder: ProblemBuilder) -> String {
        builder.build().unwrap_err().to_string()
    }

    #[test]
    fn errors_in_memory_name_the_table_row_and_column() {
        let seed_input =
            |columns: &[(&str, Vec<Option<&str>>)]| SeedInput::frame("persons", Frame::from_columns(columns).unwrap());
        let seed = |columns: &[(&str, Vec<Option<&str>>)]| Problem::builder().margin(sexes()).seed(seed_input(columns));
        let holes = [("id", vec![Some("a"), Some("b")]), ("sex", vec![Some("f"), None])];
        let m = error(Problem::builder().margin(sexes()).seed(seed_input(&holes).missing(MissingPolicy::Error)));
        assert!(m.starts_with("persons, row 2, column \"sex\": missing value: [seed] missing = \"error\""), "{m}");
        // by default the record is left out, and counted
        let problem = seed(&holes).build().unwrap();
        assert_eq!((problem.seed.as_ref().unwrap().len(), problem.missing[0].records_dropped), (1, 1));
        assert!(
            error(Problem::builder().margin(sexes().missing(MissingPolicy::Drop))).contains("would change its targets")
        );
        let declared = Problem::builder().attribute("sex", ["f", "NA"]).margin(sexes());
        assert!(error(declared).contains("declares category \"NA\", which is read as missing"));
        let m = error(seed(&[("sex", vec![Some("f"), Some("x")])]));
        assert!(m.starts_with("persons, row 2, column \"sex\": category \"x\" of sex appears in no margin"), "{m}");
        let m = error(seed(&[("age", vec![Some("old")])]));
        assert_eq!(m, "persons: missing attribute column \"sex\"; the table has \"age\"");
        let ids = [("id", vec![Some("a"), Some("a")]), ("sex", vec![Some("f"), Some("m")])];
        let m = error(Problem::builder().margin(sexes()).seed(seed_input(&ids).id_column("id")));
        assert_eq!(
            m,
            "persons, row 2, column \"id\": record id \"a\" appears twice (first on row 1); ids must identify records"
        );
        let weighted = |w: Vec<f64>| {
            let persons = Frame::from_columns(&[("sex", ["f", "m"])]).unwrap();
            error(Problem::builder().margin(sexes()).seed(SeedInput::frame("persons", persons).weights(w)))
        };
        assert_eq!(weighted(vec![1.0, f64::NAN]), "persons, row 2: weight is NaN: NaN");
        assert_eq!(weighted(vec![1.0]), "persons: 1 weights were given for 2 records");
        let weight_text = Frame::from_columns(&[("sex", ["f", "m"]), ("w", ["1", "lots"])]).unwrap();
        let m = error(Problem::builder().margin(sexes()).seed(SeedInput::frame("p", weight_text).weight_column("w")));
        assert_eq!(m, "p, row 2, column \"w\": weight is not a number: \"lots\"");
        // CSV text keeps its lines, whichever way it comes in
        let csv = Csv::read("sex.csv", &b"sex,count\nf,1\n\nx,2\n"[..]).unwrap();
        let m = error(Problem::builder().attribute("sex", ["f", "m"]).margin(MarginInput::csv(csv)));
        assert!(m.starts_with("sex.csv, line 4, column \"sex\": category \"x\" is not among"), "{m}");
    }

    #[test]
    fn zone_maps_from_memory_assign_regional_records() {
        let margin =
            Frame::from_columns(&[("tract", ["t1", "t1", "t2", "t2"]), ("sex", ["f", "m", "f", "m"])]).unwrap();
        let persons = Frame::from_columns(&[("sex", ["f", "m", "f"]), ("puma", ["p1", "p1", "p2"])]).unwrap();
        let build = |map: ZoneMap| {
            Problem::builder()
                .margin(MarginInput::frame("sex", margin.clone()).counts(vec![3.0, 2.0, 1.0, 4.0]))
                .seed(SeedInput::frame("persons", persons.clone()))
                .zones(ZonesInput::new("tract").regions("puma", map))
                .build()
        };
        let p = build(ZoneMap::pairs("map", [("t2", "p2"), ("t1", "p1"), ("t9", "p9")])).unwrap();
        assert_eq!(p.zones[0].records, Some(vec![0, 1]));
        assert_eq!(p.zones[1].records, Some(vec![2]));
        let csv = ZoneMap::csv(Csv::text("map.csv", "puma,tract\np1,t1\np2,t2\n"));
        assert_eq!(summary(&build(csv).unwrap()), summary(&p));
        let m = build(ZoneMap::pairs("map", [("t1", "p1"), ("t1", "p2")])).unwrap_err().to_string();
        assert_eq!(m, "map, row 2, column \"tract\": zone \"t1\" is mapped twice (first on row 1)");
        let m = build(ZoneMap::pairs("map", [("t1", "p1"), ("t2", "p3")])).unwrap_err().to_string();
        assert_eq!(
            m,
            "map, row 2, column \"puma\": zone \"t2\" maps to region \"p3\", which has no seed records in persons"
        );
    }

    #[test]
    fn the_builder_checks_its_own_settings() {
        let m = error(Problem::builder().attribute("sex", ["f", "m"]));
        assert_eq!(m, "problem: a problem needs at least one margin");
        let m =
            error(Problem::builder().source("mine").attribute("sex", ["f"]).attribute("sex", ["m"]).margin(sexes()));
        assert_eq!(m, "mine: attribute sex is declared twice");
        let m = error(Problem::builder().attribute("sex", Vec::<String>::new()).margin(sexes()));
        assert_eq!(m, "problem: attribute sex declares no categories");
        let m = error(Problem::builder().attribute("sex", ["f", " f"]).margin(sexes()));
        assert_eq!(m, "problem: attribute sex declares category \" f\" twice");
        let m = error(Problem::builder().margin(sexes()).consistency_tolerance(f64::NAN));
        assert_eq!(m, "problem: consistency_tolerance must be a non-negative number, found NaN");
        let m = error(Problem::builder().margin(sexes().importance(0.0)));
        assert_eq!(m, "problem: margin sex: importance must be a positive number, found 0");
        let regional = ZonesInput::new("sex").regions("region", ZoneMap::pairs("map", [("f", "x")]));
        let m = error(Problem::builder().margin(sexes()).zones(regional));
        assert!(m.contains("there is no seed"), "{m}");
        let m = error(Problem::builder().attribute("age", ["old"]).margin(sexes()));
        assert!(m.starts_with("problem: [attributes] declares age, which appears in no margin"), "{m}");
    }

    #[test]
    fn the_fit_tolerance_is_checked_against_the_targets() {
        let coarse = |tolerance: f64| {
            let options = FitOptions::params().tolerance(tolerance).check().unwrap();
            Problem::builder().margin(sexes()).fit_options(&options).build()
        };
        assert!(coarse(6.0).unwrap_err().to_string().contains("[fit] tolerance = 6e0 is at least every target"));
        let warned = coarse(1e-3).unwrap();
        assert!(warned.warnings[0].contains("more than a millionth of the margins' total"), "{:?}", warned.warnings);
        assert!(coarse(1e-8).unwrap().warnings.is_empty());
    }

    #[test]
    fn readers_that_fail_are_read_errors() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let err = Csv::read("stream", Broken).unwrap_err();
        assert!(matches!(err, Error::Read { .. }) && err.to_string() == "cannot read stream: disk gone", "{err}");
        let err = error(Problem::builder().margin(MarginInput::csv(Csv::file("/nonexistent/m.csv"))));
        assert!(err.starts_with("cannot read /nonexistent/m.csv"), "{err}");
    }
}
