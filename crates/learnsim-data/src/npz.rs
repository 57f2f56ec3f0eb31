//! numpy's `.npy` arrays and `.npz` archives (a zip of `.npy` members).
//!
//! The zip container is the `zip` crate's; the `.npy` header and payload are decoded here because
//! the crates that read `.npy` do not handle object arrays, which is what geoelements/gns stores
//! its trajectories as. Object payloads go through [`crate::pickle`].
//!
//! Zip bombs: a member is read through a cap at its declared size, a declared size beyond
//! DEFLATE's maximum ratio (1032:1) over its compressed size is refused before reading, and the
//! members' compressed sizes together must fit in the archive (overlapping members are the other
//! classic bomb).

use crate::pickle::{ArrayData, ArrayValues, Dtype, NdArray, Pickle, PickleWriter, PyValue};
use std::io::{Read, Write};

/// DEFLATE cannot compress better than 1032:1 (258-byte matches coded in two bits, at best);
/// a declared size beyond that over the compressed size (plus a small slack for headers) is a
/// lie or a bomb.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Parses an `.npy` file's bytes.
pub fn read_npy(bytes: &[u8]) -> Result<NdArray, String> {
    let magic = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != magic {
        return Err("not an .npy array (bad magic)".into());
    }
    let major = bytes[6];
    let (header_len, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(".npy header truncated".into());
            }
            (
                u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or(".npy header truncated")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| ".npy header is not text")?;
    let descr = quoted_value(header, "descr")?;
    let fortran = header_value(header, "fortran_order")?;
    let shape = parse_shape(&header_value(header, "shape")?)?;
    if fortran.starts_with("True") && shape.len() > 1 {
        return Err("Fortran-ordered .npy arrays are not supported".into());
    }
    let count = shape.iter().try_fold(1usize, |a, &d| {
        a.checked_mul(d)
            .ok_or_else(|| format!("shape {shape:?} overflows"))
    })?;
    let payload = &bytes[end..];
    let dtype = Dtype::from_code(&descr, false)?;
    if dtype == Dtype::Object {
        let pickle = Pickle::parse(payload)?;
        let array = pickle.array(pickle.root())?;
        if array.shape != shape {
            return Err(format!(
                "object array pickle has shape {:?}, header says {shape:?}",
                array.shape
            ));
        }
        return Ok(array);
    }
    Ok(NdArray::new(shape, dtype.decode(payload, count)?))
}

/// Serialises `value` (an array or a 1-D object array) as `.npy` bytes.
pub fn write_npy(value: &PyValue) -> Result<Vec<u8>, String> {
    let (descr, shape, payload) = match value {
        PyValue::Array(shape, values) => {
            let (descr, raw): (&str, Vec<u8>) = match values {
                ArrayValues::F32(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                ArrayValues::F64(v) => ("<f8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                ArrayValues::I64(v) => ("<i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            };
            (descr, shape.clone(), raw)
        }
        PyValue::ObjectArray(items) => ("|O", vec![items.len()], PickleWriter::to_bytes(value)),
        other => return Err(format!("cannot write {other:?} as .npy")),
    };
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy pads the header with spaces and a newline so the data starts at a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + payload.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Reads every member of an `.npz` archive, in archive order, as `(name without .npy, array)`.
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NdArray)>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a zip archive: {e}"))?;
    let mut compressed_total: u64 = 0;
    for i in 0..archive.len() {
        let member = archive
            .by_index_raw(i)
            .map_err(|e| format!("zip member {i}: {e}"))?;
        compressed_total = compressed_total.saturating_add(member.compressed_size());
    }
    if compressed_total > bytes.len() as u64 {
        return Err(format!(
            "zip members claim {compressed_total} compressed bytes in a {}-byte archive (overlapping members: a zip bomb)",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let member = archive
            .by_index(i)
            .map_err(|e| format!("zip member {i}: {e}"))?;
        let name = member
            .name()
            .map_err(|e| format!("zip member {i} has a name that is not UTF-8: {e}"))?
            .to_string();
        let declared = member.size();
        if declared > member.compressed_size().saturating_mul(MAX_DEFLATE_RATIO) + 1024 {
            return Err(format!(
                "member `{name}` claims {declared} bytes from {} compressed: beyond DEFLATE's 1032:1 (a zip bomb)",
                member.compressed_size()
            ));
        }
        let mut data = Vec::new();
        member
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| format!("member `{name}`: {e}"))?;
        if data.len() as u64 != declared {
            return Err(format!(
                "member `{name}` inflates to {} bytes, its header says {declared}",
                data.len()
            ));
        }
        let array = read_npy(&data).map_err(|e| format!("member `{name}`: {e}"))?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        out.push((key, array));
    }
    Ok(out)
}

/// Writes `members` as a deflate-compressed `.npz` (what `np.savez_compressed` makes).
pub fn write_npz(members: &[(String, PyValue)]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, value) in members {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| format!("zip member `{name}`: {e}"))?;
        zip.write_all(&write_npy(value)?)
            .map_err(|e| format!("zip member `{name}`: {e}"))?;
    }
    Ok(zip
        .finish()
        .map_err(|e| format!("cannot finish the zip archive: {e}"))?
        .into_inner())
}

/// The items of a 1-D object array, or an error naming what it was instead.
pub fn object_items(array: &NdArray) -> Result<&[NdArray], String> {
    match &array.data {
        ArrayData::Object(items) => Ok(items),
        _ => Err(format!(
            "expected an object array (positions, particle_type[, material_property]), found a numeric array of shape {:?}",
            array.shape
        )),
    }
}

fn header_value(header: &str, key: &str) -> Result<String, String> {
    let needle = format!("'{key}':");
    let at = header
        .find(&needle)
        .ok_or_else(|| format!(".npy header has no `{key}`"))?;
    Ok(header[at + needle.len()..].trim_start().to_string())
}

fn quoted_value(header: &str, key: &str) -> Result<String, String> {
    let rest = header_value(header, key)?;
    let rest = rest
        .strip_prefix('\'')
        .ok_or_else(|| format!(".npy `{key}` is not a simple dtype string"))?;
    let end = rest
        .find('\'')
        .ok_or_else(|| format!(".npy `{key}` is unterminated"))?;
    Ok(rest[..end].to_string())
}

fn parse_shape(rest: &str) -> Result<Vec<usize>, String> {
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .ok_or(".npy `shape` is not a tuple")?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!(".npy `shape` has a bad dimension `{s}`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npz_round_trips_plain_and_object_arrays() {
        let members = vec![
            (
                "simulation_0".to_string(),
                PyValue::ObjectArray(vec![
                    PyValue::Array(
                        vec![3, 2, 2],
                        ArrayValues::F32((0..12).map(|i| i as f32).collect()),
                    ),
                    PyValue::Array(vec![2], ArrayValues::I64(vec![6, 3])),
                ]),
            ),
            (
                "plain".to_string(),
                PyValue::Array(vec![2], ArrayValues::F64(vec![0.5, -1.0])),
            ),
        ];
        let bytes = write_npz(&members).unwrap();
        let back = read_npz(&bytes).unwrap();
        assert_eq!(back[0].0, "simulation_0");
        let items = object_items(&back[0].1).unwrap();
        assert_eq!(items[0].shape, [3, 2, 2]);
        assert_eq!(items[1].to_i64().unwrap(), [6, 3]);
        assert_eq!(back[1].1.data, ArrayData::Float(vec![0.5, -1.0]));
    }
}
