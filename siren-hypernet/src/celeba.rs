//! CelebA in its official layout, prepared as small square faces.
//!
//! Layout: a folder of JPEGs (`img_align_celeba/000001.jpg`, ...) and the partition file
//! `list_eval_partition.txt` (`000001.jpg 0` per line; 0/1/2 = train/val/test). Images may be
//! stored at any size: each is centre-cropped to the largest centred square (the 178 x 178
//! middle of a 178 x 218 original, 89 x 89 of an 89 x 109 copy), then resized to `size x size`
//! with a triangle (bilinear) filter whose support widens with the reduction, i.e. an
//! antialiased bilinear resize like PIL's `BILINEAR`, which torchvision's `Resize` uses.
//! Values are stored as bytes and used in $[-1, 1]$ (`v / 127.5 - 1`).
//!
//! Decoding runs in parallel (rayon) with a progress bar, once: the result goes to a cache
//! file (safetensors, `u8` pixels) keyed by the source folder's listing, so a later load reads
//! one file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use safetensors::tensor::{SafeTensors, TensorView};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

/// The partition a face belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training images (partition 0).
    Train,
    /// Validation images (partition 1).
    Val,
    /// Test images (partition 2).
    Test,
}

impl Split {
    fn code(self) -> u8 {
        match self {
            Split::Train => 0,
            Split::Val => 1,
            Split::Test => 2,
        }
    }
    fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Split::Train),
            1 => Some(Split::Val),
            2 => Some(Split::Test),
            _ => None,
        }
    }
}

/// Where the images and the partition file are.
#[derive(Clone, Debug)]
pub struct CelebaSource {
    /// Folder of JPEGs.
    pub images: PathBuf,
    /// `list_eval_partition.txt`.
    pub partition: PathBuf,
}

impl CelebaSource {
    /// The official layout under `root`: `root/img_align_celeba/` and
    /// `root/list_eval_partition.txt`.
    pub fn official(root: &Path) -> Self {
        Self {
            images: root.join("img_align_celeba"),
            partition: root.join("list_eval_partition.txt"),
        }
    }
}

/// Prepared faces: `size x size` RGB, row-major, bytes.
#[derive(Clone, Debug)]
pub struct Faces {
    /// Side in pixels.
    pub size: usize,
    /// `count * size * size * 3` bytes, image by image, rows, columns, then R, G, B.
    pub pixels: Vec<u8>,
    /// File name of each face.
    pub names: Vec<String>,
    /// Partition of each face.
    pub splits: Vec<Split>,
    /// Set when the split was not the official one (e.g. no test image was present), saying
    /// what was done instead.
    pub split_note: Option<String>,
}

impl Faces {
    /// Number of faces.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Face `i` as `(size * size, 3)` values in $[-1, 1]$, row-major.
    pub fn signed(&self, i: usize) -> Vec<f64> {
        let n = self.size * self.size * 3;
        self.pixels[i * n..(i + 1) * n]
            .iter()
            .map(|&v| v as f64 / 127.5 - 1.0)
            .collect()
    }

    /// Indices of the faces in `split`.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.splits[i] == split)
            .collect()
    }

    /// Makes deterministic test and validation splits where the partition lists none among
    /// the faces present (the shared 7,500-face sample is all official training images): the
    /// last `test_share` of the training faces in name order become the test set, and the
    /// `val_share` before them the validation set (for choices such as the PCA baseline's
    /// rank, never made on the test faces). Sets [`Faces::split_note`] when it does so.
    pub fn ensure_splits(&mut self, test_share: f64, val_share: f64) {
        let mut notes = Vec::new();
        for (split, share) in [(Split::Test, test_share), (Split::Val, val_share)] {
            if !self.indices(split).is_empty() || share <= 0.0 {
                continue;
            }
            let train = self.indices(Split::Train);
            let count = ((self.len() as f64 * share).round() as usize)
                .max(1)
                .min(train.len().saturating_sub(1));
            if count == 0 {
                continue;
            }
            for &i in &train[train.len() - count..] {
                self.splits[i] = split;
            }
            notes.push(format!(
                "{count} faces ({} .. {}) as the {} set",
                self.names[train[train.len() - count]],
                self.names[train[train.len() - 1]],
                if split == Split::Test {
                    "test"
                } else {
                    "validation"
                },
            ));
        }
        if !notes.is_empty() {
            self.split_note = Some(format!(
                "the partition file lists no such image among the {} faces present, so the last \
                 training faces by name are used: {}",
                self.len(),
                notes.join("; ")
            ));
        }
    }
}

