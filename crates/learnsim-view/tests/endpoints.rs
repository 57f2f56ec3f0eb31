//! Every endpoint of `learnsim view`: status codes, content types, path traversal in its
//! spellings, a corrupt and a half-written run folder, the leaderboard, the static export;
//! first as pure functions of the request, then over a real socket.

use learnsim_data::playback::{Extra, ExtraKind, Playback, Scene, Series};
use learnsim_view::routes::respond;
use learnsim_view::safe_path::Root;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;

/// A finished run folder as the runs write them: record, metrics, log, a figure, a playback.
fn write_run(dir: &Path, case: &str) {
    std::fs::create_dir_all(dir.join("playback")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        json!({"case": case, "tier": "quick", "seed": 0, "state": "finished"}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("metrics.json"),
        json!({
            "case": case, "model": "gns", "pass": false,
            "bars": [{"name": "mse_20 / best baseline mse_20", "value": 1.5, "threshold": 0.2, "at_most": true, "pass": false}],
            "metrics": {"mse_1": 1e-6, "mse_20": 2e-4},
            "baselines": {"ballistic": {"mse_1": 2e-6, "mse_20": 1e-4}},
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("train_log.csv"),
        "network,step,lr,train_loss,valid_loss,steps_per_s\ngns,0,,,0.5,\ngns,1,0.001,0.4,,\n",
    )
    .unwrap();
    // The smallest valid PNG signature is enough: the server does not decode figures.
    std::fs::write(dir.join("loss.png"), b"\x89PNG\r\n\x1a\nfake").unwrap();
    sample_playback()
        .write(&dir.join("playback/test_0.lsp"))
        .unwrap();
}

fn sample_playback() -> Playback {
    Playback {
        title: "test trajectory 0".into(),
        scene: Scene::Particles {
            bounds: vec![[0.0, 1.0], [0.0, 1.0]],
            classes: vec![0, 0],
            class_names: vec!["water".into()],
        },
        frames: 3,
        shape: vec![2, 2],
        context: 1,
        frame_seconds: 0.01,
        series: ["truth", "gns"]
            .iter()
            .map(|n| Series {
                name: (*n).into(),
                data: (0..12).map(|i| i as f32 / 12.0).collect(),
            })
            .collect(),
        extras: vec![],
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: Root,
    root_dir: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root_dir = dir.path().join("runs");
    write_run(&root_dir.join("water-drop-2d"), "water-drop-2d");
    write_run(&root_dir.join("sweep/seed-1"), "water-drop-2d");
    // Corrupt: metrics.json cut mid-write, a playback cut short.
    let bad = root_dir.join("broken");
    write_run(&bad, "water-drop-2d");
    std::fs::write(
        bad.join("metrics.json"),
        r#"{"case": "water-drop-2d", "bars": ["#,
    )
    .unwrap();
    let full = std::fs::read(bad.join("playback/test_0.lsp")).unwrap();
    std::fs::write(bad.join("playback/test_0.lsp"), &full[..full.len() - 7]).unwrap();
    std::fs::write(dir.path().join("secret.json"), "{}").unwrap();
    std::fs::write(root_dir.join("leaderboard.sqlite"), b"").unwrap();
    std::fs::remove_file(root_dir.join("leaderboard.sqlite")).unwrap();
    let root = Root::new(&root_dir).unwrap();
    Fixture {
        _dir: dir,
        root,
        root_dir,
    }
}

fn body_json(reply: &learnsim_view::routes::Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn the_app_and_its_assets_are_served_with_their_types() {
    let f = fixture();
    for (url, content_type, needle) in [
        ("/", "text/html; charset=utf-8", "assets/app.js"),
        (
            "/index.html",
            "text/html; charset=utf-8",
            "<main id=\"app\">",
        ),
        (
            "/assets/app.js",
            "text/javascript; charset=utf-8",
            "parsePlayback",
        ),
        ("/assets/app.css", "text/css; charset=utf-8", ".panel"),
        (
            "/assets/uPlot.iife.min.js",
            "text/javascript; charset=utf-8",
            "uPlot",
        ),
        ("/assets/uPlot.min.css", "text/css; charset=utf-8", ".uplot"),
    ] {
        let reply = respond(&f.root, "GET", url);
        assert_eq!(reply.status, 200, "{url}");
        assert_eq!(reply.content_type, content_type, "{url}");
        let text = String::from_utf8_lossy(&reply.body);
        assert!(text.contains(needle), "{url} lacks {needle}");
    }
    assert_eq!(respond(&f.root, "GET", "/assets/missing.js").status, 404);
    assert_eq!(respond(&f.root, "POST", "/api/runs").status, 405);
    assert_eq!(
        respond(&f.root, "DELETE", "/data/water-drop-2d/run.json").status,
        405
    );
}

#[test]
fn runs_are_listed_with_their_bars_and_a_corrupt_one_carries_its_error() {
    let f = fixture();
    let reply = respond(&f.root, "GET", "/api/runs");
    assert_eq!(
        (reply.status, reply.content_type),
        (200, "application/json")
    );
    let list = body_json(&reply);
    let ids: Vec<&str> = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["broken", "sweep/seed-1", "water-drop-2d"]);
    let good = &list["runs"][2];
    assert_eq!(good["case"], "water-drop-2d");
    assert_eq!(good["bars"][0]["value"], 1.5);
    assert_eq!(good["errors"], json!([]));
    let broken = &list["runs"][0];
    assert!(
        broken["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("metrics.json: not valid JSON"),
        "{broken}"
    );
}

#[test]
fn a_run_summary_has_its_record_metrics_log_playbacks_and_figures() {
    let f = fixture();
    let s = body_json(&respond(&f.root, "GET", "/api/run/water-drop-2d"));
    assert_eq!(s["id"], "water-drop-2d");
    assert_eq!(s["run"]["state"], "finished");
    assert_eq!(s["metrics"]["metrics"]["mse_20"], 2e-4);
    assert_eq!(
        s["train_log"]["rows"][1],
        json!(["gns", 1.0, 0.001, 0.4, null, null])
    );
    assert_eq!(s["playbacks"], json!(["test_0.lsp"]));
    assert_eq!(s["images"], json!(["loss.png"]));
    // Nested run folders have ids with slashes, in the URL as they are or encoded.
    for url in ["/api/run/sweep/seed-1", "/api/run/sweep%2Fseed-1"] {
        assert_eq!(
            body_json(&respond(&f.root, "GET", url))["id"],
            "sweep/seed-1",
            "{url}"
        );
    }
    // A corrupt run still answers, with its problem named.
    let broken = respond(&f.root, "GET", "/api/run/broken");
    assert_eq!(broken.status, 200);
    let broken = body_json(&broken);
    assert_eq!(broken["metrics"], Value::Null);
    assert!(
        broken["errors"][0]
            .as_str()
            .unwrap()
            .contains("metrics.json")
    );
    // Folders that are not runs, and the root itself, are not.
    for url in [
        "/api/run/sweep",
        "/api/run/",
        "/api/run/missing",
        "/api/run/water-drop-2d/playback",
    ] {
        assert_eq!(respond(&f.root, "GET", url).status, 404, "{url}");
    }
}

#[test]
fn run_files_are_served_by_kind_and_a_half_written_playback_is_refused() {
    let f = fixture();
    for (url, content_type) in [
        ("/data/water-drop-2d/metrics.json", "application/json"),
        (
            "/data/water-drop-2d/train_log.csv",
            "text/csv; charset=utf-8",
        ),
        ("/data/water-drop-2d/loss.png", "image/png"),
        (
            "/data/water-drop-2d/playback/test_0.lsp",
            "application/octet-stream",
        ),
    ] {
        let reply = respond(&f.root, "GET", url);
        assert_eq!(
            (reply.status, reply.content_type),
            (200, content_type),
            "{url}"
        );
    }
    let lsp = respond(&f.root, "GET", "/data/water-drop-2d/playback/test_0.lsp");
    assert_eq!(Playback::from_bytes(&lsp.body).unwrap(), sample_playback());
    let cut = respond(&f.root, "GET", "/data/broken/playback/test_0.lsp");
    assert_eq!(cut.status, 422);
    assert!(
        body_json(&cut)["error"]
            .as_str()
            .unwrap()
            .contains("does not lie in the file")
    );
    // Files of other kinds are not served even inside a run (checkpoints, the database).
    std::fs::write(f.root_dir.join("water-drop-2d/model.bpk"), b"weights").unwrap();
    assert_eq!(
        respond(&f.root, "GET", "/data/water-drop-2d/model.bpk").status,
        404
    );
    // A folder is not a file.
    assert_eq!(respond(&f.root, "GET", "/data/water-drop-2d").status, 404);
}

#[test]
fn path_traversal_in_every_spelling_is_404() {
    let f = fixture();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        f.root_dir.parent().unwrap().join("secret.json"),
        f.root_dir.join("water-drop-2d/link.json"),
    )
    .unwrap();
    for url in [
        "/data/../secret.json",
        "/data/water-drop-2d/../../secret.json",
        "/data/%2e%2e/secret.json",
        "/data/%2E%2E%2Fsecret.json",
        "/data/water-drop-2d/%2e%2e%2f%2e%2e%2fsecret.json",
        "/data/..%2fsecret.json",
        "/data/%252e%252e/secret.json",
        "/data//etc/passwd",
        "/data/%2fetc%2fpasswd",
        "/data/water-drop-2d\\..\\..\\secret.json",
        "/data/water-drop-2d/link.json",
        "/api/run/..",
        "/api/run/%2e%2e",
        "/assets/../Cargo.toml",
        "/../secret.json",
    ] {
        let reply = respond(&f.root, "GET", url);
        assert_eq!(reply.status, 404, "{url} must be refused");
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("{}"),
            "{url}"
        );
    }
}

#[test]
fn the_leaderboard_rows_link_to_their_run_folders() {
    let f = fixture();
    // No database yet: an empty board, not an error.
    let empty = body_json(&respond(&f.root, "GET", "/api/leaderboard"));
    assert_eq!(empty["rows"], json!([]));
    let db = f.root_dir.join(learnsim_cases::leaderboard::FILE);
    let metrics: Value = serde_json::from_str(
        &std::fs::read_to_string(f.root_dir.join("water-drop-2d/metrics.json")).unwrap(),
    )
    .unwrap();
    let report = json!({"case": "water-drop-2d", "model": "gns", "tier": "quick", "seed": 0, "pass": false, "bars": metrics["bars"], "metrics": metrics["metrics"]});
    // As a run records itself from the project folder (`runs/NAME`) and by absolute path.
    learnsim_cases::leaderboard::record(&db, Path::new("runs/water-drop-2d"), &report, "a")
        .unwrap();
    learnsim_cases::leaderboard::record(&db, &f.root_dir.join("sweep/seed-1"), &report, "b")
        .unwrap();
    learnsim_cases::leaderboard::record(&db, Path::new("/elsewhere/gone"), &report, "c").unwrap();
    let board = body_json(&respond(&f.root, "GET", "/api/leaderboard"));
    let ids: Vec<Value> = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!("water-drop-2d"), json!("sweep/seed-1"), Value::Null]
    );
    assert_eq!(board["rows"][0]["report"]["bars"][0]["value"], 1.5);
    // A file that is not a leaderboard is reported, not fatal.
    std::fs::write(&db, b"not sqlite at all, just text").unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(f.root_dir.join(format!("leaderboard.sqlite{suffix}")));
    }
    let bad = respond(&f.root, "GET", "/api/leaderboard");
    assert_eq!(bad.status, 200);
    assert!(body_json(&bad)["error"].is_string());
}

