//! Playback files (`RUN/playback/*.lsp`): one trajectory of a case's ground truth beside its
//! learned prediction and baselines, as `learnsim view`'s player draws them.
//!
//! Layout (every number little-endian):
//!
//! ```text
//! b"LSPLAY1\n"                  8 bytes, the magic and version
//! u32                           header length H in bytes
//! H bytes                       the header, UTF-8 JSON ([`Header`])
//! 0–3 zero bytes                padding to a multiple of 4 from the file's start
//! f32 × (frames · Π shape)      each series in the header's order, frame-major
//! f32 × (frames · width)        each extra (an MPC plan, a spectrum) in the header's order
//! ```
//!
//! The viewer's endpoint serves the file as it is, and the browser reads the series as
//! `Float32Array` views of the same bytes: no conversion on either side.

use crate::{DataError, write_atomically};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// First 8 bytes of every playback file.
pub const MAGIC: &[u8; 8] = b"LSPLAY1\n";

/// What the frames hold, and how the player draws them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scene {
    /// Particles `[N, D]` per frame inside `bounds` (`[lo, hi]` per axis); `classes` is each
    /// particle's index into `class_names` (its material), for colour.
    Particles {
        bounds: Vec<[f64; 2]>,
        classes: Vec<u8>,
        class_names: Vec<String>,
    },
    /// A scalar field `[H, W]` per frame (`quantity`, e.g. "vorticity").
    Field { quantity: String },
    /// Bodies `[B, D]` per frame inside `bounds`, drawn as discs; `links` joins bodies
    /// (springs, rods) drawn as lines, `anchor` an optional fixed pivot joined to body 0 (a
    /// pendulum's rod).
    Bodies {
        bounds: Vec<[f64; 2]>,
        links: Vec<[usize; 2]>,
        anchor: Option<[f64; 2]>,
    },
}

/// One named sequence of frames: the truth, the model or a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// "truth", the model's name, or a baseline's.
    pub name: String,
    /// `[frames, shape…]`, frame-major.
    pub data: Vec<f32>,
}

/// What an [`Extra`] holds per frame, and how the player shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraKind {
    /// `width / 2` points `(x, y)` per frame, drawn as a dashed path over the panel of its
    /// series (an MPC plan: where the planner expects the body to go from this frame).
    Path,
    /// `width` values per frame, charted against 1..=width under the panels, one line per
    /// series (an energy spectrum by wavenumber shell).
    Spectrum,
}

/// Per-frame data that belongs to one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Extra {
    /// What it is ("plan", "energy spectrum").
    pub name: String,
    /// The series it belongs to.
    pub series: String,
    pub kind: ExtraKind,
    /// Values per frame.
    pub width: usize,
    /// `[frames, width]`, frame-major.
    pub data: Vec<f32>,
}

/// One trajectory to play.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    /// What the player shows above the canvas ("test trajectory 2", …).
    pub title: String,
    pub scene: Scene,
    /// Number of frames in every series.
    pub frames: usize,
    /// Shape of one frame: `[N, D]` (particles, bodies) or `[H, W]` (fields).
    pub shape: Vec<usize>,
    /// Frames the models were given (copied from the truth); predictions start after them.
    pub context: usize,
    /// Simulated seconds between frames.
    pub frame_seconds: f64,
    /// The truth first, then the model, then baselines.
    pub series: Vec<Series>,
    /// Per-frame data of some series (plans, spectra); often none.
    pub extras: Vec<Extra>,
}

/// The JSON header as stored: [`Playback`] less the numbers, plus where each series lies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub title: String,
    pub scene: Scene,
    pub frames: usize,
    pub shape: Vec<usize>,
    pub context: usize,
    pub frame_seconds: f64,
    /// Series in data order; `offset` counts bytes from the file's start.
    pub series: Vec<SeriesHeader>,
    /// Extras after the series, likewise.
    #[serde(default)]
    pub extras: Vec<ExtraHeader>,
}

/// Where one extra lies in the file, and what it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtraHeader {
    pub name: String,
    pub series: String,
    pub kind: ExtraKind,
    pub width: usize,
    pub offset: usize,
    pub floats: usize,
}

/// Where one series lies in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesHeader {
    pub name: String,
    pub offset: usize,
    pub floats: usize,
}

impl Playback {
    /// Floats in one series: `frames · Π shape`.
    pub fn series_len(&self) -> usize {
        self.frames * self.shape.iter().product::<usize>()
    }

