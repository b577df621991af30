//! Comparing two surfaces through point samples, as Occupancy Networks (Mescheder et al.
//! 2019) do: with $A$, $B$ sampled on the two meshes (area-weighted, with face normals),
//! $$\mathrm{CD} = \tfrac12 \Big( \tfrac{1}{|A|} \sum_{a} \min_b \lVert a - b \rVert +
//!   \tfrac{1}{|B|} \sum_{b} \min_a \lVert a - b \rVert \Big),$$
//! its two halves (accuracy: the first surface to the second; completeness: back), and the
//! normal consistency, the mean of $|n_a \cdot n_{b(a)}|$ over both directions,
//! $b(a)$ the nearest sample of the other surface.

use rand::SeedableRng;
use siren_core::{Error, Result};

use super::mesh::{dot, sub, Mesh};

/// A k-d tree over points, for nearest-neighbour queries.
pub struct NearestPoints {
    points: Vec<[f64; 3]>,
    // Node order: each subtree a contiguous range, split at its median on `axis`.
    order: Vec<usize>,
}

impl NearestPoints {
    /// Builds the tree.
    pub fn new(points: Vec<[f64; 3]>) -> Self {
        let mut order: Vec<usize> = (0..points.len()).collect();
        fn build(points: &[[f64; 3]], idx: &mut [usize], depth: usize) {
            if idx.len() <= 1 {
                return;
            }
            let axis = depth % 3;
            let mid = idx.len() / 2;
            idx.select_nth_unstable_by(mid, |&a, &b| points[a][axis].total_cmp(&points[b][axis]));
            let (left, right) = idx.split_at_mut(mid);
            build(points, left, depth + 1);
            build(points, &mut right[1..], depth + 1);
        }
        build(&points, &mut order, 0);
        Self { points, order }
    }

    /// The index of the point nearest `q` and its distance.
    pub fn nearest(&self, q: [f64; 3]) -> (usize, f64) {
        fn search(
            t: &NearestPoints,
            idx: &[usize],
            depth: usize,
            q: [f64; 3],
            best: &mut (usize, f64),
        ) {
            if idx.is_empty() {
                return;
            }
            let mid = idx.len() / 2;
            let p = t.points[idx[mid]];
            let d = sub(p, q);
            let d2 = dot(d, d);
            if d2 < best.1 {
                *best = (idx[mid], d2);
            }
            let axis = depth % 3;
            let diff = q[axis] - p[axis];
            let (near, far) = if diff < 0.0 {
                (&idx[..mid], &idx[mid + 1..])
            } else {
                (&idx[mid + 1..], &idx[..mid])
            };
            search(t, near, depth + 1, q, best);
            if diff * diff < best.1 {
                search(t, far, depth + 1, q, best);
            }
        }
        let mut best = (0, f64::INFINITY);
        search(self, &self.order, 0, q, &mut best);
        (best.0, best.1.sqrt())
    }
}

/// Chamfer distance and normal consistency of two meshes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SurfaceDistance {
    /// The symmetric mean nearest-sample distance (see the module docs).
    pub chamfer: f64,
    /// Mean distance from the first surface's samples to the second (accuracy, when the
    /// first is the fit: ghost surfaces far from the truth raise it).
    pub accuracy: f64,
    /// Mean distance from the second surface's samples to the first (completeness, when the
    /// second is the truth: parts of the truth the fit misses raise it).
    pub completeness: f64,
    /// Mean $|n_a \cdot n_b|$ over nearest pairs, both directions (1 is perfect).
    pub normal_consistency: f64,
}

/// Oriented samples of a surface: positions with unit normals.
pub type Samples = [([f64; 3], [f64; 3])];

/// Compares `a` and `b` with `count` samples on each (seeded).
pub fn surface_distance(a: &Mesh, b: &Mesh, count: usize, seed: u64) -> Result<SurfaceDistance> {
    if a.faces.is_empty() || b.faces.is_empty() || count == 0 {
        return Err(Error::InvalidInput(
            "comparing surfaces needs two meshes with faces and at least one sample".into(),
        ));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let sa = a.sample_surface(count, &mut rng);
    let sb = b.sample_surface(count, &mut rng);
    sample_distance(&sa, &sb)
}

/// The distances of [`SurfaceDistance`] between two sets of oriented samples (e.g. a mesh's
/// and an input point cloud's).
pub fn sample_distance(sa: &Samples, sb: &Samples) -> Result<SurfaceDistance> {
    if sa.is_empty() || sb.is_empty() {
        return Err(Error::InvalidInput(
            "comparing surfaces needs samples on both".into(),
        ));
    }
    let one_way = |from: &Samples, to: &Samples| {
        let tree = NearestPoints::new(to.iter().map(|p| p.0).collect());
        let (mut dist, mut normal) = (0.0, 0.0);
        for (p, n) in from {
            let (j, d) = tree.nearest(*p);
            dist += d;
            normal += dot(*n, to[j].1).abs();
        }
        (dist / from.len() as f64, normal / from.len() as f64)
    };
    let (dab, nab) = one_way(sa, sb);
    let (dba, nba) = one_way(sb, sa);
    Ok(SurfaceDistance {
        chamfer: (dab + dba) / 2.0,
        accuracy: dab,
        completeness: dba,
        normal_consistency: (nab + nba) / 2.0,
    })
}
