//! `populace generate` through the CLI: exact pools meet the shipped margins, random pools are
//! close, files are byte-identical across runs and thread counts, naive pools keep one-way
//! marginals but lose associations, zones are independent of each other, Parquet reads back,
//! cards never show "None", and bad templates and extensions are clear errors.

use std::collections::HashMap;
mod common;

use std::path::Path;

use common::{populace, read_csv, root, BAD_INPUT};
use predicates::prelude::*;

const ACS: &str = "calibration/acs2012.toml";
const API: &str = "calibration/api_counties.toml";
const ACS_MARGINS: [&str; 6] =
    ["age_sex.csv", "age_education.csv", "age_income.csv", "age_married.csv", "sex_employment.csv", "race_sex.csv"];

/// Runs `populace generate SPEC --out OUT ARGS… --quiet` from the crate's folder.
fn generate(spec: &str, out: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    populace().arg("generate").arg(spec).arg("--out").arg(out).args(args).arg("--quiet").current_dir(root()).assert()
}

/// A marginal table: the attribute columns and the count of every listed cell.
fn read_margin(path: &Path) -> (Vec<String>, HashMap<Vec<String>, f64>) {
    let (header, rows) = read_csv(path);
    let k = header.len() - 1;
    let cells = rows.into_iter().map(|r| (r[..k].to_vec(), r[k].parse().unwrap())).collect();
    (header[..k].to_vec(), cells)
}

/// Persons per cell of the given attributes.
fn tally(header: &[String], rows: &[Vec<String>], attributes: &[String]) -> HashMap<Vec<String>, f64> {
    let columns: Vec<usize> = attributes.iter().map(|a| header.iter().position(|h| h == a).unwrap()).collect();
    let mut counts = HashMap::new();
    for row in rows {
        *counts.entry(columns.iter().map(|&c| row[c].clone()).collect()).or_insert(0.0) += 1.0;
    }
    counts
}

fn acs_margin(name: &str) -> (Vec<String>, HashMap<Vec<String>, f64>) {
    read_margin(&root().join("marginals/acs2012").join(name))
}

#[test]
fn exact_mode_reproduces_every_margin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("persons.csv");
    generate(ACS, &out, &["-n", "2000", "--seed", "3"]).success();
    let (header, rows) = read_csv(&out);
    assert_eq!(rows.len(), 2000);
    assert_eq!(header[0], "person_id");
    assert_eq!(*header.last().unwrap(), "card");
    let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, (1..=2000).map(|i| i.to_string()).collect::<Vec<_>>());
    for name in ACS_MARGINS {
        let (attributes, targets) = acs_margin(name);
        let got = tally(&header, &rows, &attributes);
        for (cell, target) in &targets {
            assert_eq!(got.get(cell).copied().unwrap_or(0.0), *target, "{name} {cell:?}");
        }
        assert!(got.keys().all(|c| targets.contains_key(c)), "{name}: a person outside the margin's cells");
    }
}

#[test]
fn seed_method_exact_pools_meet_the_margins_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("persons.csv");
    generate("calibration/acs2012_rake.toml", &out, &["--no-card"]).success();
    let (header, rows) = read_csv(&out);
    assert_eq!(rows.len(), 2000, "without -n: the margins' total");
    assert_ne!(*header.last().unwrap(), "card");
    for name in ACS_MARGINS {
        let (attributes, targets) = acs_margin(name);
        let got = tally(&header, &rows, &attributes);
        for (cell, target) in &targets {
            assert_eq!(got.get(cell).copied().unwrap_or(0.0), *target, "{name} {cell:?}");
        }
    }
}

