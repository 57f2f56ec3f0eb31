//! Which request paths may be read: only files under the served root, by a path of plain
//! names. `..`, `.`, empty segments, backslashes, NUL, absolute paths and their
//! percent-encoded spellings are refused before the file system is asked, and a path that
//! resolves (through symlinks) outside the root is refused after.

use percent_encoding::percent_decode_str;
use std::path::{Path, PathBuf};

/// The served root, resolved once (so symlinks inside it are judged against its real path).
#[derive(Debug, Clone)]
pub struct Root {
    real: PathBuf,
}

impl Root {
    /// `dir` resolved; it must exist and be a folder.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let real = dir.canonicalize()?;
        if !real.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        Ok(Self { real })
    }

    /// The root's real path.
    pub fn path(&self) -> &Path {
        &self.real
    }

    /// The existing file or folder that the URL path `encoded` (percent-encoded, relative to
    /// the root, segments separated by `/`) names, if it lies under the root; `None` for
    /// anything else.
    pub fn resolve(&self, encoded: &str) -> Option<PathBuf> {
        let decoded = percent_decode_str(encoded).decode_utf8().ok()?;
        let mut path = self.real.clone();
        for segment in decoded.split('/') {
            if !plain_name(segment) {
                return None;
            }
            path.push(segment);
        }
        let real = path.canonicalize().ok()?;
        real.starts_with(&self.real).then_some(real)
    }

    /// `path` (under the root) as the `/`-separated relative id the URLs use.
    pub fn id_of(&self, path: &Path) -> Option<String> {
        let rel = path.canonicalize().ok()?;
        let rel = rel.strip_prefix(&self.real).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!parts.is_empty() && parts.iter().all(|p| plain_name(p))).then(|| parts.join("/"))
    }
}

/// A file or folder name that means only itself.
fn plain_name(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.contains(['\\', '\0', ':'])
        && !segment.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_root_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let root_dir = dir.path().join("runs");
        std::fs::create_dir_all(root_dir.join("a/b")).unwrap();
        std::fs::write(root_dir.join("a/b/metrics.json"), "{}").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "no").unwrap();
        let root = Root::new(&root_dir).unwrap();
        assert!(root.resolve("a/b/metrics.json").is_some());
        assert_eq!(
            root.id_of(&root_dir.join("a/b")).as_deref(),
            Some("a/b"),
            "ids are root-relative"
        );
        for bad in [
            "../secret.txt",
            "a/../../secret.txt",
            "%2e%2e/secret.txt",
            "%2E%2E%2Fsecret.txt",
            "a/%2e%2e/%2e%2e/secret.txt",
            "/etc/passwd",
            "%2fetc%2fpasswd",
            "a//b/metrics.json",
            "a/./b/metrics.json",
            "a\\..\\..\\secret.txt",
            "a/b/metrics.json%00",
            "a/b/missing.json",
            "%ff%fe",
        ] {
            assert_eq!(root.resolve(bad), None, "{bad} must not resolve");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_root_is_refused_and_one_inside_it_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root_dir = dir.path().join("runs");
        std::fs::create_dir_all(root_dir.join("run")).unwrap();
        std::fs::write(root_dir.join("run/metrics.json"), "{}").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "no").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root_dir.join("out")).unwrap();
        std::os::unix::fs::symlink(root_dir.join("run"), root_dir.join("alias")).unwrap();
        let root = Root::new(&root_dir).unwrap();
        assert_eq!(root.resolve("out"), None);
        assert!(root.resolve("alias/metrics.json").is_some());
    }
}
