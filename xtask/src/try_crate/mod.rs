//! `cargo xtask try PATH`: the Dockerfiles proved on the user's own crate.
//! Each variant builds a temporary copy cold, runs, is checked for a
//! non-root user and a CA bundle, and rebuilds warm after a one-line edit,
//! timed against plain cargo; then a table, a recommendation and the
//! `docker build` command for this crate. PATH is only read, unless
//! `--write` asks for the Dockerfile to be put there.
//!
//! A PATH that is a member of a workspace is built from the workspace root,
//! as the Dockerfiles' `cargo build` must be: the root is the context (and
//! `--write`, which would write outside PATH, is refused).

mod metadata;
mod sys;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use howto_harness::variants::{CA_BUNDLE, PLATFORMS, declared_arg};
use howto_harness::{BuildOutput, CrateCopy, Docker, Runtime, TempImages, VARIANTS, Variant, repo_root};

use crate::measure::{self, PlainBuild, Progress, Target};
use crate::report::{self, Table};
use metadata::Crate;
use sys::Packages;

pub struct Options {
    pub path: PathBuf,
    pub bin: Option<String>,
    pub features: Option<String>,
    /// The variants to check; none: every one but simple.
    pub variants: Vec<&'static Variant>,
    pub write: bool,
    /// What the image runs with; none: `--version`.
    pub args: Vec<String>,
}

/// How long an image may run with the user's arguments.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// dependency-cache is recommended over a faster cache-mount up to this ratio.
const LAYERS_OVER_MOUNTS: f64 = 1.10;

pub fn run(options: &Options) -> Result<(), String> {
    // Everything that can be wrong with the input, before any Docker work.
    let krate = metadata::read(&options.path, options.bin.as_deref(), options.features.as_deref())?;
    let packages = Packages::of(&krate.sys_crates);
    let targets = targets(&options.variants)?;
    let mut chosen: Vec<&'static Variant> = targets.iter().map(|t| t.variant).collect();
    chosen.dedup_by_key(|v| v.name);
    let build_args: ArgsByVariant = chosen
        .iter()
        .map(|v| build_args(&krate, &packages, v, options.features.as_deref()).map(|args| (v.name, args)))
        .collect::<Result<Vec<_>, _>>()?;
    if options.write {
        writable(&krate, &chosen)?;
    }
    let notes = notes(&krate, &packages);
    for note in &notes {
        eprintln!("{note}");
    }
    let run_args = if options.args.is_empty() { vec!["--version".to_string()] } else { options.args.clone() };

    let mut progress = Progress::new(2 + 1 + targets.len() + 1);
    let (docker, _, _) = measure::prepare(&mut progress)?;
    let copy = context_copy(&krate.context)?;
    let main = krate.main.to_str().ok_or_else(|| format!("{} is not UTF-8", krate.main.display()))?;

    progress.step("the rebuild bound: plain cargo build with a warm target/, after the same edit …");
    let bound = rebuild_bound(&docker, &krate, &packages, options.features.as_deref());
    match &bound {
        Ok(secs) => progress.note(&format!("{secs:.1}s")),
        Err(e) => progress.note(&format!("failed: {e}")),
    }

    let trial = Trial { docker: &docker, copy: &copy, main, run_args: &run_args };
    let mut rows = Vec::new();
    for target in targets {
        progress.step(&step_name(target));
        let args: Vec<(&str, &str)> =
            args_of(&build_args, target.variant).iter().map(|(k, v)| (*k, v.as_str())).collect();
        rows.push(trial.check(target, &args, &progress));
    }

    progress.step("the report");
    let recommended = recommend(&rows);
    println!("{}", table(&rows, bound.as_ref().ok().copied()).to_text());
    println!("{}", report_text(&krate, &rows, &bound, &notes, recommended.as_ref(), &build_args, options.write)?);
    if options.write {
        let to_write = if chosen.len() == 1 { Some(chosen[0]) } else { recommended.map(|r| r.0) };
        println!("{}", write_chosen(&krate, &rows, to_write)?);
    }
    progress.finish();
    let failed: Vec<String> = rows.iter().filter(|r| r.failure.is_some()).map(|r| r.target.label()).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} of {} builds failed: {}", failed.len(), rows.len(), failed.join(", ")))
    }
}

