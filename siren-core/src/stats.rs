//! Distribution checks for the initialisation theory: Kolmogorov-Smirnov statistics and the
//! laws a freshly initialised SIREN's signals should follow.
//!
//! # What the theory predicts, exactly
//! A hidden sine layer with fan-in $n$ computes $z = \omega_0 (W h + b)$ with
//! $W_{ij} \sim U(-c, c)$, $c = \sqrt{6/n}/\omega_0$, so $\operatorname{Var}(\omega_0 W_{ij}) = 2/n$
//! and, by the central limit theorem, $z \approx N(0, v)$ with
//! $$v = 2\,\mathbb{E}[h^2] + v_b,$$
//! where $v_b$ is the variance of $\omega_0 b$. The paper takes $h$ arcsine-distributed,
//! $\mathbb{E}[h^2] = 1/2$, giving $z \sim N(0, 1)$. That holds after the first layer, whose
//! argument spans many periods. But $\sin$ of $N(0, v)$ is not exactly arcsine:
//! $\mathbb{E}[\sin^2 z] = (1 - e^{-2v})/2$, so deeper layers follow
//! $$v_{l+1} = 1 - e^{-2 v_l} + v_b,$$
//! which settles near $v^* \approx 0.80$ (for $v_b \to 0$) within a few layers and then stays:
//! the statistics do not drift with depth, but they sit slightly off the paper's idealised
//! $N(0,1)$ and arcsine laws. [`preactivation_variances`] gives the exact recursion and
//! [`sine_of_normal_cdf`] the exact law of $\sin z$, so tests can check both the exact theory
//! and the paper's approximation with its modelling error made explicit.

use std::f64::consts::PI;

/// Standard normal CDF $\Phi(x)$.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Arcsine law on $[-1, 1]$: $F(y) = 1/2 + \arcsin(y)/\pi$.
pub fn arcsine_cdf(y: f64) -> f64 {
    0.5 + y.clamp(-1.0, 1.0).asin() / PI
}

/// CDF of $\sin Z$ with $Z \sim N(0, v)$, summed exactly over the periods of $\sin$:
/// $\sin z \le y$ on $[\pi - \arcsin y + 2\pi k,\ 2\pi + \arcsin y + 2\pi k]$.
pub fn sine_of_normal_cdf(y: f64, variance: f64) -> f64 {
    if y >= 1.0 {
        return 1.0;
    }
    if y <= -1.0 {
        return 0.0;
    }
    let s = variance.sqrt();
    let a = y.asin();
    let reach = (12.0 * s / (2.0 * PI)).ceil() as i64 + 2;
    (-reach..=reach)
        .map(|k| {
            let k = k as f64;
            normal_cdf((2.0 * PI * (k + 1.0) + a) / s) - normal_cdf((PI * (2.0 * k + 1.0) - a) / s)
        })
        .sum()
}

/// Variance of the pre-activation $\omega_0(Wh+b)$ at hidden layers $1, \ldots, L$ of a SIREN,
/// from $v_1 = 2\,\mathbb{E}[h_0^2] + v_b$ and $v_{l+1} = 1 - e^{-2v_l} + v_b$.
///
/// `first_m2` is $\mathbb{E}[h_0^2]$ of the first layer's output (1/2 for arcsine);
/// `bias_variance` is $v_b$ ($2/n$ with this crate's bias init).
pub fn preactivation_variances(first_m2: f64, bias_variance: f64, layers: usize) -> Vec<f64> {
    let mut v = 2.0 * first_m2 + bias_variance;
    let mut out = Vec::with_capacity(layers);
    for _ in 0..layers {
        out.push(v);
        v = 1.0 - (-2.0 * v).exp() + bias_variance;
    }
    out
}

/// One-sample Kolmogorov-Smirnov statistic $\sup_x |F_n(x) - F(x)|$. Sorts `samples`.
pub fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            ((i + 1) as f64 / n - f).max(f - i as f64 / n)
        })
        .fold(0.0, f64::max)
}

/// Two-sample Kolmogorov-Smirnov statistic $\sup_x |F_a(x) - F_b(x)|$. Sorts both.
pub fn ks_two_sample(a: &mut [f64], b: &mut [f64]) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// Critical value of the one-sample KS statistic at level `alpha` for `n` samples, from the
/// asymptotic Kolmogorov distribution: $\sqrt{\ln(2/\alpha)/2}/\sqrt{n}$.
pub fn ks_critical(n: usize, alpha: f64) -> f64 {
    ((2.0 / alpha).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// Critical value of the two-sample KS statistic at level `alpha` for sizes `n` and `m`.
pub fn ks_critical_two_sample(n: usize, m: usize, alpha: f64) -> f64 {
    let (n, m) = (n as f64, m as f64);
    ((2.0 / alpha).ln() / 2.0).sqrt() * ((n + m) / (n * m)).sqrt()
}

/// $\sup_x |F(x) - G(x)|$ over a fine grid of `[lo, hi]`: the KS distance between two laws.
pub fn ks_distance(f: impl Fn(f64) -> f64, g: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    let steps = 20_000;
    (0..=steps)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / steps as f64;
            (f(x) - g(x)).abs()
        })
        .fold(0.0, f64::max)
}

/// Peak signal-to-noise ratio in dB of a mean squared error against a signal whose values
/// span `peak` (1 for images on $[0, 1]$, 2 for audio on $[-1, 1]$):
/// $10 \log_{10}(\mathrm{peak}^2 / \mathrm{MSE})$; a zero error gives `f64::INFINITY`.
pub fn psnr_from_mse(mse: f64, peak: f64) -> f64 {
    10.0 * (peak * peak / mse).log10()
}
