//! Reading a PopulationSim project as it is: `settings.yaml` and `controls.csv` translated into
//! a household spec.
//!
//! Every setting is either translated, or known to need nothing here (PopulationSim's own
//! pipeline, tracing and solver choices, said in the spec's header and the notes), or an
//! error naming its line: a misspelled key that PopulationSim would silently ignore
//! (`absolute_upper_bounds`, `INTEGIZER_TIMEOUT`'s look-alikes) is reported, not skipped.
//! Control expressions are pandas expressions, which household specs read as they are; one
//! that does not parse is an error naming its line of `controls.csv`.

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use yaml_rust2::{Yaml, YamlLoader};

use super::spec::{
    ControlLayout, ControlSpec, ControlTable, ControlTableSpec, GeographySpec, HouseholdFit, HouseholdsSpec, Mode,
    PersonsSpec,
};
use crate::error::{Error, Location, Result};
use crate::inputs::expression::Expression;
use crate::inputs::{CsvFile, CsvRows, Rows};

/// A translated project.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Imported {
    /// The household spec, as TOML.
    pub spec: String,
    /// Settings read that need nothing here, each with why.
    pub notes: Vec<String>,
}

/// Settings that PopulationSim reads and populace needs no counterpart of, with why.
const NO_COUNTERPART: [(&str, &str); 35] = [
    ("INTEGERIZE_WITH_BACKSTOPPED_CONTROLS", "populace always integerizes with the parents as backstops"),
    ("SUB_BALANCE_WITH_FLOAT_SEED_WEIGHTS", "populace sub-balances whole parent households when integerizing, so children add up to their parents"),
    ("GROUP_BY_INCIDENCE_SIGNATURE", "populace's integerizer always works on incidence groups; households are never merged in the output"),
    ("INTEGERIZER_TIMEOUT", "populace's integerizer needs no solver or time limit (and PopulationSim never reads this key: it reads INTEGIZER_TIMEOUT)"),
    ("INTEGIZER_TIMEOUT", "populace's integerizer needs no solver or time limit"),
    ("USE_SIMUL_INTEGERIZER", "populace always integerizes a parent's child zones together"),
    ("USE_CVXPY", "populace needs no linear-programming solver"),
    ("USE_NUMBA", "a PopulationSim implementation choice"),
    ("NUMBA_PRECISION", "populace balances in 64-bit floating point"),
    ("MAX_BALANCE_ITERATIONS_SIMULTANEOUS", "[fit] max_iterations applies to every balancing"),
    ("trace_geography", "PopulationSim's tracing"),
    ("trace_hh_id", "PopulationSim's tracing"),
    ("run_list", "populace runs the same steps: fit, then generate"),
    ("output_tables", "populace writes weights.csv and report.json"),
    ("models", "PopulationSim's pipeline"),
    ("resume_after", "PopulationSim's pipeline"),
    ("multiprocess", "populace balances zones on every core"),
    ("multiprocess_steps", "populace balances zones on every core"),
    ("num_processes", "populace balances zones on every core"),
    ("chunk_size", "PopulationSim's memory chunking"),
    ("memory_profile", "PopulationSim's profiling"),
    ("cleanup_pipeline_after_run", "PopulationSim's pipeline store"),
    ("checkpoints", "PopulationSim's pipeline store"),
    ("pipeline_file_name", "PopulationSim's pipeline store"),
    ("input_store", "PopulationSim's pipeline store"),
    ("create_input_store", "PopulationSim's pipeline store"),
    ("strict", "PopulationSim's logging"),
    ("fail_fast", "PopulationSim's logging"),
    ("rotate_logs", "PopulationSim's logging"),
    ("instrument", "PopulationSim's profiling"),
    ("keep_mem_logs", "PopulationSim's profiling"),
    ("cleanup_trace_files_on_resume", "PopulationSim's tracing"),
    ("repop", "repopulation runs are not translated; the base run is"),
    ("repop_control_file_name", "repopulation runs are not translated; the base run is"),
    ("repop_input_table_list", "repopulation runs are not translated; the base run is"),
];

