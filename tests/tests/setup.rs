//! The set-up that both README commands run first (scripts/provision.sh):
//! where it cannot do a step itself it stops with the one command to run; it
//! refuses a mirror address that another program holds; a step left
//! half-done by a killed run is never taken for finished; and the daemons it
//! starts do not keep its lock, which the next set-up waits for.

mod support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use howto_harness::Docker;
use howto_harness::client::state_dir;
use howto_harness::process::{check, run_with_timeout};
use howto_harness::registry::{LocalRegistry, answers_as_registry, push_manifest_list};
use howto_harness::temporary::{RUN_LABEL, sweep_leftovers};
use howto_harness::{Build, repo_root};
use predicates::prelude::*;
use serial_test::serial;
use support::{Images, engine};

/// A copy of the repository's scripts/ and dockerfiles/ that any user may
/// read and run (a temporary directory is private to root).
fn readable_copy() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("rch-setup-").tempdir().expect("a temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for folder in ["scripts", "dockerfiles"] {
        duct::cmd!("cp", "-R", repo_root().join(folder), dir.path()).run().expect("copy scripts");
    }
    duct::cmd!("chmod", "-R", "a+rX", dir.path()).run().expect("chmod -R");
    dir
}

/// A directory to use as PATH: every program this machine has on its PATH,
/// except `missing`, as a machine without them would look.
fn path_without(missing: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("rch-path-").tempdir().expect("a temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = std::env::var("PATH").expect("PATH");
    for folder in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.path().join(&name);
            if missing.iter().any(|m| name == *m) || link.exists() {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), link).expect("symlink a program");
        }
    }
    for program in missing {
        assert!(!dir.path().join(program).exists(), "{program} is still on the PATH made without it");
    }
    dir
}

/// scripts/provision.sh from `copy`, with `path` as its PATH; offline mode
/// is forced so that no registry probe slows the run down.
fn provision(copy: &Path, path: &Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(copy.join("scripts/provision.sh"))
        .env("PATH", path)
        .env("RCH_BASE_IMAGES", "offline")
        .timeout(Duration::from_secs(120));
    command
}

#[test]
fn without_root_it_names_the_command_to_run_as_root() {
    let copy = readable_copy();
    let path = path_without(&["docker", "dockerd"]);
    let script = copy.path().join("scripts/provision.sh");
    // setpriv is found through this process's PATH; the script gets `path`.
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash"])
        .arg(&script)
        .env("PATH", path.path())
        .env("RCH_BASE_IMAGES", "offline")
        .timeout(Duration::from_secs(120));
    // Which package comes first depends on what this machine lacks; the
    // message always names the command.
    command.assert().code(1).stderr(
        predicate::str::contains("which takes root: run the set-up as root")
            .and(predicate::str::contains(format!("sudo {}", script.display()))),
    );
}

#[test]
fn without_apt_it_says_what_to_install_by_hand() {
    let copy = readable_copy();
    let path = path_without(&["docker", "dockerd", "apt-get"]);
    provision(copy.path(), path.path()).assert().code(1).stderr(
        predicate::str::contains("and there is no apt-get here (not Debian or Ubuntu): install them by hand")
            .and(predicate::str::contains("https://docs.docker.com/engine/install/")),
    );
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_mirror_port_taken_by_another_program_is_named_with_the_way_out() {
    engine();
    // Accepts connections and never answers: not a registry.
    let squatter = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = squatter.local_addr().expect("its address").to_string();
    let remembered = std::fs::read_to_string(state_dir().join("mirror-addr")).ok();
    Command::new("bash")
        .arg(repo_root().join("scripts/base-images.sh"))
        .env("RCH_BASE_IMAGES", "offline")
        .env("RCH_MIRROR_ADDR", &address)
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(format!("{address} is taken by a program that is not a Docker registry"))
                .and(predicate::str::contains("RCH_MIRROR_ADDR=127.0.0.1:")),
        );
    let now = std::fs::read_to_string(state_dir().join("mirror-addr")).ok();
    assert_eq!(now, remembered, "a refused address must not be remembered");
}

