//! What `cargo xtask try` reads of a crate, with `cargo metadata`: the
//! workspace that is the build context, the binary to build, what its labels
//! and build arguments come from, and the `-sys` crates of the resolved
//! dependency graph. Bad input is found here, before any Docker work.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::sys::{SysCrate, is_sys};

/// A crate (or workspace) to try, as cargo sees it.
#[derive(Debug)]
pub struct Crate {
    /// The build context: the workspace root, which PATH is or is a member of.
    pub context: PathBuf,
    /// PATH is a member of the workspace at `context`, not its root.
    pub member: bool,
    pub binary: String,
    /// The binary's main source, relative to `context`: the edit goes there.
    pub main: PathBuf,
    pub rust_version: Option<String>,
    pub license: Option<String>,
    pub description: Option<String>,
    pub sys_crates: Vec<SysCrate>,
}

/// Reads the crate at `path` without writing to it: no Cargo.lock is made
/// (`--locked`), and one that is missing is asked for.
pub fn read(path: &Path, bin: Option<&str>, features: Option<&str>) -> Result<Crate, String> {
    let dir = crate_dir(path)?;
    let root = workspace_root(&dir)?;
    if !root.join("Cargo.lock").is_file() {
        return Err(format!(
            "{} has no Cargo.lock, and the Dockerfiles build with --locked: run `cargo generate-lockfile` there \
             (and commit the lock file), then try again",
            root.display()
        ));
    }
    let json = cargo(&dir, &metadata_args(&dir, features))?;
    let metadata: Metadata =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata printed what xtask cannot read: {e}"))?;
    from_metadata(&metadata, &dir, path, bin)
}

/// `path`, canonical, if it is a directory with a Cargo.toml.
fn crate_dir(path: &Path) -> Result<PathBuf, String> {
    match std::fs::metadata(path) {
        Err(_) => return Err(format!("no such directory: {}", path.display())),
        Ok(meta) if !meta.is_dir() => return Err(format!("{} is not a directory", path.display())),
        Ok(_) => {}
    }
    if !path.join("Cargo.toml").is_file() {
        return Err(format!(
            "{} has no Cargo.toml: `cargo xtask try` takes the directory of a crate or a workspace",
            path.display()
        ));
    }
    std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The directory of the workspace root's Cargo.toml (which need not be
/// `dir`'s), found without resolving anything: nothing is written yet.
fn workspace_root(dir: &Path) -> Result<PathBuf, String> {
    let manifest = dir.join("Cargo.toml");
    let args = ["locate-project", "--workspace", "--message-format", "plain", "--manifest-path"];
    let mut args: Vec<&str> = args.to_vec();
    args.push(manifest.to_str().ok_or_else(|| format!("{} is not UTF-8", manifest.display()))?);
    let found = PathBuf::from(cargo(dir, &args)?.trim());
    found.parent().map(Path::to_path_buf).ok_or_else(|| format!("cargo locate-project printed {}", found.display()))
}

/// `cargo metadata` as the builds resolve: locked, for this machine's Linux
/// (no Windows-only crates), with the features the build gets.
fn metadata_args(dir: &Path, features: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> =
        ["metadata", "--format-version", "1", "--locked", "--manifest-path"].into_iter().map(String::from).collect();
    args.push(dir.join("Cargo.toml").display().to_string());
    args.extend(["--filter-platform".to_string(), format!("{}-unknown-linux-gnu", std::env::consts::ARCH)]);
    if let Some(features) = features {
        args.extend(["--features".to_string(), features.to_string()]);
    }
    args
}

/// Runs the cargo that runs xtask, in `dir` (whose .cargo/config.toml
/// applies, as it would for its owner); its stdout, or an error that names
/// the command, its status and the end of its output.
fn cargo(dir: &Path, args: &[impl AsRef<str>]) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let shown = format!("cargo {}", args.join(" "));
    let output = duct::cmd(&cargo, &args)
        .dir(dir)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| format!("{shown}: {e}"))?;
    let output = howto_harness::process::check(&shown, output)?;
    String::from_utf8(output.stdout).map_err(|e| format!("{shown} printed no UTF-8: {e}"))
}

