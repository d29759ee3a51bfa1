//! Native code and TLS: the native fixture links OpenSSL (`tls-openssl`) and
//! compiles ring's C and assembly (`tls-ring`). Every variant builds both with
//! build arguments alone, on every platform, and the images complete a TLS
//! handshake with a server on this machine whose CA the test makes, trusting
//! it the way a user would: the image's own trust store plus that CA.

mod support;

use howto_harness::projects::native::{BINARIES, SOURCE, binary_build_args};
use howto_harness::projects::scratch_copy;
use howto_harness::scenarios::side_by_side;
use howto_harness::variants::{CA_BUNDLE, CONTEXT, MISSING_LIBRARY_HINT, builds};
use howto_harness::{Rebuild, VARIANTS, nonce, promises, unique_tag};
use support::tls::TlsServer;
use support::{Images, assert_cached, engine, run_on_host_network, shown, variant};

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn every_variant_builds_native_code_and_completes_a_handshake() {
    let docker = engine();
    let server = TlsServer::start();
    side_by_side(builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let copy = scratch_copy(SOURCE).expect("copy the native fixture");
        // Where a rebuild below must find steps cached, a real first build,
        // which loads the layers it reuses. The other variants build the
        // sources as they are: from the layer cache, if an earlier run did.
        if matches!(variant.rebuild, Rebuild::CachedStep(_)) {
            copy.make_new_to_buildkit("src/lib.rs").expect("edit src/lib.rs");
        }
        for binary in BINARIES {
            let args = binary_build_args(variant.runtime, binary);
            let (tag, _) = images.build_binary(variant, copy.path(), platform, &args);
            let what = format!("{name} {binary}");

            // The image's own trust store, with the test's CA added at run time.
            let own = docker.read_file(&tag, CA_BUNDLE).unwrap_or_else(|e| panic!("{what}: {e}"));
            let certificates = String::from_utf8_lossy(&own).matches("BEGIN CERTIFICATE").count();
            assert!(certificates >= 50, "{what}: {CA_BUNDLE} holds {certificates} certificates");
            let trusted = server.bundle_with_ca(&own, &format!("{binary}-{}.pem", nonce()));
            let trusted = trusted.display();

            let mounted = format!("{trusted}:/tmp/trusted.pem:ro");
            let out = run_on_host_network(
                docker,
                platform,
                &["-v", &mounted, "-e", "SSL_CERT_FILE=/tmp/trusted.pem", &tag, &server.url()],
            );
            assert_eq!(out.stdout, server.answer.as_bytes(), "{what} with SSL_CERT_FILE: {}", shown(&out));

            // The program reads the image's default trust store path.
            let over_default = format!("{trusted}:{CA_BUNDLE}:ro");
            let out = run_on_host_network(docker, platform, &["-v", &over_default, &tag, &server.url()]);
            assert_eq!(out.stdout, server.answer.as_bytes(), "{what}, CA in the default store: {}", shown(&out));

            // Without the CA the server is not trusted: verification is on.
            let out = run_on_host_network(docker, platform, &[&tag, &server.url()]);
            assert_eq!(out.status.code(), Some(1), "{what} must refuse an unknown CA: {}", shown(&out));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("certificate")
                    || String::from_utf8_lossy(&out.stderr).contains("UnknownIssuer"),
                "{what}: the refusal names the certificate: {}",
                shown(&out)
            );
        }

        // An edit to the sources leaves the cooked native dependencies cached.
        if let Rebuild::CachedStep(step) = variant.rebuild {
            copy.make_new_to_buildkit("src/lib.rs").expect("edit src/lib.rs");
            let args = binary_build_args(variant.runtime, BINARIES[1]);
            let (_, output) = images.build_binary(variant, copy.path(), platform, &args);
            assert_cached(&name, promises::COOK_CACHED, &output.log, step);
        }
    });
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_missing_native_package_names_the_build_argument_that_adds_it() {
    let docker = engine();
    let copy = scratch_copy(SOURCE).expect("copy the native fixture");
    // Sources new to BuildKit: no layer from an earlier run can stand in.
    copy.make_new_to_buildkit("src/lib.rs").expect("edit src/lib.rs");
    // cache-mount must start as on a fresh machine, from a target/ that never
    // saw the packages. 20.10 keys a cache mount by its id as written, so one
    // target/ serves every project there: a copy of the Dockerfile whose
    // target/ id differs in its text alone gets one of its own on any engine.
    // (A prune would cost the next builds their cache mounts, and on the
    // containerd store every layer.)
    let dir = tempfile::tempdir().expect("temp dir");
    // Each Dockerfile once: its platforms share the RUN that fails. The last
    // platform, so that multi-platform's is the cross build. One after the
    // other: BuildKit runs a step that two builds share once, and only one of
    // them gets its output (simple's and multistage's builder steps are the
    // same), so a build beside another could fail without printing anything.
    for variant in VARIANTS {
        let platform = variant.build_platforms().last().copied().flatten();
        let tag = unique_tag("native-missing");
        let mut images = Images::new(docker);
        images.adopt(&tag);
        let mut build = variant.build(copy.path(), &tag, platform, &[("APP_NAME", BINARIES[0])]);
        if variant.rebuild == Rebuild::CacheMount {
            let (id, own) = ("id=${APP_NAME}-target-", "id=${APP_NAME}-without-packages-target-");
            build.dockerfile = support::dockerfile_with(variant, id, own, &dir.path().join("Dockerfile"));
        }
        let Err(error) = docker.build(&build) else {
            panic!("{}: built openssl-sys without BUILD_PACKAGES", variant.tag(platform));
        };
        let error = error.to_string();
        let hint = printed_hint(&error)
            .unwrap_or_else(|| panic!("{}: the failure prints no hint:\n{error}", variant.tag(platform)));
        for named in ["BUILD_PACKAGES", "libssl-dev"] {
            assert!(hint.contains(named), "{}: the hint does not name {named}: {hint}", variant.tag(platform));
        }
    }
}

