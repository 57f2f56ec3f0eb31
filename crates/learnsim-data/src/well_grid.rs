//! Grid datasets in The Well's self-describing HDF5 format (Ohana et al. 2024; its
//! `docs/data_format.md`), every attribute its specification and its `WellDataset` reader use:
//!
//! - root attributes `dataset_name`, `grid_type` = "cartesian", `n_spatial_dims`,
//!   `n_trajectories`, `simulation_parameters` (names) and one attribute per parameter;
//! - `scalars/` (attribute `field_names`): one 0-d dataset per simulation parameter;
//! - `dimensions/`: attribute `spatial_dims`, datasets `time` [T] and one coordinate array per
//!   spatial dimension;
//! - `boundary_conditions/<dim>_periodic/`: attributes `bc_type` = "PERIODIC",
//!   `associated_dims`, `associated_fields` (empty), and a bool `mask` over the dimension, true
//!   at its first and last cell;
//! - `t0_fields/` (scalars), `t1_fields/` (vectors) and `t2_fields/` (empty), each with
//!   `field_names`; one dataset per field, shaped [trajectory, time, *space] and [trajectory,
//!   time, *space, component], f32, with the attribute `dim_varying` (one bool per axis);
//! - `sample_varying` and `time_varying` (HDF5 bools) on every field, scalar and coordinate.
//!
//! The reader accepts files of The Well's own tools (float32 coordinates, 0-d scalars) and
//! learnsim's older files (without these attributes, scalars shaped [1]); fields constant in
//! time or across trajectories are refused by their shape.

use crate::{DataError, write_atomically};
use rust_hdf5::{DatatypeMessage, H5File, HBool};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// One field on the grid: its name, its tensor order (0 scalar, 1 vector) and its values in
/// [trajectory, time, *space, component] order.
#[derive(Debug, Clone, PartialEq)]
pub struct GridField {
    /// Field name (`velocity`, `density`, …).
    pub name: String,
    /// 0 for a scalar (t0_fields), 1 for a vector (t1_fields).
    pub order: usize,
    /// Values, f32.
    pub values: Vec<f32>,
}

/// A whole grid dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct WellGrid {
    /// `dataset_name`.
    pub name: String,
    /// Names of the spatial dimensions (`x`, `y`, `z`).
    pub spatial_dims: Vec<String>,
    /// Coordinates along each spatial dimension.
    pub coordinates: Vec<Vec<f64>>,
    /// Time of each frame.
    pub time: Vec<f64>,
    /// Trajectories.
    pub n_trajectories: usize,
    /// Named simulation parameters.
    pub parameters: Vec<(String, f64)>,
    /// The fields.
    pub fields: Vec<GridField>,
}

impl WellGrid {
    /// The shape a field of `order` must have: [trajectory, time, *space(, components)].
    pub fn field_shape(&self, order: usize) -> Vec<usize> {
        let mut shape = vec![self.n_trajectories, self.time.len()];
        shape.extend(self.coordinates.iter().map(Vec::len));
        if order == 1 {
            shape.push(self.spatial_dims.len());
        }
        shape
    }

