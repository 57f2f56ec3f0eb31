//! Prints frames of a Well-layout grid file as learnsim's own reader sees them, so that other
//! readers (The Well's `WellDataset`, in `scripts/well_compat.sh`) can be compared with it.
//!
//! ```text
//! cargo run --release -p learnsim-data --example well_sample -- FILE TRAJECTORY FIRST COUNT
//! ```
//!
//! Writes JSON to stdout: `{"fields": [names…], "channels": [per field…], "shape": [COUNT,
//! *space, channels], "values": [...]}`: frames FIRST..FIRST+COUNT of trajectory TRAJECTORY,
//! every scalar field, then each vector field's components, in our reader's field order.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example: JSON on stdout, errors on stderr"
)]

use learnsim_data::read_well_grid;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, trajectory, first, count] = &args[..] else {
        eprintln!("usage: well_sample FILE TRAJECTORY FIRST COUNT");
        return ExitCode::FAILURE;
    };
    let index = |name: &str, v: &str| v.parse::<usize>().map_err(|e| format!("{name} `{v}`: {e}"));
    let run = || -> Result<String, String> {
        let (trajectory, first, count) = (
            index("TRAJECTORY", trajectory)?,
            index("FIRST", first)?,
            index("COUNT", count)?,
        );
        let grid = read_well_grid(&PathBuf::from(file)).map_err(|e| e.to_string())?;
        let frames = grid.time.len();
        if trajectory >= grid.n_trajectories
            || first.checked_add(count).is_none_or(|end| end > frames)
        {
            return Err(format!(
                "{file} holds {} trajectories of {frames} frames",
                grid.n_trajectories
            ));
        }
        let points: usize = grid.coordinates.iter().map(Vec::len).product();
        let dims = grid.spatial_dims.len();
        // The Well stacks scalar fields first, then vector fields, in `field_names` order.
        let mut fields: Vec<_> = grid.fields.iter().collect();
        fields.sort_by_key(|f| f.order);
        let channels: usize = fields.iter().map(|f| dims.pow(f.order as u32)).sum();
        let mut values = Vec::with_capacity(count * points * channels);
        for t in first..first + count {
            for p in 0..points {
                for field in &fields {
                    let width = dims.pow(field.order as u32);
                    let frame = (trajectory * frames + t) * points * width;
                    values.extend_from_slice(&field.values[frame + p * width..][..width]);
                }
            }
        }
        let mut shape = vec![count];
        shape.extend(grid.coordinates.iter().map(Vec::len));
        shape.push(channels);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let widths: Vec<usize> = fields.iter().map(|f| dims.pow(f.order as u32)).collect();
        Ok(serde_json::json!({
            "fields": names, "channels": widths, "shape": shape, "values": values
        })
        .to_string())
    };
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("well_sample: {e}");
            ExitCode::FAILURE
        }
    }
}
