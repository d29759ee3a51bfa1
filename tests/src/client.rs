//! Which engine and docker client to use. `RCH_ENGINE` picks the engine:
//! the host's (`legacy`, the default: Engine 20.10) or a current one in a
//! container (`current`: Engine 26 with the containerd store and its own
//! client with buildx, from scripts/current-engine.sh). On the host's engine
//! the client is one with buildx, else a pre-23 one with DOCKER_BUILDKIT=1
//! (as scripts/lib.sh picks), `DOCKER` overriding both. Every docker
//! command runs through [`Docker::output`] or [`Docker::cmd`] here, with a
//! timeout; a failure becomes an [`Error`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::{self, run_with_timeout};

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

/// An error; one that shows the daemon gone also gets the end of the log of
/// the dockerd that scripts/provision.sh started, which says why it went.
pub(crate) fn error(message: impl Into<String>) -> Error {
    let message = message.into();
    if daemon_gone(&message) {
        return Error(message + &daemon_log_note(&state_dir().join("dockerd.log")));
    }
    Error(message)
}

fn daemon_gone(message: &str) -> bool {
    message.contains("Cannot connect to the Docker daemon") || message.contains("Is the docker daemon running?")
}

/// The end of the log that scripts/setup-engine.sh has the dockerd it starts
/// write.
fn daemon_log_note(log: &Path) -> String {
    let shown = log.display();
    match std::fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.trim_end().lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            format!("\nThe Docker daemon does not answer. The end of {shown}:\n{tail}")
        }
        Err(_) => format!(
            "\nThe Docker daemon does not answer, and there is no {shown}: it was not started by \
             scripts/provision.sh. Look at the log of the daemon you started."
        ),
    }
}

/// A docker client that can run BuildKit builds, and a daemon that answers.
#[derive(Debug, Clone)]
pub struct Docker {
    cli: PathBuf,
    /// Pre-23 clients build with BuildKit only when DOCKER_BUILDKIT=1.
    needs_buildkit_env: bool,
    /// Set for every command: where the current engine's socket and
    /// client configuration are.
    env: Vec<(&'static str, String)>,
    /// Which engine this client talks to.
    pub engine: Engine,
    /// Whether the daemon keeps images in the containerd image store, where
    /// a tag can hold every platform and `inspect` gives compressed sizes.
    pub containerd_store: bool,
    /// Whether build arguments in a `RUN --mount` id make caches of their
    /// own: the built-in Dockerfile frontend expands them from Engine 23.0
    /// (frontend 1.3); 20.10's keys the mount by the id as written.
    pub separates_cache_mounts_by_build_argument: bool,
    /// The label of the images built under some tags, as the caller of
    /// [`Docker::connect`] gives it.
    pub(crate) build_label: BuildLabel,
}

/// A label for every image built under a tag of a kind. The caller says
/// which, as what a tag means is no business of this layer (`temporary`
/// labels the images a run makes for a while with the run's process id).
#[derive(Debug, Clone)]
pub struct BuildLabel {
    /// The tags whose images get it: those that start with one of these.
    pub tag_prefixes: Vec<String>,
    /// `key=value`, as `docker build --label` takes it.
    pub label: String,
}

impl BuildLabel {
    /// The label of a build into `tag`, if it gets one.
    pub fn for_tag(&self, tag: &str) -> Option<&str> {
        self.tag_prefixes.iter().any(|prefix| tag.starts_with(prefix.as_str())).then_some(self.label.as_str())
    }
}

/// The major version at the start of a version string (`20` of `20.10.24+dfsg1`).
fn major_version(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// The engine the harness drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The host's engine (20.10 from Debian bookworm here).
    Legacy,
    /// Engine 26 in a container, with the containerd image store.
    Current,
}

impl Engine {
    /// What `RCH_ENGINE` asks for: unset, `legacy` or `current`.
    pub fn selected() -> std::result::Result<Engine, String> {
        match std::env::var("RCH_ENGINE").unwrap_or_default().as_str() {
            "" | "legacy" => Ok(Engine::Legacy),
            "current" => Ok(Engine::Current),
            other => Err(format!("RCH_ENGINE must be legacy or current, not {other:?}")),
        }
    }

    /// The current engine's address, as `DOCKER_HOST` gives it.
    pub fn current_docker_host() -> String {
        format!("unix://{}", current_dir().join("run/docker.sock").display())
    }