    /// Checks the shapes agree: every series holds [`Self::series_len`] floats, the truth
    /// comes first, the context is shorter than the trajectory, classes match particles.
    pub fn check(&self) -> Result<(), String> {
        // A corrupt header may hold any sizes: refuse those whose product overflows.
        let n = self
            .shape
            .iter()
            .try_fold(self.frames, |n, &d| n.checked_mul(d))
            .ok_or_else(|| format!("{} frames of {:?} overflow", self.frames, self.shape))?;
        if self.series.first().is_none_or(|s| s.name != "truth") {
            return Err("the first series must be `truth`".into());
        }
        if self.context >= self.frames {
            return Err(format!(
                "context {} leaves nothing to predict in {} frames",
                self.context, self.frames
            ));
        }
        for s in &self.series {
            if s.data.len() != n {
                return Err(format!(
                    "series `{}` holds {} floats; {} frames of {:?} need {n}",
                    s.name,
                    s.data.len(),
                    self.frames,
                    self.shape
                ));
            }
        }
        let expect_rank = |rank: usize| {
            if self.shape.len() == rank {
                Ok(())
            } else {
                Err(format!(
                    "frame shape {:?} is not of rank {rank}",
                    self.shape
                ))
            }
        };
        match &self.scene {
            Scene::Particles {
                bounds, classes, ..
            } => {
                expect_rank(2)?;
                if classes.len() != self.shape[0] || bounds.len() != self.shape[1] {
                    return Err(format!(
                        "{} classes and {} bounds for frames of {:?}",
                        classes.len(),
                        bounds.len(),
                        self.shape
                    ));
                }
            }
            Scene::Bodies { bounds, links, .. } => {
                expect_rank(2)?;
                if bounds.len() != self.shape[1] {
                    return Err(format!("{} bounds for {:?}", bounds.len(), self.shape));
                }
                if let Some(l) = links.iter().find(|l| l.iter().any(|&b| b >= self.shape[0])) {
                    return Err(format!("link {l:?} past {} bodies", self.shape[0]));
                }
            }
            Scene::Field { .. } => expect_rank(2)?,
        }
        for e in &self.extras {
            if !self.series.iter().any(|s| s.name == e.series) {
                return Err(format!(
                    "extra `{}` belongs to no series `{}`",
                    e.name, e.series
                ));
            }
            if e.width == 0 || (e.kind == ExtraKind::Path && e.width % 2 != 0) {
                return Err(format!("extra `{}` has width {}", e.name, e.width));
            }
            if Some(e.data.len()) != self.frames.checked_mul(e.width) {
                return Err(format!(
                    "extra `{}` holds {} floats; {} frames of {} need {}",
                    e.name,
                    e.data.len(),
                    self.frames,
                    e.width,
                    self.frames.saturating_mul(e.width)
                ));
            }
        }
        Ok(())
    }

    /// The file's bytes (see the module docs).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        self.check()?;
        let mut header = Header {
            version: 1,
            title: self.title.clone(),
            scene: self.scene.clone(),
            frames: self.frames,
            shape: self.shape.clone(),
            context: self.context,
            frame_seconds: self.frame_seconds,
            series: Vec::new(),
            extras: Vec::new(),
        };
        // The offsets depend on the header's length, which depends on the offsets' digits:
        // lay out with a guess, then again until the length stops changing (twice at most).
        let mut start = 0;
        let json = loop {
            let mut at = start;
            let mut place = |floats: usize| {
                let offset = at;
                at += 4 * floats;
                offset
            };
            header.series = self
                .series
                .iter()
                .map(|s| SeriesHeader {
                    name: s.name.clone(),
                    offset: place(s.data.len()),
                    floats: s.data.len(),
                })
                .collect();
            header.extras = self
                .extras
                .iter()
                .map(|e| ExtraHeader {
                    name: e.name.clone(),
                    series: e.series.clone(),
                    kind: e.kind,
                    width: e.width,
                    offset: place(e.data.len()),
                    floats: e.data.len(),
                })
                .collect();
            let json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
            let data_start = (MAGIC.len() + 4 + json.len()).next_multiple_of(4);
            if data_start == start {
                break json;
            }
            start = data_start;
        };
        let mut bytes = Vec::with_capacity(start + 4 * self.series.len() * self.series_len());
        bytes.extend_from_slice(MAGIC);
        let len = u32::try_from(json.len()).map_err(|_| "header past 4 GiB".to_string())?;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&json);
        bytes.resize(start, 0);
        let blocks = self.series.iter().map(|s| &s.data);
        for data in blocks.chain(self.extras.iter().map(|e| &e.data)) {
            for v in data {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        Ok(bytes)
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        let bytes = self.to_bytes().map_err(|p| DataError::invalid(path, p))?;
        write_atomically(path, |tmp| {
            let mut f = std::fs::File::create(tmp).map_err(|e| DataError::io(tmp, e))?;
            f.write_all(&bytes).map_err(|e| DataError::io(tmp, e))
        })
    }

    /// Parses a file's bytes, checking every offset and length against the bytes present.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let header = read_header(bytes)?;
        let floats = |offset: usize, count: usize| -> Vec<f32> {
            bytes[offset..offset + 4 * count]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let series = header
            .series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                data: floats(s.offset, s.floats),
            })
            .collect();
        let extras = header
            .extras
            .iter()
            .map(|e| Extra {
                name: e.name.clone(),
                series: e.series.clone(),
                kind: e.kind,
                width: e.width,
                data: floats(e.offset, e.floats),
            })
            .collect();
        let playback = Self {
            title: header.title,
            scene: header.scene,
            frames: header.frames,
            shape: header.shape,
            context: header.context,
            frame_seconds: header.frame_seconds,
            series,
            extras,
        };
        playback.check()?;
        Ok(playback)
    }

    /// Reads and checks a file.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|p| DataError::invalid(path, p))
    }
}

