//! Hostile TFRecord, NPZ and metadata files: each gives an error that names the file and the
//! problem (and the record or member), never a panic or an allocation of a claimed size.

use learnsim_data::pickle::{ArrayValues, PyValue};
use learnsim_data::tfrecord::{
    BytesList, DeepmindRecord, Feature, FeatureKind, SequenceExample, encode_record, frame_record,
    masked_crc32c,
};
use learnsim_data::{DatasetFormat, import_dataset};
use prost::Message;
use std::io::Write;
use std::path::Path;

const DEEPMIND_META: &str = r#"{"bounds": [[0.1, 0.9], [0.1, 0.9]], "sequence_length": 2,
 "default_connectivity_radius": 0.015, "dim": 2, "dt": 0.0025,
 "vel_mean": [0, 0], "vel_std": [1, 1], "acc_mean": [0, 0], "acc_std": [1, 1]}"#;

fn record(key: i64) -> DeepmindRecord {
    DeepmindRecord {
        key,
        dim: 2,
        particle_type: vec![5, 5, 3],
        position: (0..3 * 3 * 2).map(|i| 0.1 + i as f32 / 64.0).collect(),
        n_frames: 3,
        step_context: None,
        material: None,
    }
}

fn framed(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        frame_record(&mut out, r);
    }
    out
}

/// Writes a DeepMind dataset whose train.tfrecord holds `bytes`, imports it, returns the error.
fn deepmind_error(bytes: &[u8], meta: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metadata.json"), meta).unwrap();
    let path = dir.path().join("train.tfrecord");
    std::fs::write(&path, bytes).unwrap();
    let err = import_dataset(dir.path(), DatasetFormat::Deepmind)
        .expect_err("hostile input must be refused")
        .to_string();
    (err, dir.path().display().to_string())
}

#[test]
fn hostile_tfrecords_give_specific_errors() {
    let good = encode_record(&record(0));
    let two = framed(&[good.clone(), good.clone()]);

    let mut nan = record(1);
    nan.position[7] = f32::NAN;
    // particle_type of 7 bytes: not a whole number of int64.
    let mut example = SequenceExample::decode(&good[..]).unwrap();
    example.context.as_mut().unwrap().feature.insert(
        "particle_type".into(),
        Feature {
            kind: Some(FeatureKind::BytesList(BytesList {
                value: vec![vec![5u8; 7]],
            })),
        },
    );
    let odd_types = example.encode_to_vec();
    let mut short = record(2);
    short.position.truncate(3 * 2 * 2 + 5); // N·D·4 mismatch in the last frame
    short.n_frames = 3;

    let mut bad_data_crc = two.clone();
    let last = bad_data_crc.len() - 10;
    bad_data_crc[last] ^= 0x40;
    let mut bad_len_crc = two.clone();
    bad_len_crc[9] ^= 0x01;
    // A length field claiming a terabyte, with a valid CRC of that length.
    let mut huge = Vec::new();
    let len = (1u64 << 40).to_le_bytes();
    huge.extend_from_slice(&len);
    huge.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    huge.extend_from_slice(&[0u8; 64]);
    // A context key that is not UTF-8: protobuf map keys are strings.
    let mut non_utf8 = good.clone();
    let at = non_utf8
        .windows(3)
        .position(|w| w == b"key")
        .expect("the encoding holds the key name");
    non_utf8[at..at + 3].copy_from_slice(&[0xff, 0xfe, 0xfd]);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            two[..two.len() - 20].to_vec(),
            "record 1: length field claims",
        ),
        (
            "truncated header",
            two[..good.len() + 16 + 5].to_vec(),
            "record 1: truncated header",
        ),
        (
            "data CRC",
            bad_data_crc,
            "record 1: CRC of the data does not match",
        ),
        (
            "length CRC",
            bad_len_crc,
            "record 0: CRC of the length field",
        ),
        ("terabyte length", huge, "claims 1099511627776 bytes"),
        (
            "non-UTF-8 key",
            framed(&[non_utf8]),
            "record 0: not a tensorflow.SequenceExample",
        ),
        (
            "NaN",
            framed(&[good.clone(), encode_record(&nan)]),
            "record 1: non-finite position at frame 1, particle 0",
        ),
        (
            "int64 types",
            framed(&[odd_types]),
            "record 0: context `particle_type` has 7 bytes",
        ),
        (
            "N·D",
            framed(&[encode_record(&short)]),
            "but N·D·4 = 3·2·4 = 24",
        ),
        (
            "garbage",
            b"this is not a tfrecord at all, just text".to_vec(),
            "CRC of the length field",
        ),
        ("empty", Vec::new(), "holds no records"),
    ];
    for (what, bytes, expected) in cases {
        let (err, dir) = deepmind_error(&bytes, DEEPMIND_META);
        assert!(
            err.contains(&dir) && err.contains("train.tfrecord"),
            "{what}: the error must name the file: {err}"
        );
        assert!(err.contains(expected), "{what}: {err}");
    }
}

