//! `siren export` and `siren import`: models to and from the original PyTorch code's layout
//! ([`siren_core::pytorch`]).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use siren_core::pytorch::{from_pytorch_siren, to_pytorch_siren, ImportOptions, Nonlinearity};
use siren_core::{Backend, Error, Network, Result};

/// The file formats `siren export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The original code's `SingleBVPNet` state_dict (`net.net.{i}.0.weight`) as safetensors,
    /// float32; `safetensors.torch.load_file` then `load_state_dict` read it.
    PytorchSiren,
}

#[derive(Args, Clone, Debug)]
pub struct ExportArgs {
    /// A siren-rs model file (`model.safetensors` of any run).
    model: PathBuf,
    /// The format to write.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The file to write (an existing one only with --overwrite).
    #[arg(long)]
    out: PathBuf,
}

/// The nonlinearities `siren import` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NonlinearityArg {
    Sine,
    Relu,
    Tanh,
}

#[derive(Args, Clone, Debug)]
pub struct ImportArgs {
    /// A PyTorch SIREN as safetensors: written by `siren export --format pytorch-siren`, or
    /// converted from an original `.pth` checkpoint by `bench/pytorch_interop.py convert`.
    file: PathBuf,
    /// The hidden nonlinearity; default: the file's metadata, else sine.
    #[arg(long, value_enum)]
    activation: Option<NonlinearityArg>,
    /// omega_0 of every sine layer; default: 30, the original's (fixed in its code).
    #[arg(long)]
    w0: Option<f64>,
    /// Hidden-to-hidden layers, checked against the file (they are counted from its tensors).
    #[arg(long)]
    hidden_layers: Option<usize>,
    /// The siren-rs model file to write (an existing one only with --overwrite).
    #[arg(long)]
    out: PathBuf,
}

/// Most bytes of a model file read (the largest network allowed, in f64, with room).
const MAX_MODEL_BYTES: u64 = 20 << 30;

pub fn export<D: Backend<f32>>((a, overwrite): (ExportArgs, bool), dev: &D) -> Result<()> {
    check_output(&a.out, &a.model, overwrite)?;
    let net = Network::<f32, D>::load(&a.model, dev)?;
    let bytes = match a.format {
        ExportFormat::PytorchSiren => to_pytorch_siren(&net)?,
    };
    siren_core::io::write_atomic(&a.out, &bytes)?;
    println!(
        "wrote {} ({} layers, SingleBVPNet layout)",
        a.out.display(),
        net.layers().len()
    );
    Ok(())
}

pub fn import<D: Backend<f32>>((a, overwrite): (ImportArgs, bool), dev: &D) -> Result<()> {
    check_output(&a.out, &a.file, overwrite)?;
    if let Some(w0) = a.w0 {
        if !(w0.is_finite() && w0 > 0.0) {
            return Err(Error::InvalidInput(format!(
                "--w0 must be a finite number > 0 (the original uses 30), got {w0}"
            )));
        }
    }
    siren_core::io::check_input_file(&a.file, "PyTorch SIREN safetensors file", MAX_MODEL_BYTES)?;
    let bytes = std::fs::read(&a.file).map_err(|source| Error::Io {
        action: "cannot read",
        path: a.file.clone(),
        source,
    })?;
    let options = ImportOptions {
        nonlinearity: a.activation.map(|n| match n {
            NonlinearityArg::Sine => Nonlinearity::Sine,
            NonlinearityArg::Relu => Nonlinearity::Relu,
            NonlinearityArg::Tanh => Nonlinearity::Tanh,
        }),
        w0: a.w0,
        hidden_layers: a.hidden_layers,
    };
    let net = from_pytorch_siren::<f32, D>(&bytes, &a.file, &options, dev)?;
    net.save(&a.out)?;
    let c = net.config();
    println!(
        "wrote {}: {} inputs, width {}, {} hidden-to-hidden layers, {} outputs, {:?}",
        a.out.display(),
        c.in_features,
        c.hidden_features,
        c.hidden_layers,
        c.out_features,
        c.activation
    );
    Ok(())
}

/// The output must not be the input, and replaces an existing file only with `--overwrite`.
fn check_output(out: &Path, input: &Path, overwrite: bool) -> Result<()> {
    crate::output_is_not_an_input(out, &[input])?;
    if !overwrite && out.symlink_metadata().is_ok() {
        return Err(Error::InvalidInput(format!(
            "{} exists: pass --overwrite to replace it, or choose another --out",
            out.display()
        )));
    }
    Ok(())
}
