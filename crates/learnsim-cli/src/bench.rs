//! `learnsim bench sim`: ground-truth throughput, measured, never asserted.

use learnsim_cases::{RunArgs, TierArg, case_names, find, leaderboard, run};

use anyhow::Result;
use clap::Args;
use learnsim_sim::{Case, Split, Tier, trajectory_seed};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `learnsim bench sim`.
#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Stored frames simulated per case.
    #[arg(long, default_value_t = 40)]
    pub frames: usize,
    /// Repetitions per case; the report gives the median.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

/// Runs one trajectory per case per repeat, single-threaded in the simulator's own loops where
/// they are serial, and reports particle-steps per second (particles × solver steps / s).
pub fn sim(args: &SimBenchArgs) -> Result<String> {
    let mut report = String::new();
    writeln!(
        report,
        "{:<14} {:>9} {:>12} {:>12} {:>16}",
        "case", "particles", "steps/frame", "frames/s", "particle-steps/s"
    )?;
    for case in Case::ALL {
        let steps_per_frame = match (case.mpm_config(), case.sph_config(Tier::Cpu)) {
            (Some(mpm), _) => mpm.substeps_per_frame,
            (_, Some(sph)) => sph.steps_per_frame,
            _ => 1,
        };
        let mut seconds = Vec::with_capacity(args.repeats);
        let mut particles = 0;
        for repeat in 0..args.repeats.max(1) {
            let seed = trajectory_seed(0, Split::Train, repeat);
            let start = Instant::now();
            let t = case.simulate(Tier::Cpu, seed, args.frames + 1, &|| {})?;
            seconds.push(start.elapsed().as_secs_f64());
            particles = t.n_particles;
        }
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        let frames_per_s = args.frames as f64 / median;
        writeln!(
            report,
            "{:<14} {:>9} {:>12} {:>12.1} {:>16.3e}",
            case.name(),
            particles,
            steps_per_frame,
            frames_per_s,
            frames_per_s * steps_per_frame as f64 * particles as f64
        )?;
    }
    Ok(report)
}

/// Arguments of `learnsim bench cases`.
#[derive(Debug, Args)]
pub struct CasesBenchArgs {
    /// Problem size.
    #[arg(long, value_enum, default_value_t = TierArg::Cpu)]
    pub tier: TierArg,
    /// Comma-separated case names [default: every case with a config in configs/].
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Folder of the runs (`ROOT/CASE`, `ROOT/CASE-quick`, `ROOT/CASE-paper`) and of the leaderboard.
    #[arg(long, default_value = "runs")]
    pub root: PathBuf,
    /// The 1–2 minute smoke version of every run.
    #[arg(long)]
    pub quick: bool,
}

/// `learnsim bench cases`: one `learnsim run` per case (each resumes where it stopped), then
/// the leaderboard of those cases.
#[expect(clippy::print_stderr, reason = "one progress line per finished case")]
pub fn cases(args: &CasesBenchArgs) -> Result<String> {
    // Every case has a config: the working folder's configs/CASE.toml or the shipped one.
    let names: Vec<String> = if args.cases.is_empty() {
        case_names().into_iter().map(str::to_string).collect()
    } else {
        args.cases.clone()
    };
    for name in &names {
        find(name)?;
    }
    for name in &names {
        let mut run_args = RunArgs::new(name);
        run_args.tier = args.tier;
        run_args.quick = args.quick;
        // `ROOT/CASE`, `ROOT/CASE-quick` or `ROOT/CASE-paper`, as `learnsim run` names them.
        let folder = run_args.out_dir(name);
        run_args.out = Some(args.root.join(folder.file_name().unwrap_or_default()));
        let summary = run(&run_args)?;
        eprintln!("{summary}");
    }
    let db = args.root.join(leaderboard::FILE);
    let mut out = String::new();
    for name in &names {
        out.push_str(&leaderboard::table(
            &db,
            Some(name),
            leaderboard::Format::Md,
        )?);
    }
    Ok(out)
}
