//! `siren export --format pytorch-siren` and `siren import`: a model through both and back,
//! and, where Python with torch is found, the export loaded into the original's module in
//! PyTorch and an original `.pth` checkpoint brought in (`bench/pytorch_interop.py`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::siren;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("siren-cli-pt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `siren fit` of a 24x24 crop of the embedded cameraman into `dir/NAME`; returns its model.
fn fitted(dir: &Path, name: &str, w0: &str) -> PathBuf {
    let bytes = include_bytes!("../../siren-image/data/camera.png");
    let img = image::load_from_memory(bytes).unwrap().to_luma8();
    let img = image::imageops::resize(&img, 24, 24, image::imageops::FilterType::Triangle);
    let png = dir.join("camera24.png");
    img.save(&png).unwrap();
    let out = dir.join(name);
    let (ok, text) = siren(&[
        "fit",
        s(&png),
        "--steps",
        "20",
        "--hidden",
        "32",
        "--layers",
        "1",
        "--lr",
        "1e-3",
        "--w0",
        w0,
        "--quiet",
        "--out",
        s(&out),
    ]);
    assert!(ok, "{text}");
    out.join("model.safetensors")
}

/// The values of a float32 `.npy` file and its shape (what `siren render` writes).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data 64-byte aligned");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'") && header.ends_with('\n'),
        "{header}"
    );
    let inside = &header[header.find("'shape': (").unwrap() + 10..];
    let shape = inside[..inside.find(')').unwrap()]
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse().unwrap())
        .collect();
    let values = bytes[10 + len..]
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (shape, values)
}

/// `siren export --format pytorch-siren` of `model` to `out`; its success and output.
fn export(model: &Path, out: &Path) -> (bool, String) {
    siren(&[
        "export",
        s(model),
        "--format",
        "pytorch-siren",
        "--out",
        s(out),
    ])
}

/// `siren render` of `model` at `size` (WxH) to the `.npy` file `out`, read back.
fn render_npy(model: &Path, size: &str, out: &Path) -> (Vec<usize>, Vec<f32>) {
    let (ok, text) = siren(&["render", s(model), "--size", size, "--out", s(out)]);
    assert!(ok, "{text}");
    read_npy(out)
}

#[test]
fn a_model_goes_out_and_back_unchanged() {
    let d = scratch("round");
    let model = fitted(&d, "fit", "30");
    let exported = d.join("pytorch.safetensors");
    let (ok, text) = export(&model, &exported);
    assert!(ok, "{text}");
    let back = d.join("back.safetensors");
    let (ok, text) = siren(&["import", s(&exported), "--out", s(&back)]);
    assert!(ok, "{text}");
    let (shape, original) = render_npy(&model, "20x12", &d.join("a.npy"));
    let (_, imported) = render_npy(&back, "20x12", &d.join("b.npy"));
    assert_eq!(shape, vec![12, 20, 1]);
    assert!(
        original.iter().any(|v| *v != original[0]),
        "a fitted image varies"
    );
    assert_eq!(original, imported, "export + import keeps every weight");

    // An existing output is kept unless --overwrite says to replace it.
    let before = std::fs::read(&back).unwrap();
    let (ok, text) = siren(&["import", s(&exported), "--w0", "60", "--out", s(&back)]);
    assert!(!ok && text.contains("--overwrite"), "{text}");
    assert_eq!(std::fs::read(&back).unwrap(), before);
    let (ok, text) = siren(&[
        "import",
        s(&exported),
        "--w0",
        "60",
        "--overwrite",
        "--out",
        s(&back),
    ]);
    assert!(ok, "{text}");
    assert!(common::saved_config(&back).contains("60.0"));
}

#[test]
fn what_the_original_cannot_hold_is_refused_with_the_reason() {
    let d = scratch("refuse");
    let model = fitted(&d, "w20", "20");
    let out = d.join("pytorch.safetensors");
    let (ok, text) = export(&model, &out);
    assert!(
        !ok && text.contains("w0 = 20") && text.contains("sin(30 x)"),
        "{text}"
    );
    assert!(!out.exists(), "nothing written");
    let (ok, text) = siren(&["import", s(&model), "--out", s(&d.join("x.safetensors"))]);
    assert!(!ok && text.contains("not a SingleBVPNet layer"), "{text}");
    let (ok, text) = siren(&["import", s(&model), "--w0", "0", "--out", s(&d.join("y"))]);
    assert!(!ok && text.contains("--w0 must be"), "{text}");
}

/// A Python with torch, safetensors and numpy: `SIREN_TORCH_PYTHON`, bench-compare's venv, or
/// `python3`.
fn torch_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    [
        std::env::var_os("SIREN_TORCH_PYTHON").map(PathBuf::from),
        Some(root.join("target/bench-venv/bin/python")),
        Some(PathBuf::from("python3")),
    ]
    .into_iter()
    .flatten()
    .find(|p| {
        Command::new(p)
            .args(["-c", "import torch, safetensors, numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn pytorch_loads_the_export_and_an_original_checkpoint_comes_in() {
    let Some(python) = torch_python() else {
        eprintln!(
            "skipped: no Python with torch, safetensors and numpy (set SIREN_TORCH_PYTHON, or \
             pip install torch safetensors numpy)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/pytorch_interop.py");
    let py = |args: &[&str]| {
        let out = Command::new(&python)
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python {args:?}: {text}");
        text
    };
    let d = scratch("torch");

    // siren-rs -> PyTorch: the export in the original's module, against `siren render`.
    let model = fitted(&d, "fit", "30");
    let exported = d.join("pytorch.safetensors");
    let (ok, text) = export(&model, &exported);
    assert!(ok, "{text}");
    let values = d.join("values.npy");
    render_npy(&model, "33x17", &values);
    let report = py(&["check", s(&exported), s(&values)]);
    assert!(report.contains("max |PyTorch - siren render|"), "{report}");
    eprintln!("{}", report.trim());

    // PyTorch -> siren-rs: an original checkpoint (torch.save of a state_dict), converted and
    // imported, renders what PyTorch computes.
    let pth = d.join("model_final.pth");
    py(&[
        "make-original",
        s(&pth),
        "--hidden",
        "16",
        "--layers",
        "2",
        "--out-features",
        "3",
    ]);
    let converted = d.join("original.safetensors");
    py(&["convert", s(&pth), s(&converted)]);
    let imported = d.join("imported.safetensors");
    let (ok, text) = siren(&["import", s(&converted), "--out", s(&imported)]);
    assert!(ok, "{text}");
    let values = d.join("imported.npy");
    assert_eq!(render_npy(&imported, "21x19", &values).0, vec![19, 21, 3]);
    eprintln!("{}", py(&["check", s(&converted), s(&values)]).trim());
}
