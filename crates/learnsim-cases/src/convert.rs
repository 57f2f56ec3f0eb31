//! `learnsim convert`: a dataset from one of the field's formats into another.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::ProgressStyle;
use learnsim_data::{
    DatasetFormat, GeoelementsLayout, export_dataset_with_progress, import_dataset,
};
use std::path::PathBuf;

/// A dataset format, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Ours: {split}.h5 + metadata.json with learnsim's keys.
    Learnsim,
    /// DeepMind's learning_to_simulate: {split}.tfrecord + metadata.json.
    Deepmind,
    /// geoelements/gns: {split}.npz + metadata.json.
    Geoelements,
    /// LagrangeBench: {split}.h5 + metadata.json.
    Lagrangebench,
}

impl From<FormatArg> for DatasetFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Learnsim => Self::Learnsim,
            FormatArg::Deepmind => Self::Deepmind,
            FormatArg::Geoelements => Self::Geoelements,
            FormatArg::Lagrangebench => Self::Lagrangebench,
        }
    }
}

/// geoelements' NPZ layout, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LayoutArg {
    /// One member `gns_data`: an object array of (positions, particle_type[, material_property])
    /// tuples, what geoelements' current loader reads first.
    #[default]
    #[value(name = "gns_data")]
    GnsData,
    /// One member per trajectory (`simulation_0`, ...), each an object array.
    Legacy,
}

impl From<LayoutArg> for GeoelementsLayout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::GnsData => Self::GnsData,
            LayoutArg::Legacy => Self::Legacy,
        }
    }
}

/// Arguments of `learnsim convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Format of IN; detected from its files when omitted.
    #[arg(long, value_enum)]
    pub from: Option<FormatArg>,
    /// Format to write.
    #[arg(long, value_enum)]
    pub to: FormatArg,
    /// NPZ layout when writing geoelements.
    #[arg(long, value_enum, default_value = "gns_data")]
    pub geoelements_layout: LayoutArg,
    /// Dataset folder to read.
    pub input: PathBuf,
    /// Folder to write (created; must not hold a dataset of another format).
    pub output: PathBuf,
}

/// Runs `learnsim convert`; returns the summary line.
pub fn convert(args: &ConvertArgs) -> Result<String> {
    let from = match args.from {
        Some(f) => f.into(),
        None => DatasetFormat::detect(&args.input)?,
    };
    let to: DatasetFormat = args.to.into();
    if args.output.exists() {
        let same =
            std::fs::canonicalize(&args.input).ok() == std::fs::canonicalize(&args.output).ok();
        if same {
            bail!(
                "{}: IN and OUT are the same folder; convert into a new one",
                args.output.display()
            );
        }
        if let Ok(existing) = DatasetFormat::detect(&args.output) {
            let clash = DatasetFormat::ALL.iter().any(|f| {
                *f != to
                    && f.split_file("train") != to.split_file("train")
                    && args.output.join(f.split_file("train")).exists()
            });
            if clash {
                bail!(
                    "{}: already holds a {} dataset; convert into an empty folder",
                    args.output.display(),
                    existing.name()
                );
            }
        }
    }
    let bar = crate::progress::spinner();
    bar.set_message(format!(
        "reading {} ({})",
        args.input.display(),
        from.name()
    ));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let imported = import_dataset(&args.input, from)
        .with_context(|| format!("cannot read {} as {}", args.input.display(), from.name()))?;
    let counts = imported.dataset.splits.each_ref().map(Vec::len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} trajectories")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_length(counts.iter().sum::<usize>() as u64);
    bar.set_position(0);
    bar.set_message(format!("writing {} ({})", args.output.display(), to.name()));
    export_dataset_with_progress(
        &args.output,
        to,
        args.geoelements_layout.into(),
        &imported.dataset,
        &mut |n| bar.inc(n as u64),
    )?;
    bar.finish_and_clear();
    let mut summary = format!(
        "converted {} ({}) -> {} ({}): train {}, valid {}, test {} trajectories",
        args.input.display(),
        from.name(),
        args.output.display(),
        to.name(),
        counts[0],
        counts[1],
        counts[2]
    );
    for line in &imported.dropped {
        summary.push_str(&format!("\nleft out: {line}"));
    }
    Ok(summary)
}
