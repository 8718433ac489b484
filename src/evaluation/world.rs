//! Known-truth worlds: persons with profiles drawn from a population, answers drawn from main
//! effects of the profile, an interaction of the first two attributes, a per-person latent
//! trait, and noise — every part configurable, so `evaluate` can be checked against the truth.
//!
//! For person i and item j with K options, option k has utility
//! `u_k = main_effect · Σ_a β_{j,a,level_a,k} + interaction · γ_{j,level_1,level_2,k}
//!        + trait · θ_i · (2k/(K−1) − 1)`
//! with β, γ ~ N(0, 1) (γ double-centered, so it carries no main effect) and θ_i ~ N(0, 1);
//! the answer is drawn from softmax(u / noise). With `association`, the attributes depend on
//! each other through a shared latent draw. Coefficients come from ChaCha8 stream 0 of the
//! seed, persons from stream 1.

use std::path::Path;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Deserialize;

use crate::error::{Error, Location, Result};
use crate::reports::write_atomic;
use crate::specfile;

/// A world spec (TOML); every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldSpec {
    /// Number of persons (default 1000).
    pub persons: usize,
    /// Seed of coefficients and persons (default 1).
    pub seed: u64,
    /// Profile attributes (default: age_group ×3, sex ×2, education ×3, region ×4).
    #[serde(rename = "attribute")]
    pub attributes: Vec<WorldAttribute>,
    /// Items (default: q1–q3 ordinal with 5 options, choice nominal with 3).
    #[serde(rename = "item")]
    pub items: Vec<WorldItem>,
    /// Dependence between the attributes (default 0: independent). A person's latent
    /// z ~ N(0, 1) multiplies level l of every attribute's weight by `exp(association · z · s_l)`,
    /// `s_l = 2l/(L−1) − 1`, so high levels go together.
    pub association: f64,
}

/// `[[attribute]]` of a world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldAttribute {
    /// Column name.
    pub name: String,
    /// Levels.
    pub levels: Vec<String>,
    /// Relative frequencies of the levels (default equal).
    pub weights: Option<Vec<f64>>,
}

/// `[[item]]` of a world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldItem {
    /// Column name.
    pub name: String,
    /// Number of options (2–99); answers are written "1", "2", … zero-padded to sort in order.
    #[serde(default = "default_options")]
    pub options: usize,
    /// Scale of the profile's main effects (default 1.0).
    #[serde(default = "one")]
    pub main_effect: f64,
    /// Scale of the interaction of the first two attributes (default 0.0).
    #[serde(default)]
    pub interaction: f64,
    /// Loading of the person's latent trait (default 0.5).
    #[serde(default = "half")]
    pub r#trait: f64,
    /// Temperature of the answer draw (default 1.0).
    #[serde(default = "one")]
    pub noise: f64,
    /// Probability that an answer is missing (default 0.0).
    #[serde(default)]
    pub missing: f64,
}

fn default_options() -> usize {
    5
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}

impl WorldItem {
    /// An item with the defaults and the given name.
    pub fn named(name: &str) -> WorldItem {
        WorldItem {
            name: name.into(),
            options: 5,
            main_effect: 1.0,
            interaction: 0.0,
            r#trait: 0.5,
            noise: 1.0,
            missing: 0.0,
        }
    }
}

impl Default for WorldSpec {
    fn default() -> Self {
        let attr = |name: &str, levels: &[&str]| WorldAttribute {
            name: name.into(),
            levels: levels.iter().map(|l| l.to_string()).collect(),
            weights: None,
        };
        let mut choice = WorldItem::named("choice");
        choice.options = 3;
        WorldSpec {
            persons: 1000,
            seed: 1,
            attributes: vec![
                attr("age_group", &["18-34", "35-54", "55+"]),
                attr("sex", &["female", "male"]),
                attr("education", &["1 school", "2 college", "3 graduate"]),
                attr("region", &["midwest", "northeast", "south", "west"]),
            ],
            items: vec![WorldItem::named("q1"), WorldItem::named("q2"), WorldItem::named("q3"), choice],
            association: 0.0,
        }
    }
}

