//! Networks in the original PyTorch code's layout, both ways.
//!
//! The original SIREN code builds its coordinate networks as `SingleBVPNet`: an `FCBlock` of
//! `Sequential(Linear, nonlinearity)` blocks with a linear last block, so its `state_dict` names
//! layer `i`'s tensors `net.net.{i}.0.weight` (shape `(out, in)`) and `net.net.{i}.0.bias`.
//! Its sine is $\sin(30 x)$, with $\omega_0 = 30$ fixed in the code for every layer.
//!
//! [`to_pytorch_siren`] writes such a `state_dict` as safetensors (float32, the original's
//! type), which `safetensors.torch.load_file` reads and `load_state_dict` accepts. The header
//! metadata holds `format` = `"pt"` (as `safetensors.torch.save_file` writes) and
//! [`CONSTRUCTOR_KEY`], the `SingleBVPNet` keyword arguments as JSON
//! (`{"type": "sine", "in_features": 2, "out_features": 1, "hidden_features": 256,
//! "num_hidden_layers": 3}`), so a script can build the module before loading it.
//! Networks the original cannot represent are refused: $\omega_0 \ne 30$, a sine last layer,
//! and the positional-encoding baseline (whose octaves the original derives from the image
//! size, not from anything stored).
//!
//! [`from_pytorch_siren`] reads such a file, ours or converted from an original `.pth`
//! checkpoint (`bench/pytorch_interop.py convert`): the layer count and widths come from the
//! tensor shapes, the nonlinearity and $\omega_0$ from the metadata or the caller
//! ([`ImportOptions`]).

use std::collections::HashMap;
use std::path::Path;

use dfdx::prelude::*;
use safetensors::tensor::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::{read_layers, serialize_layers};
use crate::model::config::{Activation, BiasInit, Encoding, LastLayer, NetworkConfig, DEFAULT_W0};
use crate::model::network::Network;
use crate::Float;

/// The original code's $\omega_0$, fixed in its `Sine` module.
pub const ORIGINAL_W0: f64 = DEFAULT_W0;
/// Metadata key of the `SingleBVPNet` constructor arguments (JSON).
pub const CONSTRUCTOR_KEY: &str = "siren_rs.single_bvp_net";

const WHAT: &str = "PyTorch SIREN (SingleBVPNet state_dict) safetensors file";
const PREFIX: &str = "net.net.";

/// Name of layer `i`'s weight in the original's `state_dict`.
pub fn weight_name(i: usize) -> String {
    format!("{PREFIX}{i}.0.weight")
}

/// Name of layer `i`'s bias in the original's `state_dict`.
pub fn bias_name(i: usize) -> String {
    format!("{PREFIX}{i}.0.bias")
}

/// The original's name of a hidden nonlinearity (`SingleBVPNet(type=...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Nonlinearity {
    /// $\sin(30 x)$.
    #[default]
    Sine,
    /// ReLU.
    Relu,
    /// tanh.
    Tanh,
}

/// The keyword arguments of the original's `SingleBVPNet` for a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SingleBvpNet {
    /// The hidden nonlinearity.
    #[serde(rename = "type")]
    pub nonlinearity: Nonlinearity,
    /// Input coordinates.
    pub in_features: usize,
    /// Output channels.
    pub out_features: usize,
    /// Width of the hidden layers.
    pub hidden_features: usize,
    /// Hidden-to-hidden layers (as [`NetworkConfig::hidden_layers`]).
    pub num_hidden_layers: usize,
}

impl SingleBvpNet {
    /// The original's arguments for `config`, or an error that says what it cannot represent.
    pub fn of(config: &NetworkConfig) -> Result<Self> {
        let refuse = |why: String| {
            Err(Error::InvalidInput(format!(
                "the original code's SingleBVPNet cannot represent this network: {why}"
            )))
        };
        let nonlinearity = match config.activation {
            Activation::Sine {
                first_w0,
                hidden_w0,
            } => {
                if first_w0 != ORIGINAL_W0 || hidden_w0 != ORIGINAL_W0 {
                    return refuse(format!(
                        "its sine layers use w0 = {first_w0} (first) and {hidden_w0} (hidden), \
                         but the original's Sine is sin(30 x) in every layer; keep the siren-rs \
                         model file, or retrain with --w0 30"
                    ));
                }
                Nonlinearity::Sine
            }
            Activation::Relu => Nonlinearity::Relu,
            Activation::Tanh => Nonlinearity::Tanh,
        };
        if config.last_layer != LastLayer::Linear {
            return refuse("its last layer is a sine layer; SingleBVPNet's is linear".into());
        }
        if let Encoding::Positional { frequencies } = config.encoding {
            return refuse(format!(
                "it has a positional encoding ({frequencies} octaves), which the original \
                 derives from the image size rather than storing it"
            ));
        }
        Ok(Self {
            nonlinearity,
            in_features: config.in_features,
            out_features: config.out_features,
            hidden_features: config.hidden_features,
            num_hidden_layers: config.hidden_layers,
        })
    }

    /// The siren-rs config of this network, with `w0` in every sine layer.
    pub fn config(&self, w0: f64) -> NetworkConfig {
        let base = NetworkConfig::siren(
            self.in_features,
            self.out_features,
            self.hidden_features,
            self.num_hidden_layers,
        );
        let config = match self.nonlinearity {
            Nonlinearity::Sine => base.with_w0(w0, w0),
            Nonlinearity::Relu => NetworkConfig {
                activation: Activation::Relu,
                ..base
            },
            Nonlinearity::Tanh => NetworkConfig {
                activation: Activation::Tanh,
                ..base
            },
        };
        // The original keeps PyTorch's default biases (it matters only for a fresh init).
        config.with_bias_init(BiasInit::Pytorch)
    }
}

