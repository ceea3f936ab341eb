//! Tidy checks over the workspace's sources, run by `cargo test`: every module says what it is
//! for, no test hides behind `#[should_panic]` or `#[ignore]`, no floats in the domain, and no
//! rounding that silently picks banker's rounding.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates"), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    files
        .into_iter()
        // This file names what it looks for.
        .filter(|path| !path.ends_with("tests/it/tidy.rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{} must start with a `//!` line saying what it is for", path.display());
    }
}

#[test]
fn no_hidden_tests() {
    let should_panic = ["#[should", "_panic]"].concat();
    let ignore = ["#[ig", "nore]"].concat();
    for (path, text) in sources() {
        assert!(!text.contains(&should_panic), "{}: assert the outcome instead", path.display());
        assert!(!text.contains(&ignore), "{}: assert today's output with a FIXME instead", path.display());
    }
}

#[test]
fn no_floats_in_the_domain() {
    let float = ["f6", "4"].concat();
    for (path, text) in sources() {
        if path.to_string_lossy().contains("reckon-core") {
            assert!(!text.contains(&float), "{}: money is exact, no floats", path.display());
        }
    }
}

#[test]
fn no_bare_round_dp() {
    // `round_dp` rounds half to even without saying so; every rounding names its strategy.
    let bare = ["round_dp", "("].concat();
    for (path, text) in sources() {
        assert!(!text.contains(&bare), "{}: use money::round or round_dp_with_strategy", path.display());
    }
}
