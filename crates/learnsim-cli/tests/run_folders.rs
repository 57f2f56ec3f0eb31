//! Hostile inputs to `learnsim run`, `train` and `eval` (issue #33): every bad config field and
//! every foreign run folder is refused with the field or the difference named, exit code 1,
//! and the existing run folder byte-identical afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn learnsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_learnsim"))
        .args(args)
        .output()
        .expect("the learnsim binary runs")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts a refusal: exit code 1 (anyhow's error exit, not a panic's 101 or an abort's 134)
/// and every `needle` in the message.
fn refused(output: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    err
}

/// `learnsim run water-drop-2d --quick --out OUT --config CONFIG EXTRA...`.
fn run_quick(out: &Path, config: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "water-drop-2d",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    learnsim(&args)
}

/// The water-drop config with `key`'s line replaced by `line` (or `line` appended).
fn config_with(dir: &Path, name: &str, key: &str, line: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo("configs/water-drop-2d.toml")).unwrap();
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.split('=').next().is_some_and(|k| k.trim() == key) && !found {
                found = true;
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        // Top-level keys must come before the first table.
        let at = lines
            .iter()
            .position(|l| l.starts_with('['))
            .unwrap_or(lines.len());
        lines.insert(at, line.to_string());
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

#[test]
fn bad_configs_and_foreign_folders_are_refused_and_the_run_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_arg = run.to_str().unwrap();
    let config = repo("configs/water-drop-2d.toml");
    ok(&run_quick(&run, &config, &[]));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["state"], "finished");
    assert_eq!(record["tier"], "quick");
    assert_eq!(record["case"], "water-drop-2d");
    let before = snapshot(&run);

    // Config fields: each reproduction of issue #33, named in the refusal.
    let probes: &[(&str, &str, &[&str])] = &[
        ("history", "history = 0", &["history", "0"]),
        (
            "connectivity_radius",
            "connectivity_radius = -1.0",
            &["connectivity_radius", "-1"],
        ),
        ("noise_std", "noise_std = nan", &["noise_std", "NaN"]),
        ("latent", "latent = 0", &["latent", "= 0"]),
        ("latent", "latent = 100000", &["latent", "GiB"]),
        ("lr_initial", "lr_initial = -1e-3", &["lr_initial"]),
        ("lr_initial", "lr_initial = 0.0", &["lr_initial"]),
        ("batch_size", "batch_size = 0", &["batch_size"]),
        ("steps", "steps = 0", &["steps"]),
        ("ema_decay", "ema_decay = 1.5", &["ema_decay"]),
        ("wall_horizon", "wall_horizon = 0.0", &["wall_horizon"]),
        ("lr_final", "lr_final = 1.0", &["lr_final", "lr_initial"]),
        ("bogus", "bogus_field = 3", &["bogus_field"]),
    ];
    for (k, (key, line, needles)) in probes.iter().enumerate() {
        let bad = config_with(dir.path(), &format!("bad{k}"), key, line);
        let bad_arg = bad.to_str().unwrap();
        let mut names = needles.to_vec();
        names.push(bad_arg);
        // Through `run` on the existing run folder, `--quick` or not.
        for quick in [true, false] {
            let mut args = vec![
                "run",
                "water-drop-2d",
                "--out",
                run_arg,
                "--config",
                bad_arg,
            ];
            if quick {
                args.push("--quick");
            }
            refused(&learnsim(&args), &names);
            assert_eq!(snapshot(&run), before, "{line} changed the run folder");
        }
        // Through `train` into a new folder, which is not created.
        let fresh = dir.path().join(format!("fresh{k}"));
        refused(
            &learnsim(&[
                "train",
                "--data",
                run.join("data").to_str().unwrap(),
                "--config",
                bad_arg,
                "--out",
                fresh.to_str().unwrap(),
            ]),
            &names,
        );
        assert!(!fresh.exists(), "{line} created {}", fresh.display());
    }

    // The same folder with the main job's (CPU tier, full-size) config: another run, refused.
    refused(
        &learnsim(&[
            "run",
            "water-drop-2d",
            "--out",
            run_arg,
            "--config",
            config.to_str().unwrap(),
        ]),
        &[
            "holds another run",
            "tier: quick",
            "config (hash)",
            "--restart",
        ],
    );
    assert_eq!(snapshot(&run), before);

    // Another case's data under the same folder: refused before training.
    let sand = dir.path().join("sand");
    ok(&learnsim(&[
        "generate",
        "sand-2d",
        "--out",
        sand.to_str().unwrap(),
        "--frames",
        "12",
        "--trajectories",
        "2,1,1",
    ]));
    refused(
        &learnsim(&[
            "train",
            "--data",
            sand.to_str().unwrap(),
            "--config",
            run.join("config.toml").to_str().unwrap(),
            "--out",
            run_arg,
        ]),
        &["holds another run", "case: water-drop-2d", "sand-2d"],
    );
    assert_eq!(snapshot(&run), before);

    // A folder that is not a run folder is never written into.
    let user = dir.path().join("user");
    std::fs::create_dir_all(user.join("data")).unwrap();
    std::fs::write(user.join("notes.txt"), "mine").unwrap();
    let user_before = snapshot(&user);
    refused(&run_quick(&user, &config, &[]), &["not empty", "run.json"]);
    assert_eq!(snapshot(&user), user_before);

    // The same command again is the same run: it resumes (nothing left to train) and scores
    // it again, replacing its leaderboard row instead of adding one.
    ok(&run_quick(&run, &config, &[]));
    ok(&learnsim(&["eval", "--run", run_arg]));
    let board = ok(&learnsim(&[
        "leaderboard",
        "--root",
        dir.path().to_str().unwrap(),
        "--format",
        "csv",
    ]));
    assert_eq!(board.matches("water-drop-2d").count(), 1, "{board}");
    // Training time is the first segment's, carried by the checkpoint through the resume.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap())
            .unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let seconds = state["seconds"].as_f64().unwrap();
    assert!(seconds > 0.1, "{seconds}");
    assert_eq!(metrics["timing"]["train_s"].as_f64(), Some(seconds));
    assert_eq!(metrics["tier"], "quick");

    // --restart replaces a run (and only a run) with this one.
    let seed1 = config_with(dir.path(), "seed1", "seed", "seed = 1");
    ok(&run_quick(&run, &seed1, &["--restart"]));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["seed"], 1);
}

