//! The harness behind rust-container-howto: one module talks to Docker, one
//! table lists the variants, and the helpers here give each test and the main
//! job a checked engine, base images, unique tags and scratch copies of the
//! example crate.

pub mod auditable;
pub mod build_log;
pub mod client;
pub mod dns;
pub mod docker;
pub mod inspect;
pub mod process;
pub mod projects;
pub mod promises;
pub mod regions;
pub mod registry;
pub mod reproducible;
pub mod scenarios;
pub mod temporary;
pub mod variants;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use docker::{Build, BuildLog, Docker};
pub use projects::{Binary, PROJECTS, Project};
pub use temporary::{TempImages, unique_tag};
pub use variants::{Rebuild, Runtime, VARIANTS, Variant};

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf())
}

/// Runs scripts/provision.sh once per process: the one set-up that the demo
/// and the tests share (tools, engine, qemu, base images), quick when all is
/// there. Its lines go straight to stderr as they come, so that a test run's
/// set-up shows its progress (the test harness captures only `eprintln!`).
pub fn provision() -> Result<(), String> {
    provision_with(&mut |line| {
        let _ = writeln!(std::io::stderr(), "{line}");
    })
}

/// [`provision`], handing each line of the script's output to `on_line` as it
/// comes; the last lines are in the error too.
pub fn provision_with(on_line: &mut dyn FnMut(&str)) -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    if let Some(done) = DONE.get() {
        return done.clone();
    }
    let script = repo_root().join("scripts/provision.sh");
    let run = || -> Result<(), String> {
        let failed = |e: std::io::Error| format!("{}: {e}", script.display());
        let reader = duct::cmd!("bash", &script).stderr_to_stdout().unchecked().reader().map_err(failed)?;
        let mut tail = std::collections::VecDeque::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(&reader)) {
            let line = line.map_err(failed)?;
            on_line(&line);
            tail.push_back(line);
            if tail.len() > 30 {
                tail.pop_front();
            }
        }
        match reader.try_wait().map_err(failed)?.map(|output| output.status) {
            Some(status) if status.success() => Ok(()),
            status => Err(format!(
                "{} failed ({}):\n{}",
                script.display(),
                status.map_or("no exit status".to_string(), |s| s.to_string()),
                Vec::from(tail).join("\n")
            )),
        }
    };
    DONE.get_or_init(run).clone()
}

