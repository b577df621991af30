//! `siren serve` over HTTP: a short fit driven through the API and its events read to the end,
//! a run continued from the command line, stop and resume, and bad requests.

mod common;

use std::path::Path;

use common::server::Server;
use serde_json::{json, Value};

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[1..4], b"PNG", "not a PNG");
    let img = image::load_from_memory(bytes).unwrap();
    (img.width(), img.height())
}

fn body(r: ureq::Response) -> Vec<u8> {
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut v).unwrap();
    v
}

fn last_step(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last = text.lines().last().unwrap();
    serde_json::from_str::<Value>(last).unwrap()["step"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_fit_through_the_api_streams_every_step_to_the_end_and_continues_from_the_command_line() {
    let server = Server::start("fit", &[]);
    let images: Value = server.get("/api/images").unwrap().into_json().unwrap();
    assert_eq!(images[0]["id"], "camera");
    let run = server
        .post(
            "/api/runs",
            json!({"task": "fit", "image": "camera", "size": 32, "steps": 20, "hidden": 32,
                   "layers": 2, "models": ["siren", "relu"]}),
        )
        .unwrap();
    let id = run["id"].as_str().unwrap().to_string();
    let events = server.events(&id);
    assert_eq!(events.last().unwrap().0, "end");
    for member in ["siren", "relu"] {
        let steps: Vec<u64> = events
            .iter()
            .filter(|(e, d)| e == "metric" && d["member"] == member)
            .map(|(_, d)| d["step"].as_u64().unwrap())
            .collect();
        assert_eq!(
            steps,
            (1..=20).collect::<Vec<_>>(),
            "{member}: every step once"
        );
        assert!(events
            .iter()
            .any(|(e, d)| e == "preview" && d["member"] == member));
        let status = events
            .iter()
            .rev()
            .find(|(e, d)| e == "status" && d["member"] == member)
            .unwrap();
        assert_eq!(status.1["status"]["state"], "finished", "{member}");
    }
    // The SIREN fits a 32x32 cameraman far better than the ReLU network in 20 steps.
    let psnr = |member: &str| {
        events
            .iter()
            .rev()
            .find(|(e, d)| e == "metric" && d["member"] == member)
            .unwrap()
            .1["psnr"]
            .as_f64()
            .unwrap()
    };
    assert!(
        psnr("siren") > psnr("relu") + 3.0,
        "{} vs {}",
        psnr("siren"),
        psnr("relu")
    );

    let preview = body(
        server
            .get(&format!("/api/runs/{id}/siren/preview.png"))
            .unwrap(),
    );
    assert_eq!(png_size(&preview), (32, 32));
    let view = body(
        server
            .get(&format!(
                "/api/render.png?model=run/{id}/siren&x0=-3&x1=3&y0=-1&y1=1&w=90&h=30&layer=laplacian"
            ))
            .unwrap(),
    );
    assert_eq!(png_size(&view), (90, 30));

    // The member's folder is an ordinary run: the command line continues it.
    let dir = server.root.join("runs").join(&id).join("siren");
    let config = dir.join("config.toml");
    let (ok, text) = common::siren(&[
        "fit",
        "--config",
        config.to_str().unwrap(),
        "--resume",
        "--steps",
        "30",
        "--quiet",
    ]);
    assert!(ok, "{text}");
    assert_eq!(last_step(&dir), 30);
    // ... and the server shows it as it now stands.
    let runs: Value = server.get("/api/runs").unwrap().into_json().unwrap();
    assert_eq!(runs[0]["members"]["siren"]["state"], "finished");
}

#[test]
fn a_stopped_run_keeps_its_checkpoint_and_resumes() {
    let server = Server::start("stop", &[]);
    let run = server
        .post(
            "/api/runs",
            json!({"task": "poisson", "image": "camera", "size": 32, "steps": 100000,
                   "hidden": 32, "layers": 2, "models": ["siren"], "target": "gradient"}),
        )
        .unwrap();
    let id = run["id"].as_str().unwrap().to_string();
    let dir = server.root.join("runs").join(&id).join("siren");
    let t = std::time::Instant::now();
    while !dir.join("checkpoint.safetensors").exists() {
        assert!(t.elapsed().as_secs() < 120, "no checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
        .post(&format!("/api/runs/{id}/stop"), json!({}))
        .unwrap();
    let events = server.events(&id);
    let last = events.iter().rev().find(|(e, _)| e == "status").unwrap();
    assert_eq!(last.1["status"]["state"], "stopped");
    let stopped_at = last_step(&dir);
    // Resumed for a few more steps, it continues from the checkpoint and finishes.
    let total = stopped_at + 5;
    server
        .post(&format!("/api/runs/{id}/resume?steps={total}"), json!({}))
        .unwrap();
    let events = server.events(&id);
    let last = events.iter().rev().find(|(e, _)| e == "status").unwrap();
    assert_eq!(last.1["status"]["state"], "finished", "{events:?}");
    assert_eq!(last_step(&dir), total);
}

#[test]
fn bad_requests_get_a_clear_error_and_start_nothing() {
    let server = Server::start("bad", &["--max-processes", "1"]);
    let base =
        json!({"task": "fit", "image": "camera", "size": 32, "steps": 10, "models": ["siren"]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (request, says) in [
        (with("size", json!(100000)), "size must be"),
        (with("steps", json!(0)), "steps must be"),
        (with("models", json!(["mlp"])), "network must be"),
        (with("models", json!([])), "at least one network"),
        (with("image", json!("../../etc/passwd")), "no image"),
        (with("task", json!("video")), "task must be"),
        (
            with("task", json!("wave")),
            "scale must be quick or default",
        ),
        (with("lr", json!(-1.0)), "learning rate"),
        (with("models", json!(["siren", "tanh"])), "allows 1 at once"),
        (
            json!({"task": "inpaint", "image": "camera", "size": 32, "steps": 10,
                   "priors": [{"kind": "tv", "weight": 1e-4}], "mask": "random:7"}),
            "mask must be",
        ),
    ] {
        let (code, text) = server.post("/api/runs", request.clone()).unwrap_err();
        assert!((400..500).contains(&code), "{request}: {code}");
        assert!(text.contains(says), "{request}: {text}");
    }
    let runs: Value = server.get("/api/runs").unwrap().into_json().unwrap();
    assert_eq!(runs, json!([]), "nothing started");
    // Uploads are decoded before they are kept; garbage is refused.
    let (code, text) = match ureq::post(&format!("{}/api/images", server.url))
        .send_bytes(b"\x89PNG\r\n\x1a\nnot really")
    {
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(code, 400);
    assert!(text.contains("not an image"), "{text}");
    let (code, text) = match ureq::post(&format!("{}/api/models", server.url)).send_bytes(b"{}") {
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(code, 400);
    assert!(text.contains("not a model"), "{text}");
    let uploads = std::fs::read_dir(server.root.join("uploads"))
        .unwrap()
        .count();
    assert_eq!(uploads, 0, "nothing half-written is left");
    // A render outside its bounds, or of a model that is not there.
    let (code, _) = server
        .get("/api/render.png?model=run/x/y&x0=0&x1=1&y0=0&y1=1&w=10&h=10")
        .unwrap_err();
    assert_eq!(code, 404);
    // A real upload is kept as a PNG and offered.
    let png = std::fs::read(server.root.join("images").join("camera.png")).unwrap();
    let r: Value = ureq::post(&format!("{}/api/images", server.url))
        .send_bytes(&png)
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(r["id"], "upload/upload-1.png");
}

#[test]
fn a_run_started_on_the_command_line_is_shown_and_continued_by_the_server() {
    let server = Server::start("cli", &[]);
    let dir = server.root.join("runs").join("mine");
    let image = server.root.join("images").join("camera.png");
    let (ok, text) = common::siren(&[
        "poisson",
        image.to_str().unwrap(),
        "--size",
        "24",
        "--steps",
        "10",
        "--hidden",
        "16",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let runs: Value = server.get("/api/runs").unwrap().into_json().unwrap();
    assert_eq!(runs[0]["id"], "mine");
    assert_eq!(runs[0]["request"]["task"], "poisson");
    assert_eq!(runs[0]["members"]["run"]["state"], "finished");
    let preview = body(server.get("/api/runs/mine/run/preview.png").unwrap());
    assert_eq!(png_size(&preview), (24, 24));
    // The page's resume extends it, through the command line's own --config ... --resume.
    server
        .post("/api/runs/mine/resume?steps=16", json!({}))
        .unwrap();
    let events = server.events("mine");
    let steps: Vec<u64> = events
        .iter()
        .filter(|(e, _)| e == "metric")
        .map(|(_, d)| d["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=16).collect::<Vec<_>>(), "every step once");
    assert_eq!(last_step(&dir), 16);
}
