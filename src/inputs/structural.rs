//! Structural zeros: combinations of categories that cannot exist (a child who is married, a
//! retiree in school), declared by `[[structural_zero]]` rules. No fill, no prior and no
//! generated person ever lands in one.

use super::domain::Domain;
use crate::error::{Error, Location, Result};

/// One rule: the cells whose category of every named attribute is among the listed ones.
///
/// ```
/// use populace::inputs::{Csv, MarginInput, Problem};
///
/// let problem = Problem::builder()
///     .margin(MarginInput::csv(Csv::text("age_married.csv", "age,married,count\nchild,no,20\nadult,no,30\nadult,yes,50\n")))
///     .structural_zero([("age", ["child"]), ("married", ["yes"])])
///     .build()?;
/// let rule = &problem.structural_zeros[0];
/// assert!(rule.contains(&[0, 1]) && !rule.contains(&[1, 1])); // (child, yes) cannot exist
/// assert_eq!(rule.to_string(), "age = child, married = yes");
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuralZero {
    /// (domain position, whether each of its categories is named), per attribute of the rule.
    conditions: Vec<(usize, Vec<bool>)>,
    /// The rule as written, for messages.
    text: String,
}

impl StructuralZero {
    /// The rule `conditions` (attribute name, categories), resolved against `domain`; `rule`
    /// names it in messages (`[[structural_zero]] 2`, say).
    pub(crate) fn new(
        domain: &Domain,
        conditions: &[(String, Vec<String>)],
        rule: &Location,
    ) -> Result<StructuralZero> {
        if conditions.is_empty() {
            return Err(Error::input(rule.clone(), "a structural zero names no attribute"));
        }
        let mut resolved = Vec::with_capacity(conditions.len());
        let mut text = Vec::with_capacity(conditions.len());
        for (name, categories) in conditions {
            let index = domain.index_of(name).ok_or_else(|| {
                let known: Vec<&str> = domain.attributes().iter().map(|a| a.name()).collect();
                Error::input(
                    rule.clone(),
                    format!("structural zero: unknown attribute \"{name}\"; the attributes are {}", known.join(", ")),
                )
            })?;
            let attribute = domain.attribute(index);
            if categories.is_empty() {
                return Err(Error::input(rule.clone(), format!("structural zero: {name} lists no category")));
            }
            let mut named = vec![false; attribute.len()];
            for c in categories {
                let code = attribute.code(c.trim()).ok_or_else(|| {
                    Error::input(
                        rule.clone(),
                        format!(
                            "structural zero: \"{}\" is not a category of {name}: {}",
                            c.escape_debug(),
                            attribute.categories().join(", ")
                        ),
                    )
                })?;
                named[code as usize] = true;
            }
            if resolved.iter().any(|(i, _)| *i == index) {
                return Err(Error::input(rule.clone(), format!("structural zero: {name} is named twice")));
            }
            resolved.push((index, named));
            text.push(format!("{name} = {}", categories.iter().map(|c| c.trim()).collect::<Vec<_>>().join(" | ")));
        }
        Ok(StructuralZero { conditions: resolved, text: text.join(", ") })
    }

    /// Whether the cell whose category codes, one per attribute of the domain in order, are
    /// `codes` is in this structural zero.
    pub fn contains(&self, codes: &[u32]) -> bool {
        self.conditions.iter().all(|(a, named)| named[codes[*a] as usize])
    }

    /// A mask over the dense joint of every attribute (row-major, the last fastest, of sizes
    /// `sizes`): `true` where any of `rules` holds.
    pub fn mask(rules: &[StructuralZero], sizes: &[usize]) -> Vec<bool> {
        let cells: usize = sizes.iter().product();
        let mut mask = vec![false; cells];
        if rules.is_empty() {
            return mask;
        }
        let mut codes = vec![0u32; sizes.len()];
        for cell in &mut mask {
            *cell = rules.iter().any(|r| r.contains(&codes));
            for (code, &size) in codes.iter_mut().zip(sizes).rev() {
                *code += 1;
                if (*code as usize) < size {
                    break;
                }
                *code = 0;
            }
        }
        mask
    }
}

impl std::fmt::Display for StructuralZero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> Domain {
        let declared: Vec<(String, Vec<String>)> = vec![
            ("age".into(), vec!["child".into(), "adult".into(), "old".into()]),
            ("married".into(), vec!["no".into(), "yes".into()]),
        ];
        Domain::declared(declared.iter().map(|(n, c)| (n, c)))
    }

    fn rule(conditions: &[(&str, &[&str])]) -> Result<StructuralZero> {
        let conditions: Vec<(String, Vec<String>)> =
            conditions.iter().map(|(n, c)| (n.to_string(), c.iter().map(|c| c.to_string()).collect())).collect();
        StructuralZero::new(&domain(), &conditions, &Location::file("rule 1"))
    }

    #[test]
    fn a_rule_masks_every_cell_it_names_and_no_other() {
        let r = rule(&[("age", &["child"]), ("married", &["yes"])]).unwrap();
        assert_eq!(StructuralZero::mask(std::slice::from_ref(&r), &[3, 2]), [false, true, false, false, false, false]);
        let wide = rule(&[("married", &["yes"]), ("age", &["child", "old"])]).unwrap();
        assert_eq!(StructuralZero::mask(&[wide], &[3, 2]), [false, true, false, false, false, true]);
        assert!(StructuralZero::mask(&[], &[3, 2]).iter().all(|&m| !m));
    }

    #[test]
    fn rules_that_cannot_be_resolved_say_why() {
        let m = |r: Result<StructuralZero>| r.unwrap_err().to_string();
        assert!(m(rule(&[])).contains("names no attribute"));
        assert!(m(rule(&[("sex", &["f"])])).contains("unknown attribute \"sex\"; the attributes are age, married"));
        assert!(m(rule(&[("age", &["baby"])])).contains("\"baby\" is not a category of age: child, adult, old"));
        assert!(m(rule(&[("age", &[])])).contains("lists no category"));
        assert!(m(rule(&[("age", &["child"]), ("age", &["old"])])).contains("named twice"));
    }
}
