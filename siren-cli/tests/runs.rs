//! Runs that survive crashes: a run killed with SIGKILL resumes to the same result as an
//! uninterrupted one, bit for bit; a diverging run stops naming the step and the loss term
//! and keeps its last good checkpoint.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::siren;

fn camera() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../siren-image/data/camera.png"
    )
    .to_string()
}

fn fit_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "fit",
        &camera(),
        "--size",
        "32",
        "--hidden",
        "32",
        "--steps",
        "300",
        "--batch",
        "256",
        "--checkpoint-every",
        "10",
        "--eval-every",
        "0",
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
fn a_run_killed_with_sigkill_resumes_to_the_identical_result() {
    let d = std::env::temp_dir().join(format!("siren-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let (straight, killed) = (d.join("straight"), d.join("killed"));
    let args: Vec<String> = fit_args(&straight, &[]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_siren"))
        .args(fit_args(&killed, &[]))
        .spawn()
        .unwrap();
    // Kill it once a checkpoint exists, mid-run.
    let ckpt = killed.join("checkpoint.safetensors");
    let clock = Instant::now();
    while !ckpt.exists() && clock.elapsed() < Duration::from_secs(60) {
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
        !status.success() && lines < 300,
        "the run was not interrupted ({lines} steps)"
    );

    let args = fit_args(&killed, &["--resume"]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");
    assert_eq!(
        tensors(&straight.join("model.safetensors")),
        tensors(&killed.join("model.safetensors")),
        "the resumed run differs from the uninterrupted one"
    );
    // Each step is logged once: the lines the killed run wrote after its checkpoint are gone.
    let steps: Vec<u64> = std::fs::read_to_string(killed.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, (1..=300).collect::<Vec<u64>>());
    // Resuming with other settings is refused, and touches nothing: the resolved config
    // stays the run's.
    let config = std::fs::read_to_string(killed.join("config.toml")).unwrap();
    let args = fit_args(&killed, &["--resume", "--lr", "0.001"]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && text.contains("other settings"), "{text}");
    assert_eq!(
        std::fs::read_to_string(killed.join("config.toml")).unwrap(),
        config
    );
    // So is resuming on other data: the same network on a 24x24 image.
    let args = fit_args(&killed, &["--resume", "--size", "24"]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && text.contains("other settings"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_diverging_run_names_the_step_and_term_and_keeps_its_checkpoint() {
    let d = std::env::temp_dir().join(format!("siren-diverge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let args = fit_args(&d, &["--lr", "1e30", "--checkpoint-every", "1"]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok, "{text}");
    assert!(
        text.contains("diverged") && text.contains("at step 2") && text.contains("image MSE"),
        "{text}"
    );
    assert!(text.contains("last good checkpoint"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // The kept checkpoint is the good step-1 state and loads.
    let bytes = std::fs::read(d.join("checkpoint.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let w = file.tensor("params.0.weight").unwrap();
    let values: Vec<f32> = w
        .data()
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert!(values.iter().all(|v| v.is_finite()));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_second_run_into_a_busy_folder_is_refused_and_a_dead_runs_lock_is_taken_over() {
    let d = std::env::temp_dir().join(format!("siren-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let busy = d.join("busy");
    /// Kills the long first run however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut first = Killed(
        Command::new(env!("CARGO_BIN_EXE_siren"))
            .args(fit_args(&busy, &["--steps", "1000000"]))
            .spawn()
            .unwrap(),
    );
    let lock = busy.join(".siren.lock");
    // The lock is taken first, then config.toml written: wait for both.
    let clock = Instant::now();
    while !(lock.exists() && busy.join("config.toml").exists())
        && clock.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let args = fit_args(&busy, &["--steps", "5"]);
    let config = std::fs::read_to_string(busy.join("config.toml")).unwrap();
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && text.contains("another siren run"), "{text}");
    assert_eq!(
        std::fs::read_to_string(busy.join("config.toml")).unwrap(),
        config
    );
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // The killed run's lock is left behind; the next run takes it over, and removes it
    // (replacing the killed run's steps, if it logged any: `--overwrite`).
    assert!(lock.exists());
    let mut replace: Vec<&str> = args.iter().map(String::as_str).collect();
    replace.push("--overwrite");
    let (ok, text) = siren(&replace);
    assert!(ok, "{text}");
    assert!(!lock.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sigterm_stops_after_a_step_with_a_checkpoint_and_the_run_resumes_exactly() {
    let d = std::env::temp_dir().join(format!("siren-term-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let (straight, stopped) = (d.join("straight"), d.join("stopped"));
    let args = fit_args(&straight, &[]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");

    let child = Command::new(env!("CARGO_BIN_EXE_siren"))
        .args(fit_args(&stopped, &[]))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = stopped.join("metrics.jsonl");
    let clock = Instant::now();
    let logged = || std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
    while logged() < 15 && clock.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let steps = logged();
    assert!(
        !out.status.success() && stderr.contains("asked to stop") && steps < 300,
        "{steps} steps, {:?}: {stderr}",
        out.status
    );
    // The checkpoint holds the last logged step, not the last multiple of 10.
    let meta = siren_core::checkpoint::checkpoint_metadata(&stopped.join("checkpoint.safetensors"))
        .unwrap();
    assert_eq!(meta["siren_rs.adam_step"], steps.to_string());

    let args = fit_args(&stopped, &["--resume"]);
    let (ok, text) = siren(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");
    assert_eq!(
        tensors(&straight.join("model.safetensors")),
        tensors(&stopped.join("model.safetensors")),
        "the resumed run differs from the uninterrupted one"
    );
    let _ = std::fs::remove_dir_all(&d);
}