/// `cargo metadata --format-version 1`, in the parts read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    /// What `cargo build` at the root builds (cargo 1.71 on).
    workspace_default_members: Option<Vec<String>>,
    workspace_root: PathBuf,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
    rust_version: Option<String>,
    license: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
    features: Vec<String>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    /// `None` for a normal dependency, else `dev` or `build`.
    kind: Option<String>,
}

impl Package {
    fn has_kind(&self, kind: &str) -> bool {
        self.targets.iter().any(|t| t.kind.iter().any(|k| k == kind))
    }
}

/// The crate at `dir` (`shown` as the user named it) and its binary `bin`.
fn from_metadata(metadata: &Metadata, dir: &Path, shown: &Path, bin: Option<&str>) -> Result<Crate, String> {
    let root = &metadata.workspace_root;
    let member = dir != root;
    let package = |id: &str| metadata.packages.iter().find(|p| p.id == id);
    let default_members: Vec<&Package> = metadata
        .workspace_default_members
        .as_ref()
        .unwrap_or(&metadata.workspace_members)
        .iter()
        .filter_map(|id| package(id))
        .collect();
    // The Dockerfiles run `cargo build` at the root: it builds the default
    // members, and the binary must be one of theirs.
    let candidates: Vec<&Package> = if member {
        let here = metadata.packages.iter().find(|p| p.manifest_path == dir.join("Cargo.toml"));
        let here = here.ok_or_else(|| format!("cargo metadata lists no package at {}", shown.display()))?;
        if !default_members.iter().any(|p| p.id == here.id) {
            return Err(format!(
                "{} is a member of the workspace at {}, but not a default member: `cargo build` there, which \
                 the Dockerfiles run, does not build it",
                here.name,
                root.display()
            ));
        }
        vec![here]
    } else {
        default_members.clone()
    };
    let (package, target) = choose_binary(&candidates, shown, bin)?;
    let main = target.src_path.strip_prefix(root).map_err(|_| {
        format!(
            "{} is outside the workspace at {}: the build context would not hold it",
            target.src_path.display(),
            root.display()
        )
    })?;
    let resolve = metadata.resolve.as_ref().ok_or("cargo metadata gave no resolved dependency graph")?;
    Ok(Crate {
        context: root.clone(),
        member,
        binary: target.name.clone(),
        main: main.to_path_buf(),
        rust_version: package.rust_version.clone(),
        license: package.license.clone(),
        description: package.description.as_ref().map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
        sys_crates: sys_crates(metadata, resolve, &default_members, package),
    })
}

/// The binary named `bin`, or the only one.
fn choose_binary<'a>(
    packages: &[&'a Package],
    shown: &Path,
    bin: Option<&str>,
) -> Result<(&'a Package, &'a Target), String> {
    let binaries: Vec<(&Package, &Target)> = packages
        .iter()
        .flat_map(|p| p.targets.iter().filter(|t| t.kind.iter().any(|k| k == "bin")).map(move |t| (*p, t)))
        .collect();
    let names = || binaries.iter().map(|(_, t)| t.name.as_str()).collect::<Vec<_>>().join(", ");
    match (bin, binaries.as_slice()) {
        (_, []) => Err(format!(
            "{} has no binary target: the Dockerfiles build a program (src/main.rs, src/bin/ or a [[bin]] section)",
            shown.display()
        )),
        (Some(bin), _) => binaries
            .iter()
            .find(|(_, t)| t.name == bin)
            .copied()
            .ok_or_else(|| format!("{} has no binary named {bin}; its binaries: {}", shown.display(), names())),
        (None, [only]) => Ok(*only),
        (None, _) => Err(format!("{} has several binaries: {}. Choose one with --bin NAME", shown.display(), names())),
    }
}

