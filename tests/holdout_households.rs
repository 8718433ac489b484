//! The known-truth check of household synthesis, on the shipped EU-SILC sample
//! (`marginals/eusilc/`): `populace generate calibration/eusilc_households.toml` makes the 6,000
//! Austrian households from a 10% seed and controls that count households by size and persons by
//! sex and age band (per state) and by economic status (per region). No control crosses household
//! size with the members' economic status; the test scores the synthetic population on that joint,
//! households by size (1, 2, 3, 4+) × employed members (0, 1, 2, 3+), against the truth
//! (`households.csv`, `persons.csv`, used only here), next to two baselines: the seed with its
//! design weights, and households whose members' statuses are drawn independently from the
//! controls. The figures are printed (`--nocapture`) and quoted in the README ("Worked example").

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{populace, read_csv, root};
use populace::metrics::srmse;

/// Household size bands: 1, 2, 3, 4+.
const SIZES: usize = 4;
/// Employed members: 0, 1, 2, 3+.
const EMPLOYED: usize = 4;

/// A CSV file's column by name.
fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

fn cell(size: usize, employed: usize) -> usize {
    (size.clamp(1, SIZES) - 1) * EMPLOYED + employed.min(EMPLOYED - 1)
}

/// Households by state (in `states` order) × size band × employed members, each household
/// counting its weight: `households` is a file with the columns `id`, `STATE` and (unless `weight`
/// is `None`, every household weighing 1) `weight`; `persons` has `person_id_column` and
/// `economic_status`. Also returns the weight of households with no person 16 or older.
fn table(households: &Path, id: &str, weight: Option<&str>, persons: &Path, states: &[String]) -> (Vec<f64>, f64) {
    let (ph, prows) = read_csv(persons);
    let (pid, status) = (column(&ph, id), column(&ph, "economic_status"));
    let mut members: HashMap<&str, (usize, usize, usize)> = HashMap::new(); // persons, employed, adults
    for row in &prows {
        let m = members.entry(row[pid].as_str()).or_default();
        let s = row[status].as_str();
        m.0 += 1;
        m.1 += usize::from(s == "full-time" || s == "part-time");
        m.2 += usize::from(s != "under 16");
    }
    let (hh, hrows) = read_csv(households);
    let (hid, state) = (column(&hh, id), column(&hh, "STATE"));
    let w = weight.map(|name| column(&hh, name));
    let mut t = vec![0.0; states.len() * SIZES * EMPLOYED];
    let mut without_adults = 0.0;
    for row in &hrows {
        let s = states.iter().position(|x| *x == row[state]).unwrap();
        let weight = w.map_or(1.0, |w| row[w].parse::<f64>().unwrap());
        let (n, employed, adults) = members[row[hid].as_str()];
        t[s * SIZES * EMPLOYED + cell(n, employed)] += weight;
        if adults == 0 {
            without_adults += weight;
        }
    }
    (t, without_adults)
}