    /// What is wrong with `docker_host` (the value of DOCKER_HOST) for this
    /// engine, if anything. testcontainers, which the tests run containers
    /// with, finds its engine by DOCKER_HOST alone, and a test process cannot
    /// safely set its own environment once its threads run: on the current
    /// engine the tests need DOCKER_HOST set to its socket, and on the host's
    /// it must not name that socket.
    pub fn docker_host_problem(self, docker_host: Option<&str>) -> Option<String> {
        let current = Engine::current_docker_host();
        let names_current = docker_host == Some(current.as_str());
        match self {
            Engine::Legacy if names_current => Some(format!(
                "DOCKER_HOST={current} names the current engine, but RCH_ENGINE does not: \
                 set RCH_ENGINE=current too, or unset DOCKER_HOST for the host's engine"
            )),
            Engine::Current if !names_current => Some(format!(
                "RCH_ENGINE=current, but DOCKER_HOST is {}: the tests run containers through \
                 testcontainers, which finds its engine by DOCKER_HOST alone. Run them as\n  \
                 RCH_ENGINE=current DOCKER_HOST={current} cargo test --workspace --locked",
                docker_host.map_or("unset".to_string(), |h| format!("{h:?}"))
            )),
            _ => None,
        }
    }
}

/// Where scripts/current-engine.sh keeps the current engine's socket and client.
fn current_dir() -> PathBuf {
    state_dir().join("current")
}

/// Where the set-up keeps its state (scripts/lib.sh's RCH_STATE_DIR).
pub fn state_dir() -> PathBuf {
    std::env::var_os("RCH_STATE_DIR").map_or_else(|| PathBuf::from("/var/lib/rust-container-howto"), PathBuf::from)
}

impl Docker {
    /// The engine shared by a whole test run: picked and checked once, with
    /// the first call's `label` (each caller gives the run's).
    pub fn shared(label: BuildLabel) -> Result<&'static Docker> {
        static SHARED: OnceLock<std::result::Result<Docker, String>> = OnceLock::new();
        SHARED.get_or_init(|| Docker::connect(label).map_err(|e| e.to_string())).as_ref().map_err(|e| error(e.clone()))
    }

