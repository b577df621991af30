//! Training checkpoints: the parameters of any [`Parameters`] model, Adam's moments and step
//! count, and caller metadata (a JSON config, an RNG position), in one safetensors file written
//! atomically.
//!
//! | name | meaning |
//! |---|---|
//! | `params.{i}.weight`, `params.{i}.bias` | map `i` of [`Parameters::dense`] |
//! | `adam.{i}.weight.m`, `.v`, `adam.{i}.bias.m`, `.v` | Adam's moments of that map |
//!
//! Metadata: `siren_rs.format` = `"1"`, `siren_rs.kind` = `"checkpoint"`, `siren_rs.adam_step`,
//! plus every caller key. The caller rebuilds the model from its own metadata, then
//! [`load_checkpoint`] fills it in and checks every shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use safetensors::tensor::{SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::io::{serialize_sorted, write_atomic, FORMAT_KEY, FORMAT_VERSION};
use crate::model::config::NetworkConfig;
use crate::model::network::{Network, Parameters};
use crate::optim::Adam;
use crate::Float;

const KIND_KEY: &str = "siren_rs.kind";
const STEP_KEY: &str = "siren_rs.adam_step";

fn bad(path: &Path, reason: String) -> Error {
    Error::BadFile {
        path: PathBuf::from(path),
        what: "siren-rs checkpoint",
        reason,
    }
}

/// Writes `model`, `adam` and `metadata` to `path` atomically.
pub fn save_checkpoint<E: Float, D: Device<E>>(
    path: &Path,
    model: &impl Parameters<E, D>,
    adam: &Adam<E, D>,
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let mut meta = metadata.clone();
    meta.insert(FORMAT_KEY.into(), FORMAT_VERSION.into());
    meta.insert(KIND_KEY.into(), "checkpoint".into());
    meta.insert(STEP_KEY.into(), adam.step.to_string());
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let dense = model.dense();
    if dense.len() != adam.moments.len() {
        return Err(Error::InvalidInput(
            "the optimiser was made for another model".into(),
        ));
    }
    for (i, (layer, m)) in dense.iter().zip(&adam.moments).enumerate() {
        let ws = layer.weight.shape();
        let w_shape = vec![ws.0, ws.1];
        let b_shape = vec![layer.bias.shape().0];
        let mut push = |name: String, shape: &Vec<usize>, data: Vec<E>| {
            buffers.push((name, shape.clone(), E::encode_le(&data)))
        };
        push(
            format!("params.{i}.weight"),
            &w_shape,
            layer.weight.as_vec(),
        );
        push(format!("params.{i}.bias"), &b_shape, layer.bias.as_vec());
        let [wm, wv, bm, bv] = m.values();
        push(format!("adam.{i}.weight.m"), &w_shape, wm);
        push(format!("adam.{i}.weight.v"), &w_shape, wv);
        push(format!("adam.{i}.bias.m"), &b_shape, bm);
        push(format!("adam.{i}.bias.v"), &b_shape, bv);
    }
    let views = buffers.iter().map(|(name, shape, bytes)| {
        let view = TensorView::new(E::SAFETENSORS_DTYPE, shape.clone(), bytes)
            .expect("sizes agree by construction");
        (name.as_str(), view)
    });
    let bytes = serialize_sorted(views, meta)
        .map_err(|e| Error::InvalidInput(format!("cannot serialise the checkpoint: {e}")))?;
    write_atomic(path, &bytes)
}

/// Reads only the metadata of a checkpoint (to rebuild the model it describes).
pub fn checkpoint_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = read(path)?;
    metadata_of(&bytes, path)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

fn metadata_of(bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        bad(
            path,
            format!("unreadable header ({e:?}); was it truncated or is it another format?"),
        )
    })?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get(KIND_KEY).map(String::as_str) != Some("checkpoint")
        || meta.get(FORMAT_KEY).map(String::as_str) != Some(FORMAT_VERSION)
    {
        return Err(bad(
            path,
            format!("it is not a format-{FORMAT_VERSION} siren-rs checkpoint"),
        ));
    }
    Ok(meta)
}