/// A killed run can leave the mirror with a stand-in pushed for one platform
/// and no manifest list, or a list that lacks a platform: neither is ready,
/// so the next run builds that stand-in again. Played on a registry of its
/// own with a tiny image standing in for Debian's.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_half_pushed_stand_in_is_not_taken_for_ready() {
    let docker = engine();
    let registry = LocalRegistry::start().unwrap_or_else(|e| panic!("{e}"));
    let context = tempfile::tempdir().expect("a build context");
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY marker /marker\n").expect("Dockerfile");
    std::fs::write(context.path().join("marker"), "a stand-in's stand-in\n").expect("marker");
    let mut images = Images::new(docker);
    let built: Vec<(String, &str)> = ["linux/amd64", "linux/arm64"]
        .into_iter()
        .map(|platform| {
            let tag = howto_harness::unique_tag("half-pushed");
            let build = Build::new(context.path().join("Dockerfile"), context.path(), &tag).platform(platform);
            images.build(build);
            (tag, platform)
        })
        .collect();
    let debian = format!("{}/library/debian:trixie-slim", registry.address);
    let check = || {
        Command::new("bash")
            .args([repo_root().join("scripts/base-images.sh").to_str().expect("a UTF-8 path"), "--check"])
            .env("RCH_BASE_IMAGES", "offline")
            .env("RCH_MIRROR_ADDR", &registry.address)
            .timeout(Duration::from_secs(60))
            .assert()
    };
    let pushed = |list: &str, parts: &[(String, &str)]| {
        let pairs: Vec<(&str, &str)> = parts.iter().map(|(tag, platform)| (tag.as_str(), *platform)).collect();
        push_manifest_list(docker, list, &pairs).unwrap_or_else(|e| panic!("{e}"));
    };

    // Killed after pushing amd64: a tag, no list.
    docker.output(&["tag", &built[0].0, &format!("{debian}-amd64")], Duration::from_secs(30)).expect("tag");
    images.adopt(&format!("{debian}-amd64"));
    docker.output(&["push", &format!("{debian}-amd64")], Duration::from_secs(120)).expect("push");
    check().code(1).stdout(predicate::str::contains("debian:trixie-slim: not ready"));

    // A list that names amd64 only.
    pushed(&debian, &built[..1]);
    check().code(1).stdout(predicate::str::contains("debian:trixie-slim: not ready"));

    // Both platforms: ready (the other base images are still missing here).
    pushed(&debian, &built);
    check()
        .code(1)
        .stdout(predicate::str::contains("debian:trixie-slim: ready").and(predicate::str::contains(": not ready")));
}

/// The throwaway registries the tests start are ready only when the registry
/// API answers: a port that some other program holds does not pass.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_throwaway_registry_is_ready_only_when_its_api_answers() {
    engine();
    let registry = LocalRegistry::start().unwrap_or_else(|e| panic!("{e}"));
    assert!(answers_as_registry(&registry.address), "the registry just started does not answer /v2/");

    let squatter = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = squatter.local_addr().expect("its address").to_string();
    let answer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = squatter.accept().expect("accept");
        let mut request = [0u8; 256];
        let _ = stream.read(&mut request);
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").expect("answer");
    });
    assert!(!answers_as_registry(&address), "a plain HTTP server was taken for a registry");
    answer.join().expect("the squatter thread");
}

/// A run killed mid-way skips its clean-up; the next run removes the images
/// it made, by their label, and leaves alone those of a run still going.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn images_of_a_killed_run_are_swept_by_the_next_one() {
    let docker = engine();
    let context = tempfile::tempdir().expect("a build context");
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY marker /marker\n").expect("Dockerfile");
    std::fs::write(context.path().join("marker"), howto_harness::nonce()).expect("marker");

    // The killed run: a process that built an image under its own id.
    let mut run = std::process::Command::new("sleep").arg("600").spawn().expect("spawn a stand-in run");
    let pid = run.id();
    let killed = format!("my-project-test:killed-{pid}-0");
    let context_arg = context.path().to_str().expect("a UTF-8 path");
    let label = format!("{RUN_LABEL}={pid}");
    docker
        .output(&["build", "--label", &label, "-t", &killed, context_arg], Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    run.kill().expect("kill the run");
    run.wait().expect("reap the run");

    // This run's own image, labelled by Docker::build with this process id.
    let mut images = Images::new(docker);
    let alive = howto_harness::unique_tag("alive");
    images.build(Build::new(context.path().join("Dockerfile"), context.path(), &alive));
    assert!(docker.inspect(&alive).is_ok_and(|i| i.labels.get(RUN_LABEL) == Some(&std::process::id().to_string())));

    let removed = sweep_leftovers(docker).unwrap_or_else(|e| panic!("{e}"));
    assert!(removed.contains(&killed), "the sweep removed {removed:?}, not {killed}");
    assert!(docker.inspect(&killed).is_err(), "{killed} is still there after the sweep");
    assert!(docker.inspect(&alive).is_ok(), "the sweep removed {alive}, an image of a run still going");
}

