//! The packs built into the binary.

use necessity_engine::PackSource;
use std::collections::BTreeMap;

include!(concat!(env!("OUT_DIR"), "/embedded_packs.rs"));

/// Every embedded pack version, as `(name/version, source)`, in path order, each with the
/// content of the version it builds on (`base:`) already taken in.
#[must_use]
pub fn pack_sources() -> Vec<(String, PackSource)> {
    let mut by_folder: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, text) in EMBEDDED_PACK_FILES {
        let mut parts = path.splitn(3, '/');
        let (Some(pack), Some(version), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        by_folder.entry(format!("{pack}/{version}")).or_default().push((rest.to_owned(), (*text).to_owned()));
    }
    let own: BTreeMap<String, PackSource> = by_folder
        .into_iter()
        .filter(|(_, files)| files.iter().any(|(p, _)| p == "pack.yaml"))
        .map(|(folder, files)| {
            let source = PackSource::from_files(format!("<embedded>/packs/{folder}"), files);
            (folder, source)
        })
        .collect();
    own.iter().map(|(folder, source)| (folder.clone(), with_bases(folder, source, &own))).collect()
}

/// `source` with the content of its chain of bases; a base that is not embedded is left for
/// the loader to report as missing files.
fn with_bases(folder: &str, source: &PackSource, own: &BTreeMap<String, PackSource>) -> PackSource {
    let mut whole = source.clone();
    let mut current = (folder.to_owned(), source.clone());
    // Bounded so that a base naming itself cannot loop.
    for _ in 0..own.len() {
        let Some(base) = current.1.base().and_then(|b| resolve(&current.0, &b)) else {
            break;
        };
        let Some(base_source) = own.get(&base) else {
            break;
        };
        whole.inherit(base_source.clone());
        current = (base, base_source.clone());
    }
    whole
}

/// The folder `relative` names from `folder` (`pain/2026-06-14` + `../2025-01-01`).
fn resolve(folder: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = folder.split('/').collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolves_a_sibling_version() {
        assert_eq!(resolve("pain/2026-06-14", "../2025-01-01").as_deref(), Some("pain/2025-01-01"));
        assert_eq!(resolve("pain/2026-06-14", "./x/../y").as_deref(), Some("pain/2026-06-14/y"));
        assert_eq!(resolve("pain", "../../x"), None);
    }
}
