//! The Helmholtz problem with a perfectly matched layer (PML), and its finite-difference
//! reference solver.
//!
//! On $[-1, 1]^2$, with a PML of width $L$ along every edge, the complex field $u$ solves
//! $$\partial_x (A\, \partial_x u) + \partial_y (B\, \partial_y u) + C\, \frac{k^2}{c(x,y)^2}\, u = -f,
//!   \qquad A = \frac{e_y}{e_x},\ B = \frac{e_x}{e_y},\ C = e_x e_y,$$
//! with the coordinate stretching $e_x = 1 - i\,\sigma(x)/k$,
//! $\sigma(x) = a_0 k\, (d(x)/L)^2$ and $d(x)$ the depth into the layer (0 outside it), as the
//! original code builds it. Outside the PML this is $\Delta u + k^2/c^2\, u = -f$; inside,
//! outgoing waves $e^{-ikr}$ decay by $e^{-a_0 k L/3}$ per crossing. The source is the
//! original's normalised Gaussian of complex mass $m$ (the original: $m = 1 + i$,
//! $\sigma_s = 10^{-4}$):
//! $$f = \frac{m}{2\pi\sigma_s}\, e^{-|x - x_s|^2 / (2\sigma_s)}.$$
//! (The original writes $\nabla\cdot(A\nabla u) + C k^2 u = f$; the sign only negates the
//! field.)
//!
//! In a uniform medium ($c = 1$) and away from the PML, the field is
//! $$u(r) = m\, e^{-k^2 \sigma_s/2}\, \left(-\tfrac{i}{4}\right) H_0^{(2)}(k r),$$
//! the outgoing Green's function convolved with the Gaussian (whose Fourier transform at
//! $|\xi| = k$ gives the factor $e^{-k^2\sigma_s/2}$). [`Helmholtz::closed_form`] evaluates it.

use faer::complex_native::c64;
use faer::sparse::linalg::solvers::SpSolver;
use faer::sparse::SparseColMat;
use siren_core::{Error, Result};

use crate::bessel::hankel2_0;

/// The problem's parameters. Defaults are the original experiment's.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Helmholtz {
    /// Wavenumber $k$.
    pub k: f64,
    /// PML width $L$.
    pub pml_width: f64,
    /// PML strength $a_0$.
    pub a0: f64,
    /// Source variance $\sigma_s$ in $e^{-r^2/(2\sigma_s)}$.
    pub source_sigma: f64,
    /// The source's complex mass $m$ (its integral) as `(re, im)`.
    pub mass: (f64, f64),
    /// Source position.
    pub source: (f64, f64),
}

impl Default for Helmholtz {
    fn default() -> Self {
        Self {
            k: 20.0,
            pml_width: 0.5,
            a0: 5.0,
            source_sigma: 1e-4,
            mass: (1.0, 1.0),
            source: (0.0, 0.0),
        }
    }
}

impl Helmholtz {
    /// The stretching factor $e(x) = 1 - i\,\sigma(x)/k$ along one axis.
    pub fn stretch(&self, x: f64) -> c64 {
        let depth = (x.abs() - (1.0 - self.pml_width)).max(0.0);
        c64::new(1.0, -self.a0 * (depth / self.pml_width).powi(2))
    }

    /// The source $f(x, y)$.
    pub fn source_at(&self, x: f64, y: f64) -> c64 {
        let r2 = (x - self.source.0).powi(2) + (y - self.source.1).powi(2);
        let g = (-r2 / (2.0 * self.source_sigma)).exp()
            / (2.0 * std::f64::consts::PI * self.source_sigma);
        c64::new(self.mass.0 * g, self.mass.1 * g)
    }

