//! The hostile tester's cases against the `siren` binary (issue 22), as one table: each
//! command line and what its answer must say. Cases that need a longer setup (kill and
//! resume, locks, signals, corrupt files, config files) have their own tests in `runs.rs`,
//! `pde_commands.rs`, `config_files.rs`, `image_commands.rs` and `hypernet_commands.rs`.

mod common;

use common::siren;

#[test]
fn every_hostile_command_line_gets_a_clear_error_and_touches_nothing() {
    let dir = std::env::temp_dir().join(format!("siren-cli-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
    image::GrayImage::from_fn(12, 12, |x, y| image::Luma([(x * 20 + y * 3) as u8]))
        .save(dir.join("img.png"))
        .unwrap();
    let (ok, text) = siren(&[
        "fit",
        &p("img.png"),
        "--steps",
        "2",
        "--hidden",
        "8",
        "--quiet",
        "--out",
        &p("run"),
    ]);
    assert!(ok, "{text}");
    let model = p("run/model.safetensors");
    std::os::unix::fs::symlink(dir.join("img.png"), dir.join("link.png")).unwrap();
    std::fs::write(dir.join("keep.txt"), b"precious").unwrap();
    std::fs::create_dir_all(dir.join("folder.png")).unwrap();

    let cases: Vec<(Vec<String>, &str)> = vec![
        // outputs: only regular files, never an input
        (
            vec!["render", &model, "--size", "8x8", "--out", "/dev/null"],
            "only replace regular files",
        ),
        (
            vec!["render", &model, "--size", "8x8", "--out", &model],
            "input",
        ),
        (
            vec!["render", &model, "--size", "8x8", "--out", &p("link.png")],
            "symbolic link",
        ),
        (
            vec!["render", &model, "--size", "8x8", "--out", &p("folder.png")],
            "only replace regular files",
        ),
        // untrusted files and numbers: bounded before allocating
        (
            vec!["fit", "/dev/zero", "--out", &p("z")],
            "not a regular file",
        ),
        (
            vec![
                "render",
                &p("keep.txt"),
                "--size",
                "8x8",
                "--out",
                &p("r.png"),
            ],
            "safetensors",
        ),
        (
            vec!["fit", &p("img.png"), "--size", "1000000", "--out", &p("a")],
            "choose a smaller size",
        ),
        (
            vec![
                "render",
                &model,
                "--size",
                "100000x100000",
                "--out",
                &p("big.png"),
            ],
            "choose a smaller size",
        ),
        (
            vec![
                "fit",
                &p("img.png"),
                "--hidden",
                "1000000",
                "--out",
                &p("b"),
            ],
            "hidden_features must be at most",
        ),
        (
            vec!["init-stats", "--width", "1000000", "--out", &p("c")],
            "hidden_features must be at most",
        ),
        // the signal commands: devices, foreign files, bad numbers
        (
            vec!["audio", "/dev/zero", "--out", &p("au")],
            "not a regular file",
        ),
        (vec!["audio", &p("keep.txt"), "--out", &p("au")], "WAV file"),
        (
            vec!["video", &p("keep.txt"), "--out", &p("vi")],
            "MP4 video",
        ),
        (
            vec!["video", &p("img.png"), "--frames", "0", "--out", &p("vi")],
            "--frames must be at least 1",
        ),
        (vec!["sdf", &p("keep.txt"), "--out", &p("sd")], "no faces"),
        (
            vec!["sdf", "/dev/zero", "--out", &p("sd")],
            "not a regular file",
        ),
        (
            vec!["sdf", &p("keep.txt"), "--extent", "2", "--out", &p("sd")],
            "--extent must be in (0, 1]",
        ),
        (
            vec!["wave", "--grid", "100000", "--out", &p("d")],
            "GB of memory",
        ),
        (
            vec!["helmholtz", "--grid", "100000", "--out", &p("e")],
            "GB of memory",
        ),
        (
            vec!["fit", &p("img.png"), "--size", "16000", "--out", &p("f")],
            "GB of memory",
        ),
        (
            vec!["fit", &p("img.png"), "--steps", "1e9", "--out", &p("g")],
            "invalid value",
        ),
        // run integrity
        (
            vec!["fit", &p("img.png"), "--resume", "--out", &p("empty")],
            "no checkpoint",
        ),
        (
            vec![
                "fit",
                &p("img.png"),
                "--size",
                "10",
                "--hidden",
                "8",
                "--resume",
                "--out",
                &p("run"),
            ],
            "other settings",
        ),
        (
            vec![
                "fit",
                &p("img.png"),
                "--hidden",
                "8",
                "--steps",
                "2",
                "--out",
                &p("run"),
            ],
            "holds a previous run",
        ),
        // silent wrong results
        (
            vec![
                "fit",
                &p("img.png"),
                "--lr",
                "1e3",
                "--steps",
                "5",
                "--out",
                &p("h"),
            ],
            "diverged",
        ),
        (
            vec![
                "inpaint",
                &p("img.png"),
                "--mask",
                "random:1",
                "--out",
                &p("i"),
            ],
            "hides no pixel",
        ),
        (
            vec![
                "fit",
                &p("img.png"),
                "--divergence-factor",
                "0.5",
                "--out",
                &p("j"),
            ],
            "0 (off) or above 1",
        ),
    ]
    .into_iter()
    .map(|(args, says)| (args.into_iter().map(String::from).collect(), says))
    .collect();
    for (args, says) in &cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = siren(&argv);
        assert!(!ok, "`siren {}` succeeded: {text}", args.join(" "));
        assert!(
            text.contains(says),
            "`siren {}` should say `{says}`: {text}",
            args.join(" ")
        );
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "`siren {}` panicked: {text}",
            args.join(" ")
        );
    }
    // nothing was replaced or written through
    assert_eq!(std::fs::read(dir.join("keep.txt")).unwrap(), b"precious");
    assert!(std::fs::symlink_metadata(dir.join("link.png"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(dir.join("folder.png").is_dir());
    // --overwrite replaces the previous run; --resume continues it
    for flag in ["--overwrite", "--resume"] {
        let (ok, text) = siren(&[
            "fit",
            &p("img.png"),
            "--hidden",
            "8",
            "--steps",
            "3",
            "--quiet",
            flag,
            "--out",
            &p("run"),
        ]);
        assert!(ok, "{flag}: {text}");
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    let _ = std::fs::remove_dir_all(&dir);
}
