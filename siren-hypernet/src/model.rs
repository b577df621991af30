//! Encoders, the hypernetwork, and the SIRENs it emits, evaluated batched.
//!
//! For a batch of $B$ faces with context masks, an encoder gives latents $z \in
//! \mathbb{R}^{B \times k}$. For every tensor $p_j$ of the generated SIREN
//! ($W_0, b_0, \dots, W_L, b_L$) a ReLU MLP maps $z \mapsto p_j$ (batch of $B$ tensors).
//! The SIREN for face $i$ is then
//! $$\Phi_i(x) = W^i_L h_{L} + b^i_L, \quad h_{l+1} = \sin\big(\omega_0 (W^i_l h_l + b^i_l)\big),
//!   \ h_0 = x,$$
//! evaluated for all faces at once as batched matrix products (one weight matrix per face).
//!
//! Initialisation as the original code: every MLP is Kaiming-normal except its last layer,
//! whose weights are divided by 100 so the first SIRENs vary little between faces, and whose
//! bias sets the typical generated tensor: $U(-1/n, 1/n)$ for a SIREN weight of fan-in $n$,
//! $U(-1/\sqrt{m}, 1/\sqrt{m})$ for a SIREN bias ($m$ = the MLP's hidden width).

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use siren_core::model::conv::{Conv2d, Patches};
use siren_core::Backend;
use siren_core::{Dense, Matrix, Parameters, Stack};
use siren_core::{Error, Float, LastLayer, Network, NetworkConfig, Order, Result, Tracer};

/// Which encoder turns context pixels into a latent code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderKind {
    /// Convolutional encoder on the context image (unknown pixels set to 0).
    Cnn,
    /// Set encoder over `(row, col, r, g, b)` of the context pixels, sine activations.
    SetSine,
    /// Set encoder with ReLU activations.
    SetRelu,
    /// The convolutional encoder with partial convolutions, which see the mask.
    PartialCnn,
}

impl EncoderKind {
    /// Every encoder, in the paper's table order.
    pub const ALL: [EncoderKind; 4] = [
        EncoderKind::Cnn,
        EncoderKind::SetSine,
        EncoderKind::SetRelu,
        EncoderKind::PartialCnn,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            EncoderKind::Cnn => "cnn",
            EncoderKind::SetSine => "set-sine",
            EncoderKind::SetRelu => "set-relu",
            EncoderKind::PartialCnn => "partial-cnn",
        }
    }
}

/// What turns a latent code into pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecoderKind {
    /// The hypernetwork: one ReLU MLP per tensor of a SIREN, which then renders the face.
    #[default]
    Hypernet,
    /// A conditional neural process's decoder (Garnelo et al. 2018): one ReLU MLP on the
    /// pixel coordinate and the latent code, `(x, z) -> rgb`, shared by every face.
    Mlp,
}

/// Shape of the whole model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypernetConfig {
    /// Encoder.
    pub encoder: EncoderKind,
    /// Side of the (square) faces.
    pub image_size: usize,
    /// Latent size $k$.
    pub latent: usize,
    /// Hidden width of the generated SIREN.
    pub siren_width: usize,
    /// Hidden-to-hidden layers of the generated SIREN (3: `2 -> w -> w -> w -> w -> 3`).
    pub siren_hidden_layers: usize,
    /// $\omega_0$ of every sine layer of the generated SIREN.
    pub w0: f64,
    /// Hidden width of each hypernetwork MLP.
    pub hyper_width: usize,
    /// Hidden-to-hidden layers of each hypernetwork MLP (1: `k -> m -> m -> numel`).
    pub hyper_hidden_layers: usize,
    /// Channels of the convolutional encoders (the first convolution has half).
    pub cnn_channels: usize,
    /// Residual blocks of 5x5 convolutions in the convolutional encoders.
    pub cnn_blocks: usize,
    /// Give the CNN encoder (not the partial one, which has the mask already) a fourth input
    /// channel: 1 where the pixel is known. The original's CNN sees only the zero-filled image;
    /// trained for minutes, that CNN cannot tell dense contexts from sparse ones and does
    /// worse with 1000 pixels than with 100 (see the crate docs).
    #[serde(default)]
    pub cnn_mask_channel: bool,
    /// Width of the set encoders.
    pub set_width: usize,
    /// Hidden layers of the set encoders.
    pub set_hidden_layers: usize,
    /// The decoder. With [`DecoderKind::Mlp`] the `siren_*` fields are unused, and the MLP has
    /// width `hyper_width` and `hyper_hidden_layers + 2` hidden layers.
    #[serde(default)]
    pub decoder: DecoderKind,
}

