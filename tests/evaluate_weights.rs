//! `evaluate` with survey weights, on a world whose weighted truth is known: a finite population
//! of 20,000 persons in two equally large groups that answer very differently, and a sample
//! that takes a person of group A with probability 0.2 and of group B with 0.05 (A is
//! oversampled 4:1, so 80% of the sample), each weighted 1/p. The population's answer
//! distribution is counted, not estimated, so the weighted evaluation can be checked against it.

mod common;

use std::path::Path;

use common::{folder, Outcome, BAD_INPUT, OK};
use populace::evaluation::{
    assign_folds, Cell, CellParams, DataSpec, Dataset, Evaluation, EvaluationSpec, Experiment, History, HistoryParams,
    PoolSpec, Population, PopulationParams, Prediction, Predictor, Profile, ProfileParams, Verdict,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Answer probabilities of item `q` in group A and in group B; item `r` is the same for all.
const Q_A: [f64; 3] = [0.8, 0.15, 0.05];
const Q_B: [f64; 3] = [0.1, 0.2, 0.7];
const R: [f64; 3] = [0.3, 0.3, 0.4];
/// Selection probabilities of groups A and B.
const SELECT: [f64; 2] = [0.2, 0.05];

/// One person of the population: group (0 = A), age (0 = young), answers to `q` and `r`.
struct Person {
    group: usize,
    age: usize,
    q: usize,
    r: usize,
}

fn draw(rng: &mut ChaCha8Rng, p: &[f64; 3]) -> usize {
    let u: f64 = rng.random();
    if u < p[0] {
        0
    } else if u < p[0] + p[1] {
        1
    } else {
        2
    }
}

/// The population: groups and ages independent, half and half; `q` depends on the group.
fn population(persons: usize, seed: u64) -> Vec<Person> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..persons)
        .map(|_| {
            let group = usize::from(rng.random::<f64>() < 0.5);
            let age = usize::from(rng.random::<f64>() < 0.5);
            let q = draw(&mut rng, if group == 0 { &Q_A } else { &Q_B });
            Person { group, age, q, r: draw(&mut rng, &R) }
        })
        .collect()
}

/// The population's share of each answer to `q`: the truth the weighted sample estimates.
fn truth(population: &[Person]) -> Vec<f64> {
    let mut share = vec![0.0; 3];
    population.iter().for_each(|p| share[p.q] += 1.0 / population.len() as f64);
    share
}

/// A Poisson sample of the population as a responses CSV (`id,group,age,q,r,w`): person i is
/// taken with probability `SELECT[group]` and weighs its inverse, times `scale`.
fn sample(population: &[Person], seed: u64, scale: f64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut csv = String::from("id,group,age,q,r,w\n");
    for (i, p) in population.iter().enumerate() {
        if rng.random::<f64>() < SELECT[p.group] {
            let (group, age) = (["A", "B"][p.group], ["young", "old"][p.age]);
            let w = scale / SELECT[p.group];
            csv.push_str(&format!("{i},{group},{age},{},{},{w}\n", p.q + 1, p.r + 1));
        }
    }
    csv
}

/// The sample of the population of seed 1 (about 2,500 persons), weights as drawn.
fn the_sample() -> (Vec<f64>, String) {
    let pop = population(20_000, 1);
    (truth(&pop), sample(&pop, 2, 1.0))
}