/// Settings translated into the spec.
const TRANSLATED: [&str; 17] = [
    "geographies",
    "seed_geography",
    "household_weight_col",
    "household_id_col",
    "total_hh_control",
    "max_expansion_factor",
    "min_expansion_factor",
    "absolute_upper_bound",
    "absolute_lower_bound",
    "USE_HARD_CONSTRAINTS",
    "NO_INTEGERIZATION_EVER",
    "input_table_list",
    "control_file_name",
    "MAX_BALANCE_ITERATIONS_SEQUENTIAL",
    "output_synthetic_population",
    "rng_base_seed",
    "data_dir",
];

/// The spec as written out.
#[derive(Serialize)]
struct SpecOut {
    /// PopulationSim reads CSV with pandas' `comment="#"`.
    comment: &'static str,
    geography: GeographySpec,
    households: HouseholdsSpec,
    persons: Option<PersonsSpec>,
    controls: Vec<ControlTableSpec>,
    control: Vec<ControlSpec>,
    fit: HouseholdFit,
}

/// `settings.yaml` with the lines of its keys, for messages.
struct Settings<'a> {
    name: String,
    text: &'a str,
    root: &'a yaml_rust2::yaml::Hash,
}

impl Settings<'_> {
    /// The line of the first `key:` at or after line `after` (1-based), if found.
    fn line(&self, key: &str, after: u64) -> Option<u64> {
        self.text.lines().enumerate().skip(after.saturating_sub(1) as usize).find_map(|(i, l)| {
            let l = l.trim_start().trim_start_matches("- ");
            let rest = l.strip_prefix(key)?;
            rest.trim_start().starts_with(':').then_some(i as u64 + 1)
        })
    }

    fn at(&self, key: &str) -> Location {
        let location = Location::file(&self.name);
        match self.line(key, 1) {
            Some(line) => location.at_line(line),
            None => location,
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::input(self.at(key), format!("{key}: {}", message.into()))
    }

    fn get(&self, key: &str) -> Option<&Yaml> {
        self.root.get(&Yaml::String(key.to_string())).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar(v).map(Some).ok_or_else(|| self.error(key, "expected a name")),
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?.ok_or_else(|| {
            Error::input(Location::file(&self.name), format!("{key} is missing: PopulationSim requires it"))
        })
    }

    fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| self.error(key, "expected a number")),
        }
    }

    fn flag(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(key, "expected True or False")),
        }
    }
}

/// A YAML scalar as text.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// A YAML number.
fn number(v: &Yaml) -> Option<f64> {
    match v {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(s) => s.parse().ok(),
        _ => None,
    }
}

/// A YAML map of names to names (`rename_columns`).
fn renames(v: Option<&Yaml>) -> Option<IndexMap<String, String>> {
    match v {
        None | Some(Yaml::Null) => Some(IndexMap::new()),
        Some(Yaml::Hash(h)) => h.iter().map(|(k, v)| Some((scalar(k)?, scalar(v)?))).collect(),
        Some(_) => None,
    }
}

/// The closest known key to `key`, when it is close (a misspelling).
fn suggestion(key: &str) -> Option<&'static str> {
    let known = TRANSLATED.iter().copied().chain(NO_COUNTERPART.iter().map(|(k, _)| *k));
    let lower = key.to_ascii_lowercase();
    known
        .map(|k| (distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|&(d, k)| d <= 2.max(k.len() / 8))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (row[j + 1] + 1).min(row[j] + 1).min(previous + usize::from(ca != cb));
            previous = here;
        }
    }
    row[b.len()]
}

/// `target` relative to the folder `from` (both made absolute against the current folder).
fn relative(target: &Path, from: &Path) -> PathBuf {
    let absolute = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    };
    let (target, from) = (absolute(target), absolute(from));
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    // Sharing only the root: the absolute path reads better than a climb to it.
    if common <= 1 {
        return target;
    }
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

