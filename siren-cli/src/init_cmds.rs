//! `siren init-stats`: the paper's Section 2 as a figure and a table.

use std::path::PathBuf;

use clap::Args;
use rand::{Rng, SeedableRng};
use siren_core::io::write_atomic;
use siren_core::stats::{arcsine_cdf, ks_critical, ks_statistic, normal_cdf};
use siren_core::train::to_matrix;
use siren_core::Backend;
use siren_core::{Error, Network, NetworkConfig, Result};

use crate::out_dir;
use crate::plots::{histogram_grid, Histogram};

#[derive(Args, Debug)]
pub struct InitStatsArgs {
    /// Hidden width.
    #[arg(long, default_value_t = 2048)]
    width: usize,
    /// Hidden-to-hidden layers.
    #[arg(long, default_value_t = 6)]
    layers: usize,
    /// omega_0 of every sine layer.
    #[arg(long, default_value_t = 30.0)]
    w0: f64,
    /// Input points x, uniform in [-1, 1] (one input coordinate, as in the paper's figure).
    #[arg(long, default_value_t = 1024)]
    points: usize,
    /// The "wrong" init multiplies every hidden weight by this factor.
    #[arg(long, default_value_t = 0.2)]
    wrong_scale: f64,
    /// Seed of the network and the points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// Per layer: KS distance of the pre-activations to N(0, 1) and of the activations to the
/// arcsine law, and the samples.
struct LayerStats {
    pre: Vec<f64>,
    post: Vec<f64>,
    ks_pre: f64,
    ks_post: f64,
}

fn layer_stats<D: Backend<f64>>(net: &Network<f64, D>, xs: &[f64]) -> Result<Vec<LayerStats>> {
    let coords = to_matrix::<f64, D>(net.device(), xs, 1);
    let signals = net.signals(&coords)?;
    let hidden = signals.len() - 1; // the last layer is linear
    Ok(signals
        .into_iter()
        .take(hidden)
        .map(|s| {
            let (mut pre, mut post) = (s.preactivation.clone(), s.output.clone());
            let ks_pre = ks_statistic(&mut pre, normal_cdf);
            let ks_post = ks_statistic(&mut post, arcsine_cdf);
            LayerStats {
                pre: s.preactivation,
                post: s.output,
                ks_pre,
                ks_post,
            }
        })
        .collect())
}

pub fn init_stats<D: Backend<f64>>(a: InitStatsArgs, dev: &D) -> Result<()> {
    if a.width == 0 || a.points == 0 || !(a.wrong_scale.is_finite() && a.wrong_scale > 0.0) {
        return Err(Error::InvalidInput(
            "--width and --points must be >= 1 and --wrong-scale > 0".into(),
        ));
    }
    let config = NetworkConfig::siren(1, 1, a.width, a.layers).with_w0(a.w0, a.w0);
    config.validate()?;
    // Two networks of f64 weights, and per layer the pre-activations and activations of every
    // point for both (kept for the statistics and the figure).
    let (w, l, p) = (a.width as u128, a.layers as u128 + 2, a.points as u128);
    siren_core::device::check_memory(
        8 * (2 * l * w * w + 4 * l * p * w),
        &format!(
            "init-stats with {} points through {} layers of {}",
            a.points, l, a.width
        ),
        "choose a smaller --width, --layers or --points",
    )?;
    let dir = out_dir(&a.out)?;
    let net = Network::<f64, D>::new(config.clone(), a.seed, dev)?;
    let mut wrong = net.clone();
    let last = wrong.layers().len() - 1;
    for layer in &mut wrong.layers_mut()[1..last] {
        layer.weight = layer.weight.clone() * a.wrong_scale;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed ^ 0x1a17);
    let xs: Vec<f64> = (0..a.points).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let right = layer_stats(&net, &xs)?;
    let bad = layer_stats(&wrong, &xs)?;
    let n = a.points * a.width;
    let critical = ks_critical(n, 0.01);
    let mut table = format!(
        "SIREN 1 -> {w} x {l} -> 1, w0 = {w0}, {p} inputs uniform in [-1, 1] ({n} samples per layer; \
         KS critical value at 1%: {critical:.4}). Wrong init: hidden weights x {s}.\n\n\
         | layer | KS pre vs N(0,1) | KS act vs arcsine | wrong init: KS pre | wrong init: KS act | wrong init: std of pre |\n|---|---|---|---|---|---|\n",
        w = a.width,
        l = a.layers,
        w0 = a.w0,
        p = a.points,
        s = a.wrong_scale
    );
    let mut json = Vec::new();
    for (i, (r, b)) in right.iter().zip(&bad).enumerate() {
        let std = (b.pre.iter().map(|v| v * v).sum::<f64>() / b.pre.len() as f64).sqrt();
        table += &format!(
            "| {i} | {:.4} | {:.4} | {:.4} | {:.4} | {std:.3} |\n",
            r.ks_pre, r.ks_post, b.ks_pre, b.ks_post
        );
        json.push(serde_json::json!({"layer": i, "ks_pre_normal": r.ks_pre, "ks_act_arcsine": r.ks_post,
            "wrong_ks_pre_normal": b.ks_pre, "wrong_ks_act_arcsine": b.ks_post, "wrong_pre_std": std}));
    }
    table += "\nLayer 0 takes x itself (its pre-activation is w0 W x + w0 b, uniform-like, not \
              normal); the theory covers the hidden layers 1 and up.\n";
    let normal = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let arcsine = |y: f64| {
        if y.abs() < 1.0 {
            1.0 / (std::f64::consts::PI * (1.0 - y * y).sqrt())
        } else {
            0.0
        }
    };
    let panels: Vec<Vec<Histogram>> = right
        .iter()
        .zip(&bad)
        .enumerate()
        .map(|(i, (r, b))| {
            let title = |ks: f64| format!("layer {i}: KS {ks:.4}");
            vec![
                Histogram {
                    samples: &r.pre,
                    range: (-4.0, 4.0),
                    density: &normal,
                    title: title(r.ks_pre),
                },
                Histogram {
                    samples: &r.post,
                    range: (-1.0, 1.0),
                    density: &arcsine,
                    title: title(r.ks_post),
                },
                Histogram {
                    samples: &b.pre,
                    range: (-4.0, 4.0),
                    density: &normal,
                    title: title(b.ks_pre),
                },
                Histogram {
                    samples: &b.post,
                    range: (-1.0, 1.0),
                    density: &arcsine,
                    title: title(b.ks_post),
                },
            ]
        })
        .collect();
    let columns = [
        "SIREN init: pre-activation".to_string(),
        "SIREN init: activation".to_string(),
        format!("hidden W x {}: pre-activation", a.wrong_scale),
        format!("hidden W x {}: activation", a.wrong_scale),
    ];
    histogram_grid(
        &dir.join("init_stats.png"),
        &format!(
            "Activations of a fresh SIREN ({} x {}, w0 = {}): grey the samples, red N(0,1) or \
             the arcsine law; KS critical value {critical:.4}",
            a.width,
            a.layers + 1,
            a.w0
        ),
        &columns,
        &panels,
    )?;
    let report = format!(
        "# Activation statistics at initialisation\n\n{table}\n`init_stats.png`: rows = layers 0..{}; \
         columns: pre-activations with the N(0,1) density, activations with the arcsine density, \
         then the same for the wrong init.\n",
        right.len() - 1
    );
    write_atomic(&dir.join("init_stats.md"), report.as_bytes())?;
    write_atomic(
        &dir.join("init_stats.json"),
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    println!("{report}");
    Ok(())
}