    /// Checks names, coordinates and every field's length against the declared shape.
    pub fn check(&self) -> Result<(), String> {
        if self.spatial_dims.is_empty() || self.spatial_dims.len() != self.coordinates.len() {
            return Err(format!(
                "{} spatial dimension names for {} coordinate arrays",
                self.spatial_dims.len(),
                self.coordinates.len()
            ));
        }
        for field in &self.fields {
            if field.order > 1 {
                return Err(format!(
                    "field `{}`: tensor order {} (0 or 1)",
                    field.name, field.order
                ));
            }
            let shape = self.field_shape(field.order);
            let expected: usize = shape.iter().product();
            if field.values.len() != expected {
                return Err(format!(
                    "field `{}`: {} values for shape {shape:?}",
                    field.name,
                    field.values.len()
                ));
            }
        }
        Ok(())
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&GridField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Writes `grid` to `path` atomically.
pub fn write_well_grid(path: &Path, grid: &WellGrid) -> Result<(), DataError> {
    grid.check().map_err(|e| DataError::invalid(path, e))?;
    let h5 = |e: rust_hdf5::Hdf5Error| DataError::invalid(path, format!("HDF5 write failed: {e}"));
    let dims: Vec<&str> = grid.spatial_dims.iter().map(String::as_str).collect();
    write_atomically(path, |tmp| {
        let file = H5File::create(tmp).map_err(h5)?;
        file.set_attr_string("dataset_name", &grid.name)
            .map_err(h5)?;
        file.set_attr_string("grid_type", "cartesian").map_err(h5)?;
        file.set_attr_numeric("n_spatial_dims", &(dims.len() as i64))
            .map_err(h5)?;
        file.set_attr_numeric("n_trajectories", &(grid.n_trajectories as i64))
            .map_err(h5)?;
        let names: Vec<&str> = grid.parameters.iter().map(|p| p.0.as_str()).collect();
        file.set_attr_string_array("simulation_parameters", &names)
            .map_err(h5)?;
        for (name, value) in &grid.parameters {
            file.set_attr_numeric(name, value).map_err(h5)?;
        }
        // Every `*_varying` flag and mask below is HDF5's bool (h5py's FALSE/TRUE enum), which
        // The Well's reader and its format checker require.
        let flag = |ds: &rust_hdf5::H5Dataset, name: &str, value: bool| {
            ds.new_attr::<HBool>()
                .shape(())
                .create(name)
                .and_then(|a| a.write_numeric(&HBool::from(value)))
        };
        let scalars = file.create_group("scalars").map_err(h5)?;
        scalars
            .set_attr_string_array("field_names", &names)
            .map_err(h5)?;
        for (name, value) in &grid.parameters {
            let dataset = scalars
                .new_dataset::<f64>()
                .scalar()
                .create(name)
                .map_err(h5)?;
            dataset.write_raw(&[*value]).map_err(h5)?;
            flag(&dataset, "sample_varying", false).map_err(h5)?;
            flag(&dataset, "time_varying", false).map_err(h5)?;
        }
        let dimensions = file.create_group("dimensions").map_err(h5)?;
        dimensions
            .set_attr_string_array("spatial_dims", &dims)
            .map_err(h5)?;
        let vector = |g: &rust_hdf5::H5Group, name: &str, v: &[f64], time: bool| {
            let dataset = g.new_dataset::<f64>().shape([v.len()]).create(name)?;
            dataset.write_raw(v)?;
            flag(&dataset, "sample_varying", false)?;
            flag(&dataset, "time_varying", time)
        };
        vector(&dimensions, "time", &grid.time, true).map_err(h5)?;
        for (name, c) in dims.iter().zip(&grid.coordinates) {
            vector(&dimensions, name, c, false).map_err(h5)?;
        }
        let bcs = file.create_group("boundary_conditions").map_err(h5)?;
        for (name, c) in dims.iter().zip(&grid.coordinates) {
            let bc = bcs.create_group(&format!("{name}_periodic")).map_err(h5)?;
            bc.set_attr_string("bc_type", "PERIODIC").map_err(h5)?;
            bc.set_attr_string_array("associated_dims", &[name])
                .map_err(h5)?;
            bc.set_attr_string_array("associated_fields", &[])
                .map_err(h5)?;
            bc.set_attr_numeric("sample_varying", &HBool::from(false))
                .map_err(h5)?;
            bc.set_attr_numeric("time_varying", &HBool::from(false))
                .map_err(h5)?;
            // True on the cells where the boundary lies: the first and last along the axis.
            let mask: Vec<HBool> = (0..c.len())
                .map(|i| HBool::from(i == 0 || i + 1 == c.len()))
                .collect();
            bc.new_dataset::<HBool>()
                .shape([c.len()])
                .create("mask")
                .and_then(|d| d.write_raw(&mask))
                .map_err(h5)?;
        }
        for (order, group_name) in ["t0_fields", "t1_fields", "t2_fields"].iter().enumerate() {
            let group = file.create_group(group_name).map_err(h5)?;
            let fields: Vec<&GridField> = grid.fields.iter().filter(|f| f.order == order).collect();
            let field_names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            group
                .set_attr_string_array("field_names", &field_names)
                .map_err(h5)?;
            for field in fields {
                let shape = grid.field_shape(field.order);
                let mut chunk = shape.clone();
                chunk[0] = 1;
                chunk[1] = 1;
                let dataset = group
                    .new_dataset::<f32>()
                    .shape(&shape[..])
                    .chunk(&chunk)
                    .deflate(4)
                    .create(&field.name)
                    .map_err(h5)?;
                dataset.write_raw(&field.values).map_err(h5)?;
                // Every learnsim field varies over trajectories, time and every axis.
                flag(&dataset, "sample_varying", true).map_err(h5)?;
                flag(&dataset, "time_varying", true).map_err(h5)?;
                let along = vec![HBool::from(true); dims.len()];
                dataset
                    .new_attr::<HBool>()
                    .shape([dims.len()])
                    .create("dim_varying")
                    .and_then(|a| a.write_array(&along))
                    .map_err(h5)?;
            }
        }
        file.close().map_err(h5)
    })
}

/// Reads a grid dataset written by [`write_well_grid`] (or The Well's own files, for the parts
/// listed in the module docs), checking every shape.
pub fn read_well_grid(path: &Path) -> Result<WellGrid, DataError> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| read_unguarded(path))) {
        Ok(result) => result,
        Err(_) => Err(DataError::invalid(
            path,
            "corrupt HDF5 file (decoder failed)",
        )),
    }
}