/// `network` as a safetensors file in the original's layout (see the module docs).
pub fn to_pytorch_siren<E: Float, D: Device<E>>(network: &Network<E, D>) -> Result<Vec<u8>> {
    let constructor = SingleBvpNet::of(network.config())?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            CONSTRUCTOR_KEY.to_string(),
            serde_json::to_string(&constructor).expect("arguments serialise"),
        ),
    ]);
    // The original's networks are float32.
    serialize_layers::<f32, E, D>(network, &|i| (weight_name(i), bias_name(i)), metadata)
}

/// What a PyTorch file does not say; `None` takes it from the file's metadata, else the
/// original's value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// The hidden nonlinearity (the original's default: sine).
    pub nonlinearity: Option<Nonlinearity>,
    /// $\omega_0$ of every sine layer (the original's: 30).
    pub w0: Option<f64>,
    /// Hidden-to-hidden layers, checked against the file's layer count.
    pub hidden_layers: Option<usize>,
}

/// Reads a `SingleBVPNet` `state_dict` in safetensors (see the module docs); `origin` names
/// the source in errors.
pub fn from_pytorch_siren<E: Float, D: Device<E>>(
    bytes: &[u8],
    origin: &Path,
    options: &ImportOptions,
    device: &D,
) -> Result<Network<E, D>> {
    let bad = |reason: String| Error::BadFile {
        path: origin.to_path_buf(),
        what: WHAT,
        reason,
    };
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a readable safetensors file ({e:?}); for an original .pth checkpoint run \
             `python bench/pytorch_interop.py convert` first"
        ))
    })?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("unreadable header ({e:?})")))?;
    let stored: Option<SingleBvpNet> = match header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONSTRUCTOR_KEY))
    {
        Some(json) => Some(
            serde_json::from_str(json)
                .map_err(|e| bad(format!("its {CONSTRUCTOR_KEY} metadata is invalid: {e}")))?,
        ),
        None => None,
    };
    let shapes = layer_shapes(&file).map_err(bad)?;
    let layers = shapes.len();
    if file.len() != 2 * layers {
        return Err(bad(format!(
            "it has {} tensors for {layers} weights; each layer has a weight and a bias",
            file.len()
        )));
    }
    if layers < 2 {
        return Err(bad(format!(
            "it has {layers} layer(s); a SingleBVPNet has at least 2 (input and output)"
        )));
    }
    if let Some(wanted) = options.hidden_layers {
        if wanted + 2 != layers {
            return Err(bad(format!(
                "it has {} hidden-to-hidden layers ({layers} in all), not the {wanted} given",
                layers - 2
            )));
        }
    }
    let nonlinearity = match (
        stored.as_ref().map(|s| s.nonlinearity),
        options.nonlinearity,
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(format!(
                "its metadata says the network is {a:?}, but {b:?} was given"
            )))
        }
        (a, b) => b.or(a).unwrap_or_default(),
    };
    let (fan_in, hidden) = shapes[0];
    let constructor = SingleBvpNet {
        nonlinearity,
        in_features: fan_in,
        out_features: shapes[layers - 1].1,
        hidden_features: hidden,
        num_hidden_layers: layers - 2,
    };
    if let Some(s) = &stored {
        if *s != constructor {
            return Err(bad(format!(
                "its metadata describes {s:?} but its tensors {constructor:?}"
            )));
        }
    }
    let w0 = options.w0.unwrap_or(ORIGINAL_W0);
    let config = constructor.config(w0);
    config
        .validate()
        .map_err(|e| bad(format!("it describes an invalid network: {e}")))?;
    if config.layer_shapes() != shapes {
        return Err(bad(format!(
            "its layers {shapes:?} (fan in, fan out) do not chain into an MLP of width {hidden}"
        )));
    }
    let host = read_layers(
        &file,
        &shapes,
        &|i| (weight_name(i), bias_name(i)),
        origin,
        WHAT,
    )?;
    Network::from_host(config, host, device)
}

/// `(fan_in, fan_out)` of each `net.net.{i}.0.weight`, `i = 0, 1, ...`; errors on any other
/// tensor, a gap in the numbering, or a weight that is not a matrix.
fn layer_shapes(file: &SafeTensors) -> std::result::Result<Vec<(usize, usize)>, String> {
    let mut shapes: Vec<Option<(usize, usize)>> = Vec::new();
    for name in file.names() {
        let layer = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(".0."))
            .and_then(|(i, kind)| Some((i.parse::<usize>().ok()?, kind)))
            .filter(|(_, kind)| *kind == "weight" || *kind == "bias");
        let Some((i, kind)) = layer else {
            return Err(format!(
                "tensor {name:?} is not a SingleBVPNet layer (names are net.net.{{i}}.0.weight \
                 and .bias); pass the network's own state_dict, not a whole training state"
            ));
        };
        if i >= crate::model::config::MAX_HIDDEN_LAYERS + 2 {
            return Err(format!("tensor {name:?}: too many layers"));
        }
        if kind == "weight" {
            let view = file.tensor(name).map_err(|e| format!("{name}: {e:?}"))?;
            let &[fan_out, fan_in] = view.shape() else {
                return Err(format!(
                    "tensor {name} has shape {:?}; a weight is a matrix (out, in)",
                    view.shape()
                ));
            };
            if shapes.len() <= i {
                shapes.resize(i + 1, None);
            }
            shapes[i] = Some((fan_in, fan_out));
        }
    }
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| format!("tensor {} is missing", weight_name(i))))
        .collect()
}
