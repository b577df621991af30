//! Masks: stroke coverage, the validation holdout, the centred square crop.

use siren_image::{Image, Mask};

#[test]
fn strokes_hide_the_asked_fraction_in_thin_lines() {
    let m = Mask::strokes(128, 96, 0.2, 3.0, 5).unwrap();
    let hidden = m.missing().iter().filter(|&&h| h).count() as f64 / (128.0 * 96.0);
    // drawing stops within one stroke of the goal
    assert!((0.2..0.3).contains(&hidden), "{hidden}");
    // thin lines: most hidden pixels have a known pixel within 2 pixels
    let near_known = (0..128 * 96)
        .filter(|&p| !m.known[p])
        .filter(|&p| {
            let (r, c) = ((p / 128) as i64, (p % 128) as i64);
            (-2..=2i64).any(|dr| {
                (-2..=2i64).any(|dc| {
                    let (rr, cc) = (r + dr, c + dc);
                    (0..96).contains(&rr)
                        && (0..128).contains(&cc)
                        && m.known[(rr * 128 + cc) as usize]
                })
            })
        })
        .count() as f64;
    assert!(near_known / (hidden * 128.0 * 96.0) > 0.9);
    assert_eq!(m, Mask::strokes(128, 96, 0.2, 3.0, 5).unwrap());
    assert!(Mask::strokes(64, 64, 0.95, 3.0, 0).is_err());
    assert!(Mask::strokes(64, 64, 0.2, 0.5, 0).is_err());
}

#[test]
fn holdout_takes_known_pixels_only_and_keeps_the_rest() {
    let m = Mask::random(64, 64, 0.1, 3).unwrap();
    let (train, held) = m.holdout(0.2, 1).unwrap();
    let known = m.known.iter().filter(|&&k| k).count();
    let n_held = held.iter().filter(|&&h| h).count();
    for (p, &h) in held.iter().enumerate() {
        // every held-out pixel was known and is no longer; the others are unchanged
        if h {
            assert!(m.known[p] && !train.known[p]);
        } else {
            assert_eq!(m.known[p], train.known[p]);
        }
    }
    let f = n_held as f64 / known as f64;
    assert!((0.12..0.28).contains(&f), "{f}");
    assert!(m.holdout(1.0, 0).is_err());
}

#[test]
fn centre_square_crops_the_long_side() {
    let data: Vec<f32> = (0..6 * 4).map(|v| v as f32 / 24.0).collect();
    let img = Image::new(6, 4, 1, data).unwrap();
    let sq = img.centre_square();
    assert_eq!((sq.width, sq.height), (4, 4));
    // columns 1..5 of each row
    assert_eq!(sq.data[0], img.data[1]);
    assert_eq!(sq.data[15], img.data[3 * 6 + 4]);
}