impl HypernetConfig {
    /// The paper's model: 2 -> 256x3 -> 3 SIREN (198,915 parameters), latent 256,
    /// MLPs 256 -> 256 -> 256 -> numel, CNN with 256 channels and four residual blocks.
    pub fn paper(encoder: EncoderKind) -> Self {
        Self {
            encoder,
            image_size: 32,
            latent: 256,
            siren_width: 256,
            siren_hidden_layers: 3,
            w0: 30.0,
            hyper_width: 256,
            hyper_hidden_layers: 1,
            cnn_channels: 256,
            cnn_blocks: 4,
            cnn_mask_channel: false,
            set_width: 256,
            set_hidden_layers: 2,
            decoder: DecoderKind::Hypernet,
        }
    }

    /// A CPU-sized model with the same structure: SIREN 2 -> 64x3 -> 3, latent 128, MLPs of
    /// width 128, CNN with 16 channels and one residual block.
    pub fn quick(encoder: EncoderKind) -> Self {
        Self {
            encoder,
            image_size: 32,
            latent: 128,
            siren_width: 64,
            siren_hidden_layers: 3,
            w0: 30.0,
            hyper_width: 128,
            hyper_hidden_layers: 1,
            cnn_channels: 16,
            cnn_blocks: 1,
            cnn_mask_channel: true,
            set_width: 128,
            set_hidden_layers: 2,
            decoder: DecoderKind::Hypernet,
        }
    }

    /// The conditional neural process of Garnelo et al. (2018) at the sizes of `like`: its ReLU
    /// set encoder with mean aggregation, and an MLP decoder on `(x, y, z)` (see
    /// [`DecoderKind::Mlp`]).
    pub fn cnp(like: &Self) -> Self {
        Self {
            encoder: EncoderKind::SetRelu,
            decoder: DecoderKind::Mlp,
            ..like.clone()
        }
    }

    /// Name in tables and output folders: the encoder's, or `cnp`.
    pub fn name(&self) -> &'static str {
        match self.decoder {
            DecoderKind::Hypernet => self.encoder.name(),
            DecoderKind::Mlp => "cnp",
        }
    }

    /// Input channels of the convolutional encoders: RGB, plus the known-pixel mask for the
    /// plain CNN when [`HypernetConfig::cnn_mask_channel`] is on.
    pub fn cnn_input_channels(&self) -> usize {
        if self.encoder == EncoderKind::Cnn && self.cnn_mask_channel {
            4
        } else {
            3
        }
    }

    /// The generated SIREN as a siren-core config (sine everywhere, linear last layer).
    pub fn siren(&self) -> NetworkConfig {
        NetworkConfig::siren(2, 3, self.siren_width, self.siren_hidden_layers)
            .with_w0(self.w0, self.w0)
            .with_last_layer(LastLayer::Linear)
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("image_size", self.image_size),
            ("latent", self.latent),
            ("siren_width", self.siren_width),
            ("hyper_width", self.hyper_width),
            ("cnn_channels", self.cnn_channels),
            ("set_width", self.set_width),
        ] {
            if v == 0 {
                return Err(Error::InvalidConfig(format!(
                    "{name} must be at least 1, got 0"
                )));
            }
        }
        if self.cnn_channels < 2 {
            return Err(Error::InvalidConfig(
                "cnn_channels must be at least 2".into(),
            ));
        }
        // Far beyond the paper's sizes (32, 256, 256 x 3): a corrupt or hostile checkpoint is
        // an error here, before anything is allocated.
        for (name, v, max) in [
            ("image_size", self.image_size, 1024),
            ("latent", self.latent, 65_536),
            ("hyper_width", self.hyper_width, 16_384),
            ("hyper_hidden_layers", self.hyper_hidden_layers, 64),
            ("cnn_channels", self.cnn_channels, 4096),
            ("cnn_blocks", self.cnn_blocks, 64),
            ("set_width", self.set_width, 16_384),
            ("set_hidden_layers", self.set_hidden_layers, 64),
        ] {
            if v > max {
                return Err(Error::InvalidConfig(format!(
                    "{name} must be at most {max}, got {v}"
                )));
            }
        }
        // Each head emits one tensor of the generated SIREN from a hyper_width-wide MLP.
        let siren = self.siren();
        siren.validate()?;
        let heads: u128 = siren
            .layer_shapes()
            .iter()
            .map(|&(i, o)| (i as u128 * o as u128 + o as u128) * (self.hyper_width as u128 + 1))
            .sum();
        if heads > siren_core::model::config::MAX_PARAMETERS {
            return Err(Error::InvalidConfig(format!(
                "the hypernetwork's heads would have {heads} parameters; at most {} are \
                 allowed: use a smaller siren_width or hyper_width",
                siren_core::model::config::MAX_PARAMETERS
            )));
        }
        Ok(())
    }
}

