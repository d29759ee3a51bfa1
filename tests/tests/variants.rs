//! Build every variant as the HOWTO does, run it, and check what its image
//! holds: the output, the size ordering, non-root, labels, no toolchain.
//! These tests edit nothing and prune nothing, so they run side by side.

mod support;

use std::collections::BTreeSet;

use howto_harness::scenarios::side_by_side;
use howto_harness::variants::{CA_BUNDLE, GREETING, PLATFORMS, builds};
use howto_harness::{Rebuild, Runtime, VARIANTS, promises};
use support::{Images, assert_prints, engine, variant};

/// The labels that come from build arguments, each with its argument and a
/// value to give it. Without the argument a label is empty: nothing of this
/// project's (its licence, a "Hello world" description) may reach an image
/// built from a copied Dockerfile.
const LABELS_FROM_ARGUMENTS: &[(&str, &str, &str)] = &[
    ("org.opencontainers.image.source", "SOURCE_URL", "https://example.org/your/crate"),
    ("org.opencontainers.image.revision", "REVISION", "0123456789abcdef"),
    ("org.opencontainers.image.licenses", "LICENSE", "GPL-3.0-or-later"),
    ("org.opencontainers.image.description", "DESCRIPTION", "A crate that is not this one's"),
];

/// The `openssl` package's tool and its default paths, which Debian's
/// ca-certificates would install: a runtime gets them only by asking
/// (RUNTIME_PACKAGES).
const OPENSSL: &[&str] = &["usr/bin/openssl", "usr/lib/ssl"];

/// Paths that only a build image has: the toolchain and the C compiler.
const BUILD_TOOLS: &[&str] =
    &["usr/local/cargo/bin/cargo", "usr/bin/cargo", "usr/bin/rustc", "usr/bin/gcc", "usr/bin/cc"];

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn every_variant_builds_and_prints_hello_world() {
    let docker = engine();
    for (variant, platform) in builds() {
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        assert_prints(&tag, platform, GREETING);
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn runtime_images_hold_the_binary_and_run_as_non_root() {
    let docker = engine();
    side_by_side(builds(), |(variant, platform)| {
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        let info = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}"));
        let name = variant.tag(platform);

        assert_eq!(info.user, "10001:10001", "{name}: {}", promises::NON_ROOT_USER);
        assert_eq!(
            info.labels.get("org.opencontainers.image.title").map(String::as_str),
            Some("my-project"),
            "{name}: title label"
        );
        for (label, argument, _) in LABELS_FROM_ARGUMENTS {
            assert_eq!(
                info.labels.get(*label).map(String::as_str),
                Some(""),
                "{name}: {label} must be empty without --build-arg {argument}: {:?}",
                info.labels
            );
        }

        if variant.runtime != Runtime::Toolchain {
            let names_bundle = format!("SSL_CERT_FILE={CA_BUNDLE}");
            assert!(info.env.contains(&names_bundle), "{name}: {names_bundle} not in {:?}", info.env);
        }

        let files = docker.files(&tag).unwrap_or_else(|e| panic!("{e}"));
        // `docker export` lists paths without their leading slash.
        let bundle = CA_BUNDLE.trim_start_matches('/');
        let tools: Vec<&&str> = BUILD_TOOLS.iter().filter(|t| files.iter().any(|f| f == **t)).collect();
        match variant.runtime {
            Runtime::Toolchain => assert!(!tools.is_empty(), "{name}: the build image should hold the toolchain"),
            Runtime::DebianSlim => {
                assert!(tools.is_empty(), "{name}: runtime image holds build tools {tools:?}");
                assert!(files.iter().any(|f| f == "usr/local/bin/app"), "{name}: no usr/local/bin/app");
                assert!(files.iter().any(|f| f == "usr/bin/tini"), "{name}: no usr/bin/tini, the init");
                assert!(files.iter().any(|f| f == bundle), "{name}: no CA bundle at {CA_BUNDLE}");
                let openssl: Vec<&&str> = OPENSSL.iter().filter(|o| files.iter().any(|f| f == **o)).collect();
                assert!(openssl.is_empty(), "{name}: {}: it holds {openssl:?}", promises::NO_OPENSSL_IN_RUNTIME);
            }
            Runtime::Scratch => {
                // The binary, its init, /tmp and the CA bundle (export adds the
                // container's own mount points).
                let mut own: Vec<&String> = files.iter().filter(|f| !is_container_plumbing(f)).collect();
                own.sort();
                assert_eq!(
                    own,
                    ["app", "etc/ssl", "etc/ssl/certs", bundle, "tini", "tmp"],
                    "{name}: a scratch image should hold the binary, tini, /tmp and a CA bundle alone"
                );
            }
        }
    });
}

/// A crate of its own (fixtures/own-crate): a feature that must be on,
/// with a dependency of its own, a profile of its own, its own licence, the
/// Rust version its rust-version needs.
/// Every variant builds it through build arguments alone; the labels say
/// what was given, exactly; where cargo-chef cooks, the cook had the same
/// features, so the build compiles that crate alone.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_crate_of_its_own_builds_through_build_arguments_alone() {
    let docker = engine();
    let copy = howto_harness::projects::scratch_copy(OWN_CRATE).unwrap_or_else(|e| panic!("{OWN_CRATE}: {e}"));
    // A source no earlier run built: the build step runs, so what it compiles can be read.
    copy.append("src/main.rs", &format!("// {}\n", howto_harness::nonce())).expect("append a nonce");
    let mut args =
        vec![("APP_NAME", "own-crate"), ("FEATURES", "greeting"), ("PROFILE", "container"), ("RUST_VERSION", "1.96")];
    args.extend(LABELS_FROM_ARGUMENTS.iter().map(|(_, argument, value)| (*argument, *value)));
    for (variant, platform) in builds() {
        let mut images = Images::new(docker);
        let name = variant.tag(platform);
        let (tag, output) = images.build_binary(variant, copy.path(), platform, &args);
        let printed = support::run(&tag, platform).stdout;
        assert_eq!(printed, "Hello, world! The greeting feature brought 1 dependency.\n", "{name} printed {printed:?}");
        let labels = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}")).labels;
        for (label, argument, value) in LABELS_FROM_ARGUMENTS {
            assert_eq!(
                labels.get(*label).map(String::as_str),
                Some(*value),
                "{name}: {label} from {argument}: {labels:?}"
            );
        }
        if matches!(variant.rebuild, Rebuild::CachedStep(_)) {
            let build = output.log.cargo_build().unwrap_or_else(|| panic!("{name}: no cargo build step"));
            assert!(!build.cached, "{name}: the build step of a new source came from the cache");
            let compiled: Vec<String> = build.compiled().into_iter().map(|c| c.name).collect();
            assert_eq!(compiled, ["own-crate"], "{name}: the cook and the build got different features");
        }
    }
}

