//! Every call this project makes to Docker goes through here: build, run,
//! inspect, list files, remove. Each has a timeout, and a failed build says
//! what it ran and ends with the tail of the build log.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::build::{Build, BuildOutput};
use crate::build_log::BuildLog;
use crate::client::{Docker, Result, error};
use crate::inspect::ImageInfo;
use crate::process::{self, run_with_timeout};
use crate::repo_root;

impl Docker {
    /// `docker builder prune --force ARGS` (e.g. `--filter type=exec.cachemount`);
    /// returns the space it reclaimed as the engine prints it, "0B" when it
    /// removed nothing. On Engine 26 with the containerd image store a prune
    /// that removes anything makes the next build miss every step, whatever
    /// the filter (docs/setup.md).
    pub fn prune_build_cache(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["builder", "prune", "--force"];
        all.extend(args);
        let out = self.output(&all, Duration::from_secs(300))?;
        reclaimed(&out)
            .map(str::to_string)
            .ok_or_else(|| error(format!("docker {}: no total in its output:\n{out}", all.join(" "))))
    }

    /// Builds an image with BuildKit's plain progress, so each step's log
    /// (and whether it was CACHED) can be read back. At most
    /// [`BUILDS_AT_ONCE`] builds run at once in one process, whatever else
    /// runs beside them: they compete for the same cores.
    ///
    /// A build that failed for a cause outside it (crates.io not answering in
    /// time, the engine's store losing a snapshot: see
    /// `failure_outside_the_build`) runs once more, and says so on stderr:
    /// such a failure says nothing about the Dockerfile.
    pub fn build(&self, build: &Build) -> Result<BuildOutput> {
        let mut args = build.docker_args(self.build_label.for_tag(&build.tag));
        args.splice(1..1, self.network_options().iter().map(|o| o.to_string()));
        let shown = format!("docker {}", args.join(" "));
        let _slot = BUILD_SLOTS.take();
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let run =
                run_with_timeout(self.cmd(&args).dir(repo_root()).stderr_to_stdout().stdout_capture(), build.timeout);
            let elapsed = started.elapsed();
            let run = run.map_err(|e| error(format!("{shown}: {e}")))?;
            let log = BuildLog(String::from_utf8_lossy(&run.stdout).into_owned());
            if run.status.success() {
                return Ok(BuildOutput { log, elapsed });
            }
            if attempt < BUILD_ATTEMPTS
                && let Some(cause) = failure_outside_the_build(&log.0)
            {
                eprintln!("{shown}: {cause}; building once more");
                attempt += 1;
                continue;
            }
            return Err(error(format!(
                "{shown} failed ({}); the end of its log:\n{}",
                run.status,
                log.tail(process::TAIL_LINES)
            )));
        }
    }

    /// What every build and container on this engine needs to reach the
    /// network: the current engine runs in a container that shares the
    /// host's network, and its own bridge has no NAT (it must not touch the
    /// host's iptables), so RUN steps and containers use the host's network.
    pub fn network_options(&self) -> &'static [&'static str] {
        if self.engine == crate::client::Engine::Current { &["--network", "host"] } else { &[] }
    }

    /// `docker run --rm IMAGE ARGS` (with `--platform` if given): the output of
    /// a short-lived container, for images that are not the variants (base
    /// images, foreign platforms).
    pub fn run(&self, image: &str, platform: Option<&str>, args: &[&str]) -> Result<String> {
        let mut all = vec!["run", "--rm"];
        all.extend(self.network_options());
        if let Some(platform) = platform {
            all.extend(["--platform", platform]);
        }
        all.push(image);
        all.extend(args);
        let shown = format!("docker {}", all.join(" "));
        let run = process::check(&shown, self.run_container(&all, Duration::from_secs(300))?).map_err(error)?;
        Ok(String::from_utf8_lossy(&run.stdout).trim().to_string())
    }

    /// `docker ARGS` for a `docker run`; its status is the caller's to check.
    /// A container that runc failed to start is started once more: its
    /// program never ran, so nothing it would have shown is lost. (Seen once
    /// on Engine 26 in its container: "failed to create task for container:
    /// … read init-p: connection reset by peer".)
    pub fn run_container(&self, args: &[&str], timeout: Duration) -> Result<Output> {
        let attempt = || {
            run_with_timeout(self.cmd(args).stdout_capture().stderr_capture(), timeout)
                .map_err(|e| error(format!("docker {}: {e}", args.join(" "))))
        };
        let first = attempt()?;
        if never_started(&first) { attempt() } else { Ok(first) }
    }

    /// What `docker image inspect` says of an image.
    pub fn inspect(&self, image: &str) -> Result<ImageInfo> {
        let json = self.output(&["image", "inspect", "--format", "{{json .}}", image], Duration::from_secs(30))?;
        ImageInfo::parse(&json).map_err(|e| error(format!("docker image inspect {image}: {e}")))
    }

    /// The image's size unpacked. On the classic image store that is the sum
    /// of its layers, as `docker images` and `docker image inspect` show it
    /// (read here from `docker history`). On the containerd store `inspect`
    /// gives the compressed size, `docker images` both added up, and
    /// `history` fails for an image of another platform than the engine's:
    /// there it is the sum of the files the image holds (`docker export`),
    /// the same figure wherever no layer replaces another's files.
    pub fn image_size(&self, image: &str) -> Result<u64> {
        let (shown, sizes) = if self.containerd_store {
            let listing = self.in_created_container(image, |id| {
                (format!("docker export {id} | tar -tv"), self.cmd(["export", id]).pipe(duct::cmd!("tar", "-tv")))
            })?;
            // GNU tar: `-rw-r--r-- 0/0 1191112 2026-11-30 12:00 app`; `-` is a regular file.
            // A line without a size field is kept whole, so that it fails to parse below.
            let listing = String::from_utf8_lossy(&listing).into_owned();
            let files = listing.lines().filter(|l| l.starts_with('-'));
            let sizes = files.map(|l| l.split_whitespace().nth(2).unwrap_or(l).to_string()).collect::<Vec<_>>();
            ("docker export | tar -tv", sizes)
        } else {
            let history =
                self.output(&["history", "--human=false", "--format", "{{.Size}}", image], Duration::from_secs(30))?;
            ("docker history", history.lines().map(|l| l.trim().to_string()).collect())
        };
        sizes.iter().map(|size| size.parse::<u64>().map_err(|_| error(format!("{shown} {image}: size {size:?}")))).sum()
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
        let ran = process::check(&format!("{shown} ({image})"), ran).map_err(error)?;
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

/// A count of free places, taken and given back (a semaphore).
struct Slots {
    free: std::sync::Mutex<usize>,
    given_back: std::sync::Condvar,
}

/// How many times a build that failed for the network is run in all.
const BUILD_ATTEMPTS: usize = 2;

/// Why a failed build failed for a cause that says nothing about the
/// Dockerfile or the crate, if its log shows one: crates.io not answering
/// in time, or the containerd image store (Engine 26) missing a layer's
/// parent snapshot while it unpacks a build whose steps all succeeded.
fn failure_outside_the_build(log: &str) -> Option<&'static str> {
    if failed_for_the_network(log) {
        return Some("a crates.io download failed");
    }
    let lost_snapshot = |line: &str| {
        line.contains("failed to prepare extraction snapshot") && line.contains("does not exist: not found")
    };
    log.lines().any(lost_snapshot).then_some("the engine's image store lost a snapshot while unpacking the image")
}

