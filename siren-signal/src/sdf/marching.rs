//! Marching cubes: the level set $\{x : f(x) = \ell\}$ of values sampled on a regular grid,
//! as a closed, consistently oriented triangle mesh.
//!
//! The case table is built once from first principles instead of being typed in: for each of
//! the 256 inside/outside patterns of a cube's corners, every face with a sign change gets
//! segments between its crossed edges (a face with two diagonal inside corners keeps them
//! apart, a rule that sees only the face's own corners, so neighbouring cubes agree and the
//! surface has no cracks); the segments close into loops, each loop is turned so its normal
//! points from the inside corners to the outside ones, and fanned into triangles. Vertices
//! sit on the crossed edges by linear interpolation and are shared between cubes.

use std::collections::HashMap;
use std::sync::OnceLock;

use siren_core::{Error, Result};

use super::mesh::{cross, dot, sub, Mesh};

/// Corner `c` of the unit cube: bit 0 is x, bit 1 y, bit 2 z.
fn corner(c: usize) -> [f64; 3] {
    [(c & 1) as f64, ((c >> 1) & 1) as f64, ((c >> 2) & 1) as f64]
}

/// The 12 edges as corner pairs (the pairs differing in one bit).
fn edges() -> Vec<(usize, usize)> {
    let mut e = Vec::new();
    for a in 0..8 {
        for bit in [1, 2, 4] {
            if a & bit == 0 {
                e.push((a, a | bit));
            }
        }
    }
    e
}

/// The 6 faces, each as its 4 corners in cyclic order.
const FACES: [[usize; 4]; 6] = [
    [0, 2, 6, 4], // x = 0
    [1, 3, 7, 5], // x = 1
    [0, 1, 5, 4], // y = 0
    [2, 3, 7, 6], // y = 1
    [0, 1, 3, 2], // z = 0
    [4, 5, 7, 6], // z = 1
];

/// For each of the 256 cases, triangles as triples of edge indices.
fn table() -> &'static Vec<Vec<[usize; 3]>> {
    static TABLE: OnceLock<Vec<Vec<[usize; 3]>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let edges = edges();
        let edge_of = |a: usize, b: usize| {
            edges
                .iter()
                .position(|&(p, q)| (p, q) == (a.min(b), a.max(b)))
                .expect("adjacent corners")
        };
        (0..256usize)
            .map(|case| {
                let inside = |c: usize| case >> c & 1 == 1;
                // Segments between crossed edges, face by face.
                let mut links: Vec<Vec<usize>> = vec![Vec::new(); 12];
                for face in FACES {
                    let crossed: Vec<usize> = (0..4)
                        .filter(|&i| inside(face[i]) != inside(face[(i + 1) % 4]))
                        .collect();
                    let pairs: Vec<(usize, usize)> = match crossed.len() {
                        2 => vec![(crossed[0], crossed[1])],
                        4 => {
                            // Diagonal inside corners: cut off each inside corner on its own.
                            let start = if inside(face[1]) { 0 } else { 1 };
                            vec![(start, (start + 1) % 4), ((start + 2) % 4, (start + 3) % 4)]
                        }
                        _ => vec![],
                    };
                    for (i, j) in pairs {
                        let e1 = edge_of(face[i], face[(i + 1) % 4]);
                        let e2 = edge_of(face[j], face[(j + 1) % 4]);
                        links[e1].push(e2);
                        links[e2].push(e1);
                    }
                }
                // Close the segments into loops (every crossed edge has two links).
                let mut used = [false; 12];
                let mut triangles = Vec::new();
                for start in 0..12 {
                    if used[start] || links[start].is_empty() {
                        continue;
                    }
                    let mut lp = vec![start];
                    used[start] = true;
                    let mut prev = start;
                    let mut cur = links[start][0];
                    while cur != start {
                        used[cur] = true;
                        lp.push(cur);
                        let next = if links[cur][0] == prev {
                            links[cur][1]
                        } else {
                            links[cur][0]
                        };
                        prev = cur;
                        cur = next;
                    }
                    // Orient: the loop's normal points from inside corners to outside ones.
                    let mid = |e: usize| {
                        let (a, b) = edges[e];
                        let (p, q) = (corner(a), corner(b));
                        [0, 1, 2].map(|k| (p[k] + q[k]) / 2.0)
                    };
                    let mut normal = [0.0; 3];
                    let mut outward = [0.0; 3];
                    for k in 0..lp.len() {
                        let n = cross(mid(lp[k]), mid(lp[(k + 1) % lp.len()]));
                        let (a, b) = edges[lp[k]];
                        let (i, o) = if inside(a) { (a, b) } else { (b, a) };
                        let d = sub(corner(o), corner(i));
                        for c in 0..3 {
                            normal[c] += n[c];
                            outward[c] += d[c];
                        }
                    }
                    if dot(normal, outward) < 0.0 {
                        lp.reverse();
                    }
                    for k in 1..lp.len() - 1 {
                        triangles.push([lp[0], lp[k], lp[k + 1]]);
                    }
                }
                triangles
            })
            .collect()
    })
}

