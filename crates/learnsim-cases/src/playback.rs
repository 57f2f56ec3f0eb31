//! Playback files of the grid and object cases (`RUN/playback/*.lsp`, format in
//! [`learnsim_data::playback`]): what `learnsim view`'s player shows. The particle cases write
//! theirs in [`crate::particle::playback`].

use anyhow::{Context, Result};
use learnsim_data::playback::{Extra, ExtraKind, Playback, Scene, Series};
use learnsim_eval::object_dynamics::{DeltaV, ObjectState, ObjectTrajectory, rollout};
use std::path::Path;

/// Trajectories or windows written per case at most.
pub const MAX_PLAYBACKS: usize = 8;

/// Frames of an object rollout at most (from frame 0).
const MAX_OBJECT_FRAMES: usize = 400;

/// Writes `playback` as `out/playback/{name}.lsp`.
pub fn write(out: &Path, name: &str, playback: &Playback) -> Result<()> {
    let dir = out.join(crate::particle::playback::DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    playback.write(&dir.join(format!("{name}.lsp")))?;
    Ok(())
}

/// A frame's energy spectrum by shell, in the case's own frame layout.
pub type Spectrum<'a> = dyn Fn(&[f32]) -> Vec<f64> + 'a;

/// One window of a grid case: the truth's frames (inputs first) and each model's predictions
/// after the `context` input frames, every frame mapped to the shown scalar field by `field`.
///
/// # Shapes
/// - `truth`: `[context + horizon]` frames in the case's own layout
/// - `predictions`: `(name, [horizon] frames)`
/// - `field(frame)` → `[h · w]`, row 0 at the top
/// - `spectrum(frame)` → `[shells]`: when given, every series' per-frame spectrum is kept
///   beside it (an [`ExtraKind::Spectrum`] extra named "energy spectrum")
pub fn field_window(
    title: String,
    quantity: &str,
    [h, w]: [usize; 2],
    frame_seconds: f64,
    context: usize,
    truth: &[Vec<f32>],
    predictions: &[(&str, &[Vec<f32>])],
    field: impl Fn(&[f32]) -> Vec<f32>,
    spectrum: Option<&Spectrum<'_>>,
) -> Playback {
    let mut extras = Vec::new();
    if let Some(spectrum) = spectrum {
        let of = |frames: &mut dyn Iterator<Item = &Vec<f32>>| -> (usize, Vec<f32>) {
            let spectra: Vec<Vec<f64>> = frames.map(|f| spectrum(f)).collect();
            let width = spectra.first().map_or(0, Vec::len);
            (width, spectra.iter().flatten().map(|&v| v as f32).collect())
        };
        let mut add = |name: &str, (width, data): (usize, Vec<f32>)| {
            extras.push(Extra {
                name: "energy spectrum".into(),
                series: name.into(),
                kind: ExtraKind::Spectrum,
                width,
                data,
            });
        };
        add("truth", of(&mut truth.iter()));
        for (name, frames) in predictions {
            add(name, of(&mut truth[..context].iter().chain(frames.iter())));
        }
    }
    let inputs: Vec<f32> = truth[..context].iter().flat_map(|f| field(f)).collect();
    let mut series = vec![Series {
        name: "truth".into(),
        data: truth.iter().flat_map(|f| field(f)).collect(),
    }];
    for (name, frames) in predictions {
        let mut data = inputs.clone();
        data.extend(frames.iter().flat_map(|f| field(f)));
        series.push(Series {
            name: (*name).into(),
            data,
        });
    }
    Playback {
        title,
        scene: Scene::Field {
            quantity: quantity.into(),
        },
        frames: truth.len(),
        shape: vec![h, w],
        context,
        frame_seconds,
        series,
        extras,
    }
}

/// One object trajectory rolled out from its first frame by every model in `models`, beside
/// the truth (at most [`MAX_OBJECT_FRAMES`] frames), as [`bodies`].
pub fn object_trajectory<T: ObjectTrajectory>(
    title: String,
    truth: &T,
    models: &[(&str, &dyn DeltaV<T::State>)],
    links: Vec<[usize; 2]>,
    anchor: Option<[f64; 2]>,
) -> Result<Playback> {
    let frames = truth.n_frames().min(MAX_OBJECT_FRAMES);
    let positions = |states: &[T::State]| -> Vec<Vec<[f64; 2]>> {
        states.iter().map(|s| s.positions().to_vec()).collect()
    };
    let truth_states: Vec<T::State> = (0..frames).map(|t| truth.state(t)).collect();
    let mut series = vec![("truth", positions(&truth_states))];
    for (name, model) in models {
        let states = rollout(*model, truth, 0, frames - 1)
            .with_context(|| format!("{name}: rollout of {title}"))?;
        series.push((name, positions(&states)));
    }
    Ok(bodies(title, truth.frame_dt(), links, anchor, &series))
}

/// Bodies moving in the plane, one `[frames][bodies]` position list per series (the truth
/// first, then predictions from its first frame). Bounds: the truth's extent (and the
/// anchor's) plus a tenth on each side, so a prediction leaving them is drawn as escaped.
pub fn bodies(
    title: String,
    frame_seconds: f64,
    links: Vec<[usize; 2]>,
    anchor: Option<[f64; 2]>,
    series: &[(&str, Vec<Vec<[f64; 2]>>)],
) -> Playback {
    let truth = &series[0].1;
    let mut bounds = vec![[f64::INFINITY, f64::NEG_INFINITY]; 2];
    for p in truth.iter().flatten().chain(anchor.as_ref()) {
        for a in 0..2 {
            bounds[a][0] = bounds[a][0].min(p[a]);
            bounds[a][1] = bounds[a][1].max(p[a]);
        }
    }
    // A hanging rope spans almost no x: widen the narrow axis to half the wide one, so the
    // picture keeps its proportions instead of stretching a sway across the canvas.
    let widest = bounds.iter().map(|b| b[1] - b[0]).fold(1e-3, f64::max);
    for b in &mut bounds {
        let grow = (0.5 * widest - (b[1] - b[0])).max(0.0) / 2.0;
        let margin = 0.1 * widest;
        *b = [b[0] - grow - margin, b[1] + grow + margin];
    }
    let frames = series.iter().map(|(_, s)| s.len()).min().unwrap_or(0);
    Playback {
        title,
        scene: Scene::Bodies {
            bounds,
            links,
            anchor,
        },
        frames,
        shape: vec![truth.first().map_or(0, Vec::len), 2],
        context: 1,
        frame_seconds,
        series: series
            .iter()
            .map(|(name, frames_of)| Series {
                name: (*name).into(),
                data: frames_of[..frames]
                    .iter()
                    .flatten()
                    .flat_map(|p| [p[0] as f32, p[1] as f32])
                    .collect(),
            })
            .collect(),
        extras: Vec::new(),
    }
}
