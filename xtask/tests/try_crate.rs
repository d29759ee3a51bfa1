//! `cargo xtask try` as a user runs it. Bad input gets its message and a
//! non-zero exit before the set-up or any Docker work, and the crate is
//! never written to: every file and directory, with its modification time,
//! is the same afterwards. With an engine, the workspace and native fixtures pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use howto_harness::projects::native;
use howto_harness::temporary::{self, RUN_LABEL};
use howto_harness::{Docker, Runtime, promises, repo_root, shell_word};
use predicates::prelude::*;

/// The progress line that starts the set-up: bad input never gets there.
const SET_UP: &str = "set-up: tools, Docker Engine";

fn xtask() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// Each entry under `root` (and `root` itself), by relative path: its
/// kind and permissions, its modification time, and a file's bytes or a
/// link's target. A directory's time changes when an entry is made or
/// removed in it, so even a file written and deleted again shows.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (String, u32, SystemTime, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, path: &Path, out: &mut BTreeMap<PathBuf, (String, u32, SystemTime, Vec<u8>)>) {
        let meta = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kind = meta.file_type();
        let content = if kind.is_file() {
            std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        } else if kind.is_symlink() {
            std::fs::read_link(path).expect("a link").as_os_str().as_bytes().to_vec()
        } else {
            Vec::new()
        };
        let relative = path.strip_prefix(root).expect("under the root").to_path_buf();
        let modified = meta.modified().expect("modification times");
        out.insert(relative, (format!("{kind:?}"), meta.permissions().mode(), modified, content));
        if kind.is_dir() {
            for entry in std::fs::read_dir(path).expect("a directory") {
                walk(root, &entry.expect("an entry").path(), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A crate of `files` in a temporary directory, with a Cargo.lock if `locked`.
fn crate_of(files: &[(&str, &str)], locked: bool) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("rch-try-test-").tempdir().expect("a temporary directory");
    for (file, text) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(&path, text).expect("a file");
    }
    if locked {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo).args(["generate-lockfile", "--quiet"]).current_dir(dir.path()).status();
        assert!(status.expect("cargo runs").success(), "cargo generate-lockfile");
    }
    dir
}

fn package(name: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n")
}

const MAIN: &str = "fn main() {}\n";

/// `try ARGS` in `dir` fails with status 1, saying `says`, before the
/// set-up, and leaves every file under `dir` as it was.
fn refused(dir: &Path, args: &[&str], says: &str) {
    let before = snapshot(dir);
    xtask()
        .current_dir(dir)
        .arg("try")
        .args(args)
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(says))
        .stderr(predicate::str::contains(SET_UP).not());
    assert_eq!(snapshot(dir), before, "try {args:?} changed {}", dir.display());
}

#[test]
fn a_path_that_is_no_crate_is_refused() {
    let dir = crate_of(&[("notes.txt", "no crate here\n")], false);
    refused(dir.path(), &["missing"], "no such directory: missing");
    refused(dir.path(), &["notes.txt"], "notes.txt is not a directory");
    refused(dir.path(), &["."], ". has no Cargo.toml");
}

/// Without a lock, `cargo metadata` would write one: try asks for it instead.
#[test]
fn a_crate_without_a_lock_file_is_told_how_to_make_one() {
    let dir = crate_of(&[("Cargo.toml", &package("app")), ("src/main.rs", MAIN)], false);
    refused(
        dir.path(),
        &["."],
        "has no Cargo.lock, and the Dockerfiles build with --locked: run `cargo generate-lockfile`",
    );
    assert!(!dir.path().join("Cargo.lock").exists());
}

#[test]
fn a_crate_without_a_binary_is_refused() {
    let dir = crate_of(&[("Cargo.toml", &package("library")), ("src/lib.rs", "")], true);
    refused(dir.path(), &["."], ". has no binary target: the Dockerfiles build a program");
}

#[test]
fn several_binaries_need_a_bin_that_exists() {
    let files = [("Cargo.toml", package("app")), ("src/main.rs", MAIN.into()), ("src/bin/admin.rs", MAIN.into())];
    let files: Vec<(&str, &str)> = files.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let dir = crate_of(&files, true);
    refused(dir.path(), &["."], ". has several binaries: admin, app. Choose one with --bin NAME");
    refused(dir.path(), &[".", "--bin", "server"], ". has no binary named server; its binaries: admin, app");
}

