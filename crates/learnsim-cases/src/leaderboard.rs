//! The leaderboard: every finished run as one row of an SQLite database in the output root.
//!
//! Runs that finish at the same time each open their own connection; SQLite's locking
//! serialises the writes (WAL journal, `BEGIN IMMEDIATE`, a busy timeout of a minute), so two
//! concurrent runs both land and the file stays consistent.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, params};
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

/// File name of the database inside the output root.
pub const FILE: &str = "leaderboard.sqlite";

/// Key metrics shown per row, in column order (model's value from metrics.json).
const COLUMNS: [&str; 5] = [
    "mse_20",
    "mse_full",
    "sinkhorn_20",
    "escaped_fraction",
    "speedup",
];

fn open(db: &Path) -> Result<Connection> {
    let conn = Connection::open(db)
        .with_context(|| format!("cannot open leaderboard {}", db.display()))?;
    conn.busy_timeout(Duration::from_secs(60))?;
    // Switching a new database to WAL needs an exclusive lock, and SQLite answers BUSY at once
    // (without the busy handler) when another connection is creating the file at the same
    // moment; CI saw this with four writers starting together. Retry for the same 60 s.
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))
        .with_context(|| format!("{}: cannot switch to WAL", db.display()))?;
    retry_busy(|| {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            finished TEXT NOT NULL DEFAULT (datetime('now')),
            run_dir TEXT NOT NULL,
            case_name TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT NOT NULL,
            seed INTEGER NOT NULL,
            pass INTEGER NOT NULL,
            config_hash TEXT NOT NULL,
            report TEXT NOT NULL
        );",
        )
    })
    .with_context(|| format!("{}: not a learnsim leaderboard", db.display()))?;
    Ok(conn)
}

/// Runs `f` until it stops failing with SQLITE_BUSY, for at most 60 s.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// FNV-1a 64 of the resolved config's text: which runs used the same recipe.
pub fn config_hash(config_text: &str) -> String {
    let hash = config_text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Records one scored run (its metrics.json `report`) in the database `db`, replacing the row
/// an earlier scoring of the same run folder left (`learnsim eval` re-scores in place).
pub fn record(db: &Path, run_dir: &Path, report: &Value, config_text: &str) -> Result<()> {
    let mut conn = open(db)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let text = |k: &str| report[k].as_str().unwrap_or("?").to_string();
    tx.execute(
        "DELETE FROM runs WHERE run_dir = ?1",
        params![run_dir.display().to_string()],
    )?;
    tx.execute(
        "INSERT INTO runs (run_dir, case_name, model, tier, seed, pass, config_hash, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            run_dir.display().to_string(),
            text("case"),
            text("model"),
            text("tier"),
            report["seed"].as_i64().unwrap_or(-1),
            report["pass"].as_bool().unwrap_or(false),
            config_hash(config_text),
            report.to_string(),
        ],
    )?;
    tx.commit()
        .with_context(|| format!("cannot write {}", db.display()))?;
    Ok(())
}

/// One recorded run, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub case: String,
    pub model: String,
    pub tier: String,
    pub seed: i64,
    pub pass: bool,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub finished: String,
    pub config_hash: String,
    /// The run folder as the run named it (relative to where it ran, or absolute).
    pub run_dir: String,
    /// The run's metrics.json report (`Null` if the stored text is not JSON).
    pub report: Value,
}

