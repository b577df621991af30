//! The PCA baseline: a face completed from its context pixels by the training faces'
//! principal components.
//!
//! With the mean training face $\mu \in \mathbb{R}^d$ ($d = 3HW$), the top principal
//! directions $u_1, \dots, u_k$ (orthonormal) and their variances $v_1 \ge \dots \ge v_k$, the
//! face is $\mu + \sum_i a_i u_i$ with $a$ the regularised least-squares fit to the known
//! values $y_r$ (rows $r$ of the $d$ values):
//! $$a = \arg\min_a \lVert U_r a - (y_r - \mu_r) \rVert^2 + \sigma_k^2 \sum_i a_i^2 / v_i
//!   = \big(U_r^\top U_r + \sigma_k^2 V^{-1}\big)^{-1} U_r^\top (y_r - \mu_r),$$
//! the posterior mean of probabilistic PCA (Tipping and Bishop 1999), whose noise level is
//! the mean variance of the discarded directions,
//! $\sigma_k^2 = \big(\operatorname{tr} C - \sum_{i \le k} v_i\big) / (d - k)$ for the
//! training covariance $C$. Only $k$ is free, and it is chosen per context level on the
//! validation faces ([`Pca::choose_rank`]), never on the test faces.
//!
//! The components come from subspace iteration on $C$ with a Rayleigh-Ritz step (Jacobi on
//! the small projected matrix). Because $U$ has orthonormal columns,
//! $U_r^\top U_r = I - U_{\bar r}^\top U_{\bar r}$: a dense context sums over its few unknown
//! rows instead of its many known ones.

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use siren_core::{Error, Result};

use crate::celeba::Faces;
use crate::training::{evaluation_mask, face_mse, summarise, ContextLevel, Errors};

/// Principal components of a set of faces.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Values per face, $d$.
    pub dim: usize,
    /// The mean face, $d$ values in $[-1, 1]$.
    pub mean: Vec<f64>,
    /// $d \times K$ row-major: row $j$ holds value $j$'s loading on each component.
    pub loadings: Vec<f64>,
    /// The $K$ component variances, largest first.
    pub variances: Vec<f64>,
    /// $\operatorname{tr} C$, the faces' total variance.
    pub total_variance: f64,
}