#[test]
fn random_mode_has_n_persons_and_roughly_the_margins() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("persons.csv");
    let n = 20_000.0;
    generate(ACS, &out, &["-n", "20000", "--mode", "random", "--no-card"]).success();
    let (header, rows) = read_csv(&out);
    assert_eq!(rows.len(), 20_000);
    let mut exact = true;
    for name in ACS_MARGINS {
        let (attributes, targets) = acs_margin(name);
        let got = tally(&header, &rows, &attributes);
        for (cell, target) in &targets {
            let p = target / 2000.0;
            let expected = p * n;
            let sd = (n * p * (1.0 - p)).sqrt();
            let count = got.get(cell).copied().unwrap_or(0.0);
            assert!((count - expected).abs() <= 5.0 * sd + 1e-9, "{name} {cell:?}: {count} vs {expected} ± {sd}");
            exact &= count == expected;
        }
    }
    assert!(!exact, "a random pool meeting every scaled margin exactly is implausible");
}

#[test]
fn the_same_seed_gives_identical_bytes_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "jsonl", "parquet"] {
        for mode in ["exact", "random"] {
            let a = dir.path().join(format!("a-{mode}.{ext}"));
            let b = dir.path().join(format!("b-{mode}.{ext}"));
            let c = dir.path().join(format!("c-{mode}.{ext}"));
            generate(ACS, &a, &["-n", "3000", "--seed", "11", "--mode", mode]).success();
            generate(ACS, &b, &["-n", "3000", "--seed", "11", "--mode", mode]).success();
            generate(ACS, &c, &["-n", "3000", "--seed", "12", "--mode", mode]).success();
            let (a, b, c) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), std::fs::read(c).unwrap());
            assert!(a == b, "{mode} {ext}: same seed, different bytes");
            assert!(a != c, "{mode} {ext}: different seeds, same bytes");
        }
    }
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 4] = [
        (ACS, "csv", &["-n", "70000", "--mode", "random", "--template"]),
        (ACS, "parquet", &["-n", "5000"]),
        (API, "jsonl", &[]),
        (API, "csv", &["--naive", "seedless", "--mode", "random"]),
    ];
    let template = dir.path().join("id.j2");
    std::fs::write(&template, "{{ person_id }}: {{ persona() }}").unwrap();
    for (i, (spec, ext, args)) in cases.iter().enumerate() {
        let mut args: Vec<&str> = args.to_vec();
        if args.last() == Some(&"--template") {
            args.push(template.to_str().unwrap());
        }
        let files: Vec<Vec<u8>> = ["1", "2", "8"]
            .iter()
            .map(|threads| {
                let out = dir.path().join(format!("{i}-{threads}.{ext}"));
                populace()
                    .arg("generate")
                    .arg(spec)
                    .arg("--out")
                    .arg(&out)
                    .args(&args)
                    .arg("--quiet")
                    .env("RAYON_NUM_THREADS", threads)
                    .current_dir(root())
                    .assert()
                    .success();
                std::fs::read(out).unwrap()
            })
            .collect();
        assert!(files[0] == files[1] && files[0] == files[2], "case {i}: files differ between thread counts");
    }
}

#[test]
fn naive_independent_keeps_one_way_marginals_but_not_associations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("naive.csv");
    generate(ACS, &out, &["-n", "2000", "--naive", "independent"]).success();
    let (header, rows) = read_csv(&out);
    assert_eq!(rows.len(), 2000);
    for name in ACS_MARGINS {
        let (attributes, targets) = acs_margin(name);
        for (a, attribute) in attributes.iter().enumerate() {
            let mut one_way: HashMap<Vec<String>, f64> = HashMap::new();
            for (cell, t) in &targets {
                *one_way.entry(vec![cell[a].clone()]).or_insert(0.0) += t;
            }
            let got = tally(&header, &rows, std::slice::from_ref(attribute));
            for (cell, t) in &one_way {
                assert_eq!(got.get(cell).copied().unwrap_or(0.0), *t, "{attribute} {cell:?}");
            }
        }
    }
    // nobody under 18 is married in the margins; independent draws marry children
    let (attributes, targets) = acs_margin("age_married.csv");
    let got = tally(&header, &rows, &attributes);
    let married_children = got.get(&vec!["0-17".to_string(), "yes".to_string()]).copied().unwrap_or(0.0);
    assert_eq!(targets[&vec!["0-17".to_string(), "yes".to_string()]], 0.0);
    assert!(married_children > 20.0, "{married_children} married children");
}