/// A batch the encoders read: faces and which of their pixels are known.
#[derive(Clone, Debug)]
pub struct Context {
    /// Side of the faces.
    pub size: usize,
    /// `(batch * size * size, 3)` values in $[-1, 1]$, face by face, row-major.
    pub pixels: Vec<f64>,
    /// `batch * size * size` flags: the pixel is in the context.
    pub known: Vec<bool>,
}

impl Context {
    /// Number of faces.
    pub fn batch(&self) -> usize {
        self.known.len() / (self.size * self.size)
    }
}

/// The encoder's layers.
#[derive(Clone, Debug)]
enum Encoder<E: Float, D: Backend<E>> {
    Set {
        net: Network<E, D>,
        relu: bool,
    },
    Conv {
        convs: Vec<Conv2d<E, D>>,
        positions: Dense<E, D>,
        partial: bool,
    },
}

/// The decoder's layers.
#[derive(Clone, Debug)]
enum Decoder<E: Float, D: Backend<E>> {
    /// One MLP per generated SIREN tensor: weights and biases of each layer in turn.
    Heads(Vec<Network<E, D>>),
    /// The first layer's map of the latent code and of the coordinate (its two blocks of
    /// columns, kept apart so the code is mapped once per face, not once per pixel), then
    /// the rest of the MLP.
    Mlp(Box<MlpDecoder<E, D>>),
}

/// See [`Decoder::Mlp`].
#[derive(Clone, Debug)]
struct MlpDecoder<E: Float, D: Backend<E>> {
    latent_map: Dense<E, D>,
    coord_map: Dense<E, D>,
    rest: Network<E, D>,
}

/// Encoder + decoder (a hypernetwork, or a CNP's MLP); see the module docs.
#[derive(Clone, Debug)]
pub struct Hypernet<E: Float, D: Backend<E>> {
    config: HypernetConfig,
    encoder: Encoder<E, D>,
    decoder: Decoder<E, D>,
    device: D,
}

/// The SIREN tensors emitted for a batch, `(batch, numel)` each, with their shapes.
#[derive(Clone, Debug)]
pub struct Generated<E: Float, D: Backend<E>> {
    /// Per SIREN layer: weights `(batch, out * in)` and biases `(batch, out)`.
    pub layers: Vec<(Matrix<E, D>, Matrix<E, D>)>,
    /// `(fan_in, fan_out)` per layer.
    pub shapes: Vec<(usize, usize)>,
    /// The latent codes `(batch, k)`.
    pub latent: Matrix<E, D>,
}

