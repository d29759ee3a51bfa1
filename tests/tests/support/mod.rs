//! What every Docker test needs: a checked engine with base images, images
//! that are removed when the test ends, and a way to run them.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod tls;

use std::io::Write;
use std::time::Duration;

use howto_harness::{Build, BuildLog, BuildOutput, Docker, TempImages, Variant, promises, provision, temporary};
use testcontainers::core::WaitFor;
use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::runners::SyncRunner;
use testcontainers::{GenericImage, ImageExt};

/// The engine, with every base image ready (scripts/provision.sh). A test that needs it carries
/// `#[cfg_attr(skip_docker_tests, ignore = ...)]`, so that a skip asked for
/// outside CI shows as ignored (tests/build.rs); in CI it runs, and fails here.
pub fn engine() -> &'static Docker {
    if std::env::var("RCH_SKIP_DOCKER_TESTS").is_ok_and(|v| !v.is_empty() && v != "0") {
        assert!(std::env::var_os("CI").is_none(), "{}. Unset RCH_SKIP_DOCKER_TESTS.", promises::NO_SKIP_IN_CI);
    }
    // Set-up first: on a fresh machine it installs and starts the engine.
    if let Err(e) = provision() {
        panic!("{}: the set-up failed: {e}", promises::ENGINE_NEEDED);
    }
    let docker = Docker::shared(temporary::run_label()).unwrap_or_else(|e| panic!("{}: {e}", promises::ENGINE_NEEDED));
    if let Some(problem) = docker.engine.docker_host_problem(std::env::var("DOCKER_HOST").ok().as_deref()) {
        panic!("{problem}");
    }
    temporary::sweep_leftovers_once(docker);
    docker
}

/// The variant of that name in the table (`howto_harness::VARIANTS`).
pub fn variant(name: &str) -> &'static Variant {
    Variant::named(name).unwrap_or_else(|| panic!("no {name} variant in the table"))
}

/// Images a test built; removed when it ends, pass or fail.
pub struct Images {
    pub docker: &'static Docker,
    temp: TempImages<'static>,
}

impl Images {
    pub fn new(docker: &'static Docker) -> Images {
        Images { docker, temp: TempImages::new(docker) }
    }

    /// Builds, and panics with the tail of the build log if that fails.
    pub fn build(&mut self, build: Build) -> BuildOutput {
        self.temp.adopt(&build.tag);
        let output = self.docker.build(&build).unwrap_or_else(|e| panic!("{e}"));
        report(&build, &output);
        output
    }

    /// Builds a variant from `context` (a path, e.g. a scratch copy) under a
    /// unique tag; returns the tag and the build's output.
    pub fn build_variant(
        &mut self,
        variant: &Variant,
        context: &std::path::Path,
        platform: Option<&str>,
    ) -> (String, BuildOutput) {
        self.build_binary(variant, context, platform, &[])
    }

    /// Like `build_variant`, with build arguments (e.g. a binary's `APP_NAME`).
    pub fn build_binary(
        &mut self,
        variant: &Variant,
        context: &std::path::Path,
        platform: Option<&str>,
        build_args: &[(&str, &str)],
    ) -> (String, BuildOutput) {
        let tag = howto_harness::unique_tag(variant.name);
        let output = self.build(variant.build(context, &tag, platform, build_args));
        (tag, output)
    }

    /// Builds a variant from the repository's own my-project, as the HOWTO does.
    pub fn build_howto_variant(&mut self, variant: &Variant, platform: Option<&str>) -> (String, BuildOutput) {
        self.build_variant(variant, &howto_harness::repo_root().join(howto_harness::variants::CONTEXT), platform)
    }

    /// Remembers a tag made outside `build` (e.g. a pull) for removal.
    pub fn adopt(&mut self, tag: &str) {
        self.temp.adopt(tag);
    }
}

/// A copy of `variant`'s Dockerfile, written to `dest`, with the first
/// `from` in it replaced by `to`; fails if `from` is not there, so that the
/// copy always differs in what the test means it to.
pub fn dockerfile_with(variant: &Variant, from: &str, to: &str, dest: &std::path::Path) -> std::path::PathBuf {
    let path = howto_harness::repo_root().join(variant.dockerfile());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.contains(from), "{}: no {from:?} in it", path.display());
    std::fs::write(dest, text.replacen(from, to, 1)).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    dest.to_path_buf()
}

