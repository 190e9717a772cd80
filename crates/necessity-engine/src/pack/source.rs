//! Where pack files come from: a folder on disk, or files embedded in the binary. The loader
//! sees only this, so the engine never knows which.

use std::collections::BTreeMap;
use std::path::Path;

/// The files of one pack version, by path relative to the pack folder (`/`-separated).
#[derive(Debug, Clone, Default)]
pub struct PackSource {
    /// How to name the pack's folder in messages (a path, or `<embedded>/...`).
    pub root: String,
    pub files: BTreeMap<String, String>,
}

/// The largest pack file accepted; packs are small text files.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

impl PackSource {
    /// Builds a source from in-memory files.
    pub fn from_files<I, P, T>(root: impl Into<String>, files: I) -> Self
    where
        I: IntoIterator<Item = (P, T)>,
        P: Into<String>,
        T: Into<String>,
    {
        Self { root: root.into(), files: files.into_iter().map(|(p, t)| (p.into(), t.into())).collect() }
    }

    /// Reads every `.yaml`, `.yml` and `.json` file under `dir`.
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = BTreeMap::new();
        collect(dir, dir, &mut files)?;
        if !files.contains_key("pack.yaml") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} has no pack.yaml: is it a pack version folder?", dir.display()),
            ));
        }
        Ok(Self { root: dir.display().to_string(), files })
    }

    #[must_use]
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Files under a folder of the pack, with paths relative to the pack folder.
    pub fn files_under<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        self.files.iter().filter(move |(p, _)| p.starts_with(&prefix)).map(|(p, t)| (p.as_str(), t.as_str()))
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &path, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            if entry.metadata()?.len() > MAX_FILE_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display()),
                ));
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.insert(key, std::fs::read_to_string(&path)?);
        }
    }
    Ok(())
}