    /// Picks a client as scripts/lib.sh does (one with buildx, else a pre-23
    /// one with DOCKER_BUILDKIT=1; `DOCKER` overrides) and checks that the
    /// daemon answers. Its builds get `label`.
    pub fn connect(label: BuildLabel) -> Result<Docker> {
        let engine = Engine::selected().map_err(error)?;
        // The host's client inherits DOCKER_HOST: one that names the current
        // engine would have it drive that engine under the host's name.
        if engine == Engine::Legacy
            && let Some(problem) = engine.docker_host_problem(std::env::var("DOCKER_HOST").ok().as_deref())
        {
            return Err(error(problem));
        }
        let (candidates, env): (Vec<PathBuf>, _) = match engine {
            Engine::Current => {
                let dir = current_dir();
                let env = vec![
                    ("DOCKER_HOST", Engine::current_docker_host()),
                    ("DOCKER_CONFIG", dir.join("client").display().to_string()),
                ];
                (vec![dir.join("bin/docker")], env)
            }
            Engine::Legacy => match std::env::var_os("DOCKER") {
                Some(cli) => (vec![cli.into()], Vec::new()),
                None => (vec!["docker".into(), "/usr/bin/docker".into()], Vec::new()),
            },
        };
        let found = candidates.iter().find_map(|cli| Docker::probe(cli, engine, &env, &label));
        let mut docker = found.ok_or_else(|| {
            error(format!(
                "no docker client here can run BuildKit builds (tried {}).\n\
                     Install buildx, or a docker client older than 23 (Debian's docker.io), \
                     or set DOCKER=/path/to/docker. On Debian/Ubuntu as root, scripts/provision.sh installs one.",
                candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let version = docker.engine_version().map_err(|e| {
            error(format!(
                "the Docker daemon does not answer ({e}).\n\
                     On Debian/Ubuntu as root, scripts/provision.sh starts one; \
                     elsewhere start Docker Desktop or `dockerd`."
            ))
        })?;
        let major = major_version(&version)
            .ok_or_else(|| error(format!("engine version {version:?} does not start with a number")))?;
        docker.separates_cache_mounts_by_build_argument = major >= 23;
        let drivers = docker.output(&["info", "--format", "{{json .DriverStatus}}"], Duration::from_secs(20))?;
        docker.containerd_store = drivers.contains("io.containerd.snapshotter");
        Ok(docker)
    }

    fn probe(cli: &Path, engine: Engine, env: &[(&'static str, String)], label: &BuildLabel) -> Option<Docker> {
        let docker = |needs_buildkit_env| Docker {
            cli: cli.into(),
            needs_buildkit_env,
            env: env.to_vec(),
            engine,
            containerd_store: false,
            separates_cache_mounts_by_build_argument: false,
            build_label: label.clone(),
        };
        // A client that hangs (a daemon socket that never answers) is no client.
        let quiet = |args: &[&str]| {
            let expression = docker(false).cmd(args).stdout_capture().stderr_capture();
            run_with_timeout(expression, Duration::from_secs(20)).ok()
        };
        // Before 23.0, `docker build` is the legacy builder unless
        // DOCKER_BUILDKIT=1, buildx plugin or not; from 23.0 on it is buildx.
        let version = quiet(&["--version"]).filter(|o| o.status.success())?;
        let major = major_version(String::from_utf8_lossy(&version.stdout).strip_prefix("Docker version ")?)?;
        if major < 23 {
            return Some(docker(true));
        }
        quiet(&["buildx", "version"]).is_some_and(|o| o.status.success()).then(|| docker(false))
    }

    /// Whether this client builds with buildx (else with DOCKER_BUILDKIT=1,
    /// and has no `docker buildx` commands).
    pub fn has_buildx(&self) -> bool {
        !self.needs_buildkit_env
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
        let mut expression = duct::cmd(&self.cli, args);
        for (key, value) in &self.env {
            expression = expression.env(key, value);
        }
        if self.needs_buildkit_env { expression.env("DOCKER_BUILDKIT", "1") } else { expression }
    }

    /// Runs `docker ARGS`, returns its trimmed stdout, or fails with its stderr.
    pub fn output(&self, args: &[&str], timeout: Duration) -> Result<String> {
        let shown = format!("docker {}", args.join(" "));
        let run = run_with_timeout(self.cmd(args).stdout_capture().stderr_capture(), timeout)
            .map_err(|e| error(format!("{shown}: {e}")))?;
        let run = process::check(&shown, run).map_err(error)?;
        Ok(String::from_utf8_lossy(&run.stdout).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, daemon_gone, daemon_log_note, major_version};

    #[test]
    fn the_major_version_starts_a_version_string() {
        assert_eq!(major_version("20.10.24+dfsg1"), Some(20));
        assert_eq!(major_version("26.1.5+dfsg1"), Some(26));
        assert_eq!(major_version("dev"), None);
    }

    #[test]
    fn docker_host_must_name_the_current_engine_exactly_when_it_is_chosen() {
        let current = Engine::current_docker_host();
        let other = Some("unix:///var/run/docker.sock");
        assert_eq!(Engine::Legacy.docker_host_problem(None), None);
        assert_eq!(Engine::Legacy.docker_host_problem(other), None);
        assert_eq!(Engine::Current.docker_host_problem(Some(&current)), None);

        let legacy = Engine::Legacy.docker_host_problem(Some(&current)).expect("the host's engine under DOCKER_HOST");
        assert!(legacy.contains("RCH_ENGINE=current"), "{legacy}");
        for found in [None, other] {
            let problem = Engine::Current.docker_host_problem(found).expect("the current engine without DOCKER_HOST");
            assert!(problem.contains(&format!("DOCKER_HOST={current} cargo test")), "{problem}");
        }
    }

    #[test]
    fn a_daemon_that_died_is_reported_with_the_end_of_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dockerd.log");
        let lines: Vec<String> = (1..=30).map(|n| format!("line {n}")).collect();
        std::fs::write(&log, lines.join("\n") + "\nfatal: out of disk space\n").unwrap();
        let gone = "docker build failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. \
                    Is the docker daemon running?";
        assert!(daemon_gone(gone));
        let note = daemon_log_note(&log);
        assert!(note.ends_with("line 30\nfatal: out of disk space"), "{note}");
        assert!(!note.contains("line 11\n"), "only the last 20 lines: {note}");
        assert!(
            daemon_log_note(std::path::Path::new("/nonexistent/dockerd.log"))
                .contains("not started by scripts/provision.sh")
        );
        assert!(!daemon_gone("docker build failed: no such file: Dockerfile"));
    }
}
