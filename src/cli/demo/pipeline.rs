//! `populace demo`: the whole pipeline on the data shipped with populace, and its report.
//!
//! [`run`] writes the embedded inputs (the ACS 2012 seed, margins and persons; the ANES 1996
//! responses; the EU-SILC 2006 seed households, persons and controls; their specs) to
//! `DIR/inputs/`, so it works from any folder and every stage can be rerun by hand; then it
//! calibrates the seed to the margins (`DIR/fit/`), draws a calibrated and a naive pool
//! (`DIR/pools/`), compares both with the truth (`DIR/compare/`), runs the ACS 2012 pools
//! experiment on those pools and the ANES 1996 conditioning experiment
//! (`DIR/evaluate-acs2012/`, `DIR/evaluate-anes1996/`), fits the EU-SILC households and their
//! persons to state and region controls (`DIR/households/`), and writes `DIR/report.html` and
//! `DIR/report.md` with the figures in `DIR/figures/`. Every number comes from the run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use populace::comparison::{compare, CompareOptions, Comparison, ReadOptions, Table as CompareTable};
use populace::error::{Error, Result};
use populace::evaluation::report::{PredictorReport, ReplicationRate};
use populace::evaluation::{
    evaluate, evaluation_panels, summary_markdown, Evaluation, ExperimentSpec, PredictorKind, Verdict,
};
use populace::fitting::{fit, DenseFit, Fitted};
use populace::generation::{GenerateOptions, GenerateSummary, Mode, Pool, Source};
use populace::households;
use populace::inputs::{HouseholdProblem, HouseholdSpec, LoadOptions, Problem, Spec};
use populace::metrics::{fit_quality, FitQuality};
use populace::reports::chart::{interval_svg, write_interval_svg, Interval, IntervalPanel};
use populace::reports::{
    write_atomic, write_household_weights_csv, write_joint_csv, write_json, write_seed_weights_csv, FitReport,
    HouseholdReport,
};
use serde::Serialize;

use super::report::{Block, DataTable, Figure, Report, Section};

/// The shipped inputs, by path relative to the repository root (and to `DIR/inputs/`).
const INPUTS: [(&str, &str); 19] = [
    ("calibration/acs2012.toml", include_str!("../../../calibration/acs2012.toml")),
    ("calibration/experiment_acs2012.toml", include_str!("../../../calibration/experiment_acs2012.toml")),
    ("calibration/experiment_anes1996.toml", include_str!("../../../calibration/experiment_anes1996.toml")),
    ("marginals/acs2012/seed.csv", include_str!("../../../marginals/acs2012/seed.csv")),
    ("marginals/acs2012/age_sex.csv", include_str!("../../../marginals/acs2012/age_sex.csv")),
    ("marginals/acs2012/age_education.csv", include_str!("../../../marginals/acs2012/age_education.csv")),
    ("marginals/acs2012/age_income.csv", include_str!("../../../marginals/acs2012/age_income.csv")),
    ("marginals/acs2012/age_married.csv", include_str!("../../../marginals/acs2012/age_married.csv")),
    ("marginals/acs2012/sex_employment.csv", include_str!("../../../marginals/acs2012/sex_employment.csv")),
    ("marginals/acs2012/race_sex.csv", include_str!("../../../marginals/acs2012/race_sex.csv")),
    ("marginals/acs2012/persons.csv", include_str!("../../../marginals/acs2012/persons.csv")),
    ("marginals/anes1996/anes1996.csv", include_str!("../../../marginals/anes1996/anes1996.csv")),
    ("marginals/anes1996/README.md", include_str!("../../../marginals/anes1996/README.md")),
    ("calibration/eusilc_households.toml", include_str!("../../../calibration/eusilc_households.toml")),
    ("marginals/eusilc/seed_households.csv", include_str!("../../../marginals/eusilc/seed_households.csv")),
    ("marginals/eusilc/seed_persons.csv", include_str!("../../../marginals/eusilc/seed_persons.csv")),
    ("marginals/eusilc/crosswalk.csv", include_str!("../../../marginals/eusilc/crosswalk.csv")),
    ("marginals/eusilc/state_controls.csv", include_str!("../../../marginals/eusilc/state_controls.csv")),
    ("marginals/eusilc/region_controls.csv", include_str!("../../../marginals/eusilc/region_controls.csv")),
];

/// Persons in each pool.
pub const POOL_PERSONS: u64 = 2000;
/// Seed of the pools.
pub const POOL_SEED: u64 = 1;

/// What the demo did: where the report is, the headline findings, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Demo {
    /// `DIR/report.html`.
    pub html: PathBuf,
    /// `DIR/report.md`.
    pub markdown: PathBuf,
    /// The three headline findings.
    pub findings: Findings,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// Warnings from the stages (none with the shipped data).
    pub warnings: Vec<String>,
}

/// The headline findings, each a sentence and its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    /// Calibrated against naive pool: the joint structure.
    pub pools: PoolsFinding,
    /// Does conditioning on the profile improve predictions of individuals (ANES 1996)?
    pub conditioning: ConditioningFinding,
    /// Does a main-effects simulator replicate main effects and interactions (ANES 1996)?
    pub replication: ReplicationFinding,
}