/// Held for a sequence of builds with cache-mount's target/ cache that
/// another build in between would disturb: what one build leaves there is
/// what the next one of the sequence must find. (20.10 keeps one target/ for
/// every project, so there any cache-mount build would.) Tests that hold it
/// for a part may run beside each other.
pub fn cache_mount_sequence() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed holding it leaves nothing the next one relies on.
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a container printed and how it ended.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i64>,
}

/// Asserts that the step whose header contains `needle` came from the cache,
/// as `promise` says it must (e.g. `promises::COOK_CACHED`), which the
/// failure prints after `what`. A miss lists every step, CACHED or ran, which
/// says where it began.
pub fn assert_cached(what: &str, promise: &str, log: &BuildLog, needle: &str) {
    let step = log.step(needle).unwrap_or_else(|| panic!("{what}: no `{needle}` step in\n{}", log.tail(40)));
    assert!(
        step.cached,
        "{what}: {promise}: `{needle}` ran; the steps:\n{}\nthe end of the log:\n{}",
        log.summary(),
        log.tail(40)
    );
}

/// Runs an image to completion with testcontainers (the container is removed
/// when it is dropped, here).
pub fn run(tag: &str, platform: Option<&str>) -> Ran {
    let (name, version) = tag.rsplit_once(':').expect("tag has a ':'");
    let image = GenericImage::new(name, version).with_wait_for(WaitFor::exit(ExitWaitStrategy::new()));
    let mut request = image.with_startup_timeout(Duration::from_secs(300));
    if let Some(platform) = platform {
        request = request.with_platform(platform);
    }
    let container = request.start().unwrap_or_else(|e| panic!("running {tag}: {e}"));
    Ran {
        stdout: String::from_utf8_lossy(&container.stdout_to_vec().expect("container stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&container.stderr_to_vec().expect("container stderr")).into_owned(),
        exit_code: container.exit_code().expect("container exit code"),
    }
}

/// Runs the image and checks that it printed exactly `expected` and exited 0.
pub fn assert_prints(tag: &str, platform: Option<&str>, expected: &str) {
    let ran = run(tag, platform);
    assert_eq!(ran.stdout, format!("{expected}\n"), "{tag} printed {:?} (stderr: {:?})", ran.stdout, ran.stderr);
    assert_eq!(ran.exit_code, Some(0), "{tag} exit code (stderr: {:?})", ran.stderr);
}

/// `docker run --rm --network host ARGS`: the host's loopback, where a
/// server of the test listens. The status is the caller's to check.
pub fn run_on_host_network(docker: &Docker, platform: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut all = vec!["run", "--rm", "--network", "host"];
    if let Some(platform) = platform {
        all.extend(["--platform", platform]);
    }
    all.extend(args);
    docker.run_container(&all, Duration::from_secs(300)).unwrap_or_else(|e| panic!("{e}"))
}

/// How a container ended and what it printed, for a failure message.
pub fn shown(out: &std::process::Output) -> String {
    format!(
        "status {}, stdout {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One line on stderr per build, past the test harness's capture: progress
/// in a long run, and in CI's log, where the time went.
fn report(build: &Build, output: &BuildOutput) {
    let mut what = vec![build.dockerfile.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned())];
    what.extend(build.platform.clone());
    what.extend(build.build_args.get("APP_NAME").cloned());
    let (cached, steps) = output.log.cache_hits();
    let slowest = output.log.slowest().map_or_else(String::new, |(step, took)| {
        let name: String = step.name.chars().take(60).collect();
        format!("; slowest {:.1}s: {name}", took.as_secs_f64())
    });
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let _ = writeln!(
        std::io::stderr(),
        "built {} in {:.1}s [{test}]: {cached}/{steps} steps CACHED{slowest}",
        what.join(" "),
        output.elapsed.as_secs_f64()
    );
}
