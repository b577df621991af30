//! `siren hypernet`: training, resuming, completing, and bad input, on synthetic faces in
//! CelebA's layout (the real sample is used by the library's tests and the reproduce report).

mod common;

use common::{celeba, siren, train_hypernet as train};

#[test]
fn a_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one() {
    let data = celeba("resume");
    let (straight, split) = (data.join("straight"), data.join("split"));
    let (ok, text) = train(&data, &straight, "4", &[]);
    assert!(ok, "{text}");
    let (ok, text) = train(&data, &split, "2", &[]);
    assert!(ok, "{text}");
    let (ok, text) = train(&data, &split, "4", &["--resume"]);
    assert!(ok, "{text}");
    let a = std::fs::read(straight.join("set-sine/checkpoint.safetensors")).unwrap();
    let b = std::fs::read(split.join("set-sine/checkpoint.safetensors")).unwrap();
    let (a, b) = (
        safetensors::SafeTensors::deserialize(&a).unwrap(),
        safetensors::SafeTensors::deserialize(&b).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (name, tensor) in a.tensors() {
        let other = b.tensor(&name).unwrap();
        assert!(
            tensor.data() == other.data(),
            "{name} differs after resuming"
        );
    }
    let report = std::fs::read_to_string(straight.join("results.md")).unwrap();
    assert!(report.contains("| set-sine |") && report.contains("mean training face"));
    assert!(report.contains("| PCA (k = "), "{report}");
    assert!(report.contains("peak resident memory"), "{report}");
    assert!(straight.join("completions.png").exists());
    assert!(straight.join("set-sine/completions.png").exists());

    // complete one face, and evaluate
    let ckpt = straight.join("set-sine/checkpoint.safetensors");
    // any photo, of any size and format, not only a CelebA file
    let face = data.join("my photo.png");
    image::RgbImage::from_fn(61, 45, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    })
    .save(&face)
    .unwrap();
    let png = data.join("completed.png");
    let (ok, text) = siren(&[
        "hypernet",
        "complete",
        ckpt.to_str().unwrap(),
        face.to_str().unwrap(),
        "--context",
        "50",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("from 50 context pixels"), "{text}");
    assert!(png.exists());
    let (ok, text) = eval(&ckpt, &data, &data.join("eval"));
    assert!(ok, "{text}");
    // evaluated as trained: its mean-face row is the mean of the faces it learned from
    let eval = std::fs::read_to_string(data.join("eval/results.md")).unwrap();
    assert!(eval.contains("training faces (stored with it)"), "{eval}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_cnp_trains_with_several_seeds_into_one_table() {
    let data = celeba("cnp");
    let out = data.join("out");
    let (ok, text) = siren(&[
        "hypernet",
        "train",
        "--celeba",
        data.to_str().unwrap(),
        "--encoder",
        "cnp",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--batch",
        "4",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(out.join("cnp/checkpoint.safetensors").exists());
    assert!(out.join("cnp/seed-1/checkpoint.safetensors").exists());
    let report = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        report.contains("| cnp | ") && report.contains(" ± "),
        "{report}"
    );
    assert!(report.contains("mean over 2 seeds"), "{report}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn no_eval_trains_and_checkpoints_only_and_eval_reads_the_checkpoint_later() {
    let data = celeba("no-eval");
    let out = data.join("out");
    let (ok, text) = train(&data, &out, "2", &["--no-eval"]);
    assert!(ok, "{text}");
    let ckpt = out.join("set-sine/checkpoint.safetensors");
    assert!(ckpt.exists() && out.join("set-sine/metrics.jsonl").exists());
    for skipped in ["results.md", "completions.png", "set-sine/eval.json"] {
        assert!(!out.join(skipped).exists(), "{skipped} was written");
    }
    let (ok, text) = eval(&ckpt, &data, &data.join("eval"));
    assert!(ok, "{text}");
    assert!(data.join("eval/results.md").exists());
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn bad_input_gives_clear_errors() {
    let data = celeba("bad");
    let out = data.join("out");
    // no CelebA folder
    let (ok, text) = siren(&[
        "hypernet",
        "train",
        "--celeba",
        "/nonexistent/celeba",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("list_eval_partition.txt"), "{text}");
    // a checkpoint that is not one
    let fake = data.join("fake.safetensors");
    std::fs::write(&fake, b"garbage").unwrap();
    let (ok, text) = siren(&[
        "hypernet",
        "complete",
        fake.to_str().unwrap(),
        data.join("img_align_celeba/000001.jpg").to_str().unwrap(),
        "--out",
        data.join("x.png").to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("fake.safetensors"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // zero steps
    let (ok, text) = train(&data, &out, "0", &[]);
    assert!(!ok && text.contains("steps"), "{text}");
    // a bad context level
    let (ok, text) = train(&data, &out, "1", &[]);
    assert!(ok, "{text}");
    let (ok, text) = siren(&[
        "hypernet",
        "complete",
        out.join("set-sine/checkpoint.safetensors")
            .to_str()
            .unwrap(),
        data.join("img_align_celeba/000001.jpg").to_str().unwrap(),
        "--context",
        "lots",
        "--out",
        data.join("x.png").to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("`lots`"), "{text}");
    let _ = std::fs::remove_dir_all(&data);
}

/// `siren hypernet eval` of `ckpt` on the CelebA root `data` into `out`.
fn eval(ckpt: &std::path::Path, data: &std::path::Path, out: &std::path::Path) -> (bool, String) {
    siren(&[
        "hypernet",
        "eval",
        ckpt.to_str().unwrap(),
        "--celeba",
        data.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ])
}
