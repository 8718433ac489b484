//! External predictors: programs (LLM simulators, say) that answer JSON Lines requests on their
//! stdin/stdout. The protocol is documented in docs/simulate.md.
//!
//! Every request names a person, an item and a repeat; the answer is probabilities over the
//! item's options or one sampled option. Answers are appended to a cache file as they arrive,
//! so a rerun asks only what is missing. The programs run as long as the predictor lives;
//! anything they do wrong (time-out, malformed line, unknown option, crash) stops them and is
//! an [`Error::Input`] naming the predictor and the request.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::generation::cards::Cards;
use crate::generation::CardTemplate;
use crate::inputs::Domain;

use super::data::Dataset;
use super::params::{checked_name, predictor_error, ExternalParams, PredictorKind};
use super::predictor::{Prediction, Predictor};

/// Probabilities must sum to 1 within this.
const SUM_TOLERANCE: f64 = 1e-6;
/// Lines of a program's stderr quoted when it fails.
const STDERR_LINES: usize = 20;
/// How long a program may take to exit once its stdin is closed, or to report its exit status.
const GRACE: Duration = Duration::from_secs(2);
/// Longest time-out (a larger `timeout_seconds` means this).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);
/// Characters of an offending line quoted in messages.
const EXCERPT: usize = 200;

/// A predictor answered by external programs speaking JSON Lines (docs/simulate.md).
///
/// `fit` does nothing: the programs never see answers. `predict` sends one request per person
/// and repeat, and turns the answers into probabilities: as given (averaged over repeats), or,
/// for sampled answers, their frequencies with `smoothing` added to every option, keeping the
/// samples as the prediction's draws. The programs start at the first question and run as
/// long as the predictor lives.
pub struct External {
    name: String,
    command: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    repeats: usize,
    concurrency: usize,
    persona: bool,
    smoothing: f64,
    template: CardTemplate,
    cache: Cache,
    pool: Option<Pool>,
}

impl External {
    /// The external predictor named `name`, running `params.command` (as given: relative
    /// paths resolve against the current folder) when first asked; with `cache_dir`, answers
    /// are kept in `cache_dir/NAME.jsonl` and reused when the same request comes again.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or command or a parameter out of
    /// range, and for a template that does not compile or a damaged cache file;
    /// [`Error::Read`] when either cannot be read.
    pub fn new(name: impl Into<String>, params: ExternalParams, cache_dir: Option<&Path>) -> Result<External> {
        let name = checked_name(name)?;
        params.validate().map_err(|m| predictor_error(&name, m))?;
        let template = match &params.template {
            Some(path) => CardTemplate::from_file(path)?,
            None => CardTemplate::default(),
        };
        Cards::new(&template, &Domain::default())?;
        let timeout = Duration::try_from_secs_f64(params.timeout_seconds).unwrap_or(MAX_TIMEOUT);
        let cache = match cache_dir {
            Some(dir) => Cache::open(dir.join(cache_file_name(&name)))?,
            None => Cache::default(),
        };
        Ok(External {
            name,
            command: params.command,
            args: params.args,
            timeout: timeout.min(MAX_TIMEOUT),
            repeats: params.repeats,
            concurrency: params.concurrency,
            persona: params.persona,
            smoothing: params.smoothing,
            template,
            cache,
            pool: None,
        })
    }
}

