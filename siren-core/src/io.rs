//! Saving and loading networks as safetensors files, and writing files atomically.
//!
//! # File format
//! A standard safetensors file. Tensors, for each layer `i` from the input (0) to the output:
//!
//! | name | shape | meaning |
//! |---|---|---|
//! | `layers.{i}.weight` | `(out, in)` | $W$ of $x \mapsto Wx + b$ (PyTorch's layout) |
//! | `layers.{i}.bias` | `(out,)` | $b$ |
//!
//! stored as `F32` or `F64` (the network's float type; loading converts if it differs).
//! The header metadata holds `siren_rs.format` = `"1"` and `siren_rs.config`, the
//! [`NetworkConfig`] as JSON. These names are stable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use safetensors::tensor::{SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::model::config::NetworkConfig;
use crate::model::network::{HostLayer, Network};
use crate::Float;

/// Metadata key of the format version.
pub const FORMAT_KEY: &str = "siren_rs.format";
/// Current format version.
pub const FORMAT_VERSION: &str = "1";
/// Metadata key of the JSON [`NetworkConfig`].
pub const CONFIG_KEY: &str = "siren_rs.config";

/// Name of layer `i`'s weight tensor.
pub fn weight_name(i: usize) -> String {
    format!("layers.{i}.weight")
}

/// Name of layer `i`'s bias tensor.
pub fn bias_name(i: usize) -> String {
    format!("layers.{i}.bias")
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so the
/// file is either the old one or the complete new one, never half-written. Only a regular
/// file (or nothing) at `path` is replaced: a symbolic link, a device, a folder or a pipe
/// there is an error and is left as it is.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        use std::io::Write;
        let io = |action, source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        // The temporary file exists already (made exclusively): open it, do not create.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| io("cannot create a file beside", e))?;
        f.write_all(bytes).map_err(|e| io("cannot write", e))?;
        f.sync_all().map_err(|e| io("cannot write", e))
    })
}

/// Like [`write_atomic`] for writers that need a path (e.g. an HDF5 library): `write` fills
/// the temporary file it is given, which then replaces `path` by a rename; on error the
/// temporary file is removed and `path` is untouched.
///
/// The temporary file gets an unpredictable name and is created exclusively
/// (`create_new`) before `write` sees it, so a file or link planted under a guessed name is
/// never written through.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_replaceable(path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("{} does not name a file", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|source| Error::Io {
            action: "cannot create a file beside",
            path: path.to_path_buf(),
            source,
        })?;
    let result = write(&tmp).and_then(|()| {
        // Checked again: the target may have changed while the file was written.
        check_replaceable(path)?;
        std::fs::rename(&tmp, path).map_err(|source| Error::Io {
            action: "cannot replace",
            path: path.to_path_buf(),
            source,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `values`, row-major of `shape`, as a NumPy `.npy` file of little-endian float32
/// (format 1.0, what `numpy.load` reads), atomically.
pub fn write_npy(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    if shape.iter().product::<usize>() != values.len() {
        return Err(Error::InvalidInput(format!(
            "{} values do not fill the shape {shape:?}",
            values.len()
        )));
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Magic (6), version (2) and length (2), then the header padded with spaces and ended by
    // a newline so the data starts on a 64-byte boundary.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&<f32 as Float>::encode_le(values));
    write_atomic(path, &bytes)
}

/// FNV-1a of `bytes`: a fingerprint of data (a face cache's listing, an image's values), not
/// a cryptographic hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks an input file before reading it: it must be a regular file (not a folder, device
/// or pipe, whose reading might never end) of at most `max_bytes`. Returns its size; errors
/// name the file and `what` it should be.
pub fn check_input_file(path: &Path, what: &'static str, max_bytes: u64) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        action: "cannot read the input",
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |reason: String| Error::BadFile {
        path: path.to_path_buf(),
        what,
        reason,
    };
    if !meta.is_file() {
        return Err(bad(
            "it is not a regular file (a folder, device or pipe)".into()
        ));
    }
    if meta.len() > max_bytes {
        return Err(bad(format!(
            "it is {} bytes; at most {max_bytes} are read",
            meta.len()
        )));
    }
    Ok(meta.len())
}

/// Errors unless `path` is a regular file or does not exist.
pub fn check_replaceable(path: &Path) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::InvalidInput(format!(
            "{} is {what}; outputs only replace regular files: choose another path",
            path.display()
        )))
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => refuse("a symbolic link"),
        Ok(m) if m.is_dir() => refuse("a folder"),
        Ok(m) if !m.is_file() => refuse("not a regular file (a device, pipe or socket)"),
        _ => Ok(()),
    }
}

/// Serialises tensors with their metadata as safetensors, the metadata's keys in sorted
/// order: safetensors writes a `HashMap` in its random order, so equal contents would give
/// files whose bytes differ.
pub(crate) fn serialize_sorted<'a>(
    views: impl IntoIterator<Item = (&'a str, TensorView<'a>)>,
    metadata: HashMap<String, String>,
) -> std::result::Result<Vec<u8>, safetensors::SafeTensorError> {
    let mut bytes = safetensors::serialize(views, &Some(metadata))?;
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).expect("safetensors wrote valid JSON");
    // The same keys and values in another order: the same length, so offsets hold.
    let sorted = serde_json::to_string(&sorted_keys(&header)).expect("JSON serialises");
    let sorted = sorted.as_bytes();
    let body = std::str::from_utf8(&bytes[8..8 + n]).expect("JSON is UTF-8");
    let trimmed = body.trim_end().len();
    if sorted.len() == trimmed {
        bytes[8..8 + trimmed].copy_from_slice(sorted);
    }
    Ok(bytes)
}