/// Fills `model` and `adam` from a checkpoint written by [`save_checkpoint`] for a model of the
/// same shape, and returns its metadata.
pub fn load_checkpoint<E: Float, D: Device<E>>(
    path: &Path,
    model: &mut impl Parameters<E, D>,
    adam: &mut Adam<E, D>,
) -> Result<HashMap<String, String>> {
    let bytes = read(path)?;
    let meta = metadata_of(&bytes, path)?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(path, format!("not a readable safetensors file ({e:?})")))?;
    let step: u64 = meta
        .get(STEP_KEY)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(path, format!("metadata has no valid {STEP_KEY}")))?;
    let expected = 6 * model.dense().len();
    if file.len() != expected || adam.moments.len() * 6 != expected {
        return Err(bad(
            path,
            format!(
                "it holds {} tensors but this model needs {expected}: it was written for another model",
                file.len()
            ),
        ));
    }
    let get = |name: String, shape: &[usize]| -> Result<Vec<E>> {
        let view = file
            .tensor(&name)
            .map_err(|_| bad(path, format!("tensor {name} is missing")))?;
        if view.shape() != shape {
            return Err(bad(
                path,
                format!(
                    "tensor {name} has shape {:?} but this model needs {shape:?}",
                    view.shape()
                ),
            ));
        }
        if view.dtype() != E::SAFETENSORS_DTYPE {
            return Err(bad(
                path,
                format!(
                    "tensor {name} is {:?}, not this run's float type",
                    view.dtype()
                ),
            ));
        }
        Ok(E::decode_le(view.data()))
    };
    // Read everything first, so a bad file leaves the model and optimiser untouched.
    let mut loaded = Vec::new();
    for (i, layer) in model.dense().iter().enumerate() {
        let ws = layer.weight.shape();
        let w = [ws.0, ws.1];
        let b = [layer.bias.shape().0];
        loaded.push([
            get(format!("params.{i}.weight"), &w)?,
            get(format!("params.{i}.bias"), &b)?,
            get(format!("adam.{i}.weight.m"), &w)?,
            get(format!("adam.{i}.weight.v"), &w)?,
            get(format!("adam.{i}.bias.m"), &b)?,
            get(format!("adam.{i}.bias.v"), &b)?,
        ]);
    }
    for ((layer, m), [w, b, wm, wv, bm, bv]) in model
        .dense_mut()
        .into_iter()
        .zip(adam.moments.iter_mut())
        .zip(loaded)
    {
        layer.weight.copy_from(&w);
        layer.bias.copy_from(&b);
        m.set_values([&wm, &wv, &bm, &bv]);
    }
    adam.step = step;
    Ok(meta)
}

/// The metadata key under which the checkpoints of a one-network run carry its
/// [`NetworkConfig`] as JSON, so a reader (a viewer, `siren serve`'s live previews) can rebuild
/// the network without knowing the run's settings.
pub const NETWORK_KEY: &str = "siren_rs.network";

/// The metadata entry [`load_network`] reads: `network`'s config under [`NETWORK_KEY`].
pub fn network_entry<E: Float, D: Device<E>>(network: &Network<E, D>) -> (String, String) {
    let json = serde_json::to_string(network.config()).expect("a network config serialises");
    (NETWORK_KEY.to_string(), json)
}

/// The network of a checkpoint written with a [`network_entry`] (its weights at that step;
/// Adam's moments are read and dropped).
pub fn load_network<E: Float, D: Device<E>>(path: &Path, device: &D) -> Result<Network<E, D>> {
    let meta = checkpoint_metadata(path)?;
    let json = meta.get(NETWORK_KEY).ok_or_else(|| {
        bad(
            path,
            format!("it does not say which network it holds (no {NETWORK_KEY}); it was written by another kind of run"),
        )
    })?;
    let config: NetworkConfig = serde_json::from_str(json).map_err(|e| {
        bad(
            path,
            format!("its {NETWORK_KEY} is not a network config ({e})"),
        )
    })?;
    let mut network = Network::new(config, 0, device)?;
    let mut adam = Adam::new(&network, crate::AdamConfig::default())?;
    load_checkpoint(path, &mut network, &mut adam)?;
    Ok(network)
}
