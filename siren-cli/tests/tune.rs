//! `siren tune`: a search over a real command (promoted trials resume, no step trains twice,
//! the winner's config reruns to the same number), a Slurm array run locally and gathered,
//! and bad searches refused with a clear error. The halving itself, on a synthetic objective
//! with a known optimum, is tested in `src/tune/halving.rs`.

mod common;

use std::path::{Path, PathBuf};

use common::siren;
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("siren-tune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 24x24 image with structure to fit.
fn image(dir: &Path) -> String {
    let path = dir.join("rings.png");
    image::GrayImage::from_fn(24, 24, |x, y| {
        let r = ((x as f64 - 11.5).powi(2) + (y as f64 - 11.5).powi(2)).sqrt();
        image::Luma([(127.5 + 127.5 * (r * 0.9).sin()) as u8])
    })
    .save(&path)
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// A search's `tune.json`.
fn tune_record(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("tune.json")).unwrap()).unwrap()
}

/// The winner's index in `trials` and its run folder.
fn winner(record: &Value) -> (usize, PathBuf) {
    let w = record["winner"].as_u64().unwrap() as usize;
    (
        w,
        PathBuf::from(record["trials"][w]["dir"].as_str().unwrap()),
    )
}

fn steps_of(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn last_metric(dir: &Path, metric: &str) -> f64 {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).unwrap()[metric].as_f64())
        .next_back()
        .unwrap()
}

