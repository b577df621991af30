//! Bounded fuzzing of every loader that reads user files: model files, PyTorch SIREN files,
//! training checkpoints,
//! images (PNG/JPEG), CelebA faces, WAV clips, OBJ meshes and `.xyz` point clouds. Valid files are truncated, bit-flipped and overwritten
//! at random; each loader must return a clear error or a value, never panic.

use dfdx::prelude::*;
use proptest::prelude::*;
use siren_core::checkpoint::{load_checkpoint, save_checkpoint};
use siren_core::{Adam, AdamConfig, Network, NetworkConfig};
use siren_image::Image;

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("siren-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn model_bytes() -> Vec<u8> {
    let net =
        Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &Cpu::default()).unwrap();
    net.to_safetensors().unwrap()
}

fn checkpoint_bytes() -> Vec<u8> {
    let net =
        Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &Cpu::default()).unwrap();
    let adam = Adam::new(&net, AdamConfig::default()).unwrap();
    let path = dir().join("valid-checkpoint.safetensors");
    save_checkpoint(&path, &net, &adam, &Default::default()).unwrap();
    std::fs::read(path).unwrap()
}

fn png_bytes() -> Vec<u8> {
    let path = dir().join("valid.png");
    Image::camera()
        .resized(16, 16)
        .unwrap()
        .save_png(&path)
        .unwrap();
    std::fs::read(path).unwrap()
}

fn jpeg_bytes() -> Vec<u8> {
    let img = image::RgbImage::from_fn(20, 24, |x, y| image::Rgb([x as u8 * 9, y as u8 * 7, 99]));
    let path = dir().join("valid.jpg");
    img.save(&path).unwrap();
    std::fs::read(path).unwrap()
}

fn wav_bytes() -> Vec<u8> {
    let path = dir().join("valid.wav");
    let samples = (0..600).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
    siren_signal::audio::Audio {
        rate: 8000,
        channels: 2,
        samples,
    }
    .save(&path)
    .unwrap();
    std::fs::read(path).unwrap()
}

fn obj_bytes() -> Vec<u8> {
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n".to_vec()
}

/// A corruption of `bytes`: truncation, flipped bytes, or an overwritten run.
fn corrupt(bytes: &[u8], kind: u8, at: usize, value: u8, len: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = at % out.len().max(1);
    match kind % 3 {
        0 => out.truncate(at),
        1 => {
            for i in (at..out.len()).step_by(len.max(1) * 7 + 1).take(8) {
                out[i] ^= value | 1;
            }
        }
        _ => {
            for b in out.iter_mut().skip(at).take(len.max(1)) {
                *b = value;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn loaders_never_panic_on_corrupt_files(kind in 0u8..3, at in 0usize..100_000, value in any::<u8>(), len in 0usize..64) {
        let d = dir();
        let dev = Cpu::default();

        let model = d.join("model.safetensors");
        std::fs::write(&model, corrupt(&model_bytes(), kind, at, value, len)).unwrap();
        if let Err(e) = Network::<f32, Cpu>::load(&model, &dev) {
            prop_assert!(e.to_string().contains("model.safetensors"), "{}", e);
        }

        let torch = std::path::Path::new("pytorch.safetensors");
        let net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &dev).unwrap();
        let exported = siren_core::pytorch::to_pytorch_siren(&net).unwrap();
        let options = siren_core::pytorch::ImportOptions::default();
        let bytes = corrupt(&exported, kind, at, value, len);
        if let Err(e) = siren_core::pytorch::from_pytorch_siren::<f32, Cpu>(&bytes, torch, &options, &dev) {
            prop_assert!(e.to_string().contains("pytorch.safetensors"), "{}", e);
        }

        let ckpt = d.join("checkpoint.safetensors");
        std::fs::write(&ckpt, corrupt(&checkpoint_bytes(), kind, at, value, len)).unwrap();
        let mut net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 1, &dev).unwrap();
        let mut adam = Adam::new(&net, AdamConfig::default()).unwrap();
        if let Err(e) = load_checkpoint(&ckpt, &mut net, &mut adam) {
            prop_assert!(e.to_string().contains("checkpoint.safetensors"), "{}", e);
        }

        let png = d.join("image.png");
        std::fs::write(&png, corrupt(&png_bytes(), kind, at, value, len)).unwrap();
        if let Err(e) = Image::open(&png) {
            prop_assert!(e.to_string().contains("image.png"), "{}", e);
        }

        let wav = d.join("clip.wav");
        std::fs::write(&wav, corrupt(&wav_bytes(), kind, at, value, len)).unwrap();
        if let Err(e) = siren_signal::audio::Audio::open(&wav) {
            prop_assert!(e.to_string().contains("clip.wav"), "{}", e);
        }

        let obj = d.join("mesh.obj");
        std::fs::write(&obj, corrupt(&obj_bytes(), kind, at % 64, value, len)).unwrap();
        if let Err(e) = siren_signal::sdf::Mesh::open_obj(&obj) {
            prop_assert!(e.to_string().contains("mesh.obj"), "{}", e);
        }

        let xyz = d.join("cloud.xyz");
        std::fs::write(&xyz, corrupt(b"0 0 0 0 0 1\n0.5 0 0 1 0 0\n", kind, at % 24, value, len)).unwrap();
        if let Err(e) = siren_signal::sdf::OrientedPoints::open_xyz(&xyz) {
            prop_assert!(e.to_string().contains("cloud.xyz"), "{}", e);
        }

        let jpg = d.join("face.jpg");
        std::fs::write(&jpg, corrupt(&jpeg_bytes(), kind, at, value, len)).unwrap();
        if let Err(e) = siren_hypernet::celeba::load_face(&jpg, 8) {
            prop_assert!(e.to_string().contains("face.jpg"), "{}", e);
        }
    }
}
