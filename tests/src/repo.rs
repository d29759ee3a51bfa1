//! Where the repository is: the harness reads its Dockerfiles, scripts and
//! fixtures from there, wherever the tests run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf())
}
