//! The packs built into the binary.

use necessity_engine::PackSource;
use std::collections::BTreeMap;

include!(concat!(env!("OUT_DIR"), "/embedded_packs.rs"));

/// Every embedded pack version, as `(name/version, source)`, in path order.
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
    by_folder
        .into_iter()
        .filter(|(_, files)| files.iter().any(|(p, _)| p == "pack.yaml"))
        .map(|(folder, files)| {
            let source = PackSource::from_files(format!("<embedded>/packs/{folder}"), files);
            (folder, source)
        })
        .collect()
}

/// The embedded pack version used by default: the newest version of the first pack.
#[must_use]
pub fn default_source() -> Option<PackSource> {
    pack_sources().into_iter().last().map(|(_, source)| source)
}
