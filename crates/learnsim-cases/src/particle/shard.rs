//! Sharded generation for job arrays: `learnsim generate CASE --shard I/N` simulates the
//! trajectories `t % N == I` of every split; `learnsim merge DIR` joins the N shards into the
//! dataset one process would have written, bytes of positions and metadata alike (each
//! trajectory comes from its own seed, and the statistics are computed over the union in
//! trajectory order).
//!
//! A shard is `SPLIT.shard-I-of-N.h5` (groups numbered as in the whole split; a split with no
//! trajectory in this shard has no file) and `shard-I-of-N.json`, the recipe, written last: a
//! shard whose JSON is missing did not finish.

use super::generate::Recipe;
use anyhow::{Context, Result, bail};
use learnsim_core::Trajectory;
use learnsim_data::{
    read_split_groups, write_atomically, write_metadata, write_split, write_split_groups,
};
use learnsim_sim::Split;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

/// Shard `index` of `count`: the trajectories `t % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards the dataset is cut into.
    pub count: usize,
}

/// At most this many shards: one per trajectory of the largest dataset `generate` accepts.
const MAX_SHARDS: usize = 100_000;

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected I/N, e.g. 0/4"))?;
        let parse = |p: &str| {
            p.trim()
                .parse::<usize>()
                .map_err(|e| format!("`{text}`: `{p}`: {e}"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if !(1..=MAX_SHARDS).contains(&count) || index >= count {
            return Err(format!(
                "`{text}`: need 0 <= I < N and 1 <= N <= {MAX_SHARDS}"
            ));
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    fn stem(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// The trajectory numbers of this shard in a split of `n`.
    fn indices(self, n: usize) -> Vec<usize> {
        (self.index..n).step_by(self.count).collect()
    }
}

/// What `shard-I-of-N.json` holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Manifest {
    shard: Shard,
    recipe: Recipe,
}

/// Simulates one shard into `out`. A shard already there is replaced only if it is the same
/// shard of the same recipe (so a failed array task can be rerun); another is refused.
pub fn write(recipe: &Recipe, shard: Shard, out: &Path) -> Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let manifest_path = out.join(format!("{}.json", shard.stem()));
    let manifest = Manifest {
        shard,
        recipe: recipe.clone(),
    };
    if manifest_path.exists() {
        let earlier = read_manifest(&manifest_path)?;
        if earlier != manifest {
            bail!(
                "{} is a shard of another dataset ({}); use another --out or delete it",
                manifest_path.display(),
                difference(&earlier.recipe, recipe)
            );
        }
    }
    let started = Instant::now();
    let indices: Vec<Vec<usize>> = recipe
        .trajectories
        .iter()
        .map(|&n| shard.indices(n))
        .collect();
    let splits = recipe.simulate(&indices)?;
    let convention = recipe.metadata_convention()?;
    let mut written = 0;
    for ((split, numbers), trajectories) in Split::ALL.iter().zip(&indices).zip(&splits) {
        if numbers.is_empty() {
            continue;
        }
        let path = out.join(format!("{}.{}.h5", split.name(), shard.stem()));
        write_split_groups(&path, numbers, trajectories, convention)?;
        written += numbers.len();
    }
    let json = serde_json::to_vec_pretty(&manifest)?;
    write_atomically(&manifest_path, |tmp| {
        std::fs::write(tmp, &json).map_err(|e| learnsim_data::DataError::io(tmp, e))
    })
    .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(format!(
        "{}: shard {} of {}: {written} trajectories written to {} in {:.1} s; `learnsim merge {}` once all {} shards are there",
        recipe.case,
        shard.index,
        shard.count,
        out.display(),
        started.elapsed().as_secs_f64(),
        out.display(),
        shard.count
    ))
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a shard manifest", path.display()))?;
    let shard = manifest.shard;
    if shard.count == 0 || shard.count > MAX_SHARDS || shard.index >= shard.count {
        bail!(
            "{}: shard {} of {}: need 0 <= I < N <= {MAX_SHARDS}",
            path.display(),
            shard.index,
            shard.count
        );
    }
    manifest
        .recipe
        .validate()
        .with_context(|| format!("{} holds a recipe learnsim cannot generate", path.display()))?;
    Ok(manifest)
}

/// Names the first field in which two recipes differ.
fn difference(a: &Recipe, b: &Recipe) -> String {
    let fields = [
        ("case", a.case != b.case),
        ("tier", a.tier != b.tier),
        ("seed", a.seed != b.seed),
        ("frames", a.frames != b.frames),
        ("trajectories", a.trajectories != b.trajectories),
        ("friction angles", a.friction_angles != b.friction_angles),
        ("scene", a.scene != b.scene),
    ];
    match fields.iter().find(|(_, differs)| *differs) {
        Some((name, _)) => format!("different {name}"),
        None => "the same recipe".into(),
    }
}

/// `learnsim merge DIR`: checks that DIR holds every shard of one recipe, each exactly once, and
/// writes `SPLIT.h5` and `metadata.json` beside them. The shards stay (delete them once the
/// dataset is checked). A folder that already holds a dataset is refused.
pub fn merge(dir: &Path) -> Result<String> {
    let started = Instant::now();
    for existing in ["metadata.json", "train.h5", "valid.h5", "test.h5"] {
        if dir.join(existing).exists() {
            bail!(
                "{} already holds a dataset ({existing}); merge writes into a folder of shards only",
                dir.display()
            );
        }
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut manifests: BTreeMap<usize, (PathBuf, Manifest)> = BTreeMap::new();
    let mut first: Option<(PathBuf, Manifest)> = None;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.starts_with("shard-") && name.ends_with(".json")) {
            continue;
        }
        let manifest = read_manifest(&path)?;
        if path.file_name() != Some(format!("{}.json", manifest.shard.stem()).as_ref()) {
            bail!(
                "{} holds shard {} of {}: its name does not match",
                path.display(),
                manifest.shard.index,
                manifest.shard.count
            );
        }
        if let Some((first_path, reference)) = &first {
            if manifest.shard.count != reference.shard.count {
                bail!(
                    "{} is one of {} shards, {} one of {}: shards of two cuts",
                    path.display(),
                    manifest.shard.count,
                    first_path.display(),
                    reference.shard.count
                );
            }
            if manifest.recipe != reference.recipe {
                bail!(
                    "{} and {} are shards of different datasets: {}",
                    path.display(),
                    first_path.display(),
                    difference(&manifest.recipe, &reference.recipe)
                );
            }
        } else {
            first = Some((path.clone(), manifest.clone()));
        }
        manifests.insert(manifest.shard.index, (path, manifest));
    }
    let Some((_, reference)) = first else {
        bail!(
            "{} holds no shards (shard-I-of-N.json); `learnsim generate CASE --shard I/N --out {}` writes them",
            dir.display(),
            dir.display()
        );
    };
    let count = reference.shard.count;
    if let Some(missing) = (0..count).find(|i| !manifests.contains_key(i)) {
        bail!(
            "shard {missing} of {count} is missing ({} not found; an unfinished shard has no manifest)",
            dir.join(format!(
                "{}.json",
                Shard {
                    index: missing,
                    count
                }
                .stem()
            ))
            .display()
        );
    }
    let recipe = reference.recipe;
    let convention = recipe.metadata_convention()?;
    let mut splits: Vec<Vec<Trajectory>> = Vec::with_capacity(3);
    for (split, &n) in Split::ALL.iter().zip(&recipe.trajectories) {
        let mut slots: Vec<Option<Trajectory>> = vec![None; n];
        for (index, (_, manifest)) in &manifests {
            let expected = manifest.shard.indices(n);
            let path = dir.join(format!("{}.{}.h5", split.name(), manifest.shard.stem()));
            if expected.is_empty() {
                if path.exists() {
                    bail!(
                        "{}: shard {index} of {count} has no {} trajectory of {n}, yet this file exists",
                        path.display(),
                        split.name()
                    );
                }
                continue;
            }
            let groups = read_split_groups(&path, convention)
                .with_context(|| format!("shard {index} of {count}, {} split", split.name()))?;
            let found: Vec<usize> = groups.iter().map(|(i, _)| *i).collect();
            if found != expected {
                bail!(
                    "{}: holds trajectories {found:?}, shard {index} of {count} should hold {expected:?}",
                    path.display()
                );
            }
            for (i, trajectory) in groups {
                slots[i] = Some(trajectory);
            }
        }
        let trajectories: Vec<Trajectory> = slots
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                t.ok_or_else(|| anyhow::anyhow!("{} trajectory {i}: in no shard", split.name()))
            })
            .collect::<Result<_>>()?;
        splits.push(trajectories);
    }
    let metadata = recipe.metadata(&splits)?;
    for (split, trajectories) in Split::ALL.iter().zip(&splits) {
        write_split(
            &dir.join(format!("{}.h5", split.name())),
            trajectories,
            convention,
        )?;
    }
    // Written last: a folder with metadata.json is a whole dataset.
    write_metadata(&dir.join("metadata.json"), &metadata)?;
    Ok(format!(
        "{}: merged {count} shards into {} train / {} valid / {} test trajectories in {} in {:.1} s (the shard files can now be deleted)",
        recipe.case,
        recipe.trajectories[0],
        recipe.trajectories[1],
        recipe.trajectories[2],
        dir.display(),
        started.elapsed().as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_every_split() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/200000"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        for count in 1..=4 {
            for n in 0..10 {
                let mut all: Vec<usize> = (0..count)
                    .flat_map(|index| Shard { index, count }.indices(n))
                    .collect();
                all.sort_unstable();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "{count} shards of {n}");
            }
        }
    }
}
