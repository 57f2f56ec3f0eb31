//! TFRecord framing and DeepMind's GNS `SequenceExample` records.
//!
//! A TFRecord file is a sequence of records, each framed as
//! `u64 length (LE) · u32 masked CRC32C(length) · data · u32 masked CRC32C(data)`.
//! DeepMind's `learning_to_simulate` datasets store one trajectory per record as a
//! `tensorflow.SequenceExample`: context `key` (int64) and `particle_type` (bytes of int64 LE
//! `[N]`), feature list `position` of `sequence_length + 1` frames (bytes of float32 LE `[N·D]`),
//! and an optional feature list `step_context` (bytes of float32 LE per frame).
//!
//! The protobuf messages are declared with prost's derive (the subset of TensorFlow's
//! `feature.proto` and `example.proto` these files use), so parsing is prost's, not ours.
//! Nothing is allocated from a length field before it has been checked against the bytes that
//! are actually left in the file.

use crate::DataError;
use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// `tensorflow.BytesList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

/// `tensorflow.FloatList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    #[prost(float, repeated, tag = "1")]
    pub value: Vec<f32>,
}

/// `tensorflow.Int64List`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

/// `tensorflow.Feature`: one of the three lists.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    #[prost(oneof = "FeatureKind", tags = "1, 2, 3")]
    pub kind: Option<FeatureKind>,
}

/// The `kind` oneof of `tensorflow.Feature`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FeatureKind {
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

/// `tensorflow.Features`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(map = "string, message", tag = "1")]
    pub feature: HashMap<String, Feature>,
}

/// `tensorflow.FeatureList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FeatureList {
    #[prost(message, repeated, tag = "1")]
    pub feature: Vec<Feature>,
}

/// `tensorflow.FeatureLists`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FeatureLists {
    #[prost(map = "string, message", tag = "1")]
    pub feature_list: HashMap<String, FeatureList>,
}

/// `tensorflow.SequenceExample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SequenceExample {
    #[prost(message, optional, tag = "1")]
    pub context: Option<Features>,
    #[prost(message, optional, tag = "2")]
    pub feature_lists: Option<FeatureLists>,
}

/// One trajectory as DeepMind stores it, before type ids are mapped to kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepmindRecord {
    /// The context `key`.
    pub key: i64,
    /// Spatial dimension (from metadata.json; the record does not carry it).
    pub dim: usize,
    /// DeepMind type ids `[N]`.
    pub particle_type: Vec<i64>,
    /// Positions `[T, N, D]`.
    pub position: Vec<f32>,
    /// Frames `T`.
    pub n_frames: usize,
    /// Per-frame global context `[T, C]` and its width `C`, when the dataset has one.
    pub step_context: Option<(usize, Vec<f32>)>,
    /// Static per-particle features `[N, F]` and `F`: a context feature `material_property`
    /// (float32 bytes) of ours. DeepMind's datasets have none and their parser reads only the
    /// context keys it names, so the extra key is carried without disturbing their tools.
    pub material: Option<(usize, Vec<f32>)>,
}

/// TensorFlow's CRC mask: rotate right by 15 and add a constant.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one framed record to `out`.
pub fn frame_record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Reads framed records one at a time from a file, checking both CRCs and never allocating
/// more than the file still holds.
#[derive(Debug)]
pub struct RecordReader<R> {
    reader: R,
    remaining: u64,
    index: usize,
}

impl RecordReader<BufReader<std::fs::File>> {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let size = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        Ok(Self::new(BufReader::new(file), size))
    }
}

impl<R: Read> RecordReader<R> {
    /// Reads records from `reader`, which holds `size` bytes.
    pub fn new(reader: R, size: u64) -> Self {
        Self {
            reader,
            remaining: size,
            index: 0,
        }
    }