#[test]
fn naive_seedless_meets_the_margins_from_a_uniform_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seedless.csv");
    let output = generate(ACS, &out, &["--naive", "seedless", "--json"]).success().get_output().stdout.clone();
    let summary: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(summary["source"], "naive seedless");
    assert_eq!(summary["persons"], 2000);
    assert_eq!(summary["exact_margins"], true);
    let (header, rows) = read_csv(&out);
    let (attributes, targets) = acs_margin("age_sex.csv");
    let got = tally(&header, &rows, &attributes);
    assert!(targets.iter().all(|(c, t)| got.get(c).copied().unwrap_or(0.0) == *t));
}

/// Rows of one zone from a zoned CSV, as raw lines.
fn zone_lines(path: &Path, zone: &str) -> Vec<String> {
    let (header, rows) = read_csv(path);
    let z = header.iter().position(|h| h == "zone").unwrap();
    rows.into_iter().filter(|r| r[z] == zone).map(|r| r.join("\u{1f}")).collect()
}

#[test]
fn zones_get_a_column_prefixed_ids_and_their_own_streams() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.csv");
    generate(API, &all, &["--seed", "5"]).success();
    let (header, rows) = read_csv(&all);
    assert_eq!(&header[..5], ["person_id", "zone", "stype", "sch_wide", "awards"]);
    assert_eq!(rows[0][0], format!("{}-1", rows[0][1]));
    assert!(rows.iter().all(|r| r[0].starts_with(&format!("{}-", r[1]))));
    assert!(rows.iter().all(|r| r[5].ends_with(&format!("You live in {}.", r[1]))), "{:?}", rows[0]);

    // every zone gets its own total: Alameda has 279 schools in every margin
    let alameda: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == "Alameda").collect();
    assert_eq!(alameda.len(), 279);
    assert_eq!(alameda.last().unwrap()[0], "Alameda-279");

    // the same zone generated alone
    let api = root().join("marginals/api");
    let mut spec = String::from(
        "[attributes]\nstype = [\"E\", \"H\", \"M\"]\nsch_wide = [\"No\", \"Yes\"]\nawards = [\"No\", \"Yes\"]\n",
    );
    spec.push_str(&format!("[seed]\nfile = {:?}\nweight = \"weight\"\nid = \"id\"\n", api.join("seed.csv")));
    for margin in ["stype_by_county.csv", "sch_wide_by_county.csv", "awards_by_county.csv"] {
        let text = std::fs::read_to_string(api.join(margin)).unwrap();
        let kept: Vec<&str> =
            text.lines().enumerate().filter(|(i, l)| *i == 0 || l.starts_with("Alameda,")).map(|(_, l)| l).collect();
        std::fs::write(dir.path().join(margin), kept.join("\n") + "\n").unwrap();
        spec.push_str(&format!("[[margin]]\nfile = \"{margin}\"\n"));
    }
    spec.push_str("[fit]\nmethod = \"rake\"\ntolerance = 1e-8\n[zones]\ncolumn = \"county\"\n");
    std::fs::write(dir.path().join("alameda.toml"), spec).unwrap();
    let alone = dir.path().join("alone.csv");
    generate(dir.path().join("alameda.toml").to_str().unwrap(), &alone, &["--seed", "5"]).success();
    assert_eq!(zone_lines(&alone, "Alameda"), zone_lines(&all, "Alameda"));
    assert_eq!(read_csv(&alone).1.len(), 279);
}