/// An estimate with its confidence interval.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Estimate {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
}

/// Calibrated against naive pool, both against the truth.
#[derive(Debug, Clone, Serialize)]
pub struct PoolsFinding {
    /// The sentence.
    pub headline: String,
    /// Mean SRMSE of the calibrated pool's two-way margins.
    pub calibrated_srmse_2way: f64,
    /// Mean SRMSE of the naive pool's two-way margins.
    pub naive_srmse_2way: f64,
    /// Mean |ΔV| (Cramér's V, pool − truth) of the calibrated pool.
    pub calibrated_mean_abs_dv: f64,
    /// Mean |ΔV| of the naive pool.
    pub naive_mean_abs_dv: f64,
}

/// One predictor's individual-level result.
#[derive(Debug, Clone, Serialize)]
pub struct PredictorFinding {
    /// Predictor name.
    pub predictor: String,
    /// Held-out pseudo-R² against the baseline.
    pub pseudo_r2: Estimate,
    /// The decision rule's verdict.
    pub verdict: String,
}

/// Conditioning on the profile against answer history, ANES 1996.
#[derive(Debug, Clone, Serialize)]
pub struct ConditioningFinding {
    /// The sentence.
    pub headline: String,
    /// The profile predictor.
    pub profile: PredictorFinding,
    /// The answer-history predictor.
    pub history: PredictorFinding,
}

/// Effect replication by the profile predictor's simulated answers, ANES 1996.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicationFinding {
    /// The sentence.
    pub headline: String,
    /// The simulating predictor.
    pub predictor: String,
    /// Main effects replicated.
    pub main_replicated: u64,
    /// Main effects significant in the real answers.
    pub main_real: u64,
    /// Interactions replicated.
    pub interactions_replicated: u64,
    /// Interactions significant in the real answers.
    pub interactions_real: u64,
}

/// Runs the demo into `dir`, reporting each step to `progress`.
pub fn run(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Demo> {
    let start = Instant::now();
    let mut warnings = Vec::new();
    progress("writing the shipped inputs");
    let inputs = dir.join("inputs");
    for (path, text) in INPUTS {
        let path = inputs.join(path);
        create_parent(&path)?;
        write_atomic(&path, |w| w.write_all(text.as_bytes()))?;
    }

    progress("calibrating the ACS 2012 seed to its two-way margins (IPF)");
    let spec = Spec::from_path(&inputs.join("calibration/acs2012.toml"))?;
    let problem = Problem::load(&spec, LoadOptions::default())?;
    warnings.extend(problem.warnings.iter().cloned());
    let fit_start = Instant::now();
    let fitted = fit(&problem, &spec.fit, &mut [])?;
    let Fitted::Joint(fit) = &fitted else {
        return Err(Error::Inconsistent("the ACS 2012 spec does not fit a dense joint (method = \"ipf\")".into()));
    };
    let fit_dir = dir.join("fit");
    std::fs::create_dir_all(&fit_dir).map_err(|e| Error::write(&fit_dir, e))?;
    write_joint_csv(&fit_dir.join("joint.csv"), &problem.domain, &fit.joint)?;
    write_json(&fit_dir.join("report.json"), &FitReport::new(&problem, fit, fit_start.elapsed().as_secs_f64()))?;
    let margins = margin_fit(&problem, fit)?;
    write_json(&fit_dir.join("margins.json"), &margins)?;

    let pools_dir = dir.join("pools");
    let mut pools = Vec::new();
    for (name, source) in [("naive", Source::Independent), ("calibrated", Source::Calibrated)] {
        progress(&format!("drawing the {name} pool of {POOL_PERSONS} persons"));
        let options =
            GenerateOptions::default().persons(Some(POOL_PERSONS)).mode(Mode::Exact).source(source).seed(POOL_SEED);
        // the calibrated pool is drawn from the fit above; the naive one fits its own stand-in
        let pool = match source {
            Source::Calibrated => Pool::from_fitted(&problem, &fitted, &options)?,
            _ => Pool::new(&problem, &spec.fit, &options, &mut [])?,
        };
        warnings.extend(pool.warnings().iter().cloned());
        let path = pools_dir.join(format!("{name}.csv"));
        create_parent(&path)?;
        pools.push((name, path.clone(), pool.write_file(&path, &mut |_| {})?));
    }

    progress("comparing both pools with the ACS 2012 persons");
    let truth_path = inputs.join("marginals/acs2012/persons.csv");
    let truth = CompareTable::read(&truth_path, &ReadOptions::default())?;
    let tables =
        pools.iter().map(|(_, p, _)| CompareTable::read(p, &ReadOptions::default())).collect::<Result<Vec<_>>>()?;
    let comparison = compare(&truth, &tables, &CompareOptions::default())?;
    warnings.extend(comparison.notes.iter().cloned());
    let compare_dir = dir.join("compare");
    std::fs::create_dir_all(&compare_dir).map_err(|e| Error::write(&compare_dir, e))?;
    write_json(&compare_dir.join("comparison.json"), &comparison)?;
    let compare_svg = compare_dir.join("compare.svg");
    comparison.write_svg(&compare_svg)?;
    let compare_svg = std::fs::read_to_string(&compare_svg).map_err(|e| Error::read(&compare_svg, e))?;

    let mut acs_spec = ExperimentSpec::from_path(&inputs.join("calibration/experiment_acs2012.toml"))?;
    for pool in &mut acs_spec.pools {
        match pools.iter().find(|(name, _, _)| *name == pool.name) {
            Some((_, path, _)) => pool.file = path.clone(),
            None => {
                return Err(Error::Inconsistent(format!(
                    "the ACS 2012 experiment's pool {:?} is not drawn by the demo",
                    pool.name
                )))
            }
        }
    }
    let acs = run_experiment(&acs_spec, &dir.join("evaluate-acs2012"), "ACS 2012 pools experiment", progress)?;
    let anes_spec = ExperimentSpec::from_path(&inputs.join("calibration/experiment_anes1996.toml"))?;
    let anes =
        run_experiment(&anes_spec, &dir.join("evaluate-anes1996"), "ANES 1996 conditioning experiment", progress)?;
    warnings.extend(acs.warnings.iter().chain(&anes.warnings).cloned());

    progress("fitting the EU-SILC 2006 households and persons to state and region controls");
    let (households, households_svg) =
        fit_households(&inputs.join("calibration/eusilc_households.toml"), &dir.join("households"), &mut warnings)?;

    progress("writing the report");
    let findings = findings(&comparison, &anes)?;
    let seconds = start.elapsed().as_secs_f64();
    let context = Context {
        dir,
        problem: &problem,
        fit,
        margins: &margins,
        pools: &pools,
        comparison: &comparison,
        compare_svg,
        acs: &acs,
        anes: &anes,
        households: &households,
        households_svg,
        seconds,
    };
    let report = report(&context, &findings)?;
    let (html, markdown) = report.write(dir)?;
    let demo = Demo { html, markdown, findings, seconds, warnings };
    write_json(&dir.join("findings.json"), &demo)?;
    Ok(demo)
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))
        }
        _ => Ok(()),
    }
}