/// The header of a playback file's bytes, every series checked to lie inside them (so a
/// half-written file is refused, not served).
pub fn read_header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err("not a learnsim playback file (no LSPLAY1 magic)".into());
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let json = bytes
        .get(12..12 + len)
        .ok_or_else(|| format!("header of {len} bytes runs past the file's {}", bytes.len()))?;
    let header: Header =
        serde_json::from_slice(json).map_err(|e| format!("unreadable header: {e}"))?;
    if header.version != 1 {
        return Err(format!(
            "playback version {} (this learnsim reads 1)",
            header.version
        ));
    }
    let blocks = header.series.iter().map(|s| (&s.name, s.offset, s.floats));
    let extras = header.extras.iter().map(|e| (&e.name, e.offset, e.floats));
    for (name, offset, floats) in blocks.chain(extras) {
        let end = floats.checked_mul(4).and_then(|b| b.checked_add(offset));
        if offset % 4 != 0 || end.is_none_or(|end| end > bytes.len()) {
            return Err(format!(
                "series `{name}` ({floats} floats at byte {offset}) does not lie in the file's {} bytes",
                bytes.len()
            ));
        }
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Playback {
        Playback {
            title: "test trajectory 0".into(),
            scene: Scene::Particles {
                bounds: vec![[0.1, 0.9], [0.1, 0.9]],
                classes: vec![5, 3],
                class_names: vec!["water".into(), "wall".into()],
            },
            frames: 3,
            shape: vec![2, 2],
            context: 1,
            frame_seconds: 0.0025,
            series: vec![
                Series {
                    name: "truth".into(),
                    data: (0..12).map(|i| i as f32 * 0.1).collect(),
                },
                Series {
                    name: "gns".into(),
                    data: (0..12).map(|i| i as f32 * -0.5).collect(),
                },
            ],
            extras: vec![Extra {
                name: "plan".into(),
                series: "gns".into(),
                kind: ExtraKind::Path,
                width: 4,
                data: (0..12).map(|i| i as f32 * 0.25).collect(),
            }],
        }
    }

    #[test]
    fn a_playback_round_trips_bit_for_bit_with_aligned_series() {
        let p = sample();
        let bytes = p.to_bytes().unwrap();
        assert_eq!(Playback::from_bytes(&bytes).unwrap(), p);
        let header = read_header(&bytes).unwrap();
        assert!(header.series.iter().all(|s| s.offset % 4 == 0));
        // The blocks follow each other and end the file: nothing between or after them.
        assert_eq!(header.series[1].offset + 4 * 12, header.extras[0].offset);
        assert_eq!(header.extras[0].offset + 4 * 12, bytes.len());
    }

    #[test]
    fn truncated_or_inconsistent_files_are_refused() {
        let bytes = sample().to_bytes().unwrap();
        let cut = Playback::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(cut.contains("does not lie in the file"), "{cut}");
        assert!(Playback::from_bytes(b"LSPLAY2\n\0\0\0\0").is_err());
        let mut bad = sample();
        bad.series[1].data.pop();
        assert!(bad.to_bytes().unwrap_err().contains("holds 11 floats"));
        let mut first = sample();
        first.series.swap(0, 1);
        assert!(first.check().unwrap_err().contains("truth"));
        let mut orphan = sample();
        orphan.extras[0].series = "fno".into();
        assert!(orphan.check().unwrap_err().contains("belongs to no series"));
        let mut odd = sample();
        odd.extras[0].width = 3;
        assert!(odd.check().unwrap_err().contains("width 3"));
        let mut huge = sample();
        huge.shape = vec![usize::MAX, 2];
        assert!(huge.check().unwrap_err().contains("overflow"));
    }
}
