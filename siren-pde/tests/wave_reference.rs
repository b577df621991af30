//! The leapfrog wave solver: second-order convergence on a standing wave, energy conservation.

use std::f64::consts::PI;

use siren_pde::wave::{solve_wave, wave_energy, Grid};

/// $u = \sin(\pi(x+1)/2)\sin(\pi(y+1)/2)\cos(\omega t)$, $\omega = c\pi/\sqrt2$, zero on the
/// boundary of $[-1, 1]^2$.
fn standing(grid: Grid, t: f64, c: f64) -> Vec<f64> {
    let n = grid.n;
    let w = c * PI / 2f64.sqrt();
    (0..n * n)
        .map(|p| {
            let (x, y) = (grid.x(p / n), grid.x(p % n));
            (PI * (x + 1.0) / 2.0).sin() * (PI * (y + 1.0) / 2.0).sin() * (w * t).cos()
        })
        .collect()
}

fn max_error(n: usize) -> f64 {
    let grid = Grid { n };
    let c = 1.0;
    let speed = vec![c; n * n];
    let zero = vec![0.0; n * n];
    let out = solve_wave(
        grid,
        &standing(grid, 0.0, c),
        &zero,
        &speed,
        &[0.5, 1.0],
        0.5,
    )
    .unwrap();
    out.iter()
        .map(|(t, u)| {
            standing(grid, *t, c)
                .iter()
                .zip(u)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

#[test]
fn leapfrog_converges_at_second_order() {
    let (coarse, fine, finer) = (max_error(17), max_error(33), max_error(65));
    let (r1, r2) = (coarse / fine, fine / finer);
    assert!(
        r1 > 3.5 && r2 > 3.5,
        "errors {coarse:e}, {fine:e}, {finer:e}: ratios {r1:.2}, {r2:.2}"
    );
    assert!(finer < 1e-3, "{finer:e}");
}

#[test]
fn energy_is_conserved_in_a_heterogeneous_medium() {
    let grid = Grid { n: 81 };
    let n = grid.n;
    // a Gaussian pulse in a medium with a slower square
    let speed: Vec<f64> = (0..n * n)
        .map(|p| {
            if grid.x(p / n).abs() < 0.3 && (grid.x(p % n) - 0.4).abs() < 0.3 {
                0.5
            } else {
                1.0
            }
        })
        .collect();
    let init: Vec<f64> = (0..n * n)
        .map(|p| {
            let (x, y) = (grid.x(p / n), grid.x(p % n));
            (-(x * x + y * y) / (2.0 * 0.01)).exp()
        })
        .collect();
    let zero = vec![0.0; n * n];
    let dt = 0.005;
    let times: Vec<f64> = [0.2, 0.2 + dt, 0.6, 0.6 + dt].to_vec();
    let out = solve_wave(grid, &init, &zero, &speed, &times, 0.9).unwrap();
    let e1 = wave_energy(grid, &out[0].1, &out[1].1, dt, &speed);
    let e2 = wave_energy(grid, &out[2].1, &out[3].1, dt, &speed);
    assert!(e1 > 0.0);
    assert!(((e2 - e1) / e1).abs() < 1e-2, "energy {e1} -> {e2}");
}

#[test]
fn bad_input_is_rejected() {
    let grid = Grid { n: 5 };
    let f = vec![0.0; 25];
    assert!(solve_wave(grid, &f, &f, &f[..20], &[0.1], 0.5).is_err());
    assert!(solve_wave(grid, &f, &f, &f, &[0.2, 0.1], 0.5).is_err());
    assert!(solve_wave(grid, &f, &f, &[1.0; 25], &[0.1, 0.13], 0.5).is_err());
}
