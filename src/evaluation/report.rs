//! The Markdown summary of an evaluation.

use std::fmt::Write;

use serde_json::Value;

fn est(v: &Value) -> String {
    let f = |x: &Value| x.as_f64().map_or("–".to_string(), |x| format!("{x:.4}"));
    format!("{} [{}, {}]", f(&v["estimate"]), f(&v["ci_low"]), f(&v["ci_high"]))
}

/// Renders `evaluation.json` as Markdown: the rule, per-predictor individual and population
/// tables with CIs, and the verdicts.
pub fn summary_markdown(json: &Value) -> String {
    let mut s = String::new();
    let e = &json["evaluation"];
    let d = &json["data"];
    let _ = writeln!(s, "# populace evaluate\n");
    let _ = writeln!(
        s,
        "Data: `{}`, {} persons, {} items. Folds {}, bootstrap {} (seed {}), CIs at {:.0}%. Baseline: `{}`.\n",
        d["file"].as_str().unwrap_or(""),
        d["persons"],
        d["items"].as_array().map_or(0, Vec::len),
        e["folds"],
        e["bootstrap"],
        e["seed"],
        100.0 * (1.0 - e["alpha"].as_f64().unwrap_or(0.05)),
        e["baseline"].as_str().unwrap_or("")
    );
    let r = &e["rule"];
    let _ = writeln!(
        s,
        "Rule: *improves individuals* if the pseudo-R² CI lower bound exceeds {}; otherwise *improves populations \
         only* if the relative TV gain is at least {} with a CI lower bound above 0; otherwise *neither*.\n",
        r["individual_min_pseudo_r2"], r["population_min_relative_tv_gain"]
    );
    let _ = writeln!(s, "## Verdicts\n\n| predictor | verdict | pseudo-R² | relative TV gain |\n|---|---|---|---|");
    let empty = serde_json::Map::new();
    let predictors = json["predictors"].as_object().unwrap_or(&empty);
    for (name, p) in predictors {
        let v = &p["verdict"];
        if v.is_string() {
            let _ = writeln!(s, "| {name} | baseline | – | – |");
        } else {
            let _ = writeln!(
                s,
                "| {name} | **{}** | {} | {} |",
                v["verdict"].as_str().unwrap_or(""),
                est(&v["pseudo_r2"]),
                est(&v["population_relative_gain"])
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## Individual level (held-out, per answer)\n\n| predictor | NLL | Brier | accuracy | pseudo-R² | share \
         improved | d |\n|---|---|---|---|---|---|---|"
    );
    for (name, p) in predictors {
        let i = &p["individual"];
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            est(&i["nll"]),
            est(&i["brier"]),
            est(&i["accuracy"]),
            est(&i["pseudo_r2"]),
            est(&i["share_improved"]),
            est(&i["d"])
        );
    }
    let _ = writeln!(s, "\n### Per item: pseudo-R²\n");
    let items: Vec<String> = d["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let _ = writeln!(s, "| predictor | {} |\n|---|{}", items.join(" | "), "---|".repeat(items.len()));
    for (name, p) in predictors {
        let cells: Vec<String> = items.iter().map(|it| est(&p["individual"]["items"][it]["pseudo_r2"])).collect();
        let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
    }
    let groups: Vec<String> = d["groups"]
        .as_array()
        .map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "\n## Population level (total variation, mean over items)\n\n| predictor | whole sample | {} | relative gain |\n|---|---|{}---|",
        groups.iter().map(|g| format!("by {g}")).collect::<Vec<_>>().join(" | "),
        "---|".repeat(groups.len())
    );
    for (name, p) in predictors {
        let tv = &p["population"]["tv"];
        let cells: Vec<String> = groups.iter().map(|g| est(&tv["groupings"][g]["mean"])).collect();
        let sep = if cells.is_empty() { "" } else { " | " };
        let _ = writeln!(
            s,
            "| {name} | {}{sep}{} | {} |",
            est(&tv["overall"]),
            cells.join(" | "),
            est(&p["population"]["relative_gain"])
        );
    }
    let sim = &json["simulation"];
    let _ = writeln!(
        s,
        "\n## Simulation fidelity\n\nOne simulated answer per person and item (the predictor's own draws, or {} drawn \
         from its probabilities) is tested for the profile effects found in the real answers (Wald tests at {}). \
         Replicated: significant with the same sign. False positives: real-null effects significant in the \
         simulation. ICC: share of the simulated answers' variance that lies between personas rather than \
         between runs of one persona.\n\n| predictor | main effects replicated | interactions replicated | \
         false positives | ICC |\n|---|---|---|---|---|",
        sim["repeats"], sim["alpha"]
    );
    let rate = |v: &Value| {
        let n = v["real_significant"].as_u64().or(v["real_null"].as_u64()).unwrap_or(0);
        let k = v["replicated"].as_u64().or(v["significant"].as_u64()).unwrap_or(0);
        format!("{k}/{n} = {}", est(&v["rate"]))
    };
    for (name, p) in predictors {
        let r = &p["simulation"]["replication"];
        let icc = &p["simulation"]["variance"]["icc"];
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            rate(&r["main"]),
            rate(&r["interaction"]),
            rate(&r["false_positive"]),
            if icc.is_null() { "–".to_string() } else { est(icc) }
        );
    }
    if let Some(pools) = json["pools"].as_object() {
        let _ = writeln!(
            s,
            "\n## Persona pools\n\nEach predictor, fitted on all respondents, predicts every person of each pool; \
             the pool's mean prediction is compared with the respondents' answers (total variation, mean over \
             items; score: mean over the groupings that are profile attributes). Lower is better.\n\n\
             | pool | persons | predictor | TV whole sample | score | score − first pool's |\n|---|---|---|---|---|---|"
        );
        for (pool, block) in pools {
            for (predictor, b) in block["predictors"].as_object().into_iter().flatten() {
                let diff = &b["difference_from_first"];
                let _ = writeln!(
                    s,
                    "| {pool} | {} | {predictor} | {} | {} | {} |",
                    block["persons"],
                    est(&b["tv"]["overall"]),
                    est(&b["tv_score"]),
                    if diff.is_null() { "–".to_string() } else { est(diff) }
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nEstimates are followed by their percentile bootstrap CI over persons (rates: Wilson intervals)."
    );
    s
}