/// Whether `pid` is a running set-up script (provision.sh, or one of the
/// scripts it runs, run directly) or a child of one (a step it runs, which
/// shares its lock while it runs), walking up the parents.
fn runs_for_a_set_up(pid: u32) -> bool {
    let mut pid = pid;
    while pid > 1 {
        let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let command = String::from_utf8_lossy(&command);
        if ["provision.sh", "setup-engine.sh", "base-images.sh", "current-engine.sh"]
            .iter()
            .any(|s| command.contains(s))
        {
            return true;
        }
        // The parent is the 4th field of /proc/PID/stat, after "(comm)".
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        pid = after_comm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    }
    false
}

/// The daemons the set-up starts (dockerd, containerd, the mirror) outlive it;
/// had they inherited its lock, every later set-up (the next test binary's)
/// would wait for them forever. Only a set-up still running (another test
/// here runs one) and the steps it runs may hold it.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
fn the_daemons_it_starts_do_not_hold_its_lock() {
    use std::os::unix::fs::MetadataExt;
    engine();
    let uid = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    let tmp = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());
    let lock = Path::new(&tmp).join(format!("rust-container-howto-provision.{uid}.lock"));
    assert!(lock.exists(), "the set-up ran but left no lock file at {}", lock.display());

    let mut holders = Vec::new();
    for process in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else { continue };
        let Some(pid) = process.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == lock))
            && !runs_for_a_set_up(pid)
        {
            let command = std::fs::read(process.path().join("cmdline")).unwrap_or_default();
            holders.push(format!("{pid} {}", String::from_utf8_lossy(&command).replace('\0', " ").trim()));
        }
    }
    assert!(holders.is_empty(), "processes other than a running set-up hold {}: {holders:?}", lock.display());
}

// --- The set-up never breaks a running engine ---------------------------------
//
// A set-up that starts a second dockerd beside a running one breaks the first:
// the new daemon replaces its socket and containerd's state before it fails.
// Each test below runs the set-up with a stand-in `dockerd` first on the PATH,
// which only records that it was called, so a set-up that tried to start a
// daemon fails the test without touching this machine's engine; and each ends
// by checking that the engine that answered before still answers, from the
// same process.

/// The default socket's daemon pid file, which dockerd writes.
const DOCKERD_PID_FILE: &str = "/var/run/docker.pid";

/// A base image every engine the set-up provides has.
const BASE_IMAGE: &str = "debian:trixie-slim";

/// A PATH whose `dockerd` is a stand-in that writes a mark and fails, before
/// the rest of this process's PATH.
struct NoDockerd {
    dir: tempfile::TempDir,
}

impl NoDockerd {
    fn new() -> NoDockerd {
        let dir = tempfile::Builder::new().prefix("rch-no-dockerd-").tempdir().expect("a temporary directory");
        let stand_in = dir.path().join("dockerd");
        let mark = dir.path().join("called");
        std::fs::write(&stand_in, format!("#!/bin/sh\necho \"$*\" >>'{}'\nexit 1\n", mark.display())).expect("write");
        std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        NoDockerd { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        let rest = std::env::var_os("PATH").expect("PATH");
        std::env::join_paths(std::iter::once(self.dir.path().to_path_buf()).chain(std::env::split_paths(&rest)))
            .expect("a PATH")
            .into()
    }

    /// Fails the test if the set-up tried to start a daemon.
    fn assert_never_called(&self) {
        let calls = std::fs::read_to_string(self.dir.path().join("called")).unwrap_or_default();
        assert!(calls.is_empty(), "the set-up tried to start dockerd: dockerd {calls}");
    }
}

/// What answers before a test: the engine this run uses, and the daemon on
/// the default socket with its pid. `still_answers` checks that both are as
/// they were.
struct RunningEngine {
    docker: &'static Docker,
    default_pid: String,
}

impl RunningEngine {
    fn now() -> RunningEngine {
        let docker = engine();
        let default_pid = std::fs::read_to_string(DOCKERD_PID_FILE).unwrap_or_default().trim().to_string();
        let engine = RunningEngine { docker, default_pid };
        engine.still_answers();
        engine
    }

