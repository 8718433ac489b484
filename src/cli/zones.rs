//! The zone options shared by `populace fit` and `populace generate`: `--shard I/N` and
//! `--zones FILE`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::error::Location;
use populace::inputs::{Selection, Shard};

/// The zones of a sharded run (`populace fit` and `populace generate`).
#[derive(Args)]
pub struct ZoneArgs {
    /// Only shard I of N (1-based): the zone at position k (0-based, in the order the zones
    /// first appear in the margin files) is in shard k mod N + 1. Implies per-zone output.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, conflicts_with = "zones")]
    shard: Option<Shard>,
    /// Only the zones listed in FILE, one id per line (`-`: stdin). Implies per-zone output.
    #[arg(long, value_name = "FILE")]
    zones: Option<PathBuf>,
}

fn parse_shard(s: &str) -> std::result::Result<Shard, String> {
    s.parse()
}

impl ZoneArgs {
    /// The zones asked for, `None` for all; reads the list (stdin for `-`).
    pub fn selection(&self) -> Result<Option<Selection>> {
        if let Some(shard) = self.shard {
            return Ok(Some(Selection::Shard(shard)));
        }
        let Some(path) = &self.zones else { return Ok(None) };
        let (source, bytes) = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .map_err(|e| populace::Error::read("stdin", e))?;
            ("stdin".to_string(), bytes)
        } else {
            (path.display().to_string(), std::fs::read(path).map_err(|e| populace::Error::read(path, e))?)
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            populace::Error::input(
                Location::file(source.as_str()),
                format!("the zone list is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            )
        })?;
        Ok(Some(Selection::Listed { source, text }))
    }
}
