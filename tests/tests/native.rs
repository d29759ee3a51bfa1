//! The example crate and the build script, outside any container.

use assert_cmd::Command;
use howto_harness::repo_root;
use predicates::prelude::*;

#[test]
fn my_project_says_hello_to_the_world() {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("my-project");
    let manifest = repo_root().join("my-project/Cargo.toml");
    Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--locked", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .assert()
        .success();
    Command::new(target.join("debug/my-project")).assert().success().stdout("Hello, world!\n").stderr("");
}

fn build_dist_release() -> Command {
    let mut command = Command::new("bash");
    command.arg(repo_root().join("my-project/scripts/build_dist_release.sh"));
    // Should a check ever let bad input through, the script must not write
    // into the real ~/.cargo.
    command.env("CARGO_HOME", std::env::temp_dir().join("rch-build-dist-release-must-not-write"));
    command
}

#[test]
fn build_dist_release_needs_an_os_and_an_arch() {
    for args in [&[][..], &["linux"][..]] {
        build_dist_release().args(args).assert().failure().stdout("").stderr(predicate::str::contains(format!(
            "expected OS ARCH [PACKAGE...] (e.g. 'linux arm64 libssl-dev'), got {} arguments",
            args.len()
        )));
    }
}

#[test]
fn build_dist_release_names_an_unknown_architecture() {
    build_dist_release()
        .args(["linux", "riscv64"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("unsupported architecture 'riscv64'"));
}

#[test]
fn build_dist_release_names_an_unknown_os() {
    for os in ["darwin", "windows"] {
        build_dist_release()
            .args([os, "arm64"])
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(format!("unsupported OS '{os}'")));
    }
}
