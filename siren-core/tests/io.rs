//! Model files: bit-exact round trips and clear errors for bad files.

use std::collections::HashMap;

use dfdx::prelude::*;
use siren_core::io::{bias_name, weight_name, CONFIG_KEY, FORMAT_KEY};
use siren_core::{Error, Network, NetworkConfig};

/// A fresh folder per test: tests run in parallel and one checks for stray temp files.
fn dir(test: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("siren-core-io-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn reason(e: Error) -> String {
    match e {
        Error::BadFile { reason, .. } => reason,
        other => panic!("expected BadFile, got {other}"),
    }
}

#[test]
fn round_trip_is_bit_exact_in_both_float_types() {
    let dev = Cpu::default();
    let d = dir("round-trip");
    for config in [
        NetworkConfig::siren(2, 3, 16, 2),
        NetworkConfig::relu_positional(3, 1, 8, 1, 5),
        NetworkConfig::tanh(1, 1, 4, 0),
    ] {
        let a = Network::<f32, Cpu>::new(config.clone(), 3, &dev).unwrap();
        let path = d.join("f32.safetensors");
        a.save(&path).unwrap();
        let b = Network::<f32, Cpu>::load(&path, &dev).unwrap();
        assert_eq!(b.config(), &config);
        let bits = |n: &Network<f32, Cpu>| -> Vec<u32> {
            n.to_host()
                .into_iter()
                .flat_map(|(w, b)| w.into_iter().chain(b))
                .map(f32::to_bits)
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));

        let a = Network::<f64, Cpu>::new(config.clone(), 4, &dev).unwrap();
        let path = d.join("f64.safetensors");
        a.save(&path).unwrap();
        let b = Network::<f64, Cpu>::load_expecting(&path, &config, &dev).unwrap();
        assert_eq!(a.to_host(), b.to_host());
        // f64 -> f32 converts with rounding
        let c = Network::<f32, Cpu>::load(&path, &dev).unwrap();
        assert_eq!(c.to_host()[0].0[0], a.to_host()[0].0[0] as f32);
    }
}