/// Gives every person the same distribution for every item.
struct Fixed(&'static str, Vec<f64>);

impl Predictor for Fixed {
    fn name(&self) -> &str {
        self.0
    }
    fn fit(&mut self, _: &Dataset, _: &[usize], _: usize) -> populace::Result<()> {
        Ok(())
    }
    fn predict(&mut self, _: &Dataset, persons: &[usize], _: usize) -> populace::Result<Vec<Prediction>> {
        Ok(persons.iter().map(|_| Prediction::new(self.1.clone())).collect())
    }
}

fn spec(items: &[&str], weight: Option<&str>) -> DataSpec {
    let spec = DataSpec::new("sample.csv", "id", ["group", "age"], items.to_vec());
    match weight {
        Some(w) => spec.weight(w),
        None => spec,
    }
}

/// Evaluates `predictors` after the population baseline on `csv`.
fn evaluate(csv: &str, spec: &DataSpec, predictors: Vec<Box<dyn Predictor>>, bootstrap: usize) -> Evaluation {
    let data = Dataset::from_reader(csv.as_bytes(), spec, &["group".to_string()]).unwrap();
    let baseline = Population::new("population", PopulationParams::default()).unwrap();
    let mut experiment = Experiment::new()
        .with_predictor(Box::new(baseline))
        .with_evaluation(EvaluationSpec::default().bootstrap(bootstrap).seed(3));
    for p in predictors {
        experiment = experiment.with_predictor(p);
    }
    experiment.run(&data, &mut |_| {}).unwrap()
}

fn profile() -> Box<dyn Predictor> {
    Box::new(Profile::new("profile", ProfileParams::default()).unwrap())
}

/// TV between `truth` and the (weighted) answer shares of `q` in each of `folds` folds,
/// averaged over folds by their weight: with 5 folds, what `evaluate` should report for a
/// predictor that always says `truth`; with 1, the whole sample's distance from the truth.
fn expected_tv(csv: &str, truth: &[f64], weighted: bool, folds: usize) -> f64 {
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let fold = assign_folds(rows.len(), folds, 3);
    let (mut total, mut sum) = (0.0, 0.0);
    for f in 0..folds {
        let mut share = [0.0; 3];
        for (row, _) in rows.iter().zip(&fold).filter(|(_, &g)| g == f) {
            let w: f64 = if weighted { row[5].parse().unwrap() } else { 1.0 };
            share[row[3].parse::<usize>().unwrap() - 1] += w;
        }
        let size: f64 = share.iter().sum();
        let tv: f64 = share.iter().zip(truth).map(|(s, t)| (s / size - t).abs()).sum::<f64>() / 2.0;
        total += size * tv;
        sum += size;
    }
    total / sum
}

#[test]
fn weights_recover_the_population_distribution_that_the_sample_misses() {
    let (truth, csv) = the_sample();
    let run = |weight| {
        let truth_predictor = Box::new(Fixed("truth", truth.clone()));
        evaluate(&csv, &spec(&["q"], weight), vec![truth_predictor, profile()], 200)
    };
    let (weighted, unweighted) = (run(Some("w")), run(None));
    let tv = |e: &Evaluation, name: &str| e.predictors[name].population.items["q"]["all"]["all"].tv.estimate;
    // The evaluator's observed distributions are the weighted shares, fold by fold.
    for (e, w) in [(&weighted, true), (&unweighted, false)] {
        let (got, want) = (tv(e, "truth"), expected_tv(&csv, &truth, w, 5));
        assert!((got - want).abs() < 1e-12, "weighted {w}: {got} vs {want}");
    }
    // (a) The whole sample's weighted answer distribution is within sampling noise of the
    // population's (TV about 0.015 at n_eff 1,600); the unweighted one is not.
    let (weighted_tv, unweighted_tv) = (expected_tv(&csv, &truth, true, 1), expected_tv(&csv, &truth, false, 1));
    eprintln!("whole sample's TV from the population: weighted {weighted_tv:.4}, unweighted {unweighted_tv:.4}");
    assert!(weighted_tv < 0.03 && unweighted_tv > 0.15, "{weighted_tv} {unweighted_tv}");
    // (b) A predictor that says the population's distribution is, weighted, within sampling
    // noise of every fold's answers (about 320 effective persons per fold); unweighted, the
    // sample has four times too many of group A and the truth looks far off.
    let (near, far) = (tv(&weighted, "truth"), tv(&unweighted, "truth"));
    eprintln!("population TV of the truth: weighted {near:.4}, unweighted {far:.4}");
    assert!(near < 0.04 && far > 0.15, "weighted {near}, unweighted {far}");
    // The weighted baseline is fitted to the population too; unweighted, to the sample, which
    // it then seems to describe far better than the truth does.
    assert!(tv(&weighted, "population") < 0.04, "{}", tv(&weighted, "population"));
    assert!(far > 3.0 * tv(&unweighted, "population"), "{far} {}", tv(&unweighted, "population"));
    let summary = weighted.data.weight.as_ref().unwrap();
    assert!((summary.sum - 20_000.0).abs() < 1_000.0 && (1_400.0..1_800.0).contains(&summary.n_eff), "{summary:?}");
    // The truth's mean NLL over the population is the entropy of its distribution: the
    // weighted CI covers it, the unweighted one (A answers more predictably) does not.
    let entropy: f64 = -truth.iter().map(|p| p * p.ln()).sum::<f64>();
    let nll = |e: &Evaluation| e.predictors["truth"].individual.overall.nll;
    eprintln!("truth NLL {entropy:.4}: weighted {:?}, unweighted {:?}", nll(&weighted), nll(&unweighted));
    assert!(nll(&weighted).contains(entropy) && nll(&unweighted).ci_high < entropy, "{entropy}");
}

#[test]
fn verdicts_under_weights_find_an_effect_where_there_is_one_and_none_where_none() {
    let (_, csv) = the_sample();
    let e = evaluate(&csv, &spec(&["q"], Some("w")), vec![profile()], 200);
    assert_eq!(e.predictors["profile"].verdict, Verdict::ImprovesIndividuals);
    let i = &e.predictors["profile"].individual.overall;
    eprintln!("profile pseudo-R² under weights: {:?}", i.pseudo_r2);
    assert!(i.pseudo_r2.ci_low > 0.1, "{:?}", i.pseudo_r2);
    for m in [&i.nll, &i.brier, &i.accuracy, &i.pseudo_r2, &i.d] {
        assert!(m.contains(m.estimate), "{m:?}");
    }
    // `r` does not depend on the profile: under the same unequal weights, no verdict but
    // neither, on ten samples (the rule's one-sided 2.5% level allows about one).
    let mut found = 0;
    for seed in 0..10 {
        let csv = sample(&population(6_000, 10 + seed), 20 + seed, 1.0);
        let e = evaluate(&csv, &spec(&["r"], Some("w")), vec![profile()], 100);
        found += usize::from(e.predictors["profile"].verdict == Verdict::ImprovesIndividuals);
    }
    eprintln!("null item: {found} 'improves individuals' in 10");
    assert!(found <= 1, "{found} false 'improves individuals' in 10");
}

/// Every built-in predictor, with a pool of the sample's own profiles, on `csv`.
fn everything(csv: &str, weight: Option<&str>, pool: &Path) -> Evaluation {
    let data = Dataset::from_reader(csv.as_bytes(), &spec(&["q", "r"], weight), &["group".to_string()]).unwrap();
    Experiment::new()
        .with_predictor(Box::new(Population::new("population", PopulationParams::default()).unwrap()))
        .with_predictor(profile())
        .with_predictor(Box::new(Cell::new("cell", CellParams::default()).unwrap()))
        .with_predictor(Box::new(History::new("history", HistoryParams::default()).unwrap()))
        .with_pool(PoolSpec::new("pool", pool))
        .with_evaluation(EvaluationSpec::default().folds(3).bootstrap(50).seed(5))
        .run(&data, &mut |_| {})
        .unwrap()
}

#[test]
fn weights_of_one_give_the_unweighted_numbers_and_scaling_weights_changes_nothing() {
    let pop = population(4_000, 7);
    let csv = sample(&pop, 8, 1.0);
    // The pool: the sample's own persons (a pool's other columns are ignored).
    let dir = folder(&[("pool.csv", &csv)]);
    let pool = dir.path().join("pool.csv");
    let json = |e: &Evaluation| serde_json::to_string(&(&e.predictors, &e.pools)).unwrap();
    let ones: String = csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + ",1\n").collect();
    let ones = ones.replacen(",1\n", ",w\n", 1);
    let plain = everything(&csv, None, &pool);
    assert_eq!(json(&everything(&ones, Some("w"), &pool)), json(&plain));
    // Weights times 1000 are the same weights; but for rounding, the same numbers.
    let (weighted, scaled) =
        (everything(&csv, Some("w"), &pool), everything(&sample(&pop, 8, 1000.0), Some("w"), &pool));
    assert_ne!(json(&weighted), json(&plain));
    let close = |a: &Evaluation, b: &Evaluation| {
        let pick = |e: &Evaluation| {
            e.predictors
                .values()
                .flat_map(|p| [p.individual.overall.pseudo_r2, p.population.tv_score])
                .collect::<Vec<_>>()
        };
        pick(a)
            .iter()
            .zip(pick(b))
            .all(|(x, y)| (x.estimate - y.estimate).abs() < 1e-9 && (x.ci_low - y.ci_low).abs() < 1e-9)
    };
    assert!(close(&weighted, &scaled));
    assert_eq!(weighted.data.weight.as_ref().unwrap().n_eff, scaled.data.weight.as_ref().unwrap().n_eff);
}