/// Whether a failed build's log shows cargo giving up on crates.io (a
/// download that timed out, or a connection that broke), rather than
/// anything the Dockerfile or the crate did.
pub fn failed_for_the_network(log: &str) -> bool {
    log.lines().any(|line| {
        // BuildKit leads each line with `#<step> <seconds>`.
        let said = line.trim_start_matches(|c: char| c == '#' || c == '.' || c == ' ' || c.is_ascii_digit());
        said.starts_with("curl failed") || said.starts_with("error: failed to download from")
    })
}

/// Builds that may run at once in one process: as many as this machine's
/// two cores, which they compete for.
pub const BUILDS_AT_ONCE: usize = 2;

static BUILD_SLOTS: Slots =
    Slots { free: std::sync::Mutex::new(BUILDS_AT_ONCE), given_back: std::sync::Condvar::new() };

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        // The count is right whatever panicked while holding it.
        self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(&'static self) -> Slot {
        let mut free = self.lock();
        while *free == 0 {
            free = self.given_back.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

/// A place taken from [`Slots`], given back when dropped.
struct Slot(&'static Slots);

impl Drop for Slot {
    fn drop(&mut self) {
        *self.0.lock() += 1;
        self.0.given_back.notify_one();
    }
}

/// Whether `docker run` failed before the container's program started: the
/// engine could not create its task (exit status 125).
fn never_started(run: &Output) -> bool {
    run.status.code() == Some(125)
        && String::from_utf8_lossy(&run.stderr).contains("failed to create task for container")
}

/// The total of a `docker builder prune` report: "Total reclaimed space: 2.5MB"
/// (Engine 20.10) or "Total:\t2.5MB" (26).
fn reclaimed(prune_output: &str) -> Option<&str> {
    let total = prune_output.lines().rev().find(|line| line.starts_with("Total"))?;
    total.split_whitespace().last().filter(|size| size.ends_with('B'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn exited(code: i32, stderr: &str) -> Output {
        Output { status: std::process::ExitStatus::from_raw(code << 8), stdout: Vec::new(), stderr: stderr.into() }
    }

    #[test]
    fn a_snapshot_lost_while_unpacking_is_no_fault_of_the_build() {
        let lost = "#16 ERROR: failed to prepare extraction snapshot \"extract-733927089-u_QT sha256:6d75\": \
                    parent snapshot sha256:4645 does not exist: not found\n";
        assert!(failure_outside_the_build(lost).is_some_and(|cause| cause.contains("snapshot")));
        let compile_error = "#11 4.2 error[E0308]: mismatched types\n#11 4.3 error: could not compile `my-project`\n";
        assert_eq!(failure_outside_the_build(compile_error), None);
        assert!(failure_outside_the_build("#12 30.58   curl failed\n").is_some_and(|c| c.contains("crates.io")));
    }

    #[test]
    fn only_cargo_giving_up_on_crates_io_counts_as_a_network_failure() {
        let timed_out = "#12 30.58   download of pr/oc/proc-macro2 failed\n#12 30.58 \n#12 30.58 Caused by:\n\
                         #12 30.58   curl failed\n#12 30.58 \n#12 30.58 Caused by:\n#12 30.58   [28] Timeout was reached\n";
        assert!(failed_for_the_network(timed_out));
        assert!(failed_for_the_network("error: failed to download from `https://static.crates.io/api/v1/x`\n"));
        let compile_error = "#11 4.2 error[E0308]: mismatched types\n#11 4.3 error: could not compile `my-project`\n";
        assert!(!failed_for_the_network(compile_error));
        assert!(!failed_for_the_network("#9 1.0 warning: spurious network error (2 tries remaining): curl failed\n"));
    }

    #[test]
    fn a_slot_is_given_back_when_dropped_and_waited_for_when_none_is_free() {
        static SLOTS: Slots =
            Slots { free: std::sync::Mutex::new(BUILDS_AT_ONCE), given_back: std::sync::Condvar::new() };
        let (running, most) = (std::sync::atomic::AtomicUsize::new(0), std::sync::atomic::AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..5 {
                scope.spawn(|| {
                    let _slot = SLOTS.take();
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    // Hold until every slot is taken, however slowly threads start.
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    while most.load(std::sync::atomic::Ordering::SeqCst) < BUILDS_AT_ONCE
                        && std::time::Instant::now() < deadline
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), BUILDS_AT_ONCE);
        assert_eq!(*SLOTS.lock(), BUILDS_AT_ONCE, "every slot was given back");
    }

    #[test]
    fn only_a_container_that_never_started_is_run_again() {
        let runc = "docker: Error response from daemon: failed to create task for container: failed to create shim \
                    task: OCI runtime create failed: runc create failed: unable to start container process: waiting \
                    for init preliminary setup: read init-p: connection reset by peer: unknown.";
        assert!(never_started(&exited(125, runc)));
        // The program ran and failed, or docker refused the command: as they are.
        assert!(!never_started(&exited(1, runc)));
        assert!(!never_started(&exited(125, "docker: invalid reference format.")));
        assert!(!never_started(&exited(0, "")));
    }

    #[test]
    fn a_prune_report_gives_its_total_on_either_engine() {
        assert_eq!(
            reclaimed("Deleted build cache objects:\nq4b7omj\n\nTotal reclaimed space: 235.1kB"),
            Some("235.1kB")
        );
        assert_eq!(reclaimed("Total reclaimed space: 0B"), Some("0B"));
        assert_eq!(reclaimed("ID\tRECLAIMABLE\tSIZE\nk3x03bq*\ttrue\t507.9kB\nTotal:\t516.1kB"), Some("516.1kB"));
        assert_eq!(reclaimed("WARNING! This will remove all dangling build cache."), None);
    }
}
