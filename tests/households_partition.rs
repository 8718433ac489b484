//! Households per top-level zone and persona cards that see the household: a problem
//! restricted to some top-level zones fits to the whole fit's weights for them;
//! `populace generate --partitioned/--shard/--zones` on a household spec writes a zone's files
//! byte-identically however the zones are sharded; `populace fit --shard` writes the whole
//! fit's weights per zone; the default card on PopulationSim's example_test and a custom
//! template that reads the household, its members' roles and the zones.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::{populace, read_csv, BAD_INPUT, NOT_CONVERGED, OK};
use populace::households::{fit, HouseholdWeights};
use populace::inputs::{HouseholdProblem, HouseholdSpec};
use sha2::{Digest, Sha256};

/// PopulationSim's example_test (DISTRICT > PUMA > TRACT > TAZ: 3 districts of 2 PUMAs each)
/// imported into a fresh folder, integerized.
fn imported() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = common::root().join("tests/fixtures/populationsim/example_test");
    let out = dir.path().join("project");
    populace()
        .args(["import", "populationsim"])
        .arg(project.join("configs"))
        .arg(project.join("data"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(OK);
    let spec = out.join("spec.toml");
    let text = std::fs::read_to_string(&spec).unwrap().replace("integerize = false", "integerize = true");
    std::fs::write(&spec, text).unwrap();
    (dir, spec)
}

/// (lowest zone, seed household id) → (weight bits, count) of a fit, for the lowest zones
/// inside the top-level zones `tops` (all when empty).
fn by_zone(
    problem: &HouseholdProblem,
    weights: &HouseholdWeights,
    tops: &[&str],
) -> BTreeMap<(String, String), (u64, u64)> {
    let g = &problem.geography;
    let lowest = weights.lowest();
    (0..lowest.len())
        .filter(|&i| {
            let top = &g.levels[0].zones[g.ancestor(g.lowest(), lowest.zone[i] as usize, 0)];
            tops.is_empty() || tops.contains(&top.as_str())
        })
        .map(|i| {
            let zone = g.levels[g.lowest()].zones[lowest.zone[i] as usize].clone();
            let id = problem.households.ids[lowest.household[i] as usize].clone();
            let count = lowest.count.as_ref().map_or(0, |c| c[i]);
            ((zone, id), (lowest.weight[i].to_bits(), count))
        })
        .collect()
}

#[test]
fn a_restricted_problem_fits_to_the_whole_fits_weights_for_its_zones() {
    let (_dir, path) = imported();
    let spec = HouseholdSpec::from_path(&path).unwrap();
    let problem = HouseholdProblem::load(&spec).unwrap();
    let whole = fit(&problem, &spec.fit).unwrap();
    let tops = problem.geography.levels[0].zones.clone();
    assert_eq!(tops, ["1", "2", "3"]);
    // DISTRICT controls are shared out to each district's PUMAs, so this checks meta factoring too.
    for zones in [vec![0], vec![1], vec![2], vec![2, 0]] {
        let sub = problem.restrict(&zones).unwrap();
        let names: Vec<&str> = zones.iter().map(|&z| tops[z].as_str()).collect();
        assert_eq!(sub.geography.levels[0].zones.len(), zones.len());
        let seed_households: usize = sub.households.len();
        assert!(seed_households > 0 && seed_households < problem.households.len());
        let part = fit(&sub, &spec.fit).unwrap();
        let ours = by_zone(&sub, &part, &[]);
        assert!(!ours.is_empty());
        assert_eq!(ours, by_zone(&problem, &whole, &names), "districts {names:?}");
        assert!(part.lowest().count.is_some());
    }
    assert!(problem.restrict(&[3]).unwrap_err().to_string().contains("past the last of 3"));
}

/// `populace generate SPEC --out OUT ARGS…` with `stdin`; its manifest lines by zone, each with
/// the bytes of its two files.
fn partitioned(
    spec: &Path,
    out: &Path,
    args: &[&str],
    stdin: &str,
) -> BTreeMap<String, (serde_json::Value, Vec<u8>, Vec<u8>)> {
    let assert =
        populace().arg("generate").arg(spec).arg("--out").arg(out).args(args).arg("-q").write_stdin(stdin).assert();
    let output = assert.code(NOT_CONVERGED).get_output().clone();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let line: serde_json::Value = serde_json::from_str(l).unwrap();
            let households = std::fs::read(line["households_path"].as_str().unwrap()).unwrap();
            let persons = std::fs::read(line["persons_path"].as_str().unwrap()).unwrap();
            (line["zone"].as_str().unwrap().to_string(), (line, households, persons))
        })
        .collect()
}

/// A manifest line without its paths (which name the run's folder).
fn without_paths(line: &serde_json::Value) -> serde_json::Value {
    let mut line = line.clone();
    line.as_object_mut().unwrap().retain(|k, _| !k.ends_with("_path"));
    line
}

