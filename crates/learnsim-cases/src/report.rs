//! `report.md`: a run's metrics.json as tables a person reads, next to its plots and renders.

use serde_json::Value;
use std::fmt::Write;

/// Steppers in column order: the model, then the baselines of metrics.json.
const BASELINES: [&str; 3] = ["persistence", "constant_velocity", "ballistic"];

fn cell(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| {
        if x == 0.0 {
            "0".into()
        } else if (1e-2..1e4).contains(&x.abs()) {
            format!("{x:.4}")
        } else {
            format!("{x:.3e}")
        }
    })
}

/// How the GNS protocol's windows are read.
const GNS_NOTES: &str = "Windows start every 40 frames; `_H` averages the first H predicted frames of each window (ARCHITECTURE.md, \"The evaluation protocol\").";

/// The report of a GNS run's metrics.json (see ARCHITECTURE.md for its schema).
pub fn markdown(report: &Value) -> String {
    let mut s = render(
        report,
        &BASELINES,
        GNS_NOTES,
        &[
            ("error against horizon", "error_vs_horizon.png"),
            ("loss curves", "loss.png"),
            ("ground truth | prediction", "rollout.gif"),
        ],
    );
    s.push_str("\nParaView: `vtk/truth.pvd` and `vtk/prediction.pvd` (test trajectory 0).\n");
    s
}

/// The report of any case's metrics.json: one column per baseline it records, `notes` under
/// the metrics heading, and the given (caption, file) figures.
pub fn markdown_with(report: &Value, notes: &str, figures: &[(&str, &str)]) -> String {
    let baselines: Vec<&str> = report["baselines"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    render(report, &baselines, notes, figures)
}

fn render(report: &Value, baselines: &[&str], notes: &str, figures: &[(&str, &str)]) -> String {
    let mut s = String::new();
    let text = |k: &str| report[k].as_str().unwrap_or("?").to_string();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "# {} — {} ({} tier, seed {})\n",
        text("case"),
        text("model"),
        text("tier"),
        report["seed"]
    );
    let pass = report["pass"].as_bool() == Some(true);
    let _ = writeln!(s, "**Verdict: {}**\n", if pass { "PASS" } else { "FAIL" });
    let _ = writeln!(s, "| bar | value | threshold | pass |\n|---|---|---|---|");
    for bar in report["bars"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            // A `|` inside a cell would end it.
            bar["name"].as_str().unwrap_or("?").replace('|', "\\|"),
            cell(&bar["value"]),
            cell(&bar["threshold"]),
            if bar["pass"].as_bool() == Some(true) {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    let _ = writeln!(s, "\n## Metrics (test split)\n\n{notes}\n");
    let _ = writeln!(
        s,
        "| metric | {} |{}\n|---|---|{}",
        text("model"),
        baselines
            .iter()
            .map(|b| format!(" {b} |"))
            .collect::<String>(),
        "---|".repeat(baselines.len())
    );
    let metrics = &report["metrics"];
    let mut names: Vec<&String> = metrics
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    // Group by metric family and qualifier, then by horizon (numeric), `full` last:
    // `mse_5_n6` sorts as (mse, n6, 5), so `mse_5_n6` comes before `mse_10_n6`.
    let order = |k: &str| {
        let parts: Vec<&str> = k.split('_').collect();
        let at = parts
            .iter()
            .position(|p| p.parse::<usize>().is_ok() || *p == "full");
        match at {
            Some(i) => (
                parts[..i].join("_"),
                parts[i + 1..].join("_"),
                parts[i].parse::<usize>().unwrap_or(usize::MAX),
                k.to_string(),
            ),
            None => (k.to_string(), String::new(), usize::MAX, k.to_string()),
        }
    };
    names.sort_by_key(|k| order(k));
    for name in names {
        let _ = write!(s, "| {name} | {} |", cell(&metrics[name]));
        for b in baselines {
            let _ = write!(s, " {} |", cell(&report["baselines"][b][name]));
        }
        s.push('\n');
    }
    let t = &report["timing"];
    if t.get("rollout_steps_per_s").is_some() {
        let _ = writeln!(
            s,
            "\n## Speed (same machine, same run)\n\n| | frames/s |\n|---|---|\n| ground truth | {} |\n| learned simulator (rollout) | {} |\n| speed-up | {}× |\n\nTraining took {} s.\n",
            cell(&t["ground_truth_steps_per_s"]),
            cell(&t["rollout_steps_per_s"]),
            cell(&t["speedup"]),
            cell(&t["train_s"]),
        );
        let e = &t["evaluation"];
        if e.is_object() {
            let _ = writeln!(
                s,
                "Scoring the model and the baselines took {} s of rollouts and {} s of metrics, {} s of them in the Sinkhorn divergence.\n",
                cell(&e["rollout_s"]),
                cell(&e["metrics_s"]),
                cell(&e["sinkhorn_s"]),
            );
        }
    } else if t.is_object() {
        // Cases that do not roll out (SchNet, glass): their own timing keys, as they are.
        let _ = writeln!(
            s,
            "\n## Speed (same machine, same run)\n\n| timing | value |\n|---|---|"
        );
        for (key, value) in t.as_object().into_iter().flatten() {
            let _ = writeln!(s, "| {key} | {} |", cell(value));
        }
        s.push('\n');
    } else {
        // Nothing was timed (`learnsim score` reads rollouts made elsewhere).
        s.push('\n');
    }
    s.push_str("## Figures\n");
    for (caption, file) in figures {
        let _ = write!(s, "\n![{caption}]({file})\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_list_bars_and_every_metric_in_horizon_order() {
        let r = json!({
            "case": "water-drop-2d", "model": "gns", "tier": "cpu", "seed": 0, "pass": false,
            "metrics": {"mse_20": 1e-5, "mse_5": 2e-6, "mse_full": 3e-4, "escaped_fraction": 0.0},
            "baselines": {"ballistic": {"mse_20": 4e-5}},
            "bars": [{"name": "escaped_fraction", "value": 0.0, "threshold": 0.0, "pass": true}],
            "timing": {"speedup": 0.5}
        });
        let md = markdown(&r);
        assert!(md.contains("**Verdict: FAIL**"));
        assert!(md.contains("| escaped_fraction | 0 | 0 | yes |"), "{md}");
        assert!(md.find("| mse_5 ").unwrap() < md.find("| mse_20 ").unwrap());
        assert!(md.find("| mse_20 ").unwrap() < md.find("| mse_full ").unwrap());
        let r = json!({
            "metrics": {"mse_10_n6": 1.0, "mse_5_n6": 2.0, "mse_50": 3.0, "mse_5": 4.0},
            "baselines": {}
        });
        let qualified = markdown_with(&r, "", &[]);
        let at = |k: &str| qualified.find(&format!("| {k} ")).unwrap();
        assert!(
            at("mse_5") < at("mse_50") && at("mse_5_n6") < at("mse_10_n6"),
            "{qualified}"
        );
        assert!(
            md.contains("| mse_20 | 1.000e-5 | – | – | 4.000e-5 |"),
            "{md}"
        );
    }
}
