//! Fitting a [`Problem`]: [`fit`] dispatches on the [`Method`] of the [`FitOptions`] and returns
//! a [`Fitted`] value, the dense joint (ipf) or every zone's calibrated seed weights, which
//! generation draws from ([`Pool::from_fitted`](crate::generation::Pool::from_fitted)) as
//! often as wanted.
//!
//! The dense joint is fitted by iterative proportional fitting on the table ([`Ipf`]) or on the
//! margins' cliques ([`FactoredIpf`], a junction tree); [`fit_joint`] picks one for given
//! margins. Each is a [`Solver`](crate::iteration::Solver) driven by a
//! [`Runner`](crate::iteration::Runner). Seed weights are calibrated by
//! [`calibration`](crate::calibration), which this stage calls and which knows nothing of it.
//! The fitted joint is a [`Table`], summed onto any of its attributes by [`Table::marginal`]
//! (by domain position) or [`DenseFit::marginal`] (by name).
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
mod zeros;

pub use dense::{fit_dense, fit_joint, DenseFit, MarginFit};
pub use factored::FactoredIpf;
pub use ipf::{Ipf, Unsupported};
pub use table::Table;
pub use zeros::{FilledCell, ZeroReport};

pub use crate::inputs::{FitOptions, Method};

use crate::calibration::{fit_microdata, Calibration, ZoneFit};
use crate::error::Result;
use crate::inputs::Problem;
use crate::iteration::Observer;

/// What a fit made: what generation draws persons from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fitted {
    /// [`Method::Ipf`]: the dense joint of a problem without zones.
    Joint(DenseFit),
    /// [`Method::Calibrate`]: the seed's calibrated weights, one [`ZoneFit`] per zone in zone
    /// order.
    Weights {
        /// The calibration method.
        method: Calibration,
        /// Every zone's weights and report.
        zones: Vec<ZoneFit>,
    },
}

impl Fitted {
    /// The method that made the fit.
    pub fn method(&self) -> Method {
        match self {
            Fitted::Joint(_) => Method::Ipf,
            Fitted::Weights { method, .. } => Method::Calibrate(*method),
        }
    }

    /// Whether every iteration converged (every zone's, for calibrated weights).
    pub fn converged(&self) -> bool {
        match self {
            Fitted::Joint(fit) => fit.convergence.converged,
            Fitted::Weights { zones, .. } => zones.iter().all(|z| z.report.convergence.converged),
        }
    }
}

/// Fits `problem` as `options` say: the dense joint by IPF ([`fit_dense`]) for [`Method::Ipf`],
/// the seed's weights zone by zone ([`fit_microdata`]) for [`Method::Calibrate`]. `observers`
/// see the iterations of a problem without zones.
///
/// ```
/// use populace::fitting::{fit, FitOptions, Fitted};
/// use populace::inputs::{Calibration, Csv, MarginInput, Method, Problem, SeedInput};
///
/// let sex = MarginInput::csv(Csv::text("sex.csv", "sex,count\nf,60\nm,40\n"));
/// let problem = Problem::builder().margin(sex.clone()).build()?;
/// let Fitted::Joint(joint) = fit(&problem, &FitOptions::default(), &mut [])? else { unreachable!("ipf") };
/// assert_eq!(joint.marginal(&["sex"]).unwrap().values, vec![60.0, 40.0]);
///
/// // with a seed, a calibration re-weights its records instead
/// let seed = SeedInput::csv(Csv::text("persons.csv", "sex\nf\nm\nm\n"));
/// let problem = Problem::builder().margin(sex).seed(seed).build()?;
/// let rake = FitOptions::params().method(Method::Calibrate(Calibration::Rake)).check()?;
/// let Fitted::Weights { zones, .. } = fit(&problem, &rake, &mut [])? else { unreachable!("rake") };
/// assert!((zones[0].weights[0] - 60.0).abs() < 1e-9 && (zones[0].weights[1] - 20.0).abs() < 1e-9);
/// # Ok::<(), populace::Error>(())
/// ```
///
/// # Errors
/// Those of [`fit_dense`] and [`fit_microdata`].
pub fn fit(problem: &Problem, options: &FitOptions, observers: &mut [&mut dyn Observer]) -> Result<Fitted> {
    match options.method() {
        Method::Ipf => fit_dense(problem, options, observers).map(Fitted::Joint),
        Method::Calibrate(method) => {
            fit_microdata(problem, method, options, observers).map(|zones| Fitted::Weights { method, zones })
        }
    }
}