#[test]
fn a_zones_files_do_not_depend_on_the_sharding() {
    let (dir, spec) = imported();
    let csv = ["--format", "csv"];
    let all = partitioned(&spec, &dir.path().join("all"), &[&csv[..], &["--partitioned"]].concat(), "");
    assert_eq!(all.keys().collect::<Vec<_>>(), ["1", "2", "3"]);
    let mut sharded = BTreeMap::new();
    for i in 1..=2 {
        let shard = format!("{i}/2");
        sharded.extend(partitioned(&spec, &dir.path().join("sharded"), &[&csv[..], &["--shard", &shard]].concat(), ""));
    }
    let listed = partitioned(&spec, &dir.path().join("listed"), &[&csv[..], &["--zones", "-"]].concat(), "3\n\n1\n");
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["1", "3"]);
    for (zone, (line, households, persons)) in &all {
        for other in [sharded.get(zone), listed.get(zone)].into_iter().flatten() {
            assert_eq!(without_paths(line), without_paths(&other.0), "zone {zone}");
            assert!(households == &other.1 && persons == &other.2, "zone {zone}: files differ");
        }
        assert_eq!(line["households_checksum"].as_str().unwrap(), format!("sha256:{:x}", Sha256::digest(households)));
        assert_eq!(line["persons_bytes"].as_u64().unwrap(), persons.len() as u64);
        let path = line["persons_path"].as_str().unwrap();
        assert!(path.ends_with(&format!("persons/zone={zone}/part-0.csv")), "{path}");
        // ids count within the zone; every person's household is in the zone's file
        let text = String::from_utf8(households.clone()).unwrap();
        assert!(text.lines().nth(1).unwrap().starts_with(&format!("{zone}-1,{zone},")), "{text}");
        assert_eq!(text.lines().count() as u64 - 1, line["households"].as_u64().unwrap());
        let ids: std::collections::HashSet<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        let persons = String::from_utf8(persons.clone()).unwrap();
        assert_eq!(persons.lines().count() as u64 - 1, line["persons"].as_u64().unwrap());
        assert!(persons.lines().skip(1).all(|l| ids.contains(l.split(',').next().unwrap())));
    }
    // The partitions hold the whole run's households (1,500 on example_test) and persons.
    let whole = dir.path().join("whole");
    populace().arg("generate").arg(&spec).arg("--out").arg(&whole).arg("-q").assert().code(NOT_CONVERGED);
    let households = all.values().map(|(l, _, _)| l["households"].as_u64().unwrap()).sum::<u64>();
    let persons = all.values().map(|(l, _, _)| l["persons"].as_u64().unwrap()).sum::<u64>();
    assert_eq!(households as usize, read_csv(whole.join("households.csv")).1.len());
    assert_eq!(persons as usize, read_csv(whole.join("persons.csv")).1.len());
    // Parquet by default, one file pair per zone.
    let parquet = partitioned(&spec, &dir.path().join("parquet"), &["--shard", "2/3"], "");
    let (line, households, _) = &parquet["2"];
    assert!(households.starts_with(b"PAR1"), "{line}");
}

#[test]
fn fit_shards_write_the_whole_fits_weights_per_zone() {
    let (dir, spec) = imported();
    let whole = dir.path().join("whole");
    populace().arg("fit").arg(&spec).arg("--out").arg(&whole).arg("-q").assert().code(NOT_CONVERGED);
    let (header, rows) = read_csv(whole.join("weights.csv"));
    assert_eq!(header, ["TAZ", "hh_id", "weight", "count"]);
    let out = dir.path().join("shards");
    let output = populace().arg("fit").arg(&spec).args(["--shard", "2/2", "--out"]).arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(NOT_CONVERGED), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["zone"], "2");
    let (_, zone_rows) = read_csv(out.join("zone=2/weights.csv"));
    // district 2 is TAZ 300-405
    let expected: Vec<&Vec<String>> = rows.iter().filter(|r| r[0].starts_with('3') || r[0].starts_with('4')).collect();
    assert_eq!(zone_rows.iter().collect::<Vec<_>>(), expected);
    let households: u64 = zone_rows.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(lines[0]["households"].as_f64().unwrap(), households as f64);
}

#[test]
fn the_default_card_describes_the_person_household_and_zones_on_example_test() {
    let (dir, spec) = imported();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        populace()
            .env("RAYON_NUM_THREADS", threads)
            .arg("generate")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("-q")
            .assert()
            .code(NOT_CONVERGED);
        std::fs::read(out.join("persons.csv")).unwrap()
    };
    let (one, four) = (run("one", "1"), run("four", "4"));
    assert!(one == four, "cards differ between 1 and 4 threads");
    let mut reader = csv::Reader::from_reader(one.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["household_id", "person_id", "per_num", "OSUTAG", "OCCP", "card"]
    );
    let cards: Vec<String> = reader.records().map(|r| r.unwrap()[5].to_string()).collect();
    assert_eq!(
        cards[0],
        "You are a person. Your per num is 1. Your OSUTAG is 0. Your OCCP is 1. You live with 2 others. \
         Household: NP 3, HTYPE 1. You live in TAZ 100, TRACT 1, PUMA 600, DISTRICT 1."
    );
    assert!(cards.iter().any(|c| c.contains("You live alone.")));
    // --no-card leaves the column out
    let out = dir.path().join("plain");
    populace().arg("generate").arg(&spec).arg("--out").arg(&out).args(["--no-card", "-q"]).assert().code(NOT_CONVERGED);
    assert_eq!(read_csv(out.join("persons.csv")).0.last().unwrap(), "OCCP");
}

