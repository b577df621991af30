//! The CelebA loader: official layout at any image size, cache, bad files.

use std::path::{Path, PathBuf};

use siren_hypernet::celeba::{load, prepare_face, CelebaSource, Split};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siren-celeba-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("img_align_celeba")).unwrap();
    dir
}

/// Writes `count` synthetic JPEGs of `w x h` and a partition file listing them.
fn synthetic(dir: &Path, count: usize, w: u32, h: u32, partition: impl Fn(usize) -> u8) {
    let mut lines = String::new();
    for i in 0..count {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 5 + i as u32 * 20) as u8, (y * 3) as u8, 128])
        });
        let name = format!("{:06}.jpg", i + 1);
        img.save(dir.join("img_align_celeba").join(&name)).unwrap();
        lines += &format!("{name} {}\n", partition(i));
    }
    std::fs::write(dir.join("list_eval_partition.txt"), lines).unwrap();
}

#[test]
fn centre_crop_is_derived_from_the_image_size() {
    // A 20x30 image: top and bottom 5 rows red, the middle 20x20 square green. The crop
    // must keep only green, whatever the size.
    for (w, h) in [(20u32, 30u32), (40, 60)] {
        let band = (h - w) / 2;
        let img = image::RgbImage::from_fn(w, h, |_, y| {
            if y < band || y >= h - band {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 255, 0])
            }
        });
        let face = prepare_face(&image::DynamicImage::ImageRgb8(img), 8);
        assert_eq!(face.len(), 8 * 8 * 3);
        assert!(
            face.chunks(3).all(|p| p == [0, 255, 0]),
            "{w}x{h}: {face:?}"
        );
    }
}

#[test]
fn loads_the_official_layout_with_splits_and_cache() {
    let dir = temp_dir("layout");
    synthetic(&dir, 6, 30, 40, |i| if i == 5 { 2 } else { 0 });
    let source = CelebaSource::official(&dir);
    let cache = dir.join("cache.safetensors");
    let faces = load(&source, 8, Some(&cache), false).unwrap();
    assert_eq!(faces.len(), 6);
    assert_eq!(faces.indices(Split::Test), vec![5]);
    assert!(faces.split_note.is_none());
    assert!(cache.exists());
    let again = load(&source, 8, Some(&cache), false).unwrap();
    assert_eq!(again.pixels, faces.pixels);
    assert_eq!(again.names, faces.names);
    assert_eq!(again.splits, faces.splits);
    // A face is in [-1, 1].
    assert!(faces.signed(0).iter().all(|v| (-1.0..=1.0).contains(v)));
    // A cache of another size is rebuilt in place; a file that is no cache is left alone.
    let other = load(&source, 4, Some(&cache), false).unwrap();
    assert_eq!(other.size, 4);
    let photo = dir.join("photo.jpg");
    std::fs::write(&photo, b"not a cache").unwrap();
    let e = load(&source, 8, Some(&photo), false).unwrap_err();
    assert!(e.to_string().contains("not a face cache"), "{e}");
    assert_eq!(std::fs::read(&photo).unwrap(), b"not a cache");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deterministic_test_and_validation_splits_are_made_and_reported_when_none_is_listed() {
    let dir = temp_dir("split");
    synthetic(&dir, 10, 16, 16, |_| 0);
    let mut faces = load(&CelebaSource::official(&dir), 8, None, false).unwrap();
    faces.ensure_splits(0.2, 0.1);
    let names = |split| -> Vec<&str> {
        faces
            .indices(split)
            .iter()
            .map(|&i| faces.names[i].as_str())
            .collect()
    };
    assert_eq!(names(Split::Test), ["000009.jpg", "000010.jpg"]);
    assert_eq!(names(Split::Val), ["000008.jpg"]);
    assert_eq!(names(Split::Train).len(), 7);
    let note = faces.split_note.as_deref().unwrap();
    assert!(
        note.contains("test set") && note.contains("validation set"),
        "{note}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_jpeg_is_rejected_naming_the_file() {
    let dir = temp_dir("corrupt");
    synthetic(&dir, 3, 16, 20, |_| 0);
    let bad = dir.join("img_align_celeba/000002.jpg");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let err = load(&CelebaSource::official(&dir), 8, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("000002.jpg"), "{err}");
    std::fs::write(&bad, b"not an image at all").unwrap();
    let err = load(&CelebaSource::official(&dir), 8, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("000002.jpg"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_partition_file_is_rejected_with_the_line() {
    let dir = temp_dir("partition");
    synthetic(&dir, 2, 16, 20, |_| 0);
    std::fs::write(
        dir.join("list_eval_partition.txt"),
        "000001.jpg 0\n000002.jpg 7\n",
    )
    .unwrap();
    let err = load(&CelebaSource::official(&dir), 8, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real sample: originals (178x218) and half-size copies (89x109) of the same faces give
/// nearly the same 32x32 faces.
#[test]
fn both_real_celeba_sizes_give_the_same_faces() {
    let Some(data) = siren_tests::data_dir("both_real_celeba_sizes_give_the_same_faces") else {
        return;
    };
    let root = data.join("celeba-sample");
    let originals = load(&CelebaSource::official(&root), 32, None, false).unwrap();
    let mut half = CelebaSource::official(&root);
    half.images = root.join("img_align_celeba_89x109");
    let halves = load(&half, 32, None, false).unwrap();
    assert_eq!(originals.len(), 100);
    // the half-size copies hold more faces (7,500 in the sample), the first 100 the same IDs
    assert!(halves.len() >= 100, "{} half-size faces", halves.len());
    for i in [0usize, 49, 99] {
        assert_eq!(originals.names[i], halves.names[i]);
        let (a, b) = (originals.signed(i), halves.signed(i));
        let mse = a
            .iter()
            .zip(&b)
            .map(|(x, y)| ((x - y) / 2.0).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        let psnr = -10.0 * mse.log10();
        assert!(
            psnr > 28.0,
            "face {i}: PSNR {psnr:.1} dB between the two sizes"
        );
    }
}
