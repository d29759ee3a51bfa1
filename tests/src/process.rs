//! Running a subprocess with a deadline.

use std::time::{Duration, Instant};

/// Runs a command, killing it if it outlives `timeout`.
pub fn run_with_timeout(expression: duct::Expression, timeout: Duration) -> std::io::Result<std::process::Output> {
    let handle = expression.unchecked().start()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(output) = handle.try_wait()? {
            return Ok(output.clone());
        }
        if Instant::now() >= deadline {
            handle.kill()?;
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("timed out after {}s", timeout.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
