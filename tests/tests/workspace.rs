//! The workspace fixture is shaped like a real service repository: two
//! binaries, a library both use as a path dependency, crates.io
//! dependencies, and a build script that turns a file of the build context
//! into code. Every variant builds each binary with build arguments alone,
//! and rebuilds no more than it promises, as cargo's own output shows.

mod support;

use howto_harness::BuildOutput;
use howto_harness::build_log::Compiled;
use howto_harness::scenarios::side_by_side;
use howto_harness::variants::builds;
use howto_harness::{Binary, Project, Rebuild, nonce};
use serial_test::serial;
use support::{Images, assert_cached, assert_prints, engine};

fn workspace() -> &'static Project {
    Project::named("workspace").expect("the workspace fixture in the table")
}

/// Every crate cargo compiled in any step of a build that followed an edit
/// (cook included, should it run again).
fn compiled_after_an_edit(name: &str, output: &BuildOutput) -> Vec<Compiled> {
    let log = &output.log;
    let step = log.cargo_build().unwrap_or_else(|| panic!("{name}: no cargo build step in\n{}", log.tail(40)));
    assert!(!step.cached, "{name}: the cargo build step must run again after an edit:\n{}", log.tail(40));
    log.steps().iter().flat_map(|step| step.compiled()).collect()
}

/// One scenario per variant, on one scratch copy, each step building on the
/// last: every binary built with build arguments alone, then an edit to one
/// binary, a version bump in a member, an edit to the build script's input
/// with an old file time.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn each_variant_builds_every_binary_and_rebuilds_only_what_it_promises() {
    let docker = engine();
    let project = workspace();
    let greet: &Binary = project.main_binary();
    let message_file = project.build_input.expect("the workspace has a build input").file;
    side_by_side(builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let copy = project.scratch_copy().expect("copy the workspace");
        // Where the rebuilds below reuse anything, the first build must run
        // cargo, not come from a layer of an earlier run: the cache mount must
        // hold what it left, and it loads the cached layers that they reuse.
        // The others build the sources as they are.
        if variant.rebuild != Rebuild::Everything {
            copy.make_new_to_buildkit(greet.main).expect("edit greet");
        }
        for binary in project.binaries {
            let (tag, _) = images.build_binary(variant, copy.path(), platform, &binary.build_args());
            assert_prints(&tag, platform, &project.default_output(binary));
        }
        let mut build = || images.build_binary(variant, copy.path(), platform, &greet.build_args());

        // 1. An edit to one binary crate.
        let edited = format!("Hello, {}!", nonce());
        copy.edit_greeting(greet.main, &edited).expect("edit greet");
        let (tag, output) = build();
        let compiled = compiled_after_an_edit(&name, &output);
        let names = |all: &[Compiled]| all.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let registry: Vec<&Compiled> = compiled.iter().filter(|c| !c.local).collect();
        match variant.rebuild {
            Rebuild::Everything => assert!(
                !registry.is_empty(),
                "{name}: without a dependency cache every crates.io crate compiles again, but cargo compiled only {:?}",
                names(&compiled)
            ),
            Rebuild::CachedStep(_) => {
                assert!(registry.is_empty(), "{name}: compiled crates.io crates after a source edit: {registry:?}")
            }
            Rebuild::CacheMount => assert_eq!(
                names(&compiled),
                ["greet"],
                "{name}: after an edit to greet, cargo should compile greet alone"
            ),
        }
        let message = project.build_input.map(|input| input.message).unwrap_or_default();
        assert_prints(&tag, platform, &(greet.prints)(&edited, message));
        // What follows tests what a build keeps from the last one; these keep
        // nothing (each compiles from an empty target/), as step 1 showed.
        if variant.rebuild == Rebuild::Everything {
            return;
        }

        // 2. A version bump in a member: the dependencies are what they were.
        bump_count_version(&copy);
        let (tag, output) = build();
        match variant.rebuild {
            Rebuild::CachedStep(step) => assert_cached(
                &name,
                "after a member's version bump, the dependency step must stay CACHED",
                &output.log,
                step,
            ),
            Rebuild::CacheMount => assert_eq!(
                names(&compiled_after_an_edit(&name, &output)),
                ["count"],
                "{name}: after count's version bump, cargo should compile count alone"
            ),
            Rebuild::Everything => unreachable!("skipped above"),
        }
        assert_prints(&tag, platform, &(greet.prints)(&edited, message));

        // 3. The build script's input, edited, with a time older than any build.
        let new_message = format!("Edited message {}", nonce());
        copy.write(message_file, &format!("{new_message}\n")).expect("edit the message");
        copy.backdate(message_file).expect("backdate the message");
        let (tag, _) = build();
        assert_prints(&tag, platform, &(greet.prints)(&edited, &new_message));
    });
}

/// count 0.1.0 becomes 0.2.0, in its manifest and in Cargo.lock, as
/// `cargo set-version` would leave them.
fn bump_count_version(copy: &howto_harness::CrateCopy) {
    copy.replace("crates/count/Cargo.toml", "version = \"0.1.0\"", "version = \"0.2.0\"").expect("bump count");
    copy.replace("Cargo.lock", "name = \"count\"\nversion = \"0.1.0\"", "name = \"count\"\nversion = \"0.2.0\"")
        .expect("bump count in Cargo.lock");
}
