//! Reports and output files: the fitted joint or the calibrated weights as tidy CSV,
//! `report.json`, and the atomic writer every output goes through.

mod atomic;
mod calibration;
pub mod chart;
pub(crate) mod csvtext;
pub mod demo;
mod fit;

pub use atomic::{write_atomic, write_json};
pub use calibration::{write_weights_csv, CalibrationReport, WorstZone};
pub use fit::{write_joint_csv, FitReport};
