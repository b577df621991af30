//! # siren-pde
//!
//! PDE problems solved by SIRENs trained only on residuals and initial/boundary conditions —
//! the wave equation $u_{tt} = c^2 \Delta u$, Helmholtz $\Delta u + k^2/c^2\,u = -f$ with a
//! perfectly matched layer, and Poisson — and the classical reference solvers the networks are
//! compared against.
//!
//! Built so far: the leapfrog reference solver of the wave equation ([`wave`]). The residual
//! losses, samplers, the Helmholtz reference solver and the experiments are still to come.

pub mod wave;
