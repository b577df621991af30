//! Signed distance functions: a SIREN $\phi: \mathbb{R}^3 \to \mathbb{R}$ fitted to an
//! oriented point cloud $\{(x_i, n_i)\}$ so that its zero level set is the surface.
//!
//! The loss is the original code's (paper Section 4.2), on a batch of $N$ surface points
//! $\Omega_0$ and $N$ points $\Omega$ uniform in $[-1, 1]^3$, each term averaged over all
//! $2N$ points (so the surface terms count half):
//! $$\mathcal{L} = 3000\, \overline{|\phi|}_{\Omega_0} +
//!   100\, \overline{1 - \cos(\nabla\phi, n)}_{\Omega_0} +
//!   50\, \overline{\big|\, \lVert \nabla\phi \rVert - 1 \big|}_{\Omega_0 \cup \Omega} +
//!   100\, \overline{e^{-100 |\phi|}}_{\Omega},$$
//! the last keeping the zero set off the empty space, the Eikonal term making $\phi$ a
//! distance. $\nabla\phi$ comes from [`siren_core::Network::jet`] with
//! [`siren_core::Order::Gradient`] (carried forward, one reverse pass for the weights). As in
//! the original, gradients are clipped to norm 1.
//!
//! The surface is then extracted with [`marching_cubes`] on a grid of any resolution,
//! compared with the input mesh ([`surface_distance`]) and drawn ([`shade`]).

mod compare;
mod marching;
mod mesh;
mod shade;

use std::path::Path;

use dfdx::prelude::*;
use rand::SeedableRng;
use siren_core::train::{step_rng, to_matrix, train_step_clipped, uniform_points, TrainTracer};
use siren_core::Backend;
use siren_core::{Error, Float, Jet, Network, Order, Result};

use crate::fit::{predict_points, run_fit, Fitted, SignalConfig, StepRecord};

pub use compare::{sample_distance, surface_distance, NearestPoints, Samples, SurfaceDistance};
pub use marching::marching_cubes;
pub use mesh::{Mesh, MAX_ELEMENTS, MAX_FILE_BYTES};
pub use shade::shade;

/// Points on a surface with their outward unit normals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrientedPoints {
    /// Positions.
    pub points: Vec<[f64; 3]>,
    /// Unit normals, one per point.
    pub normals: Vec<[f64; 3]>,
}

impl OrientedPoints {
    /// `count` area-weighted samples of `mesh` with its face normals, turned outward if the
    /// faces wind the other way (negative enclosed volume).
    pub fn from_mesh(mesh: &Mesh, count: usize, seed: u64) -> Self {
        let flip = if mesh.volume() < 0.0 { -1.0 } else { 1.0 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (points, normals) = mesh
            .sample_surface(count, &mut rng)
            .into_iter()
            .map(|(p, n)| (p, n.map(|v| v * flip)))
            .unzip();
        Self { points, normals }
    }

    /// Reads the original code's `.xyz` format: one `x y z nx ny nz` line per point.
    pub fn open_xyz(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        siren_core::io::check_input_file(path, "point cloud", MAX_FILE_BYTES)?;
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "cannot read the point cloud",
            path: path.to_path_buf(),
            source,
        })?;
        let mut cloud = Self::default();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|p| p.parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .ok()
                .filter(|v: &Vec<f64>| v.len() == 6 && v.iter().all(|x| x.is_finite()))
                .ok_or_else(|| Error::BadFile {
                    path: path.to_path_buf(),
                    what: "point cloud",
                    reason: format!(
                        "line {}: expected six finite numbers `x y z nx ny nz`",
                        i + 1
                    ),
                })?;
            let n = mesh::unit([v[3], v[4], v[5]]);
            if n == [0.0; 3] {
                return Err(Error::BadFile {
                    path: path.to_path_buf(),
                    what: "point cloud",
                    reason: format!("line {}: the normal is zero", i + 1),
                });
            }
            cloud.points.push([v[0], v[1], v[2]]);
            cloud.normals.push(n);
            if cloud.points.len() > MAX_ELEMENTS {
                return Err(Error::InvalidInput(format!(
                    "{} holds more than {MAX_ELEMENTS} points",
                    path.display()
                )));
            }
        }
        if cloud.points.is_empty() {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                what: "point cloud",
                reason: "it holds no points".into(),
            });
        }
        Ok(cloud)
    }

    /// Centre and half-extent of the bounding box.
    pub fn bounds(&self) -> ([f64; 3], f64) {
        mesh::bounds(&self.points)
    }

    /// The cloud moved and scaled so its bounding box is centred at 0 with largest
    /// half-extent `extent`.
    pub fn normalised(&self, extent: f64) -> Result<Self> {
        Ok(Self {
            points: mesh::normalised(&self.points, extent)?,
            normals: self.normals.clone(),
        })
    }
}

