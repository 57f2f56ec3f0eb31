//! `learnsim._native`: learnsim's cases, datasets, conversions and scoring as Python functions
//! (the package `learnsim` re-exports them). Every function calls the code the `learnsim`
//! command calls, and its errors are Python exceptions carrying the command's messages.

use learnsim_cases::particle::{self, DEFAULT_CONTEXT};
use learnsim_data::{Dataset, ForeignRollout, RolloutFormat, load_dataset as load};
use learnsim_eval::{Ballistic, ConstantVelocity, Persistence, Protocol, score_all};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods, ToPyArray};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};

/// An error of learnsim's as a Python `ValueError` with the command's message (its causes
/// joined by ": ").
fn error(e: impl Into<anyhow::Error>) -> PyErr {
    PyValueError::new_err(format!("{:#}", e.into()))
}

/// A JSON value as the Python object `json.loads` makes of it.
fn python_value<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

/// Every registered case: a list of `{"name", "kind", "description"}`.
#[pyfunction]
fn cases(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for case in learnsim_cases::registry() {
        let item = PyDict::new(py);
        item.set_item("name", case.name())?;
        item.set_item("kind", case.kind().name())?;
        item.set_item("description", case.description())?;
        list.append(item)?;
    }
    Ok(list)
}

/// Simulates `case`'s ground truth into the folder `out` (`learnsim generate`): a particle
/// case's `{train,valid,test}.h5` and `metadata.json`, a grid case's Well files, another
/// case's `.npz` archives. `tier` is "cpu" or "paper"; `quick` makes the data of the case's
/// `--quick` run; a particle case takes `frames` per trajectory and `trajectories` per split
/// as (train, valid, test). Returns the command's summary line.
#[pyfunction]
#[pyo3(signature = (case, out, seed=0, tier="cpu", quick=false, frames=None, trajectories=None))]
fn generate(
    py: Python<'_>,
    case: &str,
    out: PathBuf,
    seed: u64,
    tier: &str,
    quick: bool,
    frames: Option<usize>,
    trajectories: Option<[usize; 3]>,
) -> PyResult<String> {
    let tier = match tier {
        "cpu" => learnsim_cases::TierArg::Cpu,
        "paper" => learnsim_cases::TierArg::Paper,
        other => {
            return Err(PyValueError::new_err(format!(
                "tier `{other}`: allowed \"cpu\" or \"paper\""
            )));
        }
    };
    let args = learnsim_cases::GenerateArgs {
        case: case.into(),
        out: Some(out),
        seed: Some(seed),
        tier,
        quick,
        config: None,
        frames,
        trajectories,
        friction_angles: None,
        scene: None,
        shard: None,
    };
    py.detach(|| learnsim_cases::generate(&args)).map_err(error)
}

fn split_index(split: &str) -> PyResult<usize> {
    learnsim_data::SPLITS
        .iter()
        .position(|s| *s == split)
        .ok_or_else(|| {
            PyValueError::new_err(format!("split `{split}`: allowed train, valid or test"))
        })
}

fn dataset_at(path: &Path) -> PyResult<Dataset> {
    load(path).map_err(error)
}

/// One split of the particle dataset in `path` (learnsim, DeepMind, geoelements or
/// LagrangeBench format): `{"metadata": dict, "split": str, "trajectories": [{"position":
/// float32 [T, N, D], "particle_type": int64 [N]}, ...]}`, type ids in the metadata's
/// `particle_type_convention`.
#[pyfunction]
#[pyo3(signature = (path, split="test"))]
fn load_dataset<'py>(py: Python<'py>, path: PathBuf, split: &str) -> PyResult<Bound<'py, PyDict>> {
    let index = split_index(split)?;
    let dataset = dataset_at(&path)?;
    let convention = dataset.metadata.particle_type_convention;
    let result = PyDict::new(py);
    let metadata = serde_json::to_value(&dataset.metadata).map_err(error)?;
    result.set_item("metadata", python_value(py, &metadata)?)?;
    result.set_item("split", split)?;
    let trajectories = PyList::empty(py);
    for t in &dataset.splits[index] {
        let item = PyDict::new(py);
        let position = t
            .position
            .to_pyarray(py)
            .reshape([t.n_frames, t.n_particles, t.dim])?;
        item.set_item("position", position)?;
        let types: Vec<i64> = t
            .kind
            .iter()
            .map(|k| k.id(convention).unwrap_or(-1))
            .collect();
        item.set_item("particle_type", types.to_pyarray(py))?;
        trajectories.append(item)?;
    }
    result.set_item("trajectories", trajectories)?;
    Ok(result)
}

