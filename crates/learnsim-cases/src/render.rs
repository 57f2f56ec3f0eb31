//! Renders of a rollout: a side-by-side GIF (ground truth | prediction) and VTK files for
//! ParaView (one `.vtu` per frame, a `.pvd` series per trajectory).

use crate::plots::register_font;
use anyhow::{Context, Result, anyhow, bail};
use learnsim_core::{Metadata, ParticleKind, Trajectory};
use learnsim_data::write_bytes_atomically;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// A particle kind's name in the GIF's legend.
fn kind_label(kind: ParticleKind) -> &'static str {
    match kind {
        ParticleKind::Water => "water",
        ParticleKind::Sand => "sand",
        ParticleKind::Goop => "goop",
        ParticleKind::Rigid => "rigid",
        ParticleKind::Wall => "wall",
        ParticleKind::MovingWall => "moving wall",
    }
}

/// Colour of a particle kind in renders.
fn kind_colour(kind: ParticleKind) -> RGBColor {
    match kind {
        ParticleKind::Water => RGBColor(31, 119, 180),
        ParticleKind::Sand => RGBColor(214, 160, 60),
        ParticleKind::Goop => RGBColor(44, 160, 44),
        ParticleKind::Rigid => RGBColor(148, 103, 189),
        ParticleKind::Wall | ParticleKind::MovingWall => RGBColor(90, 90, 90),
    }
}

