//! What the demo and the benchmark both do: build a variant cold, edit one
//! line, rebuild it warm, and clean up every image made along the way.

use std::path::Path;
use std::time::Duration;

use howto_harness::inspect::BaseImages;
use howto_harness::{Binary, Build, BuildLog, BuildOutput, CrateCopy, Docker, Rebuild, Variant, shell_word, temporary};

pub use crate::progress::Progress;

/// One image a variant is built into: the variant on one platform (`None`:
/// the machine's own).
#[derive(Clone, Copy)]
pub struct Target {
    pub variant: &'static Variant,
    pub platform: Option<&'static str>,
}

impl Target {
    /// Every variant on every platform it is built for, in the table's order.
    pub fn all() -> Vec<Target> {
        howto_harness::variants::builds().map(|(variant, platform)| Target { variant, platform }).collect()
    }

    /// `multistage`, or `multi-platform (arm64)`.
    pub fn label(&self) -> String {
        match self.platform {
            Some(p) => format!("{} ({})", self.variant.name, howto_harness::variants::arch(p)),
            None => self.variant.name.to_string(),
        }
    }

    /// The tag the HOWTO gives this image: `my-project:multistage`.
    pub fn tag(&self) -> String {
        self.variant.tag(self.platform)
    }

    /// A build of this target from `context` into `tag`.
    pub fn build(&self, context: &Path, tag: &str, build_args: &[(&str, &str)]) -> Build {
        self.variant.build(context, tag, self.platform, build_args)
    }
}

/// The first two steps of every run: the set-up (tools, engine, base images;
/// quick when all is there), then the engine it leaves. Returns the engine,
/// its version, and whether the base images are the official ones.
pub fn prepare(progress: &mut Progress) -> Result<(Docker, String, BaseImages), String> {
    progress.step("set-up: tools, Docker Engine, base images (scripts/provision.sh)");
    howto_harness::provision_with(&mut |line| progress.println(line))?;

    progress.step("checking the Docker engine and the base images");
    let docker = Docker::connect(temporary::run_label()).map_err(|e| e.to_string())?;
    let engine_version = docker.engine_version().map_err(|e| e.to_string())?;
    let base_images = base_images(&docker)?;
    progress.note(&format!("{}, engine {engine_version}, base images: {}", docker.describe(), base_images.describe()));
    temporary::sweep_leftovers_once(&docker);
    Ok((docker, engine_version, base_images))
}

/// Official or stand-ins: the labels of every base image the Dockerfiles
/// name (as scripts/base-images.sh lists them), as the engine has them now.
fn base_images(docker: &Docker) -> Result<BaseImages, String> {
    let images = howto_harness::base_images()?;
    let mut labels = Vec::new();
    for image in &images {
        // BuildKit keeps the images it builds from out of the engine's list:
        // pull one that is not there (from the offline mirror, in offline mode).
        if docker.inspect(image).is_err() {
            docker.output(&["pull", "-q", image], Duration::from_secs(600)).map_err(|e| e.to_string())?;
        }
        labels.push(docker.inspect(image).map_err(|e| format!("base image {image}: {e}"))?.labels);
    }
    BaseImages::from_labels(&labels).ok_or_else(|| "scripts/base-images.sh --list named no base image".to_string())
}

/// A build with no layer cache and, for the variant that keeps cargo's
/// caches in BuildKit cache mounts, no cache mounts either: what a fresh
/// machine (or CI runner) pays.
pub fn cold_build(docker: &Docker, target: Target, build: Build) -> Result<BuildOutput, String> {
    if target.variant.rebuild == Rebuild::CacheMount {
        prune_cache_mounts(docker)?;
    }
    docker.build(&build.no_cache()).map_err(|e| e.to_string())
}

/// `docker builder prune` for cache mounts only. The classic image store
/// keeps every other layer; with the containerd store the next build of any
/// variant misses every step (docs/setup.md), which no measurement relies on:
/// each warm rebuild follows its own variant's cold build.
fn prune_cache_mounts(docker: &Docker) -> Result<(), String> {
    docker.prune_build_cache(&["--filter", "type=exec.cachemount"]).map(drop).map_err(|e| e.to_string())
}

