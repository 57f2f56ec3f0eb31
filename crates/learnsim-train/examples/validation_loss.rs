//! The noise-free one-step loss of trained GNS runs on one split of a dataset, over many more
//! windows than training's periodic validation draws: to compare runs whose validation curves
//! are noisy (docs/materials.md). The windows are drawn from each run's seed, so runs of the
//! same seed are scored on the same windows.
//!
//! ```text
//! cargo run --release -p learnsim-train --example validation_loss -- DATA SPLIT WINDOWS RUN...
//! ```

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
    let [data, split, windows, runs @ ..] = &args[..] else {
        return Err("usage: validation_loss DATA SPLIT WINDOWS RUN...".into());
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
    }
    Ok(())
}
