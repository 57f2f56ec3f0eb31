use std::path::{Path, PathBuf};
use thiserror::Error;

/// A dataset problem, always naming the file it is about.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened, read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but its content is not what a dataset holds.
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl DataError {
    /// An [`DataError::Invalid`] for `path`.
    pub fn invalid(path: &Path, problem: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// An [`DataError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
