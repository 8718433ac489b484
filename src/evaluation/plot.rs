//! The evaluation as forest charts: individual-level pseudo-R² and population-level relative
//! TV gain of every predictor against the baseline, effect replication rates and the ICC of
//! simulated answers, all with their CIs.

use crate::reports::chart::{Interval, IntervalPanel};

use super::report::{Estimate, Evaluation};

/// The point of `estimate` at `row` of `series`, if all three numbers are finite.
fn interval(estimate: &Estimate, row: usize, series: usize) -> Option<Interval> {
    estimate.is_finite().then_some(Interval {
        row,
        series,
        estimate: estimate.estimate,
        low: estimate.ci_low,
        high: estimate.ci_high,
    })
}

/// Panels of an evaluation: pseudo-R² overall and per item; the relative TV gain per
/// grouping and for the verdict's score (zero marks "no better than the baseline"); effect
/// replication rates; where runs were repeated, the ICC overall and per item; and with pools,
/// each pool's distance from the respondents' answers.
pub fn evaluation_panels(evaluation: &Evaluation) -> Vec<IntervalPanel> {
    // Every predictor in report order (the baseline too, so each keeps its colour in every
    // panel).
    let series: Vec<String> = evaluation.predictors.keys().cloned().collect();
    let items: Vec<&str> = evaluation.data.items.iter().map(|i| i.name.as_str()).collect();
    let groups = &evaluation.data.groups;
    let mut individual = IntervalPanel {
        title: "Individuals: held-out pseudo-R² against the baseline".into(),
        axis: "pseudo-R² = 1 − NLL / NLL(baseline)   (> 0: better than the baseline)".into(),
        rows: std::iter::once("all items".to_string()).chain(items.iter().map(|i| format!("item {i}"))).collect(),
        series: series.clone(),
        points: Vec::new(),
        reference: Some(0.0),
    };
    let mut population = IntervalPanel {
        title: "Populations: relative reduction of total variation against the baseline".into(),
        axis: "1 − TV / TV(baseline)   (> 0: group distributions closer to the observed)".into(),
        rows: std::iter::once("verdict score".to_string()).chain(groups.iter().map(|g| format!("by {g}"))).collect(),
        series: series.clone(),
        points: Vec::new(),
        reference: Some(0.0),
    };
    let mut replication = IntervalPanel {
        title: "Simulated answers: share of real effects replicated (same sign, significant)".into(),
        axis: "share (Wilson CI); false positives: share of real-null effects found in the simulation".into(),
        rows: vec!["main effects".into(), "interactions".into(), "false positives".into()],
        series: series.clone(),
        points: Vec::new(),
        reference: None,
    };
    let mut icc = IntervalPanel {
        title: "Between-persona share of simulated answers' variance (ICC); the rest is run-to-run".into(),
        axis: "ICC = 1 − within-persona variance / total variance".into(),
        rows: std::iter::once("all items".to_string()).chain(items.iter().map(|i| format!("item {i}"))).collect(),
        series: series.clone(),
        points: Vec::new(),
        reference: Some(0.0),
    };
    for (s, p) in evaluation.predictors.values().enumerate() {
        individual.points.extend(interval(&p.individual.overall.pseudo_r2, 0, s));
        for (r, item) in p.individual.items.values().enumerate() {
            individual.points.extend(interval(&item.pseudo_r2, r + 1, s));
        }
        population.points.extend(interval(&p.population.relative_gain, 0, s));
        for (r, grouping) in p.population.tv.groupings.values().enumerate() {
            population.points.extend(interval(&grouping.relative_gain, r + 1, s));
        }
        let r = &p.simulation.replication;
        for (row, rate) in [&r.main.rate, &r.interaction.rate, &r.false_positive.rate].into_iter().enumerate() {
            replication.points.extend(interval(rate, row, s));
        }
        if let Some(v) = &p.simulation.variance {
            icc.points.extend(interval(&v.overall.icc, 0, s));
            for (r, item) in v.items.values().enumerate() {
                icc.points.extend(interval(&item.icc, r + 1, s));
            }
        }
    }
    let mut pool_panel = IntervalPanel {
        title: "Persona pools: distance of the pool's predicted answers from the respondents'".into(),
        axis: "total variation, mean over items and groupings (lower is better)".into(),
        rows: evaluation.pools.keys().map(|p| format!("pool {p}")).collect(),
        series: series.clone(),
        points: Vec::new(),
        reference: None,
    };
    for (r, pool) in evaluation.pools.values().enumerate() {
        for (s, name) in series.iter().enumerate() {
            if let Some(score) = pool.predictors.get(name) {
                pool_panel.points.extend(interval(&score.tv_score, r, s));
            }
        }
    }
    let mut panels = vec![individual, population, replication];
    for extra in [icc, pool_panel] {
        if !extra.points.is_empty() {
            panels.push(extra);
        }
    }
    panels
}
