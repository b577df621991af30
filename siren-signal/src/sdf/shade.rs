//! A shaded picture of a mesh: orthographic view after turning it by a yaw and a pitch, a
//! depth buffer, smooth (vertex-normal) Lambert shading from a light over the viewer's
//! shoulder. Enough to see a surface's shape and its defects, with no GPU or window.

use super::mesh::{cross, dot, sub, unit, Mesh};

/// Renders `mesh` into a `size` x `size` RGB picture (bytes, row-major), fitting the box
/// $[-\text{extent}, \text{extent}]^3$ to the frame, turned by `yaw` about the vertical
/// axis (y) and then `pitch` about the horizontal one (radians).
pub fn shade(mesh: &Mesh, size: usize, extent: f64, yaw: f64, pitch: f64) -> Vec<u8> {
    let (cy, sy, cp, sp) = (yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin());
    let turn = |v: [f64; 3]| {
        let x = cy * v[0] + sy * v[2];
        let z = -sy * v[0] + cy * v[2];
        [x, cp * v[1] - sp * z, sp * v[1] + cp * z]
    };
    let vertices: Vec<[f64; 3]> = mesh.vertices.iter().map(|&v| turn(v)).collect();
    let mut normals = vec![[0.0f64; 3]; vertices.len()];
    for f in &mesh.faces {
        let n = cross(
            sub(vertices[f[1]], vertices[f[0]]),
            sub(vertices[f[2]], vertices[f[0]]),
        );
        for &i in f {
            for k in 0..3 {
                normals[i][k] += n[k];
            }
        }
    }
    let light = unit([-0.4, 0.6, 1.0]);
    let s = size as f64;
    // Screen: x right, y up, the viewer on the +z side.
    let to_screen = |v: [f64; 3]| {
        [
            (v[0] / extent + 1.0) / 2.0 * s,
            (1.0 - v[1] / extent) / 2.0 * s,
            v[2],
        ]
    };
    let screen: Vec<[f64; 3]> = vertices.iter().map(|&v| to_screen(v)).collect();
    let mut depth = vec![f64::NEG_INFINITY; size * size];
    let mut rgb = vec![255u8; size * size * 3];
    for f in &mesh.faces {
        let [a, b, c] = f.map(|i| screen[i]);
        let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area.abs() < 1e-12 {
            continue;
        }
        let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0) as usize;
        let x1 = (a[0].max(b[0]).max(c[0]).ceil() as usize).min(size.saturating_sub(1));
        let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0) as usize;
        let y1 = (a[1].max(b[1]).max(c[1]).ceil() as usize).min(size.saturating_sub(1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let w0 = ((b[0] - px) * (c[1] - py) - (b[1] - py) * (c[0] - px)) / area;
                let w1 = ((c[0] - px) * (a[1] - py) - (c[1] - py) * (a[0] - px)) / area;
                let w2 = 1.0 - w0 - w1;
                if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                    continue;
                }
                let z = w0 * a[2] + w1 * b[2] + w2 * c[2];
                let p = y * size + x;
                if z <= depth[p] {
                    continue;
                }
                depth[p] = z;
                let [na, nb, nc] = f.map(|i| normals[i]);
                let mut n = unit([0, 1, 2].map(|k| w0 * na[k] + w1 * nb[k] + w2 * nc[k]));
                if n[2] < 0.0 {
                    // A back face seen through a hole: shade it as seen.
                    n = n.map(|v| -v);
                }
                let l = 0.15 + 0.85 * dot(n, light).max(0.0);
                let base = [0.72, 0.78, 0.9];
                for k in 0..3 {
                    rgb[p * 3 + k] = (255.0 * base[k] * l).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    rgb
}
