//! Atomic file writes: write beside the target, then rename over it.

use crate::DataError;
use std::path::{Path, PathBuf};

/// Calls `write` with a temporary path in the target's folder, then renames it to `path`.
/// On any error the temporary file is removed and `path` is left as it was.
pub fn write_atomically<F>(path: &Path, write: F) -> Result<(), DataError>
where
    F: FnOnce(&Path) -> Result<(), DataError>,
{
    let tmp = temp_path(path);
    let result =
        write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically (see [`write_atomically`]).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomically(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| DataError::io(tmp, e))
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