/// `v` with every object's keys in sorted order.
fn sorted_keys(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let ordered: std::collections::BTreeMap<&String, serde_json::Value> =
                map.iter().map(|(k, v)| (k, sorted_keys(v))).collect();
            serde_json::Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

impl<E: Float, D: Device<E>> Network<E, D> {
    /// Serialises the network to safetensors bytes (see the module docs for the layout).
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let config = serde_json::to_string(self.config()).expect("config serialises");
        let metadata = HashMap::from([
            (FORMAT_KEY.to_string(), FORMAT_VERSION.to_string()),
            (CONFIG_KEY.to_string(), config),
        ]);
        serialize_layers::<E, E, D>(self, &|i| (weight_name(i), bias_name(i)), metadata)
    }

    /// Saves to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_safetensors()?)
    }

    /// Loads a network saved by [`Network::save`]; its config comes from the file.
    pub fn load(path: impl AsRef<Path>, device: &D) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_safetensors(&bytes, path, device)
    }

    /// Loads a network and checks that its config is `expected`.
    pub fn load_expecting(
        path: impl AsRef<Path>,
        expected: &NetworkConfig,
        device: &D,
    ) -> Result<Self> {
        let path = path.as_ref();
        let net = Self::load(path, device)?;
        if net.config() != expected {
            return Err(bad(
                path,
                format!(
                    "it holds a different network: {} but {} was expected",
                    serde_json::to_string(net.config()).unwrap_or_default(),
                    serde_json::to_string(expected).unwrap_or_default()
                ),
            ));
        }
        Ok(net)
    }

    /// Parses safetensors bytes; `origin` names the source in errors.
    pub fn from_safetensors(bytes: &[u8], origin: &Path, device: &D) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| {
            bad(origin, format!("not a readable safetensors file ({e:?}); was it truncated or is it another format?"))
        })?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(origin, format!("unreadable header ({e:?})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get(FORMAT_KEY).map(String::as_str) {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(bad(
                    origin,
                    format!(
                        "format version {v} is not supported (this build reads {FORMAT_VERSION})"
                    ),
                ))
            }
            None => {
                return Err(bad(
                    origin,
                    format!("metadata has no {FORMAT_KEY}; it was not written by siren-rs"),
                ))
            }
        }
        let config_json = meta
            .get(CONFIG_KEY)
            .ok_or_else(|| bad(origin, format!("metadata has no {CONFIG_KEY}")))?;
        let config: NetworkConfig = serde_json::from_str(config_json)
            .map_err(|e| bad(origin, format!("the stored config is invalid: {e}")))?;
        config
            .validate()
            .map_err(|e| bad(origin, format!("the stored config is invalid: {e}")))?;
        let layers_described = config.hidden_layers + 2;
        if file.len() != 2 * layers_described {
            return Err(bad(
                origin,
                format!(
                    "it has {} tensors but its config describes {layers_described} layers ({} \
                     tensors)",
                    file.len(),
                    2 * layers_described
                ),
            ));
        }
        let layers = read_layers(
            &file,
            &config.layer_shapes(),
            &|i| (weight_name(i), bias_name(i)),
            origin,
            MODEL_FILE,
        )?;
        Self::from_host(config, layers, device)
    }
}

