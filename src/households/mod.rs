//! Household weights over nested geographies: PopulationSim's order of work, upper levels
//! first and lower levels inside them with the parents as backstops.
//!
//! 1. **Initial seed balancing**: in each seed zone (a PUMA), the households' design weights
//!    are balanced ([`balance`](self#balancing)) to the controls of the seed level and every
//!    level below it, summed to the seed zone.
//! 2. **Meta control factoring**: a control above the seed level (a county's persons by
//!    occupation) is shared out to its seed zones in proportion to what the preliminary
//!    weights give each (PopulationSim rounds these shares to whole numbers; they stay real
//!    here, so the meta total is kept exactly).
//! 3. **Final seed balancing**: the design weights balanced again, to all controls.
//! 4. **Integerization** of the seed zone's weights (synthesize mode): whole households
//!    adding up to the zone's household total exactly.
//! 5. **Sub-balancing**, level by level down to the lowest: each parent zone's households,
//!    weighing their parent count, are spread over its child zones so that each child meets its
//!    own controls and each household's weights over the children add up to its parent weight;
//!    then integerized the same way, consistently with the parent.
//!
//! Survey-weighting mode stops after step 3: real-valued integrated household weights meeting
//! household and person totals at once.
//!
//! # Balancing
//! PopulationSim's list balancer with its constants: see [`balance`](self#balancing) in the
//! module source (`households/balance.rs`), including importance, relaxation and the bounds
//! `max_expansion_factor`/`min_expansion_factor` on a weight over its design weight, scaled
//! so that the design weights add up to the zone's household total.

mod balance;
mod groups;
mod integerize;
mod subzones;

use rayon::prelude::*;

use balance::Controls;
pub use balance::Convergence;

use crate::error::{Error, Result};
use crate::inputs::{Balancer, HouseholdFit, HouseholdProblem, Mode};

/// The weights of one level's zones: one entry per zone and household with a positive weight
/// (integerized, below the seed level: with at least one whole household).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LevelWeights {
    /// The level's position in the geography.
    pub level: usize,
    /// Each entry's zone (of this level).
    pub zone: Vec<u32>,
    /// Each entry's household (position in the problem's households).
    pub household: Vec<u32>,
    /// Each entry's real weight.
    pub weight: Vec<f64>,
    /// Each entry's whole number of households, when integerized.
    pub count: Option<Vec<u64>>,
}

impl LevelWeights {
    fn new(level: usize, integer: bool) -> LevelWeights {
        LevelWeights { level, count: integer.then(Vec::new), ..LevelWeights::default() }
    }

    /// Adds household `household`'s weight `weight` (and whole count `count`, when
    /// integerized) in `zone`, unless both are zero.
    fn push(&mut self, zone: usize, household: usize, weight: f64, count: u64) {
        if weight > 0.0 || count > 0 {
            self.zone.push(zone as u32);
            self.household.push(household as u32);
            self.weight.push(weight);
            if let Some(counts) = &mut self.count {
                counts.push(count);
            }
        }
    }

    fn extend(&mut self, other: LevelWeights) {
        self.zone.extend(other.zone);
        self.household.extend(other.household);
        self.weight.extend(other.weight);
        if let (Some(a), Some(b)) = (&mut self.count, other.count) {
            a.extend(b);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.zone.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.zone.is_empty()
    }
}

/// How one balancing ended.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Balancing {
    /// `initial`, `final` (seed level) or `sub` (a parent's child zones).
    pub step: &'static str,
    /// The level balanced (the children's level for `sub`).
    pub level: usize,
    /// The zone balanced (the parent zone for `sub`).
    pub zone: usize,
    /// How it ended.
    pub convergence: Convergence,
}

/// The result of a household fit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HouseholdWeights {
    /// The seed level's weights and each level's below it, top down.
    pub levels: Vec<LevelWeights>,
    /// Each household's weight after initial seed balancing.
    pub preliminary: Vec<f64>,
    /// Every balancing run, in order.
    pub balancings: Vec<Balancing>,
    /// Whether the weights were integerized.
    pub integerized: bool,
    /// Each control's target per seed zone used in final balancing (after meta factoring).
    pub seed_targets: Vec<Vec<f64>>,
}

