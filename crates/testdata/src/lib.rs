//! # lateral-testdata
//!
//! Owns one thing: where tests find the public attack data shared with the team
//! (`../shared/data` beside the repository, or `LATERAL_SHARED_DATA`), and the rule for when it
//! is missing: skip with a message, or fail when `LATERAL_REQUIRE_SHARED=1` (as `.ci/run` sets),
//! so CI can never pass without the real data.
//!
//! It must not hold test data itself, and it is only ever a dev-dependency.

use std::path::{Path, PathBuf};

/// The repository root. Cargo and nextest run each test with `CARGO_MANIFEST_DIR` set to its
/// own crate (`crates/<name>`), which is preferred: the compile-time value of this crate's
/// manifest dir is baked into a build artefact that may have been built in another checkout
/// sharing the target directory (a worktree would then read the other tree's files).
pub fn repo_root() -> PathBuf {
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir).join("../.."),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

/// The shared data folder (`LATERAL_SHARED_DATA`, else `../shared/data` from the repository
/// root). `None`, after printing why, when it is absent; a panic when `LATERAL_REQUIRE_SHARED=1`.
pub fn shared_data() -> Option<PathBuf> {
    let path = std::env::var_os("LATERAL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"));
    if path.join("GROUND_TRUTH.md").exists() || path.join("evtx").is_dir() {
        return Some(path);
    }
    if required() {
        panic!(
            "shared data required (LATERAL_REQUIRE_SHARED=1) but not found at {}",
            path.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", path.display());
    None
}

/// A path under the shared data, or `None` (after the same skip-or-fail rule) when absent.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let p = shared_data()?.join(relative);
    if p.exists() {
        return Some(p);
    }
    if required() {
        panic!("shared data file required but missing: {}", p.display());
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

/// Whether missing shared data is a failure (`LATERAL_REQUIRE_SHARED=1`).
pub fn required() -> bool {
    std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1")
}
