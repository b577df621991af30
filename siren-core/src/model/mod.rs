//! What a network is: its configuration, layers and initialisation, its activations and input
//! encoding with their derivatives (the formulas both backends evaluate), and convolution
//! layers. Nothing here runs a pass: evaluation is in [`crate::evaluate`], on the kernels of
//! [`crate::backend`].

pub mod activation;
pub mod config;
pub mod conv;
pub mod encoding;
pub mod network;
