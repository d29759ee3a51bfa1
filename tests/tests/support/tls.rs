//! A TLS server on this machine for the images to talk to: a CA made for the
//! test, a certificate for localhost signed by it, and `openssl s_server`
//! serving one file on a loopback port that the kernel picks.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The file the server serves, and so the URL path the images fetch.
const ANSWER: &str = "answer.txt";

pub struct TlsServer {
    dir: tempfile::TempDir,
    server: Child,
    pub port: u16,
    /// What the server answers for [`ANSWER`]: unique to this server.
    pub answer: String,
}

impl TlsServer {
    pub fn start() -> TlsServer {
        let dir = tempfile::Builder::new().prefix("rch-tls-").tempdir().expect("temp dir");
        let openssl = |args: &[&str]| openssl(dir.path(), args);
        openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
                .into_iter()
                .chain(["-subj", "/CN=rust-container-howto test CA"])
                .chain(["-addext", "basicConstraints=critical,CA:TRUE"])
                .chain(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .collect::<Vec<_>>(),
        );
        std::fs::write(
            dir.path().join("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost, DNS:tls.rch.test, IP:127.0.0.1\n",
        )
        .expect("write server.ext");
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        let answer = format!("hello over TLS {}\n", howto_harness::nonce());
        std::fs::write(dir.path().join(ANSWER), &answer).expect("write the answer");

        let mut server = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-cert", "server.pem", "-key", "server.key", "-WWW"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server (Debian's openssl package)");
        // It prints `ACCEPT 127.0.0.1:PORT` once it listens; EOF means it died.
        let stdout = server.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("ACCEPT 127.0.0.1:") {
                    let _ = sender.send(port.trim().parse::<u16>().ok());
                }
            }
            let _ = sender.send(None);
        });
        let port = receiver.recv_timeout(Duration::from_secs(30)).ok().flatten();
        let mut started = TlsServer { dir, server, port: 0, answer };
        started.port = port.unwrap_or_else(|| {
            let status = started.server.try_wait().ok().flatten();
            panic!("openssl s_server did not say which port it listens on (exit status: {status:?})")
        });
        started
    }

    /// The URL the images fetch: a name, so the image resolves it too.
    pub fn url(&self) -> String {
        self.url_at("localhost")
    }

    /// The URL under another name the certificate holds, `tls.rch.test`,
    /// which only an /etc/hosts entry (`docker run --add-host`) resolves.
    pub fn url_at(&self, host: &str) -> String {
        format!("https://{host}:{}/{ANSWER}", self.port)
    }

    /// A file holding `bundle` (an image's own trust store) and the test's
    /// CA: the system store plus one CA, as a user would add theirs. Readable
    /// by any user, since the images run as 10001.
    pub fn bundle_with_ca(&self, bundle: &[u8], name: &str) -> PathBuf {
        let ca = std::fs::read(self.dir.path().join("ca.pem")).expect("read ca.pem");
        let path = self.dir.path().join(name);
        std::fs::write(&path, [bundle, b"\n", &ca].concat()).expect("write the bundle");
        path
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Runs `openssl ARGS` in `dir`, and panics with its output if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