/// The builds to check: each chosen variant (by default, every one but
/// simple) on this machine's platform; one built per platform
/// (multi-platform) on each of them only when named, since an image of the
/// other platform runs under qemu.
fn targets(chosen: &[&'static Variant]) -> Result<Vec<Target>, String> {
    let named = !chosen.is_empty();
    let variants: Vec<&'static Variant> =
        if named { chosen.to_vec() } else { VARIANTS.iter().filter(|v| v.name != "simple").collect() };
    let mut targets: Vec<Target> = Vec::new();
    for variant in variants {
        if targets.iter().any(|t| t.variant.name == variant.name) {
            continue;
        }
        let platforms = match variant.platforms {
            [] => vec![None],
            _ if named => variant.build_platforms(),
            _ => vec![Some(own_platform()?)],
        };
        targets.extend(platforms.into_iter().map(|platform| Target { variant, platform }));
    }
    Ok(targets)
}

/// The one of [`PLATFORMS`] that this machine runs natively.
fn own_platform() -> Result<&'static str, String> {
    let arch = std::env::consts::ARCH;
    PLATFORMS
        .iter()
        .copied()
        .find(|p| howto_harness::variants::machine(p).is_some_and(|m| m.uname == arch))
        .ok_or_else(|| format!("this machine ({arch}) is none of the platforms {}", PLATFORMS.join(", ")))
}

/// Each variant's build arguments, as `run` works them out for every chosen one.
type ArgsByVariant = Vec<(&'static str, Vec<(&'static str, String)>)>;

fn args_of<'a>(all: &'a ArgsByVariant, variant: &Variant) -> &'a [(&'static str, String)] {
    all.iter().find(|(name, _)| *name == variant.name).map_or(&[], |(_, args)| args.as_slice())
}

fn step_name(target: Target) -> String {
    let foreign = target.platform.is_some() && target.platform != own_platform().ok();
    let slow = if foreign { " (another platform: what runs in its image runs under qemu, slowly)" } else { "" };
    format!("{}{slow}: cold build, run, checks, warm rebuild after a one-line edit …", target.label())
}

/// The build arguments for `variant`, from Cargo.toml and the `-sys` table.
fn build_args(
    krate: &Crate,
    packages: &Packages,
    variant: &Variant,
    features: Option<&str>,
) -> Result<Vec<(&'static str, String)>, String> {
    let path = repo_root().join(variant.dockerfile());
    let dockerfile = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut args = vec![("APP_NAME", krate.binary.clone())];
    args.extend(packages.build_args(variant.runtime));
    if let Some(features) = features {
        if declared_arg(&dockerfile, "FEATURES").is_none() {
            return Err(format!(
                "{} takes no FEATURES build argument: it would build without --features",
                variant.dockerfile()
            ));
        }
        args.push(("FEATURES", features.to_string()));
    }
    args.extend(krate.license.clone().map(|license| ("LICENSE", license)));
    args.extend(krate.description.clone().map(|description| ("DESCRIPTION", description)));
    // A Dockerfile without the argument gets none: its build says what Rust it has.
    if let (Some(needed), Some(default)) = (&krate.rust_version, declared_arg(&dockerfile, "RUST_VERSION"))
        && newer(needed, &default)
    {
        args.push(("RUST_VERSION", needed.clone()));
    }
    Ok(args)
}

/// Whether version `a` is newer than `b` (`1.85.1` > `1.85` = `1.85.0`).
fn newer(a: &str, b: &str) -> bool {
    let parts = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    let (mut a, mut b) = (parts(a), parts(b));
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    a > b
}

