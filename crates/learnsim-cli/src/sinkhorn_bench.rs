//! `learnsim bench sinkhorn`: the evaluation's Sinkhorn divergence at the peers' particle counts,
//! timed against the dense solver it replaced in the same run (and against POT by
//! scripts/bench_sinkhorn.sh, on the clouds this command writes).

use anyhow::{Context, Result, bail};
use clap::Args;
use learnsim_data::{load_dataset, write_bytes_atomically};
use learnsim_eval::{Sinkhorn, sinkhorn_reference};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `learnsim bench sinkhorn`.
#[derive(Debug, Args)]
pub struct SinkhornBenchArgs {
    /// Particle counts of the synthetic clouds (rounded to whole lattices).
    #[arg(long, value_delimiter = ',', default_values_t = [500usize, 2000, 8000])]
    pub sizes: Vec<usize>,
    /// The dense reference solver runs up to this many particles (about 17 s at 2,000 and
    /// 16× that at 8,000 on two cores).
    #[arg(long, default_value_t = 2500)]
    pub reference_max: usize,
    /// Repetitions of the fast solver; the table gives the median.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// A particle dataset whose test trajectory 0 gives one more pair of clouds: frame 20
    /// against frame 40 (what the persistence baseline is scored on at horizon 20).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The two frames of `--data` compared.
    #[arg(long, value_delimiter = ',', default_values_t = [20usize, 40])]
    pub data_frames: Vec<usize>,
    /// Write every pair of clouds and our divergence as JSON here, for the POT comparison.
    #[arg(long)]
    pub clouds: Option<PathBuf>,
}

/// One benchmark problem.
struct Problem {
    name: String,
    dim: usize,
    period: Vec<Option<f64>>,
    epsilon: f64,
    x: Vec<f32>,
    y: Vec<f32>,
}

/// A block of particles on a lattice of spacing h (jittered by ±0.3h), and the same particles
/// moved by a smooth swirl of amplitude 2h plus ±0.5h of noise, as a rollout's error looks;
/// ε = h², the protocol's. Periodic problems put the block in a unit box.
fn lattice_problem(n: usize, dim: usize, periodic: bool) -> Problem {
    let side = (n as f64).powf(1.0 / dim as f64).round().max(2.0) as usize;
    let n = side.pow(dim as u32);
    // Spacing: the block fills 60 % of a unit box.
    let h = 0.6 / side as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64 * 10 + dim as u64);
    let mut x = Vec::with_capacity(n * dim);
    for k in 0..n {
        let mut rest = k;
        for _ in 0..dim {
            x.push(0.2 + h * ((rest % side) as f32 + rng.random_range(-0.3..0.3)));
            rest /= side;
        }
    }
    let y = x
        .chunks(dim)
        .flat_map(|p| {
            (0..dim)
                .map(|a| {
                    let other = p[(a + 1) % dim];
                    p[a] + 2.0 * h * (12.0 * other).sin() + h * rng.random_range(-0.5..0.5)
                })
                .collect::<Vec<f32>>()
        })
        .collect();
    Problem {
        name: format!(
            "lattice {n} {dim}D {}",
            if periodic { "periodic" } else { "open" }
        ),
        dim,
        period: vec![periodic.then_some(1.0); dim],
        epsilon: f64::from(h * h),
        x,
        y,
    }
}

fn data_problem(path: &std::path::Path, frames: &[usize]) -> Result<Problem> {
    let &[first, second] = frames else {
        bail!("--data-frames takes two frames, got {frames:?}");
    };
    let dataset = load_dataset(path)?;
    let Some(t) = dataset.splits[2].first() else {
        bail!("{} has no test trajectory", path.display());
    };
    if t.n_frames <= first.max(second) {
        bail!(
            "{}: test trajectory 0 has {} frames; the benchmark compares frames {first} and {second}",
            path.display(),
            t.n_frames
        );
    }
    let m = &dataset.metadata;
    let moving = |frame: usize| -> Vec<f32> {
        t.frame(frame)
            .chunks(t.dim)
            .zip(&t.kind)
            .filter(|(_, k)| !k.is_kinematic())
            .flat_map(|(p, _)| p.to_vec())
            .collect()
    };
    let x = moving(second);
    Ok(Problem {
        name: format!(
            "{} {} {}D frames {first}/{second}",
            m.case,
            x.len() / t.dim,
            t.dim
        ),
        dim: t.dim,
        period: m
            .bounds
            .iter()
            .zip(&m.periodic_boundary_conditions)
            .map(|([lo, hi], &p)| p.then_some(hi - lo))
            .collect(),
        epsilon: m.dx * m.dx,
        x,
        y: moving(first),
    })
}

/// Times the solver on every problem and prints a table; writes the clouds if asked.
pub fn run(args: &SinkhornBenchArgs) -> Result<String> {
    if let Some(n) = args.sizes.iter().find(|&&n| !(2..=1_000_000).contains(&n)) {
        bail!("--sizes: {n} particles; each size must be 2 to 1,000,000");
    }
    let mut problems = Vec::new();
    for &n in &args.sizes {
        for (dim, periodic) in [(2, false), (2, true), (3, false), (3, true)] {
            problems.push(lattice_problem(n, dim, periodic));
        }
    }
    if let Some(data) = &args.data {
        problems.push(data_problem(data, &args.data_frames)?);
    }
    let mut report = String::new();
    writeln!(
        report,
        "{:<34} {:>10} {:>9} {:>12} {:>9} {:>12}",
        "problem", "S/ε", "ours s", "reference s", "speed-up", "|ΔS|/ε"
    )?;
    let mut written = Vec::new();
    for p in &problems {
        let solver = Sinkhorn::new(p.dim, &p.period, p.epsilon);
        let mut seconds = Vec::new();
        let mut s = f64::NAN;
        for _ in 0..args.repeats.max(1) {
            let clock = Instant::now();
            s = solver.divergence(&p.x, &p.y);
            seconds.push(clock.elapsed().as_secs_f64());
        }
        seconds.sort_by(f64::total_cmp);
        let ours = seconds[seconds.len() / 2];
        let n = p.x.len() / p.dim;
        let (reference, delta) = if n <= args.reference_max {
            let clock = Instant::now();
            let r =
                sinkhorn_reference::sinkhorn_divergence(&p.x, &p.y, p.dim, &p.period, p.epsilon);
            (
                Some(clock.elapsed().as_secs_f64()),
                Some((s - r).abs() / p.epsilon),
            )
        } else {
            (None, None)
        };
        let cell = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("—".into(), f);
        writeln!(
            report,
            "{:<34} {:>10.4} {:>9.3} {:>12} {:>9} {:>12}",
            p.name,
            s / p.epsilon,
            ours,
            cell(reference, &|r| format!("{r:.2}")),
            cell(reference, &|r| format!("{:.0}×", r / ours)),
            cell(delta, &|d| format!("{d:.1e}")),
        )?;
        written.push(json!({
            "name": p.name, "dim": p.dim, "period": p.period, "epsilon": p.epsilon,
            "x": p.x, "y": p.y, "ours": s, "ours_s": ours, "reference_s": reference,
        }));
    }
    if let Some(path) = &args.clouds {
        write_bytes_atomically(path, serde_json::to_string(&written)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        writeln!(report, "clouds written to {}", path.display())?;
    }
    Ok(report)
}
