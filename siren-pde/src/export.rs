//! Named fields (grids, reference and predicted solutions) for export.
//!
//! With the `hdf5` feature, `write_h5` writes them as datasets of one HDF5 file that h5py
//! reads directly (`h5py.File(p)["wave/uniform/SIREN"][...]`): each field is a `float64`
//! dataset with its shape, at its `/`-separated path, and the file's `description` attribute
//! says what the axes are. Without the feature the crate needs no system library.

#[cfg(feature = "hdf5")]
use std::path::Path;

use siren_core::{Error, Result};

/// One array to export.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Dataset path, e.g. `wave/uniform/SIREN`.
    pub name: String,
    /// Shape, row-major.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f64>,
}

impl Field {
    /// A field; errors if `data` does not fill `shape`.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Vec<f64>) -> Result<Self> {
        let name = name.into();
        if shape.iter().product::<usize>() != data.len() {
            return Err(Error::InvalidInput(format!(
                "field {name}: {} values do not fill shape {shape:?}",
                data.len()
            )));
        }
        Ok(Self { name, shape, data })
    }

    /// The evaluation grid's node coordinates, `grid`: $-1 + 2i/(n-1)$, $i < n$.
    pub fn grid(n: usize) -> Result<Self> {
        let nodes = (0..n)
            .map(|i| -1.0 + 2.0 * i as f64 / (n.max(2) - 1) as f64)
            .collect();
        Self::new("grid", vec![n], nodes)
    }
}

/// Writes `fields` to an HDF5 file at `path` (through a temporary file and a rename, so an
/// existing file is never left half-written), with a `description` attribute.
#[cfg(feature = "hdf5")]
pub fn write_h5(path: &Path, fields: &[Field], description: &str) -> Result<()> {
    use hdf5::types::VarLenUnicode;
    let h5 =
        |e: hdf5::Error| Error::InvalidInput(format!("HDF5 error writing {}: {e}", path.display()));
    siren_core::io::write_atomic_with(path, |tmp| {
        let file = hdf5::File::create(tmp).map_err(h5)?;
        let text: VarLenUnicode = description
            .parse()
            .map_err(|e| Error::InvalidInput(format!("bad description: {e:?}")))?;
        file.new_attr::<VarLenUnicode>()
            .create("description")
            .map_err(h5)?
            .write_scalar(&text)
            .map_err(h5)?;
        for f in fields {
            file.new_dataset::<f64>()
                .shape(f.shape.clone())
                .create(f.name.as_str())
                .map_err(h5)?
                .write_raw(&f.data)
                .map_err(h5)?;
        }
        file.close().map_err(h5)
    })
}

/// Reads back one field written by [`write_h5`].
#[cfg(feature = "hdf5")]
pub fn read_h5(path: &Path, name: &str) -> Result<Field> {
    let h5 =
        |e: hdf5::Error| Error::InvalidInput(format!("HDF5 error reading {}: {e}", path.display()));
    let file = hdf5::File::open(path).map_err(h5)?;
    let ds = file.dataset(name).map_err(h5)?;
    let shape = ds.shape();
    let data = ds.read_raw::<f64>().map_err(h5)?;
    Field::new(name, shape, data)
}
