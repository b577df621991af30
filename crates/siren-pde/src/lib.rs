//! # siren-pde
//!
//! PDE problems solved by SIRENs trained only on residuals and initial/boundary conditions —
//! the wave equation $u_{tt} = c^2 \Delta u$, Helmholtz $\Delta u + k^2/c^2\,u = -f$ with a
//! perfectly matched layer, and Poisson — and the classical reference solvers the networks are
//! compared against.
//!
//! Built so far: the reference solvers — leapfrog for the wave equation ([`wave::reference`])
//! and PML-stretched 5-point finite differences with a sparse LU for Helmholtz
//! ([`helmholtz`], checked against the Hankel closed form from [`bessel`]) — the residuals and
//! losses a network trains on ([`wave::wave_residual`], [`helmholtz_net::helmholtz_residual`]),
//! the seed's samplers, training loops with errors against the references, and the export of
//! grids and fields ([`export`]; written as HDF5 with the `hdf5` feature).

pub mod bessel;
pub mod export;
pub mod helmholtz;
pub mod helmholtz_net;
pub mod models;
pub mod wave;