impl HouseholdWeights {
    /// The lowest level's weights.
    pub fn lowest(&self) -> &LevelWeights {
        &self.levels[self.levels.len() - 1]
    }

    /// Whether every balancing converged.
    pub fn converged(&self) -> bool {
        self.balancings.iter().all(|b| b.convergence.converged)
    }
}

/// Each control's targets summed to every level at or above its own: `[control][level][zone]`
/// (empty below the control's level).
fn aggregated(problem: &HouseholdProblem) -> Vec<Vec<Vec<f64>>> {
    problem
        .controls
        .iter()
        .enumerate()
        .map(|(c, control)| {
            (0..problem.geography.levels.len())
                .map(|l| if l <= control.level { problem.targets_at(c, l) } else { Vec::new() })
                .collect()
        })
        .collect()
}

/// The controls `cs` over households `range`, positions local to it; the total is `master`.
fn local_controls(problem: &HouseholdProblem, cs: &[usize], range: std::ops::Range<usize>) -> Controls {
    let mut controls = Controls { start: vec![0], ..Controls::default() };
    for &c in cs {
        let (h, v) = problem.incidence.within(c, range.clone());
        controls.households.extend(h.iter().map(|&h| h - range.start as u32));
        controls.values.extend_from_slice(v);
        controls.start.push(controls.households.len());
        controls.importance.push(problem.controls[c].importance.unwrap_or(f64::INFINITY));
    }
    controls.master = cs.iter().position(|&c| c == problem.total).unwrap_or_default();
    controls
}

/// Bounds on the weights of households with design weights `w0` in a zone of `n` households.
fn bounds(options: &HouseholdFit, w0: &[f64], n: f64) -> (Vec<f64>, Vec<f64>) {
    let total: f64 = w0.iter().sum();
    let scale = if total > 0.0 { n / total } else { 0.0 };
    let lower = match (options.min_expansion_factor, options.absolute_lower_bound) {
        (Some(f), abs) => {
            let mut ratio = f * scale;
            if options.hard_bounds {
                ratio = ratio.max(f);
            }
            w0.iter().map(|w| (w * ratio).max(abs.unwrap_or(0.0))).collect()
        }
        (None, Some(abs)) => vec![abs; w0.len()],
        (None, None) => vec![0.0; w0.len()],
    };
    let upper = match (options.max_expansion_factor, options.absolute_upper_bound) {
        (Some(f), abs) => {
            let mut ratio = f * scale;
            if options.hard_bounds {
                ratio = ratio.min(f);
            }
            w0.iter().map(|w| (w * ratio).round().max(1.0).min(abs.unwrap_or(f64::INFINITY))).collect()
        }
        (None, Some(abs)) => vec![abs; w0.len()],
        (None, None) => vec![MAX_WEIGHT; w0.len()],
    };
    (lower, upper)
}

/// The bound on a weight when none is given (PopulationSim's `MAX_INT`).
const MAX_WEIGHT: f64 = (1u64 << 31) as f64;

