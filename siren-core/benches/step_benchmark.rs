//! Times one training workload and prints a JSON line: what `cargo xtask bench-compare` runs
//! beside its PyTorch twin (`bench/torch_reference.py`), one process per workload so that
//! the peak RSS is the workload's own.
//!
//! ```sh
//! cargo bench -p siren-core --bench step_benchmark -- fit --steps 5 --warmup 2
//! ```
//!
//! Workloads (3 hidden layers, f32, Adam 1e-4, the SIREN init):
//! * `fit`: 2 -> 256 -> 1 on 65,536 points, mean squared error of the value;
//! * `laplacian`: the same network and points, $\mathrm{mean}((\Delta u - g)^2)$;
//! * `wave`: 3 -> 512 -> 1 on 16,384 points $(t, x, y)$, $\mathrm{mean}((u_{tt} - \Delta_{xy} u)^2)$,
//!   the residual carried as one operator row (`Network::jet_operators`);
//! * `matmul`: a 65,536 x 256 by 256 x 256 product through `siren_core::backend::cpu::matmul`, the
//!   matrix-product rate the steps' products can reach;
//! * `fma`: independent 8-lane fused multiply-adds on every thread (AVX2 + FMA), the
//!   machine's arithmetic peak that no product can pass.
//!
//! Add `--plain` to run the reference backend (dfdx ops) instead of the CPU kernels, and
//! `--points N` to change the points per step of `fit`, `laplacian` and `wave`.

mod common;

use common::{carried_jet, random};
use std::time::Instant;

use dfdx::prelude::*;
use rayon::prelude::*;
use siren_core::jet::Carry;
use siren_core::train::{mse, train_step};
use siren_core::{device, Adam, AdamConfig, DiagonalOperator, Network, NetworkConfig, Order};

/// Matrix-product FLOPs of one training step of the CPU backend: forward, weight gradient and
/// input gradient (not for the first layer) of every layer, over `rows` stacked rows.
fn step_flops(config: &NetworkConfig, rows: usize) -> f64 {
    config
        .layer_shapes()
        .iter()
        .enumerate()
        .map(|(i, &(fan_in, fan_out))| {
            let products = if i == 0 { 2.0 } else { 3.0 };
            products * 2.0 * (rows * fan_in * fan_out) as f64
        })
        .sum()
}

