//! Every call this project makes to Docker goes through here: build, run,
//! inspect, list files, remove. Each has a timeout, and a failed build says
//! what it ran and ends with the tail of the build log.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::repo_root;

/// How many lines of a build log a failure message shows.
const LOG_TAIL_LINES: usize = 40;

/// Something Docker did not do, with enough context to act on.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// A docker client that can run BuildKit builds, and a daemon that answers.
#[derive(Debug, Clone)]
pub struct Docker {
    cli: PathBuf,
    /// Pre-23 clients build with BuildKit only when DOCKER_BUILDKIT=1.
    needs_buildkit_env: bool,
}

impl Docker {
    /// The engine shared by a whole test run: picked and checked once.
    pub fn shared() -> Result<&'static Docker> {
        static SHARED: OnceLock<std::result::Result<Docker, String>> = OnceLock::new();
        SHARED.get_or_init(|| Docker::connect().map_err(|e| e.0)).as_ref().map_err(|e| error(e.clone()))
    }

    /// Picks a client as scripts/lib.sh does (one with buildx, else a pre-23
    /// one with DOCKER_BUILDKIT=1; `DOCKER` overrides) and checks that the
    /// daemon answers.
    pub fn connect() -> Result<Docker> {
        let candidates: Vec<PathBuf> = match std::env::var_os("DOCKER") {
            Some(cli) => vec![cli.into()],
            None => vec!["docker".into(), "/usr/bin/docker".into()],
        };
        let docker = candidates.iter().find_map(|cli| Docker::probe(cli)).ok_or_else(|| {
            error(format!(
                "no docker client here can run BuildKit builds (tried {}).\n\
                     Install buildx, or a docker client older than 23 (Debian's docker.io), \
                     or set DOCKER=/path/to/docker. On Debian/Ubuntu as root, scripts/provision.sh installs one.",
                candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        docker.engine_version().map_err(|e| {
            error(format!(
                "the Docker daemon does not answer ({e}).\n\
                     On Debian/Ubuntu as root, scripts/provision.sh starts one; \
                     elsewhere start Docker Desktop or `dockerd`."
            ))
        })?;
        Ok(docker)
    }

    fn probe(cli: &Path) -> Option<Docker> {
        let quiet = |args: &[&str]| duct::cmd(cli, args).stdout_capture().stderr_capture().unchecked().run().ok();
        if quiet(&["buildx", "version"]).is_some_and(|o| o.status.success()) {
            return Some(Docker { cli: cli.into(), needs_buildkit_env: false });
        }
        let version = quiet(&["--version"]).filter(|o| o.status.success())?;
        let major: u32 = String::from_utf8_lossy(&version.stdout)
            .strip_prefix("Docker version ")?
            .split('.')
            .next()?
            .parse()
            .ok()?;
        (major < 23).then(|| Docker { cli: cli.into(), needs_buildkit_env: true })
    }

    /// What is used, for messages and reports.
    pub fn describe(&self) -> String {
        let how = if self.needs_buildkit_env { "DOCKER_BUILDKIT=1" } else { "buildx" };
        format!("{} (BuildKit via {how})", self.cli.display())
    }

    /// The engine's version, e.g. `20.10.24+dfsg1`.
    pub fn engine_version(&self) -> Result<String> {
        self.output(&["version", "--format", "{{.Server.Version}}"], Duration::from_secs(20))
    }

    /// A docker command with this client's environment, for callers that
    /// need one this module has no helper for.
    pub fn cmd<I, S>(&self, args: I) -> duct::Expression
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        let expression = duct::cmd(&self.cli, args);
        if self.needs_buildkit_env { expression.env("DOCKER_BUILDKIT", "1") } else { expression }
    }

    /// Runs `docker ARGS`, returns its trimmed stdout, or fails with its stderr.
    pub fn output(&self, args: &[&str], timeout: Duration) -> Result<String> {
        let run = run_with_timeout(self.cmd(args).stdout_capture().stderr_capture(), timeout)
            .map_err(|e| error(format!("docker {}: {e}", args.join(" "))))?;
        if !run.status.success() {
            return Err(error(format!(
                "docker {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&run.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&run.stdout).trim().to_string())
    }

    /// Builds an image with BuildKit's plain progress, so each step's log
    /// (and whether it was CACHED) can be read back.
    pub fn build(&self, build: &Build) -> Result<BuildOutput> {
        let mut args: Vec<String> = vec!["build".into(), "--progress=plain".into()];
        if let Some(platform) = &build.platform {
            args.extend(["--platform".into(), platform.clone()]);
        }
        if build.no_cache {
            args.push("--no-cache".into());
        }
        for (key, value) in &build.build_args {
            args.extend(["--build-arg".into(), format!("{key}={value}")]);
        }
        args.extend(["-f".into(), build.dockerfile.display().to_string()]);
        args.extend(["-t".into(), build.tag.clone()]);
        args.push(build.context.display().to_string());

        let started = Instant::now();
        let run = run_with_timeout(self.cmd(&args).dir(repo_root()).stderr_to_stdout().stdout_capture(), build.timeout);
        let elapsed = started.elapsed();
        let shown = format!("docker {}", args.join(" "));
        let run = run.map_err(|e| error(format!("{shown}: {e}")))?;
        let log = BuildLog(String::from_utf8_lossy(&run.stdout).into_owned());
        if !run.status.success() {
            return Err(error(format!(
                "{shown} failed ({}); the end of its log:\n{}",
                run.status,
                log.tail(LOG_TAIL_LINES)
            )));
        }
        Ok(BuildOutput { log, elapsed })
    }

    /// `docker run --rm IMAGE ARGS` (with `--platform` if given): the output of
    /// a short-lived container, for images that are not the variants (base
    /// images, foreign platforms).
    pub fn run(&self, image: &str, platform: Option<&str>, args: &[&str]) -> Result<String> {
        let mut all = vec!["run", "--rm"];
        if let Some(platform) = platform {
            all.extend(["--platform", platform]);
        }
        all.push(image);
        all.extend(args);
        self.output(&all, Duration::from_secs(300))
    }

    /// What `docker image inspect` says of an image.
    pub fn inspect(&self, image: &str) -> Result<ImageInfo> {
        let json = self.output(&["image", "inspect", "--format", "{{json .}}", image], Duration::from_secs(30))?;
        ImageInfo::parse(&json).map_err(|e| error(format!("docker image inspect {image}: {e}")))
    }

    /// Every path in the image's filesystem (from `docker export` of a
    /// container that is created, never started, and removed).
    pub fn files(&self, image: &str) -> Result<Vec<String>> {
        let listing = self.in_created_container(image, |id| {
            (format!("docker export {id} | tar -t"), self.cmd(["export", id]).pipe(duct::cmd!("tar", "-t")))
        })?;
        let files: Vec<String> =
            String::from_utf8_lossy(&listing).lines().map(|l| l.trim_end_matches('/').to_string()).collect();
        if files.is_empty() {
            return Err(error(format!("docker export {image}: the image holds no files at all")));
        }
        Ok(files)
    }

    /// Reads one file out of an image (from a container that is never started).
    pub fn read_file(&self, image: &str, path: &str) -> Result<Vec<u8>> {
        self.in_created_container(image, |id| {
            (
                format!("docker cp {id}:{path} - | tar -xO"),
                self.cmd(["cp", &format!("{id}:{path}"), "-"]).pipe(duct::cmd!("tar", "-xO")),
            )
        })
    }

    /// Creates a container of `image` (never started), runs the command that
    /// `command` makes for its id, removes the container, and returns what
    /// the command printed; a failure names the command and its stderr.
    fn in_created_container(
        &self,
        image: &str,
        command: impl FnOnce(&str) -> (String, duct::Expression),
    ) -> Result<Vec<u8>> {
        let id = self.output(&["create", image], Duration::from_secs(60))?;
        let (shown, expression) = command(&id);
        let ran = run_with_timeout(expression.stdout_capture().stderr_capture(), Duration::from_secs(120));
        let removed = self.output(&["rm", "-f", &id], Duration::from_secs(60));
        let ran = ran.map_err(|e| error(format!("{shown} ({image}): {e}")))?;
        if !ran.status.success() {
            return Err(error(format!(
                "{shown} ({image}) failed ({}): {}",
                ran.status,
                String::from_utf8_lossy(&ran.stderr).trim()
            )));
        }
        removed?;
        Ok(ran.stdout)
    }

    /// Removes images by tag; missing ones are not an error.
    pub fn remove_images(&self, tags: &[String]) {
        if tags.is_empty() {
            return;
        }
        let mut args = vec!["image", "rm", "--force"];
        args.extend(tags.iter().map(String::as_str));
        // Best effort: this runs on clean-up paths, where an error must not
        // hide the failure that is being reported.
        let _ = run_with_timeout(self.cmd(&args).stdout_null().stderr_null().unchecked(), Duration::from_secs(120));
    }
}

/// One `docker build`.
#[derive(Debug, Clone)]
pub struct Build {
    /// Relative to the repository root.
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub tag: String,
    pub platform: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub no_cache: bool,
    pub timeout: Duration,
}

impl Build {
    pub fn new(dockerfile: impl Into<PathBuf>, context: impl Into<PathBuf>, tag: impl Into<String>) -> Build {
        Build {
            dockerfile: dockerfile.into(),
            context: context.into(),
            tag: tag.into(),
            platform: None,
            build_args: BTreeMap::new(),
            no_cache: false,
            timeout: Duration::from_secs(30 * 60),
        }
    }

    pub fn platform(mut self, platform: &str) -> Build {
        self.platform = Some(platform.to_string());
        self
    }

    pub fn build_arg(mut self, key: &str, value: &str) -> Build {
        self.build_args.insert(key.to_string(), value.to_string());
        self
    }

    pub fn no_cache(mut self) -> Build {
        self.no_cache = true;
        self
    }
}

#[derive(Debug)]
pub struct BuildOutput {
    pub log: BuildLog,
    pub elapsed: Duration,
}

/// A build's log in BuildKit's plain progress format: each step is `#N` and
/// its header line (`#N [stage i/n] RUN ...`), then its output, then
/// `#N CACHED` or `#N DONE`.
#[derive(Debug, Clone)]
pub struct BuildLog(pub String);

/// One Dockerfile step of a build, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's number in the log: `7` for `#7 ...`.
    pub number: String,
    /// e.g. `[builder 2/4] RUN cargo chef cook --release ...`
    pub name: String,
    pub cached: bool,
    pub output: Vec<String>,
}

/// A crate that cargo compiled during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub name: String,
    /// From a path (a workspace member or path dependency), not a registry.
    pub local: bool,
}

impl Step {
    /// The crates cargo compiled in this step, read from its
    /// `Compiling NAME vX.Y.Z` lines; a crate from a path has `(PATH)` after
    /// its version.
    pub fn compiled(&self) -> Vec<Compiled> {
        self.output
            .iter()
            .filter_map(|line| {
                let mut words = line.trim().strip_prefix("Compiling ")?.split_whitespace();
                let name = words.next()?.to_string();
                words.next().filter(|version| version.starts_with('v'))?;
                Some(Compiled { name, local: words.next().is_some_and(|path| path.starts_with('(')) })
            })
            .collect()
    }
}

impl BuildLog {
    /// The Dockerfile steps (`[stage i/n] ...`), in the order they started.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<(String, Step)> = Vec::new();
        for line in self.0.lines() {
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            let Some((number, text)) = rest.split_once(' ') else {
                continue;
            };
            if !number.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if let Some(step) = steps.iter_mut().find(|(n, _)| n == number) {
                let step = &mut step.1;
                if text == "CACHED" {
                    step.cached = true;
                } else if let Some((_, out)) = text.split_once(' ').filter(|(t, _)| t.parse::<f64>().is_ok()) {
                    step.output.push(out.to_string());
                }
            } else if text.starts_with('[') && !text.starts_with("[internal]") && !text.starts_with("[auth]") {
                let step =
                    Step { number: number.to_string(), name: text.to_string(), cached: false, output: Vec::new() };
                steps.push((number.to_string(), step));
            }
        }
        steps.into_iter().map(|(_, step)| step).collect()
    }

    /// The step whose header contains `needle` (e.g. `cargo chef cook`).
    pub fn step(&self, needle: &str) -> Option<Step> {
        self.steps().into_iter().find(|s| s.name.contains(needle))
    }

    /// How many steps were CACHED, out of how many.
    pub fn cache_hits(&self) -> (usize, usize) {
        let steps = self.steps();
        (steps.iter().filter(|s| s.cached).count(), steps.len())
    }

    /// The last `n` lines.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.0.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// `docker image inspect`'s JSON, in the parts this project reads. An image
/// may have no entrypoint and no labels (`null`); the rest must be there.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawImage {
    id: String,
    size: u64,
    architecture: String,
    config: RawConfig,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    user: String,
    entrypoint: Option<Vec<String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// What `docker image inspect` says, in the parts this project checks.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub id: String,
    pub size: u64,
    pub architecture: String,
    pub user: String,
    pub entrypoint: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

impl ImageInfo {
    /// A field this project reads that the engine did not give is an error,
    /// never a zero or an empty string standing in for it.
    fn parse(json: &str) -> std::result::Result<ImageInfo, serde_json::Error> {
        let raw: RawImage = serde_json::from_str(json)?;
        Ok(ImageInfo {
            id: raw.id,
            size: raw.size,
            architecture: raw.architecture,
            user: raw.config.user,
            entrypoint: raw.config.entrypoint.unwrap_or_default(),
            labels: raw.config.labels.unwrap_or_default(),
        })
    }
}

/// Runs a command, killing it if it outlives `timeout`.
pub fn run_with_timeout(expression: duct::Expression, timeout: Duration) -> std::io::Result<std::process::Output> {
    let handle = expression.unchecked().start()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(output) = handle.try_wait()? {
            return Ok(output.clone());
        }
        if Instant::now() >= deadline {
            handle.kill()?;
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("timed out after {}s", timeout.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = r#"{"Id":"sha256:ab","Size":42,"Architecture":"arm64",
        "Config":{"User":"10001:10001","Entrypoint":["/app"],"Labels":null}}"#;

    #[test]
    fn inspect_output_is_read_with_its_nulls() {
        let info = ImageInfo::parse(IMAGE).unwrap();
        assert_eq!((info.size, info.architecture.as_str(), info.user.as_str()), (42, "arm64", "10001:10001"));
        assert_eq!(info.entrypoint, ["/app"]);
        assert!(info.labels.is_empty());
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_zero() {
        let error = ImageInfo::parse(&IMAGE.replace(r#""Size":42,"#, "")).unwrap_err();
        assert!(error.to_string().contains("missing field `Size`"), "{error}");
    }

    #[test]
    fn cargo_compiling_lines_tell_registry_crates_from_path_crates() {
        let step = Step {
            number: "9".into(),
            name: "[builder 4/4] RUN cargo build --release --locked".into(),
            cached: false,
            output: vec![
                "   Compiling serde v1.0.229".into(),
                "   Compiling greet v0.1.0 (/app/crates/greet)".into(),
                "warning: Compiling is a word in this line".into(),
                "    Finished `release` profile [optimized] target(s) in 0.56s".into(),
            ],
        };
        assert_eq!(
            step.compiled(),
            [Compiled { name: "serde".into(), local: false }, Compiled { name: "greet".into(), local: true }]
        );
    }
}