/// Evaluates a spec and writes what `populace evaluate` writes into `out`.
fn run_experiment(spec: &ExperimentSpec, out: &Path, what: &str, progress: &mut dyn FnMut(&str)) -> Result<Evaluation> {
    progress(what);
    let result = evaluate(spec, &mut |step| progress(&format!("{what}: {step}")))?;
    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    write_json(&out.join("evaluation.json"), &result)?;
    write_interval_svg(&evaluation_panels(&result), &out.join("evaluation.svg"))?;
    let markdown = format!(
        "{}\n![Pseudo-R² and relative TV gain against the baseline, with CIs](evaluation.svg)\n",
        summary_markdown(&result)
    );
    write_atomic(&out.join("summary.md"), |w| w.write_all(markdown.as_bytes()))?;
    Ok(result)
}

/// Fits the household spec at `path` and writes what `populace fit` writes for it into `out`
/// (`weights.csv`, `seed_weights.csv`, `report.json`, `controls.svg`); returns the report and
/// its chart. The problem's notes are added to `warnings`.
fn fit_households(path: &Path, out: &Path, warnings: &mut Vec<String>) -> Result<(HouseholdReport, String)> {
    let start = Instant::now();
    let spec = HouseholdSpec::from_path(path)?;
    let problem = HouseholdProblem::load_for_fit(&spec)?;
    warnings.extend(problem.notes.iter().cloned());
    let fit_start = Instant::now();
    let weights = households::fit(&problem, &spec.fit)?;
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    write_household_weights_csv(&out.join("weights.csv"), &problem, &weights)?;
    write_seed_weights_csv(&out.join("seed_weights.csv"), &problem, &weights)?;
    let report = HouseholdReport::new(&problem, &weights, spec.fit.mode, fit_seconds, start.elapsed().as_secs_f64());
    write_json(&out.join("report.json"), &report)?;
    let svg = interval_svg(&report.panels())?;
    write_atomic(&out.join("controls.svg"), |w| w.write_all(svg.as_bytes()))?;
    Ok((report, svg))
}

/// One margin's fit before (the seed's weighted margin) and after calibration (the fitted
/// joint's margin), both against the margin's targets.
#[derive(Debug, Clone, Serialize)]
struct MarginRow {
    file: String,
    attributes: Vec<String>,
    before: FitQuality,
    after: FitQuality,
}

