//! One Dockerfile, two architectures: each image is what it says it is, and
//! both join under one tag in a manifest list that a registry serves.

mod support;

use howto_harness::registry::{LocalRegistry, push_manifest_list};
use howto_harness::variants::{GREETING, PLATFORMS, arch, elf_machine, machine};
use howto_harness::{Variant, unique_tag};
use support::{Images, assert_prints, engine, variant};

fn multi_platform() -> &'static Variant {
    variant("multi-platform")
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn each_architecture_gets_its_own_binary() {
    let docker = engine();
    let mut images = Images::new(docker);
    for &platform in PLATFORMS {
        let machine = machine(platform).expect("a known platform").elf;
        let (tag, _) = images.build_howto_variant(multi_platform(), Some(platform));
        let info = docker.inspect(&tag).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.architecture, arch(platform), "{platform}: the image's Architecture");
        let binary = docker.read_file(&tag, "/usr/local/bin/app").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(elf_machine(&binary), Some(machine), "{platform}: the binary's ELF machine");
        assert_prints(&tag, Some(platform), GREETING);
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn both_architectures_share_one_tag_in_a_manifest_list() {
    let docker = engine();
    let registry = LocalRegistry::start().unwrap_or_else(|e| panic!("{e}"));
    let mut images = Images::new(docker);
    let list = format!("{}/my-project:multi-platform", registry.address);
    let mut built = Vec::new();
    for platform in multi_platform().platforms {
        let (tag, _) = images.build_howto_variant(multi_platform(), Some(platform));
        built.push((tag, *platform));
    }
    let pairs: Vec<(&str, &str)> = built.iter().map(|(tag, platform)| (tag.as_str(), *platform)).collect();
    let inspected = push_manifest_list(docker, &list, &pairs).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value = serde_json::from_str(&inspected).expect("the list is JSON");
    let mut listed: Vec<String> = json["manifests"]
        .as_array()
        .expect("a manifest list")
        .iter()
        // buildx lists each image's provenance attestation too (unknown/unknown).
        .filter(|m| m["annotations"]["vnd.docker.reference.type"] != "attestation-manifest")
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap_or("?"),
                m["platform"]["architecture"].as_str().unwrap_or("?")
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, PLATFORMS, "the manifest list's platforms");

    // What a user on an arm64 machine would do: pull the one tag, get arm64.
    images.adopt(&list);
    let arm64 = PLATFORMS.iter().copied().find(|p| arch(p) == "arm64").expect("arm64 in PLATFORMS");
    docker
        .output(&["pull", "--platform", arm64, &list], std::time::Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    // The classic image store keeps the one platform pulled under the tag;
    // the containerd store keeps the list, and `run --platform` picks from it.
    if !docker.containerd_store {
        assert_eq!(docker.inspect(&list).unwrap_or_else(|e| panic!("{e}")).architecture, "arm64");
    }
    let local = unique_tag("from-registry");
    docker.output(&["tag", &list, &local], std::time::Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    images.adopt(&local);
    assert_prints(&local, Some(arm64), GREETING);
}