/// The weights of the SDF loss's four terms (the original code's by default).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SdfWeights {
    /// $|\phi|$ on the surface.
    pub surface: f64,
    /// $1 - \cos(\nabla\phi, n)$ on the surface.
    pub normal: f64,
    /// $|\lVert\nabla\phi\rVert - 1|$ everywhere.
    pub eikonal: f64,
    /// $e^{-100|\phi|}$ off the surface.
    pub off_surface: f64,
}

impl Default for SdfWeights {
    fn default() -> Self {
        Self {
            surface: 3e3,
            normal: 1e2,
            eikonal: 5e1,
            off_surface: 1e2,
        }
    }
}

/// The SDF loss of the module docs on a jet over `on` surface points (first) and off-surface
/// points (after them), with the surface normals `normals` (`(3, N, 1)`, zero rows off the
/// surface). Needs the gradient.
pub fn sdf_loss<E: Float, D: Backend<E>>(
    tr: &mut TrainTracer<E, D>,
    jet: &Jet<E, D>,
    on: usize,
    normals: &Tensor<(usize, usize, usize), E, D>,
    weights: &SdfWeights,
) -> Result<Tensor<(), E, D>> {
    let g = jet.gradient.clone().ok_or_else(|| {
        Error::InvalidInput("the SDF loss needs the gradient (Order::Gradient)".into())
    })?;
    let n = jet.value.shape().0;
    let dev = jet.value.device().clone();
    let mask_on: Vec<E> = (0..n)
        .map(|i| E::of(if i < on { 1.0 } else { 0.0 }))
        .collect();
    let on_mask = dev.tensor_from_vec(mask_on.clone(), (n, 1));
    let off_mask = dev.tensor_from_vec(mask_on.iter().map(|&m| E::of(1.0) - m).collect(), (n, 1));
    let mean = E::of(1.0 / n as f64);
    let surface = tr.apply(jet.value.clone(), |v| {
        (v.abs() * on_mask.clone()).sum::<(), _>() * mean
    });
    let off = tr.apply(jet.value.clone(), |v| {
        ((v.abs() * E::of(-100.0)).exp() * off_mask).sum::<(), _>() * mean
    });
    let norm = tr.apply(g.clone(), |g| {
        (g.square().sum::<(usize, usize), Axis<0>>() + E::of(1e-12)).sqrt()
    });
    let eikonal = tr.apply(norm.clone(), |m| {
        (m - E::of(1.0)).abs().sum::<(), _>() * mean
    });
    let normals = normals.clone();
    let dot = tr.apply(g, |g| (g * normals).sum::<(usize, usize), Axis<0>>());
    // cos = g.n / |g| with |n| = 1 (|g| >= 1e-6 by the epsilon above, where PyTorch's
    // cosine_similarity floors |g||n| at 1e-8).
    let cos = tr.apply2(dot, norm, |d, m| d / m);
    let normal = tr.apply(cos, |c| {
        ((c * E::of(-1.0) + E::of(1.0)) * on_mask).sum::<(), _>() * mean
    });
    let w = |x: f64| E::of(x);
    let a = tr.apply2(surface, normal, |s, nrm| {
        s * w(weights.surface) + nrm * w(weights.normal)
    });
    let b = tr.apply2(eikonal, off, |e, o| {
        e * w(weights.eikonal) + o * w(weights.off_surface)
    });
    Ok(tr.apply2(a, b, |a, b| a + b))
}

