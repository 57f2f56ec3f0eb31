//! Every URL the viewer answers, as a pure function of the root and the request line (the
//! server in [`crate::server`] only moves bytes), so each endpoint is tested without a socket.
//!
//! | path | answer |
//! |---|---|
//! | `/` | the single-page app (`index.html`) |
//! | `/assets/NAME` | its script, styles and the vendored uPlot |
//! | `/api/runs` | every run folder under the root, with its record and bars |
//! | `/api/leaderboard` | the rows of `ROOT/leaderboard.sqlite` |
//! | `/api/run/ID` | one run: record, metrics, training log, playbacks, figures |
//! | `/data/ID/FILE` | a file of a run: JSON, CSV, Markdown, TOML, PNG, GIF, playback (`.lsp`) |
//!
//! Anything else, or a path leaving the root, is 404; a method other than GET is 405.

use crate::runs;
use crate::safe_path::Root;
use learnsim_data::playback::read_header;
use serde_json::{Value, json};

/// The files of the app, compiled into the binary.
pub const ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../assets/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/uPlot.min.css"),
    ),
];

/// One answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Self {
        Self::json(status, &json!({ "error": message.into() }))
    }

    fn not_found() -> Self {
        Self::error(404, "not found")
    }
}

/// The embedded asset `name`.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, b)| (*t, *b))
}

/// The answer to `method url` for files under `root`.
pub fn respond(root: &Root, method: &str, url: &str) -> Reply {
    if method != "GET" {
        return Reply::error(405, format!("{method}: the viewer is read-only (GET only)"));
    }
    let path = url.split(['?', '#']).next().unwrap_or("");
    let Some(path) = path.strip_prefix('/') else {
        return Reply::not_found();
    };
    if path.is_empty() || path == "index.html" {
        let (content_type, body) = asset("index.html").expect("index.html is embedded");
        return Reply {
            status: 200,
            content_type,
            body: body.to_vec(),
        };
    }
    if let Some(name) = path.strip_prefix("assets/") {
        return asset(name).map_or_else(Reply::not_found, |(content_type, body)| Reply {
            status: 200,
            content_type,
            body: body.to_vec(),
        });
    }
    match path {
        "api/runs" => return Reply::json(200, &runs::list(root)),
        "api/leaderboard" => return Reply::json(200, &runs::leaderboard(root)),
        _ => {}
    }
    if let Some(id) = path.strip_prefix("api/run/") {
        return match root.resolve(id) {
            Some(dir) if dir.join("run.json").is_file() => {
                let id = root.id_of(&dir).unwrap_or_else(|| id.to_string());
                Reply::json(200, &runs::summary(&dir, &id))
            }
            _ => Reply::error(404, "no run folder here"),
        };
    }
    if let Some(rel) = path.strip_prefix("data/") {
        return data_file(root, rel);
    }
    Reply::not_found()
}

/// `/data/REL`: a file of a served kind under the root; a playback file only when its header
/// and series lie inside it (a half-written one is 422 with the reason).
fn data_file(root: &Root, rel: &str) -> Reply {
    let Some(file) = root.resolve(rel).filter(|p| p.is_file()) else {
        return Reply::not_found();
    };
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let Some((_, content_type)) = runs::SERVED.iter().find(|(e, _)| *e == ext) else {
        return Reply::not_found();
    };
    let body = match std::fs::read(&file) {
        Ok(body) => body,
        Err(e) => return Reply::error(500, format!("cannot read the file: {e}")),
    };
    if ext == "lsp"
        && let Err(problem) = read_header(&body)
    {
        return Reply::error(422, problem);
    }
    Reply {
        status: 200,
        content_type,
        body,
    }
}
