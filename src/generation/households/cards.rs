//! Persona cards of synthetic persons that see their household: a MiniJinja template (as for
//! persona pools, [`crate::generation::cards`]) rendered per person.
//!
//! **What a template sees.** Every person column by name, `attributes` (the person columns in
//! order, a map), `person_id`, `household_id`, `role` (with `[persons] role`: the label of the
//! person's role, or its value as it is) and `household`: `size`, `attributes` (the household
//! columns, a map), `zones` (each geography level's zone, top level first, a map) and
//! `members`, the *other* persons of the household, each with its columns by name,
//! `attributes` and `role`. `persona()` describes the person (without the role column);
//! `home()` the household: the person's role, the others (by age and sex where the columns say
//! them, with their roles), the household columns (but the design weight) and the zones,
//! lowest first. Names a template uses that do not exist render as nothing.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Environment, State, Value};

use crate::error::Result;
use crate::generation::cards::{blank, compile, describe, environment, label, noun, pairs_of, persona, render};
use crate::generation::CardTemplate;

/// The default card template of households' persons.
pub const DEFAULT_HOUSEHOLD_TEMPLATE: &str = "{{ persona() }} {{ home() }}";

/// A compiled household card template.
pub(crate) struct HouseholdCards {
    env: Environment<'static>,
    name: String,
    /// Whether cards differ between copies of the same household in a zone (the template
    /// reads an id).
    pub(crate) per_person: bool,
}

impl HouseholdCards {
    /// Compiles `template`; `role` is the role column's name (left out of `persona()`),
    /// `weight` the design weight column's (left out of `home()`).
    pub(crate) fn new(template: &CardTemplate, role: Option<&str>, weight: &str) -> Result<HouseholdCards> {
        let mut env = environment();
        let role = role.map(str::to_string);
        env.add_function("persona", move |state: &State, attributes: Option<Value>| match attributes {
            Some(a) => persona(state, Some(a)),
            None => {
                let attributes = state.lookup("attributes").unwrap_or(Value::UNDEFINED);
                let mut pairs = pairs_of(&attributes);
                pairs.retain(|(n, _)| Some(n) != role.as_ref());
                describe(&pairs)
            }
        });
        let weight = weight.to_string();
        env.add_function("home", move |state: &State| {
            let household = state.lookup("household").unwrap_or(Value::UNDEFINED);
            household.downcast_object_ref::<HouseholdOf>().map_or_else(String::new, |h| h.describe(&weight))
        });
        let per_person = compile(&mut env, template, &["person_id", "household_id"])?;
        Ok(HouseholdCards { env, name: template.name().to_string(), per_person })
    }

    /// The card of member `me` of `home`, whose ids are `household_id` and `person_id`.
    ///
    /// # Errors
    /// [`crate::Error::Input`] at the template's line, naming the person.
    pub(crate) fn render(&self, home: &Arc<Home>, me: usize, household_id: &str, person_id: &str) -> Result<Arc<str>> {
        let context = Value::from_object(Card {
            household: Arc::new(HouseholdOf { home: home.clone(), me }),
            household_id: Value::from(household_id),
            person_id: Value::from(person_id),
        });
        render(&self.env, &self.name, context, person_id)
    }
}

/// Named values in order: a map to templates.
#[derive(Debug)]
pub(crate) struct Pairs(pub(crate) Vec<(Value, Value)>);

impl Pairs {
    /// From (name, value) text pairs.
    pub(crate) fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Pairs {
        Pairs(pairs.into_iter().map(|(n, v)| (Value::from(n), Value::from(v))).collect())
    }

    fn get(&self, key: &str) -> Option<Value> {
        self.0.iter().find(|(n, _)| n.as_str() == Some(key)).map(|(_, v)| v.clone())
    }

    fn text(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }
}

impl Object for Pairs {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::KeyValueIter(Box::new(self.0.clone().into_iter()))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// One person of a household: columns and role.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) attributes: Arc<Pairs>,
    pub(crate) role: Option<Value>,
}

impl Member {
    fn lookup(&self, key: &str) -> Option<Value> {
        match key {
            "attributes" => Some(Value::from_dyn_object(self.attributes.clone())),
            "role" => self.role.clone(),
            name => self.attributes.get(name),
        }
    }

