//! Network configurations: SIREN and the baselines it is compared with.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The paper's $\omega_0 = 30$, for the first and the hidden sine layers.
pub const DEFAULT_W0: f64 = 30.0;

/// The nonlinearity of the hidden layers, which also fixes the weight initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Activation {
    /// $\sin(\omega_0 (Wx + b))$ with the SIREN initialisation.
    Sine {
        /// $\omega_0$ of the first layer.
        first_w0: f64,
        /// $\omega_0$ of every later sine layer.
        hidden_w0: f64,
    },
    /// ReLU with Kaiming-normal (fan-in) weights, as the original code's baseline.
    Relu,
    /// tanh with Xavier-normal weights, as the original code's baseline.
    Tanh,
}

/// Most inputs a network takes (coordinates, or a hypernetwork's latent code).
pub const MAX_IN_FEATURES: usize = 1 << 16;
/// Most outputs a network gives (a hypernetwork head emits a whole layer's weights).
pub const MAX_OUT_FEATURES: usize = 1 << 20;
/// Widest hidden layer.
pub const MAX_HIDDEN_FEATURES: usize = 16_384;
/// Most hidden-to-hidden layers.
pub const MAX_HIDDEN_LAYERS: usize = 1024;
/// Most trainable scalars (8 GB of f32 weights, before Adam's state).
pub const MAX_PARAMETERS: u128 = 1 << 31;

/// A fixed (untrained) encoding applied to the input coordinates before the first layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Encoding {
    /// Coordinates are fed as they are.
    None,
    /// NeRF-style: $[x, \sin(2^k \pi x_j), \cos(2^k \pi x_j)]$ for $k < $ `frequencies`.
    Positional {
        /// Number of octaves $L$; the encoding has $d(1 + 2L)$ features.
        frequencies: usize,
    },
}

/// The last layer: linear (the default, for signals of any range) or a sine layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastLayer {
    /// $W x + b$.
    Linear,
    /// $\sin(\omega_0 (W x + b))$ with the hidden $\omega_0$; sine networks only.
    Sine,
}

/// How sine layers draw their biases (ReLU and tanh layers always use PyTorch's default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasInit {
    /// From the layer's weight law, so $\omega_0 b$ has variance $2/n$: the init theory's
    /// statistics hold whatever $\omega_0$ (this crate's default; see [`crate::Network::new`]).
    #[default]
    WeightLaw,
    /// PyTorch's default $U(-1/\sqrt n, 1/\sqrt n)$, which the original code keeps.
    Pytorch,
}

/// Shape and kind of a coordinate network. Stored in model files as JSON.
///
/// `hidden_layers` counts the hidden-to-hidden layers, as the original code does: a network
/// with `hidden_layers = 3` has 5 weight matrices (input, 3 hidden, output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Number of input coordinates $d$.
    pub in_features: usize,
    /// Number of output channels.
    pub out_features: usize,
    /// Width of every hidden layer.
    pub hidden_features: usize,
    /// Number of hidden-to-hidden layers.
    pub hidden_layers: usize,
    /// Hidden nonlinearity and its initialisation.
    pub activation: Activation,
    /// Encoding of the input coordinates.
    pub encoding: Encoding,
    /// Linear or sine output layer.
    pub last_layer: LastLayer,
    /// Bias initialisation of sine layers.
    #[serde(default)]
    pub bias_init: BiasInit,
}

impl NetworkConfig {
    /// A SIREN with $\omega_0 = 30$ everywhere and a linear last layer.
    pub fn siren(in_features: usize, out_features: usize, hidden: usize, layers: usize) -> Self {
        Self {
            in_features,
            out_features,
            hidden_features: hidden,
            hidden_layers: layers,
            activation: Activation::Sine {
                first_w0: DEFAULT_W0,
                hidden_w0: DEFAULT_W0,
            },
            encoding: Encoding::None,
            last_layer: LastLayer::Linear,
            bias_init: BiasInit::WeightLaw,
        }
    }

    /// A ReLU MLP baseline.
    pub fn relu(in_features: usize, out_features: usize, hidden: usize, layers: usize) -> Self {
        Self {
            activation: Activation::Relu,
            ..Self::siren(in_features, out_features, hidden, layers)
        }
    }

