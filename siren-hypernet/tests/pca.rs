//! The PCA baseline on faces that lie in a known low-dimensional subspace.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_hypernet::celeba::{Faces, Split};
use siren_hypernet::pca::Pca;
use siren_hypernet::training::{face_mse, ContextLevel};

/// `count` 4x4 faces = a base image plus random multiples of three fixed patterns, with
/// byte rounding as the only noise.
fn low_rank_faces(count: usize) -> Faces {
    let size = 4;
    let d = size * size * 3;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let patterns: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..d).map(|_| rng.gen_range(-1.0..1.0)).collect())
        .collect();
    let mut pixels = Vec::new();
    for _ in 0..count {
        let a: Vec<f64> = (0..3).map(|_| rng.gen_range(-30.0..30.0)).collect();
        pixels.extend((0..d).map(|j| {
            let v = 128.0 + (0..3).map(|c| a[c] * patterns[c][j]).sum::<f64>();
            v.round().clamp(0.0, 255.0) as u8
        }));
    }
    Faces {
        size,
        pixels,
        names: (0..count).map(|i| format!("{i:06}.jpg")).collect(),
        splits: vec![Split::Train; count],
        split_note: None,
    }
}

#[test]
fn three_components_recover_a_rank_three_face_from_a_few_of_its_pixels() {
    let faces = low_rank_faces(200);
    let train: Vec<usize> = (0..150).collect();
    let pca = Pca::fit(&faces, &train, 8, 0).unwrap();
    // Three directions hold the variance; the rest is rounding.
    assert!(
        pca.variances[2] > 100.0 * pca.variances[3],
        "{:?}",
        pca.variances
    );
    let mean_only = {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let known = ContextLevel::Pixels(4).mask(4, &mut rng);
        pca.complete(&[1], &faces.signed(160), &known)
    };
    for level in [
        ContextLevel::Pixels(4),
        ContextLevel::Half,
        ContextLevel::Full,
    ] {
        for i in 150..160 {
            let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
            let known = level.mask(4, &mut rng);
            let truth = faces.signed(i);
            let completed = pca.complete(&[3], &truth, &known).remove(0);
            // Byte rounding is (1/255)^2 / 12 ~ 1e-6 in MSE on [0, 1].
            let mse = face_mse(&completed, &truth);
            assert!(mse < 1e-4, "{level:?} face {i}: MSE {mse}");
        }
    }
    assert!(face_mse(&mean_only[0], &faces.signed(160)) > 1e-4);
    // Fewer than three components leave a visible error; validation never picks them.
    let validation: Vec<usize> = (150..200).collect();
    for level in [ContextLevel::Pixels(4), ContextLevel::Full] {
        let k = pca.choose_rank(&faces, &validation, level, &[1, 2, 3, 4, 6, 8], 0);
        assert!(k >= 3, "{level:?}: chose rank {k}");
    }
}