    /// Whether `(x, y)` lies outside the PML (the physical domain).
    pub fn in_physical_domain(&self, x: f64, y: f64) -> bool {
        x.abs() <= 1.0 - self.pml_width && y.abs() <= 1.0 - self.pml_width
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let ok = self.k > 0.0
            && self.pml_width > 0.0
            && self.pml_width < 1.0
            && self.a0 >= 0.0
            && self.source_sigma > 0.0
            && [self.k, self.a0, self.source_sigma, self.mass.0, self.mass.1]
                .iter()
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidConfig(format!(
                "Helmholtz needs k > 0, 0 < pml_width < 1, a0 >= 0 and source_sigma > 0; got {self:?}"
            )))
        }
    }

    /// The closed-form field in a uniform medium ($c = 1$) at distance `r > 0` from the source.
    pub fn closed_form(&self, r: f64) -> c64 {
        let (hr, hi) = hankel2_0(self.k * r);
        let spread = (-self.k * self.k * self.source_sigma / 2.0).exp();
        // (-i/4) H, times the complex mass and the Gaussian's transform at |xi| = k
        let g = c64::new(hi / 4.0, -hr / 4.0) * spread;
        c64::new(self.mass.0, self.mass.1) * g
    }

    /// Solves on an `n x n` grid of nodes over $[-1, 1]^2$ (node `(i, j)` at
    /// $x = -1 + 2i/(n-1)$, $y = -1 + 2j/(n-1)$, row-major with `i` slowest), with $u = 0$ on
    /// the outer boundary, by the conservative 5-point discretisation of the operator above
    /// ($A$, $B$ at the half-nodes) and a sparse LU factorisation (faer).
    /// `slowness_squared(x, y)` is $1/c^2$.
    pub fn solve_reference(
        &self,
        n: usize,
        slowness_squared: impl Fn(f64, f64) -> f64,
    ) -> Result<Vec<c64>> {
        self.validate()?;
        if n < 5 {
            return Err(Error::InvalidInput(format!(
                "the reference grid needs n >= 5, got {n}"
            )));
        }
        let h = 2.0 / (n - 1) as f64;
        let x = |i: usize| -1.0 + i as f64 * h;
        let interior = n - 2;
        let id = |i: usize, j: usize| (i - 1) * interior + (j - 1);
        let m = interior * interior;
        let mut triplets: Vec<(usize, usize, c64)> = Vec::with_capacity(5 * m);
        let mut rhs = faer::Col::<c64>::zeros(m);
        let k2 = self.k * self.k;
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                let (xi, yj) = (x(i), x(j));
                let row = id(i, j);
                let (ex_c, ey_c) = (self.stretch(xi), self.stretch(yj));
                // A = e_y / e_x at x +- h/2, B = e_x / e_y at y +- h/2
                let a_plus = ey_c / self.stretch(xi + h / 2.0);
                let a_minus = ey_c / self.stretch(xi - h / 2.0);
                let b_plus = ex_c / self.stretch(yj + h / 2.0);
                let b_minus = ex_c / self.stretch(yj - h / 2.0);
                let scale = 1.0 / (h * h);
                let diag = ex_c * ey_c * (k2 * slowness_squared(xi, yj))
                    - (a_plus + a_minus + b_plus + b_minus) * scale;
                triplets.push((row, row, diag));
                for (ni, nj, coef) in [
                    (i + 1, j, a_plus),
                    (i - 1, j, a_minus),
                    (i, j + 1, b_plus),
                    (i, j - 1, b_minus),
                ] {
                    if ni >= 1 && ni < n - 1 && nj >= 1 && nj < n - 1 {
                        triplets.push((row, id(ni, nj), coef * scale));
                    }
                }
                rhs[row] = -self.source_at(xi, yj);
            }
        }
        let matrix =
            SparseColMat::<usize, c64>::try_new_from_triplets(m, m, &triplets).map_err(|e| {
                Error::InvalidInput(format!("cannot assemble the Helmholtz matrix: {e:?}"))
            })?;
        let lu = matrix.sp_lu().map_err(|e| {
            Error::InvalidInput(format!(
                "the Helmholtz matrix could not be factorised: {e:?}"
            ))
        })?;
        let sol = lu.solve(&rhs);
        let mut u = vec![c64::new(0.0, 0.0); n * n];
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                u[i * n + j] = sol[id(i, j)];
            }
        }
        Ok(u)
    }
}

/// Per-point complex coefficients of the PML operator written for a network's derivatives:
/// $L\lbrack u\rbrack = A u_{xx} + A_x u_x + B u_{yy} + B_y u_y + C k^2 s\, u$ (expanding the divergence
/// form), and the source $f$; each as `(re, im)` columns, row-major `(N, 2)`.
#[derive(Clone, Debug, PartialEq)]
pub struct PointCoefficients {
    /// $A$, $\partial_x A$, $B$, $\partial_y B$, $C k^2 s$, $f$, in that order.
    pub terms: [Vec<f64>; 6],
}

impl Helmholtz {
    /// $\frac{d}{dx} e(x)$ for the stretching along one axis.
    fn stretch_derivative(&self, x: f64) -> c64 {
        let depth = (x.abs() - (1.0 - self.pml_width)).max(0.0);
        c64::new(
            0.0,
            -self.a0 * 2.0 * depth * x.signum() / (self.pml_width * self.pml_width),
        )
    }

    /// $1 / C = 1/(e_x e_y)$ at row-major `(x, y)` points, as `(re, im)` pairs: 1 outside the
    /// PML.
    pub fn inverse_stretch_product(&self, points: &[f64]) -> Vec<f64> {
        points
            .chunks(2)
            .flat_map(|p| {
                let c = c64::new(1.0, 0.0) / (self.stretch(p[0]) * self.stretch(p[1]));
                [c.re, c.im]
            })
            .collect()
    }

    /// The coefficients at row-major `(x, y)` points, with squared slowness $s = 1/c^2$.
    pub fn coefficients(
        &self,
        points: &[f64],
        slowness_squared: impl Fn(f64, f64) -> f64,
    ) -> PointCoefficients {
        let mut terms: [Vec<f64>; 6] = Default::default();
        let k2 = self.k * self.k;
        for p in points.chunks(2) {
            let (x, y) = (p[0], p[1]);
            let (ex, ey) = (self.stretch(x), self.stretch(y));
            let (dex, dey) = (self.stretch_derivative(x), self.stretch_derivative(y));
            let a = ey / ex;
            let ax = -(ey * dex) / (ex * ex);
            let b = ex / ey;
            let by = -(ex * dey) / (ey * ey);
            let c = ex * ey * (k2 * slowness_squared(x, y));
            let f = self.source_at(x, y);
            for (t, v) in terms.iter_mut().zip([a, ax, b, by, c, f]) {
                t.push(v.re);
                t.push(v.im);
            }
        }
        PointCoefficients { terms }
    }
}
