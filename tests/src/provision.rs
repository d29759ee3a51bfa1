//! The machine's set-up, as the scripts do it: tools, engine, qemu and base
//! images (scripts/provision.sh), and the list of base images
//! (scripts/base-images.sh).

use std::io::Write;
use std::sync::OnceLock;

use crate::repo_root;

/// Runs scripts/provision.sh once per process: the one set-up that the demo
/// and the tests share (tools, engine, qemu, base images), quick when all is
/// there. Its lines go straight to stderr as they come, so that a test run's
/// set-up shows its progress (the test harness captures only `eprintln!`).
pub fn provision() -> Result<(), String> {
    provision_with(&mut |line| {
        let _ = writeln!(std::io::stderr(), "{line}");
    })
}

/// [`provision`], handing each line of the script's output to `on_line` as it
/// comes; the last lines are in the error too.
pub fn provision_with(on_line: &mut dyn FnMut(&str)) -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    if let Some(done) = DONE.get() {
        return done.clone();
    }
    let script = repo_root().join("scripts/provision.sh");
    let run = || -> Result<(), String> {
        let failed = |e: std::io::Error| format!("{}: {e}", script.display());
        let reader = duct::cmd!("bash", &script).stderr_to_stdout().unchecked().reader().map_err(failed)?;
        let mut tail = std::collections::VecDeque::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(&reader)) {
            let line = line.map_err(failed)?;
            on_line(&line);
            tail.push_back(line);
            if tail.len() > 30 {
                tail.pop_front();
            }
        }
        match reader.try_wait().map_err(failed)?.map(|output| output.status) {
            Some(status) if status.success() => Ok(()),
            status => Err(format!(
                "{} failed ({}):\n{}",
                script.display(),
                status.map_or("no exit status".to_string(), |s| s.to_string()),
                Vec::from(tail).join("\n")
            )),
        }
    };
    DONE.get_or_init(run).clone()
}

/// The base images the Dockerfiles name, as scripts/base-images.sh lists them.
pub fn base_images() -> Result<Vec<String>, String> {
    let script = repo_root().join("scripts/base-images.sh");
    let list = duct::cmd!("bash", &script, "--list").read().map_err(|e| format!("{} --list: {e}", script.display()))?;
    Ok(list.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}