fn margin_fit(problem: &Problem, fit: &DenseFit) -> Result<Vec<MarginRow>> {
    let domain = &problem.domain;
    let seed = problem.seed.as_ref().ok_or_else(|| Error::Inconsistent("the ACS 2012 spec has no seed".into()))?;
    let joint = &fit.joint;
    let mut rows = Vec::new();
    for m in &problem.single_zone().margins {
        let sizes = domain.sizes(&m.attributes);
        let mut before = vec![0.0; m.targets.len()];
        for i in 0..seed.len() {
            let cell = m.attributes.iter().zip(&sizes).fold(0, |acc, (&a, &s)| acc * s + seed.code(i, a) as usize);
            before[cell] += seed.weights[i];
        }
        // the fitted joint spans every attribute in domain order
        let after = joint.marginal(&m.attributes)?.values;
        let quality = |estimate: &[f64]| {
            fit_quality(estimate, &m.targets).map_err(|e| Error::Inconsistent(format!("{}: {e}", m.file)))
        };
        rows.push(MarginRow {
            file: m.file.clone(),
            attributes: m.attributes.iter().map(|&a| domain.attribute(a).name().to_string()).collect(),
            before: quality(&before)?,
            after: quality(&after)?,
        });
    }
    Ok(rows)
}

fn estimate(v: &populace::evaluation::Estimate) -> Option<Estimate> {
    v.is_finite().then_some(Estimate { estimate: v.estimate, ci_low: v.ci_low, ci_high: v.ci_high })
}

/// A number with `digits` decimals and a real minus sign.
fn num(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => format!("−{rest}"),
        Some(rest) => rest.to_string(),
        None => s,
    }
}

/// `0.0035 [−0.0060, 0.0126]`, or `–` when missing.
fn ci(v: &populace::evaluation::Estimate, digits: usize) -> String {
    estimate(v).map_or("–".into(), |e| {
        format!("{} [{}, {}]", num(e.estimate, digits), num(e.ci_low, digits), num(e.ci_high, digits))
    })
}

fn missing(what: &str) -> Error {
    Error::Inconsistent(format!("the demo's results lack {what}"))
}

/// The first predictor of a kind in an evaluation.
fn predictor_of_kind(evaluation: &Evaluation, kind: PredictorKind) -> Result<(&str, &PredictorReport)> {
    evaluation
        .predictors
        .iter()
        .find(|(_, p)| p.kind == kind)
        .map(|(n, p)| (n.as_str(), p))
        .ok_or_else(|| missing(&format!("a {kind} predictor")))
}

fn findings(comparison: &Comparison, anes: &Evaluation) -> Result<Findings> {
    let pool = |name: &str| {
        comparison.pools.iter().find(|p| p.name == name).ok_or_else(|| missing(&format!("the {name} pool")))
    };
    let (naive, calibrated) = (pool("naive")?, pool("calibrated")?);
    let two_way = |p: &populace::comparison::PoolComparison| p.mean_srmse(2).ok_or_else(|| missing("two-way margins"));
    let dv =
        |p: &populace::comparison::PoolComparison| p.association.mean_abs_change.ok_or_else(|| missing("Cramér's V"));
    let (c2, n2, cv, nv) = (two_way(calibrated)?, two_way(naive)?, dv(calibrated)?, dv(naive)?);
    let pools = PoolsFinding {
        headline: format!(
            "Calibrated pool against naive pool (ACS 2012, {POOL_PERSONS} persons each): mean two-way SRMSE {} vs {}, \
             mean Cramér's V error |ΔV| {} vs {} — {}",
            num(c2, 3),
            num(n2, 3),
            num(cv, 3),
            num(nv, 3),
            if c2 < n2 {
                "calibration recovers the joint structure that one-way margins lose."
            } else {
                "calibration did not beat the naive pool here."
            }
        ),
        calibrated_srmse_2way: c2,
        naive_srmse_2way: n2,
        calibrated_mean_abs_dv: cv,
        naive_mean_abs_dv: nv,
    };
    let individual = |kind: PredictorKind| -> Result<(PredictorFinding, String)> {
        let (name, p) = predictor_of_kind(anes, kind)?;
        let finding = PredictorFinding {
            predictor: name.to_string(),
            pseudo_r2: estimate(&p.individual.overall.pseudo_r2).ok_or_else(|| missing("a pseudo-R²"))?,
            verdict: p.verdict.to_string(),
        };
        Ok((finding, ci(&p.individual.overall.pseudo_r2, 4)))
    };
    let ((profile, profile_ci), (history, history_ci)) =
        (individual(PredictorKind::Profile)?, individual(PredictorKind::History)?);
    let does = |f: &PredictorFinding| if f.verdict == "improves individuals" { "improves" } else { "does not improve" };
    let conditioning = ConditioningFinding {
        headline: format!(
            "Conditioning on the profile (ANES 1996): held-out pseudo-R² {profile_ci} — {} predictions of \
             individuals (verdict: {}); conditioning on answers to the other items instead {} them: {history_ci} \
             (verdict: {}).",
            does(&profile),
            profile.verdict,
            does(&history),
            history.verdict
        ),
        profile,
        history,
    };
    let (name, p) = predictor_of_kind(anes, PredictorKind::Profile)?;
    let r = &p.simulation.replication;
    let count = |n: usize| n as u64;
    let (mr, mn) = (count(r.main.replicated), count(r.main.real_significant));
    let (ir, inn) = (count(r.interaction.replicated), count(r.interaction.real_significant));
    let replication = ReplicationFinding {
        headline: format!(
            "A main-effects simulator (the {name} predictor's simulated ANES answers) replicates {mr}/{mn} of the \
             real main effects but {ir}/{inn} of the real interactions."
        ),
        predictor: name.to_string(),
        main_replicated: mr,
        main_real: mn,
        interactions_replicated: ir,
        interactions_real: inn,
    };
    Ok(Findings { pools, conditioning, replication })
}