/// Centre-crops `image` to its largest centred square and resizes it to `size x size` RGB.
pub fn prepare_face(image: &image::DynamicImage, size: usize) -> Vec<u8> {
    let (w, h) = (image.width(), image.height());
    let side = w.min(h);
    let crop = image.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    crop.resize_exact(size as u32, size as u32, FilterType::Triangle)
        .to_rgb8()
        .into_raw()
}

/// Reads the partition file: file name -> split.
pub fn read_partition(path: &Path) -> Result<HashMap<String, Split>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "cannot read the CelebA partition file",
        path: path.to_path_buf(),
        source,
    })?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(code), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                what: "CelebA partition file",
                reason: format!("line {} is `{line}`, expected `NAME.jpg 0|1|2`", n + 1),
            });
        };
        let split = code
            .parse::<u8>()
            .ok()
            .and_then(Split::from_code)
            .ok_or_else(|| Error::BadFile {
                path: path.to_path_buf(),
                what: "CelebA partition file",
                reason: format!("line {}: partition `{code}` is not 0, 1 or 2", n + 1),
            })?;
        map.insert(name.to_string(), split);
    }
    Ok(map)
}

/// Decodes one face file.
pub fn load_face(path: &Path, size: usize) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    let image = image::load_from_memory(&bytes).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        what: "JPEG/PNG image",
        reason: format!("{e}; re-download or remove the file"),
    })?;
    Ok(prepare_face(&image, size))
}

/// Loads every listed image present in `source` as `size x size` faces, in name order.
///
/// With `cache`, a cache file made from the same listing and size is read instead of
/// decoding, and a fresh decode writes it. `progress` shows a progress bar on stderr.
/// Images present but not in the partition file count as training images.
pub fn load(
    source: &CelebaSource,
    size: usize,
    cache: Option<&Path>,
    progress: bool,
) -> Result<Faces> {
    if size == 0 {
        return Err(Error::InvalidInput("face size must be at least 1".into()));
    }
    let partition = read_partition(&source.partition)?;
    let entries = std::fs::read_dir(&source.images).map_err(|source_err| Error::Io {
        action: "cannot list the CelebA image folder",
        path: source.images.clone(),
        source: source_err,
    })?;
    let mut files: Vec<(String, u64)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jpg") || lower.ends_with(".jpeg") || lower.ends_with(".png") {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push((name, len));
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no JPEG or PNG image in {}; point at CelebA's img_align_celeba folder",
            source.images.display()
        )));
    }
    // The key changes whenever a file is added, removed or changes size.
    let key = format!(
        "size={size};{}",
        files
            .iter()
            .map(|(n, l)| format!("{n}:{l}:{}", partition.get(n).map_or(0, |s| s.code())))
            .collect::<Vec<_>>()
            .join(",")
    );
    let key = format!("{:016x}", siren_core::io::fnv1a(key.as_bytes()));
    if let Some(cache) = cache {
        if let Ok(faces) = read_cache(cache, &key) {
            return Ok(faces);
        }
        // A stale cache is rebuilt; anything else at the path is not ours to replace.
        if cache.exists() && !is_face_cache(cache) {
            return Err(Error::InvalidInput(format!(
                "{} exists and is not a face cache written by siren-rs; choose another cache \
                 path (it would be replaced)",
                cache.display()
            )));
        }
    }
    let bar = if progress {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("decoding faces {bar:40} {pos}/{len} {eta}")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let decoded: Vec<Result<Vec<u8>>> = files
        .par_iter()
        .map(|(name, _)| {
            let face = load_face(&source.images.join(name), size);
            bar.inc(1);
            face
        })
        .collect();
    bar.finish_and_clear();
    let mut pixels = Vec::with_capacity(files.len() * size * size * 3);
    for face in decoded {
        pixels.extend(face?);
    }
    let names: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
    let splits = names
        .iter()
        .map(|n| partition.get(n).copied().unwrap_or(Split::Train))
        .collect();
    let faces = Faces {
        size,
        pixels,
        names,
        splits,
        split_note: None,
    };
    if let Some(cache) = cache {
        write_cache(cache, &faces, &key)?;
    }
    Ok(faces)
}

