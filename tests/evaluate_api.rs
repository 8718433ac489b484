//! The evaluation library API: predictors of one's own next to the built-in ones, data in
//! memory (CSV text or a frame), and the errors a misbehaving predictor or experiment gets.

use populace::evaluation::world::{WorldItem, WorldSpec};
use populace::evaluation::{
    Cell, CellParams, DataSpec, Dataset, Evaluation, EvaluationSpec, Experiment, ExperimentSpec, History,
    HistoryParams, Population, PopulationParams, Prediction, Predictor, PredictorKind, PredictorSpec, Profile,
    ProfileParams, Verdict,
};
use populace::frame::Frame;
use populace::missing::MissingPolicy;

/// The default world (answers driven by the profile), in memory.
fn data(persons: usize) -> Dataset {
    let world = WorldSpec { persons, seed: 5, ..WorldSpec::default() };
    let columns = DataSpec::new("world", "person_id", ["age_group", "sex", "education"], ["q1", "choice"]);
    Dataset::from_reader(&world.to_csv()[..], &columns.ordinal(["q1"]), &["region".to_string()]).unwrap()
}

fn baseline() -> Box<dyn Predictor> {
    Box::new(Population::new("population", PopulationParams::default()).unwrap())
}

fn settings() -> EvaluationSpec {
    EvaluationSpec::default().folds(3).bootstrap(50).seed(4)
}

/// A predictor of one's own that delegates to the built-in profile model.
struct Wrapped(Profile);

