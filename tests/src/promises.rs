//! What a test says when a promise of the HOWTO is broken: one constant per
//! promise that `cargo xtask sabotage` breaks on purpose. The assertion that
//! guards the promise prints the constant (with details after it), and the
//! sabotage waits for the same constant, so the two cannot drift apart: a
//! sabotage that waited for a text no assertion printed would report a hole
//! in the tests that is not there. xtask's unit tests check that each
//! sabotage expects one of [`ALL`] and that the tests use each of them.

/// After a one-line source edit, the dependency-caching variants take their
/// dependency step (`cargo chef cook`) from the cache (tests/tests/caching.rs,
/// through `support::assert_cached`).
pub const COOK_CACHED: &str = "after a source edit, the dependency step must be CACHED";

/// The Debian runtimes hold exactly the same files: caching adds nothing to
/// the runtime image (tests/tests/variants.rs).
pub const SAME_RUNTIME_FILES: &str = "every Debian runtime must hold exactly the same files";

/// Built with `--build-arg AUDITABLE=1`, the binary carries the list of its
/// crates, which reads back from the image (tests/tests/sbom.rs).
pub const AUDITABLE_LIST: &str = "built with AUDITABLE=1, the binary must carry its dependency list";

/// The program runs as the numeric non-root user and group 10001:10001
/// (tests/tests/variants.rs).
pub const NON_ROOT_USER: &str = "the image must run as the numeric non-root user and group 10001:10001";

/// A Debian runtime gets the builder's CA bundle alone, not the `openssl`
/// package's files that Debian's ca-certificates would bring, unless
/// `RUNTIME_PACKAGES` asks for them (tests/tests/variants.rs).
pub const NO_OPENSSL_IN_RUNTIME: &str =
    "a Debian runtime must hold none of the openssl package's files without RUNTIME_PACKAGES";

/// In CI every Docker test runs: `RCH_SKIP_DOCKER_TESTS` is refused there
/// (tests/tests/support, `engine()`).
pub const NO_SKIP_IN_CI: &str = "RCH_SKIP_DOCKER_TESTS is set, but so is CI: CI runs every Docker test";

/// Without an engine that builds with BuildKit (or its base images), a
/// Docker test fails and says why, after this (tests/tests/support,
/// `engine()`).
pub const ENGINE_NEEDED: &str = "the Docker tests cannot run without a working engine and its base images";

/// tests/services.rs: `docker stop` must end a program with no SIGTERM handler
/// at once, as PID 1 would ignore the signal and the engine kill it after 10 s.
pub const STOPS_AT_ONCE: &str =
    "docker stop must end the program at once, not kill it after its 10 s timeout: PID 1 must be an init";

/// tests/services.rs: the program resolves a name through the DNS server that
/// the container's /etc/resolv.conf names, in every runtime image, static's
/// scratch included (glibc's DNS lookup is inside the static binary).
pub const RESOLVES_THROUGH_DNS: &str =
    "the program must resolve a name through the DNS server that /etc/resolv.conf names";

/// Every constant above, by name: the name is how xtask finds the assertions
/// that use it in the test sources.
pub const ALL: &[(&str, &str)] = &[
    ("COOK_CACHED", COOK_CACHED),
    ("SAME_RUNTIME_FILES", SAME_RUNTIME_FILES),
    ("AUDITABLE_LIST", AUDITABLE_LIST),
    ("NON_ROOT_USER", NON_ROOT_USER),
    ("NO_OPENSSL_IN_RUNTIME", NO_OPENSSL_IN_RUNTIME),
    ("NO_SKIP_IN_CI", NO_SKIP_IN_CI),
    ("ENGINE_NEEDED", ENGINE_NEEDED),
    ("STOPS_AT_ONCE", STOPS_AT_ONCE),
    ("RESOLVES_THROUGH_DNS", RESOLVES_THROUGH_DNS),
];

/// The name under which [`ALL`] lists this text, if it is a promise's.
pub fn name_of(text: &str) -> Option<&'static str> {
    ALL.iter().find(|(_, t)| *t == text).map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant missing from ALL would escape xtask's checks.
    #[test]
    fn all_lists_every_constant_under_its_own_name() {
        let source = include_str!("promises.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("pub const ")?.split_once(": &str").map(|(name, _)| name))
            .collect();
        let listed: Vec<&str> = ALL.iter().map(|(name, _)| *name).collect();
        assert_eq!(declared, listed, "ALL must list every `pub const NAME: &str` above, in order");
        for (name, text) in ALL {
            let declaration = format!("pub const {name}: &str");
            let at = source.find(&declaration).unwrap_or_else(|| panic!("no {declaration}"));
            let quoted = format!("{text:?}");
            let rest = &source[at..];
            assert!(rest[..rest.find(';').expect("a ;")].contains(&quoted), "ALL lists {name} with another text");
        }
    }

    /// One promise's message must not be found inside another's: a sabotage
    /// would then count the wrong assertion as its catch.
    #[test]
    fn no_message_contains_another() {
        for (a, text_a) in ALL {
            assert!(!text_a.is_empty(), "{a} is empty");
            for (b, text_b) in ALL {
                if a != b {
                    assert!(!text_a.contains(text_b), "{a} contains {b}");
                }
            }
        }
    }

    #[test]
    fn a_text_is_found_by_its_name() {
        assert_eq!(name_of(COOK_CACHED), Some("COOK_CACHED"));
        assert_eq!(name_of("must be CACHED"), None);
    }
}
