//! `siren wave` and `siren helmholtz` end to end at a few steps, their answers to bad input,
//! and runs killed with SIGKILL that resume to the uninterrupted result, bit for bit.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::siren;

#[test]
fn wave_and_helmholtz_write_tables_and_figures() {
    let d = std::env::temp_dir().join(format!("siren-cli-pde-{}", std::process::id()));
    for (cmd, figure) in [
        ("wave", "wave_uniform.png"),
        ("helmholtz", "helmholtz_uniform.png"),
    ] {
        let out = d.join(cmd);
        let (ok, text) = siren(&[
            cmd,
            "--medium",
            "uniform",
            "--steps",
            "3",
            "--grid",
            "33",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{text}");
        let table = std::fs::read_to_string(out.join("errors.md")).unwrap();
        for model in ["SIREN", "tanh", "ReLU"] {
            assert!(table.contains(&format!("| {model} |")), "{table}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("errors.json")).unwrap())
                .unwrap();
        assert_eq!(json.as_array().unwrap().len(), 3);
        // the reference and three models, each panel at least 200 pixels
        let png = image::open(out.join(figure)).unwrap();
        assert!(png.height() > 4 * 200 && png.width() > 2 * 200, "{png:?}");
        assert!(table.contains("Peak amplitude") || table.contains("amplitude-free"));
        #[cfg(feature = "hdf5")]
        {
            let h5 = out.join("fields.h5");
            let siren_field =
                siren_pde::export::read_h5(&h5, &format!("{cmd}/uniform/SIREN")).unwrap();
            let expected = if cmd == "wave" {
                vec![5, 33, 33]
            } else {
                vec![33, 33, 2]
            };
            assert_eq!(siren_field.shape, expected);
            let reference =
                siren_pde::export::read_h5(&h5, &format!("{cmd}/uniform/reference")).unwrap();
            assert!(reference.data.iter().any(|v| *v != 0.0));
            assert_eq!(
                siren_pde::export::read_h5(&h5, "grid").unwrap().data[0],
                -1.0
            );
        }
    }
}

#[test]
fn pde_commands_reject_bad_numbers() {
    let (ok, text) = siren(&["wave", "--grid", "3", "--out", "/tmp/x"]);
    assert!(!ok && text.contains("--grid must be at least 17"), "{text}");
    let (ok, text) = siren(&["helmholtz", "--steps", "0", "--out", "/tmp/x"]);
    assert!(!ok && text.contains("steps must be at least 1"), "{text}");
    let (ok, text) = siren(&[
        "wave",
        "--lr=-1",
        "--steps",
        "1",
        "--grid",
        "17",
        "--out",
        "/tmp/siren-cli-bad-lr",
    ]);
    assert!(!ok && text.contains("lr > 0"), "{text}");
    // a grid whose reference solver would not fit in memory is refused up front, with the
    // estimate, before anything is allocated or written
    for cmd in ["wave", "helmholtz"] {
        let out = std::env::temp_dir().join(format!("siren-cli-huge-grid-{cmd}"));
        let (ok, text) = siren(&[cmd, "--grid", "100000", "--out", out.to_str().unwrap()]);
        assert!(!ok && text.contains("GB of memory"), "{cmd}: {text}");
        assert!(text.contains("choose a smaller --grid"), "{cmd}: {text}");
        assert!(!out.join("metrics.jsonl").exists());
    }
}

fn tiny_run(cmd: &str, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        cmd,
        "--scale",
        "quick",
        "--medium",
        "uniform",
        "--models",
        "siren",
        "--width",
        "16",
        "--points",
        "96",
        "--steps",
        "400",
        "--checkpoint-every",
        "10",
        "--grid",
        "17",
        "--quiet",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(out.to_string_lossy().into_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    out.sort();
    out
}

#[test]
fn pde_runs_killed_with_sigkill_resume_to_the_identical_result() {
    let d = std::env::temp_dir().join(format!("siren-pde-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for cmd in ["wave", "helmholtz"] {
        let (straight, killed) = (
            d.join(format!("{cmd}-straight")),
            d.join(format!("{cmd}-killed")),
        );
        let extra: &[&str] = if cmd == "wave" {
            &["--initial-points", "32", "--boundary-points", "16"]
        } else {
            &[]
        };
        let args = tiny_run(cmd, &straight, extra);
        let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{text}");

        let mut child = Command::new(env!("CARGO_BIN_EXE_siren"))
            .args(tiny_run(cmd, &killed, extra))
            .spawn()
            .unwrap();
        let ckpt = killed.join(format!("checkpoint_{cmd}_uniform_SIREN.safetensors"));
        let clock = Instant::now();
        while !ckpt.exists() && clock.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(ckpt.exists(), "no checkpoint was written");
        let lines = std::fs::read_to_string(killed.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert!(
            !status.success() && lines < 400,
            "the {cmd} run was not interrupted ({lines} steps)"
        );
        let args = tiny_run(cmd, &killed, &[extra, &["--resume"]].concat());
        let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{text}");
        let model = format!("{cmd}_uniform_SIREN.safetensors");
        assert_eq!(
            tensors(&straight.join(&model)),
            tensors(&killed.join(&model)),
            "the resumed {cmd} run differs from the uninterrupted one"
        );
        // the errors agree too (all but the training time)
        let errors = |dir: &Path| {
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("errors.json")).unwrap())
                    .unwrap();
            for entry in v.as_array_mut().unwrap() {
                entry.as_object_mut().unwrap().remove("train_seconds");
            }
            v
        };
        assert_eq!(errors(&straight), errors(&killed));
        // resuming with other settings is refused
        let args = tiny_run(
            cmd,
            &killed,
            &[extra, &["--resume", "--lr", "0.001"]].concat(),
        );
        let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!ok && text.contains("other settings"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
