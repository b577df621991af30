//! The anti-aliasing kernel's sampler against the tent law.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use siren_core::stats::{ks_critical, ks_statistic};
use siren_image::antialias::{jittered_coords, tent_cdf, tent_sample};

#[test]
fn tent_sampler_follows_its_cdf() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut s: Vec<f64> = (0..20_000).map(|_| tent_sample(&mut rng)).collect();
    let ks = ks_statistic(&mut s, tent_cdf);
    assert!(ks < ks_critical(s.len(), 1e-3), "KS {ks}");
    // and it is not uniform: the same check rejects U(-1, 1)
    let mut u: Vec<f64> = (0..20_000)
        .map(|i| -1.0 + 2.0 * (i as f64 + 0.5) / 20_000.0)
        .collect();
    assert!(ks_statistic(&mut u, tent_cdf) > 0.05);
}

#[test]
fn jitter_stays_within_one_pixel() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let coords = vec![0.0, 0.0, 0.5, -0.5];
    let j = jittered_coords(&mut rng, &coords, 8, (0.1, 0.2));
    assert_eq!(j.len(), 8 * 4);
    for (k, p) in j.chunks(2).enumerate() {
        let base = &coords[(k % 2) * 2..(k % 2) * 2 + 2];
        assert!((p[0] - base[0]).abs() <= 0.1 && (p[1] - base[1]).abs() <= 0.2);
    }
}
