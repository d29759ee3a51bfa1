//! A throwaway registry on loopback (Debian's `docker-registry`, the same
//! program as the `registry:2` image), for pushing and pulling manifest lists
//! without any registry on the internet. Stopped and its data removed on drop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
