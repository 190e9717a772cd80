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

/// How many versions deep a chain of `base:` may go; deeper means a cycle.
const MAX_BASE_DEPTH: usize = 16;

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
        Self::from_dir_within(dir, MAX_BASE_DEPTH)
    }

    fn from_dir_within(dir: &Path, bases_left: usize) -> std::io::Result<Self> {
        let mut files = BTreeMap::new();
        collect(dir, dir, &mut files)?;
        if !files.contains_key("pack.yaml") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} has no pack.yaml: is it a pack version folder?", dir.display()),
            ));
        }
        let mut source = Self { root: dir.display().to_string(), files };
        if let Some(base) = source.base() {
            let Some(bases_left) = bases_left.checked_sub(1) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: more than {MAX_BASE_DEPTH} bases deep (does a base name itself?)", dir.display()),
                ));
            };
            let base_source = Self::from_dir_within(&dir.join(base), bases_left)?;
            source.inherit(base_source);
        }
        Ok(source)
    }

    /// The folder this version builds on (`base:` in its manifest), relative to its own folder.
    #[must_use]
    pub fn base(&self) -> Option<String> {
        self.file("pack.yaml").and_then(base_of)
    }

    /// Takes the base version's content files that this version does not replace. A version
    /// may build on another (`base: ../2026-06-14`) and carry only what changed; the base's
    /// manifest and test cases stay the base's own.
    pub fn inherit(&mut self, base: Self) {
        let tests = base.file("pack.yaml").and_then(tests_of);
        for (name, text) in base.files {
            let is_test = tests.as_deref().is_some_and(|t| name.starts_with(&format!("{t}/")));
            if name != "pack.yaml" && !is_test {
                self.files.entry(name).or_insert(text);
            }
        }
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

/// The `base:` line of a manifest, read without the full loader (which reports any error).
fn base_of(manifest: &str) -> Option<String> {
    manifest_field(manifest, "base")
}

fn tests_of(manifest: &str) -> Option<String> {
    manifest_field(manifest, "tests")
}

fn manifest_field(manifest: &str, key: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Fields {
        base: Option<String>,
        tests: Option<String>,
    }
    let fields: Fields =
        serde_saphyr::from_str::<serde_json::Value>(manifest).ok().and_then(|v| serde_json::from_value(v).ok())?;
    match key {
        "base" => fields.base,
        _ => fields.tests,
    }
}
