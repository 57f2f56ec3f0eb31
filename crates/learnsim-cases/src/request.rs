//! What a user asks for: the case, its tier and size, the run folder, the config.

use crate::configs::Overrides;
use crate::run_folder::Restart;
use clap::{Args, ValueEnum};
use learnsim_sim::Tier;
use std::path::PathBuf;

/// Problem size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TierArg {
    /// Minutes on two cores.
    Cpu,
    /// The published datasets' sizes.
    Paper,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Self {
        match t {
            TierArg::Cpu => Tier::Cpu,
            TierArg::Paper => Tier::Paper,
        }
    }
}

/// Arguments of `learnsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Case name (see `learnsim cases`).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::case_names()))]
    pub case: String,
    /// Run folder [default: runs/CASE, runs/CASE-quick with --quick, runs/CASE-paper].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Problem size of the generated data.
    #[arg(long, value_enum, default_value_t = TierArg::Cpu)]
    pub tier: TierArg,
    /// A 1–2 minute version for smoke tests: little data, few steps.
    #[arg(long)]
    pub quick: bool,
    /// Training config [default: configs/CASE.toml if the working folder has one, else the
    /// shipped one built into learnsim].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replace another run found in the run folder instead of refusing (only a folder with a
    /// run.json is ever deleted).
    #[arg(long)]
    pub restart: bool,
    /// The config's `seed` instead of the file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Change one config field: `--set steps=2000`, `--set lr_final=1e-5`, a dotted key for a
    /// table (`--set flow.n=64`); repeatable. Validated like the file, before any work.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `config` is a finished run's saved config, already at its tier (`learnsim eval --run`):
    /// the tier's table is not applied again. Not an option.
    #[arg(skip)]
    pub resolved: bool,
}

impl RunArgs {
    /// `--seed` and `--set`.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            seed: self.seed,
            set: self.set.clone(),
        }
    }

    /// What to do with another run in the folder.
    pub fn restart(&self) -> Restart {
        if self.restart {
            Restart::Replace
        } else {
            Restart::Refuse
        }
    }

    /// The run folder: `--out`, else `runs/CASE` for the CPU tier, `runs/CASE-quick` for
    /// `--quick` and `runs/CASE-paper` for the paper tier, so that the README's smoke run and
    /// main job never share a folder (issue #33).
    pub fn out_dir(&self, case: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let suffix = if self.quick {
                "-quick"
            } else if matches!(self.tier, TierArg::Paper) {
                "-paper"
            } else {
                ""
            };
            PathBuf::from("runs").join(format!("{case}{suffix}"))
        })
    }
}

impl RunArgs {
    /// The CPU-tier run of `case` into its default folder, with its default config.
    pub fn new(case: &str) -> Self {
        Self {
            case: case.to_string(),
            out: None,
            tier: TierArg::Cpu,
            quick: false,
            config: None,
            restart: false,
            seed: None,
            set: Vec::new(),
            resolved: false,
        }
    }

    /// The same run at quick size (into `runs/CASE-quick` unless an `out` is set).
    pub fn quick(mut self) -> Self {
        self.quick = true;
        self
    }
}