/// Everything the report is made of.
struct Context<'a> {
    dir: &'a Path,
    problem: &'a Problem,
    fit: &'a DenseFit,
    margins: &'a [MarginRow],
    pools: &'a [(&'static str, PathBuf, GenerateSummary)],
    comparison: &'a Comparison,
    compare_svg: String,
    acs: &'a Evaluation,
    anes: &'a Evaluation,
    households: &'a HouseholdReport,
    households_svg: String,
    seconds: f64,
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> Option<DataTable> {
    Some(DataTable { header: header.iter().map(|h| h.to_string()).collect(), rows })
}

fn figure(name: &str, svg: String, caption: &str) -> Option<Figure> {
    Some(Figure { file: format!("figures/{name}.svg"), svg, caption: caption.to_string() })
}

fn block(heading: Option<&str>, figure: Option<Figure>, table: Option<DataTable>, note: Option<String>) -> Block {
    Block { heading: heading.map(str::to_string), figure, table, note }
}

/// The panel of `evaluation_panels` whose title starts with `prefix`.
fn panels(evaluation: &Evaluation, prefixes: &[&str]) -> Vec<IntervalPanel> {
    evaluation_panels(evaluation).into_iter().filter(|p| prefixes.iter().any(|x| p.title.starts_with(x))).collect()
}

fn panel_figure(evaluation: &Evaluation, prefixes: &[&str], name: &str, caption: &str) -> Result<Option<Figure>> {
    let chosen = panels(evaluation, prefixes);
    if chosen.iter().all(|p| p.points.is_empty()) {
        return Ok(None);
    }
    Ok(figure(name, interval_svg(&chosen)?, caption))
}

fn predictors(evaluation: &Evaluation) -> impl Iterator<Item = (&str, &PredictorReport)> {
    evaluation.predictors.iter().map(|(k, v)| (k.as_str(), v))
}