/// The `-sys` crates that `cargo build` at the root compiles, each marked
/// linked if `binary`'s package links it into its programs.
fn sys_crates(metadata: &Metadata, resolve: &Resolve, roots: &[&Package], binary: &Package) -> Vec<SysCrate> {
    let built = compiled(metadata, resolve, roots.iter().map(|p| p.id.as_str()));
    let linked = compiled(metadata, resolve, [binary.id.as_str()]);
    let mut crates: Vec<SysCrate> = resolve
        .nodes
        .iter()
        .filter(|node| built.contains_key(node.id.as_str()))
        .filter_map(|node| {
            let package = metadata.packages.iter().find(|p| p.id == node.id)?;
            is_sys(&package.name).then(|| SysCrate {
                name: package.name.clone(),
                features: node.features.clone(),
                linked: linked.get(node.id.as_str()) == Some(&true),
            })
        })
        .collect();
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    crates
}

/// Every package that building `roots` compiles, and whether it is linked
/// into their programs: dev-dependencies are never built, and what build
/// scripts and proc-macros use runs in the builder alone.
fn compiled<'a>(
    metadata: &'a Metadata,
    resolve: &'a Resolve,
    roots: impl IntoIterator<Item = &'a str>,
) -> HashMap<&'a str, bool> {
    let nodes: HashMap<&str, &Node> = resolve.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let proc_macro = |id: &str| metadata.packages.iter().any(|p| p.id == id && p.has_kind("proc-macro"));
    let mut found: HashMap<&str, bool> = HashMap::new();
    let mut next: Vec<(&str, bool)> = roots.into_iter().map(|id| (id, true)).collect();
    while let Some((id, linked)) = next.pop() {
        // Seen already, and as linked if this path links it.
        if found.get(id).is_some_and(|&known| known || !linked) {
            continue;
        }
        found.insert(id, linked);
        let passes_on = linked && !proc_macro(id);
        for dep in nodes.get(id).map_or(&[][..], |n| n.deps.as_slice()) {
            for kind in &dep.dep_kinds {
                match kind.kind.as_deref() {
                    None => next.push((&dep.pkg, passes_on)),
                    Some("build") => next.push((&dep.pkg, false)),
                    _ => {}
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ROOT: &str = "/src/app";

    fn package(name: &str, dir: &str, targets: &[(&str, &str, &str)], extra: Value) -> Value {
        let mut package = json!({
            "id": format!("{name}-id"),
            "name": name,
            "manifest_path": format!("{dir}/Cargo.toml"),
            "targets": targets.iter().map(|(kind, name, src)| json!({
                "name": name, "kind": [kind], "src_path": format!("{dir}/{src}")
            })).collect::<Vec<_>>(),
            "rust_version": null,
            "license": null,
            "description": null,
        });
        if let (Some(package), Some(extra)) = (package.as_object_mut(), extra.as_object()) {
            package.extend(extra.clone());
        }
        package
    }

    fn dep(pkg: &str, kind: Option<&str>) -> Value {
        json!({ "pkg": format!("{pkg}-id"), "dep_kinds": [{ "kind": kind, "target": null }] })
    }

    fn node(name: &str, deps: Vec<Value>, features: &[&str]) -> Value {
        json!({ "id": format!("{name}-id"), "deps": deps, "features": features })
    }

    /// A workspace: the `app` package at the root (binaries `app` and
    /// `admin`), a member `tool` (binary `tool`) that is not a default
    /// member, and crates.io dependencies with native code.
    fn metadata() -> Metadata {
        let library =
            |name: &str| package(name, &format!("/registry/{name}"), &[("lib", name, "src/lib.rs")], json!({}));
        let value = json!({
            "packages": [
                package("app", ROOT, &[("bin", "app", "src/main.rs"), ("bin", "admin", "src/bin/admin.rs")], json!({
                    "rust_version": "1.97", "license": "GPL-3.0-or-later",
                    "description": "An app\n   that does   things",
                })),
                package("tool", &format!("{ROOT}/tool"), &[("bin", "tool", "src/main.rs")], json!({})),
                library("openssl-sys"),
                library("libsqlite3-sys"),
                library("bindgen"),
                library("clang-sys"),
                package("derive", "/registry/derive", &[("proc-macro", "derive", "src/lib.rs")], json!({})),
                library("libz-sys"),
                library("pq-sys"),
                library("lzma-sys"),
            ],
            "workspace_members": ["app-id", "tool-id"],
            "workspace_default_members": ["app-id"],
            "workspace_root": ROOT,
            "resolve": { "nodes": [
                node("app", vec![
                    dep("openssl-sys", None), dep("libsqlite3-sys", None), dep("bindgen", Some("build")),
                    dep("derive", None), dep("pq-sys", Some("dev")),
                ], &[]),
                node("tool", vec![dep("lzma-sys", None)], &[]),
                node("openssl-sys", vec![], &[]),
                node("libsqlite3-sys", vec![], &["bundled", "bundled_bindings"]),
                node("bindgen", vec![dep("clang-sys", None)], &[]),
                node("clang-sys", vec![], &["runtime"]),
                node("derive", vec![dep("libz-sys", None)], &[]),
                node("libz-sys", vec![], &[]),
                node("pq-sys", vec![], &[]),
                node("lzma-sys", vec![], &[]),
            ]},
        });
        serde_json::from_value(value).expect("metadata in cargo's format")
    }

    fn read(dir: &str, bin: Option<&str>) -> Result<Crate, String> {
        from_metadata(&metadata(), Path::new(dir), Path::new("PATH"), bin)
    }

    #[test]
    fn the_binary_and_its_package_facts_are_read() {
        let krate = read(ROOT, Some("admin")).unwrap();
        assert_eq!((krate.binary.as_str(), krate.main.as_path()), ("admin", Path::new("src/bin/admin.rs")));
        assert_eq!((krate.context.as_path(), krate.member), (Path::new(ROOT), false));
        assert_eq!(krate.rust_version.as_deref(), Some("1.97"));
        assert_eq!(krate.license.as_deref(), Some("GPL-3.0-or-later"));
        assert_eq!(krate.description.as_deref(), Some("An app that does things"), "one line, for a label");
    }

    #[test]
    fn several_binaries_need_a_choice_and_a_wrong_one_is_named() {
        assert_eq!(read(ROOT, None).unwrap_err(), "PATH has several binaries: app, admin. Choose one with --bin NAME");
        assert_eq!(read(ROOT, Some("tool")).unwrap_err(), "PATH has no binary named tool; its binaries: app, admin");
    }

    #[test]
    fn a_member_that_the_root_build_leaves_out_is_refused() {
        let error = read(&format!("{ROOT}/tool"), None).unwrap_err();
        assert!(
            error.starts_with("tool is a member of the workspace at /src/app, but not a default member"),
            "{error}"
        );
    }

    #[test]
    fn a_crate_without_binaries_is_refused() {
        let mut metadata = metadata();
        metadata.packages[0].targets.retain(|t| t.kind != ["bin"]);
        let error = from_metadata(&metadata, Path::new(ROOT), Path::new("PATH"), None).unwrap_err();
        assert!(error.starts_with("PATH has no binary target"), "{error}");
    }

    /// Dev-dependencies are never built; what only build scripts and
    /// proc-macros use is built but not linked; other members count for the
    /// build only if the root's `cargo build` builds them.
    #[test]
    fn sys_crates_come_from_what_the_build_compiles_and_links() {
        let names = |crates: &[SysCrate]| crates.iter().map(|c| (c.name.clone(), c.linked)).collect::<Vec<_>>();
        let krate = read(ROOT, Some("app")).unwrap();
        assert_eq!(
            names(&krate.sys_crates),
            [
                ("clang-sys".to_string(), false),
                ("libsqlite3-sys".to_string(), true),
                ("libz-sys".to_string(), false),
                ("openssl-sys".to_string(), true),
            ]
        );
        let sqlite = krate.sys_crates.iter().find(|c| c.name == "libsqlite3-sys").unwrap();
        assert_eq!(sqlite.features, ["bundled", "bundled_bindings"]);
    }

    #[test]
    fn cargo_metadata_is_asked_for_this_linux_with_the_features() {
        let args = metadata_args(Path::new("/src/app"), Some("tls metrics"));
        assert_eq!(
            args[..6],
            ["metadata", "--format-version", "1", "--locked", "--manifest-path", "/src/app/Cargo.toml"]
        );
        assert_eq!(
            args[6..8],
            ["--filter-platform".to_string(), format!("{}-unknown-linux-gnu", std::env::consts::ARCH)]
        );
        assert_eq!(args[8..], ["--features", "tls metrics"]);
    }
}