/// The hint as the failed step printed it: a line of the step's output, not
/// the step's header, which shows the command that would print it.
fn printed_hint(log: &str) -> Option<&str> {
    log.lines().find(|line| line.contains(MISSING_LIBRARY_HINT) && !line.contains("echo >&2"))
}

/// The other side of the hint: a plain compile error in the crate's own code
/// fails every build without a word about C libraries, which would send the
/// reader the wrong way.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_compile_error_gets_no_hint_about_c_libraries() {
    let docker = engine();
    let copy = scratch_copy(CONTEXT).expect("copy my-project");
    copy.append("src/main.rs", &format!("\n// {}\nfn broken() -> u32 {{ \"not a number\" }}\n", nonce()))
        .expect("a type error in src/main.rs");
    // One after the other, as above.
    for variant in VARIANTS {
        let platform = variant.build_platforms().first().copied().flatten();
        let tag = unique_tag("compile-error");
        let mut images = Images::new(docker);
        images.adopt(&tag);
        let build = variant.build(copy.path(), &tag, platform, &[]);
        let Err(error) = docker.build(&build) else {
            panic!("{}: built a crate with a type error", variant.tag(platform));
        };
        let error = error.to_string();
        let name = variant.tag(platform);
        assert!(error.contains("mismatched types"), "{name}: the failure does not show cargo's error:\n{error}");
        assert_eq!(printed_hint(&error), None, "{name}: a type error got the C library hint:\n{error}");
    }
}

/// glibc 2.34 and later carry the `files` and `dns` lookups inside libc, so a
/// statically linked binary in an empty image still resolves names: here one
/// that only the container's /etc/hosts knows (`--add-host`). Without that
/// entry the same run fails, so the lookup really went through the file.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_static_binary_in_scratch_resolves_a_name_from_etc_hosts() {
    let docker = engine();
    let server = TlsServer::start();
    let variant = variant("static");
    let mut images = Images::new(docker);
    let copy = scratch_copy(SOURCE).expect("copy the native fixture");
    for binary in BINARIES {
        let args = binary_build_args(variant.runtime, binary);
        let (tag, _) = images.build_binary(variant, copy.path(), None, &args);
        let own = docker.read_file(&tag, CA_BUNDLE).unwrap_or_else(|e| panic!("{binary}: {e}"));
        let trusted = server.bundle_with_ca(&own, &format!("{binary}-hosts-{}.pem", nonce()));
        let mounted = format!("{}:{CA_BUNDLE}:ro", trusted.display());
        let url = server.url_at("tls.rch.test");

        let out =
            run_on_host_network(docker, None, &["--add-host", "tls.rch.test:127.0.0.1", "-v", &mounted, &tag, &url]);
        assert_eq!(out.stdout, server.answer.as_bytes(), "static {binary}, name from /etc/hosts: {}", shown(&out));

        let out = run_on_host_network(docker, None, &["-v", &mounted, &tag, &url]);
        assert_eq!(out.status.code(), Some(1), "static {binary} resolved tls.rch.test with no entry: {}", shown(&out));
    }
}
