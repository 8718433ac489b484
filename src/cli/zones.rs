//! The zone options shared by `populace fit` and `populace generate`: `--shard I/N` and
//! `--zones FILE`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::error::Location;
use populace::inputs::{Selection, Shard};
use populace::memory::read_input;

/// The longest zone list read: 256 MiB, ten million ids of 25 characters.
const MAX_LIST_BYTES: u64 = 256 << 20;

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
        let (source, file) = if path.as_os_str() == "-" {
            ("stdin".to_string(), None)
        } else {
            let file = std::fs::File::open(path).map_err(|e| populace::Error::read(path, e))?;
            (path.display().to_string(), Some(file))
        };
        let reader: Box<dyn Read> = match file {
            Some(file) => Box::new(file),
            None => Box::new(std::io::stdin()),
        };
        let bytes = read_input(reader.take(MAX_LIST_BYTES + 1), None, &source)?;
        if bytes.len() as u64 > MAX_LIST_BYTES {
            return Err(populace::Error::input(
                Location::file(source.as_str()),
                format!(
                    "the zone list is longer than {} MiB, the most populace reads (an endless input, such as `yes`?)",
                    MAX_LIST_BYTES >> 20
                ),
            )
            .into());
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            populace::Error::input(
                Location::file(source.as_str()),
                format!("the zone list is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            )
        })?;
        Ok(Some(Selection::Listed { source, text }))
    }
}
