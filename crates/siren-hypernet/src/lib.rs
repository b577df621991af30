//! # siren-hypernet (not built yet)
//!
//! Will own the CelebA loader (official layout, any stored size, centre crop to 32x32), the
//! encoders (CNN, set encoders, partial-convolution CNN), the hypernetwork that maps a latent
//! code to the weights of a 2 -> 256x3 -> 3 SIREN, and the evaluation of reconstruction error
//! against the number of context pixels. Nothing is implemented yet.
