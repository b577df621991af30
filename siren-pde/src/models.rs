//! The networks the PDE experiments compare: SIREN against tanh and ReLU MLPs of the same
//! size, and the scales the experiments run at.

use siren_core::NetworkConfig;

/// Experiment size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// A first look: a few minutes per experiment on a 2-core CPU (may miss the targets).
    Quick,
    /// The CPU scale whose results the reproduction report holds to the paper's (tens of
    /// minutes for all media and models on a 2-core CPU).
    Default,
    /// The original code's settings (a GPU and hours).
    Paper,
}

/// Width and depth of the compared networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Hidden width.
    pub width: usize,
    /// Hidden-to-hidden layers (the original code's count: 3 means 5 weight matrices).
    pub layers: usize,
}

/// `(name, config)` of SIREN, tanh and ReLU networks `inputs -> size -> outputs`.
pub fn compared_models(
    size: Size,
    inputs: usize,
    outputs: usize,
) -> Vec<(&'static str, NetworkConfig)> {
    let Size { width, layers } = size;
    vec![
        (
            "SIREN",
            NetworkConfig::siren(inputs, outputs, width, layers),
        ),
        ("tanh", NetworkConfig::tanh(inputs, outputs, width, layers)),
        ("ReLU", NetworkConfig::relu(inputs, outputs, width, layers)),
    ]
}

/// The learning rate of step `step` (1-based) of `steps`: `lr` decayed exponentially to
/// `lr * final_fraction` at the last step (`final_fraction = 1`: constant).
pub fn decayed_lr(lr: f64, final_fraction: f64, step: usize, steps: usize) -> f64 {
    if steps <= 1 || final_fraction == 1.0 {
        return lr;
    }
    lr * final_fraction.powf((step - 1) as f64 / (steps - 1) as f64)
}
