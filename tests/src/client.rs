//! Which engine and docker client to use. `RCH_ENGINE` picks the engine:
//! the host's (`legacy`, the default: Engine 20.10) or a current one in a
//! container (`current`: Engine 26 with the containerd store and its own
//! client with buildx, from scripts/current-engine.sh). On the host's engine
//! the client is one with buildx, else a pre-23 one with DOCKER_BUILDKIT=1
//! (as scripts/lib.sh picks), `DOCKER` overriding both.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::docker::{Result, error};

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
    /// The engine shared by a whole test run: picked and checked once.
    pub fn shared() -> Result<&'static Docker> {
        static SHARED: OnceLock<std::result::Result<Docker, String>> = OnceLock::new();
        SHARED.get_or_init(|| Docker::connect().map_err(|e| e.to_string())).as_ref().map_err(|e| error(e.clone()))
    }

    /// Picks a client as scripts/lib.sh does (one with buildx, else a pre-23
    /// one with DOCKER_BUILDKIT=1; `DOCKER` overrides) and checks that the
    /// daemon answers.
    pub fn connect() -> Result<Docker> {
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
        let mut docker = candidates.iter().find_map(|cli| Docker::probe(cli, engine, &env)).ok_or_else(|| {
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

    fn probe(cli: &Path, engine: Engine, env: &[(&'static str, String)]) -> Option<Docker> {
        let docker = |needs_buildkit_env| Docker {
            cli: cli.into(),
            needs_buildkit_env,
            env: env.to_vec(),
            engine,
            containerd_store: false,
            separates_cache_mounts_by_build_argument: false,
        };
        // A client that hangs (a daemon socket that never answers) is no client.
        let quiet = |args: &[&str]| {
            let expression = docker(false).cmd(args).stdout_capture().stderr_capture();
            crate::process::run_with_timeout(expression, Duration::from_secs(20)).ok()
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
}

#[cfg(test)]
mod tests {
    use super::{Engine, major_version};

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
}