/// Names margin cell `(margin, cell)` in messages.
type Describe = Box<dyn Fn(usize, usize) -> String + Send + Sync>;

fn describe_default() -> Describe {
    Box::new(|m, c| format!("margin {m}, cell {c}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::inputs::{LoadOptions, Spec};

    /// A problem with a seed and zones `a`, `b` or none, and its spec's options.
    fn problem(method: &str, zones: bool) -> (Problem, FitOptions) {
        let dir = tempfile::tempdir().unwrap();
        let (zone, rows) =
            if zones { ("zone,", vec!["a,x,6", "a,y,4", "b,x,1", "b,y,3"]) } else { ("", vec!["x,6", "y,4"]) };
        std::fs::write(dir.path().join("m.csv"), format!("{zone}kind,count\n{}\n", rows.join("\n"))).unwrap();
        std::fs::write(dir.path().join("s.csv"), "kind,size\nx,big\ny,big\nx,small\n").unwrap();
        let zones = if zones { "[zones]\ncolumn = \"zone\"\n" } else { "" };
        let spec = format!("[attributes]\nsize = [\"big\", \"small\"]\n[[margin]]\nfile = \"m.csv\"\n[seed]\nfile = \"s.csv\"\n[fit]\nmethod = \"{method}\"\n{zones}");
        std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
        let spec = Spec::from_path(&dir.path().join("spec.toml")).unwrap();
        (Problem::load(&spec, LoadOptions::default()).unwrap(), spec.fit)
    }

    #[test]
    fn fit_dispatches_on_the_method() {
        let (p, options) = problem("ipf", false);
        let Fitted::Joint(joint) = fit(&p, &options, &mut []).unwrap() else { panic!("ipf fits a joint") };
        assert_eq!(joint.joint.sizes, vec![2, 2]);
        let kind = joint.marginal(&["kind"]).unwrap();
        assert!((kind.values[0] - 6.0).abs() < 1e-9 && (kind.values[1] - 4.0).abs() < 1e-9);
        // the seed's size: x is big in one record of two, y in its only one
        let size = joint.marginal(&["size"]).unwrap();
        assert!((size.values[0] - 7.0).abs() < 1e-9, "{size:?}");

        let (p, options) = problem("entropy", true);
        let fitted = fit(&p, &options, &mut []).unwrap();
        assert_eq!(fitted.method(), Method::Calibrate(Calibration::Entropy));
        assert!(fitted.converged());
        let Fitted::Weights { zones, .. } = fitted else { panic!("entropy calibrates weights") };
        assert_eq!(zones.iter().map(|z| z.zone.as_deref()).collect::<Vec<_>>(), vec![Some("a"), Some("b")]);
        let b: f64 = zones[1].weights.iter().sum();
        assert!((b - 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_dense_fit_needs_one_table_and_known_names() {
        let (p, options) = problem("rake", true);
        let ipf = options.to_params().method(Method::Ipf).check().unwrap();
        assert!(matches!(fit(&p, &ipf, &mut []), Err(Error::Inconsistent(_))));
        let (p, options) = problem("ipf", false);
        let Fitted::Joint(joint) = fit(&p, &options, &mut []).unwrap() else { panic!("ipf fits a joint") };
        let err = joint.marginal(&["kind", "colour"]).unwrap_err().to_string();
        assert!(err.contains("no attribute \"colour\"") && err.contains("size, kind"), "{err}");
        assert!(matches!(joint.marginal(&["kind", "kind"]), Err(Error::Input { .. })));
    }
}
