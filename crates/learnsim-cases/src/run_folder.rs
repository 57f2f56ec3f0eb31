//! A run folder's identity, `run.json` (issue #33): what the run is (case, tier, seed, the
//! hashes of its resolved config and of its dataset's metadata, learnsim's version) and where
//! it stands (training, finished, diverged; training seconds summed over every segment).
//!
//! A command that writes into a folder claims it first: an empty or new folder becomes this
//! run's; a folder whose `run.json` names the same run is resumed; anything else is refused
//! before a byte is written, with what differs and how to start fresh.

use crate::leaderboard::config_hash;
use anyhow::{Context, Result, bail};
use learnsim_data::write_bytes_atomically;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file in every run folder.
pub const FILE: &str = "run.json";

/// What makes two runs the same run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Case name.
    pub case: String,
    /// `quick`, `cpu` or `paper`.
    pub tier: String,
    /// The config's seed, where it has one.
    pub seed: Option<u64>,
    /// FNV-1a of the resolved config's TOML text.
    pub config_hash: String,
    /// FNV-1a of the dataset's metadata.json (which holds its case, seed, sizes and
    /// statistics); `none` for cases that keep no dataset folder.
    pub dataset_hash: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Started; not every step is done (a killed run stays here until resumed).
    Training,
    /// Trained and scored.
    Finished,
    /// Training stopped on a non-finite loss.
    Diverged,
}

/// The contents of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// What the run is.
    #[serde(flatten)]
    pub identity: RunIdentity,
    /// learnsim's version that started it.
    pub learnsim_version: String,
    /// Where it stands.
    pub state: RunState,
}

/// What to do with a folder that holds another run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Refuse it.
    Refuse,
    /// Delete that run's folder and start this one there (`--restart`).
    Replace,
}

/// The identity's hash of a dataset: its metadata.json's bytes.
pub fn dataset_hash(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("metadata.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(config_hash(&text))
}

/// Reads `dir/run.json`, if the folder has one.
pub fn read(dir: &Path) -> Result<Option<RunRecord>> {
    let path = dir.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let record = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a learnsim run record (move the folder away or pass --out elsewhere)",
            path.display()
        )
    })?;
    Ok(Some(record))
}

fn write(dir: &Path, record: &RunRecord) -> Result<()> {
    write_bytes_atomically(
        &dir.join(FILE),
        serde_json::to_string_pretty(record)?.as_bytes(),
    )?;
    Ok(())
}

/// Sets the state of the run in `dir` (which must hold a run.json).
pub fn set_state(dir: &Path, state: RunState) -> Result<()> {
    let mut record = read(dir)?.with_context(|| format!("{} holds no {FILE}", dir.display()))?;
    record.state = state;
    write(dir, &record)
}

/// The fields of `want` that `have` differs in, as "field: have → want" lines. The dataset
/// hash is compared only where both sides know it (a run claims its folder before generating
/// its data).
fn differences(have: &RunIdentity, want: &RunIdentity) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, a: &str, b: &str| {
        if a != b {
            out.push(format!("{name}: {a} (in the folder) vs {b} (this command)"));
        }
    };
    check("case", &have.case, &want.case);
    check("tier", &have.tier, &want.tier);
    check(
        "seed",
        &format!("{:?}", have.seed),
        &format!("{:?}", want.seed),
    );
    check("config (hash)", &have.config_hash, &want.config_hash);
    if have.dataset_hash != PENDING && want.dataset_hash != PENDING {
        check("dataset (hash)", &have.dataset_hash, &want.dataset_hash);
    }
    out
}

/// The dataset hash of a run whose data does not exist yet.
pub const PENDING: &str = "pending";

/// Whether a claimed folder is new to this run or resumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The folder was empty or absent: this run starts there.
    Fresh,
    /// The folder holds this same run: it continues.
    Resume,
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .next()
        .is_none())
}

/// Claims `dir` for the run `identity` (see the module's rules), writing run.json in state
/// `training` unless the folder already names this run.
pub fn claim(dir: &Path, identity: &RunIdentity, restart: Restart) -> Result<Claim> {
    let fresh = |dir: &Path| -> Result<Claim> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write(
            dir,
            &RunRecord {
                identity: identity.clone(),
                learnsim_version: env!("CARGO_PKG_VERSION").into(),
                state: RunState::Training,
            },
        )?;
        Ok(Claim::Fresh)
    };
    if dir.exists() && !dir.is_dir() {
        bail!("{} exists and is not a folder", dir.display());
    }
    if !dir.exists() || is_empty_dir(dir)? {
        return fresh(dir);
    }
    let Some(record) = read(dir)? else {
        bail!(
            "{} is not empty and holds no {FILE}, so it is not a learnsim run folder; nothing was written. Pass --out with a new or empty folder",
            dir.display()
        );
    };
    let diff = differences(&record.identity, identity);
    if diff.is_empty() {
        if record.identity.dataset_hash == PENDING && identity.dataset_hash != PENDING {
            let mut record = record;
            record.identity.dataset_hash = identity.dataset_hash.clone();
            write(dir, &record)?;
        }
        return Ok(Claim::Resume);
    }
    match restart {
        Restart::Replace => {
            remove_run_folder(dir)?;
            fresh(dir)
        }
        Restart::Refuse => bail!(
            "{} holds another run, so it was left as it is:\n  {}\nStart this one in another folder (--out) or replace that run (--restart)",
            dir.display(),
            diff.join("\n  ")
        ),
    }
}

/// Deletes a run folder, which must hold a run.json (nothing else is ever deleted).
fn remove_run_folder(dir: &Path) -> Result<()> {
    if read(dir)?.is_none() {
        bail!("{} holds no {FILE}; refusing to delete it", dir.display());
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))
}

/// The identity of `dir`'s run, for commands that read a finished run (eval, render).
pub fn require(dir: &Path) -> Result<RunRecord> {
    read(dir)?.with_context(|| {
        format!(
            "{} holds no {FILE}: not a learnsim run folder (runs started before run.json existed can be re-run with `learnsim run`)",
            dir.display()
        )
    })
}
