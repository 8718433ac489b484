//! The evaluation as forest charts: individual-level pseudo-R² and population-level relative
//! TV gain of every predictor against the baseline, effect replication rates and the ICC of
//! simulated answers, all with their CIs.

use serde_json::Value;

use crate::reports::chart::{Interval, IntervalPanel};

/// Every predictor's name in report order (the baseline too, so each keeps its colour in
/// every panel).
fn predictors(json: &Value) -> Vec<String> {
    json["predictors"].as_object().map_or(Vec::new(), |o| o.keys().cloned().collect())
}

/// Reads `{estimate, ci_low, ci_high}` at `path` under predictor `name`.
fn interval(json: &Value, name: &str, path: &[&str], row: usize, series: usize) -> Option<Interval> {
    let mut v = &json["predictors"][name];
    for p in path {
        v = &v[*p];
    }
    Some(Interval {
        row,
        series,
        estimate: v["estimate"].as_f64()?,
        low: v["ci_low"].as_f64()?,
        high: v["ci_high"].as_f64()?,
    })
}

/// Panels from `evaluation.json`: pseudo-R² overall and per item; the relative TV gain per
/// grouping and for the verdict's score (zero marks "no better than the baseline"); effect
/// replication rates; where runs were repeated, the ICC overall and per item; and with pools,
/// each pool's distance from the respondents' answers.
pub fn evaluation_panels(json: &Value) -> Vec<IntervalPanel> {
    let series = predictors(json);
    let items: Vec<String> = json["data"]["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let groups: Vec<String> = json["data"]["groups"]
        .as_array()
        .map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
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
    for (s, name) in series.iter().enumerate() {
        individual.points.extend(interval(json, name, &["individual", "pseudo_r2"], 0, s));
        for (r, item) in items.iter().enumerate() {
            individual.points.extend(interval(json, name, &["individual", "items", item, "pseudo_r2"], r + 1, s));
        }
        population.points.extend(interval(json, name, &["population", "relative_gain"], 0, s));
        for (r, g) in groups.iter().enumerate() {
            let path = ["population", "tv", "groupings", g, "relative_gain"];
            population.points.extend(interval(json, name, &path, r + 1, s));
        }
    }
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
    for (s, name) in series.iter().enumerate() {
        for (r, key) in ["main", "interaction", "false_positive"].iter().enumerate() {
            replication.points.extend(interval(json, name, &["simulation", "replication", key, "rate"], r, s));
        }
        icc.points.extend(interval(json, name, &["simulation", "variance", "icc"], 0, s));
        for (r, item) in items.iter().enumerate() {
            icc.points.extend(interval(json, name, &["simulation", "variance", "items", item, "icc"], r + 1, s));
        }
    }
    let pools: Vec<String> = json["pools"].as_object().map_or(Vec::new(), |o| o.keys().cloned().collect());
    let mut pool_panel = IntervalPanel {
        title: "Persona pools: distance of the pool's predicted answers from the respondents'".into(),
        axis: "total variation, mean over items and groupings (lower is better)".into(),
        rows: pools.iter().map(|p| format!("pool {p}")).collect(),
        series: series.clone(),
        points: Vec::new(),
        reference: None,
    };
    for (r, pool) in pools.iter().enumerate() {
        for (s, name) in series.iter().enumerate() {
            let v = &json["pools"][pool]["predictors"][name]["tv_score"];
            if let (Some(estimate), Some(low), Some(high)) =
                (v["estimate"].as_f64(), v["ci_low"].as_f64(), v["ci_high"].as_f64())
            {
                pool_panel.points.push(Interval { row: r, series: s, estimate, low, high });
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
