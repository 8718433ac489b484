//! Persona cards: one text per person, rendered by a [MiniJinja](https://docs.rs/minijinja)
//! template.
//!
//! **What a template sees.** Every attribute by name (`{{ age_group }}`), `person_id`, `zone`
//! (with zones only), and `attributes`, a map of every attribute to its category in domain order
//! (`{% for name, value in attributes|items %}`; also the way to reach a name that is not an
//! identifier: `{{ attributes["age-group"] }}`). A name the template uses but the person does not
//! have renders as nothing — never as `None` or `undefined` — and lookups on it give nothing too
//! (MiniJinja's chainable undefined); `{{ income | default("unknown") }}` supplies a fallback.
//! No HTML escaping is applied. Surrounding whitespace of the result is trimmed.
//!
//! **`persona()`** renders a natural-language description of the person from `attributes` (or
//! of the map it is given): an age-like attribute (`age`, `age_*`, `agegroup`, `ageband`)
//! holding a number, a range (`30-44`) or an open band (`65+`) and a `sex` or `gender` of
//! female/male become the opening sentence (`You are a 30-44-year-old woman.`, `You are a man
//! aged 65 or older.`, a girl or boy below 18); yes/no attributes named like a participle become
//! `You are married.` / `You are not married.`, other yes/no attributes `Awards: no.`, and the
//! rest `Your income band is 25000-49999.`. Values `not applicable`, `n/a` and `missing` (the
//! category of missing values, [`CATEGORY`]) are left out.
//! Unknown names and values are never an error: without an age or sex the card starts `You are a
//! person.`
//!
//! The default template is [`DEFAULT_TEMPLATE`]: the persona, then `You live in ZONE.` with zones.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{AutoEscape, Environment, State, UndefinedBehavior, Value};
use rayon::prelude::*;

use crate::error::{Error, Location, Result};
use crate::inputs::Domain;
use crate::missing::CATEGORY;

/// The default card template.
pub const DEFAULT_TEMPLATE: &str = "{{ persona() }}{% if zone %} You live in {{ zone }}.{% endif %}";

/// Rendered cards kept per zone, by category codes, when the template does not use `person_id`.
const CACHE_LIMIT: usize = 1 << 20;

/// A card template: its name in messages (a file name) and its MiniJinja source.
#[derive(Debug, Clone)]
pub struct CardTemplate {
    name: String,
    source: String,
}

impl Default for CardTemplate {
    /// [`DEFAULT_TEMPLATE`].
    fn default() -> Self {
        CardTemplate::new("the default card template", DEFAULT_TEMPLATE)
    }
}

