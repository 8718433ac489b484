//! The report of `populace demo`: one self-contained HTML file (inline SVG and CSS) and the
//! same content in Markdown with the SVGs as files beside it, both rendered from one
//! [`Report`] through MiniJinja templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Value};
use serde::Serialize;

use populace::error::Result;
use populace::reports::write_atomic;

const HTML: &str = include_str!("templates/demo.html");
const MARKDOWN: &str = include_str!("templates/demo.md");

/// A report: a title, an introduction, the headline findings and the sections.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The page title.
    pub title: String,
    /// Introductory paragraphs.
    pub intro: Vec<String>,
    /// The headline findings, one sentence each.
    pub findings: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// Closing paragraphs (settings, timing, how to rerun).
    pub footer: Vec<String>,
}

/// One section: its text, the decision rule it applies, and figures with their tables.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Anchor id (letters, digits and dashes).
    pub id: String,
    /// Heading.
    pub title: String,
    /// Paragraphs before the blocks.
    pub text: Vec<String>,
    /// How the numbers are read: the decision rule, stated.
    pub rule: Option<String>,
    /// Figures and tables.
    pub blocks: Vec<Block>,
}

/// A sub-heading with a figure and the table of the numbers behind it (each optional).
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    /// Sub-heading.
    pub heading: Option<String>,
    /// A figure.
    pub figure: Option<Figure>,
    /// The numbers behind the figure.
    pub table: Option<DataTable>,
    /// A note below.
    pub note: Option<String>,
}

/// An SVG figure: inlined in the HTML, linked as `file` from the Markdown.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// File name relative to the report's folder (`figures/NAME.svg`).
    pub file: String,
    /// The SVG document.
    pub svg: String,
    /// Caption (and the image's alternative text).
    pub caption: String,
}

/// A table of formatted cells; the first column is a label.
#[derive(Debug, Clone, Serialize)]
pub struct DataTable {
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Report {
    /// The self-contained HTML page.
    pub fn html(&self) -> std::result::Result<String, minijinja::Error> {
        environment()?.get_template("demo.html")?.render(self.context())
    }

    /// The Markdown page; figures are linked by their `file`.
    pub fn markdown(&self) -> std::result::Result<String, minijinja::Error> {
        environment()?.get_template("demo.md")?.render(self.context())
    }

    /// The template context: the report as a MiniJinja value.
    fn context(&self) -> Value {
        to_value(&serde_json::to_value(self).unwrap_or_default())
    }

    /// Writes `DIR/report.html`, `DIR/report.md` and every figure under `DIR`, each
    /// atomically; returns the paths of the HTML and the Markdown file.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        for figure in self.sections.iter().flat_map(|s| &s.blocks).filter_map(|b| b.figure.as_ref()) {
            let path = dir.join(&figure.file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| populace::Error::write(parent, e))?;
            }
            write_atomic(&path, |w| w.write_all(figure.svg.as_bytes()))?;
        }
        let html = dir.join("report.html");
        let markdown = dir.join("report.md");
        write_atomic(&html, |w| w.write_all(self.html().map_err(std::io::Error::other)?.as_bytes()))?;
        write_atomic(&markdown, |w| w.write_all(self.markdown().map_err(std::io::Error::other)?.as_bytes()))?;
        Ok((html, markdown))
    }
}

/// A JSON value as a MiniJinja value.
fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => n.as_i64().map_or_else(|| Value::from(n.as_f64().unwrap_or(f64::NAN)), Value::from),
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(o) => Value::from(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect::<BTreeMap<_, _>>()),
    }
}

fn environment() -> std::result::Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    // A Markdown table cell: pipes escaped, line breaks as spaces.
    env.add_filter("cell", |s: String| s.replace('|', "\\|").replace('\n', " "));
    // An inline SVG without its fixed pixel size, so that CSS can scale it to the page.
    env.add_filter("scalable", |s: String| match s.find("<svg ") {
        Some(at) => {
            let head_end = s[at..].find('>').map_or(s.len(), |e| at + e);
            let head =
                s[at..head_end].replacen(" width=\"", " data-width=\"", 1).replacen(" height=\"", " data-height=\"", 1);
            format!("{}{}{}", &s[..at], head, &s[head_end..])
        }
        None => s,
    });
    env.add_template("demo.html", HTML)?;
    env.add_template("demo.md", MARKDOWN)?;
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            title: "T".into(),
            intro: vec!["a <b> & c".into()],
            findings: vec!["one".into()],
            sections: vec![Section {
                id: "s".into(),
                title: "S".into(),
                text: vec![],
                rule: Some("rule".into()),
                blocks: vec![Block {
                    heading: None,
                    figure: Some(Figure {
                        file: "figures/s.svg".into(),
                        svg: "<svg width=\"10\" height=\"5\" viewBox=\"0 0 10 5\"></svg>".into(),
                        caption: "cap".into(),
                    }),
                    table: Some(DataTable {
                        header: vec!["x".into(), "|y|".into()],
                        rows: vec![vec!["1".into(), "2".into()], vec!["3".into(), "4".into()]],
                    }),
                    note: None,
                }],
            }],
            footer: vec![],
        }
    }

    #[test]
    fn html_inlines_scalable_svg_and_escapes_text() {
        let html = report().html().unwrap();
        assert!(html.contains("<svg data-width=\"10\" data-height=\"5\" viewBox"), "{html}");
        assert!(html.contains("a &lt;b&gt; &amp; c"));
        assert!(html.contains("<td>2</td>"));
    }

    #[test]
    fn markdown_links_figures_and_escapes_pipes() {
        let md = report().markdown().unwrap();
        assert!(md.contains("![cap](figures/s.svg)"), "{md}");
        // a table's lines follow each other: a blank line would end the table
        assert!(md.contains("| x | \\|y\\| |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n"), "{md}");
    }
}
