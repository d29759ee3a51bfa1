//! What is inside the image: built with `--build-arg AUDITABLE=1`, the
//! default variant's binary carries the crates it was built from
//! (cargo-auditable), and they read back from the image itself, with no
//! registry involved: what `syft` or `cargo audit bin` would report.

mod support;

use std::collections::BTreeMap;

use howto_harness::auditable::crate_list;
use howto_harness::{Project, Variant, promises, repo_root};
use support::{Images, assert_prints, engine, variant};

/// Every `[[package]]` of a Cargo.lock: name -> versions (a crate can be
/// locked at two versions).
fn locked_versions(lock: &str) -> BTreeMap<String, Vec<String>> {
    let mut locked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|line| line.strip_prefix(key)?.trim().strip_prefix("= \"")?.strip_suffix('"'))
        };
        let (Some(name), Some(version)) = (field("name "), field("version ")) else {
            panic!("a Cargo.lock package without a name or a version:{block}");
        };
        locked.entry(name.to_string()).or_default().push(version.to_string());
    }
    locked
}

fn deps_heavy() -> &'static Project {
    Project::named("deps-heavy").expect("the deps-heavy fixture in the table")
}

fn default_variant() -> &'static Variant {
    variant("dependency-cache")
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn an_auditable_build_carries_every_crate_with_its_locked_version() {
    let docker = engine();
    let project = deps_heavy();
    let binary = project.main_binary();
    let copy = project.scratch_copy().expect("copy deps-heavy");
    // A new greeting on every run, so that `cargo auditable build` always
    // runs and shows what it compiles.
    let greeting = format!("Hello, {}!", howto_harness::nonce());
    copy.edit_greeting(binary.main, &greeting).expect("edit the greeting");
    let mut build_args = binary.build_args();
    build_args.push(("AUDITABLE", "1"));
    let mut images = Images::new(docker);
    let (tag, output) = images.build_binary(default_variant(), copy.path(), None, &build_args);

    let build = output.log.cargo_build().unwrap_or_else(|| panic!("no cargo build step:\n{}", output.log.tail(40)));
    assert!(!build.cached, "the edit must be compiled: {}", build.name);
    let compiled = build.compiled();
    assert!(
        !compiled.is_empty() && compiled.iter().all(|c| c.local),
        "cargo-auditable must leave the cooked dependencies as they are and compile deps-heavy alone; \
         it compiled {compiled:?}"
    );
    assert_prints(&tag, None, &(binary.prints)(&greeting, ""));

    let app = docker.read_file(&tag, "/usr/local/bin/app").unwrap_or_else(|e| panic!("{e}"));
    let crates = crate_list(&app)
        .unwrap_or_else(|e| panic!("{tag}: {}: {e}", promises::AUDITABLE_LIST))
        .unwrap_or_else(|| panic!("{tag}: {}: it carries none", promises::AUDITABLE_LIST));
    let lock = std::fs::read_to_string(repo_root().join(project.source).join("Cargo.lock")).expect("Cargo.lock");
    let locked = locked_versions(&lock);
    let listed: BTreeMap<&str, String> = crates.iter().map(|c| (c.name.as_str(), c.version.clone())).collect();

    let roots: Vec<&str> = crates.iter().filter(|c| c.root).map(|c| c.name.as_str()).collect();
    assert_eq!(roots, ["deps-heavy"], "the binary's own crate is the root of the list");
    for name in ["clap", "regex", "serde", "serde_json"] {
        let version = listed.get(name).unwrap_or_else(|| panic!("{name} is missing from the list: {listed:?}"));
        assert_eq!(Some(&vec![version.clone()]), locked.get(name), "{name}: listed against locked version");
    }
    for (name, version) in &listed {
        assert!(
            locked.get(*name).is_some_and(|versions| versions.contains(version)),
            "{name} {version} is listed, but Cargo.lock has {:?}",
            locked.get(*name)
        );
    }
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn without_the_argument_the_binary_carries_no_list() {
    let docker = engine();
    // The workspace, whose dependencies other tests have cooked, rather than
    // deps-heavy, which no other plain build cooks: they too are crates.io
    // crates that cargo-auditable would list.
    let project = Project::named("workspace").expect("the workspace fixture in the table");
    let binary = project.main_binary();
    let copy = project.scratch_copy().expect("copy the workspace");
    let mut images = Images::new(docker);
    let (tag, _) = images.build_binary(default_variant(), copy.path(), None, &binary.build_args());
    let app = docker.read_file(&tag, "/usr/local/bin/app").unwrap_or_else(|e| panic!("{e}"));
    let list = crate_list(&app);
    assert!(matches!(list, Ok(None)), "a plain `cargo build` embeds no dependency list, yet it read {list:?}");
}

#[test]
fn a_lock_file_is_read_with_every_version_of_a_crate() {
    let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n\
                [[package]]\nname = \"a\"\nversion = \"2.1.0\"\nsource = \"registry+x\"\n\n\
                [[package]]\nname = \"b\"\nversion = \"0.1.0\"\ndependencies = [\n \"a 2.1.0\",\n]\n";
    let locked = locked_versions(lock);
    assert_eq!(locked.get("a"), Some(&vec!["1.0.0".to_string(), "2.1.0".to_string()]));
    assert_eq!(locked.get("b"), Some(&vec!["0.1.0".to_string()]));
    assert_eq!(locked.len(), 2);
}