/// `RUST_VERSION` (and `CHEF_VERSION` where cargo-chef cooks) name the
/// builder's image: a version that has no image fails the build, naming it.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_rust_and_cargo_chef_versions_name_the_builder_image() {
    let docker = engine();
    let context = howto_harness::repo_root().join(howto_harness::variants::CONTEXT);
    for variant in VARIANTS {
        let chef = variant.builder_image().unwrap_or_else(|e| panic!("{e}")).contains("cargo-chef");
        let mut versions = vec![("RUST_VERSION", "0.0", "0.0-slim-trixie")];
        if chef {
            versions.push(("CHEF_VERSION", "0.0.0", "cargo-chef:0.0.0-rust-"));
        }
        for (argument, value, named) in versions {
            let tag = howto_harness::unique_tag(variant.name);
            let error = docker
                .build(&variant.build(&context, &tag, None, &[(argument, value)]))
                .err()
                .unwrap_or_else(|| panic!("{}: built with {argument}={value}", variant.name));
            assert!(error.to_string().contains(named), "{}: {argument}={value} gave: {error}", variant.name);
        }
    }
}

/// A crate shaped like a user's rather than like ours, relative to the repository root.
const OWN_CRATE: &str = "fixtures/own-crate";

/// What `docker export` lists for any container: the mount points and files
/// the engine puts there, not the image's own content.
fn is_container_plumbing(path: &str) -> bool {
    [".dockerenv", "dev", "etc", "proc", "sys", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"]
        .contains(&path)
        || path.starts_with("dev/")
        || path.starts_with("proc/")
        || path.starts_with("sys/")
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_runtimes_hold_the_same_files_and_sizes_come_in_the_stated_order() {
    let docker = engine();
    let (mut simple, mut smallest_static) = (None, None);
    // Every Debian runtime of the machine's own architecture: name, size, files.
    let mut debian: Vec<(String, u64, BTreeSet<String>)> = Vec::new();
    for (variant, platform) in builds() {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        let size = docker.image_size(&tag).unwrap_or_else(|e| panic!("{e}"));
        match variant.runtime {
            Runtime::Toolchain => simple = Some(size),
            Runtime::Scratch if platform.is_none_or(|p| p == PLATFORMS[0]) => smallest_static = Some(size),
            Runtime::Scratch => {}
            Runtime::DebianSlim if platform.is_none_or(|p| p == PLATFORMS[0]) => {
                let files = docker.files(&tag).unwrap_or_else(|e| panic!("{e}")).into_iter().collect();
                debian.push((name, size, files));
            }
            Runtime::DebianSlim => {}
        }
    }
    let (simple, smallest_static) = (simple.expect("a simple variant"), smallest_static.expect("a static variant"));
    let (first, _, first_files) = debian.first().expect("a Debian runtime");
    for (name, size, files) in &debian {
        let only_here: Vec<&String> = files.difference(first_files).collect();
        let only_there: Vec<&String> = first_files.difference(files).collect();
        assert!(
            only_here.is_empty() && only_there.is_empty(),
            "{}: only in {name} {only_here:?}, only in {first} {only_there:?}",
            promises::SAME_RUNTIME_FILES
        );
        assert!(simple >= 5 * size, "simple ({simple} B) should be at least 5x {name} ({size} B)");
        assert!(smallest_static < *size, "static ({smallest_static} B) should be smaller than {name} ({size} B)");
    }
    assert!(debian.len() >= 4, "every Debian runtime is compared, not {}", debian.len());
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_static_image_weighs_its_binary_its_init_and_its_ca_bundle() {
    let docker = engine();
    let mut images = Images::new(docker);
    let (tag, _) = images.build_howto_variant(variant("static"), None);
    let size = docker.image_size(&tag).unwrap_or_else(|e| panic!("{e}"));
    let binary = docker.read_file(&tag, "/app").unwrap_or_else(|e| panic!("{e}")).len() as u64;
    let bundle = docker.read_file(&tag, CA_BUNDLE).unwrap_or_else(|e| panic!("{e}"));
    let certificates = String::from_utf8_lossy(&bundle).matches("BEGIN CERTIFICATE").count();
    assert!(certificates >= 50, "the static image's CA bundle holds {certificates} certificates");
    let init = docker.read_file(&tag, "/tini").unwrap_or_else(|e| panic!("{e}")).len() as u64;
    let contents = binary + init + bundle.len() as u64;
    // Layer metadata adds a few kB at most.
    assert!(
        size >= contents && size as f64 <= contents as f64 * 1.01,
        "the static image is {size} B, not its binary ({binary} B), tini ({init} B) and CA bundle ({} B)",
        bundle.len()
    );
}

/// What tini adds, read from the images themselves, is what HOWTO.md's
/// service section says it costs.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_init_weighs_what_the_howto_says() {
    let docker = engine();
    let mut images = Images::new(docker);
    let mut kilobytes = |name: &str, path: &str| {
        let (tag, _) = images.build_howto_variant(variant(name), None);
        let bytes = docker.read_file(&tag, path).unwrap_or_else(|e| panic!("{e}")).len();
        (bytes as f64 / 1000.0).round()
    };
    let debian = kilobytes("multistage", "/usr/bin/tini");
    let scratch = kilobytes("static", "/tini");
    let said = format!("for {debian} kB ({scratch} kB in static)");
    let howto = std::fs::read_to_string(howto_harness::repo_root().join("HOWTO.md")).expect("read HOWTO.md");
    assert!(howto.contains(&said), "HOWTO.md should say what tini weighs here: {said:?}");
}

/// The newest `GLIBC_x.y` symbol version an ELF binary needs, as `readelf`
/// lists its version needs; `None` for a binary that needs no glibc at all.
fn newest_glibc_needed(binary: &[u8]) -> Option<Vec<u32>> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), binary).expect("write the binary");
    let out = duct::cmd!("readelf", "--version-info", "--wide", file.path())
        .stderr_to_stdout()
        .unchecked()
        .stdout_capture()
        .run()
        .expect("readelf runs (Debian's binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "readelf failed: {text}");
    text.split(|c: char| c.is_whitespace())
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| version.split('.').map(|n| n.parse::<u32>().ok()).collect::<Option<Vec<u32>>>())
        .max()
}

