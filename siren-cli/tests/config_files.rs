//! `--config FILE.toml`: options from a file, flags override it, unknown keys are named with
//! a suggestion, and every run writes a resolved config that loads again.

mod common;

use common::siren;

fn camera() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../siren-image/data/camera.png"
    )
    .to_string()
}

#[test]
fn a_config_file_sets_options_and_flags_override_it() {
    let d = std::env::temp_dir().join(format!("siren-config-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let config = d.join("fit.toml");
    std::fs::write(
        &config,
        format!(
            "image = {:?}\nsize = 24\nsteps = 7\nhidden = 16\neval-every = 1\nquiet = true\n",
            camera()
        ),
    )
    .unwrap();
    let out = d.join("run");
    let (ok, text) = siren(&[
        "fit",
        "--config",
        config.to_str().unwrap(),
        "--steps",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(
        log.lines().count(),
        3,
        "the flag's 3 steps win over the file's 7"
    );
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        resolved.contains("steps = 3") && resolved.contains("hidden = 16"),
        "{resolved}"
    );
    // It names the version (and the commit, built inside a git checkout) that wrote it.
    assert!(
        resolved.starts_with(&format!(
            "# written by siren-rs {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{resolved}"
    );
    // The resolved config runs again as is.
    let again = d.join("again");
    let (ok, text) = siren(&[
        "fit",
        "--config",
        out.join("config.toml").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert_eq!(
        std::fs::read_to_string(again.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn unknown_or_malformed_keys_are_rejected_with_a_suggestion() {
    let d = std::env::temp_dir().join(format!("siren-config-bad-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let config = d.join("bad.toml");
    let cases: [(&str, &[&str]); 3] = [
        (
            "stpes = 10\n",
            &["unknown key `stpes`", "did you mean `steps`"],
        ),
        ("quiet = 3\n", &["switch"]),
        ("steps = [\n", &["TOML"]),
    ];
    for (content, expected) in cases {
        std::fs::write(&config, content).unwrap();
        let (ok, text) = siren(&[
            "wave",
            "--config",
            config.to_str().unwrap(),
            "--out",
            "/tmp/x",
        ]);
        assert!(!ok, "{content:?} was accepted");
        for e in expected {
            assert!(text.contains(e), "{content:?}: {text}");
        }
        assert!(!text.contains("panicked"), "{text}");
    }
    let (ok, text) = siren(&["wave", "--config", "/nonexistent.toml", "--out", "/tmp/x"]);
    assert!(!ok && text.contains("/nonexistent.toml"), "{text}");
    assert!(!text.contains("panicked"));
    let _ = std::fs::remove_dir_all(&d);
}

/// Bounded fuzzing of the config loader through the binary: corrupted config files give an
/// error or a run, never a panic.
#[test]
fn corrupt_config_files_never_panic() {
    let d = std::env::temp_dir().join(format!("siren-config-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let valid = b"width = 4\nlayers = 1\npoints = 4\nw0 = 30.0\nwrong_scale = 0.5\nseed = 3\n";
    let mut state = 0x2545f4914f6cdd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for case in 0..24 {
        let mut bytes = valid.to_vec();
        match case % 3 {
            0 => bytes.truncate((next() as usize) % bytes.len()),
            1 => {
                for _ in 0..3 {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] = (next() % 256) as u8;
                }
            }
            _ => {
                let i = (next() as usize) % bytes.len();
                bytes.insert(i, b"=[\"{\n#"[(next() % 6) as usize]);
            }
        }
        let config = d.join(format!("c{case}.toml"));
        std::fs::write(&config, &bytes).unwrap();
        let (_, text) = siren(&[
            "init-stats",
            "--config",
            config.to_str().unwrap(),
            "--width",
            "4",
            "--layers",
            "1",
            "--points",
            "4",
            "--out",
            d.join("out").to_str().unwrap(),
        ]);
        assert!(!text.contains("panicked"), "case {case}: {text}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn hostile_or_careless_config_files_get_clear_errors() {
    let d = std::env::temp_dir().join(format!("siren-config-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let out = d.join("run");
    let o = out.to_str().unwrap();
    let write = |name: &str, text: String| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let negative = write(
        "negative.toml",
        format!("image = {:?}\nsteps = -5\n", camera()),
    );
    let dash = write("dash.toml", "image = \"--resume\"\n".into());
    let cuda = write(
        "cuda.toml",
        format!("image = {:?}\ndevice = \"cuda\"\n", camera()),
    );
    let cpu = write(
        "cpu.toml",
        format!(
            "image = {:?}\ndevice = \"cpu\"\nsize = 8\nsteps = 1\nhidden = 8\nquiet = true\n",
            camera()
        ),
    );
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["fit", "--config", &negative, "--out", o],
            "invalid value '-5'",
        ),
        (
            vec!["fit", "--config", &dash, "--out", o],
            "starts with '-'",
        ),
        (
            vec!["fit", "--config", &cpu, "--config", &dash, "--out", o],
            "given twice",
        ),
    ];
    if cfg!(not(feature = "cuda")) {
        cases.push((
            vec!["fit", "--config", &cuda, "--out", o],
            "built without CUDA",
        ));
    }
    for (args, expected) in cases {
        let (ok, text) = siren(&args);
        assert!(!ok && text.contains(expected), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
    // The global --device is a key like any other.
    let (ok, text) = siren(&["fit", "--config", &cpu, "--out", o]);
    assert!(ok, "{text}");
    let _ = std::fs::remove_dir_all(&d);
}
