//! Effect estimates against R (`tests/oracle/effects.R`): `lm` for an ordinal item's scale
//! position and `glm(binomial)` for a nominal item's option against the reference, on the ANES
//! 1996 respondents; one test per fixture in `tests/oracle/effects/`.

mod common;

use common::{assert_every_case_tested, root};
use populace::evaluation::effects::{self, EffectKind};
use populace::evaluation::{DataSpec, Dataset};

fn oracle(name: &str) -> Vec<(String, f64, f64)> {
    let mut reader = csv::Reader::from_path(root().join(format!("tests/oracle/effects/{name}.csv"))).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse().unwrap(), r[2].parse().unwrap())
        })
        .collect()
}

fn anes() -> Dataset {
    let spec = DataSpec::new(
        root().join("marginals/anes1996/anes1996.csv"),
        "respondent_id",
        ["age_group", "education", "income_band"],
        ["party_id_7", "vote_intention"],
    )
    .ordinal(["party_id_7"]);
    Dataset::load(&spec, &[]).unwrap()
}

fn check(item: usize, reference: &str, fixture: &str, tolerance: f64) {
    let data = anes();
    let column = data.item(item);
    let persons: Vec<usize> = (0..data.persons()).filter(|&p| column.answer(p).is_some()).collect();
    let answers: Vec<usize> = persons.iter().map(|&p| column.answer(p).unwrap()).collect();
    let reference = column.levels().iter().position(|l| l == reference).unwrap();
    let found = effects::estimate(&data, item, &persons, &answers, reference);
    let main: Vec<_> = found.iter().filter(|e| e.kind == EffectKind::Main).collect();
    let expected = oracle(fixture);
    assert_eq!(main.len(), expected.len(), "{:?}", main.iter().map(|e| &e.term).collect::<Vec<_>>());
    for (term, estimate, se) in expected {
        let e = main.iter().find(|e| e.term == term).unwrap_or_else(|| panic!("no effect {term}"));
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
        assert!(rel(e.estimate, estimate) < tolerance, "{term}: estimate {} vs R {estimate}", e.estimate);
        assert!(rel(e.se, se) < tolerance, "{term}: se {} vs R {se}", e.se);
    }
}

/// One test per fixture: the item (by its index in the data spec), the reference level, the
/// fixture's name and the relative tolerance; and the list of the fixtures they test.
macro_rules! effects_cases {
    ($($(#[$doc:meta])* $test:ident: item $item:literal against $reference:literal is $fixture:literal to $tolerance:literal,)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $test() {
                check($item, $reference, $fixture, $tolerance);
            }
        )*
        const TESTED: &[&str] = &[$($fixture),*];
    };
}

effects_cases! {
    ordinal_effects_equal_r_lm: item 0 against "0 Strong Democrat" is "party_id_7_ols" to 1e-9,
    /// populace adds a 1e-6 ridge to the slopes; R's IRLS stops at its own tolerance.
    nominal_effects_equal_r_glm: item 1 against "Clinton" is "vote_intention_logit" to 1e-5,
}

#[test]
fn every_fixture_has_a_test() {
    let mut fixtures: Vec<String> = std::fs::read_dir(root().join("tests/oracle/effects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    assert_every_case_tested("tests/oracle/effects", &fixtures, TESTED, &[]);
}
