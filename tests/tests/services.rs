//! A service in every runtime image (fixtures/service): it serves through
//! a published port, writes a temp file, turns healthy, leaves no zombie,
//! `docker stop` ends it at once with its own exit status, whether or not it
//! handles SIGTERM itself, and it resolves a name through the DNS server that
//! /etc/resolv.conf names.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use howto_harness::dns::Responder;
use howto_harness::scenarios::side_by_side;
use howto_harness::temporary::RUN_LABEL;
use howto_harness::variants::builds;
use howto_harness::{Build, Docker, Runtime, promises, unique_tag};
use support::{Images, engine, run_on_host_network, shown};

const SERVICE: &str = "fixtures/service";
/// The port the service listens on in its container.
const PORT: u16 = 8080;
/// A name that only the test's DNS server knows, and the address it gives
/// (TEST-NET-1, which nothing else here would answer).
const NAME: &str = "service.rch.test";
const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);

/// A container started with `docker run -d`, removed when dropped.
struct Service {
    docker: &'static Docker,
    name: String,
    /// Where the host reaches the service.
    address: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.docker.output(&["rm", "-f", &self.name], Duration::from_secs(60));
    }
}

impl Service {
    /// Runs `image` detached, its port published on loopback; on the current
    /// engine, whose containers share the host's network, on a port of its own.
    fn start(docker: &'static Docker, image: &str, platform: Option<&str>, args: &[&str]) -> Service {
        let name = unique_tag("service").replace([':', '/'], "-");
        let label = format!("{RUN_LABEL}={}", std::process::id());
        let port = free_port();
        let (publish, env) = (format!("127.0.0.1:{port}:{PORT}"), format!("PORT={port}"));
        let mut run = vec!["run", "-d", "--name", &name, "--label", &label];
        run.extend(docker.network_options());
        if docker.network_options().is_empty() {
            run.extend(["-p", &publish]);
        } else {
            run.extend(["-e", &env]);
        }
        if let Some(platform) = platform {
            run.extend(["--platform", platform]);
        }
        run.push(image);
        run.extend(args);
        let service = Service { docker, name: name.clone(), address: format!("127.0.0.1:{port}") };
        docker.output(&run, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
        service
    }

    /// `GET path`, retried until the service answers (at most 60 s: an
    /// arm64 image starts under qemu).
    fn get(&self, path: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match http_get(&self.address, path) {
                Ok(body) => return body,
                Err(e) if Instant::now() > deadline => panic!("{}: GET {path}: {e}\n{}", self.name, self.logs()),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn inspect(&self, format: &str) -> String {
        self.docker
            .output(&["inspect", "--format", format, &self.name], Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn logs(&self) -> String {
        let logs = self.docker.cmd(["logs", &self.name]).stderr_to_stdout().unchecked().read();
        format!("its log:\n{}", logs.unwrap_or_default())
    }

    /// `docker stop`: how long it took, and the exit status it left.
    fn stop(&self) -> (Duration, String) {
        let started = Instant::now();
        self.docker.output(&["stop", &self.name], Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
        (started.elapsed(), self.inspect("{{.State.ExitCode}}"))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn http_get(address: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
        _ => Err(std::io::Error::other(format!("answered {response:?}"))),
    }
}

/// The variant's image with the HEALTHCHECK the HOWTO gives: the program's
/// own `health` subcommand, in exec form, as there may be no shell.
fn with_healthcheck(images: &mut Images, image: &str, runtime: Runtime, platform: Option<&str>) -> String {
    let app = if runtime == Runtime::Scratch { "/app" } else { "/usr/local/bin/app" };
    let dir = tempfile::tempdir().expect("temp dir");
    let dockerfile = dir.path().join("Dockerfile");
    let text = format!("FROM {image}\nHEALTHCHECK --interval=1s --timeout=5s CMD [\"{app}\", \"health\"]\n");
    std::fs::write(&dockerfile, text).expect("write the Dockerfile");
    let tag = unique_tag("service-healthy");
    let mut build = Build::new(&dockerfile, dir.path(), &tag);
    if let Some(platform) = platform {
        build = build.platform(platform);
    }
    images.build(build);
    tag
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn every_runtime_runs_a_service_and_stops_it_at_once() {
    let docker = engine();
    let copy = howto_harness::projects::scratch_copy(SERVICE).unwrap_or_else(|e| panic!("{SERVICE}: {e}"));
    let runtimes = builds().filter(|(v, _)| v.runtime != Runtime::Toolchain);
    side_by_side(runtimes, |(variant, platform)| {
        let name = variant.tag(platform);
        let mut images = Images::new(docker);
        let (tag, _) = images.build_binary(variant, copy.path(), platform, &[("APP_NAME", "service")]);
        let healthy = with_healthcheck(&mut images, &tag, variant.runtime, platform);

        let service = Service::start(docker, &healthy, platform, &[]);
        assert_eq!(service.get("/"), "Hello, world!\n", "{name}: GET / through the published port");
        let deadline = Instant::now() + Duration::from_secs(60);
        while service.inspect("{{.State.Health.Status}}") != "healthy" {
            assert!(Instant::now() < deadline, "{name}: never healthy: {}", service.inspect("{{json .State.Health}}"));
            std::thread::sleep(Duration::from_millis(500));
        }
        // By now the orphan the service left has exited: PID 1 must have reaped it.
        let zombies = service.get("/zombies");
        let (took, status) = service.stop();
        assert!(took < Duration::from_secs(2), "{name}: {}: it took {took:?}", promises::STOPS_AT_ONCE);
        assert_eq!(status, "143", "{name}: the exit status after SIGTERM (128 + 15)\n{}", service.logs());
        assert_eq!(zombies, "0\n", "{name}: zombies were left in the container: nothing reaps orphans");

        let handled = Service::start(docker, &tag, platform, &["--handle-sigterm"]);
        handled.get("/health");
        let (took, status) = handled.stop();
        assert!(
            took < Duration::from_secs(2),
            "{name} --handle-sigterm: {}: it took {took:?}",
            promises::STOPS_AT_ONCE
        );
        assert_eq!(status, "7", "{name}: the program's own exit status on SIGTERM\n{}", handled.logs());

        // Docker's resolv.conf replaced by one naming the test's server alone,
        // on the host's network where that server listens; its count shows
        // that the address came from DNS.
        let dns = Responder::start(NAME, ADDRESS).unwrap_or_else(|e| panic!("{name}: the DNS server: {e}"));
        let mounted = format!("{}:/etc/resolv.conf:ro", dns.resolv_conf().display());
        let out = run_on_host_network(docker, platform, &["-v", &mounted, &tag, "resolve", NAME]);
        assert!(
            out.status.success() && out.stdout == format!("{ADDRESS}\n").as_bytes() && dns.answered() > 0,
            "{name} ({}): {}: `resolve {NAME}` with nameserver {}, which answered {} A queries with {ADDRESS}: {}",
            platform.unwrap_or("the engine's own platform"),
            promises::RESOLVES_THROUGH_DNS,
            dns.address(),
            dns.answered(),
            shown(&out)
        );
    });
}