    /// A tanh MLP baseline.
    pub fn tanh(in_features: usize, out_features: usize, hidden: usize, layers: usize) -> Self {
        Self {
            activation: Activation::Tanh,
            ..Self::siren(in_features, out_features, hidden, layers)
        }
    }

    /// A ReLU MLP on a NeRF-style positional encoding with `frequencies` octaves.
    pub fn relu_positional(
        in_features: usize,
        out_features: usize,
        hidden: usize,
        layers: usize,
        frequencies: usize,
    ) -> Self {
        Self {
            encoding: Encoding::Positional { frequencies },
            ..Self::relu(in_features, out_features, hidden, layers)
        }
    }

    /// Sets $\omega_0$ of the first and hidden sine layers (sine networks only).
    pub fn with_w0(mut self, first_w0: f64, hidden_w0: f64) -> Self {
        self.activation = Activation::Sine {
            first_w0,
            hidden_w0,
        };
        self
    }

    /// Sets how sine layers draw their biases.
    pub fn with_bias_init(mut self, bias_init: BiasInit) -> Self {
        self.bias_init = bias_init;
        self
    }

    /// Sets the last layer.
    pub fn with_last_layer(mut self, last_layer: LastLayer) -> Self {
        self.last_layer = last_layer;
        self
    }

    /// Number of features the first layer sees after the encoding.
    pub fn encoded_features(&self) -> usize {
        match self.encoding {
            Encoding::None => self.in_features,
            Encoding::Positional { frequencies } => self.in_features * (1 + 2 * frequencies),
        }
    }

    /// The positional encoding's octaves (0 without one).
    fn frequencies(&self) -> usize {
        match self.encoding {
            Encoding::Positional { frequencies } => frequencies.min(32),
            Encoding::None => 0,
        }
    }

    /// `(fan_in, fan_out)` of each weight matrix, first layer first.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let h = self.hidden_features;
        let mut shapes = vec![(self.encoded_features(), h)];
        shapes.extend(std::iter::repeat_n((h, h), self.hidden_layers));
        shapes.push((h, self.out_features));
        shapes
    }

    /// Total number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.layer_shapes().iter().map(|(i, o)| i * o + o).sum()
    }

    /// Checks every value, returning a message that names the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        for (name, v) in [
            ("in_features", self.in_features),
            ("out_features", self.out_features),
            ("hidden_features", self.hidden_features),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1, got 0"));
            }
        }
        // Bounds far beyond any experiment, so that a corrupt or hostile file or flag is an
        // error here and not an allocation of gigabytes further on.
        for (name, v, max) in [
            ("in_features", self.in_features, MAX_IN_FEATURES),
            ("out_features", self.out_features, MAX_OUT_FEATURES),
            ("hidden_features", self.hidden_features, MAX_HIDDEN_FEATURES),
            ("hidden_layers", self.hidden_layers, MAX_HIDDEN_LAYERS),
        ] {
            if v > max {
                return bad(format!("{name} must be at most {max}, got {v}"));
            }
        }
        let (h, layers) = (self.hidden_features as u128, self.hidden_layers as u128);
        let encoded = self.in_features as u128 * (1 + 2 * self.frequencies() as u128);
        let count = (encoded + 1) * h + layers * (h + 1) * h + (h + 1) * self.out_features as u128;
        if count > MAX_PARAMETERS {
            return bad(format!(
                "the network would have {count} parameters ({:.1} GB in f32); at most \
                 {MAX_PARAMETERS} are allowed: use fewer or narrower hidden layers",
                count as f64 * 4e-9
            ));
        }
        if let Activation::Sine {
            first_w0,
            hidden_w0,
        } = self.activation
        {
            for (name, w0) in [("first_w0", first_w0), ("hidden_w0", hidden_w0)] {
                if !(w0.is_finite() && w0 > 0.0) {
                    return bad(format!(
                        "{name} must be a finite number > 0 (the paper uses 30), got {w0}"
                    ));
                }
            }
        } else if self.last_layer == LastLayer::Sine {
            return bad("last_layer = \"sine\" needs a sine activation; use \"linear\"".into());
        }
        if let Encoding::Positional { frequencies } = self.encoding {
            if !(1..=32).contains(&frequencies) {
                return bad(format!(
                    "positional encoding frequencies must be in 1..=32, got {frequencies}"
                ));
            }
        }
        Ok(())
    }
}
