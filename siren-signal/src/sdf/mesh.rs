//! Triangle meshes: Wavefront OBJ in and out, PLY out, area, enclosed volume, and
//! area-weighted surface samples with face normals.

use std::path::Path;

use rand::Rng;
use siren_core::{Error, Result};

/// A triangle mesh; faces list vertex indices counter-clockwise seen from outside.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions.
    pub vertices: Vec<[f64; 3]>,
    /// Triangles as vertex indices.
    pub faces: Vec<[usize; 3]>,
}

/// Most vertices or faces read from a file.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// Largest mesh or point-cloud file read (4 GB).
pub const MAX_FILE_BYTES: u64 = 1 << 32;

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn unit(a: [f64; 3]) -> [f64; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        [0.0; 3]
    }
}

impl Mesh {
    /// Reads the `v x y z` and `f a b c ...` lines of an OBJ file (1-based or negative
    /// indices, `a/t/n` forms; polygons are fanned into triangles; other lines are skipped).
    pub fn open_obj(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        siren_core::io::check_input_file(path, "OBJ mesh", MAX_FILE_BYTES)?;
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "cannot read the mesh",
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |line: usize, reason: String| Error::BadFile {
            path: path.to_path_buf(),
            what: "OBJ mesh",
            reason: format!("line {line}: {reason}"),
        };
        let mut mesh = Mesh::default();
        for (i, line) in text.lines().enumerate() {
            let mut parts = line.split_whitespace();
            match parts.next() {
                Some("v") => {
                    let xyz: Vec<f64> = parts
                        .take(3)
                        .map(|p| p.parse::<f64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| bad(i + 1, format!("bad vertex coordinate ({e})")))?;
                    if xyz.len() != 3 || xyz.iter().any(|v| !v.is_finite()) {
                        return Err(bad(i + 1, "a vertex needs three finite coordinates".into()));
                    }
                    mesh.vertices.push([xyz[0], xyz[1], xyz[2]]);
                }
                Some("f") => {
                    let n = mesh.vertices.len() as i64;
                    let idx: Vec<usize> = parts
                        .map(|p| {
                            let k: i64 = p
                                .split('/')
                                .next()
                                .unwrap_or("")
                                .parse()
                                .map_err(|_| bad(i + 1, format!("bad face index {p:?}")))?;
                            let k = if k < 0 { n + k } else { k - 1 };
                            if (0..n).contains(&k) {
                                Ok(k as usize)
                            } else {
                                Err(bad(
                                    i + 1,
                                    format!("face index {p} is not one of the {n} vertices so far"),
                                ))
                            }
                        })
                        .collect::<Result<_>>()?;
                    if idx.len() < 3 {
                        return Err(bad(i + 1, "a face needs at least three vertices".into()));
                    }
                    for k in 1..idx.len() - 1 {
                        mesh.faces.push([idx[0], idx[k], idx[k + 1]]);
                    }
                }
                _ => {}
            }
            if mesh.vertices.len() > MAX_ELEMENTS || mesh.faces.len() > MAX_ELEMENTS {
                return Err(bad(
                    i + 1,
                    format!("more than {MAX_ELEMENTS} vertices or faces"),
                ));
            }
        }
        if mesh.faces.is_empty() {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                what: "OBJ mesh",
                reason: "it has no faces (`f` lines)".into(),
            });
        }
        Ok(mesh)
    }

    /// Writes an OBJ file atomically.
    pub fn save_obj(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut s = String::with_capacity(self.vertices.len() * 40 + self.faces.len() * 24);
        for v in &self.vertices {
            s += &format!("v {} {} {}\n", v[0], v[1], v[2]);
        }
        for f in &self.faces {
            s += &format!("f {} {} {}\n", f[0] + 1, f[1] + 1, f[2] + 1);
        }
        siren_core::io::write_atomic(path.as_ref(), s.as_bytes())
    }

    /// Writes an ASCII PLY file atomically.
    pub fn save_ply(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut s = format!(
            "ply\nformat ascii 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
            self.vertices.len(),
            self.faces.len()
        );
        for v in &self.vertices {
            s += &format!("{} {} {}\n", v[0], v[1], v[2]);
        }
        for f in &self.faces {
            s += &format!("3 {} {} {}\n", f[0], f[1], f[2]);
        }
        siren_core::io::write_atomic(path.as_ref(), s.as_bytes())
    }

    /// The corners of face `f`.
    pub fn corners(&self, f: usize) -> [[f64; 3]; 3] {
        self.faces[f].map(|i| self.vertices[i])
    }

    /// Twice the area times the unit normal of face `f` (the cross product of its edges).
    pub fn face_cross(&self, f: usize) -> [f64; 3] {
        let [a, b, c] = self.corners(f);
        cross(sub(b, a), sub(c, a))
    }

    /// Total surface area.
    pub fn area(&self) -> f64 {
        (0..self.faces.len())
            .map(|f| dot(self.face_cross(f), self.face_cross(f)).sqrt() / 2.0)
            .sum()
    }

    /// Signed enclosed volume $\frac16 \sum_f a \cdot (b \times c)$ (positive for a closed
    /// mesh whose faces are counter-clockwise seen from outside).
    pub fn volume(&self) -> f64 {
        (0..self.faces.len())
            .map(|f| {
                let [a, b, c] = self.corners(f);
                dot(a, cross(b, c)) / 6.0
            })
            .sum()
    }

    /// Centre and half-extent of the bounding box.
    pub fn bounds(&self) -> ([f64; 3], f64) {
        bounds(&self.vertices)
    }

    /// The mesh moved and scaled uniformly so its bounding box is centred at 0 with its
    /// largest half-extent `extent`.
    pub fn normalised(&self, extent: f64) -> Result<Self> {
        Ok(Self {
            vertices: normalised(&self.vertices, extent)?,
            faces: self.faces.clone(),
        })
    }

    /// `count` points drawn uniformly on the surface (faces by area, then uniformly within
    /// the face), each with its face's unit normal.
    pub fn sample_surface(&self, count: usize, rng: &mut impl Rng) -> Vec<([f64; 3], [f64; 3])> {
        let mut cumulative = Vec::with_capacity(self.faces.len());
        let mut total = 0.0;
        for f in 0..self.faces.len() {
            total += dot(self.face_cross(f), self.face_cross(f)).sqrt();
            cumulative.push(total);
        }
        (0..count)
            .map(|_| {
                let r = rng.gen::<f64>() * total;
                let f = cumulative
                    .partition_point(|&c| c < r)
                    .min(self.faces.len() - 1);
                let [a, b, c] = self.corners(f);
                let (mut u, mut v) = (rng.gen::<f64>(), rng.gen::<f64>());
                if u + v > 1.0 {
                    (u, v) = (1.0 - u, 1.0 - v);
                }
                let p = [0, 1, 2].map(|k| a[k] + u * (b[k] - a[k]) + v * (c[k] - a[k]));
                (p, unit(self.face_cross(f)))
            })
            .collect()
    }
}

/// Centre and largest half-extent of the bounding box of `points`.
pub(crate) fn bounds(points: &[[f64; 3]]) -> ([f64; 3], f64) {
    let mut lo = [f64::MAX; 3];
    let mut hi = [f64::MIN; 3];
    for v in points {
        for k in 0..3 {
            lo[k] = lo[k].min(v[k]);
            hi[k] = hi[k].max(v[k]);
        }
    }
    let centre = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    let half = (0..3).map(|k| (hi[k] - lo[k]) / 2.0).fold(0.0, f64::max);
    (centre, half)
}

/// `points` moved and scaled uniformly so their bounding box is centred at 0 with largest
/// half-extent `extent`.
pub(crate) fn normalised(points: &[[f64; 3]], extent: f64) -> Result<Vec<[f64; 3]>> {
    let (c, half) = bounds(points);
    if half <= 0.0 || !half.is_finite() {
        return Err(Error::InvalidInput(
            "the shape has no extent (all its points coincide)".into(),
        ));
    }
    let s = extent / half;
    Ok(points
        .iter()
        .map(|v| [0, 1, 2].map(|k| (v[k] - c[k]) * s))
        .collect())
}
