//! What only current Docker does (Engine 26 with buildx and the containerd
//! image store, RCH_ENGINE=current; ignored on the host's 20.10): one build
//! for both platforms kept without a registry, and per-platform images
//! joined by `buildx imagetools`, and an image digest that two builds from
//! scratch reproduce. Build secrets, which both engines have, are checked on
//! whichever one runs. The layer cache exported for a fresh builder is in
//! zz_pruning.rs, as it prunes.

mod support;

use std::time::Duration;

use howto_harness::registry::LocalRegistry;
use howto_harness::variants::{CONTEXT, GREETING, PLATFORMS};
use howto_harness::{Build, nonce, unique_tag};
use serial_test::serial;
use support::{Images, engine, variant};

const LONG: Duration = Duration::from_secs(1800);

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[cfg_attr(not(current_engine), ignore = "needs the current engine: RCH_ENGINE=current")]
#[serial]
fn one_build_keeps_both_platforms_in_the_containerd_store() {
    let docker = engine();
    let mut images = Images::new(docker);
    let tag = unique_tag("both-platforms");
    let both = PLATFORMS.join(",");
    let build = Build::new(variant("multi-platform").dockerfile(), CONTEXT, &tag).platform(&both);
    images.build(build);
    // No push, no registry: the engine has the image for each platform.
    for platform in PLATFORMS {
        let out = docker.run(&tag, Some(platform), &[]).unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert_eq!(out, GREETING, "{platform}: the image of one multi-platform build");
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[cfg_attr(not(current_engine), ignore = "needs the current engine: RCH_ENGINE=current")]
#[serial]
fn imagetools_joins_per_platform_pushes_that_docker_manifest_cannot() {
    let docker = engine();
    let registry = LocalRegistry::start().unwrap_or_else(|e| panic!("{e}"));
    let mut images = Images::new(docker);
    let repository = format!("{}/my-project", registry.address);
    let mut parts = Vec::new();
    for platform in PLATFORMS {
        let part = format!("{repository}:{}", howto_harness::variants::arch(platform));
        let build =
            Build::new(variant("multi-platform").dockerfile(), CONTEXT, &part).platform(platform).option("--push");
        images.build(build);
        parts.push(part);
    }
    let joined = format!("{repository}:multi-platform");
    let mut create = vec!["buildx", "imagetools", "create", "-t", &joined];
    create.extend(parts.iter().map(String::as_str));
    docker.output(&create, LONG).unwrap_or_else(|e| panic!("{e}"));
    let listed = docker.output(&["buildx", "imagetools", "inspect", &joined], LONG).unwrap_or_else(|e| panic!("{e}"));
    for platform in PLATFORMS {
        assert!(listed.contains(&format!("Platform:    {platform}")), "{joined} lacks {platform}:\n{listed}");
    }
    images.adopt(&joined);
    for platform in PLATFORMS {
        let out = docker.run(&joined, Some(platform), &[]).unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert_eq!(out, GREETING, "{platform}: pulled from the joined list");
    }

    // buildx pushes each image with a provenance attestation, as an index:
    // `docker manifest create` takes only single-platform manifests.
    let mut manifest = vec!["manifest", "create", "--insecure", "--amend"];
    let old_style = format!("{repository}:manifest");
    manifest.push(&old_style);
    manifest.extend(parts.iter().map(String::as_str));
    let refused = docker.output(&manifest, LONG).expect_err("docker manifest create joined images with attestations");
    assert!(refused.to_string().contains("is a manifest list"), "docker manifest create failed otherwise: {refused}");
}

/// A token passed with `--secret` (as a private registry's credentials
/// would be) is readable by the RUN step and lands in no layer of the image
/// and not in its history.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_build_secret_leaves_no_trace_in_the_image() {
    let docker = engine();
    let mut images = Images::new(docker);
    let context = tempfile::tempdir().expect("a build context");
    let token = format!("rch-secret-{}", nonce());
    let secret = context.path().join("token.txt");
    std::fs::write(&secret, &token).expect("write the token");
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM debian:trixie-slim\n\
         RUN --mount=type=secret,id=token test -s /run/secrets/token && wc -c </run/secrets/token >/token-length\n",
    )
    .expect("Dockerfile");
    // The secret file is not in the context's Dockerfile COPYs, and the
    // context holds nothing else the image could take.
    std::fs::write(context.path().join(".dockerignore"), "token.txt\n").expect(".dockerignore");
    let tag = unique_tag("secret");
    // A secret is not part of a step's cache key: without --no-cache, the
    // layer of an earlier run, made with another token, would stand in.
    let build = Build::new(context.path().join("Dockerfile"), context.path(), &tag)
        .option(&format!("--secret=id=token,src={}", secret.display()))
        .no_cache();
    images.build(build);

    let length = docker.run(&tag, None, &["cat", "/token-length"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(length, token.len().to_string(), "the RUN step read the secret");
    let history = docker.output(&["history", "--no-trunc", &tag], LONG).unwrap_or_else(|e| panic!("{e}"));
    assert!(!history.contains(&token), "the token is in docker history:\n{history}");

    // Every blob of the saved image, decompressed where gzip'd.
    let saved = tempfile::tempdir().expect("a directory for docker save");
    let archive = saved.path().join("image.tar");
    docker
        .output(&["save", "-o", archive.to_str().expect("a UTF-8 path"), &tag], LONG)
        .unwrap_or_else(|e| panic!("{e}"));
    duct::cmd!("tar", "-xf", &archive, "-C", saved.path()).run().expect("unpack docker save");
    let mut blobs = 0;
    for entry in walk(saved.path()) {
        let bytes = std::fs::read(&entry).expect("read a blob");
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            duct::cmd!("gzip", "-dc", &entry).stdout_capture().run().expect("gunzip a layer").stdout
        } else {
            bytes
        };
        blobs += 1;
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in {} of the saved image",
            entry.display()
        );
    }
    assert!(blobs >= 3, "docker save gave only {blobs} files: nothing was really searched");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.file_name().is_some_and(|n| n != "image.tar") {
            files.push(path);
        }
    }
    files
}

