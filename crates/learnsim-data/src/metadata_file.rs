//! metadata.json: written atomically, read with errors that name the missing or bad key.

use crate::{DataError, write_atomically};
use learnsim_core::Metadata;
use std::path::Path;

/// Writes `metadata` as pretty JSON to `path`, atomically.
pub fn write_metadata(path: &Path, metadata: &Metadata) -> Result<(), DataError> {
    let text = serde_json::to_string_pretty(metadata)
        .map_err(|e| DataError::invalid(path, format!("cannot serialise metadata: {e}")))?;
    write_atomically(path, |tmp| {
        std::fs::write(tmp, text.as_bytes()).map_err(|e| DataError::io(path, e))
    })
}

/// Reads and validates `path`.
pub fn read_metadata(path: &Path) -> Result<Metadata, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let metadata: Metadata = serde_json::from_str(&text)
        .map_err(|e| DataError::invalid(path, format!("not a learnsim metadata.json: {e}")))?;
    metadata
        .validate()
        .map_err(|e| DataError::invalid(path, e.to_string()))?;
    Ok(metadata)
}