/// Before the builds, whether `--write` could write one of `chosen`: never
/// outside PATH, never over a file that differs.
fn writable(krate: &Crate, chosen: &[&'static Variant]) -> Result<(), String> {
    if krate.member {
        return Err(format!(
            "--write puts the Dockerfile into PATH, but PATH is a member of the workspace at {}, the build \
             context: run again with that directory",
            krate.context.display()
        ));
    }
    let mut first_error = None;
    for variant in chosen {
        match write::check(&write::plan(&krate.context, variant)?) {
            Ok(_) => return Ok(()),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    Err(first_error.unwrap_or_else(|| "no variant to write".to_string()))
}

/// What the reader should know before the builds: the context, and the
/// packages the `-sys` crates get.
fn notes(krate: &Crate, packages: &Packages) -> Vec<String> {
    let mut notes = Vec::new();
    if krate.member {
        notes.push(format!(
            "PATH is a member of the workspace at {0}: the build context is {0}, as the Dockerfiles' cargo build needs",
            krate.context.display()
        ));
    }
    notes.extend(packages.found.iter().map(|found| format!("native library: {found}")));
    notes.extend(packages.unknown.iter().map(|name| {
        format!("unknown -sys crate {name}: if the build fails, pass its Debian package in BUILD_PACKAGES")
    }));
    notes
}

/// The build context, copied: what the crate's .dockerignore lets through
/// (target/ and .git left out without one), and the script the
/// multi-platform and static builders copy.
fn context_copy(context: &Path) -> Result<CrateCopy, String> {
    let copy = CrateCopy::of(context).map_err(|e| format!("copying {}: {e}", context.display()))?;
    copy.add_dir(&format!("{}/scripts", howto_harness::variants::CONTEXT), "scripts")
        .map_err(|e| format!("adding scripts/ to the copy of {}: {e}", context.display()))?;
    Ok(copy)
}

/// The crate's rebuild bound (see `measure::rebuild_bound`), in a copy of
/// its own with the same kind of edit as the warm rebuilds'.
fn rebuild_bound(docker: &Docker, krate: &Crate, packages: &Packages, features: Option<&str>) -> Result<f64, String> {
    let copy = CrateCopy::of(&krate.context).map_err(|e| format!("copying {}: {e}", krate.context.display()))?;
    let build = PlainBuild { packages: &packages.build.join(" "), features };
    let edit = || {
        copy.make_new_to_buildkit(&krate.main.to_string_lossy())
            .map_err(|e| format!("editing {} in the copy: {e}", krate.main.display()))
    };
    measure::rebuild_bound(docker, copy.path(), &build, edit)
}

/// What one build target showed; what it did not reach is `None`.
struct Row {
    target: Target,
    size: Option<u64>,
    cold: Option<f64>,
    warm: Option<f64>,
    /// The crates cargo compiled in the warm rebuild.
    recompiled: Option<Vec<String>>,
    /// What failed, with its details.
    failure: Option<String>,
}

/// What every build target is checked with.
struct Trial<'a> {
    docker: &'a Docker,
    copy: &'a CrateCopy,
    /// The binary's main source in the copy: the one-line edit goes there.
    main: &'a str,
    run_args: &'a [String],
}

impl Trial<'_> {
    fn check(&self, target: Target, build_args: &[(&str, &str)], progress: &Progress) -> Row {
        let mut row = Row { target, size: None, cold: None, warm: None, recompiled: None, failure: None };
        if let Err(e) = self.check_into(&mut row, build_args, progress) {
            progress.note("FAILED");
            row.failure = Some(e);
        }
        row
    }

    /// Fills `row` as each check passes; the first to fail ends it.
    fn check_into(&self, row: &mut Row, build_args: &[(&str, &str)], progress: &Progress) -> Result<(), String> {
        let (docker, target) = (self.docker, row.target);
        let mut images = TempImages::new(docker);
        let tag = images.tag(&format!("try-{}", target.variant.name));
        let cold = measure::cold_build(docker, target, target.build(self.copy.path(), &tag, build_args))
            .map_err(|e| format!("the cold build failed: {e}"))?;
        row.cold = Some(report::seconds(cold.elapsed));
        progress.note(&format!("cold build: {:.1}s", cold.elapsed.as_secs_f64()));

        run_image(docker, &tag, target.platform, self.run_args)?;
        not_root(&docker.inspect(&tag).map_err(|e| e.to_string())?.user)?;
        if target.variant.runtime != Runtime::Toolchain {
            has_ca_bundle(docker, &tag)?;
        }
        let size = docker.image_size(&tag).map_err(|e| e.to_string())?;
        row.size = Some(size);
        progress.note(&format!(
            "ran with {}, not as root, {}{} MB",
            self.run_args.join(" "),
            if target.variant.runtime == Runtime::Toolchain { "" } else { "CA bundle, " },
            report::format_mb(report::megabytes(size))
        ));

        self.copy.make_new_to_buildkit(self.main).map_err(|e| format!("editing {} in the copy: {e}", self.main))?;
        let warm_tag = images.tag(&format!("try-{}-warm", target.variant.name));
        let warm = docker
            .build(&target.build(self.copy.path(), &warm_tag, build_args))
            .map_err(|e| format!("the warm rebuild after a one-line edit failed: {e}"))?;
        let recompiled = recompiled(&warm);
        progress.note(&format!(
            "warm rebuild: {:.1}s, recompiled {}",
            warm.elapsed.as_secs_f64(),
            recompiled.join(" ")
        ));
        row.warm = Some(report::seconds(warm.elapsed));
        row.recompiled = Some(recompiled);
        Ok(())
    }
}

/// What cargo compiled in a build, from its `Compiling` lines.
fn recompiled(build: &BuildOutput) -> Vec<String> {
    build.log.cargo_build().map_or_else(Vec::new, |step| step.compiled().into_iter().map(|c| c.name).collect())
}

/// Runs the image with the user's arguments: it must exit 0. A program
/// that goes on running (a server that takes no `--version`) is stopped
/// and removed after [`RUN_TIMEOUT`].
fn run_image(docker: &Docker, tag: &str, platform: Option<&str>, args: &[String]) -> Result<(), String> {
    let name = format!("rch-try-{}", howto_harness::nonce());
    let mut all = vec!["run", "--rm", "--name", &name];
    all.extend(docker.network_options());
    if let Some(platform) = platform {
        all.extend(["--platform", platform]);
    }
    all.push(tag);
    all.extend(args.iter().map(String::as_str));
    let shown = format!("docker run IMAGE {}", args.join(" "));
    let ran = docker.run_container(&all, RUN_TIMEOUT).map_err(|e| {
        let _ = docker.output(&["rm", "--force", &name], Duration::from_secs(60));
        format!("{shown} did not end: {e}")
    })?;
    if ran.status.success() {
        return Ok(());
    }
    Err(format!(
        "{shown} failed ({}), where 0 was expected (choose the arguments after --); it printed:\n{}",
        ran.status,
        howto_harness::process::tail(&ran, 20)
    ))
}

/// The image's configured user must not be root: not empty (which means
/// root), not `0` or `root`, with or without a group.
fn not_root(user: &str) -> Result<(), String> {
    let name = user.split(':').next().unwrap_or_default();
    if name.is_empty() || name == "0" || name == "root" {
        return Err(format!(
            "the image runs as root (its configured user is {user:?}): the Dockerfiles' USER 10001:10001 is missing"
        ));
    }
    Ok(())
}

fn has_ca_bundle(docker: &Docker, tag: &str) -> Result<(), String> {
    let bundle = docker.read_file(tag, CA_BUNDLE).map_err(|e| format!("no CA bundle at {CA_BUNDLE}: {e}"))?;
    if !String::from_utf8_lossy(&bundle).contains("BEGIN CERTIFICATE") {
        return Err(format!("{CA_BUNDLE} in the image holds no certificate"));
    }
    Ok(())
}

fn table(rows: &[Row], bound: Option<f64>) -> Table {
    let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "–".to_string());
    Table {
        headers: vec!["variant", "image (MB)", "cold (s)", "warm (s)", "recompiled", "warm / bound", "result"],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    row.target.label(),
                    or_dash(row.size.map(|bytes| report::format_mb(report::megabytes(bytes)))),
                    or_dash(row.cold.map(report::format_seconds)),
                    or_dash(row.warm.map(report::format_seconds)),
                    or_dash(row.recompiled.as_deref().map(shown_crates)),
                    or_dash(row.warm.zip(bound.filter(|b| *b > 0.0)).map(|(warm, b)| format!("{:.2}×", warm / b))),
                    if row.failure.is_some() { "FAILED" } else { "ok" }.to_string(),
                ]
            })
            .collect(),
    }
}