impl Predictor for External {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> PredictorKind {
        PredictorKind::External
    }
    fn fit(&mut self, _: &Dataset, _: &[usize], _: usize) -> Result<()> {
        Ok(())
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Prediction>> {
        self.ask(data, persons, item)
    }
}

/// One request: its id, its JSON line and the hash that keys its cached answer.
struct Request {
    id: String,
    line: String,
    hash: String,
}

impl External {
    /// Asks about `persons` and `item`: cached answers first, the programs for the rest.
    fn ask(&mut self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Prediction>> {
        let options = data.item(item).levels();
        let requests = self.requests(data, persons, item)?;
        let mut answers: Vec<Option<Answer>> = Vec::with_capacity(requests.len());
        for r in &requests {
            answers.push(match self.cache.get(&r.hash) {
                Some(body) => Some(resolve(body, options).map_err(|m| self.cache.damaged(&r.id, &m))?),
                None => None,
            });
        }
        let missing: Vec<usize> = (0..requests.len()).filter(|&j| answers[j].is_none()).collect();
        if !missing.is_empty() {
            // no more programs than requests: an idle one would only be started and stopped
            let pool = self.pool.get_or_insert_with(Pool::new);
            pool.grow(&self.name, &self.command, &self.args, self.concurrency.min(missing.len()))?;
            if let Err(e) = self.exchange(&requests, &missing, options, &mut answers) {
                if let Some(mut pool) = self.pool.take() {
                    pool.kill();
                }
                return Err(e);
            }
        }
        let mut out = Vec::with_capacity(persons.len());
        for (i, chunk) in answers.chunks(self.repeats).enumerate() {
            let given: Vec<&Answer> = chunk.iter().flatten().collect();
            out.push(combine(&given, options.len(), self.smoothing).map_err(|m| {
                predictor_error(
                    &self.name,
                    format!("person \"{}\", item \"{}\": {m}", data.ids()[persons[i]], data.item(item).name()),
                )
            })?);
        }
        Ok(out)
    }

    /// The requests for `persons` and `item`, person by person, repeats in order.
    fn requests(&self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Request>> {
        let column = data.item(item);
        let cards = if self.persona { Some(render_cards(&self.template, data, persons)?) } else { None };
        let salt = self.salt();
        let count = persons.len().saturating_mul(self.repeats);
        self.check_memory(data, persons, item, count)?;
        let mut requests = Vec::with_capacity(count);
        let mut ids = std::collections::HashSet::new();
        for (i, &p) in persons.iter().enumerate() {
            let persona = match &cards {
                Some(cards) => {
                    let attributes: Map<String, Value> = data
                        .profile()
                        .map(|a| (a.name().to_string(), Value::from(a.levels()[a.level(p)].as_str())))
                        .collect();
                    json!({"attributes": attributes, "card": &*cards[i]})
                }
                None => Value::Null,
            };
            for r in 0..self.repeats {
                let id = format!("{}/{}/{r}", data.ids()[p], column.name());
                if !ids.insert(id.clone()) {
                    return Err(predictor_error(&self.name, format!("two requests would share the id \"{id}\" (ids are PERSON/ITEM/REPEAT; a person id or item name with a \"/\" can collide)")));
                }
                let line =
                    json!({"id": id, "persona": persona, "item": column.name(), "options": column.levels(), "repeat": r})
                        .to_string();
                let hash = hash(&salt, &line);
                requests.push(Request { id, line, hash });
            }
        }
        Ok(requests)
    }

    /// An error unless `count` requests about `persons` and `item` fit in memory (each about as
    /// long as the first, with its id, hash and answer), so that a large `repeats` is refused
    /// before anything is allocated.
    fn check_memory(&self, data: &Dataset, persons: &[usize], item: usize, count: usize) -> Result<()> {
        let Some(&first) = persons.first() else { return Ok(()) };
        let column = data.item(item);
        let card = if self.persona { render_cards(&self.template, data, &[first])?.concat() } else { String::new() };
        let line = card.len() + column.levels().iter().map(|l| l.len() + 3).sum::<usize>() + 200;
        let each = line + std::mem::size_of::<Request>() + std::mem::size_of::<Option<Answer>>() + 160;
        match crate::memory::shortfall((count as u64).saturating_mul(each as u64)) {
            None => Ok(()),
            Some(why) => Err(Error::TooLarge(format!(
                "predictor \"{}\": {count} requests ({} persons × repeats = {}) for item \"{}\": {why}; lower repeats",
                self.name,
                persons.len(),
                self.repeats,
                column.name()
            ))),
        }
    }

    /// What besides the request decides its answer: the command line.
    fn salt(&self) -> String {
        let mut salt = self.command.display().to_string();
        for a in &self.args {
            salt.push('\0');
            salt.push_str(a);
        }
        salt
    }

    /// Sends the `missing` requests to the programs and fills their answers as they arrive.
    fn exchange(
        &mut self,
        requests: &[Request],
        missing: &[usize],
        options: &[String],
        answers: &mut [Option<Answer>],
    ) -> Result<()> {
        let Some(pool) = self.pool.as_mut() else { return Ok(()) };
        let n = pool.workers.len();
        let mut pending: HashMap<&str, (usize, usize)> = HashMap::with_capacity(missing.len());
        let mut open: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for (k, &j) in missing.iter().enumerate() {
            let w = k % n;
            pool.send(w, &requests[j].line);
            pending.insert(&requests[j].id, (j, w));
            open[w].insert(j);
        }
        let mut last = vec![Instant::now(); n];
        // A program that ended while it had nothing to answer fails as soon as it is asked.
        let mut ended: Vec<Event> =
            (0..n).filter(|&w| pool.workers[w].ended && !open[w].is_empty()).map(|w| Event::End(w, None)).collect();
        while let Some((due, deadline)) =
            (0..n).filter(|&w| !open[w].is_empty()).map(|w| (w, last[w] + self.timeout)).min_by_key(|&(_, d)| d)
        {
            let oldest = |w: usize, open: &[BTreeSet<usize>]| {
                let j = open[w].first().copied().unwrap_or(0);
                format!("request \"{}\"", requests[j].id)
            };
            let event = match ended
                .pop()
                .map_or_else(|| pool.events.recv_timeout(deadline.saturating_duration_since(Instant::now())), Ok)
            {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(predictor_error(
                        &self.name,
                        format!(
                            "{} timed out: {} gave no answer for {} s (timeout_seconds) with {} request(s) waiting; \
                         it was stopped",
                            oldest(due, &open),
                            pool.describe(due),
                            self.timeout.as_secs_f64(),
                            open[due].len()
                        ),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => Event::End(due, None),
            };
            match event {
                Event::Line(w, bytes) => {
                    pool.workers[w].lines += 1;
                    last[w] = Instant::now();
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let at = format!("line {} of {}'s output", pool.workers[w].lines, pool.describe(w));
                    let (id, body) = parse_response(&bytes).map_err(|m| {
                        predictor_error(
                            &self.name,
                            format!(
                                "{at} is not a response ({m}) while {} was waiting: {}",
                                oldest(w, &open),
                                excerpt(&bytes)
                            ),
                        )
                    })?;
                    let Some((j, owner)) = pending.remove(id.as_str()) else {
                        return Err(predictor_error(
                            &self.name,
                            format!(
                                "{at} answers the unknown request id \"{id}\" (never sent, or already answered): {}",
                                excerpt(&bytes)
                            ),
                        ));
                    };
                    open[owner].remove(&j);
                    let answer = resolve(&body, options).map_err(|m| {
                        predictor_error(&self.name, format!("request \"{id}\": {m} ({at}: {})", excerpt(&bytes)))
                    })?;
                    self.cache.put(&id, &requests[j].hash, &body)?;
                    answers[j] = Some(answer);
                }
                Event::End(w, why) => {
                    pool.workers[w].ended = true;
                    if open[w].is_empty() {
                        continue;
                    }
                    let report = pool.exit_report(w);
                    let why = why.map(|f| format!(" ({f})")).unwrap_or_default();
                    return Err(predictor_error(
                        &self.name,
                        format!(
                            "{} stopped{why} before answering {} ({} request(s) unanswered): {report}",
                            pool.describe(w),
                            oldest(w, &open),
                            open[w].len()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The cards of `persons`: the template sees their profile attributes; `person_id` is the row
/// number in the responses file (from 0).
fn render_cards(template: &CardTemplate, data: &Dataset, persons: &[usize]) -> Result<Vec<Arc<str>>> {
    let declared: Vec<(String, Vec<String>)> =
        data.profile().map(|a| (a.name().to_string(), a.levels().to_vec())).collect();
    let domain = Domain::declared(declared.iter().map(|(name, levels)| (name, levels)));
    let cards = Cards::new(template, &domain)?;
    let mut cache = cards.cache();
    let mut out = Vec::with_capacity(persons.len());
    for &p in persons {
        let codes: Vec<u32> = data.profile().map(|a| a.level(p) as u32).collect();
        out.extend(cards.render(&domain, None, p as u64, &codes, &mut cache)?);
    }
    Ok(out)
}

/// A short hex hash of a request line and the command line that answers it.
fn hash(salt: &str, line: &str) -> String {
    let digest = Sha256::new().chain_update(salt).chain_update([0u8]).chain_update(line).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache file of predictor `name`: the name itself when it is a safe file name, else its
/// safe characters and a hash.
fn cache_file_name(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe == name && !name.starts_with('.') {
        format!("{name}.jsonl")
    } else {
        format!("{safe}-{}.jsonl", hash("", name))
    }
}

/// A line quoted in a message: at most [`EXCERPT`] characters, control characters escaped.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();
    let mut shown = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// What a response says, before it is checked against the options.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Probabilities by option name.
    Probabilities(Vec<(String, f64)>),
    /// One sampled option.
    Answer(String),
    /// A failure the program reports.
    Error(String),
}

/// A checked answer.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Probabilities in option order, summing to 1.
    Probabilities(Vec<f64>),
    /// The index of the sampled option.
    Sample(usize),
}

/// A JSON value in which no object names a key twice (`serde_json` keeps the last silently:
/// `{"answer": "yes", "answer": "no"}` would read as "no").
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some((key, Strict(value))) = map.next_entry::<String, Strict>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("the key \"{key}\" appears twice")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Parses one response line: `{"id": ..., "probabilities": {...}}`, `{"id": ..., "answer": ...}`
/// or `{"id": ..., "error": ...}`; other fields are ignored.
fn parse_response(line: &[u8]) -> std::result::Result<(String, Body), String> {
    let Strict(value) = serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(map) = value else { return Err("not a JSON object".into()) };
    let id = match map.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => return Err(format!("\"id\" must be a string, got {other}")),
        None => return Err("it has no \"id\"".into()),
    };
    let given: Vec<&str> = ["probabilities", "answer", "error"].into_iter().filter(|k| map.contains_key(*k)).collect();
    let body = match (given.as_slice(), map.get(given.first().copied().unwrap_or(""))) {
        (["probabilities"], Some(Value::Object(p))) => Body::Probabilities(
            p.iter()
                .map(|(k, v)| {
                    v.as_f64()
                        .map(|x| (k.clone(), x))
                        .ok_or_else(|| format!("the probability of \"{k}\" is not a number: {v}"))
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        (["probabilities"], Some(other)) => {
            return Err(format!("\"probabilities\" must be an object of option: probability, got {other}"))
        }
        (["answer"], Some(Value::String(a))) => Body::Answer(a.clone()),
        (["answer"], Some(other)) => return Err(format!("\"answer\" must be a string (an option), got {other}")),
        (["error"], Some(Value::String(e))) => Body::Error(e.clone()),
        (["error"], Some(other)) => Body::Error(other.to_string()),
        _ => return Err("it needs exactly one of \"probabilities\", \"answer\" and \"error\"".into()),
    };
    Ok((id, body))
}

/// Checks a response against the item's options.
fn resolve(body: &Body, options: &[String]) -> std::result::Result<Answer, String> {
    let index = |name: &str| {
        options.iter().position(|o| o == name).ok_or_else(|| {
            let list = options.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", ");
            format!("\"{name}\" is not one of the options {list}")
        })
    };
    match body {
        Body::Answer(a) => Ok(Answer::Sample(index(a)?)),
        Body::Error(e) => Err(format!("the simulator reported an error: {e}")),
        Body::Probabilities(pairs) => {
            let mut p = vec![0.0; options.len()];
            for (name, v) in pairs {
                if !(v.is_finite() && *v >= 0.0) {
                    return Err(format!("the probability of \"{name}\" is {v}; probabilities must be non-negative"));
                }
                p[index(name)?] = *v;
            }
            let sum: f64 = p.iter().sum();
            if (sum - 1.0).abs() > SUM_TOLERANCE {
                return Err(format!("the probabilities sum to {sum}, not 1 (within {SUM_TOLERANCE})"));
            }
            Ok(Answer::Probabilities(p.iter().map(|v| v / sum).collect()))
        }
    }
}

/// One person's prediction from the answers to their repeats: the mean of given
/// probabilities, or the frequencies of sampled answers with `smoothing` added to each option.
fn combine(answers: &[&Answer], k: usize, smoothing: f64) -> std::result::Result<Prediction, String> {
    let draws: Vec<usize> =
        answers.iter().filter_map(|a| if let Answer::Sample(s) = a { Some(*s) } else { None }).collect();
    if draws.is_empty() {
        let mut p = vec![0.0; k];
        for a in answers {
            if let Answer::Probabilities(q) = a {
                p.iter_mut().zip(q).for_each(|(s, v)| *s += v / answers.len() as f64);
            }
        }
        return Ok(Prediction { probabilities: p, draws });
    }
    if draws.len() != answers.len() {
        return Err("some repeats were answered with probabilities and others with a sampled answer; \
                    a simulator must answer all repeats the same way"
            .into());
    }
    let mut p = vec![smoothing; k];
    draws.iter().for_each(|&d| p[d] += 1.0);
    let total = draws.len() as f64 + smoothing * k as f64;
    p.iter_mut().for_each(|v| *v /= total);
    Ok(Prediction { probabilities: p, draws })
}

/// Received answers, by the hash of the request they answer (which covers its id); with a
/// file, every new answer is appended as a line `{"id", "hash", "probabilities" | "answer"}`.
#[derive(Default)]
struct Cache {
    path: Option<PathBuf>,
    file: Option<File>,
    answers: HashMap<String, Body>,
}

impl Cache {
    /// Reads `path` if it exists (a last line without its newline was cut off by a crash and is
    /// dropped); new answers will be appended to it.
    fn open(path: PathBuf) -> Result<Cache> {
        let mut cache = Cache { path: Some(path.clone()), file: None, answers: HashMap::new() };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => return Err(Error::read(&path, e)),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for (n, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let location = || Location::file(path.display().to_string()).at_line(n as u64 + 1);
            let entry = parse_cached(line).map_err(|m| {
                Error::input(location(), format!("not a cached answer ({m}); delete the file to ask again"))
            })?;
            cache.answers.insert(entry.0, entry.1);
        }
        if complete < bytes.len() {
            let file = OpenOptions::new().write(true).open(&path).map_err(|e| Error::write(&path, e))?;
            file.set_len(complete as u64).map_err(|e| Error::write(&path, e))?;
        }
        Ok(cache)
    }

    fn get(&self, hash: &str) -> Option<&Body> {
        self.answers.get(hash)
    }

    /// Records an answer, appending it to the file at once.
    fn put(&mut self, id: &str, hash: &str, body: &Body) -> Result<()> {
        if let Some(path) = &self.path {
            if self.file.is_none() {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
                }
                let file =
                    OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::write(path, e))?;
                self.file = Some(file);
            }
            let mut entry = json!({"id": id, "hash": hash});
            match body {
                Body::Probabilities(p) => {
                    entry["probabilities"] = p.iter().map(|(k, v)| (k.clone(), json!(v))).collect()
                }
                Body::Answer(a) => entry["answer"] = json!(a),
                Body::Error(_) => return Ok(()),
            }
            let line = format!("{entry}\n");
            if let Some(file) = &mut self.file {
                file.write_all(line.as_bytes()).map_err(|e| Error::write(path, e))?;
            }
        }
        self.answers.insert(hash.to_string(), body.clone());
        Ok(())
    }

    /// The error for a cached answer that no longer fits its request.
    fn damaged(&self, id: &str, message: &str) -> Error {
        let file = self.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        Error::input(
            Location::file(file),
            format!("the cached answer to \"{id}\" is invalid ({message}); delete the file to ask again"),
        )
    }
}

/// A cache line's hash and answer.
fn parse_cached(line: &[u8]) -> std::result::Result<(String, Body), String> {
    let (_, body) = parse_response(line)?;
    let value: Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let hash = value.get("hash").and_then(Value::as_str).ok_or("it has no \"hash\"")?;
    if let Body::Error(_) = body {
        return Err("an error is not an answer".into());
    }
    Ok((hash.to_string(), body))
}

/// What a program's reader threads report.
enum Event {
    /// A line of program `w`'s stdout (without its newline).
    Line(usize, Vec<u8>),
    /// Program `w` closed its stdout; with a read error, why.
    End(usize, Option<String>),
}

/// A running program.
struct Worker {
    child: Child,
    /// Lines to write to its stdin, by a writer thread; dropping it closes the stdin.
    input: Option<Sender<String>>,
    /// The last lines of its stderr.
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: JoinHandle<()>,
    /// Lines read from its stdout.
    lines: u64,
    /// Whether its stdout has ended.
    ended: bool,
}

/// The running copies of a predictor's program and the events of their outputs.
struct Pool {
    workers: Vec<Worker>,
    events: Receiver<Event>,
    /// Given to the reader of every program started.
    sender: Sender<Event>,
}

impl Pool {
    /// No program yet.
    fn new() -> Pool {
        let (sender, events) = mpsc::channel();
        Pool { workers: Vec::new(), events, sender }
    }

    /// Starts copies of the program until `n` run. Each runs in a process group of its own
    /// (registered with [`crate::cleanup`]), so that stopping it stops every process it started.
    fn grow(&mut self, name: &str, command: &Path, args: &[String], n: usize) -> Result<()> {
        for w in self.workers.len()..n {
            let mut command_line = Command::new(command);
            command_line.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut command_line, 0);
            let mut child = command_line.spawn().map_err(|e| {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound if command.components().count() > 1 => "no such file".to_string(),
                    std::io::ErrorKind::NotFound => "not found on PATH".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_string(),
                    _ => e.to_string(),
                };
                predictor_error(name, format!("cannot start the command \"{}\": {why}", command.display()))
            })?;
            crate::cleanup::track_group(child.id());
            let (Some(stdin), Some(stdout), Some(stderr)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                end(&mut child);
                return Err(Error::Inconsistent(format!("predictor \"{name}\": the program's pipes are missing")));
            };
            let (input, lines) = mpsc::channel();
            std::thread::spawn(move || write_lines(stdin, lines));
            let events = self.sender.clone();
            std::thread::spawn(move || read_lines(w, stdout, events));
            let tail = Arc::new(Mutex::new(VecDeque::new()));
            let keep = tail.clone();
            let stderr_thread = std::thread::spawn(move || read_stderr(stderr, keep));
            self.workers.push(Worker {
                child,
                input: Some(input),
                stderr: tail,
                stderr_thread,
                lines: 0,
                ended: false,
            });
        }
        Ok(())
    }

    fn send(&self, w: usize, line: &str) {
        if let Some(input) = &self.workers[w].input {
            // A program that has exited is reported by its reader; nothing to do here.
            let _ = input.send(format!("{line}\n"));
        }
    }

    /// "process 2 of 4 (pid 1234)".
    fn describe(&self, w: usize) -> String {
        format!("process {} of {} (pid {})", w + 1, self.workers.len(), self.workers[w].child.id())
    }

    /// How program `w` ended: its exit status and the last lines of its stderr.
    fn exit_report(&mut self, w: usize) -> String {
        let worker = &mut self.workers[w];
        let start = Instant::now();
        let status = loop {
            match worker.child.try_wait() {
                Ok(Some(status)) => break status.to_string(),
                Ok(None) if start.elapsed() < GRACE => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    end(&mut worker.child);
                    break "closed its output but kept running; killed".to_string();
                }
                Err(e) => break format!("exit status unknown: {e}"),
            }
        };
        while !worker.stderr_thread.is_finished() && start.elapsed() < GRACE {
            std::thread::sleep(Duration::from_millis(10));
        }
        let tail = worker.stderr.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            format!("{status}, nothing on stderr")
        } else {
            let lines: Vec<String> = tail.iter().map(|l| format!("  {l}")).collect();
            format!("{status}; the last lines of its stderr:\n{}", lines.join("\n"))
        }
    }

    /// Kills every program, with the processes it started, and reaps it.
    fn kill(&mut self) {
        for worker in &mut self.workers {
            worker.input = None;
            end(&mut worker.child);
        }
    }
}

/// Kills a program's process group (it and every process it started; done even when the program
/// itself has exited, for what it left running), then the program, and reaps it.
fn end(child: &mut Child) {
    crate::cleanup::end_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Pool {
    /// Closes the programs' stdin, gives them [`GRACE`] to exit, then kills the rest.
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.input = None;
        }
        let start = Instant::now();
        for worker in &mut self.workers {
            while matches!(worker.child.try_wait(), Ok(None)) && start.elapsed() < GRACE {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.kill();
    }
}

/// Writes lines to a program's stdin, flushing whenever no more are queued; stops when the
/// queue is dropped (closing the stdin) or the program stops reading.
fn write_lines(stdin: ChildStdin, lines: Receiver<String>) {
    let mut out = std::io::BufWriter::new(stdin);
    while let Ok(line) = lines.recv() {
        let mut ok = out.write_all(line.as_bytes()).is_ok();
        while let (true, Ok(line)) = (ok, lines.try_recv()) {
            ok = out.write_all(line.as_bytes()).is_ok();
        }
        if !ok || out.flush().is_err() {
            return;
        }
    }
}

/// Sends a program's stdout, line by line, as events; a line longer than
/// [`MAX_LINE_BYTES`](crate::memory::MAX_LINE_BYTES) ends it.
fn read_lines(w: usize, stdout: impl Read, events: Sender<Event>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        match capped_line(&mut reader, &mut line) {
            Ok(0) => {
                let _ = events.send(Event::End(w, None));
                return;
            }
            Ok(_) if line.last() != Some(&b'\n') && line.len() > crate::memory::MAX_LINE_BYTES => {
                let why = format!(
                    "it wrote a line longer than {} bytes, the most populace reads: {}",
                    crate::memory::MAX_LINE_BYTES,
                    excerpt(&line)
                );
                let _ = events.send(Event::End(w, Some(why)));
                return;
            }
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                if events.send(Event::Line(w, line)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = events.send(Event::End(w, Some(format!("reading its output failed: {e}"))));
                return;
            }
        }
    }
}

/// Reads a line into `line` (its `\n` kept), but no more than one byte past
/// [`MAX_LINE_BYTES`](crate::memory::MAX_LINE_BYTES): a longer line is cut there, without
/// its `\n`. The number of bytes read; 0 at the end.
fn capped_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    reader.take(crate::memory::MAX_LINE_BYTES as u64 + 1).read_until(b'\n', line)
}

/// Keeps the last [`STDERR_LINES`] lines of a program's stderr, each cut to [`EXCERPT`]
/// characters.
fn read_stderr(stderr: impl Read, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let mut whole = true;
    loop {
        line.clear();
        match capped_line(&mut reader, &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // the rest of a line too long to keep is skipped
        let start = whole;
        whole = line.last() == Some(&b'\n');
        if !start {
            continue;
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        let text = String::from_utf8_lossy(&line);
        tail.push_back(text.trim_end().chars().take(EXCERPT).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Vec<String> {
        vec!["Clinton".into(), "Dole".into(), "Perot".into()]
    }

    #[test]
    fn parses_the_three_kinds_of_response() {
        let (id, body) =
            parse_response(br#"{"id": "r1/vote/0", "probabilities": {"Clinton": 0.5, "Dole": 0.5}}"#).unwrap();
        assert_eq!(id, "r1/vote/0");
        assert_eq!(resolve(&body, &options()).unwrap(), Answer::Probabilities(vec![0.5, 0.5, 0.0]));
        let (_, body) = parse_response(br#"{"id": "r1/vote/1", "answer": "Perot", "note": "ignored"}"#).unwrap();
        assert_eq!(resolve(&body, &options()).unwrap(), Answer::Sample(2));
        let (_, body) = parse_response(br#"{"id": "x", "error": "rate limited"}"#).unwrap();
        assert!(resolve(&body, &options()).unwrap_err().contains("rate limited"));
    }

    #[test]
    fn rejects_malformed_responses() {
        for (line, expected) in [
            (&b"not json"[..], "not valid JSON"),
            (b"[1, 2]", "not a JSON object"),
            (br#"{"answer": "Dole"}"#, "no \"id\""),
            (br#"{"id": 3, "answer": "Dole"}"#, "\"id\" must be a string"),
            (br#"{"id": "a"}"#, "exactly one of"),
            (br#"{"id": "a", "answer": "Dole", "error": "x"}"#, "exactly one of"),
            (br#"{"id": "a", "answer": 1}"#, "must be a string"),
            (br#"{"id": "a", "probabilities": [0.5, 0.5]}"#, "must be an object"),
            (br#"{"id": "a", "probabilities": {"Dole": "high"}}"#, "not a number"),
            (br#"{"id": "a", "answer": "Dole", "answer": "Clinton"}"#, "the key \"answer\" appears twice"),
            (br#"{"id": "a", "probabilities": {"Dole": 0.5, "Dole": 0.5}}"#, "the key \"Dole\" appears twice"),
        ] {
            let message = parse_response(line).unwrap_err();
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn rejects_answers_that_do_not_fit_the_options() {
        let check = |line: &[u8], expected: &str| {
            let message = resolve(&parse_response(line).unwrap().1, &options()).unwrap_err();
            assert!(message.contains(expected), "{message}");
        };
        check(
            br#"{"id": "a", "answer": "Nader"}"#,
            "\"Nader\" is not one of the options \"Clinton\", \"Dole\", \"Perot\"",
        );
        check(br#"{"id": "a", "probabilities": {"Nader": 1.0}}"#, "\"Nader\" is not one of");
        check(br#"{"id": "a", "probabilities": {"Dole": 0.5, "Perot": 0.4}}"#, "sum to 0.9");
        check(br#"{"id": "a", "probabilities": {"Dole": 1.5, "Perot": -0.5}}"#, "non-negative");
        let (_, close) = parse_response(br#"{"id": "a", "probabilities": {"Dole": 0.5, "Perot": 0.4999999}}"#).unwrap();
        assert!(resolve(&close, &options()).is_ok());
    }

    #[test]
    fn combines_samples_into_smoothed_frequencies_and_averages_probabilities() {
        let samples = [Answer::Sample(0), Answer::Sample(0), Answer::Sample(2)];
        let p = combine(&samples.iter().collect::<Vec<_>>(), 3, 0.5).unwrap();
        assert_eq!(p.draws, vec![0, 0, 2]);
        assert_eq!(p.probabilities, vec![2.5 / 4.5, 0.5 / 4.5, 1.5 / 4.5]);
        let given = [Answer::Probabilities(vec![1.0, 0.0, 0.0]), Answer::Probabilities(vec![0.0, 0.5, 0.5])];
        let p = combine(&given.iter().collect::<Vec<_>>(), 3, 0.5).unwrap();
        assert_eq!(p.probabilities, vec![0.5, 0.25, 0.25]);
        assert!(p.draws.is_empty());
        let mixed = [Answer::Sample(0), Answer::Probabilities(vec![1.0, 0.0, 0.0])];
        assert!(combine(&mixed.iter().collect::<Vec<_>>(), 3, 0.5).is_err());
    }

    #[test]
    fn the_cache_keeps_answers_drops_a_cut_line_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.jsonl");
        let mut cache = Cache::open(path.clone()).unwrap();
        cache.put("a", "h1", &Body::Answer("Dole".into())).unwrap();
        cache.put("b", "h2", &Body::Probabilities(vec![("Dole".into(), 1.0)])).unwrap();
        drop(cache);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(r#"{"id": "c", "hash": "h3", "ans"#);
        std::fs::write(&path, &text).unwrap();
        let mut cache = Cache::open(path.clone()).unwrap();
        assert_eq!(cache.get("h1"), Some(&Body::Answer("Dole".into())));
        assert_eq!(cache.get("other"), None);
        assert_eq!(cache.get("h3"), None);
        cache.put("c", "h3", &Body::Answer("Perot".into())).unwrap();
        drop(cache);
        let cache = Cache::open(path.clone()).unwrap();
        assert_eq!(cache.answers.len(), 3);
        std::fs::write(&path, "garbage\n{\"id\": \"a\", \"hash\": \"h\", \"answer\": \"x\"}\n").unwrap();
        let message = Cache::open(path).err().unwrap().to_string();
        assert!(message.contains("sim.jsonl, line 1") && message.contains("not a cached answer"), "{message}");
    }

    #[test]
    fn cache_file_names_are_safe() {
        assert_eq!(cache_file_name("gpt-4o_mini.v2"), "gpt-4o_mini.v2.jsonl");
        let odd = cache_file_name("../a b");
        assert!(odd.starts_with(".._a_b-") && odd.ends_with(".jsonl") && !odd.contains('/'), "{odd}");
    }
}