/// Fits an SDF to `cloud` (already inside $[-1, 1]^3$): each step takes `config.batch` surface
/// points (default 1400, the original's) and as many uniform in the box. The logged metric is
/// the mean $|\phi|$ over a fixed set of 4096 surface points.
pub fn fit_sdf<E: Float, D: Backend<E>>(
    cloud: &OrientedPoints,
    config: &SignalConfig,
    weights: &SdfWeights,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate(3, 1)?;
    let total = cloud.points.len();
    if total == 0 {
        return Err(Error::InvalidInput("the point cloud is empty".into()));
    }
    let (_, half) = cloud.bounds();
    if half > 1.0 + 1e-9 {
        return Err(Error::InvalidInput(
            "the points must lie in [-1, 1]^3: normalise them first".into(),
        ));
    }
    let on = config.batch.unwrap_or(1400).min(total);
    config.check_step_memory(2 * on, 4)?;
    let probe: Vec<f64> =
        rand::seq::index::sample(&mut step_rng(config.seed, 0), total, total.min(4096))
            .into_iter()
            .flat_map(|i| cloud.points[i])
            .collect();
    // Held-out surface points (none without `config.validation`): |phi| there is the
    // validation measure.
    let held: Vec<f64> = (0..total)
        .filter(|&i| config.held_out(i))
        .take(4096)
        .flat_map(|i| cloud.points[i])
        .collect();
    let data = format!(
        "sdf {} {:016x}",
        total,
        siren_core::io::fnv1a(
            &cloud
                .points
                .iter()
                .flatten()
                .step_by(7)
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
        )
    );
    let weights = *weights;
    run_fit(
        config,
        3,
        1,
        &data,
        device,
        |s, network, adam| {
            let mut rng = step_rng(config.seed, s);
            let idx = config.training_sample(&mut rng, total, on);
            let on = idx.len();
            let mut x: Vec<f64> = idx.iter().flat_map(|&i| cloud.points[i]).collect();
            x.extend(uniform_points(&mut rng, on, &[-1.0; 3], &[1.0; 3]));
            // Normals as (3, 2 on, 1): coordinate-major, zero off the surface.
            let mut nrm = vec![E::of(0.0); 3 * 2 * on];
            for (row, &i) in idx.iter().enumerate() {
                for k in 0..3 {
                    nrm[k * 2 * on + row] = E::of(cloud.normals[i][k]);
                }
            }
            let normals = device.tensor_from_vec(nrm, (3, 2 * on, 1));
            let x = to_matrix::<E, D>(device, &x, 3);
            train_step_clipped(network, adam, Some(1.0), |net, tr| {
                let jet = net.jet(&x, Order::Gradient, tr)?;
                sdf_loss(tr, &jet, on, &normals, &weights)
            })
        },
        |network| {
            let mean_abs = |points: &[f64]| -> Result<f64> {
                let v = predict_points(network, points, 4096)?;
                Ok(v.iter().map(|x| x.abs() as f64).sum::<f64>() / v.len() as f64)
            };
            let validation = if held.is_empty() {
                None
            } else {
                Some(mean_abs(&held)?)
            };
            Ok((mean_abs(&probe)?, validation))
        },
        observe,
    )
}

/// $\phi$ on a `resolution`$^3$ grid over $[-1, 1]^3$, the last axis fastest.
pub fn sample_grid<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    resolution: usize,
) -> Result<Vec<f32>> {
    if resolution < 2 {
        return Err(Error::InvalidInput(
            "the grid needs at least 2 points per axis".into(),
        ));
    }
    siren_core::device::check_memory(
        (resolution as u128).pow(3) * 40,
        &format!("a {resolution}^3 grid"),
        "give a smaller --resolution",
    )?;
    // One slab of x at a time, so the coordinates never exist all at once.
    let slab = siren_core::train::grid(&[resolution, resolution]);
    let mut out = Vec::with_capacity(resolution.pow(3));
    for i in 0..resolution {
        let x = 2.0 * i as f64 / (resolution - 1) as f64 - 1.0;
        let coords: Vec<f64> = slab.chunks(2).flat_map(|yz| [x, yz[0], yz[1]]).collect();
        out.extend(predict_points(network, &coords, 1 << 14)?);
    }
    Ok(out)
}

/// The zero level set of `network` by marching cubes on a `resolution`$^3$ grid over
/// $[-1, 1]^3$.
pub fn extract_mesh<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    resolution: usize,
) -> Result<Mesh> {
    let values = sample_grid(network, resolution)?;
    marching_cubes(&values, [resolution; 3], -1.0, 1.0, 0.0)
}
