//! What the pages show, read from the root: the run folders, one run's files, the
//! leaderboard. Every reader reports a bad file as an error string inside its answer, so a
//! half-written or corrupt run folder gives an error card, never a failed request.

use crate::safe_path::Root;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Folders under a run that hold no runs of their own.
const NOT_RUNS: [&str; 5] = ["data", "checkpoint", "playback", "vtk", "node_modules"];

/// How deep under the root run folders are looked for (`runs/CASE`, `runs/sweep/CASE`, …).
const MAX_DEPTH: usize = 3;

/// Extensions of the files a run page may fetch through `/data/`.
pub const SERVED: [(&str, &str); 8] = [
    ("json", "application/json"),
    ("csv", "text/csv; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("toml", "text/plain; charset=utf-8"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("lsp", "application/octet-stream"),
    ("txt", "text/plain; charset=utf-8"),
];

/// Every run folder (a folder holding `run.json`) under the root, sorted by id.
pub fn run_dirs(root: &Root) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(root.path(), 0, &mut found);
    found.sort();
    found
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if dir.join("run.json").is_file() {
        found.push(dir.to_path_buf());
        return;
    }
    if depth == MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !name.starts_with('.') && !NOT_RUNS.contains(&name.as_str()) {
            walk(&entry.path(), depth + 1, found);
        }
    }
}

/// A JSON file's value, or why it could not be read.
fn read_json(path: &Path) -> Result<Value, String> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{name}: not valid JSON ({e})"))
}

/// The list on the leaderboard page: each run's record and headline, errors inline.
pub fn list(root: &Root) -> Value {
    let runs: Vec<Value> = run_dirs(root)
        .iter()
        .filter_map(|dir| {
            let id = root.id_of(dir)?;
            let mut errors = Vec::new();
            let record = read_json(&dir.join("run.json")).unwrap_or_else(|e| {
                errors.push(e);
                Value::Null
            });
            let metrics_path = dir.join("metrics.json");
            let metrics = if metrics_path.exists() {
                read_json(&metrics_path).unwrap_or_else(|e| {
                    errors.push(e);
                    Value::Null
                })
            } else {
                Value::Null
            };
            Some(json!({
                "id": id,
                "case": record["case"],
                "tier": record["tier"],
                "seed": record["seed"],
                "state": record["state"],
                "model": metrics["model"],
                "pass": metrics["pass"],
                "bars": metrics["bars"],
                "errors": errors,
            }))
        })
        .collect();
    json!({ "root": root.path().display().to_string(), "runs": runs })
}

/// Everything the run page shows of the run folder `dir` (id `id`).
pub fn summary(dir: &Path, id: &str) -> Value {
    let mut errors = Vec::new();
    let mut optional_json = |name: &str| {
        let path = dir.join(name);
        if !path.exists() {
            return Value::Null;
        }
        read_json(&path).unwrap_or_else(|e| {
            errors.push(e);
            Value::Null
        })
    };
    let record = optional_json("run.json");
    let metrics = optional_json("metrics.json");
    let train_log = match std::fs::read_to_string(dir.join("train_log.csv")) {
        Ok(text) => parse_log(&text).unwrap_or_else(|e| {
            errors.push(format!("train_log.csv: {e}"));
            Value::Null
        }),
        Err(_) => Value::Null,
    };
    let listing = |sub: &str, ext: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n.ends_with(ext))
            .collect();
        names.sort_by_key(|n| natural_key(n));
        names
    };
    let report_md = std::fs::read_to_string(dir.join("report.md")).ok();
    json!({
        "id": id,
        "run": record,
        "metrics": metrics,
        "train_log": train_log,
        "playbacks": listing("playback", ".lsp"),
        "images": listing("", ".png"),
        "gifs": listing("", ".gif"),
        "report_md": report_md,
        "errors": errors,
    })
}

/// `name` with its digit runs as numbers, so `test_10` sorts after `test_9`.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

/// `train_log.csv` (`network,step,lr,train_loss,valid_loss,steps_per_s`) as
/// `{"columns": [...], "rows": [[...]]}`: the first column text, the others numbers or null.
fn parse_log(text: &str) -> Result<Value, String> {
    let mut lines = text.lines();
    let columns: Vec<&str> = lines.next().ok_or("empty")?.split(',').collect();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns.len() {
            return Err(format!(
                "line {} has {} fields; the header has {}",
                i + 2,
                cells.len(),
                columns.len()
            ));
        }
        let row: Vec<Value> = cells
            .iter()
            .enumerate()
            .map(|(k, c)| match (k, c.parse::<f64>()) {
                (0, _) => json!(c),
                (_, Ok(v)) if v.is_finite() => json!(v),
                _ => Value::Null,
            })
            .collect();
        rows.push(row);
    }
    Ok(json!({ "columns": columns, "rows": rows }))
}

/// The leaderboard's rows, each with the id of its run folder when that folder is under the
/// root (rows name their folder as the run did: relative to where it ran, or absolute).
pub fn leaderboard(root: &Root) -> Value {
    let db = root.path().join(learnsim_cases::leaderboard::FILE);
    if !db.exists() {
        return json!({ "rows": [], "error": null });
    }
    match learnsim_cases::leaderboard::rows(&db) {
        Ok(rows) => {
            let rows: Vec<Value> = rows
                .into_iter()
                .map(|row| {
                    let id = run_id(root, &row.run_dir);
                    let mut value = serde_json::to_value(&row).unwrap_or(Value::Null);
                    value["id"] = json!(id);
                    value
                })
                .collect();
            json!({ "rows": rows, "error": null })
        }
        Err(e) => json!({ "rows": [], "error": format!("{e:#}") }),
    }
}

/// The root-relative id of the run folder a leaderboard row names, if it is under the root.
fn run_id(root: &Root, run_dir: &str) -> Option<String> {
    let named = Path::new(run_dir);
    let mut candidates = vec![named.to_path_buf()];
    // Relative names: try each tail under the root (`runs/water-drop-2d` recorded from the
    // project folder is `water-drop-2d` under the root `runs`).
    let parts: Vec<_> = named.components().collect();
    for k in 0..parts.len() {
        let tail: PathBuf = parts[k..].iter().collect();
        if tail.is_relative() {
            candidates.push(root.path().join(tail));
        }
    }
    candidates
        .iter()
        .filter(|c| c.join("run.json").is_file())
        .find_map(|c| root.id_of(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_logs_parse_to_numbers_and_a_bad_line_is_named() {
        let log = parse_log("network,step,lr\ngns,0,\ngns,1,0.001\n").unwrap();
        assert_eq!(log["rows"][1], json!(["gns", 1.0, 0.001]));
        assert_eq!(log["rows"][0][2], Value::Null);
        let bad = parse_log("network,step\ngns,1,2\n").unwrap_err();
        assert!(bad.contains("line 2 has 3 fields"), "{bad}");
    }

    #[test]
    fn numbered_names_sort_as_numbers() {
        let mut names = vec!["test_10.lsp", "test_2.lsp", "test_1.lsp"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["test_1.lsp", "test_2.lsp", "test_10.lsp"]);
    }
}