/// The baseline that keeps the controls but not the households: per state, households of each
/// size as the controls count them (sizes 4+ split as the seed's design weights split them), each
/// member employed with the region's rate and under 16 with the state's share, independently.
/// Returns the expected table and the expected number of households with nobody 16 or older.
fn independent(dir: &Path, states: &[String]) -> (Vec<f64>, f64) {
    let (ch, crows) = read_csv(dir.join("state_controls.csv"));
    let (xh, xrows) = read_csv(dir.join("crosswalk.csv"));
    let (rh, rrows) = read_csv(dir.join("region_controls.csv"));
    let (sh, srows) = read_csv(dir.join("seed_households.csv"));
    let region_of: HashMap<&str, &str> =
        xrows.iter().map(|r| (r[column(&xh, "STATE")].as_str(), r[column(&xh, "REGION")].as_str())).collect();
    let number = |s: &str| s.parse::<f64>().unwrap();
    let persons_in = |row: &[String]| -> (f64, f64) {
        let (mut all, mut children) = (0.0, 0.0);
        for (name, v) in ch.iter().zip(row) {
            if name.starts_with("female_") || name.starts_with("male_") {
                all += number(v);
                if name.ends_with("_0_15") {
                    children += number(v);
                }
            }
        }
        (all, children)
    };
    let mut region_persons: HashMap<&str, f64> = HashMap::new();
    for row in &crows {
        *region_persons.entry(region_of[row[column(&ch, "STATE")].as_str()]).or_default() += persons_in(row).0;
    }
    let mut t = vec![0.0; states.len() * SIZES * EMPLOYED];
    let mut without_adults = 0.0;
    for row in &crows {
        let state = row[column(&ch, "STATE")].as_str();
        let s = states.iter().position(|x| x == state).unwrap();
        let region = region_of[state];
        let r = rrows.iter().find(|r| r[column(&rh, "REGION")] == region).unwrap();
        let employed = (number(&r[column(&rh, "persons_full_time")]) + number(&r[column(&rh, "persons_part_time")]))
            / region_persons[region];
        let (persons, children) = persons_in(row);
        let child = children / persons;
        let mut sizes: Vec<(usize, f64)> =
            (1..=3).map(|k| (k, number(&row[column(&ch, &format!("hh_size_{k}"))]))).collect();
        let mut large: HashMap<usize, f64> = HashMap::new();
        for h in srows.iter().filter(|h| h[column(&sh, "STATE")] == state) {
            let k: usize = h[column(&sh, "hsize")].parse().unwrap();
            if k >= 4 {
                *large.entry(k).or_default() += number(&h[column(&sh, "weight")]);
            }
        }
        let large_total: f64 = large.values().sum();
        let four_plus = number(&row[column(&ch, "hh_size_4plus")]);
        sizes.extend(large.iter().map(|(&k, w)| (k, four_plus * w / large_total)));
        for (k, n) in sizes {
            for j in 0..=k {
                let binomial = (0..j).fold(1.0, |c, i| c * (k - i) as f64 / (i + 1) as f64);
                t[s * SIZES * EMPLOYED + cell(k, j)] +=
                    n * binomial * employed.powi(j as i32) * (1.0 - employed).powi((k - j) as i32);
            }
            without_adults += n * child.powi(k as i32);
        }
    }
    (t, without_adults)
}

/// The table summed over the states.
fn national(t: &[f64]) -> Vec<f64> {
    let mut n = vec![0.0; SIZES * EMPLOYED];
    for (i, v) in t.iter().enumerate() {
        n[i % (SIZES * EMPLOYED)] += v;
    }
    n
}

#[test]
fn the_synthetic_households_recover_size_by_employed_members_better_than_independent_members() {
    let data = root().join("marginals/eusilc");
    let out = tempfile::tempdir().unwrap();
    populace()
        .args(["generate", &root().join("calibration/eusilc_households.toml").display().to_string(), "--quiet"])
        .arg("--out")
        .arg(out.path())
        .assert()
        .success();
    let (xh, xrows) = read_csv(data.join("crosswalk.csv"));
    let states: Vec<String> = xrows.iter().map(|r| r[column(&xh, "STATE")].clone()).collect();

    let (truth, truth_without_adults) =
        table(&data.join("households.csv"), "hh_id", None, &data.join("persons.csv"), &states);
    let (synthetic, synthetic_without_adults) =
        table(&out.path().join("households.csv"), "household_id", None, &out.path().join("persons.csv"), &states);
    let (seed, seed_without_adults) =
        table(&data.join("seed_households.csv"), "hh_id", Some("weight"), &data.join("seed_persons.csv"), &states);
    let (naive, naive_without_adults) = independent(&data, &states);

    // every state gets its households, whole: the totals are the truth's
    let total = |t: &[f64]| t.iter().sum::<f64>();
    assert_eq!(total(&synthetic), 6000.0);
    for t in [&seed, &naive] {
        assert!((total(t) - 6000.0).abs() < 1e-6, "{}", total(t));
    }
    let per_state = |t: &[f64]| srmse(t, &truth).unwrap();
    let whole = |t: &[f64]| srmse(&national(t), &national(&truth)).unwrap();
    for (name, t, without) in [
        ("synthetic (calibrated)", &synthetic, synthetic_without_adults),
        ("seed, design weights", &seed, seed_without_adults),
        ("independent members", &naive, naive_without_adults),
    ] {
        eprintln!(
            "{name:<24} SRMSE Austria {:.3}, per state {:.3}; households with nobody 16+: {without:.1}",
            whole(t),
            per_state(t)
        );
    }

    // over Austria the synthetic households are much closer than independent members
    assert!(whole(&synthetic) < 0.6 * whole(&naive), "{} against {}", whole(&synthetic), whole(&naive));
    // and, copying real households, invent none without a person 16 or older, where independent
    // members leave children on their own in hundreds of households (383 of 6,000)
    assert_eq!(truth_without_adults, 0.0);
    assert_eq!(synthetic_without_adults, 0.0);
    assert!(naive_without_adults > 300.0, "{naive_without_adults}");
}
