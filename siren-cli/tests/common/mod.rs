//! Helpers shared by the command-line tests.

#![allow(dead_code)] // each test binary uses a subset

pub mod server;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the `siren` binary; returns whether it succeeded and its stdout + stderr.
pub fn siren(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_siren"))
        .args(args)
        .output()
        .expect("run siren");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The JSON config stored in a saved model's metadata.
pub fn saved_config(model: &Path) -> String {
    let bytes = std::fs::read(model).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    header.metadata().as_ref().unwrap()["siren_rs.config"].clone()
}

/// A synthetic CelebA root (8 faces in the official layout, the last 2 in the test split)
/// in a fresh temporary folder named after `name`.
pub fn celeba(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siren-cli-hn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("img_align_celeba")).unwrap();
    let mut lines = String::new();
    for i in 0..8u32 {
        let img = image::RgbImage::from_fn(36, 44, |x, y| {
            image::Rgb([(x * 6 + i * 25) as u8, (y * 5) as u8, (200 - i * 20) as u8])
        });
        let name = format!("{:06}.jpg", i + 1);
        img.save(dir.join("img_align_celeba").join(&name)).unwrap();
        lines += &format!("{name} {}\n", if i >= 6 { 2 } else { 0 });
    }
    std::fs::write(dir.join("list_eval_partition.txt"), lines).unwrap();
    dir
}

/// `siren hypernet train` of a set-sine encoder on the CelebA root `data` into `out`, batches
/// of 4, a checkpoint every 2 steps, and the flags in `extra`.
pub fn train_hypernet(data: &Path, out: &Path, steps: &str, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "hypernet",
        "train",
        "--celeba",
        data.to_str().unwrap(),
        "--encoder",
        "set-sine",
        "--steps",
        steps,
        "--batch",
        "4",
        "--checkpoint-every",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    siren(&args)
}