/// A two-PUMA project (a household each) whose persons have ages, sexes and a relationship column.
fn family() -> tempfile::TempDir {
    common::folder(&[
        (
            "spec.toml",
            r#"
[geography]
levels = ["PUMA", "TAZ"]
seed = "PUMA"
crosswalk = "crosswalk.csv"

[households]
file = "households.csv"
id = "hh"
weight = "w"
total_control = "households"

[persons]
file = "persons.csv"
household_id = "hh"
role = "RELP"
roles = { "0" = "reference person", "1" = "spouse", "2" = "child" }

[[controls]]
geography = "TAZ"
file = "taz.csv"

[[control]]
name = "households"
geography = "TAZ"
expression = "w > 0"
"#,
        ),
        ("households.csv", "hh,PUMA,w,tenure\n1,100,5,rented\n2,200,5,owned\n"),
        ("persons.csv", "hh,RELP,age,sex\n1,0,34,female\n1,1,36,male\n1,2,7,female\n2,0,70,male\n"),
        ("crosswalk.csv", "PUMA,TAZ\n100,12\n200,13\n"),
        ("taz.csv", "TAZ,households\n12,1\n13,1\n"),
    ])
}

#[test]
fn cards_name_the_household_members_by_age_sex_and_role() {
    let dir = family();
    let out = dir.path().join("out");
    let spec = dir.path().join("spec.toml");
    populace().arg("generate").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(OK);
    let (header, rows) = read_csv(out.join("persons.csv"));
    let card = header.iter().position(|h| h == "card").unwrap();
    let cards: HashMap<String, String> = rows.iter().map(|r| (r[3].clone(), r[card].clone())).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        cards["34"],
        "You are a 34-year-old woman. Your role in the household: reference person. You live with 2 others: a \
         36-year-old man (spouse) and a 7-year-old girl (child). Household: tenure rented. You live in TAZ 12, \
         PUMA 100."
    );
    assert_eq!(
        cards["7"],
        "You are a 7-year-old girl. Your role in the household: child. You live with 2 others: a 34-year-old woman \
         (reference person) and a 36-year-old man (spouse). Household: tenure rented. You live in TAZ 12, PUMA 100."
    );
    assert_eq!(
        cards["70"],
        "You are a 70-year-old man. Your role in the household: reference person. You live alone. Household: \
         tenure owned. You live in TAZ 13, PUMA 200."
    );

    let template = dir.path().join("card.j2");
    std::fs::write(
        &template,
        "{{ person_id }}/{{ household_id }} {{ role }} of {{ household.size }} in {{ household.zones.TAZ }} \
         ({{ household.attributes.tenure }}):{% for m in household.members %} {{ m.role }} {{ m.age }}{{ m.sex[0] }}{% endfor %}",
    )
    .unwrap();
    let custom = dir.path().join("custom");
    populace()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&custom)
        .arg("--template")
        .arg(&template)
        .arg("-q")
        .assert()
        .code(OK);
    let (_, rows) = read_csv(custom.join("persons.csv"));
    let cards: Vec<&str> = rows.iter().map(|r| r.last().unwrap().as_str()).collect();
    assert_eq!(
        cards,
        [
            "1/1 reference person of 3 in 12 (rented): spouse 36m child 7f",
            "2/1 spouse of 3 in 12 (rented): reference person 34f child 7f",
            "3/1 child of 3 in 12 (rented): reference person 34f spouse 36m",
            "4/2 reference person of 1 in 13 (owned):",
        ]
    );

    // A template that does not compile is bad input naming its file and line.
    std::fs::write(&template, "line one\n{% if %}").unwrap();
    let output = populace()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("bad"))
        .arg("--template")
        .arg(&template)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(BAD_INPUT));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("card.j2, line 2: template error: syntax error"), "{stderr}");
}

#[test]
fn bad_zone_lists_and_role_columns_are_errors_naming_them() {
    let (dir, spec) = imported();
    let output = populace()
        .arg("generate")
        .arg(&spec)
        .args(["--zones", "-", "--out"])
        .arg(dir.path().join("z"))
        .write_stdin("1\n9\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(BAD_INPUT));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stdin, line 2: unknown zone \"9\":") && stderr.contains("has no DISTRICT zone of this id"),
        "{stderr}"
    );

    let family = family();
    let spec = family.path().join("spec.toml");
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap().replace("role = \"RELP\"", "role = \"REL\""))
        .unwrap();
    let output = populace().arg("generate").arg(&spec).arg("--out").arg(family.path().join("out")).output().unwrap();
    assert_eq!(output.status.code(), Some(BAD_INPUT));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("persons.csv") && stderr.contains("REL"), "{stderr}");
}