impl<E: Float, D: Backend<E>> Parameters<E, D> for Hypernet<E, D> {
    fn dense(&self) -> Vec<&Dense<E, D>> {
        let mut out: Vec<&Dense<E, D>> = match &self.encoder {
            Encoder::Set { net, .. } => net.dense(),
            Encoder::Conv {
                convs, positions, ..
            } => convs
                .iter()
                .map(|c| &c.map)
                .chain(std::iter::once(positions))
                .collect(),
        };
        match &self.decoder {
            Decoder::Heads(heads) => heads.iter().for_each(|h| out.extend(h.dense())),
            Decoder::Mlp(mlp) => {
                let MlpDecoder {
                    latent_map,
                    coord_map,
                    rest,
                } = &**mlp;
                out.extend([latent_map, coord_map]);
                out.extend(rest.dense());
            }
        }
        out
    }
    fn dense_mut(&mut self) -> Vec<&mut Dense<E, D>> {
        let mut out: Vec<&mut Dense<E, D>> = match &mut self.encoder {
            Encoder::Set { net, .. } => net.dense_mut(),
            Encoder::Conv {
                convs, positions, ..
            } => convs
                .iter_mut()
                .map(|c| &mut c.map)
                .chain(std::iter::once(positions))
                .collect(),
        };
        match &mut self.decoder {
            Decoder::Heads(heads) => heads.iter_mut().for_each(|h| out.extend(h.dense_mut())),
            Decoder::Mlp(mlp) => {
                let MlpDecoder {
                    latent_map,
                    coord_map,
                    rest,
                } = &mut **mlp;
                out.extend([latent_map, coord_map]);
                out.extend(rest.dense_mut());
            }
        }
        out
    }
}

fn relu_of<E: Float, D: Backend<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Matrix<E, D>,
) -> Matrix<E, D> {
    tr.apply(x, |x| x.relu())
}

