//! Embeds every pack under `packs/` in the binary, so `necessity evaluate` runs with no setup.
//! Written out as `include_str!` entries (rather than with a directory-embedding crate) so
//! that cargo rebuilds when any pack file changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let packs = manifest.join("../../packs");
    println!("cargo:rerun-if-changed={}", packs.display());
    let mut files = Vec::new();
    collect(&packs, &mut files);
    let mut code = String::from(
        "/// Every pack file, by path relative to `packs/`.\npub static EMBEDDED_PACK_FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file.strip_prefix(&packs).unwrap_or(file);
        let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        let _ = writeln!(code, "    ({key:?}, include_str!({:?})),", absolute.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded_packs.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