impl WorldSpec {
    /// Reads a world spec; unknown fields are errors.
    pub fn from_path(path: &Path) -> Result<WorldSpec> {
        let spec: WorldSpec = specfile::read(path)?;
        spec.validate().map_err(|m| Error::input(Location::file(path.display().to_string()), m))?;
        Ok(spec)
    }

    /// Checks sizes, weights and probabilities.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.persons == 0 {
            return Err("persons must be at least 1".into());
        }
        if !self.association.is_finite() {
            return Err("association must be finite".into());
        }
        if self.attributes.is_empty() || self.items.is_empty() {
            return Err("a world needs at least one attribute and one item".into());
        }
        for a in &self.attributes {
            if a.levels.is_empty() {
                return Err(format!("attribute \"{}\" has no levels", a.name));
            }
            if let Some(w) = &a.weights {
                if w.len() != a.levels.len()
                    || w.iter().any(|v| !(v.is_finite() && *v >= 0.0))
                    || w.iter().sum::<f64>() <= 0.0
                {
                    return Err(format!(
                        "attribute \"{}\": weights must be one non-negative number per level, not all 0",
                        a.name
                    ));
                }
            }
        }
        for it in &self.items {
            if !(2..=99).contains(&it.options) {
                return Err(format!("item \"{}\": options must be between 2 and 99", it.name));
            }
            if !(it.noise.is_finite() && it.noise > 0.0) {
                return Err(format!("item \"{}\": noise must be positive", it.name));
            }
            if !(0.0..1.0).contains(&it.missing) {
                return Err(format!("item \"{}\": missing must be in [0, 1)", it.name));
            }
            if ![it.main_effect, it.interaction, it.r#trait].iter().all(|v| v.is_finite()) {
                return Err(format!("item \"{}\": effects must be finite", it.name));
            }
        }
        Ok(())
    }

    /// Generates the world: the header (`person_id`, attributes, items) and one row per person.
    pub fn generate(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        let mut coef_rng = ChaCha8Rng::seed_from_u64(self.seed);
        coef_rng.set_stream(0);
        let attrs = &self.attributes;
        // beta[item][attr][level][k], gamma[item][l1][l2][k]
        let mut beta = Vec::new();
        let mut gamma = Vec::new();
        for it in &self.items {
            let k = it.options;
            beta.push(
                attrs
                    .iter()
                    .map(|a| {
                        (0..a.levels.len()).map(|_| (0..k).map(|_| normal(&mut coef_rng)).collect::<Vec<_>>()).collect()
                    })
                    .collect::<Vec<Vec<Vec<f64>>>>(),
            );
            let l1 = attrs[0].levels.len();
            let l2 = attrs.get(1).map_or(1, |a| a.levels.len());
            let mut g: Vec<Vec<Vec<f64>>> =
                (0..l1).map(|_| (0..l2).map(|_| (0..k).map(|_| normal(&mut coef_rng)).collect()).collect()).collect();
            for c in 0..k {
                let mean_all = g.iter().flatten().map(|v| v[c]).sum::<f64>() / (l1 * l2) as f64;
                let rows: Vec<f64> = (0..l1).map(|a| g[a].iter().map(|v| v[c]).sum::<f64>() / l2 as f64).collect();
                let cols: Vec<f64> = (0..l2).map(|b| g.iter().map(|r| r[b][c]).sum::<f64>() / l1 as f64).collect();
                for a in 0..l1 {
                    for b in 0..l2 {
                        g[a][b][c] += mean_all - rows[a] - cols[b];
                    }
                }
            }
            gamma.push(g);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(1);
        let weights: Vec<Vec<f64>> =
            attrs.iter().map(|a| a.weights.clone().unwrap_or_else(|| vec![1.0; a.levels.len()])).collect();
        let pickers: Vec<WeightedIndex<f64>> = weights
            .iter()
            .map(|w| WeightedIndex::new(w).unwrap_or_else(|_| WeightedIndex::new(vec![1.0; w.len()]).expect("levels")))
            .collect();
        let tilted = |w: &[f64], z: f64| -> Vec<f64> {
            let span = (w.len().max(2) - 1) as f64;
            w.iter()
                .enumerate()
                .map(|(l, v)| v * (self.association * z * (2.0 * l as f64 / span - 1.0)).exp())
                .collect()
        };
        let width = self.persons.to_string().len();
        let mut header = vec!["person_id".to_string()];
        header.extend(attrs.iter().map(|a| a.name.clone()));
        header.extend(self.items.iter().map(|i| i.name.clone()));
        let mut rows = Vec::with_capacity(self.persons);
        for p in 0..self.persons {
            let levels: Vec<usize> = if self.association == 0.0 {
                pickers.iter().map(|w| w.sample(&mut rng)).collect()
            } else {
                let z = normal(&mut rng);
                weights.iter().map(|w| WeightedIndex::new(tilted(w, z)).map_or(0, |d| d.sample(&mut rng))).collect()
            };
            let theta = normal(&mut rng);
            let mut row = vec![format!("p{:0width$}", p + 1)];
            row.extend(attrs.iter().zip(&levels).map(|(a, &l)| a.levels[l].clone()));
            for (j, it) in self.items.iter().enumerate() {
                let k = it.options;
                let u: Vec<f64> = (0..k)
                    .map(|c| {
                        let main: f64 = levels.iter().enumerate().map(|(a, &l)| beta[j][a][l][c]).sum();
                        let inter = gamma[j][levels[0]][levels.get(1).copied().unwrap_or(0)][c];
                        let load = 2.0 * c as f64 / (k - 1) as f64 - 1.0;
                        (it.main_effect * main + it.interaction * inter + it.r#trait * theta * load) / it.noise
                    })
                    .collect();
                let m = u.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = u.iter().map(|v| (v - m).exp()).collect();
                let answer = WeightedIndex::new(&weights).map_or(0, |w| w.sample(&mut rng));
                let missing = rng.random::<f64>() < it.missing;
                let w = k.to_string().len();
                row.push(if missing { String::new() } else { format!("{:0w$}", answer + 1) });
            }
            rows.push(row);
        }
        (header, rows)
    }

    /// Generates the world as CSV text: the header and one row per person.
    ///
    /// ```
    /// use populace::evaluation::world::WorldSpec;
    ///
    /// let world = WorldSpec { persons: 3, ..WorldSpec::default() };
    /// let csv = String::from_utf8(world.to_csv()).unwrap();
    /// assert_eq!(csv.lines().next(), Some("person_id,age_group,sex,education,region,q1,q2,q3,choice"));
    /// assert_eq!(csv.lines().count(), 4);
    /// ```
    pub fn to_csv(&self) -> Vec<u8> {
        let (header, rows) = self.generate();
        let mut out = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail, and the rows are as long as the header.
        for record in std::iter::once(&header).chain(&rows) {
            let _ = out.write_record(record);
        }
        out.into_inner().unwrap_or_default()
    }

    /// Generates the world and writes it as CSV, atomically.
    ///
    /// # Errors
    /// [`Error::TooLarge`], before anything is generated, when the world would not fit in the
    /// memory available (it is generated in memory); [`Error::Write`] when the file cannot be
    /// written.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        // every field is a String (24 bytes and its heap block) and then CSV text
        let fields = 1 + self.attributes.len() + self.items.len();
        let each = 24 + fields as u64 * 56;
        if let Some(why) = crate::memory::shortfall((self.persons as u64).saturating_mul(each)) {
            return Err(Error::TooLarge(format!(
                "a world of {} persons is generated in memory, and {why}: ask for fewer persons",
                self.persons
            )));
        }
        let csv = self.to_csv();
        write_atomic(path, |w| w.write_all(&csv))
    }
}

/// Writes a world CSV with `persons` and `seed` overriding the spec's.
pub fn write_world(spec: &WorldSpec, path: &Path, persons: Option<usize>, seed: Option<u64>) -> Result<()> {
    let mut spec = spec.clone();
    if let Some(n) = persons {
        spec.persons = n;
    }
    if let Some(s) = seed {
        spec.seed = s;
    }
    spec.validate().map_err(|m| Error::input(Location::file("world spec"), m))?;
    spec.write_csv(path)
}