fn read_unguarded(path: &Path) -> Result<WellGrid, DataError> {
    let bad = |problem: String| DataError::invalid(path, problem);
    let file = H5File::open(path).map_err(|e| bad(format!("not a readable HDF5 file: {e}")))?;
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let name = file
        .attr_string("dataset_name")
        .map_err(|e| bad(format!("no `dataset_name` attribute ({e})")))?;
    let read_f64 = |name: &str| -> Result<Vec<f64>, DataError> {
        let d = file
            .dataset(name)
            .map_err(|e| bad(format!("missing dataset `{name}` ({e})")))?;
        crate::h5_split::check_claimed_size(&d, file_len)
            .map_err(|e| bad(format!("`{name}`: {e}")))?;
        // The Well's specification stores coordinates and times as float32; we write float64.
        d.read_numeric_as::<f64>()
            .map_err(|e| bad(format!("cannot read `{name}`: {e}")))
    };
    let root = file.root_group();
    let dimensions = root
        .group("dimensions")
        .map_err(|e| bad(format!("no `dimensions` group ({e})")))?;
    let mut spatial_dims: Vec<String> = dimensions
        .dataset_names()
        .map_err(|e| bad(format!("cannot list `dimensions` ({e})")))?
        .into_iter()
        .filter(|n| n != "time")
        .collect();
    spatial_dims.sort();
    let time = read_f64("dimensions/time")?;
    let coordinates = spatial_dims
        .iter()
        .map(|d| read_f64(&format!("dimensions/{d}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut parameters = Vec::new();
    if let Ok(scalars) = root.group("scalars") {
        let mut names = scalars
            .dataset_names()
            .map_err(|e| bad(format!("cannot list `scalars` ({e})")))?;
        names.sort();
        for name in names {
            let value = read_f64(&format!("scalars/{name}"))?;
            let [value] = value[..] else {
                return Err(bad(format!(
                    "`scalars/{name}` holds {} values, not 1",
                    value.len()
                )));
            };
            parameters.push((name, value));
        }
    }
    // The trajectory count is the leading axis of every field.
    let mut n_trajectories = None;
    for group in ["t0_fields", "t1_fields"] {
        if let Ok(g) = root.group(group) {
            for field in g.dataset_names().unwrap_or_default() {
                if let Ok(d) = file.dataset(&format!("{group}/{field}")) {
                    n_trajectories = n_trajectories.or(d.shape().first().copied());
                }
            }
        }
    }
    let n_trajectories =
        n_trajectories.ok_or_else(|| bad("holds no field in t0_fields or t1_fields".into()))?;
    let mut grid = WellGrid {
        name,
        spatial_dims,
        coordinates,
        time,
        n_trajectories,
        parameters,
        fields: Vec::new(),
    };
    for (order, group) in ["t0_fields", "t1_fields"].iter().enumerate() {
        let Ok(g) = root.group(group) else { continue };
        let mut names = g
            .dataset_names()
            .map_err(|e| bad(format!("cannot list `{group}` ({e})")))?;
        names.sort();
        for field in names {
            let full = format!("{group}/{field}");
            let d = file
                .dataset(&full)
                .map_err(|e| bad(format!("cannot open `{full}` ({e})")))?;
            let expected = grid.field_shape(order);
            if d.shape() != expected {
                return Err(bad(format!(
                    "`{full}` has shape {:?}, expected {expected:?} from the dimensions",
                    d.shape()
                )));
            }
            crate::h5_split::check_claimed_size(&d, file_len)
                .map_err(|e| bad(format!("`{full}`: {e}")))?;
            let values = match d.datatype().map_err(|e| bad(format!("`{full}`: {e}")))? {
                DatatypeMessage::FloatingPoint { size: 4, .. } => d.read_raw::<f32>(),
                DatatypeMessage::FloatingPoint { size: 8, .. } => d
                    .read_raw::<f64>()
                    .map(|v| v.into_iter().map(|x| x as f32).collect()),
                other => return Err(bad(format!("`{full}` has dtype {other:?}, expected float"))),
            }
            .map_err(|e| bad(format!("cannot read `{full}`: {e}")))?;
            grid.fields.push(GridField {
                name: field,
                order,
                values,
            });
        }
    }
    grid.check().map_err(bad)?;
    Ok(grid)
}

/// A component-first field `[c][points…]` (learnsim's models) in The Well's component-last
/// order `[points…][c]`.
pub fn to_component_last(u: &[f32], components: usize) -> impl Iterator<Item = f32> + '_ {
    let points = u.len() / components;
    (0..points).flat_map(move |p| (0..components).map(move |c| u[c * points + p]))
}

/// The Well's component-last `[points…][c]` back to component-first `[c][points…]`.
pub fn from_component_last(u: &[f32], components: usize) -> Vec<f32> {
    let points = u.len() / components;
    (0..components)
        .flat_map(|c| (0..points).map(move |p| u[p * components + c]))
        .collect()
}
