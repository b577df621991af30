//! Reference solver for the wave equation $u_{tt} = c(x, y)^2 \Delta u$ on $[-1, 1]^2$:
//! explicit second-order finite differences in space and time (leapfrog).
//!
//! With grid spacing $h$ and step $\Delta t$,
//! $$u^{n+1} = 2u^n - u^{n-1} + \Delta t^2 c^2 \Delta_h u^n, \qquad
//!   u^1 = u^0 + \Delta t\, v^0 + \tfrac{\Delta t^2}{2} c^2 \Delta_h u^0,$$
//! where $\Delta_h$ is the 5-point Laplacian and $u = 0$ on the boundary (the experiments stop
//! before the wave reaches it). Stable for $\max c\, \Delta t / h \le 1/\sqrt 2$; the solver
//! uses one step for the whole run, the largest under `cfl` times that bound that divides
//! every requested time. Errors are $O(h^2 + \Delta t^2)$.

use siren_core::{Error, Result};

/// A square grid of `n x n` nodes over $[-1, 1]^2$, node `(i, j)` at
/// $(-1 + 2i/(n-1), -1 + 2j/(n-1))$ — the same convention as the coordinate grids of
/// siren-core (first index $x$, the first spatial input).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Nodes per side.
    pub n: usize,
}

impl Grid {
    /// Node spacing.
    pub fn h(&self) -> f64 {
        2.0 / (self.n - 1) as f64
    }

    /// Coordinate of index `i`.
    pub fn x(&self, i: usize) -> f64 {
        -1.0 + i as f64 * self.h()
    }
}

/// Field snapshots `(time, values row-major n*n)` from [`solve_wave`].
pub type Snapshots = Vec<(f64, Vec<f64>)>;

/// Solves from $u(0) = $ `initial`, $u_t(0) = $ `velocity` (both given on the grid) with speed
/// `speed` (on the grid), returning the field at each of `times` (ascending, $\ge 0$).
pub fn solve_wave(
    grid: Grid,
    initial: &[f64],
    velocity: &[f64],
    speed: &[f64],
    times: &[f64],
    cfl: f64,
) -> Result<Snapshots> {
    let n = grid.n;
    if n < 3
        || [initial.len(), velocity.len(), speed.len()]
            .iter()
            .any(|&l| l != n * n)
    {
        return Err(Error::InvalidInput(format!(
            "fields must have {n}x{n} values on a grid of n >= 3"
        )));
    }
    if !(cfl > 0.0 && cfl <= 1.0)
        || times.windows(2).any(|w| w[1] < w[0])
        || times.iter().any(|&t| t < 0.0)
    {
        return Err(Error::InvalidInput(
            "need 0 < cfl <= 1 and ascending times >= 0".into(),
        ));
    }
    let h = grid.h();
    let cmax = speed.iter().fold(0.0f64, |m, &c| m.max(c.abs()));
    let dt_max = cfl * h / (cmax.max(1e-12) * std::f64::consts::SQRT_2);
    let c2: Vec<f64> = speed.iter().map(|c| c * c).collect();
    let laplacian = |u: &[f64], out: &mut [f64]| {
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                let p = i * n + j;
                out[p] = (u[p - n] + u[p + n] + u[p - 1] + u[p + 1] - 4.0 * u[p]) / (h * h);
            }
        }
    };
    let boundary = |u: &mut [f64]| {
        for k in 0..n {
            u[k] = 0.0;
            u[(n - 1) * n + k] = 0.0;
            u[k * n] = 0.0;
            u[k * n + n - 1] = 0.0;
        }
    };
    // One step for the whole run, dividing every requested time exactly.
    let gaps: Vec<f64> = std::iter::once(0.0)
        .chain(times.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&g| g > 1e-12)
        .collect();
    let base = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let dt = if base.is_finite() {
        base / (base / dt_max).ceil()
    } else {
        dt_max
    };
    let step_of = |t: f64| -> Result<usize> {
        let k = t / dt;
        if (k - k.round()).abs() > 1e-6 {
            return Err(Error::InvalidInput(format!(
                "times must be multiples of a common step (e.g. 0, 0.1, 0.2); {t} is not a multiple of {base}"
            )));
        }
        Ok(k.round() as usize)
    };
    let targets: Vec<usize> = times.iter().map(|&t| step_of(t)).collect::<Result<_>>()?;
    let mut prev = initial.to_vec();
    boundary(&mut prev);
    let mut lap = vec![0.0; n * n];
    laplacian(&prev, &mut lap);
    let mut cur: Vec<f64> = (0..n * n)
        .map(|p| prev[p] + dt * velocity[p] + 0.5 * dt * dt * c2[p] * lap[p])
        .collect();
    boundary(&mut cur);
    let mut step = 1; // cur holds u at step * dt, prev at (step - 1) * dt
    let mut out = Vec::with_capacity(times.len());
    for (&t, &target) in times.iter().zip(&targets) {
        if target == 0 {
            let mut u0 = initial.to_vec();
            boundary(&mut u0);
            out.push((t, u0));
            continue;
        }
        while step < target {
            laplacian(&cur, &mut lap);
            let mut next: Vec<f64> = (0..n * n)
                .map(|p| 2.0 * cur[p] - prev[p] + dt * dt * c2[p] * lap[p])
                .collect();
            boundary(&mut next);
            prev = std::mem::replace(&mut cur, next);
            step += 1;
        }
        out.push((t, cur.clone()));
    }
    Ok(out)
}

/// Discrete energy $\frac12 \sum (u_t^2 / c^2 + |\nabla_h u|^2)\, h^2$ from two consecutive
/// fields: the quantity $u_{tt} = c^2 \Delta u$ conserves (multiply by $u_t / c^2$ and
/// integrate by parts).
pub fn wave_energy(grid: Grid, before: &[f64], after: &[f64], dt: f64, speed: &[f64]) -> f64 {
    let (n, h) = (grid.n, grid.h());
    let mut e = 0.0;
    for i in 0..n - 1 {
        for j in 0..n - 1 {
            let p = i * n + j;
            let ut = (after[p] - before[p]) / dt;
            let m = |u: &[f64]| {
                let gx = (u[p + n] - u[p]) / h;
                let gy = (u[p + 1] - u[p]) / h;
                gx * gx + gy * gy
            };
            e += 0.5 * (ut * ut / (speed[p] * speed[p]) + 0.5 * (m(before) + m(after))) * h * h;
        }
    }
    e
}