impl Pca {
    /// The top `rank` components of the faces `indices` (subspace iteration from a seeded
    /// start; see the module docs).
    pub fn fit(faces: &Faces, indices: &[usize], rank: usize, seed: u64) -> Result<Self> {
        let d = faces.size * faces.size * 3;
        let n = indices.len();
        if n < 2 {
            return Err(Error::InvalidInput(
                "PCA needs at least two training faces".into(),
            ));
        }
        let rank = rank.clamp(1, d.min(n - 1));
        let mut mean = vec![0.0; d];
        for &i in indices {
            for (m, v) in mean.iter_mut().zip(faces.signed(i)) {
                *m += v / n as f64;
            }
        }
        let mut centred = Vec::with_capacity(n * d);
        for &i in indices {
            centred.extend(faces.signed(i).iter().zip(&mean).map(|(v, m)| v - m));
        }
        let dev = Cpu::default();
        let x: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(centred, (n, d));
        let cov = x.clone().permute::<(usize, usize), Axes2<1, 0>>().matmul(x) * (1.0 / n as f64);
        let cov_host = cov.as_vec();
        let total_variance = (0..d).map(|j| cov_host[j * d + j]).sum();
        // Oversampled block: the directions just past `rank` converge slowest.
        let block = (rank + rank / 2 + 16).min(d);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut q: Vec<f64> = (0..block * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        orthonormalise_rows(&mut q, block, d);
        for _ in 0..30 {
            // Q^T C with Q stored as rows (C is symmetric).
            let qt: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(q, (block, d));
            q = qt.matmul(cov.clone()).as_vec();
            orthonormalise_rows(&mut q, block, d);
        }
        // Rayleigh-Ritz: B = Q^T C Q, B = W diag(l) W^T, components Q W.
        let qt: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(q.clone(), (block, d));
        let b = qt
            .clone()
            .matmul(cov)
            .matmul(qt.clone().permute::<(usize, usize), Axes2<1, 0>>())
            .as_vec();
        let (values, vectors) = symmetric_eigen(b, block);
        let mut order: Vec<usize> = (0..block).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        order.truncate(rank);
        let mut loadings = vec![0.0; d * rank];
        for (c, &e) in order.iter().enumerate() {
            for r in 0..block {
                let w = vectors[r * block + e];
                if w == 0.0 {
                    continue;
                }
                for j in 0..d {
                    loadings[j * rank + c] += w * q[r * d + j];
                }
            }
        }
        let variances = order.iter().map(|&e| values[e].max(0.0)).collect();
        Ok(Self {
            dim: d,
            mean,
            loadings,
            variances,
            total_variance,
        })
    }

    /// Components stored, $K$.
    pub fn rank(&self) -> usize {
        self.variances.len()
    }

    /// $\sigma_k^2$: the mean variance of the directions beyond the first `k`.
    pub fn noise(&self, k: usize) -> f64 {
        let kept: f64 = self.variances[..k].iter().sum();
        ((self.total_variance - kept) / (self.dim - k).max(1) as f64).max(1e-12)
    }

    /// The faces completed from `pixels` (`d` values in $[-1, 1]$, only the known ones read)
    /// with the first `k` components, for each `k` of `ranks`.
    pub fn complete(&self, ranks: &[usize], pixels: &[f64], known: &[bool]) -> Vec<Vec<f64>> {
        let k_max = self.rank();
        let (gram, rhs) = self.normal_equations(pixels, known);
        ranks
            .iter()
            .map(|&k| {
                let k = k.clamp(1, k_max);
                let noise = self.noise(k);
                let mut a = vec![0.0; k * k];
                for i in 0..k {
                    for j in 0..k {
                        a[i * k + j] = gram[i * k_max + j];
                    }
                    a[i * k + i] += noise / self.variances[i].max(1e-12);
                }
                let coef = cholesky_solve(a, rhs[..k].to_vec(), k);
                let mut face = self.mean.clone();
                for (j, f) in face.iter_mut().enumerate() {
                    let row = &self.loadings[j * k_max..j * k_max + k];
                    *f += row.iter().zip(&coef).map(|(u, a)| u * a).sum::<f64>();
                }
                face
            })
            .collect()
    }

    /// $U_r^\top U_r$ ($K \times K$) and $U_r^\top (y_r - \mu_r)$ for the known rows $r$.
    fn normal_equations(&self, pixels: &[f64], known: &[bool]) -> (Vec<f64>, Vec<f64>) {
        let k = self.rank();
        let rows = |want: bool| {
            known
                .iter()
                .enumerate()
                .filter(move |&(_, &is)| is == want)
                .flat_map(|(p, _)| 3 * p..3 * p + 3)
        };
        let known_rows = known.iter().filter(|&&is| is).count() * 3;
        let dense = known_rows * 2 > self.dim;
        let mut gram = vec![0.0; k * k];
        if dense {
            (0..k).for_each(|i| gram[i * k + i] = 1.0);
        }
        let (sign, summed): (f64, Vec<usize>) = if dense {
            (-1.0, rows(false).collect())
        } else {
            (1.0, rows(true).collect())
        };
        for j in summed {
            let u = &self.loadings[j * k..(j + 1) * k];
            for (a, &ua) in u.iter().enumerate() {
                let g = &mut gram[a * k..(a + 1) * k];
                let s = sign * ua;
                for (gb, &ub) in g.iter_mut().zip(u) {
                    *gb += s * ub;
                }
            }
        }
        let mut rhs = vec![0.0; k];
        for j in rows(true) {
            let r = pixels[j] - self.mean[j];
            let u = &self.loadings[j * k..(j + 1) * k];
            rhs.iter_mut().zip(u).for_each(|(b, &ua)| *b += ua * r);
        }
        (gram, rhs)
    }

    /// Errors on `indices` at `level` with `k` components each, for every `k` of `ranks`.
    pub fn errors(
        &self,
        faces: &Faces,
        indices: &[usize],
        level: ContextLevel,
        ranks: &[usize],
        seed: u64,
    ) -> Vec<Errors> {
        let per_face: Vec<Vec<f64>> = indices
            .par_iter()
            .map(|&i| {
                let truth = faces.signed(i);
                let known = evaluation_mask(level, faces.size, seed, i);
                self.complete(ranks, &truth, &known)
                    .iter()
                    .map(|face| face_mse(face, &truth))
                    .collect()
            })
            .collect();
        (0..ranks.len())
            .map(|r| summarise(&per_face.iter().map(|m| m[r]).collect::<Vec<_>>()))
            .collect()
    }

    /// The rank among `ranks` with the lowest MSE on the validation faces at `level`.
    pub fn choose_rank(
        &self,
        faces: &Faces,
        validation: &[usize],
        level: ContextLevel,
        ranks: &[usize],
        seed: u64,
    ) -> usize {
        let errors = self.errors(faces, validation, level, ranks, seed);
        ranks
            .iter()
            .zip(&errors)
            .min_by(|a, b| a.1.mse.total_cmp(&b.1.mse))
            .map(|(&k, _)| k)
            .unwrap_or(1)
    }
}

/// Modified Gram-Schmidt on the `count` rows (length `len`) of `rows`. A row that falls to
/// zero (a rank-deficient block) is left zero.
fn orthonormalise_rows(rows: &mut [f64], count: usize, len: usize) {
    for i in 0..count {
        let (done, rest) = rows.split_at_mut(i * len);
        let row = &mut rest[..len];
        for j in 0..i {
            let prev = &done[j * len..(j + 1) * len];
            let dot: f64 = row.iter().zip(prev).map(|(a, b)| a * b).sum();
            row.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = row.iter().map(|a| a * a).sum::<f64>().sqrt();
        let scale = if norm > 1e-300 { 1.0 / norm } else { 0.0 };
        row.iter_mut().for_each(|a| *a *= scale);
    }
}

/// Eigenvalues and eigenvectors (columns of the `n x n` row-major result) of a symmetric
/// matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    for _sweep in 0..60 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Solves $A x = b$ for a symmetric positive definite `n x n` $A$ (row-major).
fn cholesky_solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(1e-300).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let s: f64 = (0..i).map(|k| a[i * n + k] * b[k]).sum();
        b[i] = (b[i] - s) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[k * n + i] * b[k]).sum();
        b[i] = (b[i] - s) / a[i * n + i];
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense path ($I - U_{\bar r}^\top U_{\bar r}$) against the direct sum over the
    /// known rows.
    #[test]
    fn the_complement_gram_matrix_equals_the_direct_sum() {
        let (d, k) = (12, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut rows: Vec<f64> = (0..k * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        orthonormalise_rows(&mut rows, k, d);
        let mut loadings = vec![0.0; d * k];
        for c in 0..k {
            for j in 0..d {
                loadings[j * k + c] = rows[c * d + j];
            }
        }
        let pca = Pca {
            dim: d,
            mean: vec![0.1; d],
            loadings,
            variances: vec![4.0, 3.0, 2.0, 1.0],
            total_variance: 11.0,
        };
        let known = [true, true, true, false]; // 9 of 12 rows: the dense path
        let pixels: Vec<f64> = (0..d).map(|j| j as f64 / 10.0).collect();
        let (gram, _) = pca.normal_equations(&pixels, &known);
        for a in 0..k {
            for b in 0..k {
                let direct: f64 = (0..9)
                    .map(|j| pca.loadings[j * k + a] * pca.loadings[j * k + b])
                    .sum();
                assert!((gram[a * k + b] - direct).abs() < 1e-12, "{a} {b}");
            }
        }
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let n = 5;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = 1.0 / (1 + i + j) as f64 + if i == j { i as f64 } else { 0.0 };
            }
        }
        let (values, v) = symmetric_eigen(a.clone(), n);
        for e in 0..n {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * v[j * n + e]).sum();
                assert!((av - values[e] * v[i * n + e]).abs() < 1e-10);
            }
        }
    }
}