/// `3: a, b, c, …`: how many crates, and the first few.
fn shown_crates(names: &[String]) -> String {
    const SHOWN: usize = 3;
    if names.is_empty() {
        return "0".to_string();
    }
    let more = if names.len() > SHOWN { ", …" } else { "" };
    format!("{}: {}{more}", names.len(), names[..names.len().min(SHOWN)].join(", "))
}

/// The variant to use, and why in one line: of the variants whose every
/// build passed, the fastest warm rebuild on this machine's platform; but
/// dependency-cache over a cache-mount that is at most 10% faster, since
/// layers are a cache CI can carry from one runner to the next.
fn recommend(rows: &[Row]) -> Option<(&'static Variant, String)> {
    let own = own_platform().ok();
    let all_passed = |v: &Variant| rows.iter().filter(|r| r.target.variant.name == v.name).all(|r| r.failure.is_none());
    let candidates: Vec<(&'static Variant, f64)> = rows
        .iter()
        .filter(|r| r.target.platform.is_none() || r.target.platform == own)
        .filter(|r| all_passed(r.target.variant))
        .filter_map(|r| Some((r.target.variant, r.warm?)))
        .collect();
    let (best, best_warm) = candidates.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let layers = candidates.iter().find(|(v, _)| v.name == "dependency-cache");
    if best.name == "cache-mount"
        && let Some(&(variant, warm)) = layers.filter(|(_, warm)| *warm <= best_warm * LAYERS_OVER_MOUNTS)
    {
        let why = format!(
            "{}: its warm rebuild ({warm:.1} s) is within 10% of cache-mount's ({best_warm:.1} s), and its cache is \
             image layers, which CI can export and import (--cache-to, --cache-from); cache mounts stay in the \
             builder that made them.",
            variant.name
        );
        return Some((variant, why));
    }
    Some((best, format!("{}: the fastest warm rebuild of the variants that passed ({best_warm:.1} s).", best.name)))
}

/// The `docker build` commands that build `variant` in the crate, one per
/// platform, run in the build context with the Dockerfile there as
/// `Dockerfile`, each argument quoted for the shell where it needs it.
fn build_commands(krate: &Crate, variant: &Variant, args: &[(&str, String)]) -> Vec<String> {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let image = krate.binary.to_lowercase();
    variant
        .build_platforms()
        .into_iter()
        .map(|platform| {
            let tag = platform.map_or(image.clone(), |p| format!("{image}:{}", howto_harness::variants::arch(p)));
            let mut build = variant.build(Path::new("."), &tag, platform, &args);
            build.dockerfile = PathBuf::from("Dockerfile");
            build.command_line()
        })
        .collect()
}

/// Everything under the table: the bound, the notes, each failure, the
/// recommendation with its command, and how to take the Dockerfile.
fn report_text(
    krate: &Crate,
    rows: &[Row],
    bound: &Result<f64, String>,
    notes: &[String],
    recommended: Option<&(&'static Variant, String)>,
    build_args: &ArgsByVariant,
    writing: bool,
) -> Result<String, String> {
    let mut lines = vec![match bound {
        Ok(secs) => format!(
            "bound: {secs:.1} s, plain `cargo build --release --locked` with a warm target/ after the same edit, \
             in the builder image"
        ),
        Err(e) => format!("bound: not measured: {e}"),
    }];
    lines.extend(notes.iter().cloned());
    for row in rows {
        if let Some(failure) = &row.failure {
            lines.push(format!("\n{}: FAILED: {failure}", row.target.label()));
        }
    }
    let Some((variant, why)) = recommended else {
        lines.push("\nNo variant passed: nothing to recommend.".to_string());
        return Ok(lines.join("\n"));
    };
    lines.push(format!("\nRecommended: {why}"));
    lines.push(format!("Build it in {}:", krate.context.display()));
    let commands = build_commands(krate, variant, args_of(build_args, variant));
    lines.extend(commands.into_iter().map(|c| format!("  {c}")));
    if !writing {
        let files: Vec<String> = write::plan(&krate.context, variant)?
            .iter()
            .map(|f| {
                format!(
                    "{} as {}",
                    f.source.display(),
                    f.dest.strip_prefix(&krate.context).unwrap_or(&f.dest).display()
                )
            })
            .collect();
        lines.push(format!(
            "To use it, copy into {}: {}; or run again with --write.",
            krate.context.display(),
            files.join(", ")
        ));
    }
    Ok(lines.join("\n"))
}

/// `--write`: `variant` into the crate, if all its builds passed.
fn write_chosen(krate: &Crate, rows: &[Row], variant: Option<&'static Variant>) -> Result<String, String> {
    let Some(variant) = variant else {
        return Ok("--write: nothing written, since no variant passed".to_string());
    };
    if rows.iter().any(|r| r.target.variant.name == variant.name && r.failure.is_some()) {
        return Ok(format!("--write: nothing written, since {} failed", variant.name));
    }
    let written = write::write(&write::plan(&krate.context, variant)?)?;
    if written.is_empty() {
        return Ok(format!("--write: {} is there already, with what it needs", variant.name));
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    Ok(format!("--write: wrote {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sys::SysCrate;

    fn krate() -> Crate {
        Crate {
            context: PathBuf::from("/src/app"),
            member: false,
            binary: "App".to_string(),
            main: PathBuf::from("src/main.rs"),
            rust_version: Some("1.99".to_string()),
            license: Some("MIT OR Apache-2.0".to_string()),
            description: Some("It's an app: $HOME".to_string()),
            sys_crates: vec![SysCrate { name: "openssl-sys".into(), features: vec![], linked: true }],
        }
    }

    fn variant(name: &str) -> &'static Variant {
        Variant::named(name).expect(name)
    }

    fn row(name: &str, platform: Option<&'static str>, warm: Option<f64>, failure: Option<&str>) -> Row {
        Row {
            target: Target { variant: variant(name), platform },
            size: warm.map(|_| 79_400_000),
            cold: warm.map(|w| w * 10.0),
            warm,
            recompiled: warm.map(|_| vec!["app".to_string()]),
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn versions_compare_by_number() {
        assert!(newer("1.97", "1.96") && newer("1.100", "1.96") && newer("1.96.1", "1.96"));
        assert!(!newer("1.96", "1.96") && !newer("1.96.0", "1.96") && !newer("1.85", "1.96"));
    }

    /// The build arguments the Dockerfile in this repository takes, whether
    /// or not it has `RUST_VERSION` and `FEATURES` yet.
    #[test]
    fn build_arguments_come_from_cargo_toml_and_the_sys_table() {
        let krate = krate();
        let packages = Packages::of(&krate.sys_crates);
        let dockerfile = std::fs::read_to_string(repo_root().join(variant("static").dockerfile())).unwrap();
        let args = build_args(&krate, &packages, variant("static"), None).unwrap();
        let value = |key: &str| args.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str());
        assert_eq!(value("APP_NAME"), Some("App"));
        assert_eq!(value("BUILD_PACKAGES"), Some("libssl-dev pkg-config libzstd-dev zlib1g-dev"));
        assert_eq!(value("RUNTIME_PACKAGES"), None, "a static binary has no runtime packages");
        assert_eq!(value("LICENSE"), Some("MIT OR Apache-2.0"));
        assert_eq!(value("DESCRIPTION"), Some("It's an app: $HOME"));
        let has_rust_version = declared_arg(&dockerfile, "RUST_VERSION").is_some();
        assert_eq!(value("RUST_VERSION"), has_rust_version.then_some("1.99"));
        let with_features = build_args(&krate, &packages, variant("static"), Some("tls"));
        match declared_arg(&dockerfile, "FEATURES") {
            Some(_) => assert!(with_features.unwrap().contains(&("FEATURES", "tls".to_string()))),
            None => assert!(with_features.unwrap_err().contains("takes no FEATURES build argument")),
        }
    }

    #[test]
    fn the_recommended_command_is_ready_to_paste() {
        let args = vec![
            ("APP_NAME", "App".to_string()),
            ("BUILD_PACKAGES", "libssl-dev pkg-config".to_string()),
            ("DESCRIPTION", "It's an app: $HOME".to_string()),
        ];
        assert_eq!(
            build_commands(&krate(), variant("dependency-cache"), &args),
            [
                "docker build -f Dockerfile --build-arg APP_NAME=App --build-arg BUILD_PACKAGES=\"libssl-dev pkg-config\" \
              --build-arg DESCRIPTION=\"It's an app: \\$HOME\" -t app ."
            ]
        );
        let per_platform = build_commands(&krate(), variant("multi-platform"), &args[..1]);
        assert_eq!(
            per_platform,
            [
                "docker build --platform linux/amd64 -f Dockerfile --build-arg APP_NAME=App -t app:amd64 .",
                "docker build --platform linux/arm64 -f Dockerfile --build-arg APP_NAME=App -t app:arm64 ."
            ]
        );
    }

    #[test]
    fn by_default_every_variant_but_simple_on_this_machines_platform() {
        let labels = |targets: Vec<Target>| targets.iter().map(Target::label).collect::<Vec<_>>();
        let own = Some(own_platform().unwrap());
        let expected = VARIANTS
            .iter()
            .filter(|v| v.name != "simple")
            .map(|variant| Target { variant, platform: if variant.platforms.is_empty() { None } else { own } }.label());
        assert_eq!(labels(targets(&[]).unwrap()), expected.collect::<Vec<_>>());
        assert!(labels(targets(&[]).unwrap()).iter().any(|l| l.starts_with("multi-platform (")));
        let named = targets(&[variant("multi-platform"), variant("simple"), variant("multi-platform")]).unwrap();
        assert_eq!(labels(named), ["multi-platform (amd64)", "multi-platform (arm64)", "simple"]);
    }

    #[test]
    fn the_fastest_passing_variant_is_recommended_but_layers_win_a_near_tie() {
        let name = |rows: &[Row]| recommend(rows).map(|(v, _)| v.name);
        let rows = [
            row("multistage", None, Some(40.0), None),
            row("dependency-cache", None, Some(10.5), None),
            row("cache-mount", None, Some(10.0), None),
        ];
        assert_eq!(name(&rows), Some("dependency-cache"));
        assert!(recommend(&rows).unwrap().1.contains("within 10% of cache-mount's (10.0 s)"));
        let rows = [row("dependency-cache", None, Some(12.0), None), row("cache-mount", None, Some(10.0), None)];
        assert_eq!(name(&rows), Some("cache-mount"));
        let rows =
            [row("static", None, Some(9.0), Some("the cold build failed")), row("multistage", None, Some(40.0), None)];
        assert_eq!(name(&rows), Some("multistage"));
        assert_eq!(name(&[row("static", None, None, Some("the cold build failed"))]), None);
        // A variant counts only if it passed on every platform it was built for.
        let own = own_platform().unwrap();
        let other = PLATFORMS.iter().copied().find(|p| *p != own);
        let rows = [
            row("multi-platform", Some(own), Some(5.0), None),
            row("multi-platform", other, None, Some("qemu")),
            row("multistage", None, Some(40.0), None),
        ];
        assert_eq!(name(&rows), Some("multistage"));
    }

    #[test]
    fn the_table_shows_what_each_build_reached() {
        let rows = [
            row("dependency-cache", None, Some(10.0), None),
            Row { cold: Some(80.0), ..row("static", None, None, Some("the image exited 2")) },
        ];
        let text = table(&rows, Some(4.0)).to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "variant           image (MB)  cold (s)  warm (s)  recompiled  warm / bound  result");
        assert_eq!(lines[2], "dependency-cache        79.4     100.0      10.0  1: app             2.50×  ok");
        assert_eq!(lines[3], "static                     –      80.0         –  –                      –  FAILED");
        assert_eq!(shown_crates(&["a".into(), "b".into(), "c".into(), "d".into()]), "4: a, b, c, …");
    }

    #[test]
    fn only_a_numeric_or_named_non_root_user_passes() {
        for user in ["10001:10001", "10001", "app", "app:app"] {
            assert!(not_root(user).is_ok(), "{user}");
        }
        for user in ["", "0", "0:0", "root", "root:root"] {
            assert!(not_root(user).unwrap_err().contains("runs as root"), "{user:?}");
        }
    }
}
