//! The Markdown summary of an evaluation.

use std::fmt::Write;

use super::report::{Estimate, Evaluation, FalsePositives, ReplicationRate, Verdict};

/// `0.1234 [0.1000, 0.1500]`, with `–` for what is not finite.
fn est(v: &Estimate) -> String {
    let f = |x: f64| if x.is_finite() { format!("{x:.4}") } else { "–".to_string() };
    format!("{} [{}, {}]", f(v.estimate), f(v.ci_low), f(v.ci_high))
}

/// A name as a Markdown table cell: a `|` in it would end the cell.
fn cell(name: &str) -> String {
    name.replace('|', "\\|")
}

/// A number as `evaluation.json` writes it (`0.0`, `0.05`, `1e-5`).
fn json_number(x: f64) -> String {
    serde_json::Value::from(x).to_string()
}

/// Renders an evaluation as Markdown: the rule, per-predictor individual and population
/// tables with CIs, simulation fidelity, persona pools, and the verdicts.
pub fn summary_markdown(evaluation: &Evaluation) -> String {
    let mut s = String::new();
    let e = &evaluation.evaluation;
    let d = &evaluation.data;
    let _ = writeln!(s, "# populace evaluate\n");
    let _ = writeln!(
        s,
        "Data: `{}`, {} persons, {} items. Folds {}, bootstrap {} (seed {}), CIs at {:.0}%. Baseline: `{}`.\n",
        d.file,
        d.persons,
        d.items.len(),
        e.folds,
        e.bootstrap,
        e.seed,
        100.0 * (1.0 - e.alpha),
        e.baseline
    );
    if let Some(w) = &d.weight {
        let _ = writeln!(
            s,
            "Persons weighted by `{}` (weights summing to {}; Kish effective sample size {:.1}): population \
             distributions, means and the bootstrap are weighted.\n",
            w.column,
            json_number(w.sum),
            w.n_eff
        );
    }
    let _ = writeln!(
        s,
        "Rule: *improves individuals* if the pseudo-R² CI lower bound exceeds {}; otherwise *improves populations \
         only* if the relative TV gain is at least {} with a CI lower bound above 0; otherwise *neither*.\n",
        json_number(e.rule.individual_min_pseudo_r2),
        json_number(e.rule.population_min_relative_tv_gain)
    );
    let _ = writeln!(s, "## Verdicts\n\n| predictor | verdict | pseudo-R² | relative TV gain |\n|---|---|---|---|");
    let predictors = &evaluation.predictors;
    for (name, p) in predictors {
        let name = cell(name);
        if p.verdict == Verdict::Baseline {
            let _ = writeln!(s, "| {name} | baseline | – | – |");
        } else {
            let _ = writeln!(
                s,
                "| {name} | **{}** | {} | {} |",
                p.verdict,
                est(&p.individual.overall.pseudo_r2),
                est(&p.population.relative_gain)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## Individual level (held-out, per answer)\n\n| predictor | NLL | Brier | accuracy | pseudo-R² | share \
         improved | d |\n|---|---|---|---|---|---|---|"
    );
    for (name, p) in predictors {
        let name = cell(name);
        let i = &p.individual.overall;
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            est(&i.nll),
            est(&i.brier),
            est(&i.accuracy),
            est(&i.pseudo_r2),
            est(&i.share_improved),
            est(&i.d)
        );
    }
    let _ = writeln!(s, "\n### Per item: pseudo-R²\n");
    let items: Vec<String> = d.items.iter().map(|i| cell(&i.name)).collect();
    let _ = writeln!(s, "| predictor | {} |\n|---|{}", items.join(" | "), "---|".repeat(items.len()));
    for (name, p) in predictors {
        let name = cell(name);
        let cells: Vec<String> = p.individual.items.values().map(|m| est(&m.pseudo_r2)).collect();
        let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
    }
    let mut columns = vec!["predictor".to_string(), "whole sample".to_string()];
    columns.extend(d.groups.iter().map(|g| format!("by {}", cell(g))));
    columns.push("relative gain".to_string());
    let _ = writeln!(
        s,
        "\n## Population level (total variation, mean over items)\n\n| {} |\n|{}",
        columns.join(" | "),
        "---|".repeat(columns.len())
    );
    for (name, p) in predictors {
        let name = cell(name);
        let tv = &p.population.tv;
        let cells: Vec<String> = tv.groupings.values().map(|t| est(&t.mean)).collect();
        let sep = if cells.is_empty() { "" } else { " | " };
        let _ = writeln!(
            s,
            "| {name} | {}{sep}{} | {} |",
            est(&tv.overall),
            cells.join(" | "),
            est(&p.population.relative_gain)
        );
    }
    let sim = &evaluation.simulation;
    let _ = writeln!(
        s,
        "\n## Simulation fidelity\n\nOne simulated answer per person and item (the predictor's own draws, or {} drawn \
         from its probabilities) is tested for the profile effects found in the real answers (Wald tests at {}). \
         Replicated: significant with the same sign. False positives: real-null effects significant in the \
         simulation. ICC: share of the simulated answers' variance that lies between personas rather than \
         between runs of one persona.\n\n| predictor | main effects replicated | interactions replicated | \
         false positives | ICC |\n|---|---|---|---|---|",
        sim.repeats,
        json_number(sim.alpha)
    );
    let rate = |r: &ReplicationRate| format!("{}/{} = {}", r.replicated, r.real_significant, est(&r.rate));
    let false_positives = |f: &FalsePositives| format!("{}/{} = {}", f.significant, f.real_null, est(&f.rate));
    for (name, p) in predictors {
        let name = cell(name);
        let r = &p.simulation.replication;
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            rate(&r.main),
            rate(&r.interaction),
            false_positives(&r.false_positive),
            p.simulation.variance.as_ref().map_or_else(|| "–".to_string(), |v| est(&v.overall.icc))
        );
    }
    if !evaluation.pools.is_empty() {
        let _ = writeln!(
            s,
            "\n## Persona pools\n\nEach predictor, fitted on all respondents, predicts every person of each pool; \
             the pool's mean prediction is compared with the respondents' answers (total variation, mean over \
             items; score: mean over the groupings that are profile attributes). Lower is better.\n\n\
             | pool | persons | predictor | TV whole sample | score | score − first pool's |\n|---|---|---|---|---|---|"
        );
        for (pool, block) in &evaluation.pools {
            for (predictor, b) in &block.predictors {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(pool),
                    block.persons,
                    cell(predictor),
                    est(&b.tv.overall),
                    est(&b.tv_score),
                    b.difference_from_first.as_ref().map_or_else(|| "–".to_string(), est)
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
