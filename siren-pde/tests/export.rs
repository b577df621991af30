//! Field export: shapes are checked; with the `hdf5` feature, fields round-trip through an
//! HDF5 file.

use siren_pde::export::Field;

#[test]
fn a_field_must_fill_its_shape() {
    assert!(Field::new("a", vec![2, 3], vec![0.0; 6]).is_ok());
    let err = Field::new("a", vec![2, 3], vec![0.0; 5])
        .unwrap_err()
        .to_string();
    assert!(err.contains("do not fill shape"), "{err}");
}

#[cfg(feature = "hdf5")]
#[test]
fn fields_round_trip_through_hdf5() {
    use siren_pde::export::{read_h5, write_h5};
    let dir = std::env::temp_dir().join(format!("siren-h5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fields.h5");
    let a = Field::new(
        "wave/uniform/SIREN",
        vec![2, 3, 4],
        (0..24).map(|v| v as f64 * 0.5).collect(),
    )
    .unwrap();
    let b = Field::new("grid", vec![4], vec![-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0]).unwrap();
    write_h5(&path, &[a.clone(), b.clone()], "test").unwrap();
    assert_eq!(read_h5(&path, "wave/uniform/SIREN").unwrap(), a);
    assert_eq!(read_h5(&path, "grid").unwrap(), b);
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
