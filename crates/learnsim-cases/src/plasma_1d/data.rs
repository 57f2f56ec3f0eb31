//! plasma-1d's data as numpy archives: `learnsim generate plasma-1d`.

use super::{NAME, paper, quick};
use crate::GenerateArgs;
use crate::data_file::{self, Arrays, member};
use anyhow::Result;
use learnsim_sim::Split;
use learnsim_sim::plasma::Scenario;
use learnsim_train::plasma::PlasmaConfig;

/// `learnsim generate plasma-1d`: the PIC runs whose (ρ, E) pairs the run trains and tests its
/// field solvers on, as `OUT/{train,valid,test}.npz` (per run `INDEX/rho` `[F, cells^D]` and
/// `INDEX/e` `[F, D·cells^D]`, component-major, at the recorded steps `INDEX/step` `[F]`;
/// `INDEX/field_energy`, `INDEX/kinetic_energy` and `INDEX/mode_power` `[steps + 1]`;
/// `INDEX/scenario` `[1]` (0 two-stream, 1 Landau), `INDEX/k`, `INDEX/amplitude`,
/// `INDEX/length`, `INDEX/dt` and `INDEX/theory_rate` `[1]`).
pub(super) fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "test"];
    let setup = match data_file::setup::<PlasmaConfig>(args, NAME, &splits, quick, paper)? {
        Ok(setup) => setup,
        Err(already) => return Ok(already),
    };
    let config = &setup.config;
    let mut files = Vec::new();
    let mut count = 0;
    for ((name, split), runs) in splits
        .into_iter()
        .zip([Split::Train, Split::Valid, Split::Test])
        .zip(config.trajectories)
    {
        let mut arrays = Arrays::new();
        for (i, run) in config.simulate(split, runs)?.iter().enumerate() {
            let (history, scenario) = (&run.history, &run.scenario);
            let rho: Vec<Vec<f64>> = history.fields.iter().map(|f| f.rho.clone()).collect();
            let e: Vec<Vec<f64>> = history.fields.iter().map(|f| f.e.clone()).collect();
            arrays.rows(member(i, "rho"), &rho)?;
            arrays.rows(member(i, "e"), &e)?;
            let steps = history.fields.iter().map(|f| f.step as i64).collect();
            arrays.ints(member(i, "step"), steps);
            arrays.series(member(i, "field_energy"), &history.field_energy);
            arrays.series(member(i, "kinetic_energy"), &history.kinetic_energy);
            arrays.series(member(i, "mode_power"), &history.mode_power);
            let (kind, k, amplitude) = match *scenario {
                Scenario::TwoStream { k, amplitude, .. } => (0, k, amplitude),
                Scenario::Landau { k, amplitude, .. } => (1, k, amplitude),
            };
            arrays.ints(member(i, "scenario"), vec![kind]);
            arrays.series(member(i, "k"), &[k]);
            arrays.series(member(i, "amplitude"), &[amplitude]);
            arrays.series(member(i, "length"), &[history.length]);
            arrays.series(member(i, "dt"), &[history.dt]);
            arrays.series(member(i, "theory_rate"), &[scenario.theory_rate()]);
            count += 1;
        }
        files.push((name, arrays));
    }
    setup.write(NAME, files, &format!("{count} PIC runs"))
}
