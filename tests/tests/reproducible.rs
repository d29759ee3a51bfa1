//! Reproducible binaries: two builds from scratch of the same sources give
//! the same program, byte for byte, so anyone can check that an image's binary
//! came from the commit it names. Proven on the workspace fixture (crates.io
//! dependencies, a path dependency, a build script), for every variant with a
//! builder stage that starts from nothing on each `--no-cache` build.

mod support;

use howto_harness::variants::builds;
use howto_harness::{Project, Rebuild, Runtime};
use serial_test::serial;
use support::{Images, engine};

/// The SHA-256 of the binary `name` in a builder image, wherever the variant
/// puts it (`target/release/` or `target/<triple>/release/`); exactly one.
fn binary_sum(docker: &howto_harness::Docker, builder: &str, name: &str) -> String {
    let script =
        format!("find /app /usr/src/app -type f -path '*/target/*release/{name}' 2>/dev/null | xargs -r sha256sum");
    let sums = docker.run(builder, None, &["sh", "-c", &script]).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = sums.lines().collect();
    assert_eq!(lines.len(), 1, "{builder}: expected one {name} binary under target/, found {sums:?}");
    let sum = lines[0].split_whitespace().next().unwrap_or_default();
    assert!(sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()), "{builder}: not a SHA-256: {sums:?}");
    sum.to_string()
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn two_builds_from_scratch_give_the_same_binary() {
    let docker = engine();
    let project = Project::named("workspace").expect("the workspace fixture in the table");
    let binary = project.main_binary();
    let copy = project.scratch_copy().expect("copy the workspace");
    // simple has no builder stage apart from its image; cache-mount's builder
    // starts from the target/ its cache mount kept, whatever --no-cache says.
    let from_scratch = builds().filter(|(v, _)| v.runtime != Runtime::Toolchain && v.rebuild != Rebuild::CacheMount);
    let mut checked = Vec::new();
    for (variant, platform) in from_scratch {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let sums: Vec<String> = (0..2)
            .map(|_| {
                let tag = howto_harness::unique_tag(&format!("{}-builder", variant.name));
                let build = variant.build(copy.path(), &tag, platform, &binary.build_args()).option("--target=builder");
                let output = images.build(build.no_cache());
                let build_step = output.log.step("cargo build");
                assert!(
                    build_step.is_some_and(|step| !step.cached),
                    "{name}: the cargo build step did not run:\n{}",
                    output.log.tail(40)
                );
                binary_sum(docker, &tag, binary.name)
            })
            .collect();
        assert_eq!(sums[0], sums[1], "{name}: two builds from scratch gave different {} binaries", binary.name);
        checked.push(name);
    }
    assert!(
        checked.len() >= 5,
        "expected multistage, dependency-cache, static and both multi-platform builds, got {checked:?}"
    );
}
