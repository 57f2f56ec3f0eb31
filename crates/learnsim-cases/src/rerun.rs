//! `learnsim eval --run` and `learnsim render --run` for the cases that are not particle
//! cases: the case's own pipeline rerun on its folder, which resumes every network from its
//! finished checkpoint (no training) and rewrites the scores, report, figures and leaderboard
//! row from the run's saved config.

use crate::run_folder::{RunRecord, RunState};
use crate::{Case, RunArgs, TierArg, find};
use anyhow::{Result, bail};
use std::path::Path;

/// Re-scores the finished run in `dir` (a run of a registered case that is not a particle
/// case) with its saved config, tier and seed. An unfinished run is refused: re-scoring it
/// would train the rest of it.
pub fn rescore(dir: &Path, record: &RunRecord) -> Result<String> {
    let case: &dyn Case = find(&record.identity.case)?;
    if record.state != RunState::Finished {
        bail!(
            "{} holds a {} run that is not finished ({:?}); `learnsim run {} --out {}` resumes it",
            dir.display(),
            case.name(),
            record.state,
            case.name(),
            dir.display()
        );
    }
    let config = dir.join("config.toml");
    if !config.exists() {
        bail!(
            "{} has no config.toml: the run never got past its setup",
            dir.display()
        );
    }
    let tier = record.identity.tier.as_str();
    let args = RunArgs {
        case: case.name().to_string(),
        out: Some(dir.to_path_buf()),
        tier: if tier == "paper" {
            TierArg::Paper
        } else {
            TierArg::Cpu
        },
        quick: tier == "quick",
        config: Some(config),
        restart: false,
        seed: None,
        set: Vec::new(),
        // The saved config is the resolved one: read as it is, the run's identity (config hash)
        // is unchanged and the folder is claimed as the same run.
        resolved: true,
    };
    case.run(&args)
}
