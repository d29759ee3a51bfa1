//! Build every variant as the HOWTO does, run it, and check what its image
//! holds: the output, the size ordering, non-root, labels, no toolchain.

mod support;

use howto_harness::variants::{GREETING, STATIC_IMAGE_BUDGET, builds};
use howto_harness::{Runtime, Variant};
use serial_test::serial;
use support::{Images, assert_prints, engine};

/// Labels every runtime image carries (OCI image annotations).
const OCI_LABELS: &[&str] =
    &["org.opencontainers.image.title", "org.opencontainers.image.description", "org.opencontainers.image.licenses"];

/// Paths that only a build image has: the toolchain and the C compiler.
const BUILD_TOOLS: &[&str] =
    &["usr/local/cargo/bin/cargo", "usr/bin/cargo", "usr/bin/rustc", "usr/bin/gcc", "usr/bin/cc"];

#[test]
#[serial]
fn every_variant_builds_and_prints_hello_world() {
    let Some(docker) = engine() else { return };
    for (variant, platform) in builds() {
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        assert_prints(&tag, platform, GREETING);
    }
}

#[test]
#[serial]
fn runtime_images_hold_the_binary_and_run_as_non_root() {
    let Some(docker) = engine() else { return };
    for (variant, platform) in builds() {
        let mut images = Images::new(docker);
        let (tag, _) = images.build_howto_variant(variant, platform);
        let info = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}"));
        let name = variant.tag(platform);

        let uid = info.user.split(':').next().unwrap_or_default();
        assert!(!uid.is_empty() && uid != "0" && uid != "root", "{name}: runs as user {:?}", info.user);
        for label in OCI_LABELS {
            assert!(info.labels.contains_key(*label), "{name}: no {label} label in {:?}", info.labels);
        }
        assert_eq!(info.labels["org.opencontainers.image.title"], "my-project", "{name}: title label");

        let files = docker.files(&tag).unwrap_or_else(|e| panic!("{e}"));
        let tools: Vec<&&str> = BUILD_TOOLS.iter().filter(|t| files.iter().any(|f| f == **t)).collect();
        match variant.runtime {
            Runtime::Toolchain => assert!(!tools.is_empty(), "{name}: the build image should hold the toolchain"),
            Runtime::DebianSlim => {
                assert!(tools.is_empty(), "{name}: runtime image holds build tools {tools:?}");
                assert!(files.iter().any(|f| f == "usr/local/bin/app"), "{name}: no usr/local/bin/app");
            }
            Runtime::Scratch => {
                // Only the binary (export adds the container's own mount points).
                let own: Vec<&String> = files.iter().filter(|f| !is_container_plumbing(f)).collect();
                assert_eq!(own, ["app"], "{name}: a scratch image should hold the binary alone");
            }
        }
    }
}

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
#[serial]
fn multistage_is_a_fraction_of_simple_and_cargo_chef_costs_nothing() {
    let Some(docker) = engine() else { return };
    let mut images = Images::new(docker);
    let mut size = |name: &str| {
        let variant = Variant::named(name).expect("variant in the table");
        let (tag, _) = images.build_howto_variant(variant, None);
        docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}")).size
    };
    let simple = size("simple");
    let multistage = size("multistage");
    let dependency_cache = size("dependency-cache");
    assert!(simple >= 5 * multistage, "simple ({simple} B) should be at least 5x multistage ({multistage} B)");
    let drift = dependency_cache.abs_diff(multistage) as f64 / multistage as f64;
    assert!(
        drift <= 0.02,
        "dependency-cache ({dependency_cache} B) is {:.1}% off multistage ({multistage} B)",
        drift * 100.0
    );
}

#[test]
#[serial]
fn the_static_image_is_its_binary_and_within_budget() {
    let Some(docker) = engine() else { return };
    let mut images = Images::new(docker);
    let (tag, _) = images.build_howto_variant(Variant::named("static").expect("static variant"), None);
    let size = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}")).size;
    let binary = docker.read_file(&tag, "/app").unwrap_or_else(|e| panic!("{e}")).len() as u64;
    assert!(size <= STATIC_IMAGE_BUDGET, "static image is {size} B, over its budget of {STATIC_IMAGE_BUDGET} B");
    assert!(
        size as f64 <= binary as f64 * 1.10,
        "static image ({size} B) is more than 10% over its binary ({binary} B)"
    );
}
