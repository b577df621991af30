//! # siren-pde (not built yet)
//!
//! Will own the PDE residual losses solved with SIRENs trained only on residuals and
//! initial/boundary conditions: the wave equation
//! $u_{tt} = c^2 \Delta u$, Helmholtz $\Delta u + k^2/c^2\,u = -f$ with a perfectly matched
//! layer, and Poisson; their sampling schemes (time curriculum, points concentrated at the
//! source); and the classical reference solvers (leapfrog finite differences, a PML-stretched
//! 5-point stencil solved by sparse LU) that the networks are compared against.
//!
//! It builds on [`siren_core`]'s forward-propagated input derivatives. Nothing is implemented yet.
