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
//!
//! The wave residual $u_{tt} - c^2 \Delta u$ of a SIREN over $(t, x, y)$, with the operator
//! propagated forward through the network as one row per point
//! ([`siren_core::Network::jet_operators`], [`wave::wave_operator`]):
//!
//! ```
//! use dfdx::prelude::*;
//! use siren_core::{Network, NetworkConfig, Parameters};
//! use siren_pde::wave::{wave_operator, wave_residual};
//!
//! let dev = Cpu::default();
//! let net = Network::<f64, Cpu>::new(NetworkConfig::siren(3, 1, 32, 2), 0, &dev)?;
//! // two points (t, x, y)
//! let points = dev.tensor_from_vec(vec![0.1, 0.2, -0.3, 0.5, 0.0, 0.4], (2, 3));
//! let c_squared = [1.0, 0.25];
//! let mut tr = net.recording_tracer();
//! let jet = net.jet_operators(&points, &[wave_operator(&c_squared)], &mut tr)?;
//! let residual = wave_residual(&mut tr, &jet, &c_squared)?;
//! assert_eq!(*residual.shape(), (2, 1));
//! assert!(residual.as_vec().iter().all(|r| r.is_finite() && *r != 0.0));
//! # Ok::<(), siren_core::Error>(())
//! ```

pub mod bessel;
pub mod export;
pub mod helmholtz;
pub mod helmholtz_net;
pub mod medium;
pub mod models;
pub mod wave;
