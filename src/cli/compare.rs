//! `populace compare --truth TRUTH POOL [POOL …]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::binning::read_bins;
use populace::comparison::{compare, CompareOptions, ReadOptions, Table};
use populace::missing::{MissingPolicy, MissingValues};

use super::emit;
use super::exit;
use super::guard::{extension, Files};

/// Compare persona pools with a truth population.
///
/// For every pool: SRMSE, TAE and Hellinger distance on every 1-, 2- and 3-way margin and on the
/// full joint (the pool scaled to the truth's total first), Cramér's V of every attribute pair
/// in truth and pool, and the share of the pool's persons in cells the truth has none of.
/// Compared attributes: --attributes, else the truth's columns found in every pool, except
/// person_id, zone, card, id, count, weight, *_id, *_weight, and columns with more than 50
/// distinct values or an id's all-distinct values in the truth.
///
/// Missing values (empty, NA, N/A, NaN, NULL and . unless --missing-values says otherwise) are
/// the category "missing" of their attribute, or, with --missing drop, their rows are left out;
/// each table's are counted on stderr and in the JSON. A category that the truth has and a pool
/// lacks, or the other way round, is named in a warning.
#[derive(Args)]
#[command(
    after_help = "Example:\n  populace compare --truth marginals/acs2012/persons.csv out/naive.csv out/calibrated.csv \
                        --plot out/compare.svg\n\n\
                        Exit codes: 0 ok, 1 the plot could not be written, 2 usage, 3 bad input."
)]
pub struct CompareArgs {
    /// The truth: microdata (one row per person) or a count table (one row per cell).
    #[arg(long, value_name = "TRUTH.csv")]
    truth: PathBuf,
    /// Pools to compare: persona pools, microdata or count tables.
    #[arg(required = true, value_name = "POOL.csv")]
    pools: Vec<PathBuf>,
    /// Attributes to compare, comma-separated (default: the shared categorical columns).
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    attributes: Option<Vec<String>>,
    /// Name of the count column of count tables [default: count]; when given, the truth must
    /// have it.
    #[arg(long, value_name = "NAME")]
    count: Option<String>,
    /// Design-weight column of truth microdata (every row weighs 1 without it).
    #[arg(long, value_name = "NAME")]
    weight: Option<String>,
    /// What a missing value becomes, in the truth and the pools: the category "missing", or
    /// its row is left out.
    #[arg(long, value_name = "POLICY", default_value = "category", value_parser = ["category", "drop"])]
    missing: String,
    /// The values read as missing, comma-separated, replacing the default set (empty, NA, N/A,
    /// NaN, NULL, .); an empty item is the empty field: --missing-values ",NA,-9".
    #[arg(long, value_delimiter = ',', value_name = "V,V,…", allow_hyphen_values = true, num_args = 1)]
    missing_values: Option<Vec<String>>,
    /// A fit or experiment spec whose binned attributes ([attributes.NAME] with from, breaks,
    /// labels) bin the numeric columns of the truth and the pools: a truth with numeric ages
    /// compares with pools of age bands.
    #[arg(long, value_name = "SPEC.toml")]
    bins: Option<PathBuf>,
    /// Print the comparison as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write an SVG chart: SRMSE by margin order, and |ΔV| heat maps per pool.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Print nothing but errors and warnings (and the JSON with --json).
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: CompareArgs) -> Result<i32> {
    let mut files = Files::default().input("the truth", &args.truth);
    for pool in &args.pools {
        files = files.input("a pool", pool);
    }
    if let Some(spec) = &args.bins {
        files = files.input("the --bins spec", spec);
    }
    if let Some(plot) = &args.plot {
        extension("--plot", plot, "svg")?;
        files.output("--plot", plot).check()?;
    }
    let mut pool_options = ReadOptions::default();
    if let Some(values) = &args.missing_values {
        pool_options = pool_options.missing_values(MissingValues::new(values));
    }
    if let Some(count) = &args.count {
        pool_options = pool_options.count(count);
    }
    if let Some(spec) = &args.bins {
        pool_options = pool_options.bins(read_bins(spec)?);
    }
    // a count column the user named must be in the truth
    let mut truth_options = pool_options.clone().count_required(args.count.is_some());
    if let Some(weight) = args.weight {
        truth_options = truth_options.weight(weight);
    }
    let truth = Table::read(&args.truth, &truth_options)?;
    let pools = args.pools.iter().map(|p| Table::read(p, &pool_options)).collect::<populace::Result<Vec<_>>>()?;
    let policy: MissingPolicy = args.missing.parse().map_err(anyhow::Error::msg)?;
    let mut options = CompareOptions::default().missing(policy);
    if let Some(attributes) = args.attributes {
        options = options.attributes(attributes.iter().map(|s| s.trim()));
    }
    let comparison = compare(&truth, &pools, &options)?;
    if !args.quiet {
        for note in &comparison.notes {
            eprintln!("note: {note}");
        }
    }
    super::note_missing(std::iter::once(&comparison.truth.missing).chain(comparison.pools.iter().map(|p| &p.missing)));
    for warning in &comparison.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(plot) = &args.plot {
        comparison.write_svg(plot)?;
    }
    if args.json {
        emit(&serde_json::to_string_pretty(&comparison)?);
    } else if !args.quiet {
        let mut text = comparison.table();
        if let Some(plot) = &args.plot {
            text.push_str(&format!("\nwrote {}", plot.display()));
        }
        emit(&text);
    }
    Ok(exit::OK)
}
