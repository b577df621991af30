//! WAV reading and writing: integer and float PCM, channels, round trips, bad files.

use siren_signal::audio::{audio_quality, Audio};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("siren-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_int(path: &std::path::Path, bits: u16, channels: u16, values: &[i32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 22_050,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in values {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn integer_pcm_of_any_width_and_channel_count_reads_to_full_scale() {
    for (bits, full) in [
        (8u16, 128.0f64),
        (16, 32768.0),
        (24, 8_388_608.0),
        (32, 2_147_483_648.0),
    ] {
        let top = (full - 1.0) as i32;
        let values = [0, top, -top, top / 2, -(top / 3), 1];
        let path = temp(&format!("int{bits}.wav"));
        write_int(&path, bits, 2, &values);
        let clip = Audio::open(&path).unwrap();
        assert_eq!((clip.rate, clip.channels, clip.frames()), (22_050, 2, 3));
        for (got, &v) in clip.samples.iter().zip(&values) {
            assert!(
                (*got as f64 - v as f64 / full).abs() < 1e-6,
                "{bits} bits: {got} vs {v}"
            );
        }
    }
}

#[test]
fn float_clips_round_trip_exactly_and_the_copy_is_atomic() {
    let samples: Vec<f32> = (0..3000)
        .map(|i| ((i as f32) * 0.013).sin() * 0.7)
        .collect();
    let clip = Audio {
        rate: 44_100,
        channels: 3,
        samples,
    };
    let path = temp("float.wav");
    clip.save(&path).unwrap();
    assert_eq!(Audio::open(&path).unwrap(), clip);
    let q = audio_quality(&clip.samples, &clip.samples).unwrap();
    assert!(q.mse == 0.0 && q.snr.is_infinite());
    // No temporary file is left beside it.
    let dir = path.parent().unwrap();
    assert!(std::fs::read_dir(dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("tmp")));
}

#[test]
fn corrupt_truncated_and_empty_files_get_errors_that_name_them() {
    let junk = temp("junk.wav");
    std::fs::write(&junk, b"this is not a wave file at all, just text").unwrap();
    let e = Audio::open(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.wav") && e.contains("WAV"), "{e}");

    let full = temp("full.wav");
    write_int(&full, 16, 1, &(0..4000).collect::<Vec<_>>());
    let bytes = std::fs::read(&full).unwrap();
    let cut = temp("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = Audio::open(&cut).unwrap_err().to_string();
    assert!(e.contains("cut.wav") && e.contains("truncated"), "{e}");

    let empty = temp("empty.wav");
    write_int(&empty, 16, 1, &[]);
    let e = Audio::open(&empty).unwrap_err().to_string();
    assert!(e.contains("no samples"), "{e}");

    let e = Audio::open(temp("missing.wav")).unwrap_err().to_string();
    assert!(e.contains("missing.wav"), "{e}");
}

#[test]
fn the_papers_clip_reads_as_described_when_the_data_is_there() {
    let Some(root) = std::env::var_os("SIREN_DATA") else {
        eprintln!("skipped: set SIREN_DATA to the shared data folder to read gt_bach.wav");
        return;
    };
    let clip = Audio::open(std::path::Path::new(&root).join("audio/gt_bach.wav")).unwrap();
    assert_eq!(
        (clip.rate, clip.channels, clip.frames()),
        (44_100, 1, 308_207)
    );
    assert!(clip.peak() > 0.1 && clip.peak() <= 1.0);
}
