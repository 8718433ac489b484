//! Attributes and their ordered categories: the axes of every table.

use std::collections::HashMap;

use crate::missing::CATEGORY;

/// One categorical attribute with its categories in order.
#[derive(Debug, Clone)]
pub struct Attribute {
    name: String,
    categories: Vec<String>,
    lookup: HashMap<String, u32>,
    declared: bool,
}

impl Attribute {
    fn new(name: &str, categories: &[String], declared: bool) -> Self {
        let mut a = Attribute { name: name.to_string(), categories: Vec::new(), lookup: HashMap::new(), declared };
        for c in categories {
            a.push(c.trim());
        }
        a
    }

    fn push(&mut self, category: &str) -> u32 {
        let code = self.categories.len() as u32;
        self.categories.push(category.to_string());
        self.lookup.insert(category.to_string(), code);
        code
    }

    /// The attribute's name (a column name in the input files).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Categories in order: declared order, else order of first appearance.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether the attribute has no categories (never true once loaded).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// Whether the categories were declared in the spec.
    pub fn is_declared(&self) -> bool {
        self.declared
    }

    /// The code of a category.
    pub fn code(&self, category: &str) -> Option<u32> {
        self.lookup.get(category).copied()
    }
}

/// The attributes of a problem, in order.
#[derive(Debug, Clone, Default)]
pub struct Domain {
    attributes: Vec<Attribute>,
}

impl Domain {
    /// Starts a domain from the spec's declared attributes.
    pub fn declared<'a>(declared: impl IntoIterator<Item = (&'a String, &'a Vec<String>)>) -> Self {
        Domain { attributes: declared.into_iter().map(|(n, c)| Attribute::new(n, c, true)).collect() }
    }

    /// All attributes, in order.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// One attribute by position.
    pub fn attribute(&self, index: usize) -> &Attribute {
        &self.attributes[index]
    }

    /// The position of an attribute by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.attributes.iter().position(|a| a.name == name)
    }

    /// The position of an attribute, adding it (undeclared, no categories yet) if new.
    pub fn intern(&mut self, name: &str) -> usize {
        match self.index_of(name) {
            Some(i) => i,
            None => {
                self.attributes.push(Attribute::new(name, &[], false));
                self.attributes.len() - 1
            }
        }
    }

    /// The code of `value` for attribute `index`. An undeclared attribute learns a new
    /// category when `learn` is true; otherwise an unknown value gives `None`.
    pub fn code_or_learn(&mut self, index: usize, value: &str, learn: bool) -> Option<u32> {
        let a = &mut self.attributes[index];
        match a.code(value) {
            Some(c) => Some(c),
            None if learn && !a.declared => Some(a.push(value)),
            None => None,
        }
    }

    /// The code of the category `missing` of attribute `index`, which is added (last) when the
    /// attribute lacks it, declared or not: a margin whose missing values are a category
    /// (`missing = "category"`) asks for it explicitly.
    pub fn missing_code(&mut self, index: usize) -> u32 {
        let a = &mut self.attributes[index];
        a.code(CATEGORY).unwrap_or_else(|| a.push(CATEGORY))
    }

    /// Number of categories of each attribute in `attributes`.
    pub fn sizes(&self, attributes: &[usize]) -> Vec<usize> {
        attributes.iter().map(|&i| self.attributes[i].len()).collect()
    }

    /// Number of categories of every attribute, in domain order.
    pub fn all_sizes(&self) -> Vec<usize> {
        self.attributes.iter().map(Attribute::len).collect()
    }

    /// Number of cells of the cross-table of `attributes`, or `None` on overflow.
    pub fn cells(&self, attributes: &[usize]) -> Option<u64> {
        attributes.iter().try_fold(1u64, |acc, &i| acc.checked_mul(self.attributes[i].len() as u64))
    }

    /// Labels a cell of the cross-table of `attributes` given its codes: `age=18-29, sex=male`.
    pub fn label(&self, attributes: &[usize], codes: &[u32]) -> String {
        attributes
            .iter()
            .zip(codes)
            .map(|(&a, &c)| format!("{}={}", self.attributes[a].name, self.attributes[a].categories[c as usize]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