    /// The next record's bytes, `Ok(None)` at a clean end of file, or the problem (with the
    /// record's index) as a message.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let index = self.index;
        let mut header = [0u8; 12];
        if self.remaining < 12 {
            return Err(format!(
                "record {index}: truncated header ({} of 12 bytes)",
                self.remaining
            ));
        }
        self.read_exact(&mut header, index)?;
        let len_bytes: [u8; 8] = header[..8].try_into().expect("8 bytes");
        let len = u64::from_le_bytes(len_bytes);
        let len_crc = u32::from_le_bytes(header[8..].try_into().expect("4 bytes"));
        if masked_crc32c(&len_bytes) != len_crc {
            return Err(format!(
                "record {index}: CRC of the length field does not match (corrupt framing)"
            ));
        }
        // The data and its 4-byte CRC must fit in what is left of the file.
        if len.checked_add(4).is_none_or(|need| need > self.remaining) {
            return Err(format!(
                "record {index}: length field claims {len} bytes but only {} remain (truncated file)",
                self.remaining.saturating_sub(4)
            ));
        }
        let mut data = vec![0u8; len as usize];
        self.read_exact(&mut data, index)?;
        let mut crc = [0u8; 4];
        self.read_exact(&mut crc, index)?;
        if masked_crc32c(&data) != u32::from_le_bytes(crc) {
            return Err(format!(
                "record {index}: CRC of the data does not match (corrupt record)"
            ));
        }
        self.index += 1;
        Ok(Some(data))
    }

    fn read_exact(&mut self, buf: &mut [u8], index: usize) -> Result<(), String> {
        self.reader
            .read_exact(buf)
            .map_err(|e| format!("record {index}: {e}"))?;
        self.remaining -= buf.len() as u64;
        Ok(())
    }
}

/// Parses one record's bytes as a DeepMind trajectory of dimension `dim`.
pub fn decode_record(bytes: &[u8], dim: usize) -> Result<DeepmindRecord, String> {
    use prost::Message;
    let example = SequenceExample::decode(bytes)
        .map_err(|e| format!("not a tensorflow.SequenceExample: {e}"))?;
    let context = example
        .context
        .ok_or("SequenceExample has no context")?
        .feature;
    let key = match context.get("key").and_then(|f| f.kind.as_ref()) {
        Some(FeatureKind::Int64List(list)) if list.value.len() == 1 => list.value[0],
        Some(_) => return Err("context `key` is not a single int64".into()),
        None => return Err("context has no `key`".into()),
    };
    let type_bytes = single_bytes(context.get("particle_type"), "context `particle_type`")?;
    if !type_bytes.len().is_multiple_of(8) {
        return Err(format!(
            "context `particle_type` has {} bytes, not a whole number of int64",
            type_bytes.len()
        ));
    }
    let particle_type: Vec<i64> = type_bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let n = particle_type.len();
    if n == 0 {
        return Err("context `particle_type` is empty (no particles)".into());
    }
    let frame_bytes = n
        .checked_mul(dim)
        .and_then(|v| v.checked_mul(4))
        .ok_or("N·D overflows")?;
    let lists = example.feature_lists.map(|l| l.feature_list);
    let frames = lists
        .as_ref()
        .and_then(|l| l.get("position"))
        .ok_or("feature list `position` is missing")?;
    if frames.feature.is_empty() {
        return Err("feature list `position` has no frames".into());
    }
    let mut position = Vec::with_capacity(frames.feature.len() * n * dim);
    for (t, frame) in frames.feature.iter().enumerate() {
        let bytes = single_bytes(Some(frame), &format!("`position` frame {t}"))?;
        if bytes.len() != frame_bytes {
            return Err(format!(
                "`position` frame {t} has {} bytes, but N·D·4 = {n}·{dim}·4 = {frame_bytes}",
                bytes.len()
            ));
        }
        push_f32(&mut position, bytes);
    }
    let n_frames = frames.feature.len();
    let step_context = match lists.as_ref().and_then(|l| l.get("step_context")) {
        None => None,
        Some(list) => {
            if list.feature.len() != n_frames {
                return Err(format!(
                    "`step_context` has {} frames, `position` has {n_frames}",
                    list.feature.len()
                ));
            }
            let mut values = Vec::new();
            let mut width = None;
            for (t, frame) in list.feature.iter().enumerate() {
                let bytes = single_bytes(Some(frame), &format!("`step_context` frame {t}"))?;
                if !bytes.len().is_multiple_of(4) || width.is_some_and(|w| w != bytes.len() / 4) {
                    return Err(format!(
                        "`step_context` frame {t} has {} bytes, inconsistent with float32 [C]",
                        bytes.len()
                    ));
                }
                width = Some(bytes.len() / 4);
                push_f32(&mut values, bytes);
            }
            Some((width.unwrap_or(0), values))
        }
    };
    let material = match context.get("material_property") {
        None => None,
        Some(feature) => {
            let bytes = single_bytes(Some(feature), "context `material_property`")?;
            let floats = bytes.len() / 4;
            if !bytes.len().is_multiple_of(4) || floats == 0 || !floats.is_multiple_of(n) {
                return Err(format!(
                    "context `material_property` has {} bytes, not float32 [N, F] with N = {n}",
                    bytes.len()
                ));
            }
            let mut values = Vec::with_capacity(floats);
            push_f32(&mut values, bytes);
            Some((floats / n, values))
        }
    };
    Ok(DeepmindRecord {
        key,
        dim,
        particle_type,
        position,
        n_frames,
        step_context,
        material,
    })
}

