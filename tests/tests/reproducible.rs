//! Reproducible binaries: two compiles of the same sources give the same
//! program, byte for byte, so anyone can check that an image's binary
//! came from the commit it names. Proven on the workspace fixture (crates.io
//! dependencies, a path dependency, a build script), for every variant with a
//! builder stage that starts from nothing on each `--no-cache` build.

mod support;

use howto_harness::Project;
use howto_harness::reproducible::{binary_sum, builder_build, from_scratch_builds};
use howto_harness::scenarios::side_by_side;
use serial_test::serial;
use support::{Images, engine};

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn two_compiles_of_the_same_sources_give_the_same_binary() {
    let docker = engine();
    let project = Project::named("workspace").expect("the workspace fixture in the table");
    let binary = project.main_binary();
    let copy = project.scratch_copy().expect("copy the workspace");
    let checked = std::sync::Mutex::new(Vec::new());
    side_by_side(from_scratch_builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        // The first build may come from the cache, but from a compile of its
        // own: this run's, or an earlier one's. The second compiles from
        // nothing. It comes second so that it cannot feed the first's cache.
        let sums: Vec<String> = [false, true]
            .into_iter()
            .map(|from_scratch| {
                let tag = howto_harness::unique_tag(&format!("{}-builder", variant.name));
                let build = builder_build(variant, copy.path(), &tag, platform, &binary.build_args());
                let output = images.build(if from_scratch { build.no_cache() } else { build });
                let build_step = output.log.cargo_build();
                assert!(
                    build_step.is_some_and(|step| !from_scratch || !step.cached),
                    "{name}: the cargo build step did not run:\n{}",
                    output.log.tail(40)
                );
                binary_sum(docker, &tag, binary.name).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        assert_eq!(sums[0], sums[1], "{name}: two builds from scratch gave different {} binaries", binary.name);
        checked.lock().expect("the list").push(name);
    });
    let checked = checked.into_inner().expect("the list");
    assert!(
        checked.len() >= 5,
        "expected multistage, dependency-cache, static and both multi-platform builds, got {checked:?}"
    );
}