impl CardTemplate {
    /// A template from its source; `name` names it in error messages.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Self {
        CardTemplate { name: name.into(), source: source.into() }
    }

    /// Reads a template file (UTF-8).
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read; [`Error::Input`] when it is not UTF-8.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = crate::memory::read_file(path, &path.display().to_string())?;
        let source = String::from_utf8(bytes).map_err(|e| {
            Error::input(
                Location::file(path.display().to_string()),
                format!("the template is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            )
        })?;
        Ok(CardTemplate::new(path.display().to_string(), source))
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template's source.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Attribute names and their categories as template values.
#[derive(Debug)]
struct Labels {
    names: Vec<String>,
    categories: Vec<Vec<Value>>,
}

/// A compiled template.
pub(crate) struct Cards {
    env: Environment<'static>,
    name: String,
    labels: Arc<Labels>,
    /// Whether cards can differ between persons with the same categories in a zone.
    per_person: bool,
}

/// Cards already rendered in a zone, by category codes.
pub(crate) type Cache = HashMap<Box<[u32]>, Arc<str>>;

impl Cards {
    /// Compiles `template` for persons of `domain`.
    pub(crate) fn new(template: &CardTemplate, domain: &Domain) -> Result<Self> {
        let mut env = environment();
        env.add_function("persona", persona);
        let per_person = compile(&mut env, template, &["person_id"])?;
        let labels = Labels {
            names: domain.attributes().iter().map(|a| a.name().to_string()).collect(),
            categories: domain
                .attributes()
                .iter()
                .map(|a| a.categories().iter().map(|c| Value::from(c.as_str())).collect())
                .collect(),
        };
        Ok(Cards { env, name: template.name.clone(), labels: Arc::new(labels), per_person })
    }

    /// An empty cache for a zone.
    pub(crate) fn cache(&self) -> Cache {
        Cache::new()
    }

    /// Renders the cards of consecutive persons of a zone: `codes` holds their category codes,
    /// `first` is the first one's number within the zone (or pool). Rendering runs in parallel;
    /// the result does not depend on the thread count.
    pub(crate) fn render(
        &self,
        domain: &Domain,
        zone: Option<&str>,
        first: u64,
        codes: &[u32],
        cache: &mut Cache,
    ) -> Result<Vec<Arc<str>>> {
        let k = domain.attributes().len();
        let persons = codes.len() / k.max(1);
        let person = |i: usize| &codes[i * k..(i + 1) * k];
        let zone_value = zone.map(Value::from);
        let one = |i: usize| self.render_one(person(i), first + i as u64, zone, zone_value.as_ref());
        if self.per_person {
            return (0..persons).into_par_iter().with_min_len(64).map(one).collect();
        }
        let mut cards: Vec<Option<Arc<str>>> = (0..persons).map(|i| cache.get(person(i)).cloned()).collect();
        let mut seen = HashSet::new();
        let missing: Vec<usize> = (0..persons).filter(|&i| cards[i].is_none() && seen.insert(person(i))).collect();
        if missing.is_empty() {
            return Ok(cards.into_iter().flatten().collect());
        }
        let rendered: Vec<Arc<str>> = missing.par_iter().with_min_len(16).map(|&i| one(i)).collect::<Result<_>>()?;
        if cache.len() + rendered.len() > CACHE_LIMIT {
            cache.clear();
        }
        for (&i, card) in missing.iter().zip(rendered) {
            cache.insert(person(i).into(), card);
        }
        for (i, card) in cards.iter_mut().enumerate() {
            if card.is_none() {
                *card = Some(cache[person(i)].clone());
            }
        }
        Ok(cards.into_iter().flatten().collect())
    }

    /// Whether cards can differ between persons with the same categories in a zone (the
    /// template reads `person_id`).
    pub(crate) fn per_person(&self) -> bool {
        self.per_person
    }

    /// Renders one card per kind, in parallel: `codes` holds the kinds' category codes one after
    /// the other, `numbers` the number of the person (within the zone) each kind was first seen at.
    pub(crate) fn render_kinds(
        &self,
        domain: &Domain,
        zone: Option<&str>,
        codes: &[u32],
        numbers: &[u64],
    ) -> Result<Vec<Arc<str>>> {
        let k = domain.attributes().len();
        let zone_value = zone.map(Value::from);
        let one = |(i, &number): (usize, &u64)| {
            self.render_one(&codes[i * k..(i + 1) * k], number, zone, zone_value.as_ref())
        };
        numbers.par_iter().enumerate().with_min_len(16).map(one).collect()
    }

    fn render_one(&self, codes: &[u32], k: u64, zone: Option<&str>, zone_value: Option<&Value>) -> Result<Arc<str>> {
        let person_id = match zone {
            Some(z) => Value::from(format!("{z}-{k}")),
            None => Value::from(k),
        };
        let context = Value::from_object(Context(Arc::new(Person {
            labels: self.labels.clone(),
            codes: codes.to_vec(),
            person_id,
            zone: zone_value.cloned(),
        })));
        let person = match zone {
            Some(z) => format!("{z}-{k}"),
            None => k.to_string(),
        };
        render(&self.env, &self.name, context, &person)
    }
}

/// A MiniJinja environment as cards render in: fuel-limited, undefined names rendering as
/// nothing, no escaping.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(CARD_FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

/// Adds `template` to `env`; whether it reads one of `ids` (or `debug`), so that cards can
/// differ between persons who are otherwise alike.
///
/// # Errors
/// [`Error::Input`] at the template's line for a syntax error.
pub(crate) fn compile(env: &mut Environment<'static>, template: &CardTemplate, ids: &[&str]) -> Result<bool> {
    env.add_template_owned(template.name.clone(), template.source.clone())
        .map_err(|e| template_error(&template.name, &e))?;
    let compiled = env.get_template(&template.name).map_err(|e| template_error(&template.name, &e))?;
    let used = compiled.undeclared_variables(false);
    Ok(ids.iter().chain(&["debug"]).any(|v| used.contains(*v)))
}

/// Renders template `name` of `env` with `context` into a card (within the fuel, allocation
/// and length limits, trimmed); `person` names the person in messages.
///
/// # Errors
/// [`Error::Input`] at the template's line, naming the person.
pub(crate) fn render(env: &Environment<'static>, name: &str, context: Value, person: &str) -> Result<Arc<str>> {
    let template = env.get_template(name).map_err(|e| template_error(name, &e))?;
    let mut text = Capped(Vec::new());
    let doing = |d: &mut String| {
        use std::fmt::Write;
        let _ = write!(d, "{name}: rendering the card of person {person}");
    };
    let rendered = crate::memory::with_budget(crate::memory::CARD_MAX_ALLOCATION, doing, || {
        template.render_captured_to(context, &mut text)
    });
    rendered.map(drop).map_err(|e| {
        let mut error = template_error(name, &e);
        if let Error::Input { message, .. } = &mut error {
            message.push_str(&format!(" (rendering the card of person {person})"));
        }
        error
    })?;
    let text = String::from_utf8_lossy(&text.0);
    Ok(Arc::from(text.trim()))
}

/// The most steps (MiniJinja's fuel: roughly one per instruction) a template may take to
/// render one card: a million, far more than a card needs and far less than a runaway loop
/// takes.
pub const CARD_FUEL: u64 = 1_000_000;

/// The longest card, in bytes: 1 MiB, far more than a prompt holds.
pub const CARD_MAX_BYTES: usize = 1 << 20;

/// A card's text, refused past [`CARD_MAX_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > CARD_MAX_BYTES {
            return Err(std::io::Error::other(CARD_TOO_LONG));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CARD_TOO_LONG: &str = "the card is longer than 1 MiB";

/// A MiniJinja error as a bad-input error at the template's file and line.
fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let mut location = Location::file(name);
    location.line = e.line().map(|l| l as u64);
    let message = match (e.kind(), e.detail()) {
        (minijinja::ErrorKind::OutOfFuel, _) => {
            format!("the template takes more than {CARD_FUEL} steps to render one card (a loop too long?)")
        }
        (minijinja::ErrorKind::WriteFailure, _) => format!("{CARD_TOO_LONG}, the limit of a card"),
        (kind, Some(detail)) => format!("template error: {kind}: {detail}"),
        (kind, None) => format!("template error: {kind}"),
    };
    Error::input(location, message)
}

/// One person as a template sees it.
#[derive(Debug)]
struct Person {
    labels: Arc<Labels>,
    codes: Vec<u32>,
    person_id: Value,
    zone: Option<Value>,
}

impl Person {
    fn attribute(&self, name: &str) -> Option<Value> {
        let a = self.labels.names.iter().position(|n| n == name)?;
        Some(self.labels.categories[a][self.codes[a] as usize].clone())
    }

    fn pairs(&self) -> impl Iterator<Item = (Value, Value)> + '_ {
        self.labels
            .names
            .iter()
            .zip(&self.codes)
            .zip(&self.labels.categories)
            .map(|((n, &c), cats)| (Value::from(n.as_str()), cats[c as usize].clone()))
    }
}

