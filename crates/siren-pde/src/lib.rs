//! # siren-pde
//!
//! PDE problems solved by SIRENs trained only on residuals and initial/boundary conditions —
//! the wave equation $u_{tt} = c^2 \Delta u$, Helmholtz $\Delta u + k^2/c^2\,u = -f$ with a
//! perfectly matched layer, and Poisson — and the classical reference solvers the networks are
//! compared against.
//!
//! Built so far: the reference solvers — leapfrog for the wave equation ([`wave`]) and the
//! PML-stretched 5-point finite differences with a sparse LU for Helmholtz ([`helmholtz`],
//! checked against the Hankel closed form from [`bessel`]). The residual losses, samplers and
//! the network experiments are still to come.

pub mod bessel;
pub mod helmholtz;
pub mod wave;