/// Writes `path` as an animated GIF: ground truth on the left, prediction on the right, the
/// domain's bounds drawn as a frame, the frame and its time (t = frame · dt, in the dataset's
/// time unit) over each panel and a legend of the particle kinds below, at most `max_frames`
/// frames (evenly strided).
///
/// # Shapes
/// `truth` and `predicted` must have the same `[T, N, D]` with D ≥ 2 (3D shows x–y).
pub fn gif(
    path: &Path,
    truth: &Trajectory,
    predicted: &Trajectory,
    metadata: &Metadata,
    max_frames: usize,
) -> Result<()> {
    if (truth.n_frames, truth.n_particles, truth.dim)
        != (predicted.n_frames, predicted.n_particles, predicted.dim)
    {
        bail!(
            "cannot render {}: truth and prediction differ in shape",
            path.display()
        );
    }
    if truth.dim < 2 {
        bail!(
            "cannot render {}: a {}-D trajectory",
            path.display(),
            truth.dim
        );
    }
    register_font();
    let e = |x: String| anyhow!("cannot draw {}: {x}", path.display());
    let stride = truth.n_frames.div_ceil(max_frames.max(1)).max(1);
    let [x_lo, x_hi] = metadata.bounds[0];
    let [y_lo, y_hi] = metadata.bounds[1];
    let pad = 0.02 * (x_hi - x_lo).max(y_hi - y_lo);
    let panel = 360u32;
    let tmp = path.with_extension("gif.tmp");
    {
        let root = BitMapBackend::gif(&tmp, (2 * panel, panel + 30), 60)
            .map_err(|x| e(x.to_string()))?
            .into_drawing_area();
        let mut kinds: Vec<ParticleKind> = truth.kind.clone();
        kinds.sort();
        kinds.dedup();
        for t in (0..truth.n_frames).step_by(stride) {
            root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
            let (panels, legend) = root.split_vertically(panel);
            let (left, right) = panels.split_horizontally(panel);
            let time = t as f64 * metadata.dt;
            for (area, trajectory, title) in [
                (left, truth, "ground truth"),
                (right, predicted, "prediction"),
            ] {
                let mut chart = ChartBuilder::on(&area)
                    .caption(
                        format!("{title}, frame {t}, t = {time:.3}"),
                        ("sans-serif", 16),
                    )
                    .margin(8)
                    .build_cartesian_2d(x_lo - pad..x_hi + pad, y_lo - pad..y_hi + pad)
                    .map_err(|x| e(x.to_string()))?;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x_lo, y_lo), (x_hi, y_hi)],
                        BLACK.stroke_width(1),
                    )))
                    .map_err(|x| e(x.to_string()))?;
                let frame = trajectory.frame(t);
                chart
                    .draw_series(frame.chunks(trajectory.dim).zip(&trajectory.kind).map(
                        |(x, &k)| {
                            Circle::new(
                                (f64::from(x[0]), f64::from(x[1])),
                                2,
                                kind_colour(k).filled(),
                            )
                        },
                    ))
                    .map_err(|x| e(x.to_string()))?;
            }
            let style = ("sans-serif", 14).into_font().color(&BLACK);
            for (i, &kind) in kinds.iter().enumerate() {
                let x = 12 + 120 * i32::try_from(i).unwrap_or(0);
                legend
                    .draw(&Circle::new((x, 15), 5, kind_colour(kind).filled()))
                    .map_err(|x| e(x.to_string()))?;
                legend
                    .draw(&Text::new(kind_label(kind), (x + 10, 7), style.clone()))
                    .map_err(|x| e(x.to_string()))?;
            }
            root.present().map_err(|x| e(x.to_string()))?;
        }
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// One `<DataArray>` in VTK's zlib-compressed inline binary format, as VTK and meshio write it:
/// base64 of the UInt32 header [blocks = 1, block size, last block size, compressed size],
/// then base64 of the deflated little-endian values.
fn data_array(name: &str, vtk_type: &str, components: usize, bytes: &[u8]) -> Result<String> {
    use base64::Engine;
    use std::io::Write as _;
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(bytes)?;
    let compressed = zlib.finish()?;
    // The format's UInt32 header: a frame's array must stay under 4 GiB.
    let size = |n: usize| {
        u32::try_from(n).map_err(|_| anyhow!("a {name} array of {n} bytes is over VTK's 4 GiB"))
    };
    let header: Vec<u8> = [
        1,
        size(bytes.len())?,
        size(bytes.len())?,
        size(compressed.len())?,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let name = if name.is_empty() {
        String::new()
    } else {
        format!(" Name=\"{name}\"")
    };
    Ok(format!(
        "<DataArray type=\"{vtk_type}\"{name} NumberOfComponents=\"{components}\" format=\"binary\">{}{}</DataArray>\n",
        b64.encode(header),
        b64.encode(compressed)
    ))
}

/// Little-endian bytes of `values`.
fn le_bytes<T: Copy, const B: usize>(values: &[T], to: impl Fn(T) -> [u8; B]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

/// One frame as a VTK XML unstructured grid of vertices: positions (z = 0 in 2D), the particle
/// type ids of the dataset's convention and, from the second frame on, the velocity Δx/dt as
/// point data, all binary (Float32 as the data are; Int32 ids and cells).
fn vtu(
    trajectory: &Trajectory,
    t: usize,
    metadata: &Metadata,
    convention_ids: &[i64],
) -> Result<String> {
    let d = trajectory.dim;
    let n = trajectory.n_particles;
    let frame = trajectory.frame(t);
    let prev = trajectory.frame(t.saturating_sub(1));
    let mut points = Vec::with_capacity(3 * n);
    let mut velocity = Vec::with_capacity(3 * n);
    for k in 0..n {
        for a in 0..3 {
            let (x, x0) = if a < d {
                (frame[k * d + a], prev[k * d + a])
            } else {
                (0.0, 0.0)
            };
            points.push(x);
            // The difference in f64 from the stored f32 positions, then stored as f32.
            velocity.push(((f64::from(x) - f64::from(x0)) / metadata.dt) as f32);
        }
    }
    let count = i32::try_from(n)
        .map_err(|_| anyhow!("{n} particles: VTK's Int32 cells hold under 2^31"))?;
    let connectivity: Vec<i32> = (0..count).collect();
    let offsets: Vec<i32> = (1..=count).collect();
    let ids: Vec<i32> = convention_ids
        .iter()
        .map(|&id| i32::try_from(id).unwrap_or(-1))
        .collect();
    let f32s = |v: &[f32]| le_bytes(v, f32::to_le_bytes);
    let i32s = |v: &[i32]| le_bytes(v, i32::to_le_bytes);
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\">\n<UnstructuredGrid>\n<Piece NumberOfPoints=\"{n}\" NumberOfCells=\"{n}\">\n<Points>\n{}</Points>\n<Cells>\n{}{}{}</Cells>\n<PointData>\n{}{}</PointData>\n</Piece>\n</UnstructuredGrid>\n</VTKFile>\n",
        data_array("", "Float32", 3, &f32s(&points))?,
        data_array("connectivity", "Int32", 1, &i32s(&connectivity))?,
        data_array("offsets", "Int32", 1, &i32s(&offsets))?,
        // VTK_VERTEX = 1.
        data_array("types", "UInt8", 1, &vec![1u8; n])?,
        data_array("particle_type", "Int32", 1, &i32s(&ids))?,
        data_array("velocity", "Float32", 3, &f32s(&velocity))?,
    );
    Ok(s)
}

/// Writes `dir/NAME_TTTT.vtu` for every frame and `dir/NAME.pvd` indexing them by time.
pub fn vtk(dir: &Path, name: &str, trajectory: &Trajectory, metadata: &Metadata) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ids: Vec<i64> = trajectory
        .kind
        .iter()
        .map(|k| k.id(metadata.particle_type_convention).unwrap_or(-1))
        .collect();
    let mut pvd = String::from(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"1.0\">\n<Collection>\n",
    );
    for t in 0..trajectory.n_frames {
        let file = format!("{name}_{t:04}.vtu");
        write_bytes_atomically(
            &dir.join(&file),
            vtu(trajectory, t, metadata, &ids)?.as_bytes(),
        )?;
        let _ = writeln!(
            pvd,
            "<DataSet timestep=\"{}\" part=\"0\" file=\"{file}\"/>",
            t as f64 * metadata.dt
        );
    }
    pvd.push_str("</Collection>\n</VTKFile>\n");
    write_bytes_atomically(&dir.join(format!("{name}.pvd")), pvd.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnsim_core::TypeConvention;

    fn metadata() -> Metadata {
        Metadata {
            dim: 2,
            bounds: vec![[0.0, 1.0]; 2],
            dt: 0.5,
            default_connectivity_radius: 0.1,
            periodic_boundary_conditions: vec![false; 2],
            num_particles_max: 2,
            sequence_length_train: 2,
            sequence_length_test: 2,
            vel_mean: vec![0.0; 2],
            vel_std: vec![1.0; 2],
            acc_mean: vec![0.0; 2],
            acc_std: vec![1.0; 2],
            dx: 0.1,
            particle_type_convention: TypeConvention::Deepmind,
            gravity: vec![0.0, -1.0],
            case: "water-drop-2d".into(),
            solver: "test".into(),
            tier: "cpu".into(),
            seed: 0,
            num_trajectories: [1, 1, 1],
            scene: None,
            features: Default::default(),
        }
    }

    /// The values of the `<DataArray ...>` block of a .vtu file whose opening tag contains
    /// `needle`: the base64 header (16 bytes: 24 characters) read, the rest inflated, `width`
    /// bytes a value, as f64.
    fn array(vtu: &str, needle: &str, decode: fn(&[u8]) -> f64, width: usize) -> Vec<f64> {
        use base64::Engine;
        use std::io::Read as _;
        let start = vtu.find(needle).unwrap();
        let body = &vtu[start..];
        let body = &body[body.find('>').unwrap() + 1..body.find("</DataArray>").unwrap()];
        let b64 = base64::engine::general_purpose::STANDARD;
        let header = b64.decode(&body[..24]).unwrap();
        let word = |k: usize| u32::from_le_bytes(header[4 * k..4 * k + 4].try_into().unwrap());
        let compressed = b64.decode(&body[24..]).unwrap();
        assert_eq!(word(0), 1, "one block");
        assert_eq!(
            word(3) as usize,
            compressed.len(),
            "the header counts the deflated bytes"
        );
        let mut bytes = Vec::new();
        flate2::read::ZlibDecoder::new(&compressed[..])
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(
            word(1) as usize,
            bytes.len(),
            "the header counts the inflated bytes"
        );
        bytes.chunks(width).map(decode).collect()
    }

    fn f32_at(b: &[u8]) -> f64 {
        f64::from(f32::from_le_bytes(b.try_into().unwrap()))
    }

    fn i32_at(b: &[u8]) -> f64 {
        f64::from(i32::from_le_bytes(b.try_into().unwrap()))
    }

    #[test]
    fn vtk_frames_read_back_as_the_positions_kinds_and_velocities_written() {
        let position = vec![0.1, 0.2, 0.3, 0.4, 0.2, 0.2, 0.3, 0.5, 0.3, 0.2, 0.3, 0.6];
        let kind = vec![ParticleKind::Water, ParticleKind::Wall];
        let t = Trajectory::new(2, 3, position.clone(), kind).unwrap();
        let dir = tempfile::tempdir().unwrap();
        vtk(dir.path(), "truth", &t, &metadata()).unwrap();
        let pvd = std::fs::read_to_string(dir.path().join("truth.pvd")).unwrap();
        assert!(
            pvd.contains(r#"timestep="1" part="0" file="truth_0002.vtu""#),
            "{pvd}"
        );
        let vtu = std::fs::read_to_string(dir.path().join("truth_0001.vtu")).unwrap();
        let points = array(&vtu, "NumberOfComponents=\"3\" format", f32_at, 4);
        let expected: Vec<f64> = position[4..8].iter().map(|&v| f64::from(v)).collect();
        assert_eq!(points.len(), 6);
        for (k, p) in expected.chunks(2).enumerate() {
            assert_eq!(&points[3 * k..3 * k + 2], p);
            assert_eq!(points[3 * k + 2], 0.0);
        }
        // DeepMind ids: water 5, kinematic boundary 3.
        assert_eq!(array(&vtu, "particle_type", i32_at, 4), vec![5.0, 3.0]);
        // Velocity of particle 0 between frames 0 and 1: (0.1, 0.0) / dt 0.5, to f32 rounding.
        let v = array(&vtu, "Name=\"velocity\"", f32_at, 4);
        assert!((v[0] - 0.2).abs() < 1e-6 && v[1].abs() < 1e-6, "{v:?}");
    }

    #[test]
    fn gif_rejects_mismatched_trajectories_and_writes_a_gif() {
        let kind = vec![ParticleKind::Water; 2];
        let a = Trajectory::new(2, 2, vec![0.5; 8], kind.clone()).unwrap();
        let b = Trajectory::new(2, 1, vec![0.5; 4], kind).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.gif");
        assert!(gif(&path, &a, &b, &metadata(), 10).is_err());
        gif(&path, &a, &a, &metadata(), 10).unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"GIF89a"));
    }
}
