//! The Helmholtz reference solver against the closed-form Hankel solution, and the Bessel
//! functions against known values.

use siren_pde::bessel::j0_y0;
use siren_pde::helmholtz::Helmholtz;

#[test]
fn bessel_functions_match_known_values() {
    // scipy.special.j0 / y0 (SciPy 1.x)
    let known = [
        (0.5, 0.938469807240813, -0.4445187335067066),
        (1.0, 0.7651976865579665, 0.08825696421567697),
        (5.0, -0.1775967713143383, -0.30851762524903303),
        (11.99, 0.045451560352858814, -0.2257972684401759),
        (12.01, 0.04992043031982556, -0.22465530910012388),
        (20.0, 0.16702466434058322, 0.06264059680938369),
        (35.5, -0.13233156389133, -0.02048248506960209),
    ];
    for (z, j, y) in known {
        let (jj, yy) = j0_y0(z);
        assert!(
            (jj - j).abs() < 1e-10 && (yy - y).abs() < 1e-10,
            "z={z}: {jj} {yy} vs {j} {y}"
        );
    }
}

/// Relative L2 error of the reference solution against the closed form over the physical
/// domain outside the source disc (r > 0.1).
fn closed_form_error(n: usize) -> f64 {
    let p = Helmholtz::default();
    let u = p.solve_reference(n, |_, _| 1.0).unwrap();
    let h = 2.0 / (n - 1) as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (-1.0 + i as f64 * h, -1.0 + j as f64 * h);
            let r = (x * x + y * y).sqrt();
            if !p.in_physical_domain(x, y) || r <= 0.1 {
                continue;
            }
            let exact = p.closed_form(r);
            let d = u[i * n + j] - exact;
            num += d.re * d.re + d.im * d.im;
            den += exact.re * exact.re + exact.im * exact.im;
        }
    }
    (num / den).sqrt()
}

#[test]
fn reference_matches_the_hankel_solution_in_a_uniform_medium() {
    let coarse = closed_form_error(129);
    let fine = closed_form_error(257);
    eprintln!("relative L2 error vs H0(2): n=129 {coarse:.4}, n=257 {fine:.4}");
    assert!(fine < 0.02, "relative L2 error {fine:.4}");
    assert!(
        coarse / fine > 2.5,
        "not converging: {coarse:.4} -> {fine:.4}"
    );
}
