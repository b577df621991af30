//! The hypernetwork's model: generated SIRENs, encoders' masking, weight gradients.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::train::{grid, to_matrix};
use siren_core::Parameters;
use siren_core::Tracer;
use siren_hypernet::training::{loss_terms, ContextLevel};
use siren_hypernet::{Context, DecoderKind, EncoderKind, Hypernet, HypernetConfig};

fn tiny(encoder: EncoderKind) -> HypernetConfig {
    HypernetConfig {
        encoder,
        image_size: 6,
        latent: 8,
        siren_width: 8,
        siren_hidden_layers: 2,
        w0: 30.0,
        hyper_width: 8,
        hyper_hidden_layers: 1,
        cnn_channels: 4,
        cnn_blocks: 1,
        cnn_mask_channel: encoder == EncoderKind::Cnn,
        set_width: 8,
        set_hidden_layers: 1,
        decoder: DecoderKind::Hypernet,
    }
}

/// Every model the table trains: the four hypernetworks and the CNP.
fn tiny_models() -> Vec<HypernetConfig> {
    let mut out: Vec<HypernetConfig> = EncoderKind::ALL.map(tiny).to_vec();
    out.push(HypernetConfig::cnp(&tiny(EncoderKind::SetRelu)));
    out
}

fn random_context(size: usize, batch: usize, known: &[usize], seed: u64) -> Context {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let hw = size * size;
    let pixels = (0..batch * hw * 3)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let known = (0..batch)
        .flat_map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(b as u64 + 100);
            ContextLevel::Pixels(known[b]).mask(size, &mut rng)
        })
        .collect();
    Context {
        size,
        pixels,
        known,
    }
}

#[test]
fn generated_siren_equals_a_core_siren_with_the_same_weights() {
    let dev = Cpu::default();
    for encoder in EncoderKind::ALL {
        let model = Hypernet::<f64, Cpu>::new(tiny(encoder), 1, &dev).unwrap();
        let context = random_context(6, 3, &[5, 20, 36], 2);
        let mut tr = Tracer::inference();
        let (generated, image) = model.complete(&context, &mut tr).unwrap();
        let image = image.as_vec();
        let coords = to_matrix::<f64, Cpu>(&dev, &grid(&[6, 6]), 2);
        for i in 0..3 {
            let siren = model.siren_of(&generated, i).unwrap();
            assert_eq!(siren.config(), &model.config().siren());
            let own = siren.forward(&coords).unwrap().as_vec();
            let batched = &image[i * 36 * 3..(i + 1) * 36 * 3];
            let err = own
                .iter()
                .zip(batched)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-12, "{encoder:?} face {i}: max difference {err}");
        }
    }
}

#[test]
fn paper_siren_has_the_papers_parameter_count() {
    let config = HypernetConfig::paper(EncoderKind::SetSine);
    assert_eq!(config.siren().parameter_count(), 198_915);
}

fn latents(model: &Hypernet<f64, Cpu>, context: &Context) -> Vec<f64> {
    let mut tr = Tracer::inference();
    model.encode(context, &mut tr).unwrap().as_vec()
}

/// Changing the values of unknown pixels, or padding a face's set with a larger one in the
/// same batch, must not change its latent code.
#[test]
fn encoders_ignore_pixels_outside_the_context() {
    let dev = Cpu::default();
    for encoder in EncoderKind::ALL {
        // (Seed 4: with seed 3 the tiny CNN's two first-layer ReLUs are dead at the moved pixel.)
        let model = Hypernet::<f64, Cpu>::new(tiny(encoder), 4, &dev).unwrap();
        let context = random_context(6, 2, &[4, 30], 5);
        let base = latents(&model, &context);
        let mut changed = context.clone();
        for (p, &k) in changed.known.iter().enumerate() {
            if !k {
                for c in 0..3 {
                    changed.pixels[p * 3 + c] = 0.7 - changed.pixels[p * 3 + c];
                }
            }
        }
        let after = latents(&model, &changed);
        let diff = base
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff < 1e-12,
            "{encoder:?}: unknown pixels moved the latent by {diff}"
        );
        // The first face alone (no padding from the second face's larger set).
        let alone = Context {
            size: 6,
            pixels: context.pixels[..36 * 3].to_vec(),
            known: context.known[..36].to_vec(),
        };
        let single = latents(&model, &alone);
        let diff = single
            .iter()
            .zip(&base[..8])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff < 1e-12,
            "{encoder:?}: batching changed the latent by {diff}"
        );
        // And the known pixels do matter.
        let mut moved = context.clone();
        let p = moved.known.iter().position(|&k| k).unwrap();
        moved.pixels[p * 3] += 0.5;
        let after = latents(&model, &moved);
        assert!(
            base.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-9),
            "{encoder:?}: a known pixel has no effect"
        );
    }
}

