//! The five particle cases (water-drop-2d, sand-2d, goop-2d, tgv-2d, dam-break-2d): one GNS
//! pipeline over the scenes of `learnsim_sim::Case`.

mod evaluate;
mod finished;
pub mod generate;
mod pipeline;
pub mod playback;
mod score;
pub mod shard;
mod train;

pub use evaluate::{Evaluation, RolloutArgs, evaluate, rollout_command};
pub use finished::{EvalArgs, RenderArgs, RenderFormat, eval_command, render_command, render_run};
pub use pipeline::{finish, leaderboard_of};
pub use score::{DEFAULT_CONTEXT, Prepared, ScoreArgs, judge, prepare, score_command};
pub use train::{TrainArgs, read_config, train, train_command};

use crate::request::RunArgs;
use crate::{Case, CaseKind};
use anyhow::Result;

/// A particle case: a scene of the ground-truth registry and the GNS pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Particle(pub learnsim_sim::Case);

impl Case for Particle {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn description(&self) -> &'static str {
        self.0.description()
    }

    fn kind(&self) -> CaseKind {
        CaseKind::Particle
    }

    fn ranks(&self) -> crate::Ranks {
        crate::Ranks::Many
    }

    fn run(&self, args: &RunArgs) -> Result<String> {
        pipeline::run(self.0, args)
    }

    fn generate(&self, args: &generate::GenerateArgs) -> Result<String> {
        generate::run(args)
    }
}