/// Translates the PopulationSim project whose settings and controls are in `configs` and
/// whose data files are in `data` into a household spec to be written in the folder `out`
/// (its paths relative to it).
///
/// # Errors
/// [`Error::Read`] for a file that cannot be read; [`Error::Input`] naming the file and line
/// of a setting or control that cannot be translated.
pub fn import_populationsim(configs: &Path, data: &Path, out: &Path) -> Result<Imported> {
    let settings_path = configs.join("settings.yaml");
    let name = settings_path.display().to_string();
    let bytes = crate::memory::read_file(&settings_path, &name)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::input(Location::file(&name), "settings.yaml is not valid UTF-8"))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| {
        Error::input(Location::file(&name).at_line(e.marker().line() as u64), format!("not YAML: {}", e.info()))
    })?;
    let empty = yaml_rust2::yaml::Hash::new();
    let root = match docs.first() {
        Some(Yaml::Hash(h)) => h,
        None => &empty,
        Some(_) => return Err(Error::input(Location::file(&name), "expected a map of settings")),
    };
    let settings = Settings { name: name.clone(), text: &text, root };
    let mut notes = Vec::new();

    // Every key: translated, known to need nothing, or an error.
    for key in root.keys() {
        let key = scalar(key).unwrap_or_default();
        if TRANSLATED.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, why)) = NO_COUNTERPART.iter().find(|(k, _)| *k == key) {
            notes.push(format!("{}: {key}: no effect here: {why}", settings.at(&key)));
            continue;
        }
        if key == "households_sample_size" {
            if settings.number(&key)?.is_some_and(|n| n != 0.0) {
                return Err(settings.error(&key, "sampling the seed households is not translated: use the whole seed"));
            }
            continue;
        }
        let hint = match suggestion(&key) {
            Some(k) => format!(
                "PopulationSim does not read this key (did you mean {k}?), so it has had no effect there; rename it \
                 to apply it, or remove it to keep PopulationSim's results"
            ),
            None => "not a PopulationSim setting populace knows; remove it or tell us what it should do".to_string(),
        };
        return Err(settings.error(&key, hint));
    }

    let levels: Vec<String> = match settings.get("geographies") {
        Some(Yaml::Array(a)) => a
            .iter()
            .map(scalar)
            .collect::<Option<_>>()
            .ok_or_else(|| settings.error("geographies", "expected a list of names"))?,
        Some(_) => return Err(settings.error("geographies", "expected a list of names")),
        None => return Err(Error::input(Location::file(&name), "geographies is missing: PopulationSim requires it")),
    };
    let seed = settings.required("seed_geography")?;
    let weight = settings.required("household_weight_col")?;
    let id = settings.required("household_id_col")?;
    let total = settings.required("total_hh_control")?;
    let data = match settings.string("data_dir")? {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        _ => data.to_path_buf(),
    };

    // Tables.
    let Some(Yaml::Array(tables)) = settings.get("input_table_list") else {
        return Err(Error::input(Location::file(&name), "input_table_list is missing or not a list"));
    };
    let list_line = settings.line("input_table_list", 1).unwrap_or(1);
    let mut households: Option<HouseholdsSpec> = None;
    let mut persons: Option<PersonsSpec> = None;
    let mut crosswalk: Option<(PathBuf, IndexMap<String, String>)> = None;
    let mut control_tables: Vec<ControlTableSpec> = Vec::new();
    let mut after = list_line;
    for table in tables {
        let Yaml::Hash(table) = table else {
            return Err(Error::input(
                Location::file(&name).at_line(after),
                "input_table_list: expected a map per table",
            ));
        };
        let get = |k: &str| table.get(&Yaml::String(k.to_string())).filter(|v| !v.is_null());
        let tablename = get("tablename").and_then(scalar).unwrap_or_default();
        let line = settings.line("tablename", after).unwrap_or(after);
        after = line + 1;
        let here = || Location::file(&name).at_line(line);
        for key in table.keys() {
            let key = scalar(key).unwrap_or_default();
            match key.as_str() {
                "tablename" | "filename" | "rename_columns" | "column_map" | "index_col" | "dtypes" => {}
                "drop_columns" | "keep_columns" => notes.push(format!(
                    "{}: table {tablename}: {key} is not translated; the output columns are \
                     output_synthetic_population's (or all)",
                    here()
                )),
                other => {
                    return Err(Error::input(
                        here(),
                        format!("table {tablename}: {other} is not translated (known: tablename, filename, rename_columns, column_map, index_col, dtypes)"),
                    ))
                }
            }
        }
        let filename = get("filename")
            .and_then(scalar)
            .ok_or_else(|| Error::input(here(), format!("table {tablename}: filename is missing")))?;
        let file = relative(&data.join(&filename), out);
        let mut rename = renames(get("rename_columns")).ok_or_else(|| {
            Error::input(here(), format!("table {tablename}: rename_columns must map names to names"))
        })?;
        rename.extend(
            renames(get("column_map")).ok_or_else(|| {
                Error::input(here(), format!("table {tablename}: column_map must map names to names"))
            })?,
        );
        match tablename.as_str() {
            "households" => {
                households = Some(HouseholdsSpec {
                    file,
                    id: id.clone(),
                    weight: weight.clone(),
                    total_control: total.clone(),
                    rename,
                    columns: None,
                })
            }
            "persons" => {
                persons = Some(PersonsSpec {
                    file,
                    household_id: id.clone(),
                    rename,
                    columns: None,
                    role: None,
                    roles: IndexMap::new(),
                })
            }
            "geo_cross_walk" => crosswalk = Some((file, rename)),
            t => match t.strip_suffix("_control_data") {
                Some(level) if levels.iter().any(|l| l == level) => control_tables.push(ControlTableSpec {
                    geography: level.to_string(),
                    file,
                    layout: ControlLayout::Wide,
                    rename,
                }),
                _ => {
                    return Err(Error::input(
                        here(),
                        format!(
                            "table \"{t}\" is not translated: expected households, persons, geo_cross_walk or \
                             <GEOGRAPHY>_control_data for a geography of {}",
                            levels.join(", ")
                        ),
                    ))
                }
            },
        }
    }
    let mut households = households
        .ok_or_else(|| Error::input(here_of(&name, list_line), "input_table_list has no households table"))?;
    let (crosswalk, crosswalk_rename) = match crosswalk {
        Some((file, rename)) => (Some(file), rename),
        None if levels.len() > 1 => {
            return Err(Error::input(here_of(&name, list_line), "input_table_list has no geo_cross_walk table"))
        }
        None => (None, IndexMap::new()),
    };

    // Output columns.
    if let Some(output) = settings.get("output_synthetic_population") {
        let at = settings.at("output_synthetic_population");
        let Yaml::Hash(output) = output else {
            return Err(Error::input(at, "output_synthetic_population: expected a map"));
        };
        let get = |k: &str| output.get(&Yaml::String(k.to_string())).filter(|v| !v.is_null());
        if let Some(hid) = get("household_id").and_then(scalar) {
            if hid != super::HOUSEHOLD_ID {
                return Err(Error::input(
                    at,
                    format!(
                        "output_synthetic_population household_id \"{hid}\": populace names the synthetic household \
                         id column \"{}\"",
                        super::HOUSEHOLD_ID
                    ),
                ));
            }
        }
        let columns = |table: &str| -> Result<Option<Vec<String>>> {
            match get(table) {
                None => Ok(None),
                Some(Yaml::Hash(t)) => match t.get(&Yaml::String("columns".into())) {
                    None | Some(Yaml::Null) => Ok(None),
                    Some(Yaml::Array(a)) => a
                        .iter()
                        .map(scalar)
                        .collect::<Option<Vec<String>>>()
                        .map(Some)
                        .ok_or_else(|| Error::input(at.clone(), format!("{table} columns: expected names"))),
                    Some(_) => Err(Error::input(at.clone(), format!("{table} columns: expected a list"))),
                },
                Some(_) => Err(Error::input(at.clone(), format!("{table}: expected a map"))),
            }
        };
        households.columns = columns("households")?;
        if let Some(p) = &mut persons {
            p.columns = columns("persons")?;
        }
    }

    // Controls.
    let control_file = settings.string("control_file_name")?.unwrap_or_else(|| "controls.csv".into());
    let controls = read_controls(&configs.join(&control_file), &levels)?;

    let max_iterations = settings.number("MAX_BALANCE_ITERATIONS_SEQUENTIAL")?;
    let fit = HouseholdFit {
        mode: Mode::Synthesize,
        integerize: Some(!settings.flag("NO_INTEGERIZATION_EVER")?.unwrap_or(false)),
        max_expansion_factor: settings.number("max_expansion_factor")?,
        min_expansion_factor: settings.number("min_expansion_factor")?,
        absolute_upper_bound: settings.number("absolute_upper_bound")?,
        absolute_lower_bound: settings.number("absolute_lower_bound")?,
        hard_bounds: settings.flag("USE_HARD_CONSTRAINTS")?.unwrap_or(false),
        exact_household_totals: true,
        balancer: super::spec::Balancer::Newton,
        max_iterations: max_iterations.map_or(HouseholdFit::default().max_iterations, |m| m.max(1.0) as usize),
        random_seed: settings.number("rng_base_seed")?.map_or(HouseholdFit::default().random_seed, |s| s as u64),
    };
    let spec = SpecOut {
        comment: "#",
        geography: GeographySpec { levels, seed, crosswalk, rename: crosswalk_rename },
        households,
        persons,
        controls: control_tables,
        control: controls,
        fit,
    };
    let body = toml::to_string_pretty(&spec).map_err(|e| Error::Inconsistent(format!("writing the spec: {e}")))?;
    let mut header =
        format!("# Translated by `populace import populationsim` from {} and {}.\n", configs.display(), data.display());
    for note in &notes {
        header.push_str(&format!("# {note}\n"));
    }
    header.push_str(
        "# balancer = \"newton\" (under [fit]) solves PopulationSim's balancing problem with its importances as given; \
         \"populationsim\" runs PopulationSim's own sweeps and gives its weights.\n",
    );
    Ok(Imported { spec: format!("{header}\n{body}"), notes })
}