/// The level set $f = \ell$ of `values`, sampled at `sizes = [nx, ny, nz]` grid points
/// spanning `[lo, hi]` along each axis, `values[(i * ny + j) * nz + k]` at
/// $(x_i, y_j, z_k)$ (the last axis fastest, as [`siren_core::train::grid`]). Points with
/// $f < \ell$ are inside; the triangles face outward.
pub fn marching_cubes(
    values: &[f32],
    sizes: [usize; 3],
    lo: f64,
    hi: f64,
    level: f32,
) -> Result<Mesh> {
    let [nx, ny, nz] = sizes;
    if nx < 2 || ny < 2 || nz < 2 || values.len() != nx * ny * nz {
        return Err(Error::InvalidInput(format!(
            "marching cubes needs at least 2 points per axis and {} values, got {:?} and {}",
            nx * ny * nz,
            sizes,
            values.len()
        )));
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Err(Error::InvalidInput(format!("empty box [{lo}, {hi}]")));
    }
    let table = table();
    let edges = edges();
    let at = |i: usize, j: usize, k: usize| (i * ny + j) * nz + k;
    let pos = |i: usize, n: usize| lo + (hi - lo) * i as f64 / (n - 1) as f64;
    let mut mesh = Mesh::default();
    // A vertex per crossed grid edge, keyed by its lower grid point and axis.
    let mut shared: HashMap<(usize, u8), usize> = HashMap::new();
    for i in 0..nx - 1 {
        for j in 0..ny - 1 {
            for k in 0..nz - 1 {
                let point = |c: usize| (i + (c & 1), j + (c >> 1 & 1), k + (c >> 2 & 1));
                let value = |c: usize| {
                    let (a, b, d) = point(c);
                    values[at(a, b, d)]
                };
                let mut case = 0;
                for c in 0..8 {
                    let v = value(c);
                    if !v.is_finite() {
                        return Err(Error::InvalidInput(
                            "the sampled field holds NaN or infinite values".into(),
                        ));
                    }
                    if v < level {
                        case |= 1 << c;
                    }
                }
                if case == 0 || case == 255 {
                    continue;
                }
                let mut vertex = |e: usize| {
                    let (a, b) = edges[e];
                    let (pa, pb) = (point(a), point(b));
                    let axis = (a ^ b).trailing_zeros() as u8;
                    *shared
                        .entry((at(pa.0, pa.1, pa.2), axis))
                        .or_insert_with(|| {
                            let (va, vb) = (value(a) as f64, value(b) as f64);
                            let t = if vb != va {
                                ((level as f64 - va) / (vb - va)).clamp(0.0, 1.0)
                            } else {
                                0.5
                            };
                            let xa = [pos(pa.0, nx), pos(pa.1, ny), pos(pa.2, nz)];
                            let xb = [pos(pb.0, nx), pos(pb.1, ny), pos(pb.2, nz)];
                            mesh.vertices
                                .push([0, 1, 2].map(|q| xa[q] + t * (xb[q] - xa[q])));
                            mesh.vertices.len() - 1
                        })
                };
                let tris: Vec<[usize; 3]> =
                    table[case].iter().map(|t| t.map(&mut vertex)).collect();
                mesh.faces.extend(
                    tris.into_iter()
                        .filter(|t| t[0] != t[1] && t[1] != t[2] && t[0] != t[2]),
                );
            }
        }
    }
    Ok(mesh)
}
