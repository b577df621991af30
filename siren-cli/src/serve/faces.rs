//! The Faces page: a hypernetwork trained by `siren hypernet train` completes a held-out
//! CelebA face from the pixels the user clicks.

use std::path::{Path, PathBuf};

use siren_core::{Error, Result};
use siren_hypernet::celeba::{load_face, read_partition};
use siren_hypernet::{Context, Faces, Split};
use siren_image::Image;

use crate::hypernet_cmds::{context_view, load_model, DEFAULT_TEST_SHARE, DEFAULT_VAL_SHARE};

/// Most faces offered.
const MAX_FACES: usize = 60;

/// CelebA faces the page offers: the test split `siren hypernet train` holds out (the
/// partition file's, or, where it lists none among the faces present, the same last faces by
/// name that training sets aside), never faces it trained on.
pub struct FaceSet {
    /// The images folder.
    pub dir: PathBuf,
    /// File names, in name order.
    pub names: Vec<String>,
}

/// The face set under a CelebA root (`img_align_celeba_89x109/` if present, as the shared
/// sample has, else `img_align_celeba/`), or why there is none.
pub fn face_set(root: &Path) -> Result<FaceSet> {
    let dir = ["img_align_celeba_89x109", "img_align_celeba"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "no img_align_celeba folder under {}: pass --celeba DIR",
                root.display()
            ))
        })?;
    let partition = read_partition(&root.join("list_eval_partition.txt"))?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|source| Error::Io {
            action: "cannot list the faces",
            path: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| partition.contains_key(n))
        .collect();
    names.sort();
    // The split rule is training's own (Faces::ensure_splits): it needs only names and splits.
    let mut faces = Faces {
        size: 0,
        pixels: Vec::new(),
        splits: names.iter().map(|n| partition[n]).collect(),
        names,
        split_note: None,
    };
    faces.ensure_splits(DEFAULT_TEST_SHARE, DEFAULT_VAL_SHARE);
    let names = faces
        .indices(Split::Test)
        .into_iter()
        .take(MAX_FACES)
        .map(|i| faces.names[i].clone())
        .collect();
    Ok(FaceSet { dir, names })
}

/// A completion: the context as the encoder sees it, the completed face and the truth, as
/// PNGs at the model's size, and the completion's mean squared error on $[0, 1]$ values.
pub struct Completion {
    pub size: usize,
    pub context: Vec<u8>,
    /// None before the first pixel (set encoders need one).
    pub completion: Option<Vec<u8>>,
    pub truth: Vec<u8>,
    pub mse: Option<f64>,
}

/// Completes the face at `face` from its pixels `known` (row-major indices at the model's
/// size) with the hypernetwork checkpoint `model`.
pub fn complete(model: &Path, face: &Path, known: &[usize]) -> Result<Completion> {
    let dev = siren_core::device::cpu();
    let (net, _, _) = load_model(model, &dev)?;
    let size = net.config().image_size;
    let n = size * size;
    if let Some(bad) = known.iter().find(|&&i| i >= n) {
        return Err(Error::InvalidInput(format!(
            "pixel {bad} is outside the model's {size}x{size} faces"
        )));
    }
    let pixels: Vec<f64> = load_face(face, size)?
        .into_iter()
        .map(|v| v as f64 / 127.5 - 1.0)
        .collect();
    let mut mask = vec![false; n];
    for &i in known {
        mask[i] = true;
    }
    let context = Context {
        size,
        pixels: pixels.clone(),
        known: mask.clone(),
    };
    let png = |v: &[f64]| Image::from_signed(size, size, 3, v)?.to_png();
    let prediction = if known.is_empty() {
        None
    } else {
        Some(siren_hypernet::training::predict(&net, &context)?)
    };
    Ok(Completion {
        size,
        context: png(&context_view(&pixels, &mask))?,
        completion: prediction.as_deref().map(png).transpose()?,
        truth: png(&pixels)?,
        mse: prediction.map(|p| siren_hypernet::training::face_mse(&p, &pixels)),
    })
}
