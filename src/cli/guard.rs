//! A command never writes over a file it reads: before any work, every output path is compared
//! with every input path, both resolved (symbolic links and `..` followed), and a collision is
//! a usage error naming both roles.

use std::path::{Path, PathBuf};

use populace::inputs::Spec;

/// The command line asks for something that cannot be done as asked: exit 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The files a command reads and the ones it writes, each with its role.
#[derive(Default)]
pub struct Files {
    inputs: Vec<(String, PathBuf)>,
    outputs: Vec<(String, PathBuf)>,
    folders: Vec<(String, PathBuf, Vec<&'static str>)>,
}

impl Files {
    /// Reads `path` as `role` ("the seed", "margin age.csv").
    pub fn input(mut self, role: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.inputs.push((role.into(), path.into()));
        self
    }

    /// Reads every file of the fit spec at `path`: the spec, its seed, margins and zone map.
    pub fn fit_spec(self, path: &Path, spec: &Spec) -> Self {
        let mut files = self.input("the spec", path);
        if let Some(seed) = &spec.seed {
            files = files.input("the seed", spec.resolve(&seed.file));
        }
        for m in &spec.margins {
            files = files.input("a margin", spec.resolve(&m.file));
        }
        if let Some(map) = spec.zones.as_ref().and_then(|z| z.map.as_ref()) {
            files = files.input("the zone map", spec.resolve(map));
        }
        files
    }

    /// Writes `path` as `role` ("--out").
    pub fn output(mut self, role: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.outputs.push((role.into(), path.into()));
        self
    }

    /// Writes the files `names` in the folder `dir`, and in its zone folders (`DIR/zone=ID/`),
    /// as `role`.
    pub fn output_folder(mut self, role: &str, dir: &Path, names: &[&'static str]) -> Self {
        self.folders.push((role.to_string(), dir.to_path_buf(), names.to_vec()));
        self
    }

    /// A usage error when an output is an input.
    pub fn check(&self) -> Result<(), Usage> {
        let inputs: Vec<(&str, &Path, PathBuf)> = self
            .inputs
            .iter()
            .filter_map(|(role, path)| Some((role.as_str(), path.as_path(), path.canonicalize().ok()?)))
            .collect();
        let mut outputs: Vec<(&str, PathBuf)> = self.outputs.iter().map(|(r, p)| (r.as_str(), p.clone())).collect();
        for (role, dir, names) in &self.folders {
            outputs.extend(names.iter().map(|n| (role.as_str(), dir.join(n))));
            // an input DIR/zone=ID/NAME
            for (_, _, input) in &inputs {
                let (Some(zone), Some(name)) = (input.parent().and_then(Path::file_name), input.file_name()) else {
                    continue;
                };
                if zone.to_string_lossy().starts_with("zone=") && names.iter().any(|n| name == *n) {
                    outputs.push((role.as_str(), dir.join(zone).join(name)));
                }
            }
        }
        for (out_role, out) in &outputs {
            let Some(resolved) = resolve(out) else { continue };
            if let Some((in_role, input, _)) = inputs.iter().find(|(_, _, p)| *p == resolved) {
                return Err(Usage(format!(
                    "{out_role} {} is {in_role} {}: populace never writes over a file it reads; \
                     choose another output",
                    out.display(),
                    input.display()
                )));
            }
        }
        Ok(())
    }
}

/// Where `path` is or would be: its canonical path, or its folder's and its name when it does
/// not exist yet; `None` when its folder does not exist either (then it is no input).
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.canonicalize().ok().map(|p| p.join(name))
}

/// A usage error unless `path` ends in `.extension` (any case), as the format it is written in.
pub fn extension(role: &str, path: &Path, extension: &str) -> Result<(), Usage> {
    match path.extension() {
        Some(e) if e.to_string_lossy().eq_ignore_ascii_case(extension) => Ok(()),
        _ => Err(Usage(format!(
            "{role} {} must end in .{extension}: it is written as {}",
            path.display(),
            extension.to_uppercase()
        ))),
    }
}
