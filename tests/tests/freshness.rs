//! Every variant ships a binary built from the sources in its build context,
//! whatever their timestamps and whatever the caches hold. Cargo judges
//! freshness by file times, and BuildKit keeps cache mounts across builds:
//! together they once shipped the previous build's binary. BuildKit's own
//! blind spot for context files, and the prune that clears it, are in
//! zz_pruning.rs.

mod support;

use std::path::Path;

use howto_harness::scenarios::side_by_side;
use howto_harness::variants::builds;
use howto_harness::{Build, CrateCopy, Project, Rebuild, nonce, repo_root, unique_tag};
use support::{Images, engine, variant};

const MAIN: &str = "src/main.rs";

fn my_project() -> CrateCopy {
    Project::named("my-project").expect("my-project in the table").scratch_copy().expect("copy my-project")
}

/// Makes the copy's program print `greeting`; returns the new main.rs. The
/// nonce makes the file new to BuildKit's cache.
fn say(copy: &CrateCopy, greeting: &str) -> String {
    let text = format!("fn main() {{\n    println!(\"{greeting}\");\n}}\n// edit {}\n", nonce());
    copy.write(MAIN, &text).expect("write main.rs");
    text
}

/// Two checkouts of one project built in turn with one engine, as two
/// worktrees or a CI runner that builds several branches would: the older
/// checkout's files carry times from 2001, older than any build.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn every_variant_ships_its_own_sources_whatever_their_timestamps() {
    let docker = engine();
    side_by_side(builds(), |(variant, platform)| {
        let name = variant.tag(platform);
        let _sequence = (variant.rebuild == Rebuild::CacheMount).then(support::cache_mount_sequence);
        let mut images = Images::new(docker);
        let (newer, older) = (my_project(), my_project());
        let mut build_and_check = |copy: &CrateCopy, expected: &str, step: &str| {
            let (tag, _) = images.build_variant(variant, copy.path(), platform);
            let ran = support::run(&tag, platform);
            assert_eq!(ran.stdout, format!("{expected}\n"), "{name}, {step}: the image runs another build's program");
        };

        say(&newer, "Hello, A!");
        build_and_check(&newer, "Hello, A!", "a checkout at A");

        // The reproduction from the bug report: text never built, old times.
        let b = say(&older, "Hello, B!");
        older.backdate_all().expect("backdate");
        build_and_check(&older, "Hello, B!", "an older checkout at B");

        say(&newer, "Hello, C!");
        build_and_check(&newer, "Hello, C!", "the newer checkout again, at C");

        say(&older, "Hello, D!");
        older.backdate(MAIN).expect("backdate");
        build_and_check(&older, "Hello, D!", "the older checkout at D, only main.rs backdated");

        older.write(MAIN, &b).expect("revert to B");
        older.backdate_all().expect("backdate");
        build_and_check(&older, "Hello, B!", "the older checkout reverted to B");
    });
}

/// The cache-mount Dockerfile without content stamps: cargo alone decides
/// what is fresh in a target/ that outlives its sources. It shares the real
/// Dockerfile's cache ids, so it leaves behind exactly what a branch with
/// such a Dockerfile, built on the same machine, would.
const NAIVE_CACHE_MOUNT: &str = r#"ARG APP_NAME=my-project
FROM rust:1.96-slim-trixie AS builder
ARG APP_NAME TARGETOS TARGETARCH
WORKDIR /usr/src/app
COPY . .
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=${APP_NAME}-target-${TARGETOS}-${TARGETARCH},target=/usr/src/app/target,sharing=locked \
    cargo build --release --locked && cp "target/release/${APP_NAME}" /usr/local/bin/app
FROM debian:trixie-slim
COPY --from=builder /usr/local/bin/app /usr/local/bin/app
ENTRYPOINT ["/usr/local/bin/app"]
"#;

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn a_target_cache_poisoned_by_a_naive_build_does_not_fool_cache_mount() {
    let docker = engine();
    let _sequence = support::cache_mount_sequence();
    let naive_dir = tempfile::tempdir().expect("temp dir");
    let naive = naive_dir.path().join("Dockerfile.naive");
    std::fs::write(&naive, NAIVE_CACHE_MOUNT).expect("write the naive Dockerfile");
    let ours = repo_root().join(variant("cache-mount").dockerfile());
    // The same Dockerfile with a no-op in its RUN step: what a build of it
    // meets once BuildKit's garbage collector has dropped its layers but kept
    // the cache mount. (`--no-cache` cannot stand in: it gives a new mount.)
    let evicted = support::dockerfile_with(
        variant("cache-mount"),
        "cargo build --profile \"$PROFILE\" --locked",
        "cargo build --profile \"$PROFILE\" --locked && true",
        &naive_dir.path().join("Dockerfile.evicted"),
    );
    let copy = my_project();
    let mut images = Images::new(docker);
    let mut build = |dockerfile: &Path| {
        let tag = unique_tag("poisoned");
        images.build(Build::new(dockerfile, copy.path(), &tag));
        support::run(&tag, None).stdout
    };

    say(&copy, "Hello, A!");
    assert_eq!(build(&ours), "Hello, A!\n", "cache-mount at A");
    say(&copy, "Hello, B!");
    assert_eq!(build(&naive), "Hello, B!\n", "the naive Dockerfile at B, a fresh edit");
    say(&copy, "Hello, C!");
    copy.backdate_all().expect("backdate");
    assert_eq!(
        build(&naive),
        "Hello, B!\n",
        "the naive Dockerfile should ship the stale B for backdated sources at C: without that, this test proves nothing"
    );
    assert_eq!(build(&ours), "Hello, C!\n", "cache-mount at C, after the naive build left B in its target/");

    // Now the sums kept in target/ match C, but the naive build writes D.
    let c = std::fs::read_to_string(copy.path().join(MAIN)).expect("read main.rs");
    say(&copy, "Hello, D!");
    assert_eq!(build(&naive), "Hello, D!\n", "the naive Dockerfile at D");
    copy.write(MAIN, &c).expect("revert to C");
    copy.backdate_all().expect("backdate");
    assert_eq!(
        build(&evicted),
        "Hello, C!\n",
        "cache-mount without its layers at C, whose sums it kept, after the naive build left D in its target/"
    );
}