#[test]
fn bad_files_give_clear_errors() {
    let dev = Cpu::default();
    let d = dir("bad-files");
    let config = NetworkConfig::siren(2, 1, 8, 1);
    let net = Network::<f32, Cpu>::new(config.clone(), 0, &dev).unwrap();
    let bytes = net.to_safetensors().unwrap();

    // truncated
    let p = d.join("truncated.safetensors");
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    let r = reason(Network::<f32, Cpu>::load(&p, &dev).unwrap_err());
    assert!(r.contains("truncated"), "{r}");

    // not a safetensors file at all
    let p = d.join("image.safetensors");
    std::fs::write(&p, b"\x89PNG\r\n\x1a\nnot a model").unwrap();
    let r = reason(Network::<f32, Cpu>::load(&p, &dev).unwrap_err());
    assert!(r.contains("not a readable safetensors file"), "{r}");

    // empty file
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(
        Network::<f32, Cpu>::load(&p, &dev),
        Err(Error::BadFile { .. })
    ));

    // missing file
    let e = Network::<f32, Cpu>::load(d.join("absent.safetensors"), &dev).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("absent.safetensors"));

    // a tensor whose shape disagrees with the stored config
    let wrong = NetworkConfig::siren(2, 1, 9, 1);
    let other = Network::<f32, Cpu>::new(wrong, 0, &dev).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (i, (w, b)) in other.to_host().iter().enumerate() {
        let l = &other.layers()[i];
        let shape = l.weight.shape();
        tensors.push((
            weight_name(i),
            vec![shape.0, shape.1],
            w.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
        tensors.push((
            bias_name(i),
            vec![b.len()],
            b.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
    }
    let meta = HashMap::from([
        (FORMAT_KEY.to_string(), "1".to_string()),
        (
            CONFIG_KEY.to_string(),
            serde_json::to_string(&config).unwrap(),
        ),
    ]);
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    let p = d.join("wrong-shape.safetensors");
    std::fs::write(&p, safetensors::serialize(views, &Some(meta)).unwrap()).unwrap();
    let r = reason(Network::<f32, Cpu>::load(&p, &dev).unwrap_err());
    assert!(r.contains("layers.0.weight has shape [9, 2]"), "{r}");

    // a valid file of another network than expected
    let p = d.join("other.safetensors");
    other.save(&p).unwrap();
    let r = reason(Network::<f32, Cpu>::load_expecting(&p, &config, &dev).unwrap_err());
    assert!(r.contains("different network"), "{r}");

    // a safetensors file without our metadata
    let p = d.join("foreign.safetensors");
    let data = vec![0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).unwrap();
    std::fs::write(&p, safetensors::serialize([("x", view)], &None).unwrap()).unwrap();
    let r = reason(Network::<f32, Cpu>::load(&p, &dev).unwrap_err());
    assert!(r.contains("not written by siren-rs"), "{r}");
}

#[test]
fn saving_replaces_atomically_and_reports_unwritable_folders() {
    let dev = Cpu::default();
    let d = dir("atomic");
    let net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &dev).unwrap();
    let p = d.join("atomic.safetensors");
    std::fs::write(&p, b"old").unwrap();
    net.save(&p).unwrap();
    assert!(Network::<f32, Cpu>::load(&p, &dev).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    let e = net
        .save(d.join("no-such-folder").join("m.safetensors"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[test]
fn invalid_configs_are_rejected_with_the_field_named() {
    let dev = Cpu::default();
    let e = Network::<f32, Cpu>::new(
        NetworkConfig::siren(2, 1, 8, 1).with_w0(30.0, -1.0),
        0,
        &dev,
    )
    .unwrap_err();
    assert!(e.to_string().contains("hidden_w0"), "{e}");
    let e = Network::<f32, Cpu>::new(NetworkConfig::siren(0, 1, 8, 1), 0, &dev).unwrap_err();
    assert!(e.to_string().contains("in_features"), "{e}");
    // coordinates of the wrong width
    let net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &dev).unwrap();
    let x: Tensor<(usize, usize), f32, Cpu> = dev.zeros_like(&(4, 3));
    assert!(net.forward(&x).is_err());
    // config JSON rejects unknown keys
    let json = r#"{"in_features":2,"out_features":1,"hidden_features":8,"hidden_layers":1,"activation":{"kind":"relu"},"encoding":{"kind":"none"},"last_layer":"linear","extra":1}"#;
    assert!(serde_json::from_str::<NetworkConfig>(json).is_err());
}

#[test]
fn outputs_replace_only_regular_files() {
    let dev = Cpu::default();
    let d = dir("regular");
    let net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &dev).unwrap();
    // A symbolic link at the output path is refused and left pointing where it did.
    let target = d.join("precious.txt");
    std::fs::write(&target, b"keep me").unwrap();
    let link = d.join("link.safetensors");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = net.save(&link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    // A folder and a device are refused.
    let e = net.save(&d).unwrap_err();
    assert!(e.to_string().contains("folder"), "{e}");
    let e = net.save("/dev/null").unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A link planted under the old predictable temporary name is not written through.
    let planted = d.join(format!(".m.safetensors.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&planted);
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    net.save(d.join("m.safetensors")).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
}

#[test]
fn equal_models_give_equal_bytes() {
    // safetensors writes metadata in a HashMap's random order; ours is sorted.
    let dev = Cpu::default();
    let net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 8, 1), 0, &dev).unwrap();
    let first = net.to_safetensors().unwrap();
    for _ in 0..20 {
        assert_eq!(net.to_safetensors().unwrap(), first);
    }
    let again = Network::<f32, Cpu>::from_safetensors(&first, "m".as_ref(), &dev).unwrap();
    assert_eq!(again.to_host(), net.to_host());
}

/// A model file from explicit metadata and tensors.
fn model_file(config_json: &str, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes.iter().map(|(n, s, b)| {
        (
            n.as_str(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap(),
        )
    });
    let meta = HashMap::from([
        (FORMAT_KEY.to_string(), "1".to_string()),
        (CONFIG_KEY.to_string(), config_json.to_string()),
    ]);
    safetensors::serialize(views, &Some(meta)).unwrap()
}

#[test]
fn hostile_model_files_are_refused_before_allocating() {
    let dev = Cpu::default();
    let config = |layers: &str, width: &str| {
        format!(
            r#"{{"in_features":2,"out_features":1,"hidden_features":{width},"hidden_layers":{layers},"activation":{{"kind":"relu"}},"encoding":{{"kind":"none"}},"last_layer":"linear"}}"#
        )
    };
    for (layers, width, field) in [
        ("100000000", "8", "hidden_layers"),
        ("18446744073709551615", "8", "hidden_layers"),
        ("1", "1000000", "hidden_features"),
        ("1000", "16384", "parameters"),
    ] {
        let bytes = model_file(&config(layers, width), &[]);
        let e = Network::<f32, Cpu>::from_safetensors(&bytes, "m".as_ref(), &dev).unwrap_err();
        assert!(e.to_string().contains(field), "{layers} x {width}: {e}");
    }
    // Non-finite weights are an error naming the layer.
    let net = Network::<f32, Cpu>::new(NetworkConfig::relu(2, 1, 4, 0), 0, &dev).unwrap();
    let mut tensors = Vec::new();
    for (i, (w, b)) in net.to_host().into_iter().enumerate() {
        let (o, n) = (b.len(), w.len() / b.len());
        let mut w = w;
        if i == 1 {
            w[0] = f32::NAN;
        }
        tensors.push((weight_name(i), vec![o, n], w));
        tensors.push((bias_name(i), vec![o], b));
    }
    let json = serde_json::to_string(net.config()).unwrap();
    let bytes = model_file(&json, &tensors);
    let e = Network::<f32, Cpu>::from_safetensors(&bytes, "m".as_ref(), &dev).unwrap_err();
    assert!(reason(e).contains("layer 1 holds NaN"));
}