/// The template's root: `person_id`, `zone`, `attributes` and every attribute by name.
#[derive(Debug)]
struct Context(Arc<Person>);

impl Object for Context {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let person = &self.0;
        match key {
            "person_id" => Some(person.person_id.clone()),
            "zone" => person.zone.clone(),
            "attributes" => Some(Value::from_object(Attributes(person.clone()))),
            name => person.attribute(name),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let person = &self.0;
        let mut keys = vec![Value::from("person_id")];
        if person.zone.is_some() {
            keys.push(Value::from("zone"));
        }
        keys.push(Value::from("attributes"));
        keys.extend(person.labels.names.iter().map(|n| Value::from(n.as_str())));
        Enumerator::Values(keys)
    }
}

/// `attributes`: every attribute's category, in domain order.
#[derive(Debug)]
struct Attributes(Arc<Person>);

impl Object for Attributes {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.attribute(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let pairs: Vec<(Value, Value)> = self.0.pairs().collect();
        Enumerator::KeyValueIter(Box::new(pairs.into_iter()))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.codes.len())
    }
}

/// `persona(attributes)`: the description of [the module docs](self); without an argument,
/// of the template's `attributes`.
pub(crate) fn persona(state: &State, attributes: Option<Value>) -> String {
    let attributes = attributes.or_else(|| state.lookup("attributes")).unwrap_or(Value::UNDEFINED);
    describe(&pairs_of(&attributes))
}

