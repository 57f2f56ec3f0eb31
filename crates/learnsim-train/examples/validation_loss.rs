//! The noise-free one-step loss of trained GNS runs on one split of a dataset, over many more
//! windows than training's periodic validation draws: to compare runs whose validation curves
//! are noisy (docs/materials.md). The windows are drawn from each run's seed, so runs of the
//! same seed are scored on the same windows.
//!
//! ```text
//! cargo run --release -p learnsim-train --example validation_loss -- DATA SPLIT WINDOWS [--by-trajectory] RUN...
//! ```
//!
//! `--by-trajectory` also scores each trajectory of the split alone (WINDOWS windows each) and
//! prints it with its material property, so that a model's loss can be read against tan φ.

use learnsim_data::{SPLITS, load_dataset};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, Trainer, Validate};
use std::error::Error;
use std::path::PathBuf;

#[expect(
    clippy::print_stdout,
    reason = "an example that prints one line per run"
)]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, split, windows, rest @ ..] = &args[..] else {
        return Err("usage: validation_loss DATA SPLIT WINDOWS [--by-trajectory] RUN...".into());
    };
    let (by_trajectory, runs) = match rest {
        [flag, runs @ ..] if flag == "--by-trajectory" => (true, runs),
        runs => (false, runs),
    };
    if runs.is_empty() {
        return Err("name at least one run folder".into());
    }
    let dataset = load_dataset(&PathBuf::from(data))?;
    let k = SPLITS
        .iter()
        .position(|s| s == split)
        .ok_or_else(|| format!("split `{split}`: expected one of {SPLITS:?}"))?;
    let windows: usize = windows.parse()?;
    for run in runs {
        let run = PathBuf::from(run);
        let text = std::fs::read_to_string(run.join("config.toml"))?;
        let mut config: TrainConfig = toml::from_str(&text)?;
        config.validation_windows = windows;
        config.validate()?;
        let mut trainer = Trainer::new(config, &dataset.metadata, default_training_device());
        trainer.load_checkpoint(&run.join("checkpoint"))?;
        let loss = trainer.evaluate(&dataset.splits[k])?;
        println!(
            "{}: one-step loss {loss:.4} over {windows} windows of {split} (step {})",
            run.display(),
            trainer.state.step
        );
        if by_trajectory {
            for (i, trajectory) in dataset.splits[k].iter().enumerate() {
                let loss = trainer.evaluate(std::slice::from_ref(trajectory))?;
                let material = trajectory.material.values.first().copied();
                let label = material.map_or("none".to_owned(), |m| format!("{m:.4}"));
                println!("  trajectory {i}: material {label}, one-step loss {loss:.4}");
            }
        }
    }
    Ok(())
}
