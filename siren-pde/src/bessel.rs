//! Bessel functions of order zero and the Hankel function $H_0^{(2)} = J_0 - i Y_0$, for the
//! closed-form Helmholtz solution.
//!
//! Power series for $z < 12$ (terms stay below $10^4$, so cancellation costs at most
//! $10^{-12}$); the Hankel asymptotic expansion, summed until its terms stop decreasing, for
//! $z \ge 12$ (error below $e^{-2z} \approx 4\cdot10^{-11}$).

use std::f64::consts::PI;

const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// $J_0(z)$ and $Y_0(z)$ for $z > 0$.
pub fn j0_y0(z: f64) -> (f64, f64) {
    assert!(z > 0.0, "Y0 is defined for z > 0");
    if z < 12.0 {
        let q = z * z / 4.0;
        let (mut term, mut j, mut y_sum, mut harmonic) = (1.0, 1.0, 0.0, 0.0);
        for m in 1..200 {
            let m = m as f64;
            term *= -q / (m * m);
            harmonic += 1.0 / m;
            j += term;
            y_sum -= harmonic * term;
            if term.abs() < 1e-18 * j.abs().max(1e-300) && m > q.sqrt() {
                break;
            }
        }
        let y = 2.0 / PI * (((z / 2.0).ln() + EULER_GAMMA) * j + y_sum);
        (j, y)
    } else {
        // P ~ sum (-1)^k a_{2k} / z^{2k}, Q ~ sum (-1)^k a_{2k+1} / z^{2k+1},
        // a_k = prod_{i=1..k} (2i-1)^2 / (k! 8^k).
        let (mut p, mut q) = (1.0, 0.0);
        let mut a = 1.0;
        let mut last = f64::INFINITY;
        for k in 1..60 {
            let kf = k as f64;
            a *= (2.0 * kf - 1.0).powi(2) / (kf * 8.0 * z);
            if a.abs() >= last {
                break;
            }
            last = a.abs();
            let sign = if ((k + 1) / 2) % 2 == 0 { 1.0 } else { -1.0 };
            if k % 2 == 0 {
                p += sign * a;
            } else {
                q += sign * a;
            }
        }
        let chi = z - PI / 4.0;
        let s = (2.0 / (PI * z)).sqrt();
        (
            s * (p * chi.cos() - q * chi.sin()),
            s * (p * chi.sin() + q * chi.cos()),
        )
    }
}

/// $H_0^{(2)}(z) = J_0(z) - i Y_0(z)$ as `(re, im)`.
pub fn hankel2_0(z: f64) -> (f64, f64) {
    let (j, y) = j0_y0(z);
    (j, -y)
}
