//! The tests that prune the build cache, in a binary named to run last:
//! cargo runs test binaries in name order, and on the containerd image store
//! (Engine 26) a prune that frees anything drops the layers of every other
//! cached step, so each build after it runs those steps again. Here, nothing
//! runs after them. What they show: what HOWTO.md's filtered prune keeps
//! (caching), what a CI runner gets from an exported cache after
//! `docker builder prune -af` (current Docker), and the prune that clears
//! BuildKit's one blind spot for context files (freshness).

mod support;

use howto_harness::registry::LocalRegistry;
use howto_harness::variants::CONTEXT;
use howto_harness::{Build, CrateCopy, nonce, unique_tag};
use serial_test::serial;
use support::{Images, assert_prints, engine, variant};

/// HOWTO.md prunes part of the build cache (cache mounts, saved contexts)
/// with `--filter`. With the classic image store that keeps every other
/// step's layers, so the cook stays CACHED. With the containerd store
/// (Engine 26) the next build has run the cook again in some runs and not in
/// others; either way the image it makes must hold the edit.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_filtered_prune_keeps_the_cook_cached_with_the_classic_image_store() {
    let docker = engine();
    let variant = variant("dependency-cache");
    let mut images = Images::new(docker);
    let copy = CrateCopy::new("my-project").expect("copy my-project");
    copy.make_new_to_buildkit("src/main.rs").expect("edit main.rs");
    images.build_variant(variant, copy.path(), None);

    let reclaimed = docker.prune_build_cache(&["--filter", "type=source.local"]).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(reclaimed, "0B", "the prune must remove the saved build context, or it shows nothing");

    let edited = format!("Hello, {}!", nonce());
    copy.edit_greeting("src/main.rs", &edited).expect("edit main.rs");
    let (tag, rebuilt) = images.build_variant(variant, copy.path(), None);
    let cook = rebuilt.log.step("cargo chef cook").expect("a cook step");
    if docker.containerd_store {
        let ran = if cook.cached { "stayed CACHED" } else { "ran again" };
        eprintln!("containerd image store, after `--filter type=source.local` removed {reclaimed}: the cook {ran}");
    } else {
        assert!(
            cook.cached,
            "classic image store, after `--filter type=source.local` removed {reclaimed}: HOWTO.md says the cook \
             stays CACHED; the steps:\n{}",
            rebuilt.log.summary()
        );
    }
    assert_prints(&tag, None, &edited);
}

/// What a fresh CI runner gets from a layer cache exported to a registry:
/// after `docker builder prune -af` (nothing local left), a rebuild after an
/// edit takes `cargo chef cook` from a `mode=max` export, which keeps every
/// stage's layers, and must run it again from a `mode=min` one, which keeps
/// only the final image's.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[cfg_attr(not(current_engine), ignore = "needs the current engine: RCH_ENGINE=current")]
#[serial]
fn a_mode_max_registry_cache_gives_a_fresh_builder_the_cook() {
    let docker = engine();
    let registry = LocalRegistry::start().unwrap_or_else(|e| panic!("{e}"));
    let mut images = Images::new(docker);
    let prune = || docker.prune_build_cache(&["--all"]).unwrap_or_else(|e| panic!("{e}"));
    for (mode, cook_from_cache) in [("max", true), ("min", false)] {
        let cache = format!("{}/my-project-cache:{mode}", registry.address);
        let copy = howto_harness::projects::scratch_copy(CONTEXT).expect("copy my-project");
        let build = |cache_option: String| {
            variant("dependency-cache").build(copy.path(), &unique_tag("cache-export"), None, &[]).option(&cache_option)
        };
        prune();
        images.build(build(format!("--cache-to=type=registry,ref={cache},mode={mode}")));
        prune();
        copy.edit_greeting("src/main.rs", &format!("Hello, {}!", nonce())).expect("edit the greeting");
        let rebuilt = images.build(build(format!("--cache-from=type=registry,ref={cache}")));
        let cook = rebuilt.log.step("cargo chef cook").unwrap_or_else(|| panic!("no cook:\n{}", rebuilt.log.tail(40)));
        assert_eq!(
            cook.taken_from_cache(),
            cook_from_cache,
            "mode={mode}: the cook after a prune and an edit, with --cache-from; its log:\n{}",
            rebuilt.log.tail(60)
        );
        let build_step = rebuilt.log.cargo_build().expect("a cargo build step");
        assert!(!build_step.taken_from_cache(), "mode={mode}: the edit must be compiled");
    }
}

/// The one way left to fool a build, and BuildKit's rather than cargo's: it
/// sends the context incrementally and takes a file whose size and time are
/// unchanged for unchanged (moby/buildkit#4817, moby/moby#51518).
/// docs/troubleshooting.md warns about it and gives the remedy that this
/// test applies.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn buildkit_takes_a_file_of_the_same_size_and_time_for_the_same_file() {
    let docker = engine();
    let context = tempfile::tempdir().expect("temp dir");
    let dockerfile = context.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM debian:trixie-slim\nCOPY greeting /\nENTRYPOINT [\"cat\", \"/greeting\"]\n")
        .expect("write the Dockerfile");
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let mut images = Images::new(docker);
    let mut build_with = |greeting: &str| {
        let file = context.path().join("greeting");
        std::fs::write(&file, format!("{greeting} {}\n", nonce())).expect("write greeting");
        std::fs::File::options().write(true).open(&file).expect("open").set_modified(fixed).expect("set time");
        let tag = unique_tag("context-transfer");
        images.build(Build::new(&dockerfile, context.path(), &tag));
        support::run(&tag, None).stdout
    };
    assert!(build_with("first").starts_with("first "), "the first build copies the first greeting");
    assert!(
        build_with("other").starts_with("first "),
        "BuildKit now sends a file of the same size and time again: update docs/troubleshooting.md"
    );
    docker.prune_build_cache(&["--filter", "type=source.local"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(build_with("third").starts_with("third "), "after pruning the saved context, the build sees the file");
}