fn write_cache(path: &Path, faces: &Faces, key: &str) -> Result<()> {
    let splits: Vec<u8> = faces.splits.iter().map(|s| s.code()).collect();
    let n = faces.len();
    let tensors = [
        (
            "pixels",
            TensorView::new(
                safetensors::Dtype::U8,
                vec![n, faces.size, faces.size, 3],
                &faces.pixels,
            ),
        ),
        (
            "splits",
            TensorView::new(safetensors::Dtype::U8, vec![n], &splits),
        ),
    ];
    let metadata = HashMap::from([
        ("siren_rs.kind".to_string(), "celeba-cache".to_string()),
        ("key".to_string(), key.to_string()),
        ("names".to_string(), faces.names.join("\n")),
    ]);
    let views = tensors
        .into_iter()
        .map(|(name, v)| (name, v.expect("sizes agree by construction")));
    let bytes = safetensors::serialize(views, &Some(metadata))
        .map_err(|e| Error::InvalidInput(format!("cannot serialise the face cache: {e}")))?;
    write_atomic(path, &bytes)
}

/// Whether `path` is a face cache (of any listing or size), from its header alone.
fn is_face_cache(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut len = [0u8; 8];
    if file.read_exact(&mut len).is_err() {
        return false;
    }
    let n = u64::from_le_bytes(len);
    // A cache's header lists the face names: far below this bound.
    if n > 1 << 28 {
        return false;
    }
    let mut header = vec![0u8; n as usize];
    if file.read_exact(&mut header).is_err() {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(&header)
        .ok()
        .and_then(|h| {
            h["__metadata__"]["siren_rs.kind"]
                .as_str()
                .map(String::from)
        })
        .as_deref()
        == Some("celeba-cache")
}

fn read_cache(path: &Path, key: &str) -> std::result::Result<Faces, ()> {
    let bytes = std::fs::read(path).map_err(|_| ())?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|_| ())?;
    let meta = header.metadata().clone().ok_or(())?;
    if meta.get("key").map(String::as_str) != Some(key) {
        return Err(());
    }
    let file = SafeTensors::deserialize(&bytes).map_err(|_| ())?;
    let pixels = file.tensor("pixels").map_err(|_| ())?;
    let shape = pixels.shape().to_vec();
    let splits = file.tensor("splits").map_err(|_| ())?;
    let names: Vec<String> = meta
        .get("names")
        .ok_or(())?
        .split('\n')
        .map(String::from)
        .collect();
    if shape.len() != 4 || shape[0] != names.len() || splits.data().len() != names.len() {
        return Err(());
    }
    Ok(Faces {
        size: shape[1],
        pixels: pixels.data().to_vec(),
        names,
        splits: splits
            .data()
            .iter()
            .map(|&c| Split::from_code(c).ok_or(()))
            .collect::<std::result::Result<_, _>>()?,
        split_note: None,
    })
}
