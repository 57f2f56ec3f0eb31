//! Statistics of water-drop ground truth under a chosen grid, stiffness and viscosity, beside
//! DeepMind's WaterDrop (issue #24): per-frame velocity and acceleration std, the share of the
//! acceleration variance above a 5-frame moving average ("ringing"), and where the water is at
//! the last frame.
//!
//! `cargo run --release -p learnsim-sim --example water_drop_stats -- N_GRID K NU [TRAJ] [FRAMES] [ZETA]`
//! (ZETA: the bulk viscosity, default 0)

use learnsim_core::Stepper;
use learnsim_sim::mpm::{Material, MpmConfig, MpmState, WaterEos};
use learnsim_sim::scenes::{BlocksScene, random_blocks};
use learnsim_sim::{Split, trajectory_seed};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[expect(clippy::print_stdout, reason = "an example that prints a table")]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: usize, default: f64| args.get(k).and_then(|a| a.parse().ok()).unwrap_or(default);
    let n_grid = arg(1, 128.0) as usize;
    let bulk_modulus = arg(2, 400.0);
    let viscosity = arg(3, 0.0);
    let n_traj = arg(4, 6.0) as usize;
    let n_frames = arg(5, 200.0) as usize;
    let bulk_viscosity = arg(6, 0.0);
    let config = MpmConfig {
        n_grid,
        ..MpmConfig::flagship(Material::Water(WaterEos {
            bulk_modulus,
            viscosity,
            bulk_viscosity,
        }))
    };
    let s = config.particle_spacing();
    let scene = BlocksScene {
        spacing: s,
        n_particles: (300, 600),
        max_blocks: 3,
        max_speed: 2.0,
        region: (config.wall_lower + 0.02, config.wall_upper - 0.02),
        kind: config.material.kind(),
    };
    let (mut v_sum, mut v_sq, mut a_sum, mut a_sq, mut count_v, mut count_a) =
        ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2], [0.0f64; 2], 0.0, 0.0);
    let (mut hp_sq, mut a_dev_sq) = (0.0, 0.0);
    let (mut above, mut near_side, mut total) = (0usize, 0usize, 0usize);
    for t in 0..n_traj {
        let mut rng = ChaCha8Rng::seed_from_u64(trajectory_seed(0, Split::Train, t));
        let particles = random_blocks(&scene, &mut rng).expect("scene");
        let n = particles.position.len();
        let mut state = MpmState::new(&particles);
        let mut solver = config.init();
        let mut frames: Vec<Vec<[f64; 2]>> =
            vec![state.particles.iter().map(|p| p.position).collect()];
        for _ in 1..n_frames {
            solver.step(&mut state).expect("finite");
            frames.push(state.particles.iter().map(|p| p.position).collect());
        }
        let acc: Vec<Vec<[f64; 2]>> = (1..n_frames - 1)
            .map(|f| {
                (0..n)
                    .map(|p| {
                        std::array::from_fn(|a| {
                            frames[f + 1][p][a] - 2.0 * frames[f][p][a] + frames[f - 1][p][a]
                        })
                    })
                    .collect()
            })
            .collect();
        for f in 1..n_frames {
            for p in 0..n {
                for a in 0..2 {
                    let v = frames[f][p][a] - frames[f - 1][p][a];
                    v_sum[a] += v;
                    v_sq[a] += v * v;
                }
                count_v += 1.0;
            }
        }
        for frame in &acc {
            for x in frame {
                for a in 0..2 {
                    a_sum[a] += x[a];
                    a_sq[a] += x[a] * x[a];
                }
                count_a += 1.0;
            }
        }
        // Ringing: acceleration minus its centred 5-frame moving average.
        for f in 2..acc.len() - 2 {
            for p in 0..n {
                for a in 0..2 {
                    let ma = (f - 2..=f + 2).map(|g| acc[g][p][a]).sum::<f64>() / 5.0;
                    let g_dt2 = if a == 1 {
                        -config.gravity * config.frame_dt().powi(2)
                    } else {
                        0.0
                    };
                    hp_sq += (acc[f][p][a] - ma).powi(2);
                    a_dev_sq += (acc[f][p][a] - g_dt2).powi(2);
                }
            }
        }
        // Where the water is at the last frame: the pool's depth if it lay flat over the floor.
        let width = config.wall_upper - config.wall_lower;
        let depth = n as f64 * s * s / width;
        let last = &frames[n_frames - 1];
        above += last
            .iter()
            .filter(|x| x[1] > config.wall_lower + 1.5 * depth + 2.0 * s)
            .count();
        near_side += last
            .iter()
            .filter(|x| x[0] < config.wall_lower + 0.01 || x[0] > config.wall_upper - 0.01)
            .count();
        total += n;
    }
    let std = |sum: [f64; 2], sq: [f64; 2], c: f64| -> [f64; 2] {
        std::array::from_fn(|a| (sq[a] / c - (sum[a] / c).powi(2)).sqrt())
    };
    let vel = std(v_sum, v_sq, count_v);
    let acc = std(a_sum, a_sq, count_a);
    println!(
        "n_grid {n_grid} spacing {s:.4} K {bulk_modulus} nu {viscosity} zeta {bulk_viscosity}: vel_std [{:.2e}, {:.2e}] acc_std [{:.2e}, {:.2e}] ringing share {:.3} above-pool {:.3} near-side-walls {:.3}",
        vel[0],
        vel[1],
        acc[0],
        acc[1],
        hp_sq / a_dev_sq,
        above as f64 / total as f64,
        near_side as f64 / total as f64,
    );
    println!("DeepMind WaterDrop: vel_std [1.40e-3, 1.31e-3] acc_std [6.5e-5, 8.0e-5]");
}
