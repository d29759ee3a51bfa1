//! Which docker client to use: one with buildx, else a pre-23 one with
//! DOCKER_BUILDKIT=1 (as scripts/lib.sh picks), `DOCKER` overriding both.

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
        // A client that hangs (a daemon socket that never answers) is no client.
        let quiet = |args: &[&str]| {
            let expression = duct::cmd(cli, args).stdout_capture().stderr_capture();
            crate::process::run_with_timeout(expression, Duration::from_secs(20)).ok()
        };
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
}
