//! `siren audio`, `video` and `sdf` end to end on tiny inputs: every output is written.

mod common;

use common::siren;

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("siren-cli-signals-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn audio_writes_both_reconstructions_figures_and_results() {
    let d = dir("audio");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(d.join("tone.wav"), spec).unwrap();
    for i in 0..800 {
        let v = ((i as f32 * 0.07).sin() * 9000.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(-v / 2).unwrap();
    }
    w.finalize().unwrap();
    let out = d.join("run");
    let (ok, text) = siren(&[
        "audio",
        &s(&d.join("tone.wav")),
        "--steps",
        "20",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--first-w0",
        "300",
        "--eval-every",
        "10",
        "--quiet",
        "--out",
        &s(&out),
    ]);
    assert!(ok, "{text}");
    for f in [
        "siren.wav",
        "relu-pe.wav",
        "waveform.png",
        "residual.png",
        "curves.png",
        "results.md",
        "results.json",
        "config.toml",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let back = hound::WavReader::open(out.join("siren.wav")).unwrap();
    assert_eq!(
        (
            back.spec().channels,
            back.spec().sample_rate,
            back.duration()
        ),
        (2, 8000, 800)
    );
    let results = std::fs::read_to_string(out.join("results.md")).unwrap();
    // A clip of one sample is fitted too (nothing to draw a window of, but no panic).
    let spec = hound::WavSpec {
        channels: 1,
        ..spec
    };
    let mut w = hound::WavWriter::create(d.join("one.wav"), spec).unwrap();
    w.write_sample(1000i16).unwrap();
    w.finalize().unwrap();
    let (ok, text) = siren(&[
        "audio",
        &s(&d.join("one.wav")),
        "--steps",
        "2",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--quiet",
        "--out",
        &s(&d.join("one")),
    ]);
    assert!(ok, "{text}");
    assert!(
        results.contains("| SIREN |") && results.contains("| ReLU + PE |"),
        "{results}"
    );
}

#[test]
fn video_from_a_frame_folder_writes_frames_and_psnr() {
    let d = dir("video");
    let frames = d.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for k in 0..4u32 {
        image::RgbImage::from_fn(12, 8, |x, y| {
            image::Rgb([(x * 20) as u8, (y * 30) as u8, (k * 60) as u8])
        })
        .save(frames.join(format!("{k:03}.png")))
        .unwrap();
    }
    let out = d.join("run");
    let (ok, text) = siren(&[
        "video",
        &s(&frames),
        "--steps",
        "20",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--batch",
        "64",
        "--size",
        "6x4",
        "--quiet",
        "--out",
        &s(&out),
    ]);
    assert!(ok, "{text}");
    for f in [
        "frames.png",
        "between.png",
        "psnr_per_frame.png",
        "frame_0000_x2.png",
        "frame_1.5.png",
        "results.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["psnr_per_frame"].as_array().unwrap().len(), 4);
    assert_eq!(
        image::open(out.join("frame_0000_x2.png")).unwrap().width(),
        12
    );
}

#[test]
fn sdf_from_a_mesh_and_from_points_writes_a_mesh_and_distances() {
    let d = dir("sdf");
    // An octahedron, faces counter-clockwise from outside.
    let obj = "v 1 0 0\nv -1 0 0\nv 0 1 0\nv 0 -1 0\nv 0 0 1\nv 0 0 -1\n\
               f 1 3 5\nf 3 2 5\nf 2 4 5\nf 4 1 5\nf 3 1 6\nf 2 3 6\nf 4 2 6\nf 1 4 6\n";
    std::fs::write(d.join("octa.obj"), obj).unwrap();
    let mut xyz = String::new();
    for i in 0..400 {
        let (t, p) = (i as f64 * 0.7, i as f64 * 0.013);
        let n = [p.sin() * t.cos(), p.sin() * t.sin(), p.cos()];
        xyz += &format!(
            "{} {} {} {} {} {}\n",
            0.5 * n[0],
            0.5 * n[1],
            0.5 * n[2],
            n[0],
            n[1],
            n[2]
        );
    }
    std::fs::write(d.join("ball.xyz"), xyz).unwrap();
    for (input, format, mesh) in [
        ("octa.obj", "obj", "mesh.obj"),
        ("ball.xyz", "ply", "mesh.ply"),
    ] {
        let out = d.join(format!("run-{format}"));
        let (ok, text) = siren(&[
            "sdf",
            &s(&d.join(input)),
            "--steps",
            "150",
            "--hidden",
            "32",
            "--layers",
            "1",
            "--first-w0",
            "5",
            "--w0",
            "5",
            "--lr",
            "1e-3",
            "--points",
            "2000",
            "--batch",
            "256",
            "--resolution",
            "24",
            "--compare-samples",
            "2000",
            "--format",
            format,
            "--quiet",
            "--out",
            &s(&out),
        ]);
        assert!(ok, "{input}: {text}");
        for f in [
            mesh,
            "shaded.png",
            "results.md",
            "results.json",
            "curves.png",
            "model.safetensors",
        ] {
            assert!(out.join(f).exists(), "{input}: {f} missing");
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap())
                .unwrap();
        let chamfer = json["chamfer"].as_f64().unwrap();
        assert!(chamfer.is_finite() && chamfer > 0.0, "{input}: {json}");
    }
}