#[test]
fn the_command_reads_the_weight_column_and_reports_it() {
    let (_, csv) = the_sample();
    let spec = "[data]\nfile = \"sample.csv\"\nid = \"id\"\nprofile = [\"group\", \"age\"]\nitems = [\"q\"]\n\
                weight = \"w\"\n[population]\ngroups = [\"group\"]\n[[predictor]]\nname = \"population\"\n\
                kind = \"population\"\n[evaluation]\nbootstrap = 20\n";
    let files = |csv: &str| folder(&[("spec.toml", spec), ("sample.csv", csv)]);
    let run = Outcome::run(files(&csv), &["evaluate", "spec.toml", "--out", "out"]);
    run.assert_code(OK).stderr_has(&["note: sample.csv: persons weighted by \"w\"", "Kish effective sample size"]);
    let json = common::read_json(run.dir.path().join("out/evaluation.json"));
    let weight = &json["data"]["weight"];
    assert_eq!(weight["column"], "w");
    assert!(weight["sum"].as_f64().unwrap() > 19_000.0 && weight["n_eff"].as_f64().unwrap() > 1_400.0, "{weight}");
    let summary = std::fs::read_to_string(run.dir.path().join("out/summary.md")).unwrap();
    assert!(summary.contains("Persons weighted by `w`"), "{summary}");
    let bad = csv.replacen(",5\n", ",NA\n", 1);
    let line = csv.lines().position(|l| l.ends_with(",5")).unwrap() + 1;
    Outcome::run(files(&bad), &["evaluate", "spec.toml", "--out", "out"])
        .assert_code(BAD_INPUT)
        .stderr_has(&[&format!("sample.csv, line {line}, column \"w\": the weight is missing (\"NA\")")]);
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_weights_read_as_the_csv_ones_and_a_null_weight_names_its_row() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

    let (_, csv) = the_sample();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    // The sample as Parquet, the weights as doubles, without the weight of row `null` + 1.
    let write = |path: &Path, null: Option<usize>| {
        let text = |c: usize| -> ArrayRef { Arc::new(rows.iter().map(|r| Some(r[c])).collect::<StringArray>()) };
        let weights = rows.iter().enumerate().map(|(i, r)| (Some(i) != null).then(|| r[5].parse::<f64>().unwrap()));
        let columns = ["id", "group", "age", "q", "r"].into_iter().enumerate().map(|(c, name)| (name, text(c)));
        let w: ArrayRef = Arc::new(weights.collect::<Float64Array>());
        let batch = RecordBatch::try_from_iter(columns.chain([("w", w)])).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.parquet");
    write(&path, None);
    let spec = DataSpec::new(&path, "id", ["group", "age"], ["q"]).weight("w");
    let parquet = Dataset::load(&spec, &[]).unwrap();
    let text = Dataset::from_reader(csv.as_bytes(), &self::spec(&["q"], Some("w")), &[]).unwrap();
    assert_eq!((parquet.weights(), parquet.weighting()), (text.weights(), text.weighting()));
    write(&path, Some(9));
    let e = Dataset::load(&spec, &[]).unwrap_err().to_string();
    assert!(
        e.ends_with("sample.parquet, row 10, column \"w\": the weight is missing (a null): every person needs one"),
        "{e}"
    );
}
