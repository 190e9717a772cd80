//! Runs every test case that the packs in `packs/` carry, one test each.

use libtest_mimic::{Arguments, Failed, Trial};
use necessity_engine::{Pack, PackSource, pack_tests};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn pack_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs");
    let mut dirs = Vec::new();
    for pack in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for version in std::fs::read_dir(pack.path()).into_iter().flatten().flatten() {
            if version.path().join("pack.yaml").is_file() {
                dirs.push(version.path());
            }
        }
    }
    dirs.sort();
    dirs
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for dir in pack_dirs() {
        let label = dir
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs"))
            .unwrap_or(&dir)
            .display()
            .to_string();
        let source = match PackSource::from_dir(&dir) {
            Ok(s) => s,
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{label}: loads"), move || Err(Failed::from(message))));
                continue;
            }
        };
        let pack = match Pack::load(&source) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{label}: loads"), move || Err(Failed::from(message))));
                continue;
            }
        };
        let warnings: Vec<String> = pack.warnings.iter().map(ToString::to_string).collect();
        trials.push(Trial::test(format!("{label}: loads without warnings"), move || {
            if warnings.is_empty() { Ok(()) } else { Err(Failed::from(warnings.join("\n"))) }
        }));
        let Some(tests_dir) = pack.tests_dir().map(str::to_owned) else {
            continue;
        };
        match pack_tests::load(&source, &tests_dir) {
            Ok(cases) => {
                for case in cases {
                    let pack = Arc::clone(&pack);
                    trials.push(Trial::test(format!("{label}: {}", case.title()), move || {
                        pack_tests::run(&pack, &case).map_err(|f| Failed::from(f.join("\n")))
                    }));
                }
            }
            Err(errors) => {
                let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
                trials.push(Trial::test(format!("{label}: test files load"), move || Err(Failed::from(message))));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
