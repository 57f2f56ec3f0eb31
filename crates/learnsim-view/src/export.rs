//! `learnsim view --export RUN OUT.html`: one run page as one self-contained HTML file (app,
//! styles, uPlot, the run's data, figures and playbacks inlined) that opens from disk with no
//! server. Playbacks past the size cap are subsampled in time, with a notice on the page.

use crate::routes::asset;
use crate::runs;
use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use learnsim_data::playback::{Extra, Playback, Series};
use serde_json::{Value, json};
use std::path::Path;

/// Default cap on the file's size.
pub const DEFAULT_MAX_MB: f64 = 25.0;

/// The first line of every export: an existing file that starts with it is replaced, any
/// other file at the output path is refused.
const MARKER: &str = "<!-- learnsim view export -->";

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub bytes: usize,
    /// Every kept frame is this many frames of the run apart (1: all kept).
    pub frame_stride: usize,
    /// Playbacks left out because even one frame in `frame_stride` did not fit.
    pub dropped: usize,
}

/// Writes `out` (atomically) from the run folder `run`, at most `max_bytes` of playback data
/// plus the app and the figures.
pub fn export(run: &Path, out: &Path, max_bytes: usize) -> Result<Exported> {
    if !run.join("run.json").is_file() {
        bail!("{}: not a run folder (no run.json)", run.display());
    }
    let folder = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        bail!(
            "{}: the folder {} does not exist",
            out.display(),
            folder.display()
        );
    }
    if out.exists() {
        let mut head = [0u8; MARKER.len()];
        let ours = std::fs::File::open(out)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && head == MARKER.as_bytes();
        if !ours {
            bail!(
                "{} exists and is not a learnsim view export: refusing to overwrite it (choose another name or remove it)",
                out.display()
            );
        }
    }
    let id = run
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "run".into());
    let mut summary = runs::summary(run, &id);
    let names: Vec<String> = summary["playbacks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut playbacks = Vec::new();
    for name in &names {
        let path = run.join("playback").join(name);
        match Playback::read(&path) {
            Ok(p) => playbacks.push((name.clone(), p)),
            Err(e) => summary["errors"]
                .as_array_mut()
                .expect("errors is an array")
                .push(json!(format!("{e}"))),
        }
    }
    let figures: usize = ["images", "gifs"]
        .iter()
        .flat_map(|k| summary[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().and_then(|n| std::fs::metadata(run.join(n)).ok()))
        .map(|m| m.len() as usize * 4 / 3)
        .sum();
    let budget = max_bytes.saturating_sub(figures + 1_000_000);
    // base64 makes every byte 4/3 of a byte.
    let size = |ps: &[(String, Playback)]| -> usize {
        ps.iter()
            .map(|(_, p)| {
                let extras: usize = p.extras.iter().map(|e| e.data.len()).sum();
                4 * (p.series.len() * p.series_len() + extras) * 4 / 3
            })
            .sum()
    };
    let full = size(&playbacks);
    let stride = full.div_ceil(budget.max(1)).max(1);
    let mut kept: Vec<(String, Playback)> = playbacks
        .into_iter()
        .map(|(n, p)| (n, subsample(&p, stride)))
        .collect();
    let mut dropped = 0;
    while size(&kept) > budget && !kept.is_empty() {
        kept.pop();
        dropped += 1;
    }
    let mut notices = Vec::new();
    if stride > 1 {
        notices.push(format!(
            "Playbacks subsampled to every {stride}th frame to keep this file under {:.0} MB \
             (all frames: {:.0} MB); the run folder has them all.",
            max_bytes as f64 / 1e6,
            full as f64 / 1e6
        ));
    }
    if dropped > 0 {
        notices.push(format!(
            "{dropped} playback(s) left out to stay under the size cap."
        ));
    }
    let mut encoded = serde_json::Map::new();
    for (name, p) in &kept {
        let bytes = p.to_bytes().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        encoded.insert(name.clone(), json!(STANDARD.encode(bytes)));
    }
    summary["playbacks"] = json!(kept.iter().map(|(n, _)| n).collect::<Vec<_>>());
    let mut files = serde_json::Map::new();
    for key in ["images", "gifs"] {
        for name in summary[key].as_array().cloned().unwrap_or_default() {
            let Some(name) = name.as_str() else { continue };
            let bytes = std::fs::read(run.join(name))
                .with_context(|| format!("cannot read {}", run.join(name).display()))?;
            let mime = if key == "gifs" {
                "image/gif"
            } else {
                "image/png"
            };
            files.insert(
                name.to_string(),
                json!(format!("data:{mime};base64,{}", STANDARD.encode(bytes))),
            );
        }
    }
    let data = json!({
        "summary": summary,
        "playbacks": encoded,
        "files": files,
        "notices": notices,
    });
    let html = page(&data)?;
    learnsim_data::write_bytes_atomically(out, html.as_bytes())?;
    Ok(Exported {
        bytes: html.len(),
        frame_stride: stride,
        dropped,
    })
}

/// The app's page with its assets and `data` inlined.
fn page(data: &Value) -> Result<String> {
    let text = |name: &str| -> Result<String> {
        let (_, bytes) = asset(name).with_context(|| format!("asset {name}"))?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    };
    // JSON inside <script>: `</` would end the element, `<!--` open a comment.
    let json = data
        .to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--");
    let index = text("index.html")?;
    let replaced = [
        (
            r#"<link rel="stylesheet" href="assets/uPlot.min.css">"#,
            format!("<style>{}</style>", text("uPlot.min.css")?),
        ),
        (
            r#"<link rel="stylesheet" href="assets/app.css">"#,
            format!("<style>{}</style>", text("app.css")?),
        ),
        (
            r#"<script src="assets/uPlot.iife.min.js"></script>"#,
            format!("<script>{}</script>", text("uPlot.iife.min.js")?),
        ),
        (
            r#"<script src="assets/app.js"></script>"#,
            format!(
                "<script>window.LEARNSIM_EXPORT = {json};</script>\n<script>{}</script>",
                text("app.js")?.replace("</script", "<\\/script")
            ),
        ),
    ];
    let mut html = format!("{MARKER}\n{index}");
    for (tag, inline) in replaced {
        if !html.contains(tag) {
            bail!("index.html no longer holds {tag}");
        }
        html = html.replace(tag, &inline);
    }
    Ok(html)
}

/// Every `stride`th frame of `p` (the context shrinks to the kept frames inside it).
fn subsample(p: &Playback, stride: usize) -> Playback {
    if stride <= 1 {
        return p.clone();
    }
    let per_frame: usize = p.shape.iter().product();
    let kept: Vec<usize> = (0..p.frames).step_by(stride).collect();
    let context = kept.iter().filter(|&&t| t < p.context).count();
    // Keep one predicted frame at least.
    let frames = kept.len().max(context + 1).min(kept.len());
    Playback {
        frames,
        context: context.min(frames.saturating_sub(1)),
        frame_seconds: p.frame_seconds * stride as f64,
        series: p
            .series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                data: kept[..frames]
                    .iter()
                    .flat_map(|&t| s.data[t * per_frame..(t + 1) * per_frame].iter().copied())
                    .collect(),
            })
            .collect(),
        extras: p
            .extras
            .iter()
            .map(|e| Extra {
                data: kept[..frames]
                    .iter()
                    .flat_map(|&t| e.data[t * e.width..(t + 1) * e.width].iter().copied())
                    .collect(),
                ..e.clone()
            })
            .collect(),
        ..p.clone()
    }
}