#[test]
fn zones_split_n_in_proportion_to_their_totals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schools.jsonl");
    generate(API, &out, &["-n", "1000", "--mode", "random"]).success();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1000);
    let first = &lines[0];
    let raw = text.lines().next().unwrap();
    let at: Vec<usize> = ["person_id", "zone", "stype", "sch_wide", "awards", "card"]
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "keys out of column order: {raw}");
    assert_eq!(first["person_id"], format!("{}-1", first["zone"].as_str().unwrap()));
    // Alameda has 279 of the 6194 schools: 45.04 of 1000
    let (_, stype) = read_margin(&root().join("marginals/api/stype_by_county.csv"));
    let total: f64 = stype.values().sum();
    let alameda: f64 = stype.iter().filter(|(c, _)| c[0] == "Alameda").map(|(_, t)| t).sum();
    let share = alameda / total * 1000.0;
    let got = lines.iter().filter(|l| l["zone"] == "Alameda").count() as f64;
    assert!((got - share).abs() < 1.0, "Alameda: {got} persons for a share of {share}");
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_reads_back_with_int64_ids() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("persons.parquet");
    generate(ACS, &out, &["-n", "150000", "--mode", "random"]).success();
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(builder.metadata().file_metadata().num_rows(), 150_000);
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names[0], "person_id");
    assert_eq!(names.last(), Some(&"card"));
    assert_eq!(schema.field(0).data_type(), &arrow_schema::DataType::Int64);
    assert_eq!(schema.field(1).data_type(), &arrow_schema::DataType::Utf8);
    let mut next = 1i64;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let ids = batch.column(0).as_any().downcast_ref::<arrow_array::Int64Array>().unwrap();
        for id in ids.values() {
            assert_eq!(*id, next);
            next += 1;
        }
    }
    assert_eq!(next, 150_001);
}

#[test]
fn cards_never_show_none_or_undefined() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("card.j2");
    std::fs::write(
        &template,
        "Person {{ person_id }} ({{ zone }}), income {{ income }}{{ salary.amount }}, {{ hobbies | join(', ') }}; \
         age {{ age_group }}, {{ nickname | default('no nickname') }}. {{ persona() }}\n",
    )
    .unwrap();
    let out = dir.path().join("persons.csv");
    generate(ACS, &out, &["-n", "500", "--template", template.to_str().unwrap()]).success();
    let (header, rows) = read_csv(&out);
    let card = header.iter().position(|h| h == "card").unwrap();
    for row in &rows {
        let text = row[card].to_lowercase();
        assert!(!text.contains("none") && !text.contains("undefined"), "{}", row[card]);
        assert!(row[card].starts_with(&format!("Person {} (), income , ; age ", row[0])), "{}", row[card]);
    }
}

#[test]
fn a_bad_template_is_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("broken.j2");
    std::fs::write(&template, "You are {{ age_group }}.\n{% if sex %}unclosed").unwrap();
    let out = dir.path().join("persons.csv");
    generate(ACS, &out, &["--template", template.to_str().unwrap()])
        .code(BAD_INPUT)
        .stderr(predicates::str::contains("broken.j2, line 2").and(predicates::str::contains("template error")));
    assert!(!out.exists());
    let missing = dir.path().join("missing.j2");
    generate(ACS, &out, &["--template", missing.to_str().unwrap()])
        .code(BAD_INPUT)
        .stderr(predicates::str::contains("missing.j2"));
}

#[test]
fn an_unknown_extension_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("persons.xlsx");
    generate(ACS, &out, &[]).code(BAD_INPUT).stderr(predicates::str::contains("\".xlsx\""));
    assert!(!out.exists());
}

#[test]
fn the_summary_names_persons_mode_source_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub/persons.jsonl");
    let output = populace()
        .args(["generate", ACS, "-n", "100", "--mode", "random", "--out"])
        .arg(&out)
        .current_dir(root())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(text.contains("100 persons") && text.contains("random mode") && text.contains("calibrated"), "{text}");
    assert!(text.contains(&out.display().to_string()), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("persons.jsonl")], "no temporary file is left behind");
    let summary = generate(ACS, &out, &["-n", "10", "--json"]).success().get_output().stdout.clone();
    let summary: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(summary["persons"], 10);
    assert_eq!(summary["mode"], "exact");
    assert_eq!(summary["source"], "calibrated");
    assert_eq!(summary["format"], "jsonl");
    assert_eq!(summary["file"], out.display().to_string());
}