#[test]
fn a_fit_search_promotes_from_checkpoints_and_its_winner_reruns_as_is() {
    let d = scratch("fit");
    let img = image(&d);
    let out = d.join("search");
    let (ok, text) = siren(&[
        "tune",
        "fit",
        &img,
        "--hidden",
        "16",
        "--layers",
        "2",
        "--search",
        "lr=1e-4..1e-2:log",
        "--search",
        "w0=5..60:log",
        "--trials",
        "4",
        "--budget",
        "40",
        "--eta",
        "2",
        "--parallel",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let record = tune_record(&out);
    let rungs: Vec<(u64, u64)> = record["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["trials"].as_u64().unwrap(), r["steps"].as_u64().unwrap()))
        .collect();
    assert_eq!(rungs, [(4, 10), (2, 20), (1, 40)]);
    // Promoted trials continued from their checkpoints: every step once, in order.
    let trials = record["trials"].as_array().unwrap();
    let mut reached = Vec::new();
    for t in trials {
        let steps = t["steps"].as_u64().unwrap();
        let dir = PathBuf::from(t["dir"].as_str().unwrap());
        assert_eq!(
            steps_of(&dir),
            (1..=steps).collect::<Vec<_>>(),
            "{}",
            t["id"]
        );
        reached.push(steps);
    }
    reached.sort();
    assert_eq!(reached, [10, 10, 20, 40]);
    assert_eq!(record["total_steps"], 80);
    // The winner trained the whole budget; its config reruns from scratch to the same score.
    let w = record["winner"].as_u64().unwrap() as usize;
    let winner = &trials[w];
    assert_eq!(winner["steps"], 40);
    let score = winner["scores"].as_array().unwrap().last().unwrap()[1]
        .as_f64()
        .unwrap();
    let (ok, text) = siren(&["fit", "--config", out.join("winner.toml").to_str().unwrap()]);
    assert!(ok, "{text}");
    let rerun = last_metric(&out.join("winner"), "val_psnr");
    assert!((rerun - score).abs() < 1e-9, "rerun {rerun} vs {score}");
    let md = std::fs::read_to_string(out.join("tune.md")).unwrap();
    assert!(
        md.contains("**Winner: trial-") && md.contains("80 steps trained in all"),
        "{md}"
    );
    assert!(out.join("tune.png").exists());
    // A search folder is started once.
    let (ok, text) = siren(&[
        "tune",
        "fit",
        &img,
        "--search",
        "lr=1e-4..1e-2:log",
        "--budget",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("holds a search already"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_emitted_slurm_array_runs_its_tasks_locally_and_is_gathered() {
    let d = scratch("slurm");
    let img = image(&d);
    let out = d.join("search");
    let (ok, text) = siren(&[
        "tune",
        "inpaint",
        &img,
        "--mask",
        "random:0.5",
        "--prior",
        "tv",
        "--hidden",
        "16",
        "--layers",
        "2",
        "--search",
        "prior_weight=1e-5..1e-1:log",
        "--trials",
        "3",
        "--budget",
        "15",
        "--emit",
        "slurm",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let script = out.join("slurm.sh");
    let body = std::fs::read_to_string(&script).unwrap();
    assert!(body.contains("#SBATCH --array=0-2"), "{body}");
    // Each array task, run here as Slurm would run it.
    for task in 0..3 {
        let status = std::process::Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "task {task}");
    }
    let (ok, text) = siren(&["tune", "--collect", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    let record = tune_record(&out);
    assert!(record["winner"].is_u64(), "{record}");
    for t in record["trials"].as_array().unwrap() {
        assert_eq!(t["steps"], 15);
        assert!(t["scores"][0][1].is_f64());
    }
    assert!(std::fs::read_to_string(out.join("tune.md"))
        .unwrap()
        .contains("**Winner: trial-"));
    // A task number outside the array is refused.
    let status = std::process::Command::new("bash")
        .arg(&script)
        .env("SLURM_ARRAY_TASK_ID", "7")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_searches_are_refused_with_what_to_do() {
    let d = scratch("bad");
    let img = image(&d);
    let out = d.join("search");
    let out = out.to_str().unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["tune", "fit", &img, "--budget", "10", "--out", out]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (base(&["--search", "foo=1..2"]), "siren fit has no --foo"),
        (base(&["--search", "w0=60..10"]), "LO must be below HI"),
        (base(&["--search", "lr=0..1:log"]), "LO > 0"),
        (base(&["--search", "steps=1..9"]), "sets --steps itself"),
        (
            base(&["--w0", "30", "--search", "w0=10..60"]),
            "both given and searched",
        ),
        (
            base(&["--search", "w0=10..60", "--metric", "psnr"]),
            "never on the test numbers",
        ),
        (
            base(&["--search", "w0=10..60", "--eta", "1"]),
            "--eta must be at least 2",
        ),
        (
            base(&["--search", "w0=10..60", "--size", "x"]),
            "does not take this command line",
        ),
        (base(&[]), "at least one --search"),
        (
            [
                "tune",
                "render",
                "m.safetensors",
                "--search",
                "w0=1..2",
                "--out",
                out,
            ]
            .map(String::from)
            .to_vec(),
            "training commands",
        ),
        (
            [
                "tune", "poisson", &img, "--search", "w0=1..2", "--budget", "5", "--out", out,
            ]
            .map(String::from)
            .to_vec(),
            "--metric loss",
        ),
        (
            [
                "tune",
                "wave",
                "--search",
                "lr=1e-5..1e-3:log",
                "--budget",
                "5",
                "--out",
                out,
            ]
            .map(String::from)
            .to_vec(),
            "one network and one medium",
        ),
        (
            ["tune", "fit", &img, "--search", "w0=1..2", "--out", out]
                .map(String::from)
                .to_vec(),
            "--budget",
        ),
        (
            [
                "tune",
                "audio",
                "x.wav",
                "--search",
                "lr=1e-5..1e-3:log",
                "--budget",
                "5",
                "--out",
                out,
            ]
            .map(String::from)
            .to_vec(),
            "--no-baseline",
        ),
    ];
    for (args, says) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = siren(&refs);
        assert!(!ok, "{args:?} ran");
        assert!(text.contains(says), "{args:?}: {text}");
    }
    assert!(!Path::new(out).exists(), "a refused search writes nothing");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_helmholtz_search_scores_by_its_validation_error() {
    let d = scratch("helmholtz");
    let out = d.join("search");
    let (ok, text) = siren(&[
        "tune",
        "helmholtz",
        "--scale",
        "quick",
        "--models",
        "siren",
        "--medium",
        "uniform",
        "--grid",
        "33",
        "--width",
        "16",
        "--search",
        "lr=1e-5..1e-3:log",
        "--trials",
        "2",
        "--budget",
        "6",
        "--eta",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let record = tune_record(&out);
    assert_eq!(record["metric"], "val_error");
    assert_eq!(record["maximize"], false);
    let (w, dir) = winner(&record);
    // the score is the error the run itself logged at its last step
    let logged = last_metric(&dir, "val_error");
    let scored = record["trials"][w]["scores"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()[1]
        .as_f64()
        .unwrap();
    assert_eq!(logged, scored);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_audio_search_scores_by_held_out_samples() {
    let d = scratch("audio");
    let wav = d.join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..2000 {
        let t = i as f64 / 8000.0;
        let v = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let out = d.join("search");
    let (ok, text) = siren(&[
        "tune",
        "audio",
        wav.to_str().unwrap(),
        "--no-baseline",
        "--hidden",
        "16",
        "--search",
        "lr=1e-5..1e-3:log",
        "--trials",
        "2",
        "--budget",
        "6",
        "--eta",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let record = tune_record(&out);
    assert_eq!(record["metric"], "val_snr");
    assert_eq!(record["maximize"], true);
    let (_, dir) = winner(&record);
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    // the held-out samples score differently from the whole clip
    assert!(last["val_snr"].is_f64() && last["snr"].is_f64(), "{last}");
    let _ = std::fs::remove_dir_all(&d);
}
