//! A complete simulator for `kind = "external"` predictors (protocol in docs/simulate.md): it
//! reads one JSON request per line on stdin and writes one JSON answer per line on stdout.
//!
//! It knows nothing about the people it plays, and answers deterministically: option k of an
//! item scores `h(item, k) + strength · Σ h(attribute = value, item, k)` over the persona's
//! attributes (each `h` a hash mapped to [−1, 1)), and the probabilities are the softmax of
//! the scores. Without a persona (the unconditioned arm) only the first term remains. With
//! `--sample` it answers one option drawn from those probabilities by a hash of the request id,
//! so repeats differ. A real simulator would put `persona.card` into a language model's prompt,
//! ask the item with its options, and answer the model's option probabilities or its sample.
//!
//! ```sh
//! cargo build --release --example simulator
//! echo '{"id": "r1/vote/0", "persona": null, "item": "vote", "options": ["Clinton", "Dole"], "repeat": 0}' \
//!   | target/release/examples/simulator
//! ```
//!
//! Usage: `simulator [--sample] [--strength S]` (default strength 1).

use std::io::{BufRead, Write};

use serde_json::{json, Map, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sample = args.iter().any(|a| a == "--sample");
    let strength = match args.iter().position(|a| a == "--strength").map(|i| args.get(i + 1)) {
        None => 1.0,
        Some(value) => match value.and_then(|v| v.parse::<f64>().ok()).filter(|s| s.is_finite()) {
            Some(s) => s,
            None => fail("--strength needs a number"),
        },
    };
    let mut input = std::io::BufReader::new(std::io::stdin().lock());
    let mut output = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => {}
            Err(e) => fail(&format!("cannot read a request: {e}")),
        }
        let response = match serde_json::from_str::<Value>(&line) {
            Ok(request) => answer(&request, sample, strength),
            Err(e) => fail(&format!("a request is not JSON ({e}): {}", line.trim())),
        };
        if writeln!(output, "{response}").is_err() {
            return;
        }
        // Flush whenever no further request is waiting, so no answer sits in the buffer.
        if input.buffer().is_empty() && output.flush().is_err() {
            return;
        }
    }
}

/// The response to one request: probabilities, one sampled answer, or an error.
fn answer(request: &Value, sample: bool, strength: f64) -> Value {
    let Some(id) = request["id"].as_str() else { fail(&format!("a request has no id: {request}")) };
    let (Some(item), Some(options)) = (request["item"].as_str(), request["options"].as_array()) else {
        return json!({"id": id, "error": "the request has no item or no options"});
    };
    let options: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
    if options.is_empty() {
        return json!({"id": id, "error": "the item has no options"});
    }
    let attributes = request["persona"]["attributes"].as_object().cloned().unwrap_or_default();
    let scores: Vec<f64> = options
        .iter()
        .map(|option| {
            let tilt: f64 = attributes.iter().map(|(name, value)| centered(&[name, &text(value), item, option])).sum();
            centered(&[item, option]) + strength * tilt
        })
        .collect();
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let probabilities: Vec<f64> = weights.iter().map(|w| w / total).collect();
    if sample {
        let u = unit(hash(&[id]));
        let mut cumulative = 0.0;
        let k = probabilities.iter().position(|p| {
            cumulative += p;
            u < cumulative
        });
        return json!({"id": id, "answer": options[k.unwrap_or(options.len() - 1)]});
    }
    let map: Map<String, Value> = options.iter().zip(&probabilities).map(|(o, p)| (o.to_string(), json!(p))).collect();
    json!({"id": id, "probabilities": map})
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

/// FNV-1a of the parts, each followed by a separator byte.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // A final mix, so that similar inputs give unrelated high bits.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A hash mapped to [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A hash of the parts mapped to [−1, 1).
fn centered(parts: &[&str]) -> f64 {
    2.0 * unit(hash(parts)) - 1.0
}

fn fail(message: &str) -> ! {
    eprintln!("simulator: {message}");
    std::process::exit(1)
}
