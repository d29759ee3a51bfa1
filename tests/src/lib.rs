//! The harness behind rust-container-howto: one module talks to Docker, one
//! table lists the variants, and the helpers here give each test and the main
//! job a checked engine, base images, unique tags and scratch copies of the
//! example crate.

pub mod build_log;
pub mod client;
pub mod docker;
pub mod inspect;
pub mod process;
pub mod projects;
pub mod registry;
pub mod variants;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use docker::{Build, BuildLog, Docker};
pub use projects::{Binary, PROJECTS, Project};
pub use variants::{Rebuild, Runtime, VARIANTS, Variant};

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf())
}

/// Runs scripts/base-images.sh once per process: the one entry point that
/// makes every base image of dockerfiles/ available (pulled, or served by the
/// offline mirror). Quick when they already are.
pub fn ensure_base_images() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let script = repo_root().join("scripts/base-images.sh");
        let out = docker::run_with_timeout(
            duct::cmd!("bash", &script).stderr_to_stdout().stdout_capture(),
            std::time::Duration::from_secs(45 * 60),
        )
        .map_err(|e| format!("{}: {e}", script.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = BuildLog(String::from_utf8_lossy(&out.stdout).into_owned());
            Err(format!("{} failed ({}):\n{}", script.display(), out.status, log.tail(30)))
        }
    })
    .clone()
}

/// A tag no other run or test uses: `my-project-test:<name>-<pid>-<n>`.
pub fn unique_tag(name: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{}-test:{name}-{}-{}", variants::IMAGE, std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Images made for a while (by a test or a measurement), removed when this
/// is dropped, whether the work succeeded or failed.
pub struct TempImages<'a> {
    docker: &'a Docker,
    tags: Vec<String>,
}

impl<'a> TempImages<'a> {
    pub fn new(docker: &'a Docker) -> TempImages<'a> {
        TempImages { docker, tags: Vec::new() }
    }

    /// A fresh tag from [`unique_tag`], to be removed later.
    pub fn tag(&mut self, what: &str) -> String {
        let tag = unique_tag(what);
        self.adopt(&tag);
        tag
    }

    /// Remembers a tag made elsewhere (a pull, a `docker tag`) for removal.
    pub fn adopt(&mut self, tag: &str) {
        self.tags.push(tag.to_string());
    }

    /// Removes the images now, e.g. a large one that should not wait.
    pub fn remove_all(&mut self) {
        self.docker.remove_images(&self.tags);
        self.tags.clear();
    }
}

impl Drop for TempImages<'_> {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// A string no earlier build has seen (process id and clock). BuildKit's
/// cache is content-addressed: an edit that an earlier run already made would
/// come back CACHED, so tests that need a fresh edit put this in it.
pub fn nonce() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{nanos}", std::process::id())
}

/// A time in 2001, older than any build on this machine; each call gives
/// another second, as real checkouts made at different times would. (Two
/// contents of one file with the same size and the same time are another
/// matter: BuildKit's context transfer takes them for the same file.)
fn old_mtime() -> std::time::SystemTime {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let second = CALLS.fetch_add(1, Ordering::Relaxed) as u64;
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(978_307_200 + second)
}

/// A scratch copy of a crate (my-project, or a fixture) to edit and build
/// without touching the repository. Removed on drop.
pub struct CrateCopy {
    dir: tempfile::TempDir,
}

impl CrateCopy {
    /// Copies `source` (relative to the repository root), leaving out target/.
    pub fn new(source: &str) -> std::io::Result<CrateCopy> {
        let dir = tempfile::Builder::new().prefix("rch-crate-").tempdir()?;
        copy_tree(&repo_root().join(source), dir.path())?;
        Ok(CrateCopy { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies a folder of the repository into the copy, e.g. my-project's
    /// scripts/ into a fixture whose Dockerfiles need them.
    pub fn add_dir(&self, source: &str, dest: &str) -> std::io::Result<()> {
        copy_tree(&repo_root().join(source), &self.path().join(dest))
    }

    /// Replaces `from` with `to` in one file of the copy; fails if `from` is
    /// not there, so an edit can never silently do nothing.
    pub fn replace(&self, file: &str, from: &str, to: &str) -> std::io::Result<()> {
        let path = self.path().join(file);
        let text = std::fs::read_to_string(&path)?;
        if !text.contains(from) {
            return Err(std::io::Error::other(format!("{file} does not contain {from:?}")));
        }
        std::fs::write(&path, text.replacen(from, to, 1))
    }

    /// The HOWTO's one-line edit: the greeting in `file` (a binary's main
    /// source) becomes `to`, in a file new to BuildKit's cache.
    pub fn edit_greeting(&self, file: &str, to: &str) -> std::io::Result<()> {
        self.replace(file, variants::GREETING, to)?;
        self.make_new_to_buildkit(file)
    }

    /// Appends a comment with a nonce to `file` (a Rust source), so that no
    /// layer of an earlier run can stand in for the next build's steps from
    /// `COPY` on: they run, and a cache mount holds what this build left.
    pub fn make_new_to_buildkit(&self, file: &str) -> std::io::Result<()> {
        self.append(file, &format!("// edit {}\n", nonce()))
    }

    /// Overwrites one file of the copy.
    pub fn write(&self, file: &str, text: &str) -> std::io::Result<()> {
        std::fs::write(self.path().join(file), text)
    }

    /// Gives `file` (relative to the copy) an old modification time, as a
    /// checkout, an unpacked archive or `cp -p` of older files would.
    pub fn backdate(&self, file: &str) -> std::io::Result<()> {
        std::fs::File::options().write(true).open(self.path().join(file))?.set_modified(old_mtime())
    }

    /// Gives every file of the copy an old modification time.
    pub fn backdate_all(&self) -> std::io::Result<()> {
        fn walk(dir: &Path, time: std::time::SystemTime) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    walk(&entry.path(), time)?;
                } else {
                    std::fs::File::options().write(true).open(entry.path())?.set_modified(time)?;
                }
            }
            Ok(())
        }
        walk(self.path(), old_mtime())
    }

    /// Appends `text` to one file of the copy.
    pub fn append(&self, file: &str, text: &str) -> std::io::Result<()> {
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(self.path().join(file))?.write_all(text.as_bytes())
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name))?;
        } else {
            // fs::copy keeps the permission bits: build_dist_release.sh stays executable.
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}