/// The (name, value) pairs of a map value, undefined and none values left out.
pub(crate) fn pairs_of(attributes: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if let Ok(keys) = attributes.try_iter() {
        for key in keys {
            let value = attributes.get_item(&key).unwrap_or(Value::UNDEFINED);
            if value.is_undefined() || value.is_none() {
                continue;
            }
            pairs.push((key.to_string(), value.to_string()));
        }
    }
    pairs
}

/// How an age category reads.
enum Age {
    /// `34` → "34-year-old".
    Years(u32),
    /// `30-44` → "30-44-year-old".
    Range(u32, u32),
    /// `65+` → "aged 65 or older".
    AtLeast(u32),
}

impl Age {
    fn parse(value: &str) -> Option<Age> {
        let v = value.trim().to_lowercase();
        let number = |s: &str| s.trim().parse::<u32>().ok();
        if let Some(n) = number(&v) {
            return Some(Age::Years(n));
        }
        for suffix in ["+", " and over", " and older", " or older", " plus"] {
            if let Some(n) = v.strip_suffix(suffix).and_then(number) {
                return Some(Age::AtLeast(n));
            }
        }
        for separator in ["-", "–", " to "] {
            if let Some((lo, hi)) = v.split_once(separator) {
                if let (Some(lo), Some(hi)) = (number(lo), number(hi)) {
                    return Some(Age::Range(lo, hi));
                }
            }
        }
        None
    }

    fn child(&self) -> bool {
        match *self {
            Age::Years(n) | Age::Range(_, n) => n < 18,
            Age::AtLeast(_) => false,
        }
    }
}

/// "a" or "an" before a word or number, as it is spoken.
fn article(word: &str) -> &'static str {
    let lower = word.to_lowercase();
    let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
    let an = if digits.is_empty() {
        lower.starts_with(['a', 'e', 'i', 'o', 'u'])
    } else {
        // eight, eleven, eighteen, eighty…, eight hundred…, eleven hundred…
        digits.starts_with('8') || ((digits.len() == 2 || digits.len() == 4) && ["11", "18"].contains(&&digits[..2]))
    };
    if an {
        "an"
    } else {
        "a"
    }
}

fn normalized(name: &str) -> String {
    name.trim().to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect()
}

fn is_age(name: &str) -> bool {
    let n = normalized(name);
    n == "age" || n.starts_with("age_") || ["agegroup", "ageband", "agecat"].contains(&n.as_str())
}

fn is_sex(name: &str) -> bool {
    matches!(normalized(name).as_str(), "sex" | "gender")
}

/// How a person is named from (attribute, category) pairs: `a 30-44-year-old woman`, `a man
/// aged 65 or older`, `a person`; and the pairs that went into it.
pub(crate) struct Noun {
    /// The phrase, with its article.
    pub(crate) phrase: String,
    /// Whether an age or a sex went into it.
    pub(crate) known: bool,
    age_at: Option<usize>,
    sex_at: Option<usize>,
}

impl Noun {
    /// Whether pair `i` went into the phrase.
    pub(crate) fn uses(&self, i: usize) -> bool {
        Some(i) == self.age_at || Some(i) == self.sex_at
    }
}

