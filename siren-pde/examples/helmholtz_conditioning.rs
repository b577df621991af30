//! How well posed a heterogeneous Helmholtz test is: the reference field's change under small
//! changes of the medium, and the reference's own grid convergence, over the physical domain.
//!
//! ```sh
//! cargo run --release -p siren-pde --example helmholtz_conditioning
//! ```
//!
//! A medium near a resonance moves the field a lot for a small change of its size or speed;
//! no method, and no discretised reference, can then be held to a small error.

use faer::complex_native::c64;
use siren_pde::helmholtz::Helmholtz;
use siren_pde::medium::Medium;

/// The reference on `n` nodes, read at the nodes of a 129-node grid.
fn coarse(problem: &Helmholtz, medium: Medium, n: usize) -> siren_core::Result<Vec<c64>> {
    let u = problem.solve_reference(n, |x, y| medium.slowness_squared(x, y))?;
    let k = (n - 1) / 128;
    Ok((0..129)
        .flat_map(|i| (0..129).map(move |j| (i * k, j * k)))
        .map(|(i, j)| u[i * n + j])
        .collect())
}

/// Relative L2 distance of `a` from `b` over the physical domain of the 129-node grid.
fn distance(problem: &Helmholtz, a: &[c64], b: &[c64]) -> f64 {
    let h = 2.0 / 128.0;
    let (mut num, mut den) = (0.0, 0.0);
    for (p, (u, v)) in a.iter().zip(b).enumerate() {
        let (x, y) = (-1.0 + (p / 129) as f64 * h, -1.0 + (p % 129) as f64 * h);
        if problem.in_physical_domain(x, y) {
            num += (*u - *v).abs().powi(2);
            den += v.abs().powi(2);
        }
    }
    (num / den).sqrt()
}

fn main() -> siren_core::Result<()> {
    let disc = |inside: f64, radius: f64| Medium::Disc {
        inside,
        outside: 1.0,
        centre: (0.25, 0.0),
        radius,
    };
    let square = |inside: f64, half: f64| Medium::Square {
        inside,
        outside: 1.0,
        centre: (0.0, 0.0),
        half,
    };
    let at = |source: (f64, f64)| Helmholtz {
        source_sigma: 1e-3,
        source,
        ..Default::default()
    };
    // (name, source, medium, the medium 3% larger, the medium with a 2-3% other speed)
    let cases = [
        (
            "slow disc (c = 0.5, r = 0.15 at (0.25, 0)), source at 0",
            at((0.0, 0.0)),
            disc(0.5, 0.15),
            disc(0.5, 0.155),
            disc(0.49, 0.15),
        ),
        (
            "the original's square (c = 2, half-side 0.3, centred), source at (-0.35, 0)",
            at((-0.35, 0.0)),
            square(2.0, 0.3),
            square(2.0, 0.31),
            square(2.06, 0.3),
        ),
    ];
    println!("| medium | 3% larger | 2-3% other speed | 257 vs 513 nodes | 129 vs 513 nodes |");
    println!("|---|---|---|---|---|");
    for (name, problem, medium, larger, other_speed) in cases {
        let fine = coarse(&problem, medium, 513)?;
        let base = coarse(&problem, medium, 257)?;
        let change = |m: Medium| -> siren_core::Result<f64> {
            Ok(distance(&problem, &coarse(&problem, m, 257)?, &base))
        };
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
            change(larger)?,
            change(other_speed)?,
            distance(&problem, &base, &fine),
            distance(&problem, &coarse(&problem, medium, 129)?, &fine),
        );
    }
    Ok(())
}
