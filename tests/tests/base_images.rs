//! Every base image that the Dockerfiles name is usable by name, as a
//! connected machine would see it, and pull mode fails fast without a registry.

mod support;

use std::time::{Duration, Instant};

use assert_cmd::Command;
use howto_harness::inspect::STAND_IN_LABEL;
use howto_harness::variants::{PLATFORMS, machine};
use howto_harness::{Build, Docker, repo_root, unique_tag};
use predicates::prelude::*;
use support::{Images, engine, run};

/// The base images, as scripts/base-images.sh reads them from dockerfiles/.
fn base_images() -> Vec<String> {
    howto_harness::base_images().unwrap_or_else(|e| panic!("{e}"))
}

/// True when the engine takes Docker Hub images from the offline mirror on
/// loopback that scripts/base-images.sh fills with stand-ins.
fn served_by_offline_mirror(docker: &Docker) -> bool {
    docker
        .output(&["info", "--format", "{{json .RegistryConfig.Mirrors}}"], Duration::from_secs(20))
        .is_ok_and(|mirrors| mirrors.contains("://127.0.0.1:"))
}

/// What to run in an image to prove it is what its name says, and what the
/// output must contain.
fn probe(image: &str) -> (&'static str, String) {
    if let Some((chef, rest)) =
        image.strip_prefix("lukemathwalker/cargo-chef:").and_then(|tag| tag.split_once("-rust-"))
    {
        // Both pins: the cargo-chef version, then the Rust release.
        ("cargo chef --version && rustc --version", format!("{chef}\nrustc {}", rest.split('-').next().unwrap_or(rest)))
    } else if let Some(rest) = image.strip_prefix("rust:") {
        ("cargo --version && rustc --version", format!("rustc {}", rest.split('-').next().unwrap_or(rest)))
    } else if let Some(rest) = image.strip_prefix("debian:") {
        // The release, not only the distribution: the glibc rule rests on it.
        ("cat /etc/os-release", format!("VERSION_CODENAME={}", rest.trim_end_matches("-slim")))
    } else {
        panic!("no probe for base image {image}: add one here")
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn each_base_image_builds_and_runs_by_name() {
    let docker = engine();
    let images_named = base_images();
    assert!(images_named.iter().any(|i| i.starts_with("debian:")), "no debian base image in {images_named:?}");
    let mut images = Images::new(docker);
    for image in &images_named {
        let (command, expected) = probe(image);
        let context = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM {image}\nENTRYPOINT [\"sh\", \"-c\", \"{command}\"]\n"),
        )
        .expect("write Dockerfile");
        let tag = unique_tag("base-image");
        images.build(Build::new(context.path().join("Dockerfile"), context.path(), &tag));
        if served_by_offline_mirror(docker) {
            let labels = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}")).labels;
            assert!(
                labels.contains_key(STAND_IN_LABEL),
                "{image}: a stand-in must say so ({STAND_IN_LABEL}): {labels:?}"
            );
        }
        let ran = run(&tag, None);
        assert_eq!(ran.exit_code, Some(0), "{image}: `{command}` failed: {}", ran.stderr);
        assert!(ran.stdout.contains(&expected), "{image}: `{command}` printed {:?}, expected {expected:?}", ran.stdout);
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn debian_resolves_per_platform() {
    let docker = engine();
    let mut images = Images::new(docker);
    let context = tempfile::tempdir().expect("temp dir");
    std::fs::write(context.path().join("Dockerfile.arch"), "FROM debian:trixie-slim\nENTRYPOINT [\"uname\", \"-m\"]\n")
        .expect("write");
    for &platform in PLATFORMS {
        let machine = machine(platform).expect("a known platform").uname;
        let tag = unique_tag("debian-arch");
        images.build(Build::new(context.path().join("Dockerfile.arch"), context.path(), &tag).platform(platform));
        let info = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.architecture, platform.trim_start_matches("linux/"), "{platform}: image architecture");
        assert_eq!(run(&tag, Some(platform)).stdout.trim(), machine, "{platform}: uname -m");
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn pull_mode_pulls_every_base_image_or_fails_fast_saying_what_to_do() {
    let reachable = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-m", "8", "https://registry-1.docker.io/v2/"])
        .status()
        .is_ok_and(|s| s.success());
    let started = Instant::now();
    let pull = Command::new("bash")
        .arg(repo_root().join("scripts/base-images.sh"))
        .env("RCH_BASE_IMAGES", "pull")
        .timeout(Duration::from_secs(if reachable { 1800 } else { 60 }))
        .assert();
    if reachable {
        // A connected machine: pull mode is the normal path, and must leave
        // every base image in the engine.
        pull.success();
        let docker = Docker::shared(howto_harness::temporary::run_label()).unwrap_or_else(|e| panic!("{e}"));
        for image in base_images() {
            docker.inspect(&image).unwrap_or_else(|e| panic!("pull mode left no {image}: {e}"));
        }
        return;
    }
    pull.failure().stderr(
        predicate::str::contains("registry-1.docker.io").and(predicate::str::contains("RCH_BASE_IMAGES=offline")),
    );
    assert!(started.elapsed() < Duration::from_secs(30), "pull mode took {:?} to give up", started.elapsed());
}

/// The HOWTO's PID 1 rule: a program with no SIGTERM handler ignores
/// `docker stop`'s SIGTERM as PID 1 and is killed (SIGKILL, status 137) when
/// the grace period ends; under `docker run --init` the init passes SIGTERM
/// on, and the program dies of it at once (status 143).
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn pid_1_ignores_sigterm_unless_an_init_passes_it_on() {
    let docker = engine();
    let debian = base_images().into_iter().find(|i| i.starts_with("debian:")).expect("a Debian base image");
    for (init, expected) in [(false, "137"), (true, "143")] {
        let mut args = vec!["run", "-d"];
        if init {
            args.push("--init");
        }
        args.extend([debian.as_str(), "sleep", "300"]);
        let id = docker.output(&args, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
        let stopped = docker.output(&["stop", "--time", "3", &id], Duration::from_secs(60));
        let status = docker.output(&["inspect", "--format", "{{.State.ExitCode}}", &id], Duration::from_secs(30));
        let removed = docker.output(&["rm", "-f", &id], Duration::from_secs(60));
        stopped.unwrap_or_else(|e| panic!("{e}"));
        removed.unwrap_or_else(|e| panic!("{e}"));
        let status = status.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, expected, "sleep as PID 1 {} --init: exit status", if init { "with" } else { "without" });
    }
}
