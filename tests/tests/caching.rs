//! The HOWTO's caching claims, on scratch copies of my-project: after a
//! one-line edit, what each variant builds again and what it reuses. What a
//! filtered prune keeps is in zz_pruning.rs.

mod support;

use howto_harness::scenarios::side_by_side;
use howto_harness::variants::{EDITED_GREETING as EDIT_TO, GREETING, builds};
use howto_harness::{CrateCopy, Rebuild, nonce, promises};
use support::{Images, assert_cached, assert_prints, engine, variant};

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_source_edit_rebuilds_only_what_each_variant_promises() {
    let docker = engine();
    side_by_side(builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let _sequence = (variant.rebuild == Rebuild::CacheMount).then(support::cache_mount_sequence);
        let mut images = Images::new(docker);
        let copy = CrateCopy::new("my-project").expect("copy my-project");
        // A real first build, which loads the cached layers the rebuild reuses.
        copy.make_new_to_buildkit("src/main.rs").expect("edit main.rs");
        images.build_variant(variant, copy.path(), platform);

        copy.edit_greeting("src/main.rs", EDIT_TO).expect("edit main.rs");
        let (tag, rebuilt) = images.build_variant(variant, copy.path(), platform);
        let log = &rebuilt.log;
        let build = log.cargo_build().unwrap_or_else(|| panic!("{name}: no cargo build step in\n{}", log.tail(40)));
        assert!(!build.cached, "{name}: the cargo build step must run again after the edit");
        match variant.rebuild {
            Rebuild::CachedStep(needle) => assert_cached(&name, promises::COOK_CACHED, log, needle),
            Rebuild::Everything | Rebuild::CacheMount => {}
        }
        assert_prints(&tag, platform, EDIT_TO);
    });
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_dependency_change_cooks_again() {
    let docker = engine();
    let variant = variant("dependency-cache");
    let mut images = Images::new(docker);
    let copy = CrateCopy::new("my-project").expect("copy my-project");
    images.build_variant(variant, copy.path(), None);

    // A new name each run (a renamed itoa), so the recipe is new to the cache.
    let dependency = format!("itoa_{} = {{ package = \"itoa\", version = \"1\" }}\n", nonce());
    copy.replace("Cargo.toml", "[dependencies]\n", &format!("[dependencies]\n{dependency}")).expect("add a dependency");
    // --locked builds need a lock file that matches the manifest.
    duct::cmd!("cargo", "generate-lockfile", "--quiet").dir(copy.path()).run().expect("cargo generate-lockfile");
    let (tag, rebuilt) = images.build_variant(variant, copy.path(), None);
    let cook = rebuilt.log.step("cargo chef cook").expect("a cook step");
    assert!(!cook.cached, "cargo chef cook must run again when a dependency changes:\n{}", rebuilt.log.tail(40));
    assert!(
        cook.output.iter().any(|l| l.contains("Compiling itoa")),
        "cook did not compile the new dependency: {:?}",
        cook.output
    );
    assert_prints(&tag, None, GREETING);
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn cache_mounts_keep_compiled_dependencies_across_an_edit() {
    // my-project has no dependencies, so this needs a crate that has some.
    let docker = engine();
    let _sequence = support::cache_mount_sequence();
    let variant = variant("cache-mount");
    let mut images = Images::new(docker);
    let copy = CrateCopy::new("fixtures/deps-heavy").expect("copy the fixture");
    let build = || {
        howto_harness::Build::new(variant.dockerfile(), copy.path(), howto_harness::unique_tag("deps-heavy"))
            .build_arg("APP_NAME", "deps-heavy")
    };
    // The first build must run cargo, or the cache mount holds whatever an
    // earlier run, or a prune, left in it (a cached layer stands in instead).
    copy.make_new_to_buildkit("src/main.rs").expect("edit main.rs");
    let first = images.build(build());
    assert!(!first.log.cargo_build().expect("a cargo build step").cached, "the first build must run cargo");

    copy.edit_greeting("src/main.rs", EDIT_TO).expect("edit main.rs");
    let rebuilt = images.build(build());
    let step = rebuilt.log.cargo_build().expect("a cargo build step");
    assert!(!step.cached, "the cargo build step must run again after the edit");
    let compiled: Vec<&String> = step.output.iter().filter(|l| l.trim_start().starts_with("Compiling ")).collect();
    assert!(
        compiled.len() == 1 && compiled[0].contains("Compiling deps-heavy"),
        "after an edit, cargo should compile deps-heavy alone, not {compiled:?}"
    );
}

/// cache-mount names its target/ cache after the binary and platform
/// (`id=${APP_NAME}-target-${TARGETOS}-${TARGETARCH}`). Build arguments in
/// `RUN --mount` options are expanded from Dockerfile frontend 1.3 (BuildKit
/// 0.9, built into Engine 23.0 and later). 20.10's built-in frontend shows the
/// expanded id in the log but keys the cache by the text as written, so there
/// one target/ serves every project and platform.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_cache_mount_id_names_its_own_cache_from_engine_23_on() {
    let docker = engine();
    let version = docker.engine_version().unwrap_or_else(|e| panic!("{e}"));
    let context = tempfile::tempdir().expect("a build context");
    let dockerfile = context.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM debian:trixie-slim\nARG NAME\n\
         RUN --mount=type=cache,id=rch-mount-id-${NAME},target=/cache ls /cache && touch \"/cache/$NAME\"\n",
    )
    .expect("write the Dockerfile");
    let mut images = Images::new(docker);
    let (first, second) = (format!("first-{}", nonce()), format!("second-{}", nonce()));
    let mut seen_by = |name: &str| {
        let build = howto_harness::Build::new(&dockerfile, context.path(), howto_harness::unique_tag("mount-id"))
            .build_arg("NAME", name);
        let log = images.build(build).log;
        log.step("rch-mount-id").unwrap_or_else(|| panic!("no RUN step in\n{}", log.tail(20))).output
    };
    seen_by(&first);
    let listed = seen_by(&second);
    let shared = listed.iter().any(|line| line.contains(&first));
    assert_eq!(
        shared,
        !docker.separates_cache_mounts_by_build_argument,
        "engine {version}: the second build's cache mount {} the first one's file; it listed {listed:?}",
        if shared { "holds" } else { "lacks" }
    );
}