/// The noun phrase of a person: see [`Noun`].
pub(crate) fn noun(pairs: &[(String, String)]) -> Noun {
    let age_at = pairs.iter().position(|(n, v)| is_age(n) && Age::parse(v).is_some());
    let sex_at = pairs.iter().position(|(n, _)| is_sex(n));
    let age = age_at.and_then(|i| Age::parse(&pairs[i].1));
    let sex = sex_at.map(|i| pairs[i].1.trim().to_lowercase());
    let child = age.as_ref().is_some_and(Age::child);
    let (noun, sex_known) = match (sex.as_deref(), child) {
        (Some("female" | "f" | "woman" | "women" | "girl"), false) => ("woman", true),
        (Some("female" | "f" | "woman" | "women" | "girl"), true) => ("girl", true),
        (Some("male" | "m" | "man" | "men" | "boy"), false) => ("man", true),
        (Some("male" | "m" | "man" | "men" | "boy"), true) => ("boy", true),
        (_, true) => ("child", false),
        (_, false) => ("person", false),
    };
    let phrase = match &age {
        Some(Age::Years(n)) => format!("{n}-year-old {noun}"),
        Some(Age::Range(lo, hi)) => format!("{lo}-{hi}-year-old {noun}"),
        Some(Age::AtLeast(n)) => format!("{noun} aged {n} or older"),
        None => noun.to_string(),
    };
    Noun {
        phrase: format!("{} {phrase}", article(&phrase)),
        known: age.is_some() || sex_known,
        age_at,
        sex_at: sex_at.filter(|_| sex_known),
    }
}

/// Whether a value says nothing: empty, `not applicable`, `n/a`, `na` or the missing category.
pub(crate) fn blank(value: &str) -> bool {
    let lower = value.trim().to_lowercase();
    lower.is_empty() || ["not applicable", "n/a", "na", CATEGORY].contains(&lower.as_str())
}

/// An attribute name as words: `income_band` → `income band`.
pub(crate) fn label(name: &str) -> String {
    name.trim().replace(['_', '-'], " ")
}

