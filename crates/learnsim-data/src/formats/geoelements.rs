//! geoelements/gns's NPZ splits: the `gns_data` layout their current tools write and the older one-
//! member-per-trajectory layout.

use super::kinds;
use crate::DataError;
use crate::npz::{object_items, read_npz};
use crate::pickle::{ArrayData, NdArray};
use learnsim_core::{Trajectory, TypeConvention};
use std::path::Path;

/// geoelements' two NPZ layouts: one member `gns_data` (an object array of trajectory tuples,
/// what their current tools write and their loader reads first) or one member per trajectory
/// (the older layout: each an object array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeoelementsLayout {
    /// `gns_data`: an object array of `(positions, particle_type[, material_property])` tuples.
    #[default]
    GnsData,
    /// `simulation_0`, `simulation_1`, …: each an object array of the same items.
    Legacy,
}

impl GeoelementsLayout {
    /// Both layouts.
    pub const ALL: [GeoelementsLayout; 2] = [Self::GnsData, Self::Legacy];

    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::GnsData => "gns_data",
            Self::Legacy => "legacy",
        }
    }
}

/// The member that holds a whole geoelements dataset in their current layout.
pub(super) const GNS_DATA: &str = "gns_data";
/// Our member beside it with each trajectory's `[T, C]` step context.
pub(super) const STEP_CONTEXT: &str = "step_context";

pub(super) fn read_geoelements_split(
    path: &Path,
    dim: usize,
) -> Result<Vec<Trajectory>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let members = read_npz(&bytes).map_err(|e| DataError::invalid(path, e))?;
    if members.is_empty() {
        return Err(DataError::invalid(path, "holds no trajectories"));
    }
    // (name for errors, the trajectory's items)
    let mut items: Vec<(String, &[NdArray])> = Vec::new();
    let member = |key: &str| members.iter().find(|(name, _)| name == key).map(|(_, a)| a);
    let mut contexts: Option<&[NdArray]> = None;
    if let Some(array) = member(GNS_DATA) {
        // As geoelements' loader: `gns_data` holds the dataset; our `step_context` member
        // (one [T, C] array per trajectory) rides beside it, unseen by their loader.
        let trajectories = object_items(array)
            .map_err(|e| DataError::invalid(path, format!("`{GNS_DATA}`: {e}")))?;
        for (i, t) in trajectories.iter().enumerate() {
            let label = format!("`{GNS_DATA}` item {i}");
            let inner =
                object_items(t).map_err(|e| DataError::invalid(path, format!("{label}: {e}")))?;
            items.push((label, inner));
        }
        if let Some(array) = member(STEP_CONTEXT) {
            let per = object_items(array)
                .map_err(|e| DataError::invalid(path, format!("`{STEP_CONTEXT}`: {e}")))?;
            if per.len() != items.len() {
                return Err(DataError::invalid(
                    path,
                    format!(
                        "`{STEP_CONTEXT}` holds {} arrays, `{GNS_DATA}` {} trajectories",
                        per.len(),
                        items.len()
                    ),
                ));
            }
            contexts = Some(per);
        }
    } else {
        for (name, array) in &members {
            let label = format!("`{name}`");
            let inner = object_items(array)
                .map_err(|e| DataError::invalid(path, format!("{label}: {e}")))?;
            items.push((label, inner));
        }
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, items))| {
            let bad = |e: String| DataError::invalid(path, format!("{label}: {e}"));
            let t = geoelements_trajectory(items, dim).map_err(bad)?;
            let Some(context) = contexts.map(|c| &c[i]) else {
                return Ok(t);
            };
            let bad =
                |e: String| DataError::invalid(path, format!("`{STEP_CONTEXT}` item {i}: {e}"));
            let width = match context.shape[..] {
                [rows, width] if rows == t.n_frames => width,
                _ => {
                    return Err(bad(format!(
                        "has shape {:?}, expected [{}, C]",
                        context.shape, t.n_frames
                    )));
                }
            };
            t.with_step_context(width, context.to_f32().map_err(&bad)?)
                .map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// One trajectory from its items `(positions [T, N, D], particle_type [N] or scalar,
/// material_property [N] or scalar)`: a scalar holds for every particle, as geoelements'
/// loader broadcasts it with `np.full`.
pub(super) fn geoelements_trajectory(items: &[NdArray], dim: usize) -> Result<Trajectory, String> {
    if !(2..=3).contains(&items.len()) {
        return Err(format!(
            "holds {} items, expected (positions, particle_type[, material_property])",
            items.len()
        ));
    }
    let (positions, types) = (&items[0], &items[1]);
    let [t, n, d] = positions.shape[..] else {
        return Err(format!(
            "positions have shape {:?}, expected [T, N, D]",
            positions.shape
        ));
    };
    if d != dim {
        return Err(format!(
            "positions have D = {d}, metadata.json says dim = {dim}"
        ));
    }
    let per_particle = |array: &NdArray, what: &str| -> Result<(), String> {
        if array.shape.is_empty() || array.shape == [n] {
            Ok(())
        } else {
            Err(format!(
                "{what} has shape {:?}, expected a scalar or [{n}] (positions have N = {n})",
                array.shape
            ))
        }
    };
    per_particle(types, "particle_type")?;
    let ids = types.to_i64()?;
    let ids = if ids.len() == 1 && types.shape.is_empty() {
        vec![ids[0]; n]
    } else {
        ids
    };
    let kind = kinds(&ids, TypeConvention::Deepmind)?;
    let trajectory = Trajectory::new(d, t, positions.to_f32()?, kind).map_err(|e| e.to_string())?;
    match items.get(2) {
        None => Ok(trajectory),
        Some(material) => {
            per_particle(material, "material_property")?;
            let values = match &material.data {
                ArrayData::Int(v) => v.iter().map(|&x| x as f32).collect(),
                _ => material
                    .to_f32()
                    .map_err(|e| format!("material_property: {e}"))?,
            };
            let values = if material.shape.is_empty() {
                vec![values[0]; n]
            } else {
                values
            };
            trajectory
                .with_material(1, values)
                .map_err(|e| e.to_string())
        }
    }
}