#[test]
fn an_unknown_variant_is_a_usage_error() {
    let dir = crate_of(&[("Cargo.toml", &package("app")), ("src/main.rs", MAIN)], true);
    let before = snapshot(dir.path());
    xtask()
        .current_dir(dir.path())
        .args(["try", ".", "--variant", "alpine"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'alpine' for '--variant <NAME>': takes one of simple, "));
    assert_eq!(snapshot(dir.path()), before);
}

/// A member is built from the workspace root; --write would write outside
/// PATH, so it is refused, and nothing is written to either.
#[test]
fn write_is_refused_for_a_workspace_member() {
    let files = [
        ("Cargo.toml", "[workspace]\nmembers = [\"app\"]\nresolver = \"3\"\n".to_string()),
        ("app/Cargo.toml", package("app")),
        ("app/src/main.rs", MAIN.to_string()),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let dir = crate_of(&files, true);
    let root = std::fs::canonicalize(dir.path()).expect("the root");
    let says = format!("PATH is a member of the workspace at {}, the build context: run again with", root.display());
    refused(dir.path(), &["app", "--write"], &says);
}

/// The engine, with its base images: a test that needs one fails without it.
fn engine() -> Docker {
    if let Err(e) = howto_harness::provision() {
        panic!("{}: the set-up failed: {e}", promises::ENGINE_NEEDED);
    }
    Docker::connect(temporary::run_label()).unwrap_or_else(|e| panic!("{}: {e}", promises::ENGINE_NEEDED))
}

/// `cargo xtask try` on a fixture, as a user runs it: it must pass, and
/// leave the fixture, the images and the containers as they were. Returns
/// what it printed on stdout.
fn try_passes(docker: &Docker, fixture: &str, args: &[&str]) -> String {
    let fixture = repo_root().join(fixture);
    let before = snapshot(&fixture);
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["try", fixture.to_str().expect("UTF-8")])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask starts");
    let pid = child.id();
    let output = child.wait_with_output().expect("xtask ends");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "try failed:\n{stdout}\n{stderr}");

    assert_eq!(snapshot(&fixture), before, "try changed {}", fixture.display());
    let label = format!("label={RUN_LABEL}={pid}");
    let images = docker.output(&["image", "ls", "--quiet", "--filter", &label], Duration::from_secs(30));
    assert_eq!(images.expect("docker image ls"), "", "images left behind");
    let containers = docker.output(&["ps", "--all", "--quiet", "--filter", "name=rch-try-"], Duration::from_secs(30));
    assert_eq!(containers.expect("docker ps"), "", "containers left behind");
    stdout.into_owned()
}

/// The row of `variant` in try's table; it must say `ok`.
fn passing_row<'a>(stdout: &'a str, variant: &str) -> &'a str {
    let row = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{variant} ")))
        .unwrap_or_else(|| panic!("no row for {variant}:\n{stdout}"));
    assert!(row.ends_with(" ok"), "{row}");
    row
}

/// The workspace fixture, one binary, one variant: it passes, the warm
/// rebuild compiles what the edit touched, and the command fills in
/// Cargo.toml's facts.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_workspace_fixture_passes_with_dependency_cache() {
    let docker = engine();
    let stdout = try_passes(&docker, "fixtures/workspace", &["--bin", "greet", "--variant", "dependency-cache"]);
    let row = passing_row(&stdout, "dependency-cache");
    assert!(row.contains("greet"), "the warm rebuild compiled the edited crate: {row}");
    assert!(stdout.contains("\nRecommended: dependency-cache: "), "{stdout}");
    let command = "docker build -f Dockerfile --build-arg APP_NAME=greet \
                   --build-arg DESCRIPTION=\"One of the workspace's two binaries\" \
                   --build-arg LICENSE=\"MIT OR Apache-2.0\" -t greet .";
    assert!(stdout.contains(command), "expected {command}\nin\n{stdout}");
    assert!(stdout.contains("or run again with --write."), "{stdout}");
}

/// The native fixture: try finds openssl-sys in the lock file and gives the
/// build the packages that the HOWTO gives for OpenSSL, so the binary
/// builds, and runs (`--version`) with libssl found in the runtime image.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_native_fixture_passes_with_the_packages_openssl_needs() {
    let docker = engine();
    let stdout = try_passes(&docker, "fixtures/native", &["--bin", "tls-openssl", "--variant", "cache-mount"]);
    let row = passing_row(&stdout, "cache-mount");
    assert!(row.contains("native"), "the warm rebuild compiled the edited crate: {row}");
    for (key, value) in native::build_args(Runtime::DebianSlim) {
        let arg = format!("--build-arg {key}={}", shell_word(value));
        assert!(stdout.contains(&arg), "expected {arg} in the command:\n{stdout}");
    }
}