const MODEL_FILE: &str = "siren-rs model file";

fn bad(path: &Path, reason: String) -> Error {
    Error::BadFile {
        path: PathBuf::from(path),
        what: MODEL_FILE,
        reason,
    }
}

/// Safetensors bytes of `network`'s layers as `T` (weights `(out, in)`, biases), under the
/// names `names` gives each layer, with `metadata`.
pub(crate) fn serialize_layers<T: Float, E: Float, D: Device<E>>(
    network: &Network<E, D>,
    names: &dyn Fn(usize) -> (String, String),
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let convert = |v: Vec<E>| -> Vec<u8> {
        T::encode_le(&v.into_iter().map(|x| T::of(x.as_f64())).collect::<Vec<T>>())
    };
    let mut buffers = Vec::new();
    for (i, layer) in network.layers().iter().enumerate() {
        let (out, inp) = *layer.weight.shape();
        let (w, b) = names(i);
        buffers.push((w, vec![out, inp], convert(layer.weight.as_vec())));
        buffers.push((b, vec![out], convert(layer.bias.as_vec())));
    }
    let views = buffers.iter().map(|(name, shape, bytes)| {
        let view = TensorView::new(T::SAFETENSORS_DTYPE, shape.clone(), bytes)
            .expect("sizes agree by construction");
        (name.as_str(), view)
    });
    serialize_sorted(views, metadata)
        .map_err(|e| Error::InvalidInput(format!("cannot serialise the network: {e}")))
}

/// The `(weight, bias)` of each layer of `shapes` (`(fan_in, fan_out)`), whose tensor names
/// `names` gives; a NaN or infinite weight is an error (a diverged run's file).
pub(crate) fn read_layers<E: Float>(
    file: &SafeTensors,
    shapes: &[(usize, usize)],
    names: &dyn Fn(usize) -> (String, String),
    origin: &Path,
    what: &'static str,
) -> Result<Vec<HostLayer<E>>> {
    let mut layers = Vec::with_capacity(shapes.len());
    for (i, &(fan_in, fan_out)) in shapes.iter().enumerate() {
        let (w, b) = names(i);
        let weight = read_tensor::<E>(file, &w, &[fan_out, fan_in], origin, what)?;
        let bias = read_tensor::<E>(file, &b, &[fan_out], origin, what)?;
        if weight.iter().chain(&bias).any(|v| !v.is_finite()) {
            return Err(Error::BadFile {
                path: PathBuf::from(origin),
                what,
                reason: format!(
                    "layer {i} holds NaN or infinite weights: the run that saved it diverged; \
                     retrain with a lower learning rate"
                ),
            });
        }
        layers.push((weight, bias));
    }
    Ok(layers)
}

/// Tensor `name` of `file` as `E`, which must have `shape` and hold F32 or F64; errors name
/// `origin` as a `what`.
fn read_tensor<E: Float>(
    file: &SafeTensors,
    name: &str,
    shape: &[usize],
    origin: &Path,
    what: &'static str,
) -> Result<Vec<E>> {
    let bad = |reason: String| Error::BadFile {
        path: PathBuf::from(origin),
        what,
        reason,
    };
    let view = file
        .tensor(name)
        .map_err(|_| bad(format!("tensor {name} is missing")))?;
    if view.shape() != shape {
        return Err(bad(format!(
            "tensor {name} has shape {:?} but the config needs {shape:?}",
            view.shape()
        )));
    }
    match view.dtype() {
        safetensors::Dtype::F32 => Ok(<f32 as Float>::decode_le(view.data())
            .into_iter()
            .map(|v| E::of(v as f64))
            .collect()),
        safetensors::Dtype::F64 => Ok(<f64 as Float>::decode_le(view.data())
            .into_iter()
            .map(E::of)
            .collect()),
        other => Err(bad(format!(
            "tensor {name} is {other:?}; only F32 and F64 are supported"
        ))),
    }
}