/// The baselines (persistence, constant velocity, ballistic) over one split under the
/// standard protocol a `learnsim run` is scored by (windows every 40 frames, 6 input frames):
/// `{name: {metric: value}}`.
#[pyfunction]
#[pyo3(signature = (dataset, split="test"))]
fn baselines<'py>(py: Python<'py>, dataset: PathBuf, split: &str) -> PyResult<Bound<'py, PyAny>> {
    let index = split_index(split)?;
    let data = dataset_at(&dataset)?;
    let metadata = &data.metadata;
    let mut ballistic = Ballistic {
        gravity_dt2: metadata.gravity_per_frame(),
        walls: metadata.walls(),
    };
    let names = ["persistence", "constant_velocity", "ballistic"];
    let scores = py
        .detach(|| {
            score_all(
                &mut [&mut Persistence, &mut ConstantVelocity, &mut ballistic],
                &data.splits[index],
                metadata,
                &Protocol::default(),
                &mut |_| {},
            )
        })
        .map_err(|e| {
            error(
                anyhow::Error::new(e.source)
                    .context(format!("the {} rollout failed", names[e.stepper])),
            )
        })?;
    let value = serde_json::Value::Object(
        names
            .iter()
            .zip(scores)
            .map(|(name, s)| ((*name).to_string(), serde_json::json!(s.metrics)))
            .collect(),
    );
    python_value(py, &value)
}

/// Predicted rollouts from Python: a list of arrays `[T, N, D]` (or `[T − C, N, D]`, the
/// predictions alone), or one array `[trajectories, T, N, D]`; any float dtype.
fn rollouts_from<'py>(py: Python<'py>, pred: &Bound<'py, PyAny>) -> PyResult<Vec<ForeignRollout>> {
    let numpy = py.import("numpy")?;
    let as_f32 = |item: &Bound<'py, PyAny>| -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let array = numpy.call_method1("ascontiguousarray", (item, "float32"))?;
        Ok(array.cast_into::<PyArrayDyn<f32>>()?)
    };
    let items: Vec<Bound<'py, PyAny>> = if pred.is_instance_of::<PyList>()
        || pred.is_instance_of::<pyo3::types::PyTuple>()
    {
        pred.try_iter()?.collect::<PyResult<_>>()?
    } else {
        let batch = as_f32(pred)?;
        if batch.ndim() != 4 {
            return Err(PyValueError::new_err(format!(
                "pred has shape {:?}: give a list of [frames, particles, dim] arrays or one [trajectories, frames, particles, dim] array",
                batch.shape()
            )));
        }
        batch.try_iter()?.collect::<PyResult<_>>()?
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let array = as_f32(item)?;
            let shape = array.shape().to_vec();
            let [n_frames, n_particles, dim] = shape[..] else {
                return Err(PyValueError::new_err(format!(
                    "pred[{i}] has shape {shape:?}: expected [frames, particles, dim]"
                )));
            };
            Ok(ForeignRollout {
                source: format!("pred[{i}]"),
                format: RolloutFormat::NumpyArray,
                n_frames,
                n_particles,
                dim,
                position: array.readonly().as_slice()?.to_vec(),
                context: None,
                ground_truth: None,
                particle_types: None,
            })
        })
        .collect()
}

/// Scores predicted rollouts of split `split` of `dataset` as `learnsim score` does: on the
/// window from frame 0, beside the baselines scored the same way, judged by the bars of
/// `case` (default: the dataset's). `pred` is a list of `[T, N, D]` arrays (the `context` input
/// frames first; or the `T − context` predicted frames alone) or one `[trajectories, T, N, D]`
/// array. Returns metrics.json's fields as a dict (`metrics`, `baselines`, `bars`, `pass`, ...).
#[pyfunction]
#[pyo3(signature = (pred, dataset, split="test", case=None, context=None, model="external"))]
fn score<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    dataset: PathBuf,
    split: &str,
    case: Option<&str>,
    context: Option<usize>,
    model: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let rollouts = rollouts_from(py, pred)?;
    let data = dataset_at(&dataset)?;
    let report = py.detach(|| -> anyhow::Result<serde_json::Value> {
        let prepared = particle::prepare(&data, split, &rollouts, case, context)?;
        particle::judge(&prepared, model)
    });
    python_value(py, &report.map_err(error)?)
}

/// Converts the dataset in `src` into `dst` in format `to` ("learnsim", "deepmind",
/// "geoelements" or "lagrangebench"), as `learnsim convert` does; returns its summary.
#[pyfunction]
#[pyo3(signature = (src, dst, to="learnsim"))]
fn convert(src: PathBuf, dst: PathBuf, to: &str) -> PyResult<String> {
    use clap::ValueEnum;
    use learnsim_cases::convert::{ConvertArgs, FormatArg, LayoutArg};
    let to = FormatArg::from_str(to, true).map_err(|_| {
        PyValueError::new_err(format!(
            "to `{to}`: allowed \"learnsim\", \"deepmind\", \"geoelements\" or \"lagrangebench\""
        ))
    })?;
    learnsim_cases::convert::convert(&ConvertArgs {
        from: None,
        to,
        geoelements_layout: LayoutArg::GnsData,
        input: src,
        output: dst,
    })
    .map_err(error)
}

/// The module: the functions above, `DEFAULT_CONTEXT` (the input frames of a GNS or
/// LagrangeBench rollout) and `__version__`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cases, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(baselines, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add("DEFAULT_CONTEXT", DEFAULT_CONTEXT)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
