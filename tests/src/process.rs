//! Running a subprocess with a deadline, and failing with what it said.

use std::io;
use std::process::Output;
use std::time::{Duration, Instant};

/// How many lines of a command's output a failure message shows.
pub const TAIL_LINES: usize = 40;

/// Runs a command, killing it if it outlives `timeout`. Its status is the
/// caller's to check (see [`check`]): some callers expect a failure.
pub fn run_with_timeout(expression: duct::Expression, timeout: Duration) -> io::Result<Output> {
    let handle = expression.unchecked().start()?;
    // A timeout too large for an `Instant` means no timeout.
    let finished = match Instant::now().checked_add(timeout) {
        Some(deadline) => handle.wait_deadline(deadline)?,
        None => Some(handle.wait()?),
    };
    if let Some(output) = finished {
        return Ok(output.clone());
    }
    handle.kill()?;
    // Reap it, and keep what it printed before it was killed: a hang is
    // easier to understand with its last lines.
    let partial = handle.wait_timeout(Duration::from_secs(10)).ok().flatten().map(|o| tail(o, TAIL_LINES));
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "timed out after {}s and was killed; the end of its output:\n{}",
            timeout.as_secs(),
            partial.unwrap_or_default()
        ),
    ))
}

/// `output` if its status is success, else a message that names the command
/// (`shown`), its status and the end of what it printed.
pub fn check(shown: &str, output: Output) -> Result<Output, String> {
    if output.status.success() {
        return Ok(output);
    }
    Err(format!("{shown} failed ({}); the end of its output:\n{}", output.status, tail(&output, TAIL_LINES)))
}

/// The last `n` lines of stderr, or of stdout if stderr is empty (a command
/// run with `stderr_to_stdout`).
pub fn tail(output: &Output, n: usize) -> String {
    let stream = if output.stderr.iter().all(u8::is_ascii_whitespace) { &output.stdout } else { &output.stderr };
    let text = String::from_utf8_lossy(stream);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_command_gives_its_output_whatever_its_status() {
        let out = run_with_timeout(
            duct::cmd!("sh", "-c", "echo out; echo err >&2; exit 3").stdout_capture().stderr_capture(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!((out.status.code(), &out.stdout[..], &out.stderr[..]), (Some(3), &b"out\n"[..], &b"err\n"[..]));
    }

    #[test]
    fn a_command_past_its_deadline_is_killed_and_says_so() {
        let started = Instant::now();
        let expression = duct::cmd!("sh", "-c", "echo started; exec sleep 30").stdout_capture();
        let error = run_with_timeout(expression, Duration::from_millis(300)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().starts_with("timed out after 0s and was killed"), "{error}");
        assert!(error.to_string().ends_with("\nstarted"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(20), "it waited for the command");
    }

    #[test]
    fn a_failure_names_the_command_its_status_and_its_last_lines() {
        let script = "for i in $(seq 1 50); do echo line $i; done >&2; exit 2";
        let out = run_with_timeout(duct::cmd!("sh", "-c", script).stderr_capture(), Duration::from_secs(30)).unwrap();
        let message = check("sh -c …", out).unwrap_err();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "sh -c … failed (exit status: 2); the end of its output:");
        assert_eq!((lines.len(), lines[1], lines[40]), (41, "line 11", "line 50"));
    }

    #[test]
    fn a_success_passes_through() {
        let out = run_with_timeout(duct::cmd!("true"), Duration::from_secs(30)).unwrap();
        assert!(check("true", out).is_ok());
    }
}