/// The base images the Dockerfiles name, as scripts/base-images.sh lists them.
pub fn base_images() -> Result<Vec<String>, String> {
    let script = repo_root().join("scripts/base-images.sh");
    let list = duct::cmd!("bash", &script, "--list").read().map_err(|e| format!("{} --list: {e}", script.display()))?;
    Ok(list.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}

/// A string no earlier build has seen (process id, clock and a count, for
/// two threads at the same instant). BuildKit's cache is content-addressed:
/// an edit that an earlier run already made would come back CACHED, so tests
/// that need a fresh edit put this in it.
pub fn nonce() -> String {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    // Fixed width: zz_pruning needs two nonces of one length.
    format!("{}_{nanos}_{:06}", std::process::id(), CALLS.fetch_add(1, Ordering::Relaxed))
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
    /// Copies `source` (relative to the repository root) as a build context:
    /// what its .dockerignore leaves out (target/) stays behind.
    pub fn new(source: &str) -> std::io::Result<CrateCopy> {
        let dir = tempfile::Builder::new().prefix("rch-crate-").tempdir()?;
        copy_tree(&repo_root().join(source), dir.path(), &[])?;
        Ok(CrateCopy { dir })
    }

    /// Copies a crate or workspace from anywhere (a user's own, which is
    /// only read) as a build context: its .dockerignore applies; without
    /// one, its top-level `target/` and `.git` stay behind, as the
    /// .dockerignore the HOWTO gives would leave them.
    pub fn of(source: &Path) -> std::io::Result<CrateCopy> {
        let dir = tempfile::Builder::new().prefix("rch-crate-").tempdir()?;
        copy_tree(source, dir.path(), &["target", ".git"])?;
        Ok(CrateCopy { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies a folder of the repository into the copy, e.g. my-project's
    /// scripts/ into a fixture whose Dockerfiles need them.
    pub fn add_dir(&self, source: &str, dest: &str) -> std::io::Result<()> {
        copy_tree(&repo_root().join(source), &self.path().join(dest), &[])
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
    /// Such a build also loads the cached layers beneath `COPY`, which a
    /// build with every step CACHED does not: on the containerd image store
    /// a prune leaves steps that match but whose layers are gone, and they
    /// run again in this build, not in the rebuild after it that a test checks.
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

/// Copies the build context at `from` into `to` as the engine would read
/// it: what its .dockerignore leaves out (target/, .git) stays behind; every
/// other file is copied, hidden ones and .gitignore'd ones too; a symlink is
/// copied as a symlink, never followed; permission bits are kept, so
/// scripts stay executable. Where `from` has no .dockerignore, the entries
/// of its top level named in `leave_out` stay behind too.
fn copy_tree(from: &Path, to: &Path, leave_out: &'static [&'static str]) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut walk = ignore::WalkBuilder::new(from);
    walk.standard_filters(false).add_custom_ignore_filename(".dockerignore").follow_links(false);
    if !from.join(".dockerignore").exists() {
        walk.filter_entry(move |entry| entry.depth() != 1 || !leave_out.iter().any(|name| entry.file_name() == *name));
    }
    for entry in walk.build() {
        // An entry the walk cannot read fails the copy: a partial context
        // would build something else.
        let entry = entry.map_err(std::io::Error::other)?;
        let relative = entry.path().strip_prefix(from).map_err(std::io::Error::other)?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        let dest = to.join(relative);
        let kind = entry.file_type().ok_or_else(|| std::io::Error::other("stdin is no build context"))?;
        if kind.is_symlink() {
            copy_symlink(entry.path(), &dest)?;
        } else if kind.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else {
            // fs::copy keeps the permission bits.
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_symlink(link: &Path, dest: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::fs::read_link(link)?, dest)
}

#[cfg(not(unix))]
fn copy_symlink(link: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(format!("{}: copying a symlink needs Unix", link.display())))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::path::Path;

    use super::copy_tree;

    fn write(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Every path under `root`, relative, sorted; directories end with `/`.
    fn listing(root: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(root).unwrap().display().to_string();
                if path.symlink_metadata().unwrap().is_dir() {
                    out.push(format!("{name}/"));
                    walk(root, &path, out);
                } else {
                    out.push(name);
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn the_copy_holds_what_the_dockerignore_lets_through() {
        let from = tempfile::tempdir().unwrap();
        let root = from.path();
        write(root, ".dockerignore", "target/\n.git\n**/*.rs.bk\n");
        write(root, ".gitignore", "src/\nCargo.lock\n");
        write(root, "Cargo.lock", "# lock\n");
        write(root, "src/main.rs", "fn main() {}\n");
        write(root, "src/main.rs.bk", "backup\n");
        write(root, ".hidden/config", "kept\n");
        write(root, "target/release/app", "host-built\n");
        write(root, ".git/HEAD", "ref: refs/heads/main\n");
        let to = tempfile::tempdir().unwrap();
        copy_tree(root, to.path(), &[]).unwrap();
        assert_eq!(
            listing(to.path()),
            [".dockerignore", ".gitignore", ".hidden/", ".hidden/config", "Cargo.lock", "src/", "src/main.rs"]
        );
        assert_eq!(std::fs::read_to_string(to.path().join("src/main.rs")).unwrap(), "fn main() {}\n");
    }

    #[test]
    fn without_a_dockerignore_everything_is_copied() {
        let from = tempfile::tempdir().unwrap();
        write(from.path(), "target/app", "x");
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &[]).unwrap();
        assert_eq!(listing(to.path()), ["target/", "target/app"]);
    }

    #[test]
    fn without_a_dockerignore_the_named_top_level_entries_stay_behind() {
        let from = tempfile::tempdir().unwrap();
        for file in ["target/release/app", ".git/HEAD", "src/main.rs", "src/target/kept.rs", "Cargo.toml"] {
            write(from.path(), file, "x");
        }
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &["target", ".git"]).unwrap();
        assert_eq!(listing(to.path()), ["Cargo.toml", "src/", "src/main.rs", "src/target/", "src/target/kept.rs"]);
        // A .dockerignore of its own is followed instead, whatever it says.
        write(from.path(), ".dockerignore", "src/\n");
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &["target", ".git"]).unwrap();
        assert_eq!(
            listing(to.path()),
            [".dockerignore", ".git/", ".git/HEAD", "Cargo.toml", "target/", "target/release/", "target/release/app"]
        );
    }

    #[test]
    fn symlinks_are_copied_as_symlinks_and_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret", "not part of the context");
        let from = tempfile::tempdir().unwrap();
        write(from.path(), "src/main.rs", "fn main() {}\n");
        symlink("src/main.rs", from.path().join("main.rs")).unwrap();
        symlink(outside.path(), from.path().join("elsewhere")).unwrap();
        symlink("missing", from.path().join("dangling")).unwrap();
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &[]).unwrap();
        assert_eq!(listing(to.path()), ["dangling", "elsewhere", "main.rs", "src/", "src/main.rs"]);
        for (link, target) in [("main.rs", Path::new("src/main.rs")), ("elsewhere", outside.path())] {
            assert_eq!(std::fs::read_link(to.path().join(link)).unwrap(), target, "{link}");
        }
        assert_eq!(std::fs::read_link(to.path().join("dangling")).unwrap(), Path::new("missing"));
    }

    #[test]
    fn scripts_stay_executable() {
        let from = tempfile::tempdir().unwrap();
        write(from.path(), "scripts/build.sh", "#!/bin/sh\n");
        write(from.path(), "README", "text\n");
        let script = from.path().join("scripts/build.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(from.path().join("README"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &[]).unwrap();
        let mode = |file: &str| std::fs::metadata(to.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("scripts/build.sh"), mode("README")), (0o755, 0o640));
    }
}