fn report(c: &Context, f: &Findings) -> Result<Report> {
    let experiments = [
        ("ANES 1996 (real survey answers)", "anes1996", c.anes),
        ("ACS 2012 (employment and marital status)", "acs2012", c.acs),
    ];
    let e = &c.anes.evaluation;
    let rule = &e.rule;
    let level = format!("{:.0}%", 100.0 * (1.0 - e.alpha));
    let bootstrap = |j: &Evaluation| j.evaluation.bootstrap;
    let json_number = |x: f64| serde_json::Value::from(x).to_string();

    // 1. Margin fit.
    let seed = c.problem.seed.as_ref();
    let seed_total: f64 = seed.map_or(0.0, |s| s.weights.iter().sum());
    let conv = &c.fit.convergence;
    let margin_panel = IntervalPanel {
        title: "Margin fit: SRMSE of each margin against its targets".into(),
        axis: "SRMSE (0: every cell of the margin equals its target)".into(),
        rows: c.margins.iter().map(|m| m.attributes.join(" × ")).collect(),
        series: vec!["seed, before calibration".into(), "fitted joint, after".into()],
        points: c
            .margins
            .iter()
            .enumerate()
            .flat_map(|(r, m)| {
                [(0, m.before.srmse), (1, m.after.srmse)].map(|(series, v)| Interval {
                    row: r,
                    series,
                    estimate: v,
                    low: v,
                    high: v,
                })
            })
            .collect(),
        reference: Some(0.0),
    };
    let fit_section = Section {
        id: "fit".into(),
        title: "Margin fit before and after calibration".into(),
        text: vec![
            format!(
                "IPF re-weights a seed of {} ACS 2012 persons (design weights summing to {}) until the weighted joint of \
                 its {} attributes ({} cells) meets {} two-way margins with a total of {}. Before: the seed's weighted \
                 margins. After: the margins of the fitted joint, {} after {} sweeps (largest deviation {:.1e} persons).",
                seed.map_or(0, |s| s.len()),
                num(seed_total, 0),
                c.problem.domain.attributes().len(),
                c.fit.joint.values.len(),
                c.margins.len(),
                num(c.problem.single_zone().total(), 0),
                if conv.converged { "converged" } else { "NOT converged" },
                conv.iterations,
                conv.max_deviation
            ),
        ],
        rule: Some(
            "SRMSE = RMSE over a margin's cells divided by the mean target cell; 0 is a perfect fit. Max |dev| is the \
             largest absolute deviation of a cell from its target, in persons."
                .into(),
        ),
        blocks: vec![block(
            None,
            figure("margin-fit", interval_svg(&[margin_panel])?, "SRMSE of each two-way margin, before and after calibration"),
            table(
                &["margin", "cells", "SRMSE before", "max |dev| before", "SRMSE after", "max |dev| after"],
                c.margins
                    .iter()
                    .map(|m| {
                        vec![
                            m.attributes.join(" × "),
                            m.before.cells.to_string(),
                            num(m.before.srmse, 4),
                            num(m.before.max_abs_error, 2),
                            format!("{:.1e}", m.after.srmse),
                            format!("{:.1e}", m.after.max_abs_error),
                        ]
                    })
                    .collect(),
            ),
            None,
        )],
    };

    // 2. Pools against the truth.
    let cmp = c.comparison;
    let order = |p: &populace::comparison::PoolComparison, o| p.mean_srmse(o).map_or("–".into(), |v| num(v, 4));
    let pool_rows = cmp
        .pools
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                num(p.total, 0),
                order(p, 1),
                order(p, 2),
                order(p, 3),
                num(p.joint.srmse, 4),
                num(p.joint.hellinger, 4),
                p.association.mean_abs_change.map_or("–".into(), |v| num(v, 4)),
                p.association.max_abs_change.map_or("–".into(), |v| num(v, 4)),
                format!("{:.2}%", 100.0 * p.impossible.share),
            ]
        })
        .collect();
    let mut pair_header = vec!["attribute pair".to_string(), "V truth".to_string()];
    pair_header.extend(cmp.pools.iter().map(|p| format!("V {}", p.name)));
    pair_header.extend(cmp.pools.iter().map(|p| format!("|ΔV| {}", p.name)));
    let pair_rows: Vec<Vec<String>> = cmp.pools.first().map_or(Vec::new(), |first| {
        first
            .association
            .pairs
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                let mut row = vec![pair.attributes.join(" × "), num(pair.truth_v, 3)];
                row.extend(
                    cmp.pools.iter().map(|p| p.association.pairs.get(i).map_or("–".into(), |q| num(q.pool_v, 3))),
                );
                row.extend(
                    cmp.pools
                        .iter()
                        .map(|p| p.association.pairs.get(i).map_or("–".into(), |q| num(q.change.abs(), 3))),
                );
                row
            })
            .collect()
    });
    let generated: Vec<String> = c
        .pools
        .iter()
        .map(|(name, path, s)| {
            format!("{name}: {} persons, {} ({}), written to {}", s.persons, s.source, s.method, path.display())
        })
        .collect();
    let compare_section = Section {
        id: "pools".into(),
        title: "Naive against calibrated pools".into(),
        text: vec![
            format!(
                "Two pools of {POOL_PERSONS} persons, exact mode, seed {POOL_SEED}: the calibrated pool integerizes the \
                 fitted joint; the naive pool draws every attribute independently from its one-way margin. Both are \
                 compared with the truth, the {} ACS 2012 persons whose margins were published ({}).",
                cmp.truth.rows, cmp.truth.file
            ),
            generated.join("; ") + ".",
        ],
        rule: Some(
            "Each pool is scaled to the truth's total. SRMSE per margin, averaged over the margins of each order (1-, \
             2-, 3-way) and on the full joint: lower is better. Cramér's V measures each pairwise association; |ΔV| = \
             |V in the pool − V in the truth| is how much the pool distorts it (0: not at all). Impossible: the share \
             of the pool's persons in joint cells the truth has nobody in."
                .into(),
        ),
        blocks: vec![
            block(
                Some("SRMSE by margin order, and Cramér's V error per attribute pair"),
                figure("compare", c.compare_svg.clone(), "SRMSE by margin order (bars) and |ΔV| heat maps, one per pool"),
                table(
                    &["pool", "persons", "SRMSE 1-way", "SRMSE 2-way", "SRMSE 3-way", "SRMSE joint", "Hellinger joint", "mean |ΔV|", "max |ΔV|", "impossible"],
                    pool_rows,
                ),
                None,
            ),
            block(
                Some("Cramér's V per attribute pair (the heat maps' numbers)"),
                None,
                Some(DataTable { header: pair_header, rows: pair_rows }),
                None,
            ),
        ],
    };

    // 3. Pools predicting the population (ACS experiment).
    let mut pool_rows = Vec::new();
    for (pool, b) in &c.acs.pools {
        for (predictor, p) in &b.predictors {
            pool_rows.push(vec![
                pool.clone(),
                b.persons.to_string(),
                predictor.clone(),
                ci(&p.tv.overall, 4),
                ci(&p.tv_score, 4),
                p.difference_from_first.as_ref().map_or("–".into(), |d| ci(d, 4)),
            ]);
        }
    }
    let first_pool = c.acs.pools.keys().next().cloned().unwrap_or_default();
    let pools_predict = Section {
        id: "pool-predictions".into(),
        title: "Persona pools predicting the population".into(),
        text: vec![format!(
            "Which pool stands in for the ACS 2012 population better? Each predictor of the ACS 2012 experiment, fitted on \
             all {} persons, predicts employment and marital status for every persona of each pool; a pool's prediction \
             for a group (by {}) is the mean over its personas in that group, compared with the real answers.",
            c.acs.data.persons,
            c.acs.data.groups.join(", ")
        )],
        rule: Some(format!(
            "Total variation (TV) between the pool's predicted and the observed answer distributions; score: mean over \
             items and over the groupings that are profile attributes. Lower is better. The last column is the pool's \
             score minus the {first_pool} pool's, with a paired bootstrap {level} CI: below 0, the pool predicts the \
             population better."
        )),
        blocks: vec![block(
            None,
            panel_figure(c.acs, &["Persona pools"], "pool-predictions", "Each pool's TV score by predictor, with CIs")?,
            table(&["pool", "persons", "predictor", "TV whole sample", "score", &format!("score − {first_pool}'s")], pool_rows),
            None,
        )],
    };

    // 4. Individuals against populations.
    let rule_text = format!(
        "Declared before the data is seen. A predictor improves individuals if the {level} CI lower bound of its held-out \
         pseudo-R² (1 − NLL / NLL of the population baseline) exceeds {}; otherwise it improves populations only if its \
         relative TV gain (1 − TV / TV of the baseline, over groups) is at least {} with a CI lower bound above 0; \
         otherwise neither. CIs: percentile bootstrap over persons.",
        json_number(rule.individual_min_pseudo_r2),
        json_number(rule.population_min_relative_tv_gain)
    );
    let mut gains = Vec::new();
    for (heading, key, json) in experiments {
        let rows = predictors(json)
            .filter(|(_, p)| p.verdict != Verdict::Baseline)
            .map(|(name, p)| {
                vec![
                    name.to_string(),
                    p.verdict.to_string(),
                    ci(&p.individual.overall.pseudo_r2, 4),
                    ci(&p.individual.overall.share_improved, 3),
                    ci(&p.population.relative_gain, 4),
                ]
            })
            .collect();
        gains.push(block(
            Some(heading),
            panel_figure(json, &["Individuals", "Populations"], &format!("gains-{key}"), "Held-out pseudo-R² per item (top) and relative TV gain per grouping (bottom), each predictor with its CI")?,
            table(&["predictor", "verdict", "pseudo-R²", "share of persons improved", "relative TV gain"], rows),
            Some(format!(
                "{} persons, items: {}; {} folds, {} bootstrap resamples.",
                json.data.persons,
                json.data.items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
                json.evaluation.folds,
                bootstrap(json)
            )),
        ));
    }
    let gains_section = Section {
        id: "conditioning".into(),
        title: "Individuals against populations: what conditioning on a persona gains".into(),
        text: vec![
            "Every predictor is cross-fitted (nobody is predicted by a model that saw them) and scored against the \
             population baseline, which predicts each item's overall answer distribution for everybody. profile: a \
             logistic regression on the persona's attributes; cell: the answer distribution of the persona's cell, \
             shrunk toward coarser cells; history (ANES only): a logistic regression on the person's answers to the \
             other items."
                .into(),
        ],
        rule: Some(rule_text),
        blocks: gains,
    };

    // 5. Replication.
    let mut replication = Vec::new();
    let mut variance = Vec::new();
    for (heading, key, json) in experiments {
        let rate = |r: &ReplicationRate| format!("{}/{} = {}", r.replicated, r.real_significant, ci(&r.rate, 3));
        let rows = predictors(json)
            .map(|(name, p)| {
                let r = &p.simulation.replication;
                let f = &r.false_positive;
                let false_positives = format!("{}/{} = {}", f.significant, f.real_null, ci(&f.rate, 3));
                vec![name.to_string(), rate(&r.main), rate(&r.interaction), false_positives]
            })
            .collect();
        replication.push(block(
            Some(heading),
            panel_figure(
                json,
                &["Simulated answers"],
                &format!("replication-{key}"),
                "Share of real effects replicated by each predictor's simulated answers (Wilson CIs)",
            )?,
            table(&["predictor", "main effects replicated", "interactions replicated", "false positives"], rows),
            None,
        ));
        let rows: Vec<Vec<String>> = predictors(json)
            .filter_map(|(name, p)| {
                let v = p.simulation.variance.as_ref()?;
                Some(vec![
                    name.to_string(),
                    v.repeats.to_string(),
                    ci(&v.overall.within, 3),
                    ci(&v.overall.between, 3),
                    ci(&v.overall.icc, 3),
                ])
            })
            .collect();
        let note = rows.is_empty().then(|| "No predictor was sampled more than once per persona.".to_string());
        variance.push(block(
            Some(heading),
            panel_figure(
                json,
                &["Between-persona"],
                &format!("variance-{key}"),
                "ICC of simulated answers overall and per item, with CIs",
            )?,
            (!rows.is_empty()).then(|| DataTable {
                header: ["predictor", "draws per persona", "within (run-to-run)", "between personas", "ICC"]
                    .map(String::from)
                    .to_vec(),
                rows,
            }),
            note,
        ));
    }
    let sim = &c.anes.simulation;
    let replication_section = Section {
        id: "replication".into(),
        title: "Effect replication: main against interaction effects".into(),
        text: vec![format!(
            "Would a simulation built on the predictor reproduce the findings of the real survey? Each predictor's \
             simulated answers ({} draws per person from its held-out probabilities) are tested for the effects of the \
             profile found in the real answers: main effects of each attribute, and interactions of pairs.",
            sim.repeats
        )],
        rule: Some(format!(
            "An effect replicates if it is significant (Wald test at {}) with the same sign in the simulated answers. \
             False positives: effects that are null in the real answers but significant in the simulated ones. Rates \
             with Wilson {level} CIs. A simulator that knows only main effects replicates main effects but no \
             interactions.",
            json_number(sim.alpha)
        )),
        blocks: replication,
    };
    let variance_section = Section {
        id: "variance".into(),
        title: "Run-to-run against between-persona variance".into(),
        text: vec![
            "When the same persona is asked repeatedly (here, each predictor sampled several times per person; an \
             external simulator such as a language model samples its own answers), the simulated answers vary from run \
             to run and between personas. The split says how much of a simulation's spread is persona and how much is \
             noise."
                .into(),
        ],
        rule: Some(
            "Within: the variance of a persona's answers across runs, averaged over personas; between: the variance of \
             the personas' mean answers. ICC = between / (within + between): near 0, answers are mostly run-to-run \
             noise; near 1, the persona determines the answer."
                .into(),
        ),
        blocks: variance,
    };

    let households_section = households_section(c.households, c.households_svg.clone());

    let d = c.dir.display();
    Ok(Report {
        title: "populace demo: calibrated personas, and what conditioning on them buys".into(),
        intro: vec![
            "populace fits synthetic populations to survey marginals, draws persona pools from them, and tests whether \
             conditioning a predictor on a persona improves predictions of individuals or only of populations. This \
             report is the output of populace demo: the whole pipeline run on the data shipped with populace — ACS \
             2012 persons and margins, ANES 1996 survey respondents, and EU-SILC 2006 households. Every number in it \
             comes from this run."
                .into(),
            "The pipeline: (1) calibrate a small seed sample to published two-way margins; (2) draw a calibrated and a \
             naive persona pool; (3) compare both with the truth; (4) evaluate conditioning on personas at the \
             individual and the population level, with effect replication and run-to-run variance; (5) fit whole \
             households and their persons to state and region controls (EU-SILC 2006). Each section states how to \
             read its numbers, shows a figure and the table behind it."
                .into(),
        ],
        findings: vec![f.pools.headline.clone(), f.conditioning.headline.clone(), f.replication.headline.clone()],
        sections: vec![
            fit_section,
            compare_section,
            pools_predict,
            gains_section,
            replication_section,
            variance_section,
            households_section,
        ],
        footer: vec![
            format!(
                "Run in {:.1} s by populace {}. Bootstrap resamples: {} (ACS 2012), {} (ANES 1996), as in the shipped specs.",
                c.seconds,
                env!("CARGO_PKG_VERSION"),
                bootstrap(c.acs),
                bootstrap(c.anes)
            ),
            format!(
                "Outputs of each stage: {d}/fit/, {d}/pools/, {d}/compare/, {d}/evaluate-acs2012/, {d}/evaluate-anes1996/, \
                 {d}/households/. The inputs are in {d}/inputs/; rerun a stage by hand, e.g. populace evaluate \
                 {d}/inputs/calibration/experiment_anes1996.toml --out {d}/evaluate-anes1996."
            ),
        ],
    })
}

