//! Reports and output files: the fitted joint as tidy CSV, `report.json`, and the atomic
//! writer every output goes through.

mod atomic;
mod fit;

pub use atomic::{write_atomic, write_json};
pub use fit::{write_joint_csv, FitReport};