/// Removes the image `id` if no tag names it any more, as happens to the
/// image a tag pointed to before a rebuild: without this, every demo run
/// would leave a 1.6 GB untagged simple image behind. Best effort: an image
/// a container still uses stays.
pub fn remove_if_untagged(docker: &Docker, id: &str) {
    let tags = docker.output(&["image", "inspect", "--format", "{{len .RepoTags}}", id], Duration::from_secs(30));
    if tags.is_ok_and(|count| count == "0") {
        let _ = docker.output(&["image", "rm", id], Duration::from_secs(120));
    }
}

/// What a plain `cargo build` of a crate needs beyond the builder image.
#[derive(Default)]
pub struct PlainBuild<'a> {
    /// Debian packages its `-sys` crates need, as BUILD_PACKAGES lists them.
    pub packages: &'a str,
    /// Cargo features, as `--features` takes them.
    pub features: Option<&'a str>,
}

/// The least a rebuild after a one-line edit can cost: plain
/// `cargo build --release --locked` with a warm target/ (no Docker layers, no
/// cache to restore), in the builder image that multistage uses, timed inside
/// the container. `dir` is a scratch copy of the crate: a warm-up build fills
/// its target/, then `edit` changes it, then the timed build runs.
pub fn rebuild_bound(
    docker: &Docker,
    dir: &Path,
    build: &PlainBuild,
    edit: impl FnOnce() -> Result<(), String>,
) -> Result<f64, String> {
    let image = Variant::named("multistage").ok_or("no multistage variant")?.builder_image()?;
    let cargo_home = tempfile::tempdir().map_err(|e| format!("a temporary CARGO_HOME: {e}"))?;
    let owner = format!("{}:{}", user_id("-u")?, user_id("-g")?);
    let features = build.features.map_or(String::new(), |f| format!(" --features {}", shell_word(f)));
    let cargo_build = format!("cargo build --release --locked --quiet{features}");
    let cargo = |script: &str| {
        let (user, script) = as_owner(script, build.packages, &owner);
        let volumes = [format!("{}:/src", dir.display()), format!("{}:/cargo", cargo_home.path().display())];
        let mut args = vec!["run", "--rm"];
        args.extend(docker.network_options());
        args.extend([
            "--user",
            &user,
            "-e",
            "CARGO_HOME=/cargo",
            "-v",
            &volumes[0],
            "-v",
            &volumes[1],
            "-w",
            "/src",
            &image,
            "sh",
            "-c",
            &script,
        ]);
        docker.output(&args, Duration::from_secs(30 * 60)).map_err(|e| e.to_string())
    };
    cargo(&cargo_build)?;
    edit()?;
    let nanos = cargo(&format!("start=$(date +%s%N) && {cargo_build} && echo $(( $(date +%s%N) - start ))"))?;
    let nanos: f64 = nanos.trim().parse().map_err(|_| format!("the timed build printed {nanos:?}"))?;
    Ok(nanos / 1e9)
}

/// The user a bound's container runs as, and its script. The builds write
/// into the scratch copy as `owner`, the user who runs xtask, so that the
/// copy can be removed afterwards; packages need root to install, so then
/// the script runs as root and gives the files back to `owner` at the end.
fn as_owner(script: &str, packages: &str, owner: &str) -> (String, String) {
    if packages.is_empty() {
        return (owner.to_string(), script.to_string());
    }
    let install = format!("apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends {packages} >&2");
    ("0:0".to_string(), format!("{install} && {script}; status=$?; chown -R {owner} /src /cargo; exit $status"))
}

/// `id -u` or `id -g`.
fn user_id(flag: &str) -> Result<String, String> {
    duct::cmd!("id", flag).read().map_err(|e| format!("id {flag}: {e}"))
}

/// The HOWTO's one-line edit in a scratch copy (see `CrateCopy::edit_greeting`).
pub fn edit_greeting(copy: &CrateCopy, binary: &Binary, greeting: &str) -> Result<(), String> {
    copy.edit_greeting(binary.main, greeting).map_err(|e| format!("editing the scratch copy's {}: {e}", binary.main))
}

/// Runs an image and checks that it printed what it should: a measurement
/// of a build that does not do what the HOWTO says is worth nothing.
pub fn run_and_check(docker: &Docker, tag: &str, target: Target, expected: &str) -> Result<String, String> {
    let output = docker.run(tag, target.platform, &[]).map_err(|e| e.to_string())?;
    if output != expected {
        return Err(format!("{tag} printed {output:?}, expected {expected:?}"));
    }
    Ok(output)
}