impl Predictor for Wrapped {
    fn name(&self) -> &str {
        "wrapped"
    }
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> populace::Result<()> {
        self.0.fit(data, train, item)
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> populace::Result<Vec<Prediction>> {
        self.0.predict(data, persons, item)
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn a_predictor_of_ones_own_is_scored_like_the_built_in_one_it_wraps() {
    let profile = || Profile::new("profile", ProfileParams::default()).unwrap();
    let result = Experiment::new()
        .with_predictor(baseline())
        .with_predictor(Box::new(profile()))
        .with_predictor(Box::new(Wrapped(profile())))
        .with_evaluation(settings())
        .run(&data(300), &mut |_| {})
        .unwrap();
    let (built_in, wrapped) = (&result.predictors["profile"], &result.predictors["wrapped"]);
    assert_eq!((built_in.kind, wrapped.kind), (PredictorKind::Profile, PredictorKind::Custom));
    assert_eq!(json(&wrapped.individual), json(&built_in.individual));
    assert_eq!(json(&wrapped.population), json(&built_in.population));
    assert_eq!(wrapped.verdict, built_in.verdict);
    assert_eq!(json(&result)["predictors"]["wrapped"]["kind"], "custom");
    assert_eq!(result.data.file, "world");
    assert_eq!(result.data.groups, ["region"]);
    assert_eq!(result.evaluation.baseline, "population");
}

#[test]
fn a_spec_and_the_predictors_added_to_it_run_together() {
    let dir = tempfile::tempdir().unwrap();
    let world = WorldSpec { persons: 240, seed: 5, ..WorldSpec::default() };
    world.write_csv(&dir.path().join("world.csv")).unwrap();
    let mut spec = ExperimentSpec::new(DataSpec::new(dir.path().join("world.csv"), "person_id", ["sex"], ["q1"]));
    spec.predictors.push(PredictorSpec::new("base", PopulationParams::default()).unwrap());
    spec.evaluation = settings();
    let data = Dataset::load(&spec.data, &spec.population.groups).unwrap();
    let from_spec = |spec: &ExperimentSpec| Experiment::from_spec(spec).unwrap();
    let mut experiment =
        from_spec(&spec).with_predictor(Box::new(Wrapped(Profile::new("p", ProfileParams::default()).unwrap())));
    let result = experiment.run(&data, &mut |_| {}).unwrap();
    assert_eq!(result.predictors.keys().collect::<Vec<_>>(), ["base", "wrapped"]);
    assert_eq!(result.verdicts().map(|(name, _)| name).collect::<Vec<_>>(), ["wrapped"]);
    // The same data read from memory, evaluated again by the same experiment.
    let text = std::fs::read(dir.path().join("world.csv")).unwrap();
    let memory = Dataset::from_reader(&text[..], &spec.data, &[]).unwrap();
    let again: Evaluation = experiment.run(&memory, &mut |_| {}).unwrap();
    assert_eq!(json(&again.predictors), json(&result.predictors));
    assert!(again.data.file.ends_with("world.csv"));
}

/// A predictor that answers wrongly in a chosen way.
struct Broken(&'static str);

impl Predictor for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn fit(&mut self, _: &Dataset, _: &[usize], _: usize) -> populace::Result<()> {
        Ok(())
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> populace::Result<Vec<Prediction>> {
        let k = data.item(item).levels().len();
        let uniform = Prediction::new(vec![1.0 / k as f64; k]);
        Ok(match self.0 {
            "short" => vec![uniform; persons.len() - 1],
            "options" => vec![Prediction::new(vec![1.0]); persons.len()],
            "sum" => vec![Prediction::new(vec![0.5 / k as f64; k]); persons.len()],
            _ => vec![uniform.with_draws(vec![k]); persons.len()],
        })
    }
}

fn error(experiment: Experiment) -> String {
    experiment.with_evaluation(settings()).run(&data(60), &mut |_| {}).unwrap_err().to_string()
}

#[test]
fn wrong_predictions_name_the_predictor_and_what_is_wrong() {
    for (how, expected) in [
        ("short", "predictor \"broken\": asked about "),
        ("options", "1 probabilities for 5 options"),
        ("sum", "probabilities must be non-negative and sum to 1"),
        ("draws", "draw 5 is not an option index (0 to 4)"),
    ] {
        let message = error(Experiment::new().with_predictor(baseline()).with_predictor(Box::new(Broken(how))));
        assert!(message.starts_with("predictor \"broken\"") && message.contains(expected), "{how}: {message}");
    }
}

#[test]
fn an_experiment_needs_one_baseline_unique_names_and_valid_settings() {
    let m = error(Experiment::new().with_predictor(Box::new(Broken("fine"))));
    assert!(m.contains("exactly one [[predictor]] must have kind = \"population\""), "{m}");
    let m = error(Experiment::new().with_predictor(baseline()).with_predictor(baseline()));
    assert!(m.contains("exactly one"), "{m}");
    let twice = || Box::new(Population::new("broken", PopulationParams::default()).unwrap());
    let m = error(Experiment::new().with_predictor(twice()).with_predictor(Box::new(Broken("fine"))));
    assert!(m.contains("predictor name \"broken\" is used twice"), "{m}");
    let m = Experiment::new()
        .with_predictor(baseline())
        .with_evaluation(EvaluationSpec::default().folds(1))
        .run(&data(60), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(m, "experiment: [evaluation] folds must be at least 2, got 1");
    let m = Experiment::new()
        .with_predictor(baseline())
        .with_evaluation(EvaluationSpec::default().folds(40))
        .run(&data(60), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(m, "world: 60 persons are too few for 40 folds (need at least 2 per fold)");
    let m = Profile::new("p", ProfileParams::default().l2(0.0)).err().unwrap().to_string();
    assert_eq!(m, "predictor \"p\": l2 must be positive, got 0");
}

#[test]
fn a_user_predictor_that_ignores_everyone_is_no_better_than_the_baseline() {
    struct Uniform;
    impl Predictor for Uniform {
        fn name(&self) -> &str {
            "uniform"
        }
        fn fit(&mut self, _: &Dataset, _: &[usize], _: usize) -> populace::Result<()> {
            Ok(())
        }
        fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> populace::Result<Vec<Prediction>> {
            let k = data.item(item).levels().len();
            Ok(persons.iter().map(|_| Prediction::new(vec![1.0 / k as f64; k])).collect())
        }
    }
    let result = Experiment::new()
        .with_predictor(baseline())
        .with_predictor(Box::new(Uniform))
        .with_evaluation(settings())
        .run(&data(300), &mut |_| {})
        .unwrap();
    let uniform = &result.predictors["uniform"];
    assert_eq!(uniform.verdict, Verdict::Neither);
    // Five and three options: the uniform NLL per answer is the mean of ln 5 and ln 3.
    let nll = uniform.individual.items["q1"].nll.estimate;
    assert!((nll - 5f64.ln()).abs() < 1e-12, "{nll}");
    assert!((uniform.individual.items["choice"].nll.estimate - 3f64.ln()).abs() < 1e-12);
    assert!(uniform.individual.overall.pseudo_r2.ci_high < 0.0);
}

#[test]
fn a_group_that_a_resample_leaves_out_keeps_its_place_in_the_report() {
    // One person in "island": about a third of the resamples leave them out, and the report's
    // shape (which the bootstrap checks for every replicate) must not change with them.
    let mut csv = String::from("id,sex,region,q\n");
    for i in 0..60 {
        let region = if i == 7 { "island" } else { "north" };
        csv.push_str(&format!("p{i},{},{region},{}\n", ["f", "m"][i % 2], ["a", "b", "b"][i % 3]));
    }
    let data = Dataset::from_reader(csv.as_bytes(), &DataSpec::new("memory", "id", ["sex"], ["q"]), &["region".into()])
        .unwrap();
    let result = Experiment::new()
        .with_predictor(baseline())
        .with_predictor(Box::new(Profile::new("profile", ProfileParams::default()).unwrap()))
        .with_evaluation(EvaluationSpec::default().folds(2).bootstrap(60))
        .run(&data, &mut |_| {})
        .unwrap();
    for p in result.predictors.values() {
        let island = p.population.tv.groups["region"]["island"];
        assert!(island.is_finite() && island.ci_low <= island.ci_high, "{island:?}");
        assert_eq!(p.population.items["q"]["region"].keys().collect::<Vec<_>>(), ["north", "island"]);
        // Against one person's answer a, the TV of a prediction q is 1 − q[a].
        let tv = p.population.items["q"]["region"]["island"].tv.estimate;
        assert!((0.0..=1.0).contains(&tv), "{tv}");
    }
}

/// Every built-in kind but the external one, with a few bootstrap replicates.
fn every_kind() -> Experiment {
    Experiment::new()
        .with_predictor(baseline())
        .with_predictor(Box::new(Profile::new("profile", ProfileParams::default()).unwrap()))
        .with_predictor(Box::new(Cell::new("cell", CellParams::default()).unwrap()))
        .with_predictor(Box::new(History::new("history", HistoryParams::default()).unwrap()))
        .with_evaluation(settings())
}

#[test]
fn a_dataset_built_from_a_frame_evaluates_as_the_same_values_read_from_csv() {
    // Missing answers, and groupings both by a profile attribute and by another column.
    let world = WorldSpec {
        persons: 240,
        seed: 8,
        items: vec![WorldItem { missing: 0.1, ..WorldItem::named("q1") }, WorldItem::named("q2")],
        ..WorldSpec::default()
    };
    let csv = String::from_utf8(world.to_csv()).unwrap();
    let spec = DataSpec::new("world", "person_id", ["age_group", "sex", "education"], ["q1", "q2"]).ordinal(["q1"]);
    let groups = ["region".to_string(), "sex".to_string()];
    let from_csv = Dataset::from_reader(csv.as_bytes(), &spec, &groups).unwrap();

    // The same values as columns (world values hold no commas), the id among them and unused.
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let columns: Vec<(&str, Vec<&str>)> =
        header.iter().enumerate().map(|(c, &name)| (name, rows.iter().map(|r| r[c]).collect())).collect();
    let ids = rows.iter().map(|r| r[0].to_string()).collect();
    let from_frame = Dataset::from_frame(ids, Frame::from_columns(&columns).unwrap(), &spec, &groups).unwrap();

    assert_eq!((from_frame.persons(), from_frame.ids()), (240, from_csv.ids()));
    assert!(from_csv.item(0).missing() > 0);
    for (a, b) in from_frame.items().zip(from_csv.items()) {
        assert_eq!((a.name(), a.levels(), a.ordinal(), a.missing()), (b.name(), b.levels(), b.ordinal(), b.missing()));
        assert!(a.answers().eq(b.answers()));
    }
    for (a, b) in from_frame.groups().zip(from_csv.groups()) {
        assert!(a.groups().eq(b.groups()));
        assert!((0..240).all(|p| a.group(p) == b.group(p)));
    }
    let memory = every_kind().run(&from_frame, &mut |_| {}).unwrap();
    let file = every_kind().run(&from_csv, &mut |_| {}).unwrap();
    assert_eq!(json(&memory), json(&file));
    assert_eq!(memory.data.groups, ["region", "sex"]);
    assert_eq!(memory.predictors["profile"].verdict, file.predictors["profile"].verdict);
}

#[test]
fn a_frame_with_levels_nobody_has_is_judged_by_the_values_persons_have() {
    use populace::frame::{Dictionary, FrameBuilder};
    // Fixed dictionaries: "c" is an option nobody chose, "x" a level nobody has.
    let mut builder = FrameBuilder::new([
        ("sex", Dictionary::fixed(&["f", "x", "m"]).unwrap()),
        ("q", Dictionary::fixed(&["c", "b", "a"]).unwrap()),
    ])
    .unwrap();
    for p in 0..40 {
        builder.push([Some(["f", "m"][p % 2]), [Some("a"), Some("b"), None][p % 3]]).unwrap();
    }
    let ids: Vec<String> = (0..40).map(|p| format!("p{p}")).collect();
    let spec = DataSpec::new("fixed", "id", ["sex"], ["q"]);
    let data = Dataset::from_frame(ids.clone(), builder.finish(), &spec, &["sex".into()]).unwrap();
    assert_eq!(data.item(0).levels(), ["a", "b", "c"]);
    // The 13 persons without an answer answered no item: they are left out, and counted.
    assert_eq!((data.persons(), data.without_answers(), data.item(0).missing()), (27, 13, 0));
    assert_eq!((data.answer(0, 0), data.answer(1, 0), data.answer(2, 0)), (Some(0), Some(1), Some(0)));
    assert_eq!(data.attribute(0).levels(), ["f", "x", "m"]);
    assert!(data.grouping(0).groups().eq(["f", "m"]));
    assert!(data.warnings().is_empty());
    let result = Experiment::new()
        .with_predictor(baseline())
        .with_predictor(Box::new(Profile::new("profile", ProfileParams::default()).unwrap()))
        .with_evaluation(EvaluationSpec::default().folds(2).bootstrap(20))
        .run(&data, &mut |_| {})
        .unwrap();
    assert_eq!(result.data.items[0].options, ["a", "b", "c"]);
    assert_eq!(result.predictors["profile"].population.tv.groups["sex"].keys().collect::<Vec<_>>(), ["f", "m"]);

    // One answer for everybody who answered is nothing to predict, whatever the options.
    let mut builder = FrameBuilder::new([
        ("sex", Dictionary::fixed(&["f", "m"]).unwrap()),
        ("q", Dictionary::fixed(&["a", "b"]).unwrap()),
    ])
    .unwrap();
    for p in 0..40 {
        builder.push([Some(["f", "m"][p % 2]), Some("b")]).unwrap();
    }
    let e = Dataset::from_frame(ids, builder.finish(), &spec, &[]).unwrap_err().to_string();
    assert_eq!(e, "fixed, column \"q\": every answer to the item is \"b\"; there is nothing to predict");
}

#[test]
fn a_frame_needs_one_id_per_row_and_complete_profiles() {
    let spec = DataSpec::new("memory", "id", ["sex"], ["q"]);
    let frame = || Frame::from_columns(&[("sex", ["f", "", "m"]), ("q", ["a", "b", "a"])]).unwrap();
    let ids = |ids: &[&str]| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let error = |ids: Vec<String>, spec: &DataSpec, groups: &[String]| {
        Dataset::from_frame(ids, frame(), spec, groups).unwrap_err().to_string()
    };
    assert_eq!(error(ids(&["1", "2"]), &spec, &[]), "memory, column \"id\": 2 person ids for 3 rows");
    assert_eq!(error(ids(&["1", "", "3"]), &spec, &[]), "memory, column \"id\": the person id of row 2 is empty");
    assert_eq!(
        error(ids(&["1", "NA", "3"]), &spec, &[]),
        "memory, column \"id\": the person id of row 2 is \"NA\", a missing value"
    );
    assert_eq!(error(ids(&["1", "1", "3"]), &spec, &[]), "memory, column \"id\": person id \"1\" appears twice");
    let strict = spec.clone().profile_missing(MissingPolicy::Error);
    let e = error(ids(&["1", "2", "3"]), &strict, &[]);
    assert!(
        e.starts_with("memory, row 2, column \"sex\": person \"2\": the profile attribute is missing (\"\")"),
        "{e}"
    );
    // By default person 2 is left out, and q has one answer left.
    assert_eq!(
        error(ids(&["1", "2", "3"]), &spec, &[]),
        "memory, column \"q\": every answer to the item is \"a\"; there is nothing to predict"
    );
    assert_eq!(
        error(ids(&["1", "2", "3"]), &spec, &["region".into()]),
        "memory, column \"region\": unknown group column \"region\"; the frame has \"sex\", \"q\""
    );
    let twice = DataSpec::new("memory", "id", ["sex"], ["sex"]);
    assert!(error(ids(&["1", "2", "3"]), &twice, &[]).contains("column \"sex\" is named twice"));
}
