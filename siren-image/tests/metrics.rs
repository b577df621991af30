//! PSNR and SSIM against known values.

use siren_image::metrics::{psnr, ssim};
use siren_image::Image;

fn pair() -> (Image, Image) {
    // The same pair in scikit-image 0.26.0 (numpy, float64):
    //   r, c = np.mgrid[:16, :16]; a = ((r*7 + c*3) % 11) / 10; b = np.clip(a + 0.1*np.sin(r + c), 0, 1)
    //   structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    //                         use_sample_covariance=False, data_range=1.0) = 0.9753237121954604
    //   peak_signal_noise_ratio(a, b, data_range=1.0) = 23.494505743115454
    let n = 16;
    let a: Vec<f32> = (0..n * n)
        .map(|p| (((p / n) * 7 + (p % n) * 3) % 11) as f32 / 10.0)
        .collect();
    let b: Vec<f32> = (0..n * n)
        .map(|p| {
            let v = (((p / n) * 7 + (p % n) * 3) % 11) as f64 / 10.0
                + 0.1 * (((p / n) + (p % n)) as f64).sin();
            v.clamp(0.0, 1.0) as f32
        })
        .collect();
    (
        Image::new(n, n, 1, a).unwrap(),
        Image::new(n, n, 1, b).unwrap(),
    )
}

#[test]
fn psnr_and_ssim_match_scikit_image() {
    let (a, b) = pair();
    let s = ssim(&b, &a, None).unwrap();
    assert!((s - 0.975_323_712_195_460_4).abs() < 1e-5, "SSIM {s}");
    let p = psnr(&b, &a, None).unwrap();
    assert!((p - 23.494_505_743_115_454).abs() < 1e-4, "PSNR {p}");
}

#[test]
fn closed_form_values() {
    let n = 16;
    let grey = Image::new(n, n, 1, vec![0.5; n * n]).unwrap();
    let shifted = Image::new(n, n, 1, vec![0.6; n * n]).unwrap();
    assert!((psnr(&shifted, &grey, None).unwrap() - 20.0).abs() < 1e-4);
    assert_eq!(psnr(&grey, &grey, None).unwrap(), f64::INFINITY);
    assert!((ssim(&grey, &grey, None).unwrap() - 1.0).abs() < 1e-12);
    // a mask restricts both metrics
    let (a, b) = pair();
    let mask: Vec<bool> = (0..n * n).map(|p| p % 2 == 0).collect();
    assert!(psnr(&b, &a, Some(&mask)).unwrap().is_finite());
    assert!(psnr(&b, &a, Some(&vec![false; n * n])).is_err());
    // shapes must agree
    assert!(psnr(&Image::new(2, 2, 1, vec![0.0; 4]).unwrap(), &grey, None).is_err());
}

#[test]
fn spectral_energy_puts_a_cosine_at_its_frequency() {
    // 10 cycles per side along columns, 3 along rows
    let n = 48;
    let data: Vec<f32> = (0..n * n)
        .map(|p| {
            let (r, c) = ((p / n) as f64, (p % n) as f64);
            let t = std::f64::consts::TAU;
            (0.5 + 0.2 * (t * 10.0 * c / n as f64).cos() + 0.2 * (t * 3.0 * r / n as f64).cos())
                as f32
        })
        .collect();
    let img = siren_image::Image::new(n, n, 1, data).unwrap();
    let e = |cut: f64| siren_image::spectrum::energy_above(&img, cut);
    // half the energy is at 10 cycles, half at 3
    assert!((e(9.5) - 0.5).abs() < 1e-6, "{}", e(9.5));
    assert!((e(2.5) - 1.0).abs() < 1e-6);
    assert!(e(10.5) < 1e-6);
}