/// The lines of a BuildKit plain-progress log that name Dockerfile steps,
/// in the order the steps started: each `#N [stage i/n] …` header once, with
/// its `#N CACHED` right under it if the step was cached (BuildKit may print
/// that much later). Long lines are shortened so a reader sees at a glance
/// which steps ran again.
pub fn step_lines(log: &str) -> String {
    let mut lines = Vec::new();
    for step in BuildLog(log.to_string()).steps() {
        lines.push(shorten(&abbreviate_digest(&format!("#{} {}", step.number, step.name)), 120));
        if step.cached {
            lines.push(format!("#{} CACHED", step.number));
        }
    }
    lines.join("\n")
}

/// `sha256:<64 hex digits>` -> `sha256:<first 12>…`, as docker abbreviates
/// image ids: the pin is still visible, the line stays readable.
pub fn abbreviate_digest(line: &str) -> String {
    const MARK: &str = "sha256:";
    match line.find(MARK) {
        Some(at) => {
            let start = at + MARK.len();
            let hex = line[start..].chars().take_while(char::is_ascii_hexdigit).count();
            if hex > 12 { format!("{}…{}", &line[..start + 12], &line[start + hex..]) } else { line.to_string() }
        }
        None => line.to_string(),
    }
}

/// At most `max` characters: the start and the end of a long line, which
/// say what the step is (`RUN --mount=…`) and what it runs (`cargo build …`).
fn shorten(line: &str, max: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= max {
        return line.to_string();
    }
    let head = max * 2 / 3;
    let tail = max - head - 3;
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{} … {}", start.trim_end(), end.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "#1 [internal] load build definition from Dockerfile.multistage\n\
        #1 DONE 0.0s\n\
        #5 [builder 1/4] FROM docker.io/library/rust:1.96-slim-trixie@sha256:d9d74752790d5d0aa0b5f09ccd506fef4919ad7c757d757bc7e1808e8ea2d551\n\
        #6 [builder 2/4] WORKDIR /usr/src/app\n\
        #6 CACHED\n\
        #8 [builder 3/4] COPY . .\n\
        #8 DONE 0.1s\n\
        #9 [builder 4/4] RUN cargo build --release --locked\n\
        #9 0.512 Compiling my-project v0.1.0 (/usr/src/app)\n\
        #9 [builder 4/4] RUN cargo build --release --locked\n\
        #9 DONE 2.3s\n\
        #5 [builder 1/4] FROM docker.io/library/rust:1.96-slim-trixie@sha256:d9d74752790d5d0aa0b5f09ccd506fef4919ad7c757d757bc7e1808e8ea2d551\n\
        #5 CACHED\n";

    #[test]
    fn step_lines_keep_headers_once_and_cached_marks() {
        assert_eq!(
            step_lines(LOG),
            "#5 [builder 1/4] FROM docker.io/library/rust:1.96-slim-trixie@sha256:d9d74752790d…\n\
             #5 CACHED\n\
             #6 [builder 2/4] WORKDIR /usr/src/app\n\
             #6 CACHED\n\
             #8 [builder 3/4] COPY . .\n\
             #9 [builder 4/4] RUN cargo build --release --locked"
        );
    }

    #[test]
    fn a_bound_that_installs_packages_runs_as_root_and_gives_the_files_back() {
        let build = "cargo build --release --locked";
        assert_eq!(as_owner(build, "", "1000:1000"), ("1000:1000".to_string(), build.to_string()));
        let (user, script) = as_owner(build, "libssl-dev pkg-config", "1000:1000");
        assert_eq!(user, "0:0");
        assert!(script.contains("--no-install-recommends libssl-dev pkg-config >&2 && cargo build"), "{script}");
        assert!(script.ends_with("; status=$?; chown -R 1000:1000 /src /cargo; exit $status"), "{script}");
    }

    #[test]
    fn long_lines_keep_their_start_and_end() {
        let line = format!("#9 [builder 1/2] RUN --mount=type=cache,{} cargo build --release", "x".repeat(200));
        let short = shorten(&line, 120);
        assert!(short.chars().count() <= 120, "{short}");
        assert!(short.starts_with("#9 [builder 1/2] RUN --mount=type=cache,"));
        assert!(short.ends_with("cargo build --release"));
        assert!(short.contains(" … "));
    }
}
