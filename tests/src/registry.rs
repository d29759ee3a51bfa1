//! A throwaway registry on loopback (Debian's `docker-registry`, the same
//! program as the `registry:2` image), for pushing and pulling manifest lists
//! without any registry on the internet. Stopped and its data removed on drop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Docker;

pub struct LocalRegistry {
    child: Child,
    /// `127.0.0.1:PORT`: the engine treats loopback registries as insecure
    /// (plain HTTP) without any configuration.
    pub address: String,
    _data: tempfile::TempDir,
}

impl LocalRegistry {
    /// Starts one on a free port. A port is found by binding it and letting
    /// it go, so another program may take it first: then the registry exits
    /// at once, and another port is tried.
    pub fn start() -> Result<LocalRegistry, String> {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match LocalRegistry::start_on_a_free_port() {
                Ok(registry) => return Ok(registry),
                Err(e) => failures.push(e),
            }
        }
        Err(failures.join("\n"))
    }

    fn start_on_a_free_port() -> Result<LocalRegistry, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let address = format!("127.0.0.1:{port}");
        let data = tempfile::Builder::new().prefix("rch-registry-").tempdir().map_err(|e| e.to_string())?;
        let config = data.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                data.path().join("blobs").display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let log_path = data.path().join("registry.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start docker-registry ({e}): apt-get install docker-registry"))?;
        let mut registry = LocalRegistry { child, address, _data: data };
        let log_tail = || {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(10)..].join("\n")
        };
        // Ready when the registry API answers and our child is the one
        // answering: one that lost the port to another program exits at once.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = registry.child.try_wait() {
                return Err(format!("docker-registry on {} exited ({status}):\n{}", registry.address, log_tail()));
            }
            if answers_as_registry(&registry.address) {
                std::thread::sleep(Duration::from_millis(200));
                if registry.child.try_wait().is_ok_and(|status| status.is_none()) {
                    return Ok(registry);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "docker-registry did not answer on {} within 20s:\n{}",
                    registry.address,
                    log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether `GET /v2/` at `address` gets a registry's answer (a 200 with the
/// Distribution API header), not just any program's.
pub fn answers_as_registry(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1);
    status == Some("200") && response.to_ascii_lowercase().contains("docker-distribution-api-version")
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes per-platform images under one tag, as the HOWTO does: push each
/// image as `<list>-<arch>`, then join them. A client with buildx joins them
/// with `docker buildx imagetools create`, since its images carry provenance
/// attestations, which makes each an index that `docker manifest create`
/// refuses; one without joins them with `docker manifest create` and `push`.
/// Returns the list as the registry holds it (JSON). The per-platform tags
/// made here are removed.
pub fn push_manifest_list(docker: &Docker, list: &str, images: &[(&str, &str)]) -> Result<String, String> {
    let timeout = Duration::from_secs(300);
    let mut parts = Vec::new();
    let result = (|| {
        for (tag, platform) in images {
            let pushed = format!("{list}-{}", crate::variants::arch(platform));
            docker.output(&["tag", tag, &pushed], timeout).map_err(|e| e.to_string())?;
            parts.push(pushed.clone());
            docker.output(&["push", &pushed], timeout).map_err(|e| e.to_string())?;
        }
        let parts = parts.iter().map(String::as_str);
        if docker.has_buildx() {
            let create: Vec<&str> = ["buildx", "imagetools", "create", "-t", list].into_iter().chain(parts).collect();
            docker.output(&create, timeout).map_err(|e| e.to_string())?;
            return docker
                .output(&["buildx", "imagetools", "inspect", "--raw", list], timeout)
                .map_err(|e| e.to_string());
        }
        let create: Vec<&str> = ["manifest", "create", "--insecure", list].into_iter().chain(parts).collect();
        docker.output(&create, timeout).map_err(|e| e.to_string())?;
        // --purge drops the client's local copy of the list once it is pushed.
        docker.output(&["manifest", "push", "--purge", "--insecure", list], timeout).map_err(|e| e.to_string())?;
        docker.output(&["manifest", "inspect", "--insecure", list], timeout).map_err(|e| e.to_string())
    })();
    docker.remove_images(&parts);
    result
}
