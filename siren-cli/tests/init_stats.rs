//! `siren init-stats`: the right init matches the theory, the wrong one is told apart.

mod common;

use common::siren;

#[test]
fn init_stats_separates_the_siren_init_from_a_wrong_one() {
    let out = std::env::temp_dir().join(format!("siren-init-stats-{}", std::process::id()));
    let (ok, text) = siren(&[
        "init-stats",
        "--width",
        "512",
        "--layers",
        "3",
        "--points",
        "256",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("init_stats.json")).unwrap())
            .unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows[1..] {
        let f = |k: &str| row[k].as_f64().unwrap();
        // Within the theory's modelling error (see siren-core's init_theory tests) ...
        assert!(
            f("ks_pre_normal") < 0.04 && f("ks_act_arcsine") < 0.08,
            "{row}"
        );
        // ... and far from the wrong init.
        assert!(
            f("wrong_ks_pre_normal") > 0.25 && f("wrong_ks_act_arcsine") > 0.25,
            "{row}"
        );
    }
    assert!(image::open(out.join("init_stats.png")).is_ok());
    let (ok, text) = siren(&[
        "init-stats",
        "--wrong-scale",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("--wrong-scale"), "{text}");
    let _ = std::fs::remove_dir_all(&out);
}