/// `iterations` rounds of 12 independent FMAs (enough chains to cover the FMA latency on two
/// pipes) in the widest registers the product kernel uses here (16 lanes with AVX-512, 8
/// with AVX2; a scalar fallback elsewhere), and those lanes.
fn fma_loop(iterations: u64, seed: f32) -> (f32, u64) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just now).
        return (unsafe { fma_loop_avx512(iterations, seed) }, 16);
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just now).
        return (unsafe { fma_loop_avx2(iterations, seed) }, 8);
    }
    let mut acc = [seed; 12];
    for _ in 0..iterations * 8 {
        for a in &mut acc {
            *a = a.mul_add(0.999_9, 1e-4);
        }
    }
    (acc.iter().sum(), 8)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(iterations: u64, seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let (m, c) = (_mm512_set1_ps(0.999_9), _mm512_set1_ps(1e-4));
    let mut acc = [_mm512_set1_ps(seed); 12];
    for _ in 0..iterations {
        for a in &mut acc {
            *a = _mm512_fmadd_ps(*a, m, c);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, &a| _mm512_add_ps(s, a));
    _mm512_reduce_add_ps(sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(iterations: u64, seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let (m, c) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(1e-4));
    let mut acc = [_mm256_set1_ps(seed); 12];
    for _ in 0..iterations {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    let mut out = [0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
    _mm256_storeu_ps(out.as_mut_ptr(), sum);
    out.iter().sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: step_benchmark fit|laplacian|wave|matmul|fma [--steps N] [--warmup N] [--points N] [--plain]";
    let workload = args.first().cloned().unwrap_or_else(|| {
        eprintln!("{usage}");
        std::process::exit(2)
    });
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse().unwrap_or_else(|_| {
                    eprintln!("{name} takes a whole number, got {v:?}\n{usage}");
                    std::process::exit(2)
                })
            })
            .unwrap_or(default)
    };
    let (steps, warmup) = (flag("--steps", 5), flag("--warmup", 2));
    // Points per step of fit, laplacian and wave (0: the workload's own), to see how cost grows.
    let points_flag = flag("--points", 0);
    let plain = args.iter().any(|a| a == "--plain");
    let dev = device::cpu();

    let mut times = Vec::with_capacity(steps);
    let flops = if workload == "fma" {
        let per_thread = 1u64 << 27;
        let mut lanes = 8;
        let threads = rayon::current_num_threads();
        for i in 0..warmup + steps {
            let t = Instant::now();
            let sums: Vec<(f32, u64)> = (0..threads)
                .into_par_iter()
                .map(|seed| fma_loop(per_thread, seed as f32))
                .collect();
            lanes = sums[0].1;
            if i >= warmup {
                times.push(t.elapsed().as_secs_f64());
            }
            std::hint::black_box(sums);
        }
        // 12 registers x lanes x 2 FLOPs per iteration.
        (threads as u64 * per_thread * 12 * lanes * 2) as f64
    } else if workload == "matmul" {
        let (n, k, m) = (65_536, 256, 256);
        let a = vec![0.5f32; n * k];
        let b = vec![0.25f32; k * m];
        let mut c = vec![0f32; n * m];
        for i in 0..warmup + steps {
            let t = Instant::now();
            siren_core::backend::cpu::matmul::matmul(&a, &b, &mut c, (n, m, k))
                .expect("shapes match");
            if i >= warmup {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        2.0 * (n * k * m) as f64
    } else {
        // Stacked rows per point on the CPU backend: value, gradient, one per operator.
        let (config, points, rows) = match workload.as_str() {
            "fit" => (NetworkConfig::siren(2, 1, 256, 3), 65_536, 1),
            "laplacian" => (NetworkConfig::siren(2, 1, 256, 3), 65_536, 4),
            "wave" => (NetworkConfig::siren(3, 1, 512, 3), 16_384, 5),
            other => {
                eprintln!("unknown workload {other:?}\n{usage}");
                std::process::exit(2)
            }
        };
        let points = if points_flag > 0 { points_flag } else { points };
        let d = config.in_features;
        let x = random(&dev, points, d, 1);
        let target = random(&dev, points, 1, 2);
        let mut net = Network::<f32, Cpu>::new(config.clone(), 0, &dev).expect("valid config");
        let mut adam = Adam::new(&net, AdamConfig::default()).expect("valid Adam");
        for i in 0..warmup + steps {
            let t = Instant::now();
            train_step(&mut net, &mut adam, |net, tr| match workload.as_str() {
                "fit" => {
                    let jet = carried_jet(plain, net, &x, Carry::Order(Order::Value), tr);
                    Ok(mse(tr, jet.value, &target))
                }
                "laplacian" => {
                    let ops = [DiagonalOperator::laplacian(&[0, 1])];
                    let mut jet = carried_jet(plain, net, &x, Carry::Operators(&ops), tr);
                    jet.operators = ops.to_vec();
                    let lap = jet.laplacian(tr, &[0, 1])?;
                    Ok(mse(tr, lap, &target))
                }
                _ => {
                    // u_tt - (u_xx + u_yy) as one carried operator row.
                    let wave = DiagonalOperator::new()
                        .term(0, 1.0)
                        .term(1, -1.0)
                        .term(2, -1.0);
                    let ops = [wave];
                    let mut jet = carried_jet(plain, net, &x, Carry::Operators(&ops), tr);
                    jet.operators = ops.to_vec();
                    let r = jet.operator(tr, &ops[0])?;
                    Ok(tr.apply(r, |r| r.square().mean()))
                }
            })
            .expect("a finite loss");
            if i >= warmup {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        step_flops(&config, points * rows)
    };
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!(
        "{{\"workload\": \"{workload}\", \"path\": \"{}\", \"median_s\": {median:.5}, \"times_s\": {times:?}, \"gflops\": {:.1}, \"peak_rss_bytes\": {}}}",
        if plain { "reference" } else { "cpu" },
        flops / median / 1e9,
        device::peak_memory().unwrap_or(0)
    );
}