/// Every row of the database `db`, by case then in the order recorded.
pub fn rows(db: &Path) -> Result<Vec<Row>> {
    let conn = open(db)?;
    let mut stmt = conn.prepare(
        "SELECT case_name, model, tier, seed, pass, finished, config_hash, report, run_dir
         FROM runs ORDER BY case_name, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Row {
            case: r.get(0)?,
            model: r.get(1)?,
            tier: r.get(2)?,
            seed: r.get(3)?,
            pass: r.get(4)?,
            finished: r.get(5)?,
            config_hash: r.get(6)?,
            report: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or(Value::Null),
            run_dir: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Output format of [`table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One Markdown table per case.
    Md,
    /// One CSV table, a `case` column first.
    Csv,
}

/// What a case's rows are ranked by: `mse_20` where the case reports it (the particle cases),
/// else the case's first bar (its headline figure), in the direction that bar passes.
#[derive(Debug, Clone, PartialEq)]
struct Primary {
    name: String,
    value: Option<f64>,
    order: RankOrder,
}

/// How a row's rollouts were scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Protocol {
    /// A run's windows every 40 frames.
    #[default]
    Windows,
    /// `learnsim score`: the window from frame 0 alone.
    FromStart,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Windows => "windows",
            Self::FromStart => "from_start",
        }
    }
}

/// Which end of a primary metric is best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RankOrder {
    LowerFirst,
    HigherFirst,
}

impl Primary {
    fn of(report: &Value) -> Option<Primary> {
        if let Some(v) = report["metrics"]["mse_20"].as_f64() {
            return Some(Primary {
                name: "mse_20".into(),
                value: Some(v),
                order: RankOrder::LowerFirst,
            });
        }
        let bar = report["bars"].as_array()?.first()?;
        let value = bar["value"].as_f64().filter(|v| v.is_finite());
        // Rows written before bars carried `at_most` tell it by which side passed.
        let at_most = bar["at_most"].as_bool().or_else(|| {
            let (v, t, pass) = (value?, bar["threshold"].as_f64()?, bar["pass"].as_bool()?);
            (v != t).then_some(pass == (v < t))
        });
        Some(Primary {
            name: bar["name"].as_str().unwrap_or("?").to_string(),
            value,
            order: if at_most == Some(false) {
                RankOrder::HigherFirst
            } else {
                RankOrder::LowerFirst
            },
        })
    }

    /// Sort key: best first, missing values last.
    fn key(&self) -> f64 {
        match (self.value, self.order) {
            (None, _) => f64::INFINITY,
            (Some(v), RankOrder::LowerFirst) => v,
            (Some(v), RankOrder::HigherFirst) => -v,
        }
    }
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The leaderboard of `db`, one table per case (best first by the case's primary metric: see
/// [`Primary`]), optionally one case only.
pub fn table(db: &Path, case: Option<&str>, format: Format) -> Result<String> {
    if !db.exists() {
        bail!(
            "no leaderboard at {} (runs record themselves there when they finish)",
            db.display()
        );
    }
    type Rows = Vec<(f64, Vec<String>)>;
    // Rows of `learnsim score` (rollouts made elsewhere, scored on the window from frame 0)
    // rank apart from the runs' windowed scores: their `mse_20` is another quantity.
    let mut by_case: std::collections::BTreeMap<(String, Protocol), (Option<Primary>, Rows)> =
        Default::default();
    for row in rows(db)?
        .into_iter()
        .filter(|r| case.is_none_or(|c| c == r.case))
    {
        let Row {
            case: case_name,
            model,
            tier,
            seed,
            pass,
            finished,
            config_hash: hash,
            report,
            run_dir,
        } = row;
        let value = |k: &str| {
            report["metrics"][k]
                .as_f64()
                .or_else(|| report["timing"][k].as_f64())
        };
        let primary = Primary::of(&report);
        let mut cells = vec![model, tier, seed.to_string()];
        cells.push(
            primary
                .as_ref()
                .and_then(|p| p.value)
                .map_or("–".into(), |v| format!("{v:.3e}")),
        );
        cells.extend(
            COLUMNS
                .iter()
                .map(|k| value(k).map_or("–".into(), |v| format!("{v:.3e}"))),
        );
        let bars = report["bars"].as_array().map_or(&[][..], Vec::as_slice);
        let passed = bars
            .iter()
            .filter(|b| b["pass"].as_bool() == Some(true))
            .count();
        cells.extend([
            format!("{passed}/{}", bars.len()),
            if report["status"] == "diverged" {
                "DIVERGED"
            } else if pass {
                "yes"
            } else {
                "no"
            }
            .to_string(),
            finished,
            hash,
            run_dir,
        ]);
        let key = primary.as_ref().map_or(f64::INFINITY, Primary::key);
        let protocol = if report["protocol"] == "from_start" {
            Protocol::FromStart
        } else {
            Protocol::Windows
        };
        let entry = by_case.entry((case_name, protocol)).or_default();
        if entry.0.is_none() {
            entry.0 = primary;
        }
        entry.1.push((key, cells));
    }
    let header: Vec<&str> = ["model", "tier", "seed", "primary"]
        .into_iter()
        .chain(COLUMNS)
        .chain(["bars passed", "pass", "finished (UTC)", "config", "run"])
        .collect();
    let mut out = String::new();
    if format == Format::Csv {
        writeln!(out, "case,protocol,ranked_by,{}", header.join(","))?;
    }
    for ((case_name, protocol), (primary, mut rows)) in by_case {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ranked_by = primary.map_or("–".to_string(), |p| {
            let order = match p.order {
                RankOrder::LowerFirst => "lowest first",
                RankOrder::HigherFirst => "highest first",
            };
            format!("{} ({order})", p.name)
        });
        match format {
            Format::Md => {
                match protocol {
                    Protocol::Windows => writeln!(out, "## {case_name}\n")?,
                    Protocol::FromStart => writeln!(
                        out,
                        "## {case_name}: rollouts scored from frame 0 (`learnsim score`)\n\nEvery metric comes from the window from frame 0 (docs/scoring.md); `_full` and `escaped_fraction` compare with the runs' table, `mse_20` does not.\n"
                    )?,
                }
                writeln!(out, "Ranked by {ranked_by}: the `primary` column.\n")?;
                writeln!(out, "| {} |", header.join(" | "))?;
                writeln!(out, "|{}", "---|".repeat(header.len()))?;
                for (_, cells) in rows {
                    writeln!(out, "| {} |", cells.join(" | "))?;
                }
                writeln!(out)?;
            }
            Format::Csv => {
                for (_, cells) in rows {
                    let protocol = protocol.name().to_string();
                    let fields: Vec<String> = [&case_name, &protocol, &ranked_by]
                        .into_iter()
                        .chain(&cells)
                        .map(|c| csv_field(c))
                        .collect();
                    writeln!(out, "{}", fields.join(","))?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(case: &str, mse20: f64) -> Value {
        json!({"case": case, "model": "gns", "tier": "cpu", "seed": 0, "pass": true,
               "metrics": {"mse_20": mse20}, "timing": {"speedup": 2.0}})
    }

    #[test]
    fn concurrent_writers_all_land_and_the_file_stays_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE);
        std::thread::scope(|s| {
            for writer in 0..4 {
                let db = db.clone();
                s.spawn(move || {
                    for k in 0..25 {
                        let r = report("water-drop-2d", f64::from(writer * 100 + k));
                        let run = format!("runs/w{writer}-{k}");
                        record(&db, Path::new(&run), &r, "seed = 0").unwrap();
                    }
                });
            }
        });
        let conn = open(&db).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 100);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    /// Scoring a run folder again replaces its row (issue #33: `eval` used to add one each time).
    #[test]
    fn recording_a_run_again_replaces_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE);
        record(&db, Path::new("runs/a"), &report("sand-2d", 3e-5), "a").unwrap();
        record(&db, Path::new("runs/b"), &report("sand-2d", 2e-5), "b").unwrap();
        record(&db, Path::new("runs/a"), &report("sand-2d", 1e-5), "a").unwrap();
        let csv = table(&db, Some("sand-2d"), Format::Csv).unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(
            csv.contains("1.000e-5") && !csv.contains("3.000e-5"),
            "{csv}"
        );
    }

    /// A `learnsim score` row's `mse_20` comes from frame 0 only: it is ranked in a table of
    /// its own, never above or below a run's windowed `mse_20`.
    #[test]
    fn scored_rollouts_rank_apart_from_runs() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE);
        record(&db, Path::new("runs/a"), &report("sand-2d", 3e-5), "a").unwrap();
        let mut scored = report("sand-2d", 1e-9);
        scored["protocol"] = json!("from_start");
        scored["model"] = json!("theirs");
        record(&db, Path::new("runs/s"), &scored, "s").unwrap();
        let md = table(&db, None, Format::Md).unwrap();
        let (runs, from_start) = md
            .split_once("## sand-2d: rollouts scored from frame 0")
            .expect("a table of its own");
        assert!(runs.contains("| gns |") && !runs.contains("theirs"), "{md}");
        assert!(
            from_start.contains("| theirs |") && !from_start.contains("| gns |"),
            "{md}"
        );
        let csv = table(&db, None, Format::Csv).unwrap();
        assert!(csv.starts_with("case,protocol,ranked_by,"), "{csv}");
        assert!(
            csv.contains("sand-2d,windows,") && csv.contains("sand-2d,from_start,"),
            "{csv}"
        );
    }

    #[test]
    fn tables_group_by_case_sort_by_mse_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE);
        record(&db, Path::new("runs/a"), &report("sand-2d", 3e-5), "a").unwrap();
        record(&db, Path::new("runs/b"), &report("sand-2d", 1e-5), "b").unwrap();
        record(&db, Path::new("runs/c"), &report("tgv-2d", 2e-5), "c").unwrap();
        let md = table(&db, None, Format::Md).unwrap();
        assert!(
            md.contains("## sand-2d") && md.contains("## tgv-2d"),
            "{md}"
        );
        // Best mse_20 first within a case.
        assert!(
            md.find("1.000e-5").unwrap() < md.find("3.000e-5").unwrap(),
            "{md}"
        );
        let csv = table(&db, Some("tgv-2d"), Format::Csv).unwrap();
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("tgv-2d,windows,mse_20 (lowest first),gns,cpu,0,2.000e-5,2.000e-5")
        );
        assert_ne!(config_hash("a"), config_hash("b"));
        assert!(table(&dir.path().join("none.sqlite"), None, Format::Md).is_err());
    }

    /// Cases without `mse_20` rank by their first bar, in the direction it passes; CSV fields
    /// holding commas (bar names, paths) are quoted.
    #[test]
    fn cases_without_mse_20_rank_by_their_first_bar() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE);
        let glass = |r: f64| {
            json!({"case": "glass-ka", "model": "gn", "tier": "cpu", "seed": 0, "pass": true,
                   "metrics": {"pearson_r": r},
                   "bars": [crate::bars::bar("Pearson r (test, t = τ_α)", r, 0.3, crate::PassIf::AtLeast)]})
        };
        let burgers = |l2: f64| {
            json!({"case": "burgers-2d", "model": "pdenet", "tier": "cpu", "seed": 0, "pass": false,
                   "metrics": {"relative_l2_100": l2},
                   "bars": [crate::bars::bar("relative L2, at t = 1", l2, 0.05, crate::PassIf::AtMost)]})
        };
        record(&db, Path::new("runs/g1"), &glass(0.41), "a").unwrap();
        record(&db, Path::new("runs/g2"), &glass(0.62), "b").unwrap();
        record(&db, Path::new("runs/b1"), &burgers(0.28), "c").unwrap();
        record(&db, Path::new("runs/b2"), &burgers(0.10), "d").unwrap();
        let md = table(&db, None, Format::Md).unwrap();
        assert!(
            md.find("6.200e-1").unwrap() < md.find("4.100e-1").unwrap(),
            "{md}"
        );
        assert!(
            md.find("1.000e-1").unwrap() < md.find("2.800e-1").unwrap(),
            "{md}"
        );
        assert!(
            md.contains("Ranked by Pearson r (test, t = τ_α) (highest first)"),
            "{md}"
        );
        let csv = table(&db, Some("burgers-2d"), Format::Csv).unwrap();
        let first = csv.lines().nth(1).unwrap();
        assert!(
            first.starts_with(
                "burgers-2d,windows,\"relative L2, at t = 1 (lowest first)\",pdenet,cpu,0,1.000e-1,"
            ),
            "{csv}"
        );
        // Rows recorded before bars said their direction: inferred from which side passed.
        let old = json!({"name": "r", "value": 0.5, "threshold": 0.3, "pass": true});
        let p = Primary::of(&json!({"bars": [old]})).unwrap();
        assert_eq!(p.order, RankOrder::HigherFirst);
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
