//! Forward, fit step, Laplacian-loss step and wave-style step of a 3x256 network on the CPU,
//! on the CPU backend and, at the smaller batch, on the reference backend (dfdx ops); and the
//! vectorised `f32` sine against the standard library's; the matrix-product kernel against
//! `gemm`'s own threading.
//!
//! `cargo bench -p siren-core` (set `SIREN_BENCH_BATCHES=16384` to run one batch size).

mod common;

use common::{carried_jet, random};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::jet::Carry;
use siren_core::train::{mse, train_step};
use siren_core::{
    device, Adam, AdamConfig, DiagonalOperator, Network, NetworkConfig, Order, Tracer,
};

fn batches() -> Vec<usize> {
    std::env::var("SIREN_BENCH_BATCHES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![16_384, 65_536])
}

fn steps(c: &mut Criterion) {
    let dev = device::cpu();
    let mut group = c.benchmark_group("siren 3x256");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in batches() {
        let x2 = random(&dev, n, 2, 1);
        let x3 = random(&dev, n, 3, 2);
        let target = random(&dev, n, 1, 3);
        // The reference backend is several times slower: time it at the smaller batch only.
        let paths: &[(&str, bool)] = if n <= 16_384 {
            &[("", false), (" (reference)", true)]
        } else {
            &[("", false)]
        };
        for &(suffix, reference) in paths {
            let mut net =
                Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 256, 3), 0, &dev).unwrap();
            let mut adam = Adam::new(&net, AdamConfig::default()).unwrap();

            group.bench_with_input(
                BenchmarkId::new(format!("forward{suffix}"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        let carry = Carry::Order(Order::Value);
                        carried_jet(reference, &net, &x2, carry, &mut Tracer::inference())
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("fit step{suffix}"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        train_step(&mut net, &mut adam, |net, tr| {
                            let carry = Carry::Order(Order::Value);
                            let jet = carried_jet(reference, net, &x2, carry, tr);
                            Ok(mse(tr, jet.value, &target))
                        })
                        .unwrap()
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("laplacian step{suffix}"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        train_step(&mut net, &mut adam, |net, tr| {
                            let ops = [DiagonalOperator::laplacian(&[0, 1])];
                            let carry = Carry::Operators(&ops);
                            let mut jet = carried_jet(reference, net, &x2, carry, tr);
                            jet.operators = ops.to_vec();
                            let lap = jet.laplacian(tr, &[0, 1])?;
                            Ok(mse(tr, lap, &target))
                        })
                        .unwrap()
                    })
                },
            );
            let mut wave =
                Network::<f32, Cpu>::new(NetworkConfig::siren(3, 1, 256, 3), 0, &dev).unwrap();
            let mut wave_adam = Adam::new(&wave, AdamConfig::default()).unwrap();
            group.bench_with_input(
                BenchmarkId::new(format!("wave step{suffix}"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        train_step(&mut wave, &mut wave_adam, |net, tr| {
                            // u_tt - (u_xx + u_yy) as one carried operator row.
                            let wave = DiagonalOperator::new()
                                .term(0, 1.0)
                                .term(1, -1.0)
                                .term(2, -1.0);
                            let ops = [wave];
                            let carry = Carry::Operators(&ops);
                            let mut jet = carried_jet(reference, net, &x3, carry, tr);
                            jet.operators = ops.to_vec();
                            let r = jet.operator(tr, &ops[0])?;
                            Ok(tr.apply(r, |r| r.square().mean()))
                        })
                        .unwrap()
                    })
                },
            );
        }
    }
    group.finish();
}

fn sine(c: &mut Criterion) {
    let x: Vec<f32> = (0..1 << 20)
        .map(|i| (i as f32 / (1 << 20) as f32 - 0.5) * 200.0)
        .collect();
    let mut group = c.benchmark_group("sin and cos of 2^20 f32 in [-100, 100]");
    group.sample_size(20);
    group.bench_function("sin_cos_f32 (polynomial)", |b| {
        b.iter(|| {
            x.iter()
                .map(|&v| {
                    let (s, c) = siren_core::float::sin_cos_f32(v);
                    s + c
                })
                .sum::<f32>()
        })
    });
    group.bench_function("f32::sin_cos (std)", |b| {
        b.iter(|| {
            x.iter()
                .map(|&v| {
                    let (s, c) = v.sin_cos();
                    s + c
                })
                .sum::<f32>()
        })
    });
    group.finish();
}

/// The products of a step: `siren_core::backend::cpu::matmul` (row blocks per thread, the AVX2 kernel)
/// against `gemm` 0.18 with its own threading, on a layer's 65,536 x 256 by 256 x 256 product.
fn products(c: &mut Criterion) {
    let (n, k, m) = (65_536, 256, 256);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let a: Vec<f32> = (0..n * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let w: Vec<f32> = (0..k * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut out = vec![0f32; n * m];
    let mut group = c.benchmark_group("65536x256 by 256x256 f32 product");
    group.sample_size(20);
    group.bench_function("siren_core::backend::cpu::matmul", |b| {
        b.iter(|| siren_core::backend::cpu::matmul::matmul(&a, &w, &mut out, (n, m, k)).unwrap())
    });
    group.bench_function("gemm 0.18 (rayon)", |b| {
        b.iter(|| {
            // SAFETY: row-major buffers of the sizes given.
            unsafe {
                gemm::gemm(
                    n,
                    m,
                    k,
                    out.as_mut_ptr(),
                    1,
                    m as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    w.as_ptr(),
                    1,
                    m as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(rayon::current_num_threads()),
                )
            }
        })
    });
    group.finish();
}

criterion_group!(benches, steps, sine, products);
criterion_main!(benches);
