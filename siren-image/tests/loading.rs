//! Image files are bounded before they are decoded: a device, a forged header or a file too
//! large is a clear error, never gigabytes of memory.

use siren_core::Error;
use siren_image::Image;

/// CRC-32 (IEEE) of a PNG chunk's type and data.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `w x h` 8-bit grey pixels, with a tiny data chunk.
fn forged_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        png.extend(&body);
        png.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8 bits, grey, deflate, adaptive filter, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    png
}

#[test]
fn loading_is_bounded_before_decoding() {
    let dir = std::env::temp_dir().join(format!("siren-image-loading-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A device: refused before reading a byte.
    let e = Image::open("/dev/zero").unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    // A header claiming 100,000 x 100,000 pixels: refused from the header.
    let forged = dir.join("forged.png");
    std::fs::write(&forged, forged_png(100_000, 100_000)).unwrap();
    let e = Image::open(&forged).unwrap_err();
    assert!(
        matches!(&e, Error::BadFile { reason, .. } if reason.contains("100000x100000")),
        "{e}"
    );
    // The same header at a sane size gets as far as the (truncated) data.
    std::fs::write(&forged, forged_png(4, 4)).unwrap();
    assert!(Image::open(&forged).is_err());
    // A folder.
    let e = Image::open(&dir).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    // Sizes asked for are bounded too, with the memory they would take.
    let e = Image::camera().resized(1_000_000, 1_000_000).unwrap_err();
    assert!(e.to_string().contains("GB"), "{e}");
    let dev = dfdx::prelude::Cpu::default();
    let net =
        siren_core::Network::<f32, _>::new(siren_core::NetworkConfig::siren(2, 1, 8, 1), 0, &dev)
            .unwrap();
    let e = siren_image::render(&net, 100_000, 100_000, (-1.0, 1.0)).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
}
