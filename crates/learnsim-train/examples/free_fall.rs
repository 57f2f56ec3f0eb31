//! How well a trained GNS falls: its one-step acceleration, on clean inputs, of the particles
//! of a split that are in free fall (true acceleration within 5 % of g·dt² and more than 0.05
//! above the lowest bound), as a share of g·dt², by frame. A model that has learnt gravity
//! scores 1; the flagship's rollouts land late (docs/water-drop.md), which this measures one
//! step at a time.
//!
//! ```text
//! cargo run --release -p learnsim-train --example free_fall -- DATA SPLIT RUN
//! ```

use learnsim_data::{SPLITS, load_dataset};
use learnsim_eval::{FrameStepper, LearnedStepper};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, Trainer, Validate};
use std::error::Error;
use std::path::PathBuf;

#[expect(clippy::print_stdout, reason = "an example that prints a table")]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, split, run] = &args[..] else {
        return Err("usage: free_fall DATA SPLIT RUN".into());
    };
    let dataset = load_dataset(&PathBuf::from(data))?;
    let k = SPLITS
        .iter()
        .position(|s| s == split)
        .ok_or_else(|| format!("split `{split}`: expected one of {SPLITS:?}"))?;
    let run = PathBuf::from(run);
    let config: TrainConfig = toml::from_str(&std::fs::read_to_string(run.join("config.toml"))?)?;
    config.validate()?;
    let mut trainer = Trainer::new(config, &dataset.metadata, default_training_device());
    trainer.load_checkpoint(&run.join("checkpoint"))?;
    let model = trainer.inference_model();
    let mut stepper = LearnedStepper::new(&trainer.simulator, &model);
    let g = dataset.metadata.gravity_per_frame();
    let (axis, g_axis) = g
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(a, v)| (a, *v))
        .ok_or("no gravity")?;
    let floor = dataset.metadata.bounds[axis][0] + 0.05;
    let c = stepper.warmup();
    // Per band of 20 frames: Σ predicted / g, Σ (predicted / g)², count.
    let mut bands = std::collections::BTreeMap::<usize, (f64, f64, usize)>::new();
    for t in &dataset.splits[k] {
        let dim = t.dim;
        for target in c..t.n_frames {
            let past: Vec<&[f32]> = (target - c..target).map(|f| t.frame(f)).collect();
            let predicted = stepper.next_frame(&past, t, target);
            let (x0, x1, x2) = (t.frame(target - 2), t.frame(target - 1), t.frame(target));
            for p in 0..t.n_particles {
                if t.kind[p].is_kinematic() {
                    continue;
                }
                let i = p * dim + axis;
                let free = (0..dim).all(|a| {
                    let j = p * dim + a;
                    let acc = f64::from(x2[j]) - 2.0 * f64::from(x1[j]) + f64::from(x0[j]);
                    (acc - g[a]).abs() < 0.05 * g_axis.abs()
                });
                if !free || f64::from(x1[i]) < floor {
                    continue;
                }
                let model = f64::from(predicted[i]) - 2.0 * f64::from(x1[i]) + f64::from(x0[i]);
                let share = model / g_axis;
                let band = bands.entry(target / 20 * 20).or_default();
                band.0 += share;
                band.1 += share * share;
                band.2 += 1;
            }
        }
    }
    println!(
        "{}: predicted free-fall acceleration / g·dt² on {split}",
        run.display()
    );
    println!("frames    particles  mean   std");
    for (start, (sum, sq, n)) in bands {
        let mean = sum / n as f64;
        let std = (sq / n as f64 - mean * mean).max(0.0).sqrt();
        println!("{start:3}–{:3}  {n:9}  {mean:.3}  {std:.3}", start + 19);
    }
    Ok(())
}
