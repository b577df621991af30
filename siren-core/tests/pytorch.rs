//! Networks in the original PyTorch layout: the round trip, the names PyTorch needs, and what
//! is refused.

use std::collections::HashMap;
use std::path::Path;

use dfdx::prelude::*;
use safetensors::tensor::{SafeTensors, TensorView};
use siren_core::pytorch::{
    bias_name, from_pytorch_siren, to_pytorch_siren, weight_name, ImportOptions, Nonlinearity,
    CONSTRUCTOR_KEY,
};
use siren_core::train::{grid, to_matrix};
use siren_core::{Activation, Error, Network, NetworkConfig};

fn outputs(net: &Network<f32, Cpu>, dev: &Cpu) -> Vec<f32> {
    let d = net.config().in_features;
    let x = to_matrix::<f32, Cpu>(dev, &grid(&vec![5; d]), d);
    net.forward(&x).unwrap().as_vec()
}

fn import(bytes: &[u8], options: &ImportOptions) -> siren_core::Result<Network<f32, Cpu>> {
    from_pytorch_siren(
        bytes,
        Path::new("test.safetensors"),
        options,
        &Cpu::default(),
    )
}

/// A hand-written state_dict as PyTorch's `save_file` would write it (no siren-rs metadata).
fn state_dict(shapes: &[(usize, usize)], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let mut buffers = Vec::new();
    for (i, &(fan_in, fan_out)) in shapes.iter().enumerate() {
        let w: Vec<f32> = (0..fan_in * fan_out)
            .map(|k| (k as f32 * 0.37).sin() * 0.1)
            .collect();
        let b: Vec<f32> = (0..fan_out).map(|k| k as f32 * 0.01).collect();
        buffers.push((weight_name(i), vec![fan_out, fan_in], bytes_of(&w)));
        buffers.push((bias_name(i), vec![fan_out], bytes_of(&b)));
    }
    let views = buffers.iter().map(|(n, s, b)| {
        (
            n.as_str(),
            TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap(),
        )
    });
    safetensors::serialize(views, &metadata).unwrap()
}