fn here_of(name: &str, line: u64) -> Location {
    Location::file(name).at_line(line)
}

/// The rows of `controls.csv`.
fn read_controls(path: &Path, levels: &[String]) -> Result<Vec<ControlSpec>> {
    let name = path.display().to_string();
    let bytes = crate::memory::read_file(path, &name)?;
    let mut rows = CsvRows::new(CsvFile::from_bytes(bytes, &name)?);
    const COLUMNS: [&str; 6] = ["target", "geography", "seed_table", "importance", "control_field", "expression"];
    for (i, h) in rows.headers().iter().enumerate() {
        if !COLUMNS.contains(&h.as_str()) && Some(i) != rows.ignored() && h != "control_group" {
            return Err(Error::input(
                rows.at(1).at_column(h),
                format!("column \"{h}\" is not translated (known: {})", COLUMNS.join(", ")),
            ));
        }
    }
    let cols: Vec<usize> = COLUMNS.iter().map(|c| rows.column(c, "controls")).collect::<Result<_>>()?;
    let mut out: Vec<ControlSpec> = Vec::new();
    while let Some(line) = rows.next()? {
        let field = |i: usize| -> Result<String> { Ok(rows.field(line, cols[i])?.unwrap_or_default().to_string()) };
        let at = |i: usize| rows.at(line).at_column(COLUMNS[i]);
        let target = field(0)?;
        let geography = field(1)?;
        if !levels.contains(&geography) {
            return Err(Error::input(
                at(1),
                format!("\"{geography}\" is not one of the geographies ({})", levels.join(", ")),
            ));
        }
        let table = match field(2)?.as_str() {
            "households" => ControlTable::Households,
            "persons" => ControlTable::Persons,
            other => {
                return Err(Error::input(at(2), format!("seed_table \"{other}\": expected households or persons")))
            }
        };
        let importance_text = field(3)?;
        let importance: f64 =
            importance_text.parse().ok().filter(|u: &f64| u.is_finite() && *u > 0.0).ok_or_else(|| {
                Error::input(at(3), format!("importance \"{importance_text}\" is not a positive number"))
            })?;
        let expression = field(5)?;
        Expression::parse(&expression, &[table.as_str()]).map_err(|m| Error::input(at(5), m))?;
        if out.iter().any(|c| c.name == target) {
            return Err(Error::input(at(0), format!("target \"{target}\" appears twice")));
        }
        out.push(ControlSpec {
            name: target,
            geography,
            table,
            expression,
            column: field(4)?,
            importance: Some(importance),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_are_recognised() {
        assert_eq!(suggestion("absolute_upper_bounds"), Some("absolute_upper_bound"));
        assert_eq!(suggestion("max_expansion_factors"), Some("max_expansion_factor"));
        assert_eq!(suggestion("something_else_entirely"), None);
    }

    #[test]
    fn paths_are_relative_to_the_output() {
        assert_eq!(relative(Path::new("/a/b/data/x.csv"), Path::new("/a/out")), Path::new("../b/data/x.csv"));
        assert_eq!(relative(Path::new("/a/out/x.csv"), Path::new("/a/out")), Path::new("x.csv"));
        assert_eq!(relative(Path::new("/d/x.csv"), Path::new("/a/out")), Path::new("/d/x.csv"));
    }
}