/// Fits household weights to the problem's controls, level by level.
///
/// # Errors
/// [`Error::Inconsistent`] when the household-total control is given above the seed level;
/// [`Error::Infeasible`] when a seed zone has households to make but no seed household.
pub fn fit(problem: &HouseholdProblem, options: &HouseholdFit) -> Result<HouseholdWeights> {
    let geography = &problem.geography;
    let seed = geography.seed;
    let total = &problem.controls[problem.total];
    if total.level < seed {
        return Err(Error::Inconsistent(format!(
            "the household-total control \"{}\" is given at {}, above the seed level {}: give it at the seed \
             level or below",
            total.name, geography.levels[total.level].name, geography.levels[seed].name
        )));
    }
    let agg = &aggregated(problem);
    let seed_zones = geography.levels[seed].len();
    let households = &problem.households;
    for (s, &n) in agg[problem.total][seed].iter().enumerate() {
        if households.of_zone(s).is_empty() && n > 0.0 {
            return Err(Error::Infeasible(format!(
                "{} zone \"{}\" has {n} households to make but no household in the seed",
                geography.levels[seed].name, geography.levels[seed].zones[s]
            )));
        }
    }
    let below: Vec<usize> = (0..problem.controls.len()).filter(|&c| problem.controls[c].level >= seed).collect();
    let above: Vec<usize> = (0..problem.controls.len()).filter(|&c| problem.controls[c].level < seed).collect();
    let iterations = options.max_iterations;
    let newton = options.balancer == Balancer::Newton;
    // PopulationSim's simultaneous balancer runs a tenth of the sweeps of the list balancer.
    let sub_iterations = (iterations / 10).max(1);

    // 1. Initial seed balancing, zone by zone.
    let initial: Vec<(Vec<f64>, Option<Balancing>)> = (0..seed_zones)
        .into_par_iter()
        .map(|s| {
            let range = households.of_zone(s);
            let w0 = &households.weights[range.clone()];
            let n = agg[problem.total][seed][s];
            if above.is_empty() || n == 0.0 {
                return (w0.to_vec(), None);
            }
            let controls = local_controls(problem, &below, range);
            let targets: Vec<f64> = below.iter().map(|&c| agg[c][seed][s]).collect();
            let (lower, upper) = bounds(options, w0, n);
            let b = balance::balance(&controls, &targets, w0, &lower, &upper, iterations, newton);
            let record = Balancing { step: "initial", level: seed, zone: s, convergence: b.convergence };
            (b.weights, Some(record))
        })
        .collect();
    let mut balancings: Vec<Balancing> = initial.iter().filter_map(|(_, b)| b.clone()).collect();
    let preliminary: Vec<f64> = initial.into_iter().flat_map(|(w, _)| w).collect();

    // 2. Meta control factoring: each control above the seed level shared out to the seed
    // zones in proportion to what the preliminary weights give them.
    let mut seed_targets: Vec<Vec<f64>> = vec![Vec::new(); problem.controls.len()];
    for &c in &below {
        seed_targets[c] = agg[c][seed].clone();
    }
    for &c in &above {
        let level = problem.controls[c].level;
        let (h, v) = problem.incidence.control(c);
        let mut share = vec![0.0; seed_zones];
        for (&h, &a) in h.iter().zip(v) {
            share[households.seed_zone[h as usize] as usize] += preliminary[h as usize] * a;
        }
        let mut sums = vec![0.0; geography.levels[level].len()];
        for (s, &x) in share.iter().enumerate() {
            sums[geography.ancestor(seed, s, level)] += x;
        }
        seed_targets[c] = (0..seed_zones)
            .map(|s| {
                let m = geography.ancestor(seed, s, level);
                if sums[m] > 0.0 {
                    share[s] * problem.controls[c].targets[m] / sums[m]
                } else {
                    0.0
                }
            })
            .collect();
    }

    // 3–5. Final seed balancing, integerization and sub-balancing, seed zone by seed zone.
    let all: Vec<usize> = below.iter().chain(&above).copied().collect();
    let integer = options.integerizes();
    let levels_below =
        if options.mode == Mode::SurveyWeighting { seed..seed + 1 } else { seed..geography.levels.len() };
    // The zones of each level inside each zone of the level above.
    let children: Vec<Vec<Vec<usize>>> =
        (0..geography.levels.len()).map(|l| if l == 0 { Vec::new() } else { geography.children(l - 1, l) }).collect();
    let down: Vec<(Vec<LevelWeights>, Vec<Balancing>)> = (0..seed_zones)
        .into_par_iter()
        .map(|s| {
            let mut records = Vec::new();
            let range = households.of_zone(s);
            let w0 = &households.weights[range.clone()];
            let n = agg[problem.total][seed][s];
            let mut out: Vec<LevelWeights> = levels_below.clone().map(|l| LevelWeights::new(l, integer)).collect();
            if n == 0.0 || range.is_empty() {
                return (out, records);
            }
            let controls = local_controls(problem, &all, range.clone());
            let targets: Vec<f64> = all.iter().map(|&c| seed_targets[c][s]).collect();
            let (lower, upper) = bounds(options, w0, n);
            let b = balance::balance(&controls, &targets, w0, &lower, &upper, iterations, newton);
            records.push(Balancing { step: "final", level: seed, zone: s, convergence: b.convergence });
            let counts =
                integer.then(|| integerize::integerize_zone(&controls, &b.weights, &targets, n.round() as u64));
            // The seed level's entries, and each household's weight as the parent of the next.
            let parent_real: Vec<f64> = b.weights.clone();
            let parent_count: Option<Vec<u64>> = counts.clone();
            for (i, &w) in b.weights.iter().enumerate() {
                out[0].push(s, range.start + i, w, counts.as_ref().map_or(0, |c| c[i]));
            }
            // Parents of this seed zone at the level above the one being balanced.
            let mut parents: Vec<(usize, Vec<f64>, Option<Vec<u64>>)> = vec![(s, parent_real, parent_count)];
            for l in levels_below.clone().skip(1) {
                let cs: Vec<usize> = (0..problem.controls.len()).filter(|&c| problem.controls[c].level >= l).collect();
                let controls = local_controls(problem, &cs, range.clone());
                let children = &children[l];
                let mut next = Vec::new();
                for (p, real, count) in parents {
                    let zones = &children[p];
                    // The households with a positive parent weight: their count, or their
                    // real weight.
                    let parent_of = |i: usize| count.as_ref().map_or(real[i], |c| c[i] as f64);
                    let active: Vec<usize> = (0..range.len()).filter(|&i| parent_of(i) > 0.0).collect();
                    let m = active.len();
                    let sub = controls.subset(&active);
                    let parent: Vec<f64> = active.iter().map(|&i| parent_of(i)).collect();
                    let targets: Vec<f64> = zones.iter().flat_map(|&z| cs.iter().map(move |&c| agg[c][l][z])).collect();
                    let weights = if zones.len() == 1 {
                        parent.clone()
                    } else {
                        let newton_result = newton
                            .then(|| subzones::balance_simultaneous_newton(&sub, &targets, zones.len(), &parent))
                            .flatten();
                        let b = newton_result.unwrap_or_else(|| {
                            subzones::balance_simultaneous(&sub, &targets, zones.len(), &parent, sub_iterations)
                        });
                        records.push(Balancing { step: "sub", level: l, zone: p, convergence: b.convergence });
                        let mut w = b.weights;
                        if options.exact_household_totals {
                            let totals: Vec<f64> = zones.iter().map(|&z| agg[problem.total][l][z]).collect();
                            subzones::meet_totals(&mut w, zones.len(), &totals, &parent);
                        }
                        w
                    };
                    let counts = count.as_ref().map(|parent_counts| {
                        let parent_counts: Vec<u64> = active.iter().map(|&i| parent_counts[i]).collect();
                        let zone_targets: Vec<f64> = zones.iter().map(|&z| agg[problem.total][l][z]).collect();
                        let sum: u64 = parent_counts.iter().sum();
                        let basis = if zone_targets.iter().any(|&t| t > 0.0) {
                            zone_targets
                        } else {
                            (0..zones.len()).map(|z| weights[z * m..(z + 1) * m].iter().sum()).collect()
                        };
                        let zone_totals = integerize::round_total(&basis, sum);
                        integerize::integerize_children(&sub, &weights, &parent_counts, &zone_totals, &targets)
                    });
                    let level_out = &mut out[l - seed];
                    for (zi, &z) in zones.iter().enumerate() {
                        let mut real = vec![0.0; range.len()];
                        let mut count = counts.as_ref().map(|_| vec![0u64; range.len()]);
                        for (j, &i) in active.iter().enumerate() {
                            let w = weights[zi * m + j];
                            let c = counts.as_ref().map_or(0, |c| c[zi * m + j]);
                            real[i] = w;
                            if let Some(count) = &mut count {
                                count[i] = c;
                            }
                            // Integerized, a sub-zone keeps the households it has one of at
                            // least (a region's zones × seed households would be most of the
                            // memory and of weights.csv otherwise).
                            if count.is_none() || c > 0 {
                                level_out.push(z, range.start + i, w, c);
                            }
                        }
                        next.push((z, real, count));
                    }
                }
                parents = next;
            }
            (out, records)
        })
        .collect();
    let mut levels: Vec<LevelWeights> = levels_below.clone().map(|l| LevelWeights::new(l, integer)).collect();
    for (zone_levels, records) in down {
        for (i, lw) in zone_levels.into_iter().enumerate() {
            levels[i].extend(lw);
        }
        balancings.extend(records);
    }
    Ok(HouseholdWeights { levels, preliminary, balancings, integerized: integer, seed_targets })
}
