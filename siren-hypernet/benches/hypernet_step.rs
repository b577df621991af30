//! Times the phases of one hypernetwork training step at `siren hypernet train --scale
//! default`'s sizes (`HypernetConfig::quick`, 16 faces of 32x32, the default scale's context
//! law) on random faces, and prints a JSON line: where a step's time goes, for the profile
//! behind `cargo xtask bench-compare`'s `hypernet-cnn` and `hypernet-set` rows.
//!
//! ```sh
//! cargo bench -p siren-hypernet --bench hypernet_step -- cnn --steps 10
//! ```
//!
//! Phases: `encode` (the encoder's forward pass), `generate` (the heads), `render` (the
//! generated SIRENs at every pixel), `loss` (the three terms), `backward`, `adam` (clipped
//! update). Each forward phase is timed on its own pass (the tape makes them inseparable in
//! one): the step itself is timed whole.

use std::time::Instant;

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::{device, Adam, AdamConfig, Parameters};
use siren_hypernet::training::{loss_terms, TrainConfig};
use siren_hypernet::{Context, EncoderKind, Hypernet, HypernetConfig};

/// 16 random faces with the default scale's contexts (`siren hypernet train --scale default`):
/// 10..1024 known pixels, uniform for the CNN (half the faces whole), log-uniform for the set
/// encoder (a tenth whole).
fn context(encoder: EncoderKind, rng: &mut ChaCha8Rng) -> Context {
    let (size, batch) = (32, 16);
    let cnn = encoder == EncoderKind::Cnn;
    let law = TrainConfig {
        batch,
        context_max: 1024,
        log_uniform_context: !cnn,
        full_context_share: if cnn { 0.5 } else { 0.1 },
        ..TrainConfig::paper(1)
    };
    let known = (0..batch)
        .flat_map(|_| law.draw_context(size, rng))
        .collect();
    Context {
        size,
        pixels: (0..batch * size * size * 3)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect(),
        known,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let encoder = match args.first().map(String::as_str) {
        Some("cnn") => EncoderKind::Cnn,
        Some("set-sine") | Some("set") => EncoderKind::SetSine,
        other => {
            eprintln!("usage: hypernet_step cnn|set-sine [--steps N], got {other:?}");
            std::process::exit(2);
        }
    };
    let steps: usize = args
        .iter()
        .position(|a| a == "--steps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dev = device::cpu();
    let mut model = Hypernet::<f32, _>::new(HypernetConfig::quick(encoder), 0, &dev)
        .expect("the quick config is valid");
    let mut adam = Adam::new(
        &model,
        AdamConfig {
            lr: 2e-4,
            ..Default::default()
        },
    )
    .expect("the model has parameters");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let phases = [
        "encode", "generate", "render", "step", "forward", "backward", "adam",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); phases.len()];
    for s in 0..steps + 1 {
        let ctx = context(encoder, &mut rng);
        let mut record = |i: usize, t: Instant| {
            if s > 0 {
                times[i].push(t.elapsed().as_secs_f64());
            }
        };
        // The forward phases, each on a pass of its own.
        let t = Instant::now();
        let mut tr = model.recording_tracer();
        let z = model.encode(&ctx, &mut tr).expect("encode");
        record(0, t);
        let t = Instant::now();
        let generated = model.generate(z, &mut tr).expect("generate");
        record(1, t);
        let coords =
            siren_core::train::to_matrix::<f32, _>(&dev, &siren_core::train::grid(&[32, 32]), 2);
        let t = Instant::now();
        let image = model.render(&generated, &coords, &mut tr).expect("render");
        record(2, t);
        drop((image, generated, tr));
        // The step whole, as `training::train` runs it.
        let t = Instant::now();
        let mut tr = model.recording_tracer();
        let [image, latent, params] = loss_terms(&model, &ctx, &mut tr).expect("loss");
        let reg = tr.apply2(latent, params, |z, p| z * 0.1 + p * 25.0);
        let total = tr.apply2(image, reg, |a, b| a + b);
        let _ = total.as_vec();
        record(4, t);
        let tb = Instant::now();
        let mut grads = tr.attach(total).backward();
        record(5, tb);
        let ta = Instant::now();
        adam.update_clipped(&mut model, &mut grads, 1.0);
        record(6, ta);
        record(3, t);
    }
    let fields: Vec<String> = phases
        .iter()
        .zip(times)
        .map(|(p, t)| format!("\"{p}_s\": {:.5}", median(t)))
        .collect();
    // Peak RSS after all the steps: flat in the steps unless something keeps buffers.
    let peak = device::peak_memory().unwrap_or(0);
    println!(
        "{{\"encoder\": \"{}\", \"parameters\": {}, {}, \"peak_rss_bytes\": {peak}}}",
        encoder.name(),
        model.parameter_count(),
        fields.join(", ")
    );
}