    fn still_answers(&self) {
        self.docker
            .output(&["info", "--format", "{{.ServerVersion}}"], Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("the engine this run uses stopped answering after the set-up ran: {e}"));
        let pid = std::fs::read_to_string(DOCKERD_PID_FILE).unwrap_or_default().trim().to_string();
        assert_eq!(pid, self.default_pid, "the dockerd that owns {DOCKERD_PID_FILE} changed");
        if !pid.is_empty() {
            // A container on the default bridge network: an engine can answer
            // and still have lost its network (docker0) to another dockerd.
            let run = duct::cmd!("docker", "-H", "unix:///var/run/docker.sock", "run", "--rm", BASE_IMAGE, "true")
                .stdout_capture()
                .stderr_capture();
            let output = run_with_timeout(run, Duration::from_secs(60)).expect("run docker run");
            check(&format!("a container on the dockerd at unix:///var/run/docker.sock (pid {pid})"), output)
                .unwrap_or_else(|e| panic!("the machine's engine no longer works after the set-up ran: {e}"));
        }
    }
}

/// The set-up with `DOCKER_HOST` at an engine that does not answer: it must
/// stop at once, name the variable and the address, and say what to do.
fn stops_naming_docker_host(docker_host: &str) {
    let running = RunningEngine::now();
    let no_dockerd = NoDockerd::new();
    provision(repo_root(), &no_dockerd.path()).env("DOCKER_HOST", docker_host).assert().code(1).stderr(
        predicate::str::contains(format!("DOCKER_HOST names the engine at {docker_host}, and it does not answer"))
            .and(predicate::str::contains("unset DOCKER_HOST"))
            .and(predicate::str::contains("starts no engine of its own")),
    );
    no_dockerd.assert_never_called();
    running.still_answers();
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn docker_host_at_a_socket_that_does_not_exist_stops_the_set_up() {
    let missing = tempfile::tempdir().expect("a temporary directory");
    stops_naming_docker_host(&format!("unix://{}/docker.sock", missing.path().display()));
}

#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn docker_host_at_a_tcp_port_where_nothing_listens_stops_the_set_up() {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port").local_addr().expect("its address");
    // The listener is closed here: nothing listens on that port now.
    stops_naming_docker_host(&format!("tcp://{port}"));
}

/// A dockerd of this test's own: its own socket, data, state, pid file and
/// network namespace, no bridge and no iptables rules, so that it shares
/// nothing with the machine's engine. Continued and stopped on drop.
struct OwnDockerd {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl OwnDockerd {
    fn start() -> OwnDockerd {
        // Short: containerd's socket lies below it, and socket paths are
        // limited to 107 bytes.
        let dir = tempfile::Builder::new().prefix("rch-d-").tempdir_in("/tmp").expect("a temporary directory");
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(at("daemon.json"), "{}\n").expect("daemon.json");
        let log = std::fs::File::create(at("dockerd.log")).expect("dockerd.log");
        // In a network namespace of its own: a dockerd with no bridge of its
        // own deletes docker0, and with it the machine's engine's network.
        let child = std::process::Command::new("unshare")
            .args(["--net", "dockerd", "--host", &format!("unix://{}", at("docker.sock"))])
            .args(["--data-root", &at("data"), "--exec-root", &at("exec"), "--pidfile", &at("docker.pid")])
            .args(["--config-file", &at("daemon.json"), "--bridge", "none", "--iptables=false"])
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("start a dockerd of the test's own");
        let dockerd = OwnDockerd { child, dir };
        dockerd.wait_until_it_answers();
        dockerd
    }

