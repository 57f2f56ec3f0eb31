//! Probe: runs one Landau and one two-stream scenario and prints the measured rates beside
//! theory (used to choose the recipe's ranges and fit windows; see docs/plasma.md).
//!
//! `cargo run --release -p learnsim-sim --example plasma_probe -- PARTICLES CELLS DT`

use learnsim_sim::plasma::{
    FourierPoisson, PlasmaRecipe, Record, Scenario, Stencil, damping_rate, growth_rate,
    landau_root, run_pic, two_stream_growth_rate,
};

#[expect(clippy::print_stdout, reason = "a probe prints its figures")]
fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let particles = args.first().copied().unwrap_or(40_000.0) as usize;
    let cells = args.get(1).copied().unwrap_or(64.0) as usize;
    let dt = args.get(2).copied().unwrap_or(0.1);
    let text = std::fs::read_to_string("configs/plasma-1d.toml").expect("configs/plasma-1d.toml");
    let table: toml::Value = toml::from_str(&text).expect("toml");
    let mut recipe: PlasmaRecipe = table["plasma"].clone().try_into().expect("[plasma]");
    recipe.particles = particles;
    recipe.cells = cells;
    recipe.dt = dt;
    let scenarios = [
        Scenario::Landau {
            k: 0.5,
            amplitude: 0.01,
            phase: 0.0,
        },
        Scenario::Landau {
            k: 0.5,
            amplitude: 0.03,
            phase: 0.0,
        },
        Scenario::Landau {
            k: 0.45,
            amplitude: 0.02,
            phase: 0.0,
        },
        Scenario::Landau {
            k: 0.4,
            amplitude: 0.01,
            phase: 1.0,
        },
        Scenario::Landau {
            k: 0.4,
            amplitude: 0.03,
            phase: 1.0,
        },
        Scenario::Landau {
            k: 0.4,
            amplitude: 0.05,
            phase: 1.0,
        },
        Scenario::TwoStream {
            v0: 1.5,
            k: 0.6 / 1.5,
            mode: 1,
            amplitude: 1e-3,
            phase: 0.0,
        },
        Scenario::TwoStream {
            v0: 1.0,
            k: 0.45,
            mode: 2,
            amplitude: 1e-4,
            phase: 0.3,
        },
    ];
    for s in scenarios {
        let electrons = s.electrons::<1>(&recipe).expect("electrons");
        let grid = s.grid::<1>(recipe.cells);
        let mut solver = FourierPoisson::new(recipe.cells, Stencil::Spectral);
        let record = Record {
            mode: s.mode(),
            ..Record::default()
        };
        let clock = std::time::Instant::now();
        let h = run_pic(
            grid,
            &electrons,
            recipe.dt,
            s.steps(&recipe),
            &mut solver,
            &record,
        )
        .expect("run");
        let secs = clock.elapsed().as_secs_f64();
        let t = h.times();
        let p0 = h.momentum.iter().map(|p| p[0].abs()).fold(0.0, f64::max);
        println!(
            "{s:?}: {secs:.2} s, energy drift {:.2e}, max |P| {p0:.2e}",
            h.energy_drift()
        );
        match s {
            Scenario::Landau { k, .. } => {
                for (a, b) in [(1.0, 15.0), (1.0, 20.0), (2.0, 25.0), (1.0, 30.0)] {
                    let fit = damping_rate(&t, &h.mode_power, a, b);
                    println!(
                        "  [{a}, {b}] theory {:.4} {:.4}, fit {:?}",
                        landau_root(k).im,
                        landau_root(k).re,
                        fit.map(|f| (f.rate, f.frequency, f.peaks.len()))
                    );
                }
            }
            Scenario::TwoStream { v0, k, .. } => {
                let fit = growth_rate(&t, &h.mode_power, 10.0, 1e-2);
                let wmax = h.field_energy.iter().copied().fold(0.0, f64::max);
                println!(
                    "  theory {:.4}, fit {:?}, max W {wmax:.3e}",
                    two_stream_growth_rate(k * v0),
                    fit
                );
            }
        }
        for n in (0..t.len())
            .step_by(t.len() / 12)
            .take(if matches!(s, Scenario::Landau { .. }) {
                0
            } else {
                13
            })
        {
            println!(
                "    t {:6.1} P {:.3e} W {:.3e}",
                t[n], h.mode_power[n], h.field_energy[n]
            );
        }
    }
}