impl<E: Float, D: Backend<E>> Hypernet<E, D> {
    /// A freshly initialised model (see the module docs), drawn from `seed`.
    pub fn new(config: HypernetConfig, seed: u64, device: &D) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoder = match config.encoder {
            EncoderKind::SetSine | EncoderKind::SetRelu => {
                let relu = config.encoder == EncoderKind::SetRelu;
                let net_config = if relu {
                    NetworkConfig::relu(
                        5,
                        config.latent,
                        config.set_width,
                        config.set_hidden_layers,
                    )
                } else {
                    NetworkConfig::siren(
                        5,
                        config.latent,
                        config.set_width,
                        config.set_hidden_layers,
                    )
                    .with_last_layer(LastLayer::Sine)
                };
                Encoder::Set {
                    net: Network::new(net_config, rng.gen(), device)?,
                    relu,
                }
            }
            EncoderKind::Cnn | EncoderKind::PartialCnn => {
                let c = config.cnn_channels;
                let mut convs = vec![
                    Conv2d::new(device, config.cnn_input_channels(), c / 2, 3, &mut rng),
                    Conv2d::new(device, c / 2, c, 3, &mut rng),
                ];
                for _ in 0..config.cnn_blocks {
                    convs.push(Conv2d::new(device, c, c, 5, &mut rng));
                    convs.push(Conv2d::new(device, c, c, 5, &mut rng));
                }
                convs.push(Conv2d::new(device, c, config.latent, 1, &mut rng));
                let n = config.image_size * config.image_size;
                let bound = 1.0 / (n as f64).sqrt();
                let mut draw = |count: usize| -> Vec<E> {
                    (0..count)
                        .map(|_| E::of(rng.gen_range(-bound..bound)))
                        .collect()
                };
                let positions = Dense {
                    weight: device.tensor_from_vec(draw(n), (1, n)),
                    bias: device.tensor_from_vec(draw(1), (1,)),
                };
                Encoder::Conv {
                    convs,
                    positions,
                    partial: config.encoder == EncoderKind::PartialCnn,
                }
            }
        };
        let decoder = match config.decoder {
            DecoderKind::Hypernet => {
                let mut heads = Vec::new();
                for (fan_in, fan_out) in config.siren().layer_shapes() {
                    for is_bias in [false, true] {
                        let numel = if is_bias { fan_out } else { fan_in * fan_out };
                        let head_config = NetworkConfig::relu(
                            config.latent,
                            numel,
                            config.hyper_width,
                            config.hyper_hidden_layers,
                        );
                        let mut head = Network::new(head_config, rng.gen(), device)?;
                        let last = head.layers_mut().last_mut().expect("an MLP has layers");
                        last.weight = last.weight.clone() * E::of(0.01);
                        let bound = if is_bias {
                            1.0 / (config.hyper_width as f64).sqrt()
                        } else {
                            1.0 / fan_in as f64
                        };
                        let bias: Vec<E> = (0..numel)
                            .map(|_| E::of(rng.gen_range(-bound..bound)))
                            .collect();
                        last.bias = device.tensor_from_vec(bias, (numel,));
                        heads.push(head);
                    }
                }
                Decoder::Heads(heads)
            }
            DecoderKind::Mlp => {
                // PyTorch's default init of the first layer, U(+-1/sqrt(fan_in)) over its
                // k + 2 inputs, drawn as one layer and split by columns.
                let (k, m) = (config.latent, config.hyper_width);
                let bound = 1.0 / ((k + 2) as f64).sqrt();
                let mut draw = |count: usize| -> Vec<E> {
                    (0..count)
                        .map(|_| E::of(rng.gen_range(-bound..bound)))
                        .collect()
                };
                let latent_map = Dense {
                    weight: device.tensor_from_vec(draw(m * k), (m, k)),
                    bias: device.tensor_from_vec(draw(m), (m,)),
                };
                let coord_map = Dense {
                    weight: device.tensor_from_vec(draw(m * 2), (m, 2)),
                    bias: device.tensor_from_vec(vec![E::zero(); m], (m,)),
                };
                let rest_config = NetworkConfig::relu(m, 3, m, config.hyper_hidden_layers);
                Decoder::Mlp(Box::new(MlpDecoder {
                    latent_map,
                    coord_map,
                    rest: Network::new(rest_config, rng.gen(), device)?,
                }))
            }
        };
        Ok(Self {
            config,
            encoder,
            decoder,
            device: device.clone(),
        })
    }

    /// The device the model lives on.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The model's shape.
    pub fn config(&self) -> &HypernetConfig {
        &self.config
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.dense()
            .iter()
            .map(|d| d.weight.shape().0 * d.weight.shape().1 + d.bias.shape().0)
            .sum()
    }

    /// Latent codes `(batch, k)` of a context batch.
    pub fn encode<T: Tape<E, D>>(
        &self,
        context: &Context,
        tr: &mut Tracer<E, D, T>,
    ) -> Result<Matrix<E, D>> {
        let s = self.config.image_size;
        let hw = s * s;
        if context.size != s || context.pixels.len() != context.known.len() * 3 {
            return Err(Error::InvalidInput(format!(
                "the context holds {}x{} faces but the model takes {s}x{s}",
                context.size, context.size
            )));
        }
        let b = context.batch();
        let dev = &self.device;
        match &self.encoder {
            Encoder::Set { net, relu } => {
                // The context pixels of all faces, packed one after another (no padding: sizes
                // vary up to 100-fold within a batch), go through the network as one matrix;
                // the masked mean is then one product with a (faces, pixels) matrix holding
                // 1/count where a pixel belongs to the face and 0 elsewhere.
                let counts: Vec<usize> = (0..b)
                    .map(|i| {
                        context.known[i * hw..(i + 1) * hw]
                            .iter()
                            .filter(|&&k| k)
                            .count()
                    })
                    .collect();
                if counts.contains(&0) {
                    return Err(Error::InvalidInput(
                        "a set encoder needs at least one context pixel per face".into(),
                    ));
                }
                let total: usize = counts.iter().sum();
                let coords = siren_core::train::grid(&[s, s]);
                let mut rows = Vec::with_capacity(total * 5);
                let mut weights = vec![E::zero(); b * total];
                let mut slot = 0;
                for i in 0..b {
                    for p in 0..hw {
                        if context.known[i * hw + p] {
                            rows.extend_from_slice(&coords[p * 2..p * 2 + 2]);
                            rows.extend_from_slice(
                                &context.pixels[(i * hw + p) * 3..(i * hw + p + 1) * 3],
                            );
                            weights[i * total + slot] = E::of(1.0 / counts[i] as f64);
                            slot += 1;
                        }
                    }
                }
                let x = siren_core::train::to_matrix::<E, D>(dev, &rows, 5);
                let mut h = net.jet(&x, Order::Value, tr)?.value;
                if *relu {
                    h = relu_of(tr, h);
                }
                let w: Matrix<E, D> = dev.tensor_from_vec(weights, (b, total));
                // w @ h. Both operands go through apply2 because dfdx wants the tape on the
                // left operand of a product; transposing h instead (h^T w^T) gave wrong
                // gradients for h (caught by the finite-difference test).
                Ok(tr.apply2(w, h, |w, h| w.matmul(h)))
            }
            Encoder::Conv {
                convs,
                positions,
                partial,
            } => {
                let mut mask: Vec<bool> = if *partial {
                    context.known.clone()
                } else {
                    vec![true; b * hw]
                };
                let channels = self.config.cnn_input_channels();
                let with_mask = channels == 4;
                let x: Vec<f64> = context
                    .pixels
                    .chunks(3)
                    .zip(&context.known)
                    .flat_map(|(v, &k)| {
                        let known = if k { 1.0 } else { 0.0 };
                        v.iter()
                            .map(move |&v| v * known)
                            .chain(with_mask.then_some(known))
                    })
                    .collect();
                let mut h = siren_core::train::to_matrix::<E, D>(dev, &x, channels);
                let patches3 = Patches::new(dev, b, s, s, 3)?;
                let patches5 = Patches::new(dev, b, s, s, 5)?;
                let patches1 = Patches::new(dev, b, s, s, 1)?;
                let n_blocks = self.config.cnn_blocks;
                let conv = |tr: &mut Tracer<E, D, T>,
                            h: Matrix<E, D>,
                            layer: &Conv2d<E, D>,
                            mask: &mut Vec<bool>|
                 -> Result<Matrix<E, D>> {
                    let patches = match layer.kernel {
                        1 => &patches1,
                        3 => &patches3,
                        _ => &patches5,
                    };
                    if *partial {
                        let (y, next) = layer.forward_partial(tr, h, patches, mask, b, s, s)?;
                        *mask = next;
                        Ok(y)
                    } else {
                        layer.forward(tr, h, patches)
                    }
                };
                h = conv(tr, h, &convs[0], &mut mask)?;
                h = relu_of(tr, h);
                h = conv(tr, h, &convs[1], &mut mask)?;
                h = relu_of(tr, h);
                for block in 0..n_blocks {
                    let y = conv(tr, h.clone(), &convs[2 + 2 * block], &mut mask)?;
                    let y = relu_of(tr, y);
                    let y = conv(tr, y, &convs[3 + 2 * block], &mut mask)?;
                    let y = relu_of(tr, y);
                    h = tr.apply2(h, y, |h, y| (h + y).relu());
                }
                h = conv(tr, h, &convs[2 + 2 * n_blocks], &mut mask)?;
                h = relu_of(tr, h);
                // One linear map across the positions, per channel: (b, hw, k) -> (b, k).
                let k = self.config.latent;
                let w = positions.weight.clone();
                let bias = positions
                    .bias
                    .clone()
                    .broadcast_like::<_, Axis<0>>(&(b * k, 1));
                let y = tr.apply2(h, w, |h, w| {
                    let h = h
                        .reshape_like(&(b, hw, k))
                        .permute::<(usize, usize, usize), Axes3<0, 2, 1>>();
                    h.matmul(w.permute::<(usize, usize), Axes2<1, 0>>())
                        .reshape_like(&(b * k, 1))
                });
                Ok(tr.apply(y, |y| (y + bias).reshape_like(&(b, k))))
            }
        }
    }

    /// The SIREN tensors for latent codes `z` `(batch, k)`.
    pub fn generate<T: Tape<E, D>>(
        &self,
        z: Matrix<E, D>,
        tr: &mut Tracer<E, D, T>,
    ) -> Result<Generated<E, D>> {
        let Decoder::Heads(heads) = &self.decoder else {
            return Err(Error::InvalidInput(
                "a CNP's decoder generates no SIREN; use `complete`".into(),
            ));
        };
        let shapes = self.config.siren().layer_shapes();
        let mut layers = Vec::with_capacity(shapes.len());
        for pair in heads.chunks(2) {
            let w = pair[0].jet(&z, Order::Value, tr)?.value;
            let b = pair[1].jet(&z, Order::Value, tr)?.value;
            layers.push((w, b));
        }
        Ok(Generated {
            layers,
            shapes,
            latent: z,
        })
    }

    /// Evaluates the generated SIRENs at `coords` `(n, 2)`: `(batch, n, 3)`.
    pub fn render<T: Tape<E, D>>(
        &self,
        generated: &Generated<E, D>,
        coords: &Matrix<E, D>,
        tr: &mut Tracer<E, D, T>,
    ) -> Result<Stack<E, D>> {
        let d = coords.shape().1;
        if d != 2 {
            return Err(Error::InvalidInput(format!(
                "coordinates have {d} columns, not 2"
            )));
        }
        siren_core::batched_siren(tr, coords, &generated.layers, E::of(self.config.w0))
    }

    /// Encodes, generates and renders every pixel of the faces: `(batch, size^2, 3)`.
    pub fn complete<T: Tape<E, D>>(
        &self,
        context: &Context,
        tr: &mut Tracer<E, D, T>,
    ) -> Result<(Generated<E, D>, Stack<E, D>)> {
        let z = self.encode(context, tr)?;
        let s = self.config.image_size;
        let coords = siren_core::train::to_matrix::<E, D>(
            &self.device,
            &siren_core::train::grid(&[s, s]),
            2,
        );
        match &self.decoder {
            Decoder::Heads(_) => {
                let generated = self.generate(z, tr)?;
                let image = self.render(&generated, &coords, tr)?;
                Ok((generated, image))
            }
            Decoder::Mlp(mlp) => {
                let image = decode_mlp(mlp, z.clone(), &coords, tr)?;
                let generated = Generated {
                    layers: Vec::new(),
                    shapes: Vec::new(),
                    latent: z,
                };
                Ok((generated, image))
            }
        }
    }

    /// Face `i`'s generated SIREN as a siren-core [`Network`].
    pub fn siren_of(&self, generated: &Generated<E, D>, i: usize) -> Result<Network<E, D>> {
        if generated.layers.is_empty() {
            return Err(Error::InvalidInput(
                "a CNP's decoder generates no SIREN".into(),
            ));
        }
        let layers = generated
            .layers
            .iter()
            .map(|(w, b)| {
                let (wv, bv) = (w.as_vec(), b.as_vec());
                let (wn, bn) = (w.shape().1, b.shape().1);
                (
                    wv[i * wn..(i + 1) * wn].to_vec(),
                    bv[i * bn..(i + 1) * bn].to_vec(),
                )
            })
            .collect();
        Network::from_host(self.config.siren(), layers, &self.device)
    }
}