fn total_loss(model: &Hypernet<f64, Cpu>, context: &Context) -> f64 {
    let mut tr = model.recording_tracer();
    let [a, b, c] = loss_terms(model, context, &mut tr).unwrap();
    a.as_vec()[0] + 0.1 * b.as_vec()[0] + 100.0 * c.as_vec()[0]
}

/// Weight gradients of the full loss (encoder and hypernetwork) against central differences.
#[test]
fn weight_gradients_match_finite_differences() {
    let dev = Cpu::default();
    for config in tiny_models() {
        let name = config.name();
        let mut model = Hypernet::<f64, Cpu>::new(config, 7, &dev).unwrap();
        let context = random_context(6, 2, &[6, 25], 9);
        let mut tr = model.recording_tracer();
        let [a, b, c] = loss_terms(&model, &context, &mut tr).unwrap();
        let reg = tr.apply2(b, c, |b, c| b * 0.1 + c * 100.0);
        let total = tr.apply2(a, reg, |a, r| a + r);
        let grads = tr.attach(total).backward();
        let analytic = model.gradients(&grads);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let layers = model.dense().len();
        // Every layer, encoder and heads, probed at two random weights.
        for l in (0..layers).flat_map(|l| [l, l]) {
            let n = analytic[l].0.shape().0 * analytic[l].0.shape().1;
            let j = rng.gen_range(0..n);
            let g = analytic[l].0.as_vec()[j];
            let h = 1e-5;
            fn shift(model: &mut Hypernet<f64, Cpu>, l: usize, j: usize, delta: f64) {
                let w = &mut model.dense_mut()[l].weight;
                let mut v = w.as_vec();
                v[j] += delta;
                w.copy_from(&v);
            }
            shift(&mut model, l, j, h);
            let up = total_loss(&model, &context);
            shift(&mut model, l, j, -2.0 * h);
            let down = total_loss(&model, &context);
            shift(&mut model, l, j, h);
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g).abs() <= 1e-5 * fd.abs().max(1e-3),
                "{name}: layer {l} weight {j}: finite difference {fd:e}, gradient {g:e}"
            );
        }
    }
}

#[test]
fn training_settings_out_of_range_are_rejected_with_the_field_named() {
    use siren_hypernet::training::TrainConfig;
    for (name, config) in [
        (
            "full_context_share",
            TrainConfig {
                full_context_share: 1.5,
                ..TrainConfig::paper(10)
            },
        ),
        (
            "context_min",
            TrainConfig {
                context_min: 300,
                ..TrainConfig::paper(10)
            },
        ),
    ] {
        let message = config.validate().unwrap_err().to_string();
        assert!(message.contains(name), "{name}: {message}");
    }
    assert!(TrainConfig {
        full_context_share: 0.1,
        ..TrainConfig::paper(10)
    }
    .validate()
    .is_ok());
}

#[test]
fn the_paper_scale_model_builds() {
    // Its weight heads emit up to 65,536 values each: within siren-core's network bounds.
    let config = HypernetConfig::paper(EncoderKind::SetSine);
    let model = Hypernet::<f32, Cpu>::new(config, 0, &Cpu::default());
    assert!(model.is_ok(), "{:?}", model.err());
}

#[test]
fn model_sizes_out_of_range_are_rejected_before_allocating() {
    // What a corrupt or hostile checkpoint's metadata could claim.
    let paper = HypernetConfig::paper(EncoderKind::Cnn);
    for (name, config) in [
        (
            "image_size",
            HypernetConfig {
                image_size: 1 << 40,
                ..paper.clone()
            },
        ),
        (
            "latent",
            HypernetConfig {
                latent: usize::MAX,
                ..paper.clone()
            },
        ),
        (
            "hidden_layers",
            HypernetConfig {
                siren_hidden_layers: 100_000_000,
                ..paper.clone()
            },
        ),
        (
            "heads",
            HypernetConfig {
                siren_width: 4096,
                ..paper.clone()
            },
        ),
    ] {
        let e = Hypernet::<f32, Cpu>::new(config, 0, &Cpu::default()).unwrap_err();
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
}