/// The household fit: its controls chart and each control's fit.
fn households_section(r: &HouseholdReport, svg: String) -> Section {
    let pct = |v: Option<f64>| v.map_or("–".into(), |v| num(v, 2));
    let rows = r
        .controls
        .iter()
        .map(|c| {
            let st = &c.statistics;
            vec![
                c.name.clone(),
                format!("{} ({} zones)", c.geography, c.zones.len()),
                c.table.to_string(),
                num(st.observed, 0),
                num(st.predicted, 0),
                pct(st.mean_abs_pc_difference),
                pct(st.pct_rmse),
            ]
        })
        .collect();
    let levels = r.geographies.join(" > ");
    Section {
        id: "households".into(),
        title: "Households and persons fitted to state and region controls".into(),
        text: vec![format!(
            "A household spec fits whole households with their persons: here the {} seed households ({} persons) of \
             the shipped EU-SILC 2006 sample, a tenth of each Austrian state's households, to controls computed from \
             all of them, over {levels} (seed level {}): per state, households by size and persons by sex and age \
             band; per region, persons 16 and older by economic status, shared out to the states. {} in {} \
             balancings: {} whole households, {} persons.",
            r.seed_households,
            r.seed_persons,
            r.seed_geography,
            if r.converged { "Converged" } else { "NOT converged" },
            r.balancings,
            num(r.households, 0),
            num(r.persons, 0),
        )],
        rule: Some(
            "Per zone, % difference = 100 × (result − target) / target; mean |% difference| over the zones with a \
             positive target and %RMSE = 100 × RMSE / mean target, over the zones of the control's level: 0 is a \
             perfect fit. The controls are soft (importances), and each seed household stands for about ten whole \
             households, so person controls are met to a few per cent; the household total is met exactly."
                .into(),
        ),
        blocks: vec![block(
            None,
            figure(
                "household-controls",
                svg,
                "Each control's % difference from its targets, mean ± sd over zones, by level",
            ),
            table(&["control", "level", "counts", "target", "result", "mean |% difference|", "%RMSE"], rows),
            None,
        )],
    }
}
