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
    pub fn start() -> Result<LocalRegistry, String> {
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
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start docker-registry ({e}): apt-get install docker-registry"))?;
        let registry = LocalRegistry { child, address, _data: data };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.address).is_err() {
            if Instant::now() > deadline {
                return Err(format!("docker-registry did not listen on {} within 20s", registry.address));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(registry)
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes per-platform images under one tag, the way a multi-arch image is
/// published without buildx: push each image as `<list>-<arch>`, create a
/// manifest list naming them all, push it. Returns what `docker manifest
/// inspect` says of the list. The per-platform tags made here are removed.
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
        let mut create = vec!["manifest", "create", "--insecure", list];
        create.extend(parts.iter().map(String::as_str));
        docker.output(&create, timeout).map_err(|e| e.to_string())?;
        // --purge drops the client's local copy of the list once it is pushed.
        docker.output(&["manifest", "push", "--purge", "--insecure", list], timeout).map_err(|e| e.to_string())?;
        docker.output(&["manifest", "inspect", "--insecure", list], timeout).map_err(|e| e.to_string())
    })();
    docker.remove_images(&parts);
    result
}
