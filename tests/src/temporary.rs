//! Images that live only as long as the run that made them: a unique tag, a
//! label naming the run's process, removal when the work ends, and a sweep of
//! what a killed run left behind (a kill skips every `Drop`).

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::client::BuildLabel;
use crate::{Docker, variants};

/// On every image built under a [`unique_tag`]: the process id of the run.
pub const RUN_LABEL: &str = "io.github.rust-container-howto.run";

/// A tag no other run or test uses: `my-project-test:<name>-<pid>-<n>`.
pub fn unique_tag(name: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{}-test:{name}-{}-{}", variants::IMAGE, std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The label the engine gives each image a run makes for a while:
/// [`RUN_LABEL`] with this process's id, on a tag [`unique_tag`] makes or
/// one on a throwaway loopback registry (`LocalRegistry`), which the
/// containerd image store also keeps locally after a `--push`. With it the
/// next run tells such an image from the HOWTO's, and removes it if this
/// run is killed ([`sweep_leftovers`]).
pub fn run_label() -> BuildLabel {
    BuildLabel {
        tag_prefixes: vec![format!("{}-test:", variants::IMAGE), "127.0.0.1:".to_string()],
        label: format!("{RUN_LABEL}={}", std::process::id()),
    }
}

/// Images made for a while (by a test or a measurement), removed when this
/// is dropped, whether the work succeeded or failed.
pub struct TempImages<'a> {
    docker: &'a Docker,
    tags: Vec<String>,
}

impl<'a> TempImages<'a> {
    pub fn new(docker: &'a Docker) -> TempImages<'a> {
        TempImages { docker, tags: Vec::new() }
    }

    /// A fresh tag from [`unique_tag`], to be removed later.
    pub fn tag(&mut self, what: &str) -> String {
        let tag = unique_tag(what);
        self.adopt(&tag);
        tag
    }

    /// Remembers a tag made elsewhere (a pull, a `docker tag`) for removal.
    pub fn adopt(&mut self, tag: &str) {
        self.tags.push(tag.to_string());
    }

    /// Removes the images now, e.g. a large one that should not wait.
    pub fn remove_all(&mut self) {
        self.docker.remove_images(&self.tags);
        self.tags.clear();
    }
}

impl Drop for TempImages<'_> {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Removes the images that carry [`RUN_LABEL`] of a process that is gone: a
/// run killed before its clean-up. Returns what it removed. Runs that are
/// still going keep theirs.
pub fn sweep_leftovers(docker: &Docker) -> Result<Vec<String>, String> {
    let timeout = Duration::from_secs(60);
    let listed = docker
        .output(
            &["image", "ls", "--filter", &format!("label={RUN_LABEL}"), "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"],
            timeout,
        )
        .map_err(|e| e.to_string())?;
    let mut removed = Vec::new();
    let mut failures = Vec::new();
    for line in listed.lines() {
        let (id, reference) =
            line.split_once(' ').ok_or_else(|| format!("unexpected `docker image ls` line: {line}"))?;
        let info = docker.inspect(id).map_err(|e| e.to_string())?;
        let Some(pid) = info.labels.get(RUN_LABEL).and_then(|pid| pid.parse::<u32>().ok()) else {
            continue;
        };
        if process_is_running(pid) {
            continue;
        }
        // An image with no tag left is named by its id.
        let target = if reference == "<none>:<none>" { id } else { reference };
        match docker.output(&["image", "rm", target], timeout) {
            Ok(_) => removed.push(target.to_string()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() { Ok(removed) } else { Err(failures.join("\n")) }
}

/// [`sweep_leftovers`] once per process, saying what it removed; a sweep
/// that fails is reported, not fatal: the run's own work is unaffected.
pub fn sweep_leftovers_once(docker: &Docker) {
    static DONE: OnceLock<()> = OnceLock::new();
    // Straight to stderr: the test harness would hold back `eprintln!`.
    let mut stderr = std::io::stderr();
    DONE.get_or_init(|| match sweep_leftovers(docker) {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => {
            let _ = writeln!(stderr, "removed {} image(s) left by killed runs: {}", removed.len(), removed.join(", "));
        }
        Err(e) => {
            let _ = writeln!(stderr, "warning: images left by killed runs could not all be removed:\n{e}");
        }
    });
}

fn process_is_running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_tags_are_labelled_and_the_howto_tags_are_not() {
        let label = run_label();
        let run = format!("{RUN_LABEL}={}", std::process::id());
        assert_eq!(label.for_tag(&unique_tag("x")), Some(run.as_str()));
        assert_eq!(label.for_tag("my-project:multistage"), None);
        assert_eq!(label.for_tag("my-project-testing:x"), None);
        assert_eq!(label.for_tag("127.0.0.1:46213/my-project:amd64"), Some(run.as_str()));
    }

    #[test]
    fn this_process_is_running_and_a_finished_one_is_not() {
        assert!(process_is_running(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        assert!(!process_is_running(pid));
    }
}
