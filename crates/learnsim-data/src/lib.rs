//! learnsim-data: datasets on disk in LagrangeBench's layout.
//!
//! A dataset folder holds `train.h5`, `valid.h5`, `test.h5` and `metadata.json`. Each HDF5 file
//! has one group per trajectory (`00000`, `00001`, …) with `position` (f32 `[T, N, D]`,
//! gzip-chunked) and `particle_type` (int `[N]`). Every write goes to a temporary file that is
//! renamed into place, so a crash never leaves a half-written dataset under the final name.
//! Every read checks what it finds and reports the file and the problem.
//!
//! The field's other formats (DeepMind TFRecord, geoelements NPZ, LagrangeBench's own
//! metadata) are read and written by [`formats`]; [`load_dataset`] takes any of them.
//!
//! Grid cases store their fields in The Well's HDF5 layout ([`write_well_grid`]).

mod atomic;
mod error;
mod foreign_rollouts;
pub mod formats;
mod h5_split;
mod metadata_file;
pub mod npz;
pub mod pickle;
pub mod playback;
mod rollout_pickle;
mod stats;
pub mod tfrecord;
mod well_grid;

pub use atomic::{write_atomically, write_bytes_atomically};
pub use error::DataError;
pub use foreign_rollouts::{ForeignRollout, RolloutFormat, read_foreign_rollouts};
pub use formats::{
    DatasetFormat, GeoelementsLayout, Imported, LAGRANGEBENCH_PADDING_TYPE, export_dataset,
    export_dataset_with_progress, features_of, import_dataset,
};
pub use h5_split::{read_split, read_split_groups, write_split, write_split_groups};
pub use metadata_file::{read_metadata, write_metadata};
pub use rollout_pickle::{RolloutExport, write_rollout_pickle};
pub use stats::{DiffStats, difference_stats};
pub use well_grid::{
    GridField, WellGrid, from_component_last, read_well_grid, to_component_last, write_well_grid,
};

use learnsim_core::{Metadata, Trajectory};
use std::path::Path;

/// The three splits' file stems, in order.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// A dataset loaded in memory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its metadata.json.
    pub metadata: Metadata,
    /// Trajectories per split, in [`SPLITS`] order.
    pub splits: [Vec<Trajectory>; 3],
}

/// Loads the dataset in `dir` in whichever format it is (see [`DatasetFormat::detect`]).
pub fn load_dataset(dir: &Path) -> Result<Dataset, DataError> {
    let format = DatasetFormat::detect(dir)?;
    Ok(import_dataset(dir, format)?.dataset)
}

/// Loads a learnsim dataset: `dir/metadata.json` and the three splits, checking that they agree.
pub fn load_learnsim_dataset(dir: &Path) -> Result<Dataset, DataError> {
    let metadata = read_metadata(&dir.join("metadata.json"))?;
    let mut splits: [Vec<Trajectory>; 3] = Default::default();
    for (k, name) in SPLITS.iter().enumerate() {
        let path = dir.join(format!("{name}.h5"));
        if k > 0 && !path.exists() && metadata.num_trajectories[k] == 0 {
            continue; // converted from a dataset that had no such split
        }
        let trajectories = read_split(&path, metadata.particle_type_convention)?;
        for (index, t) in trajectories.iter().enumerate() {
            if t.dim != metadata.dim {
                return Err(DataError::invalid(
                    &path,
                    format!(
                        "trajectory {index:05} has dim {}, metadata.json says {}",
                        t.dim, metadata.dim
                    ),
                ));
            }
        }
        for (index, t) in trajectories.iter().enumerate() {
            let widths = (t.material.width, t.step_context.width);
            let listed = (
                metadata.features.material_property,
                metadata.features.step_context,
            );
            if widths != listed {
                return Err(DataError::invalid(
                    &path,
                    format!(
                        "trajectory {index:05} has material_property and step_context widths \
                         {widths:?}, metadata.json lists {listed:?}"
                    ),
                ));
            }
        }
        splits[k] = trajectories;
    }
    Ok(Dataset { metadata, splits })
}
