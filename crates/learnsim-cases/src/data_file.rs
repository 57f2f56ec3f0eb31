//! The data of the cases that simulate in memory (object, control, surrogate and plasma-1d) as
//! numpy archives: `learnsim generate CASE` writes `OUT/SPLIT.npz` for each split and
//! `OUT/config.toml`, the resolved config that made them. Reading them needs numpy alone:
//! `np.load("train.npz")["00003/position"]`. Each member is one quantity of one item
//! (trajectory, configuration, episode, rope rollout, sample), named `INDEX/QUANTITY` with a
//! five-digit index; what is one per split (a parameter table) has no index.
//!
//! The simulation is the run's own function, so the file holds exactly what `learnsim run`
//! trains and scores on (same config, same seeds).

use crate::GenerateArgs;
use crate::runner::generate_setup;
use anyhow::{Context, Result, bail};
use learnsim_data::npz::write_npz;
use learnsim_data::pickle::{ArrayValues, PyValue};
use learnsim_data::write_bytes_atomically;
use learnsim_train::Validate;

/// The members of one split's archive, in the order written.
#[derive(Debug, Default)]
pub struct Arrays {
    members: Vec<(String, PyValue)>,
}

impl Arrays {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// A float64 array of `shape` (C order).
    ///
    /// # Shapes
    /// - `values`: the product of `shape`
    pub fn floats(&mut self, name: impl Into<String>, shape: Vec<usize>, values: Vec<f64>) {
        debug_assert_eq!(shape.iter().product::<usize>(), values.len());
        self.members
            .push((name.into(), PyValue::Array(shape, ArrayValues::F64(values))));
    }

    /// An int64 array of `[N]`.
    pub fn ints(&mut self, name: impl Into<String>, values: Vec<i64>) {
        let shape = vec![values.len()];
        self.members
            .push((name.into(), PyValue::Array(shape, ArrayValues::I64(values))));
    }

    /// Per-item points as `[N, D]`.
    pub fn points<const D: usize>(&mut self, name: impl Into<String>, points: &[[f64; D]]) {
        let values = points.iter().flatten().copied().collect();
        self.floats(name, vec![points.len(), D], values);
    }

    /// A trajectory of points as `[T, N, D]`; every frame must hold the same N.
    pub fn frames<const D: usize>(
        &mut self,
        name: impl Into<String>,
        frames: &[Vec<[f64; D]>],
    ) -> Result<()> {
        let name = name.into();
        let n = frames.first().map_or(0, Vec::len);
        if let Some(t) = frames.iter().position(|f| f.len() != n) {
            bail!(
                "{name}: frame {t} holds {} points, frame 0 {n}",
                frames[t].len()
            );
        }
        let values = frames.iter().flatten().flatten().copied().collect();
        self.floats(name, vec![frames.len(), n, D], values);
        Ok(())
    }

    /// Rows of equal length as `[R, C]`.
    pub fn rows(&mut self, name: impl Into<String>, rows: &[Vec<f64>]) -> Result<()> {
        let name = name.into();
        let width = rows.first().map_or(0, Vec::len);
        if let Some(r) = rows.iter().position(|row| row.len() != width) {
            bail!(
                "{name}: row {r} holds {} values, row 0 {width}",
                rows[r].len()
            );
        }
        self.floats(name, vec![rows.len(), width], rows.concat());
        Ok(())
    }

    /// A series as `[T]`.
    pub fn series(&mut self, name: impl Into<String>, values: &[f64]) {
        self.floats(name, vec![values.len()], values.to_vec());
    }

    /// How many members so far.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The member name of quantity `what` of item `index`.
pub fn member(index: usize, what: &str) -> String {
    format!("{index:05}/{what}")
}

/// What a case's data stage makes: one archive per split (in the order of the split names
/// given to [`generate`]) and what they hold, for the summary line ("40 trajectories").
#[derive(Debug, Default)]
pub struct Archives {
    /// One per split.
    pub splits: Vec<Arrays>,
    /// Count and noun.
    pub what: String,
}

/// One archive per set, one `INDEX/…` group per item written by `item(arrays, index, item)`;
/// the summary counts the items as `noun`.
pub fn per_item<S: AsRef<[T]>, T>(
    sets: &[S],
    noun: &str,
    mut item: impl FnMut(&mut Arrays, usize, &T) -> Result<()>,
) -> Result<Archives> {
    let mut splits = Vec::with_capacity(sets.len());
    let mut count = 0;
    for set in sets {
        let mut arrays = Arrays::new();
        for (i, t) in set.as_ref().iter().enumerate() {
            item(&mut arrays, i, t)?;
        }
        count += set.as_ref().len();
        splits.push(arrays);
    }
    Ok(Archives {
        splits,
        what: format!("{count} {noun}"),
    })
}

/// `learnsim generate` for a case whose data are archives: resolves the config as `learnsim
/// run` would (`--quick`, `--tier`, `--config`, `--seed`), claims `OUT` (default `data/CASE`)
/// — a folder that holds another config's data, or archives without the config that made them,
/// is refused rather than mixed or overwritten — and, unless `OUT` already holds every split of
/// this very config (the data are deterministic in it), runs `make` and writes each split's
/// archive, then `config.toml` (last: a folder whose config is written holds every split).
/// Returns the summary line.
pub fn generate<C: serde::de::DeserializeOwned + serde::Serialize + Validate>(
    args: &GenerateArgs,
    name: &str,
    splits: &[&str],
    make: impl FnOnce(&C) -> Result<Archives>,
) -> Result<String> {
    let (config, tier, out) = generate_setup::<C>(args, name)?;
    let config_text = toml::to_string(&config)?;
    let recorded = out.join("config.toml");
    let archive = |split: &str| out.join(format!("{split}.npz"));
    let listed = format!("{}.npz", splits.join(".npz, "));
    if let Ok(existing) = std::fs::read_to_string(&recorded) {
        if existing != config_text {
            bail!(
                "{} holds {name} data of another config ({}); choose another --out or remove the folder",
                out.display(),
                recorded.display()
            );
        }
        if splits.iter().all(|s| archive(s).is_file()) {
            return Ok(format!(
                "{name} ({tier} tier): {} already holds this config's data ({listed})",
                out.display()
            ));
        }
    } else if splits.iter().any(|s| archive(s).exists()) {
        bail!(
            "{} holds .npz files but no config.toml that made them; choose another --out or remove them",
            out.display()
        );
    }
    let archives = make(&config)?;
    if archives.splits.len() != splits.len() {
        bail!(
            "{name} made {} archives for {} splits",
            archives.splits.len(),
            splits.len()
        );
    }
    for (split, arrays) in splits.iter().zip(&archives.splits) {
        let path = archive(split);
        let bytes =
            write_npz(&arrays.members).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        write_bytes_atomically(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    write_bytes_atomically(&recorded, config_text.as_bytes())?;
    Ok(format!(
        "{name} ({tier} tier): {} in {} ({listed}, config.toml)",
        archives.what,
        out.display()
    ))
}