fn bytes_of(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn export_then_import_gives_the_same_network() {
    let dev = Cpu::default();
    for config in [
        NetworkConfig::siren(2, 3, 24, 2),
        NetworkConfig::relu(3, 1, 16, 1),
        NetworkConfig::tanh(1, 2, 8, 0),
    ] {
        let net = Network::<f32, Cpu>::new(config.clone(), 5, &dev).unwrap();
        let bytes = to_pytorch_siren(&net).unwrap();
        let back = import(&bytes, &ImportOptions::default()).unwrap();
        assert_eq!(back.config().activation, config.activation);
        assert_eq!(back.config().layer_shapes(), config.layer_shapes());
        assert_eq!(back.to_host(), net.to_host(), "{config:?}");
        assert_eq!(outputs(&back, &dev), outputs(&net, &dev), "{config:?}");
    }
}

#[test]
fn the_export_has_the_original_names_types_and_constructor() {
    let dev = Cpu::default();
    let net = Network::<f64, Cpu>::new(NetworkConfig::siren(2, 1, 16, 3), 1, &dev).unwrap();
    let bytes = to_pytorch_siren(&net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = file.names().into_iter().cloned().collect();
    names.sort();
    let mut expected: Vec<String> = (0..5)
        .flat_map(|i| {
            [
                format!("net.net.{i}.0.weight"),
                format!("net.net.{i}.0.bias"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    let first = file.tensor("net.net.0.0.weight").unwrap();
    assert_eq!(
        first.dtype(),
        safetensors::Dtype::F32,
        "the original is float32"
    );
    assert_eq!(first.shape(), &[16, 2], "PyTorch's (out, in)");
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "pt");
    let constructor: serde_json::Value = serde_json::from_str(&meta[CONSTRUCTOR_KEY]).unwrap();
    assert_eq!(
        constructor,
        serde_json::json!({"type": "sine", "in_features": 2, "out_features": 1,
                           "hidden_features": 16, "num_hidden_layers": 3})
    );
}

#[test]
fn what_the_original_cannot_represent_is_refused() {
    let dev = Cpu::default();
    let refused = |config: NetworkConfig, needle: &str| {
        let net = Network::<f32, Cpu>::new(config, 0, &dev).unwrap();
        match to_pytorch_siren(&net) {
            Err(Error::InvalidInput(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected a refusal naming {needle}, got {other:?}"),
        }
    };
    refused(
        NetworkConfig::siren(2, 1, 8, 1).with_w0(20.0, 30.0),
        "w0 = 20",
    );
    refused(
        NetworkConfig::siren(2, 1, 8, 1).with_w0(30.0, 10.0),
        "sin(30 x)",
    );
    refused(
        NetworkConfig::siren(2, 1, 8, 1).with_last_layer(siren_core::LastLayer::Sine),
        "last layer",
    );
    refused(
        NetworkConfig::relu_positional(2, 1, 8, 1, 4),
        "positional encoding",
    );
}

#[test]
fn a_plain_state_dict_imports_with_the_original_defaults_or_the_options() {
    let bytes = state_dict(&[(2, 12), (12, 12), (12, 12), (12, 3)], None);
    let net = import(&bytes, &ImportOptions::default()).unwrap();
    let c = net.config();
    assert_eq!(
        (
            c.in_features,
            c.hidden_features,
            c.hidden_layers,
            c.out_features
        ),
        (2, 12, 2, 3)
    );
    assert_eq!(
        c.activation,
        Activation::Sine {
            first_w0: 30.0,
            hidden_w0: 30.0
        }
    );
    let options = ImportOptions {
        nonlinearity: Some(Nonlinearity::Sine),
        w0: Some(60.0),
        hidden_layers: Some(2),
    };
    let net = import(&bytes, &options).unwrap();
    assert_eq!(
        net.config().activation,
        Activation::Sine {
            first_w0: 60.0,
            hidden_w0: 60.0
        }
    );
    let relu = ImportOptions {
        nonlinearity: Some(Nonlinearity::Relu),
        ..Default::default()
    };
    assert_eq!(
        import(&bytes, &relu).unwrap().config().activation,
        Activation::Relu
    );
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let refused = |bytes: &[u8], options: &ImportOptions, needle: &str| match import(bytes, options)
    {
        Err(Error::BadFile { reason, .. }) => assert!(reason.contains(needle), "{reason}"),
        other => panic!(
            "expected a refusal naming {needle}, got {:?}",
            other.map(|_| ())
        ),
    };
    let good = state_dict(&[(2, 8), (8, 8), (8, 1)], None);
    let wrong_count = ImportOptions {
        hidden_layers: Some(3),
        ..Default::default()
    };
    refused(&good, &wrong_count, "not the 3 given");
    refused(
        b"not a safetensors file",
        &ImportOptions::default(),
        "pytorch_interop.py convert",
    );
    refused(
        &state_dict(&[(2, 8)], None),
        &ImportOptions::default(),
        "at least 2",
    );
    refused(
        &state_dict(&[(2, 8), (9, 8), (8, 1)], None),
        &ImportOptions::default(),
        "do not chain",
    );
    // Another module's tensors.
    let other = {
        let w = bytes_of(&[0.0; 4]);
        let view = TensorView::new(safetensors::Dtype::F32, vec![2, 2], &w).unwrap();
        safetensors::serialize([("encoder.weight", view)], &None).unwrap()
    };
    refused(
        &other,
        &ImportOptions::default(),
        "not a SingleBVPNet layer",
    );
    // Metadata that says ReLU against an option that says tanh.
    let meta = HashMap::from([(
        CONSTRUCTOR_KEY.to_string(),
        r#"{"type": "relu", "in_features": 2, "out_features": 1, "hidden_features": 8, "num_hidden_layers": 1}"#
            .to_string(),
    )]);
    let with_meta = state_dict(&[(2, 8), (8, 8), (8, 1)], Some(meta));
    assert_eq!(
        import(&with_meta, &ImportOptions::default())
            .unwrap()
            .config()
            .activation,
        Activation::Relu
    );
    let tanh = ImportOptions {
        nonlinearity: Some(Nonlinearity::Tanh),
        ..Default::default()
    };
    refused(&with_meta, &tanh, "metadata says");
}
