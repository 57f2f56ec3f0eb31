//! plasma-1d's data as numpy archives: `learnsim generate plasma-1d`.

use super::NAME;
use crate::GenerateArgs;
use crate::data_file::{self, member};
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
    data_file::generate(args, NAME, &splits, |config: &PlasmaConfig| {
        let sets = [Split::Train, Split::Valid, Split::Test]
            .into_iter()
            .zip(config.trajectories)
            .map(|(split, runs)| config.simulate(split, runs))
            .collect::<Result<Vec<_>, _>>()?;
        data_file::per_item(&sets, "PIC runs", |arrays, i, run| {
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
            Ok(())
        })
    })
}