#[test]
fn a_deepmind_record_with_the_wrong_dimension_is_refused() {
    // metadata.json says 3D, the 2D record has 24 bytes per frame for 3 particles, not 36.
    let meta = DEEPMIND_META.replace("\"dim\": 2", "\"dim\": 3");
    let (err, _) = deepmind_error(&framed(&[encode_record(&record(0))]), &meta);
    assert!(err.contains("but N·D·4 = 3·3·4 = 36"), "{err}");
}

#[test]
fn missing_or_bad_metadata_keys_are_named() {
    let bytes = framed(&[encode_record(&record(0))]);
    let no_dt = DEEPMIND_META.replace("\"dt\": 0.0025,", "");
    let (err, _) = deepmind_error(&bytes, &no_dt);
    assert!(
        err.contains("metadata.json") && err.contains("missing key `dt`"),
        "{err}"
    );
    let bad_dim = DEEPMIND_META.replace("\"dim\": 2", "\"dim\": -2");
    let (err, _) = deepmind_error(&bytes, &bad_dim);
    assert!(
        err.contains("`dim` = -2 is not a non-negative integer"),
        "{err}"
    );
    let (err, _) = deepmind_error(&bytes, "{ not json");
    assert!(err.contains("metadata.json: not JSON"), "{err}");
}

/// Zips raw `.npy` members into `dir/train.npz` next to a geoelements metadata.json.
fn npz_dataset(members: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metadata.json"), DEEPMIND_META).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    std::fs::write(dir.path().join("train.npz"), bytes).unwrap();
    dir
}

fn npy(value: &PyValue) -> Vec<u8> {
    learnsim_data::npz::write_npy(value).unwrap()
}

fn geo_error(dir: &Path) -> String {
    let err = import_dataset(dir, DatasetFormat::Geoelements)
        .expect_err("hostile input must be refused")
        .to_string();
    assert!(
        err.contains(&dir.join("train.npz").display().to_string()),
        "the error must name the file: {err}"
    );
    err
}

fn simulation(positions: PyValue, types: PyValue) -> Vec<u8> {
    npy(&PyValue::ObjectArray(vec![positions, types]))
}