/// Serialises `record` as a SequenceExample (without framing).
pub fn encode_record(record: &DeepmindRecord) -> Vec<u8> {
    use prost::Message;
    let bytes_feature = |b: Vec<u8>| Feature {
        kind: Some(FeatureKind::BytesList(BytesList { value: vec![b] })),
    };
    let f32_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut context = HashMap::new();
    context.insert(
        "key".to_string(),
        Feature {
            kind: Some(FeatureKind::Int64List(Int64List {
                value: vec![record.key],
            })),
        },
    );
    context.insert(
        "particle_type".to_string(),
        bytes_feature(
            record
                .particle_type
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
    );
    if let Some((_, values)) = &record.material {
        context.insert(
            "material_property".to_string(),
            bytes_feature(f32_bytes(values)),
        );
    }
    let per_frame = record.particle_type.len() * record.dim;
    let mut lists = HashMap::new();
    lists.insert(
        "position".to_string(),
        FeatureList {
            feature: record
                .position
                .chunks(per_frame.max(1))
                .map(|frame| bytes_feature(f32_bytes(frame)))
                .collect(),
        },
    );
    if let Some((width, values)) = &record.step_context {
        lists.insert(
            "step_context".to_string(),
            FeatureList {
                feature: (0..record.n_frames)
                    .map(|t| bytes_feature(f32_bytes(&values[t * width..(t + 1) * width])))
                    .collect(),
            },
        );
    }
    SequenceExample {
        context: Some(Features { feature: context }),
        feature_lists: Some(FeatureLists {
            feature_list: lists,
        }),
    }
    .encode_to_vec()
}

/// Reads every record of a DeepMind `.tfrecord` split.
pub fn read_tfrecord(path: &Path, dim: usize) -> Result<Vec<DeepmindRecord>, DataError> {
    let mut reader = RecordReader::open(path)?;
    let mut records = Vec::new();
    while let Some(bytes) = reader
        .next_record()
        .map_err(|e| DataError::invalid(path, e))?
    {
        let index = records.len();
        let record = decode_record(&bytes, dim)
            .map_err(|e| DataError::invalid(path, format!("record {index}: {e}")))?;
        if let Some(flat) = record.position.iter().position(|v| !v.is_finite()) {
            let per_frame = record.particle_type.len() * dim;
            return Err(DataError::invalid(
                path,
                format!(
                    "record {index}: non-finite position at frame {}, particle {}",
                    flat / per_frame,
                    (flat % per_frame) / dim
                ),
            ));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(DataError::invalid(path, "holds no records"));
    }
    Ok(records)
}

/// Writes `records` as a framed `.tfrecord` file, atomically.
pub fn write_tfrecord(path: &Path, records: &[DeepmindRecord]) -> Result<(), DataError> {
    crate::write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| DataError::io(tmp, e))?;
        let mut out = std::io::BufWriter::new(file);
        let mut framed = Vec::new();
        for record in records {
            framed.clear();
            frame_record(&mut framed, &encode_record(record));
            out.write_all(&framed).map_err(|e| DataError::io(tmp, e))?;
        }
        out.flush().map_err(|e| DataError::io(tmp, e))
    })
}

fn single_bytes<'a>(feature: Option<&'a Feature>, what: &str) -> Result<&'a [u8], String> {
    match feature.and_then(|f| f.kind.as_ref()) {
        Some(FeatureKind::BytesList(list)) if list.value.len() == 1 => Ok(&list.value[0]),
        Some(_) => Err(format!("{what} is not a single bytes value")),
        None => Err(format!("{what} is missing")),
    }
}

fn push_f32(out: &mut Vec<f32>, bytes: &[u8]) {
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // crc32c("123456789") is the CRC-32C check value 0xE3069283; the masked value
        // 0xC78AB0E5 is what the Python `tfrecord` package's `masked_crc` returns for it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn record_round_trips() {
        let record = DeepmindRecord {
            key: 7,
            dim: 2,
            particle_type: vec![5, 3, 6],
            position: (0..4 * 3 * 2).map(|i| i as f32 * 0.25).collect(),
            n_frames: 4,
            step_context: Some((1, vec![0.5, 0.25, 0.125, 1.0])),
            material: Some((1, vec![0.25, 0.5, 0.75])),
        };
        let bytes = encode_record(&record);
        assert_eq!(decode_record(&bytes, 2).unwrap(), record);
    }
}