    fn host(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.path().display())
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn answers(&self) -> bool {
        let info = duct::cmd!("docker", "-H", self.host(), "info").stdout_null().stderr_null().unchecked();
        run_with_timeout(info, Duration::from_secs(10)).is_ok_and(|o| o.status.success())
    }

    fn wait_until_it_answers(&self) {
        for _ in 0..60 {
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("the test's own dockerd did not answer in 60 s; the end of its log:\n{}", tail.join("\n"));
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill").args([signal, &self.pid()]).status().expect("kill");
        assert!(status.success(), "kill {signal} {} failed", self.pid());
    }
}

impl Drop for OwnDockerd {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.pid()]).status();
        let _ = std::process::Command::new("kill").args(["-TERM", &self.pid()]).status();
        for _ in 0..30 {
            if self.child.try_wait().is_ok_and(|status| status.is_some()) {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A dockerd that runs but does not answer (stopped with SIGSTOP): named by
/// DOCKER_HOST, the set-up stops naming the variable; found running while
/// the default socket does not answer (played in a mount namespace whose
/// /run is empty), the set-up stops naming the process, and starts no
/// second daemon. Continued, that dockerd answers again.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn a_dockerd_that_runs_but_does_not_answer_is_named_and_left_alone() {
    let running = RunningEngine::now();
    let stopped = OwnDockerd::start();
    stopped.signal("-STOP");
    let no_dockerd = NoDockerd::new();

    provision(repo_root(), &no_dockerd.path()).env("DOCKER_HOST", stopped.host()).assert().code(1).stderr(
        predicate::str::contains(format!("DOCKER_HOST names the engine at {}, and it does not answer", stopped.host())),
    );

    let script = repo_root().join("scripts/provision.sh");
    let mut without_default_socket = Command::new("unshare");
    without_default_socket
        .args([
            "--mount",
            "--propagation",
            "private",
            "bash",
            "-c",
            r#"mount -t tmpfs rch-empty /run && exec bash "$0""#,
        ])
        .arg(&script)
        .env("PATH", no_dockerd.path())
        .env("RCH_BASE_IMAGES", "offline")
        .env_remove("DOCKER_HOST")
        .env_remove("RCH_ENGINE")
        .timeout(Duration::from_secs(180));
    without_default_socket.assert().code(1).stderr(
        predicate::str::contains(
            "a dockerd already runs, but the engine at unix:///var/run/docker.sock does not answer",
        )
        .and(predicate::str::contains(format!("\n  {} (dockerd --host {}", stopped.pid(), stopped.host())))
        .and(predicate::str::contains("never starts a second dockerd")),
    );
    no_dockerd.assert_never_called();

    stopped.signal("-CONT");
    assert!(stopped.answers(), "the test's own dockerd does not answer after SIGCONT");
    running.still_answers();
}

/// Two set-ups at once, as two test binaries or `cargo xtask demo` beside
/// `cargo test` start them: both succeed, and neither starts a daemon.
#[test]
#[cfg_attr(skip_docker_tests, ignore = "RCH_SKIP_DOCKER_TESTS is set")]
#[serial]
fn two_set_ups_at_once_both_succeed_and_start_no_daemon() {
    let running = RunningEngine::now();
    let no_dockerd = NoDockerd::new();
    let script = repo_root().join("scripts/provision.sh");
    let both: Vec<_> = (0..2)
        .map(|_| {
            let set_up = duct::cmd!("bash", &script)
                .env("PATH", no_dockerd.path())
                .env("RCH_BASE_IMAGES", "offline")
                .stdout_capture()
                .stderr_capture();
            std::thread::spawn(move || run_with_timeout(set_up, Duration::from_secs(300)))
        })
        .collect();
    for (i, set_up) in both.into_iter().enumerate() {
        let output = set_up.join().expect("a set-up's thread").unwrap_or_else(|e| panic!("set-up {i} of two: {e}"));
        check(&format!("set-up {i} of two at once"), output).unwrap_or_else(|e| panic!("{e}"));
    }
    no_dockerd.assert_never_called();
    running.still_answers();
}
