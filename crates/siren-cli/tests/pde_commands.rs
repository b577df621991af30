//! `siren wave` and `siren helmholtz` end to end at a few steps, and their answers to bad input.

mod common;

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
        let png = image::open(out.join(figure)).unwrap();
        assert_eq!(png.height(), 4 * 33 + 3 * 4); // three models and the reference
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
}
