//! The networks the PDE experiments compare: SIREN against tanh and ReLU MLPs of the same
//! size, at the quick (CPU) or paper (GPU) scale.

use siren_core::NetworkConfig;

/// Experiment size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Small networks and few steps: minutes on a 2-core CPU.
    Quick,
    /// The original settings.
    Paper,
}

/// `(name, config)` of SIREN, tanh and ReLU networks with `inputs -> width x 3 -> outputs`
/// (width 512 for the wave and 256 for Helmholtz at paper scale, 64 at quick scale).
pub fn compared_models(
    scale: Scale,
    inputs: usize,
    outputs: usize,
    paper_width: usize,
) -> Vec<(&'static str, NetworkConfig)> {
    let width = match scale {
        Scale::Quick => 64,
        Scale::Paper => paper_width,
    };
    vec![
        ("SIREN", NetworkConfig::siren(inputs, outputs, width, 3)),
        ("tanh", NetworkConfig::tanh(inputs, outputs, width, 3)),
        ("ReLU", NetworkConfig::relu(inputs, outputs, width, 3)),
    ]
}
