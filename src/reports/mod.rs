//! Reports and output files: the fitted joint or the calibrated weights as tidy CSV,
//! `report.json`, the atomic writer every output goes through, and the layout and checksums of
//! per-zone files.

mod atomic;
mod calibration;
pub mod chart;
pub(crate) mod csvtext;
mod fit;
mod households;
mod output_set;
mod zone_files;

pub(crate) use atomic::TempFile;
pub use atomic::{write_atomic, write_json};
pub use calibration::{write_weights_csv, CalibrationReport, WorstZone};
pub use fit::{write_joint_csv, FitReport};
pub use households::{
    write_household_weights_csv, write_seed_weights_csv, ControlReport, ControlStatistics, HouseholdReport, Uniformity,
    ZoneResult,
};
pub use output_set::{OutputSet, LOCK_FILE};
pub(crate) use zone_files::Hashing;
pub use zone_files::{check_zone_folders, file_checksum, zone_folder, MAX_FOLDER_NAME};
