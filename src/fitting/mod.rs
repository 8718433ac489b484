//! Fitting a dense joint table to margins: iterative proportional fitting on the table ([`Ipf`]),
//! on the margins' cliques ([`FactoredIpf`], a junction tree), and [`fit_dense`], which picks one
//! for a [`Problem`](crate::inputs::Problem). Each method is a [`Solver`](crate::iteration::Solver)
//! driven by a [`Runner`](crate::iteration::Runner). The fitted joint is a [`Table`], summed onto
//! any of its attributes by [`Table::marginal`] (by domain position) or [`DenseFit::marginal`]
//! (by name).
//!
//! ```
//! use populace::fitting::Ipf;
//! use populace::iteration::{Runner, Stopping};
//! // a 2×2 table raked to row totals (30, 70) and column totals (40, 60), uniform start
//! let mut ipf = Ipf::new(vec![2, 2], vec![1.0; 4], vec![(vec![0], vec![30.0, 70.0]), (vec![1], vec![40.0, 60.0])]);
//! let outcome = Runner::new(Stopping::new(1e-10, 100).unwrap()).run(&mut ipf).unwrap();
//! assert!(outcome.converged);
//! assert!((ipf.table()[0] - 12.0).abs() < 1e-9); // 30 × 40 / 100
//! ```

mod dense;
mod factored;
mod ipf;
mod junction;
mod layout;
mod table;

pub use dense::{fit_dense, DenseFit, MarginFit};
pub use factored::FactoredIpf;
pub use ipf::{Ipf, Unsupported};
pub use table::Table;

/// Names margin cell `(margin, cell)` in messages.
type Describe = Box<dyn Fn(usize, usize) -> String + Send + Sync>;

fn describe_default() -> Describe {
    Box::new(|m, c| format!("margin {m}, cell {c}"))
}