/// The person's description from (attribute, category) pairs.
pub(crate) fn describe(pairs: &[(String, String)]) -> String {
    let noun = noun(pairs);
    let mut sentences = vec![format!("You are {}.", noun.phrase)];
    for (i, (name, value)) in pairs.iter().enumerate() {
        let v = value.trim();
        let lower = v.to_lowercase();
        if noun.uses(i) || blank(v) {
            continue;
        }
        let label = label(name);
        let yes = matches!(lower.as_str(), "yes" | "true");
        let no = matches!(lower.as_str(), "no" | "false");
        let participle = label.len() > 3 && label.ends_with("ed") && label.chars().all(char::is_alphabetic);
        sentences.push(match (yes, no, participle) {
            (true, _, true) => format!("You are {label}."),
            (_, true, true) => format!("You are not {label}."),
            (true, _, false) | (_, true, false) => format!("{}: {lower}.", capitalized(&label)),
            _ => format!("Your {label} is {v}."),
        });
    }
    sentences.join(" ")
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{LoadOptions, Problem, Spec};

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn acs_persons_read_naturally() {
        let p = pairs(&[
            ("age_group", "30-44"),
            ("sex", "female"),
            ("race", "white"),
            ("education", "college"),
            ("income_band", "25000-49999"),
            ("married", "yes"),
        ]);
        assert_eq!(
            describe(&p),
            "You are a 30-44-year-old woman. Your race is white. Your education is college. \
             Your income band is 25000-49999. You are married."
        );
        let p = pairs(&[("age_group", "65+"), ("sex", "male"), ("employment", "not applicable"), ("married", "no")]);
        assert_eq!(describe(&p), "You are a man aged 65 or older. You are not married.");
        let p = pairs(&[("age_group", "0-17"), ("sex", "female"), ("income_band", "missing")]);
        assert_eq!(describe(&p), "You are a 0-17-year-old girl.");
        let p = pairs(&[("age_group", "0-17"), ("sex", "male")]);
        assert_eq!(describe(&p), "You are a 0-17-year-old boy.");
        let p = pairs(&[("age", "18-29"), ("gender", "non-binary")]);
        assert_eq!(describe(&p), "You are an 18-29-year-old person. Your gender is non-binary.");
        assert_eq!(describe(&pairs(&[("age", "8"), ("sex", "f")])), "You are an 8-year-old girl.");
    }

    #[test]
    fn unknown_attributes_fall_back_to_a_generic_description() {
        let p = pairs(&[("stype", "E"), ("sch_wide", "Yes"), ("awards", "No"), ("age_band", "senior")]);
        assert_eq!(
            describe(&p),
            "You are a person. Your stype is E. Sch wide: yes. Awards: no. Your age band is senior."
        );
        assert_eq!(describe(&[]), "You are a person.");
    }

    #[test]
    fn articles_follow_pronunciation() {
        for (word, a) in [("18-29", "an"), ("11", "an"), ("80", "an"), ("8", "an"), ("30-44", "a"), ("1800", "an")] {
            assert_eq!(article(word), a, "{word}");
        }
        assert_eq!(article("apple"), "an");
        assert_eq!(article("person"), "a");
    }

    fn domain() -> Domain {
        let spec = Spec::from_toml_str(
            "[attributes]\nage_group = [\"18-29\", \"65+\"]\nsex = [\"female\", \"male\"]\n[[margin]]\nfile = \"x.csv\"\n",
            "spec.toml",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), "age_group,sex,count\n18-29,female,1\n65+,male,1\n").unwrap();
        let mut spec = spec;
        spec.base = dir.path().to_path_buf();
        Problem::load(&spec, LoadOptions::default()).unwrap().domain
    }

    fn render(source: &str, zone: Option<&str>, codes: &[u32]) -> Result<Vec<Arc<str>>> {
        let domain = domain();
        let cards = Cards::new(&CardTemplate::new("t.j2", source), &domain)?;
        cards.render(&domain, zone, 1, codes, &mut cards.cache())
    }

    #[test]
    fn the_default_template_describes_the_person_and_the_zone() {
        let cards = render(DEFAULT_TEMPLATE, Some("north"), &[0, 0, 1, 1]).unwrap();
        assert_eq!(&*cards[0], "You are an 18-29-year-old woman. You live in north.");
        assert_eq!(&*cards[1], "You are a man aged 65 or older. You live in north.");
        let cards = render(DEFAULT_TEMPLATE, None, &[0, 0]).unwrap();
        assert_eq!(&*cards[0], "You are an 18-29-year-old woman.");
    }

    #[test]
    fn templates_see_attributes_ids_and_the_attribute_map() {
        let source = "{{ person_id }} {{ sex }} {% for n, v in attributes|items %}{{ n }}={{ v }};{% endfor %} {{ attributes['age_group'] }}";
        let cards = render(source, Some("z"), &[1, 1, 0, 0]).unwrap();
        assert_eq!(&*cards[0], "z-1 male age_group=65+;sex=male; 65+");
        assert_eq!(&*cards[1], "z-2 female age_group=18-29;sex=female; 18-29");
    }

    #[test]
    fn missing_names_render_as_nothing() {
        let source =
            "[{{ income }}][{{ income.band }}][{{ zone }}][{{ income | upper }}][{{ income | default('unknown') }}]";
        let cards = render(source, None, &[0, 0]).unwrap();
        assert_eq!(&*cards[0], "[][][][][unknown]");
    }

    #[test]
    fn template_errors_name_the_file_and_line() {
        let e = render("line one\n{{ sex | nosuchfilter }}", None, &[0, 0]).unwrap_err();
        let message = e.to_string();
        assert!(message.starts_with("t.j2, line 2: template error"), "{message}");
        let e = render("{% if %}", None, &[0, 0]).unwrap_err();
        assert!(e.to_string().starts_with("t.j2, line 1: template error: syntax error"), "{e}");
    }

    #[test]
    fn cached_and_per_person_cards_agree() {
        let codes = [0, 0, 1, 1, 0, 0];
        let cached = render("{{ sex }} {{ age_group }}", None, &codes).unwrap();
        let per_person = render("{{ sex }} {{ age_group }}{% if person_id > 100 %}!{% endif %}", None, &codes).unwrap();
        assert_eq!(cached, per_person);
        assert!(Arc::ptr_eq(&cached[0], &cached[2]));
    }
}