/// The digest of the one image in an OCI archive (its index.json's manifest).
fn oci_archive_digest(archive: &std::path::Path) -> String {
    let index = duct::cmd!("tar", "-xOf", archive, "index.json").read().unwrap_or_else(|e| panic!("{e}"));
    let index: serde_json::Value = serde_json::from_str(&index).unwrap_or_else(|e| panic!("{e}: {index}"));
    let manifests = index["manifests"].as_array().unwrap_or_else(|| panic!("no manifests in {index}"));
    assert_eq!(manifests.len(), 1, "one image in {}: {index}", archive.display());
    manifests[0]["digest"].as_str().unwrap_or_else(|| panic!("no digest in {index}")).to_string()
}

/// Beyond the binary: with `SOURCE_DATE_EPOCH` and the exporter's
/// `rewrite-timestamp` (BuildKit 0.13, in Engine 26), two builds from scratch
/// of the static image have one digest. Without them the digests differ, the
/// image's creation time being part of it.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[cfg_attr(not(current_engine), ignore = "needs the current engine: RCH_ENGINE=current")]
#[serial]
fn the_static_image_digest_is_reproducible_with_source_date_epoch() {
    let docker = engine();
    let archives = tempfile::tempdir().expect("a directory for the archives");
    let build_twice = |reproducible: bool| -> Vec<String> {
        (0..2)
            .map(|i| {
                let archive = archives.path().join(format!("static-{reproducible}-{i}.tar"));
                let mut output = format!("--output=type=oci,dest={}", archive.display());
                let mut build =
                    Build::new(variant("static").dockerfile(), CONTEXT, unique_tag("static-oci")).no_cache();
                if reproducible {
                    output.push_str(",rewrite-timestamp=true");
                    build = build.build_arg("SOURCE_DATE_EPOCH", "1700000000");
                }
                docker.build(&build.option(&output)).unwrap_or_else(|e| panic!("{e}"));
                // A second apart at least, or the creation times could coincide.
                std::thread::sleep(Duration::from_millis(1100));
                oci_archive_digest(&archive)
            })
            .collect()
    };
    let plain = build_twice(false);
    assert_ne!(plain[0], plain[1], "without SOURCE_DATE_EPOCH two builds should differ in their creation time");
    let pinned = build_twice(true);
    assert_eq!(pinned[0], pinned[1], "with SOURCE_DATE_EPOCH and rewrite-timestamp the digests differ");
}