/// One raw HTTP/1.1 exchange: (status, headers, body).
fn http(addr: std::net::SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

#[test]
fn over_a_socket_the_server_answers_refuses_foreign_hosts_and_survives_bad_requests() {
    let f = fixture();
    let server =
        learnsim_view::server::Server::bind(f.root.clone(), "127.0.0.1:0".parse().unwrap())
            .unwrap();
    let addr = server.spawn();
    let get = |path: &str, host: &str| {
        http(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    let (status, head, body) = get("/api/runs", "127.0.0.1");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert!(head.contains("X-Content-Type-Options: nosniff"), "{head}");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["runs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (status, _, body) = get("/data/water-drop-2d/playback/test_0.lsp", "localhost:1234");
    assert_eq!(status, 200);
    assert_eq!(Playback::from_bytes(&body).unwrap(), sample_playback());
    // DNS rebinding: a page on another name that resolves here cannot read the runs.
    assert_eq!(get("/api/runs", "attacker.example").0, 403);
    // Traversal through the raw request line, never normalised by a client.
    assert_eq!(get("/data/../secret.json", "localhost").0, 404);
    assert_eq!(get("/data/%2e%2e/secret.json", "localhost").0, 404);
    // Garbage on the socket, then the server still answers.
    let mut junk = std::net::TcpStream::connect(addr).unwrap();
    junk.write_all(b"\x00\x01 not http at all\r\n\r\n").unwrap();
    drop(junk);
    assert_eq!(get("/", "localhost").0, 200);
}

#[test]
fn an_export_is_one_file_with_everything_inlined_and_subsamples_past_its_cap() {
    let f = fixture();
    let run = f.root_dir.join("water-drop-2d");
    // A playback big enough to pass a 1 MB cap: 600 frames of 1000 particles, 2 series.
    let big = Playback {
        frames: 600,
        shape: vec![1000, 2],
        scene: Scene::Particles {
            bounds: vec![[0.0, 1.0], [0.0, 1.0]],
            classes: vec![0; 1000],
            class_names: vec!["water".into()],
        },
        context: 6,
        series: ["truth", "gns"]
            .iter()
            .map(|n| Series {
                name: (*n).into(),
                data: (0..1_200_000).map(|i| (i % 1000) as f32 / 1000.0).collect(),
            })
            .collect(),
        extras: vec![Extra {
            name: "energy spectrum".into(),
            series: "gns".into(),
            kind: ExtraKind::Spectrum,
            width: 5,
            data: (0..3000).map(|i| i as f32).collect(),
        }],
        ..sample_playback()
    };
    big.write(&run.join("playback/test_1.lsp")).unwrap();
    let out = f.root_dir.parent().unwrap().join("page.html");
    let all = learnsim_view::export::export(&run, &out, 100_000_000).unwrap();
    assert_eq!((all.frame_stride, all.dropped), (1, 0));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("window.LEARNSIM_EXPORT = "));
    assert!(!html.contains("src=\"assets/"), "every asset is inlined");
    assert!(html.contains("data:image/png;base64,"));
    assert_eq!(all.bytes, html.len());

    // 2 series × 600 frames × 2000 floats × 4 bytes = 9.6 MB (12.8 MB in base64) into a 5 MB
    // cap: 4 MB of playback budget once the app's megabyte is set aside, so every 4th frame.
    let capped = learnsim_view::export::export(&run, &out, 5_000_000).unwrap();
    assert!(capped.frame_stride >= 4, "{capped:?}");
    assert!(capped.bytes <= 5_000_000, "{capped:?}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("subsampled to every"));
    // The subsampled playback is whole: its frames and its spectrum's are every k-th.
    let b64 = html
        .split("\"test_1.lsp\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let kept = Playback::from_bytes(&bytes).unwrap();
    let k = capped.frame_stride;
    assert_eq!(kept.frames, 600usize.div_ceil(k));
    assert_eq!(
        kept.extras[0].data[5..10],
        [
            (5 * k) as f32,
            (5 * k + 1) as f32,
            (5 * k + 2) as f32,
            (5 * k + 3) as f32,
            (5 * k + 4) as f32
        ]
    );
    assert_eq!(kept.frame_seconds, 0.01 * k as f64);
    // The export refuses what is not a run folder, a missing folder, and a file of someone
    // else's at the output path (an earlier export is replaced, as above).
    let err = learnsim_view::export::export(&f.root_dir, &out, 5_000_000).unwrap_err();
    assert!(err.to_string().contains("not a run folder"), "{err}");
    let missing = f.root_dir.join("no/such/page.html");
    let err = learnsim_view::export::export(&run, &missing, 5_000_000).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let theirs = f.root_dir.parent().unwrap().join("notes.html");
    std::fs::write(&theirs, "<p>my notes</p>").unwrap();
    let err = learnsim_view::export::export(&run, &theirs, 5_000_000).unwrap_err();
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "<p>my notes</p>");
}