/// A water-drop-2d dataset of 2/1/1 trajectories of 40 frames in `dir/data`.
fn small_water_drop(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    ok(&learnsim(&[
        "generate",
        "water-drop-2d",
        "--out",
        data.to_str().unwrap(),
        "--frames",
        "40",
        "--trajectories",
        "2,1,1",
    ]));
    data
}

/// A run whose checkpoint is short of its config's steps (a killed run) is scored as
/// unfinished: it never passes, and run.json stays `training`.
#[test]
fn an_unfinished_run_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_water_drop(dir.path());
    let short = dir.path().join("short.toml");
    let text = std::fs::read_to_string(repo("configs/water-drop-2d.toml"))
        .unwrap()
        .replace("steps = 6000", "steps = 10")
        .replace("latent = 64", "latent = 16")
        .replace("validate_every = 500", "validate_every = 5")
        .replace("checkpoint_every = 500", "checkpoint_every = 5");
    std::fs::write(&short, text).unwrap();
    let run = dir.path().join("run");
    ok(&learnsim(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--config",
        short.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]));
    // As if killed halfway: the recipe asks for twice the steps the checkpoint holds.
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    std::fs::write(
        run.join("config.toml"),
        config.replace("steps = 10", "steps = 20"),
    )
    .unwrap();
    ok(&learnsim(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["state"], "unfinished (step 10 of 20)");
    assert_eq!(metrics["pass"], false);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["state"], "training");
}

/// The object cases that check their configs (issue #33's reproductions): each bad value is
/// refused by name before the run folder exists.
#[test]
fn bad_object_case_configs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let probes: &[(&str, &str, &str, &[&str])] = &[
        (
            "nbody-2d",
            "relation_hidden = 64",
            "relation_hidden = 0",
            &["relation_hidden"],
        ),
        (
            "spring-chain",
            "rollout_steps = 50",
            "rollout_steps = 500",
            &["rollout_steps", "allowed 1 to 50"],
        ),
        (
            "pendulum-mpc",
            "batch_size = 256",
            "batch_size = 0",
            &["batch_size"],
        ),
        ("pendulum-mpc", "dt = 0.02", "dt = -0.02", &["pendulum.dt"]),
        (
            "pendulum-mpc",
            "horizon = 30",
            "horizon = 0",
            &["mpc.horizon"],
        ),
        ("burgers-2d", "batch = 28", "batch = 0", &["`batch`"]),
        ("kolmogorov-2d", "lr = 1e-3", "lr = -1e-3", &["`lr`"]),
        (
            "pm-cosmo",
            "batch_size = 4",
            "batch_size = 0",
            &["batch_size"],
        ),
        ("hit-3d", "epochs = 75", "epochs = 0", &["epochs"]),
        ("rope-koopman", "steps = 1000", "steps = 0", &["`steps`"]),
        ("nanophotonics", "lr = 6e-4", "lr = nan", &["`lr`"]),
        ("glass-ka", "radius = 2.0", "radius = -1.0", &["radius"]),
        ("schnet-si", "cutoff = 5.0", "cutoff = 0.0", &["cutoff"]),
        ("plasma-1d", "dt = 0.1", "dt = 0.0", &["plasma.dt"]),
        (
            "plasma-1d",
            "field_solver = \"cnn\"",
            "field_solver = \"fft\"",
            &["field_solver"],
        ),
    ];
    for (k, (case, from, to, needles)) in probes.iter().enumerate() {
        let text = std::fs::read_to_string(repo(&format!("configs/{case}.toml"))).unwrap();
        assert!(text.contains(from), "{case}: {from}");
        let bad = dir.path().join(format!("bad{k}.toml"));
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let out = dir.path().join(format!("run{k}"));
        for quick in [true, false] {
            let mut args = vec![
                "run",
                case,
                "--out",
                out.to_str().unwrap(),
                "--config",
                bad.to_str().unwrap(),
            ];
            if quick {
                args.push("--quick");
            }
            let mut names = needles.to_vec();
            let bad_arg = bad.to_str().unwrap();
            names.push(bad_arg);
            refused(&learnsim(&args), &names);
            assert!(!out.exists(), "{case}: {to} created {}", out.display());
        }
    }
}