#[test]
fn hostile_npz_files_give_specific_errors() {
    let positions = |t: usize, n: usize, v: f32| {
        PyValue::Array(vec![t, n, 2], ArrayValues::F32(vec![v; t * n * 2]))
    };
    let types = |n: usize| PyValue::Array(vec![n], ArrayValues::I64(vec![5; n]));

    // Mismatched shapes: 4 particle types for 3 particles.
    let dir = npz_dataset(&[("simulation_0", simulation(positions(3, 3, 0.5), types(4)))]);
    assert!(
        geo_error(dir.path())
            .contains("`simulation_0`: particle_type has shape [4], expected a scalar or [3]"),
        "{}",
        geo_error(dir.path())
    );
    // NaN positions.
    let dir = npz_dataset(&[(
        "simulation_0",
        simulation(positions(3, 3, f32::NAN), types(3)),
    )]);
    let err = geo_error(dir.path());
    assert!(
        err.contains("`simulation_0`") && err.contains("frame 0"),
        "{err}"
    );
    // A negative dimension in the .npy header.
    let mut negative = npy(&PyValue::Array(vec![2], ArrayValues::F32(vec![1.0, 2.0])));
    let header = String::from_utf8_lossy(&negative[10..]).into_owned();
    let at = header.find("(2,)").unwrap() + 10;
    negative[at..at + 4].copy_from_slice(b"(-2)");
    let dir = npz_dataset(&[("simulation_0", negative)]);
    let err = geo_error(dir.path());
    assert!(
        err.contains("member `simulation_0.npy`: .npy `shape` has a bad dimension `-2`"),
        "{err}"
    );
    // A header claiming 10^12 × 3 floats over 8 bytes of data: refused, nothing allocated.
    let mut absurd = npy(&PyValue::Array(vec![2], ArrayValues::F32(vec![1.0, 2.0])));
    let at = absurd.windows(4).position(|w| w == b"(2,)").unwrap();
    let mut patched = absurd[..at].to_vec();
    patched.extend_from_slice(b"(1000000000000, 3)");
    patched.extend_from_slice(&absurd[at + 4..]);
    absurd = patched;
    // Keep the header length field honest (it counts bytes between byte 10 and the data).
    let header_len = u16::from_le_bytes([absurd[8], absurd[9]]) + 14;
    absurd[8..10].copy_from_slice(&header_len.to_le_bytes());
    let dir = npz_dataset(&[("simulation_0", absurd)]);
    let err = geo_error(dir.path());
    assert!(
        err.contains("array data has 8 bytes, shape and dtype need 12000000000000"),
        "{err}"
    );
    // A plain numeric array where an object array (positions, types) belongs.
    let dir = npz_dataset(&[("simulation_0", npy(&positions(2, 2, 0.5)))]);
    assert!(geo_error(dir.path()).contains("expected an object array"));
    // Not a zip at all.
    let dir = npz_dataset(&[]);
    std::fs::write(dir.path().join("train.npz"), b"PK\x03\x04 not really").unwrap();
    assert!(geo_error(dir.path()).contains("not a zip archive"));
    // A truncated object pickle.
    let mut cut = simulation(positions(3, 3, 0.5), types(3));
    cut.truncate(cut.len() - 30);
    let dir = npz_dataset(&[("simulation_0", cut)]);
    assert!(
        geo_error(dir.path()).contains("pickle truncated"),
        "{}",
        geo_error(dir.path())
    );
}

#[test]
fn a_zip_bomb_is_refused_before_inflating() {
    // 4 MiB of zeros deflate to about 4 KiB; the member's size fields are then patched to claim
    // 4 GB, far beyond DEFLATE's 1032:1 over the compressed size.
    let dir = npz_dataset(&[("simulation_0", vec![0u8; 4 << 20])]);
    let path = dir.path().join("train.npz");
    let mut bytes = std::fs::read(&path).unwrap();
    let claim = 4_000_000_000u32.to_le_bytes();
    let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
    bytes[local + 22..local + 26].copy_from_slice(&claim);
    let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[central + 24..central + 28].copy_from_slice(&claim);
    std::fs::write(&path, &bytes).unwrap();
    let err = geo_error(dir.path());
    assert!(
        err.contains("zip bomb") && err.contains("4000000000"),
        "{err}"
    );
}

#[test]
fn an_hdf5_chunk_claiming_gigabytes_is_refused_before_decoding() {
    // Found by the `hdf5` fuzz target (five minutes, -malloc_limit_mb=512): a 12 KB file whose
    // `position` chunk claims 3 GB made the decoder allocate it. Now refused up front.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/chunk_claims_3gb.h5");
    let err = learnsim_data::read_split(&path, learnsim_core::TypeConvention::Lagrangebench)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chunk_claims_3gb.h5") && err.contains("claims more data than"),
        "{err}"
    );
}