    /// `a 36-year-old man (spouse)`; whether anything is known of the member.
    fn phrase(&self) -> (String, bool) {
        let noun = noun(&self.attributes.text());
        let role = self.role.as_ref().map(Value::to_string).filter(|r| !blank(r));
        match role {
            Some(r) => (format!("{} ({r})", noun.phrase), true),
            None => (noun.phrase, noun.known),
        }
    }
}

impl Object for Member {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.lookup(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys = vec![Value::from("attributes")];
        if self.role.is_some() {
            keys.push(Value::from("role"));
        }
        keys.extend(self.attributes.0.iter().map(|(n, _)| n.clone()));
        Enumerator::Values(keys)
    }
}

/// A synthetic household as its cards see it.
#[derive(Debug)]
pub(crate) struct Home {
    pub(crate) members: Vec<Arc<Member>>,
    /// The household columns.
    pub(crate) attributes: Arc<Pairs>,
    /// Each level's zone, top level first.
    pub(crate) zones: Arc<Pairs>,
}

/// `household` in the card of member `me`.
#[derive(Debug)]
struct HouseholdOf {
    home: Arc<Home>,
    me: usize,
}

impl HouseholdOf {
    /// `home()`: the role, the others, the household columns but `weight`, the zones.
    fn describe(&self, weight: &str) -> String {
        let home = &self.home;
        let mut sentences = Vec::new();
        if let Some(role) = home.members[self.me].role.as_ref().map(Value::to_string).filter(|r| !blank(r)) {
            sentences.push(format!("Your role in the household: {role}."));
        }
        let others: Vec<(String, bool)> =
            (0..home.members.len()).filter(|&i| i != self.me).map(|i| home.members[i].phrase()).collect();
        let with = match others.len() {
            0 => "You live alone".to_string(),
            1 => "You live with one other person".to_string(),
            n => format!("You live with {n} others"),
        };
        if others.iter().any(|(_, known)| *known) {
            let phrases: Vec<&str> = others.iter().map(|(p, _)| p.as_str()).collect();
            let list = match phrases.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => phrases.join(""),
            };
            sentences.push(format!("{with}: {list}."));
        } else {
            sentences.push(format!("{with}."));
        }
        let columns: Vec<String> = home
            .attributes
            .text()
            .into_iter()
            .filter(|(n, v)| n != weight && !blank(v))
            .map(|(n, v)| format!("{} {}", label(&n), v.trim()))
            .collect();
        if !columns.is_empty() {
            sentences.push(format!("Household: {}.", columns.join(", ")));
        }
        let zones: Vec<String> =
            home.zones.text().into_iter().rev().map(|(level, zone)| format!("{level} {zone}")).collect();
        if !zones.is_empty() {
            sentences.push(format!("You live in {}.", zones.join(", ")));
        }
        sentences.join(" ")
    }
}

impl Object for HouseholdOf {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let home = &self.home;
        match key.as_str()? {
            "size" => Some(Value::from(home.members.len())),
            "attributes" => Some(Value::from_dyn_object(home.attributes.clone())),
            "zones" => Some(Value::from_dyn_object(home.zones.clone())),
            "members" => Some(Value::from(
                (0..home.members.len())
                    .filter(|&i| i != self.me)
                    .map(|i| Value::from_dyn_object(home.members[i].clone()))
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["size", "attributes", "zones", "members"])
    }
}

/// The template's root: the person's columns, `attributes`, `role`, the ids and `household`.
#[derive(Debug)]
struct Card {
    household: Arc<HouseholdOf>,
    household_id: Value,
    person_id: Value,
}

impl Object for Card {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "household" => Some(Value::from_dyn_object(self.household.clone())),
            "household_id" => Some(self.household_id.clone()),
            "person_id" => Some(self.person_id.clone()),
            name => self.household.home.members[self.household.me].lookup(name),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let me = &self.household.home.members[self.household.me];
        let mut keys: Vec<Value> = ["person_id", "household_id", "household"].into_iter().map(Value::from).collect();
        if let Enumerator::Values(more) = Object::enumerate(me) {
            keys.extend(more);
        }
        Enumerator::Values(keys)
    }
}