/// metrics.json without its `timing` tables (wall-clock seconds differ between two runs).
fn without_timing(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("timing");
        for v in map.values_mut() {
            *v = without_timing(v.take());
        }
    }
    value
}

/// `learnsim run nbody-2d` killed (SIGKILL) while it trains, then run again, resumes from its
/// checkpoints (`RUN/checkpoint/{interaction_network,mlp}`, the shared fit loop's) and ends
/// with the uninterrupted run's metrics.json, timing aside (issue #25).
#[test]
fn a_killed_nbody_run_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    // The CPU tier's config at a smaller size (quick would override the steps): 800 steps per
    // model leave the kill a window of about a second; checkpoints every 20 steps.
    let text = std::fs::read_to_string(repo("configs/nbody-2d.toml")).unwrap();
    let mut config: toml::Table = toml::from_str(&text).unwrap();
    for (key, value) in [
        (
            "trajectories",
            toml::Value::try_from([24, 4, 8, 4]).unwrap(),
        ),
        ("frames", toml::Value::Integer(60)),
        ("steps", toml::Value::Integer(800)),
        ("validate_every", toml::Value::Integer(20)),
        ("rollout_steps", toml::Value::Integer(20)),
    ] {
        config.insert(key.into(), value);
    }
    let config_path = dir.path().join("nbody.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let args = |out: &Path| {
        vec![
            "run".to_string(),
            "nbody-2d".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--config".into(),
            config_path.to_str().unwrap().into(),
        ]
    };
    let straight = dir.path().join("straight");
    let straight_args = args(&straight);
    ok(&learnsim(
        &straight_args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_learnsim"))
        .args(args(&killed))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = killed.join("checkpoint/interaction_network/state.json");
    let start = std::time::Instant::now();
    while !state.exists() && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("metrics.json").exists(),
        "the run finished before it was killed"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let step = saved["step"].as_u64().unwrap();
    assert!((20..800).contains(&step), "killed at step {step}");
    // `eval` re-scores finished runs only: on the killed one it would train the rest.
    refused(
        &learnsim(&["eval", "--run", killed.to_str().unwrap()]),
        &["not finished", "resumes it"],
    );
    assert!(!killed.join("metrics.json").exists());

    let resumed = learnsim(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    ok(&resumed);
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(err.contains("train IN: resuming from step"), "{err}");
    let metrics = |run: &Path| -> serde_json::Value {
        without_timing(
            serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap())
                .unwrap(),
        )
    };
    assert_eq!(metrics(&killed), metrics(&straight));
}

/// `train --until-step` (a batch job's wall-clock limit) stops with a checkpoint, and the same
/// command without it continues to the curve of an uninterrupted run, bit for bit.
#[test]
fn a_run_stopped_with_until_step_continues_to_the_uninterrupted_curve() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_water_drop(dir.path());
    let config = repo("configs/water-drop-2d.toml");
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            "steps=12",
            "--set",
            "latent=16",
            "--set",
            "message_passing_steps=2",
            "--set",
            "validate_every=4",
            "--set",
            "checkpoint_every=4",
        ];
        args.extend_from_slice(extra);
        ok(&learnsim(&args))
    };
    let curve = |out: &Path| -> (u64, Vec<f64>) {
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap(),
        )
        .unwrap();
        let losses = state["train_loss"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["loss"].as_f64().unwrap())
            .collect();
        (state["step"].as_u64().unwrap(), losses)
    };
    let straight = dir.path().join("straight");
    train(&straight, &[]);
    let stopped = dir.path().join("stopped");
    let said = train(&stopped, &["--until-step", "5"]);
    assert!(said.contains("trained 5 steps"), "{said}");
    assert_eq!(curve(&stopped).0, 5);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stopped.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["state"], "training");
    train(&stopped, &[]);
    // The same batches (seeded by step), weights and Adam moments: no tolerance needed.
    assert_eq!(curve(&stopped), curve(&straight));
}

/// A learnsim without MPI started by a launcher as one of several processes (mpirun sets
/// OMPI_COMM_WORLD_SIZE) would train as many copies into one folder: refused before any work.
#[test]
fn training_as_one_of_several_launched_processes_without_mpi_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_learnsim"))
        .args([
            "run",
            "water-drop-2d",
            "--quick",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    refused(
        &output,
        &[
            "one of 2 processes",
            "OMPI_COMM_WORLD_SIZE=2",
            "--features mpi",
        ],
    );
    assert!(!out.exists(), "nothing may be written");
}