/// The glibc of an image, from `getconf GNU_LIBC_VERSION` (`glibc 2.41`).
fn runtime_glibc(docker: &howto_harness::Docker, tag: &str, platform: Option<&str>) -> Vec<u32> {
    let mut args = vec!["run", "--rm", "--entrypoint", "getconf"];
    if let Some(platform) = platform {
        args.extend(["--platform", platform]);
    }
    args.extend([tag, "GNU_LIBC_VERSION"]);
    let out = docker.output(&args, std::time::Duration::from_secs(300)).unwrap_or_else(|e| panic!("{e}"));
    let version = out.strip_prefix("glibc ").unwrap_or_else(|| panic!("{tag}: getconf said {out:?}"));
    version.split('.').map(|n| n.parse().unwrap_or_else(|_| panic!("{tag}: glibc {version:?}"))).collect()
}

fn dotted(version: &[u32]) -> String {
    version.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// A binary linked against a newer glibc than its runtime image has stops
/// at once with "GLIBC_x.y not found": why every builder and runtime here
/// are the same Debian release.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn no_binary_needs_a_newer_glibc_than_its_runtime_has() {
    let docker = engine();
    side_by_side(builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        let entrypoint = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}")).entrypoint;
        // The init and the program: every path the entrypoint runs.
        let paths: Vec<&String> = entrypoint.iter().filter(|word| word.starts_with('/')).collect();
        assert!(!paths.is_empty(), "{name}: no program in its entrypoint {entrypoint:?}");
        for path in paths {
            let binary = docker.read_file(&tag, path).unwrap_or_else(|e| panic!("{e}"));
            let needed = newest_glibc_needed(&binary);
            if variant.runtime == Runtime::Scratch {
                assert_eq!(needed, None, "{name}: {path} needs a glibc, and scratch has none");
                continue;
            }
            let needed = needed.unwrap_or_else(|| panic!("{name}: {path} needs no GLIBC_ version: is it dynamic?"));
            let have = runtime_glibc(docker, &tag, platform);
            assert!(
                needed <= have,
                "{name}: {path} needs GLIBC_{} but its runtime has glibc {}",
                dotted(&needed),
                dotted(&have)
            );
        }
    });
}