/// The CNP decoder at every coordinate of every face: `(batch, n, 3)`.
///
/// Its first layer is $W_z z + W_x x + b$, the MLP's first layer on the concatenation
/// $(z, x)$; mapping $z$ once per face and $x$ once per coordinate and adding the two by
/// broadcasting costs $O(B k m + n m)$ instead of the $O(B n k m)$ of a concatenated input.
fn decode_mlp<E: Float, D: Backend<E>, T: Tape<E, D>>(
    mlp: &MlpDecoder<E, D>,
    z: Matrix<E, D>,
    coords: &Matrix<E, D>,
    tr: &mut Tracer<E, D, T>,
) -> Result<Stack<E, D>> {
    let MlpDecoder {
        latent_map,
        coord_map,
        rest,
    } = mlp;
    let (b, _) = *z.shape();
    let (n, _) = *coords.shape();
    let m = latent_map.weight.shape().0;
    let hz = tr.apply2(z, latent_map.weight.clone(), |z, w| {
        z.matmul(w.permute::<(usize, usize), Axes2<1, 0>>())
    });
    let hz = tr.apply2(hz, latent_map.bias.clone(), |h, bias| {
        h + bias.broadcast_like::<_, Axis<0>>(&(b, m))
    });
    let hx = tr.apply2(coords.clone(), coord_map.weight.clone(), |x, w| {
        x.matmul(w.permute::<(usize, usize), Axes2<1, 0>>())
    });
    let hx = tr.apply2(hx, coord_map.bias.clone(), |h, bias| {
        h + bias.broadcast_like::<_, Axis<0>>(&(n, m))
    });
    let h = tr.apply2(hz, hx, |hz, hx| {
        (hz.broadcast_like::<_, Axis<1>>(&(b, n, m)) + hx.broadcast_like::<_, Axis<0>>(&(b, n, m)))
            .relu()
            .reshape_like(&(b * n, m))
    });
    let y = rest.jet(&h, Order::Value, tr)?.value;
    Ok(tr.apply(y, |y| y.reshape_like(&(b, n, 3))))
}
