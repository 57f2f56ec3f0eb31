//! `learnsim score`: rollouts written in the peers' layouts by numpy, h5py and pickle alone
//! (`write_peer_rollouts.py`, none of learnsim's writers) are judged as the same predictions
//! made by learnsim's own rollout engine.

use super::{learnsim, python};
use std::path::Path;
use std::process::Command;

fn score(data: &Path, rollouts: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "score",
        "--data",
        data.to_str().unwrap(),
        "--rollouts",
        rollouts.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        "cv-numpy",
        "--json",
    ];
    args.extend_from_slice(extra);
    learnsim(&args)
}

#[test]
fn score_judges_peer_rollout_files_as_our_engine_judges_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // dam-break-2d: LagrangeBench type ids, kinematic wall particles, and test trajectories of
    // different particle counts (1,212 and 1,002 at seed 0).
    let generated = learnsim(&[
        "generate",
        "dam-break-2d",
        "--out",
        data.to_str().unwrap(),
        "--frames",
        "30",
        "--trajectories",
        "1,1,2",
    ]);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let peer = dir.path().join("peer");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/write_peer_rollouts.py");
    let written = Command::new(python())
        .arg(&script)
        .arg(&data)
        .arg(&peer)
        .arg("6")
        .output()
        .expect(
            "cannot start Python: run scripts/test.sh, which installs numpy and h5py into .venv",
        );
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );

    // The files hold constant-velocity rollouts from the first 6 true frames, computed by
    // numpy in float32 as learnsim's ConstantVelocity computes them (2·x_t − x_{t−1}, one
    // rounding): every metric must equal the constant_velocity baseline's of the same report
    // to the bit, the baselines being scored on the same window from frame 0.
    for (rollouts, split, format, trajectories) in [
        ("deepmind", "test", "deepmind-pickle", 2),
        ("lagrangebench", "test", "lagrangebench-pickle", 2),
        ("jax", "test", "lagrangebench-pickle", 2),
        ("full.npz", "test", "npz-array", 2),
        ("predicted.h5", "test", "hdf5-array", 2),
        ("valid.npz", "valid", "npz-array", 1),
    ] {
        let out = dir.path().join("runs").join(format!("score-{rollouts}"));
        let result = score(&data, &peer.join(rollouts), &out, &["--split", split]);
        assert!(
            result.status.success(),
            "{rollouts}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let m: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
        assert_eq!(
            m["metrics"], m["baselines"]["constant_velocity"],
            "{rollouts}: the file's rollouts score differently from the same predictions made by learnsim"
        );
        assert_eq!(m["rollouts"]["format"], format, "{rollouts}");
        assert_eq!(m["rollouts"]["context"], 6, "{rollouts}");
        assert_eq!(
            m["metrics"]["windows"],
            f64::from(trajectories),
            "{rollouts}"
        );
        assert_eq!(m["model"], "cv-numpy");
        assert_eq!(m["protocol"], "from_start");
        // Constant velocity is not a learned simulator: its bars fail.
        assert_eq!(m["pass"], false);
        let on_disk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(on_disk["metrics"], m["metrics"]);
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(report.contains("window from frame 0") && report.contains("| mse_20 |"));
        assert!(
            std::fs::read(out.join("error_vs_horizon.png"))
                .unwrap()
                .starts_with(b"\x89PNG")
        );
    }
    // Every scoring is a leaderboard row under its model's name.
    let board = learnsim(&[
        "leaderboard",
        "--root",
        dir.path().join("runs").to_str().unwrap(),
        "--format",
        "csv",
    ]);
    let table = String::from_utf8_lossy(&board.stdout);
    assert_eq!(table.matches("cv-numpy").count(), 6, "{table}");

    // The same scoring again is the same run; another into its folder is refused.
    let again = score(
        &data,
        &peer.join("deepmind"),
        &dir.path().join("runs/score-deepmind"),
        &[],
    );
    assert!(again.status.success());
    let other = score(
        &data,
        &peer.join("full.npz"),
        &dir.path().join("runs/score-deepmind"),
        &[],
    );
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("holds another run"));

    // Files that do not fit the dataset are refused before any folder is made, saying which
    // rollout and which axis disagree.
    for (rollouts, extra, expected) in [
        (
            "misshapen.npz",
            &[][..],
            "rollout_0: axis 1 (particles) holds 1211 particles; test trajectory 00000 has 1212",
        ),
        (
            "short.npz",
            &[],
            "rollout_0: axis 0 (frames) holds 29 frames; test trajectory 00000 has 30",
        ),
        (
            "first.npz",
            &[],
            "1 rollouts given; the test split has 2 trajectories",
        ),
        (
            "shifted",
            &[],
            "rollout_0.pkl: its ground_truth_rollout is not test trajectory 00000",
        ),
        ("retyped", &[], "rollout_0.pkl: particle 0 has type"),
        (
            "deepmind",
            &["--context", "5"],
            "starts from 6 input frames (its initial_positions), but --context says 5",
        ),
        (
            "full.npz",
            &["--context", "7"],
            "frames 0..7 are the model's input",
        ),
    ] {
        let out = dir.path().join("refused");
        let result = score(&data, &peer.join(rollouts), &out, extra);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{rollouts} was scored");
        assert!(stderr.contains(expected), "{rollouts}: {stderr}");
        assert!(!out.exists(), "{rollouts}: a folder was made");
    }

    // A context shorter than the file's input frames scores, with a warning: its first
    // scored frame is the truth itself.
    let out = dir.path().join("runs/score-short-context");
    let result = score(&data, &peer.join("full.npz"), &out, &["--context", "4"]);
    assert!(result.status.success());
    assert!(
        String::from_utf8_lossy(&result.stderr)
            .contains("warning: frame 4, the first scored frame, equals the ground truth exactly")
    );
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("**Warning:** frame 4")
    );
}
