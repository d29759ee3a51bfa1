//! Running a test's scenarios side by side.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many scenarios run at once: one more than the builds a process runs
/// at once, so that while those build, the last one runs its containers,
/// exports and emulated arm64 programs, which wait on Docker.
pub const AT_ONCE: usize = crate::docker::BUILDS_AT_ONCE + 1;

/// Runs `scenario` for each item, [`AT_ONCE`] at a time, starting them in
/// the order given. Each scenario must stand alone: its own scratch copy,
/// images and nonces. The first scenario to fail fails the call with its own
/// message, and no scenario starts after it.
pub fn side_by_side<T: Send>(items: impl IntoIterator<Item = T>, scenario: impl Fn(T) + Sync) {
    let queue = Mutex::new(items.into_iter().collect::<VecDeque<T>>());
    let failed = AtomicBool::new(false);
    // Workers are named after the test, so that each build's report line says whose it is.
    let name = std::thread::current().name().unwrap_or("scenario").to_string();
    std::thread::scope(|scope| {
        let worker = || loop {
            if failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let Some(item) = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front() else {
                return Ok(());
            };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| scenario(item))) {
                failed.store(true, Ordering::SeqCst);
                return Err(panic);
            }
        };
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                std::thread::Builder::new().name(name.clone()).spawn_scoped(scope, worker).expect("spawn a worker")
            })
            .collect();
        let results: Vec<_> = workers.into_iter().map(|w| w.join().expect("a worker catches its panics")).collect();
        if let Some(Err(panic)) = results.into_iter().find(Result::is_err) {
            resume_unwind(panic);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn every_item_runs_and_never_more_than_at_once_allows() {
        let (running, most, done) = (AtomicUsize::new(0), AtomicUsize::new(0), Mutex::new(Vec::new()));
        side_by_side(0..6, |item| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Hold until AT_ONCE run together, however slowly threads start;
            // the bound makes too few workers a failure, not a hang.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while most.load(Ordering::SeqCst) < AT_ONCE && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
            done.lock().unwrap().push(item);
        });
        let mut done = done.into_inner().unwrap();
        done.sort();
        assert_eq!(done, [0, 1, 2, 3, 4, 5]);
        assert_eq!(most.load(Ordering::SeqCst), AT_ONCE, "AT_ONCE at a time, and really that many");
    }

    #[test]
    fn the_first_failure_fails_the_call_with_its_message_and_stops_the_rest() {
        // The panic hook (a backtrace, in CI) runs before unwinding, and may
        // take long: the other scenarios end only once scenario 0 has unwound.
        struct Unwound<'a>(&'a AtomicBool);
        impl Drop for Unwound<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let (started, unwound) = (Mutex::new(Vec::new()), AtomicBool::new(false));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            side_by_side(0..10, |item| {
                started.lock().unwrap().push(item);
                if item == 0 {
                    let _unwound = Unwound(&unwound);
                    panic!("scenario {item} failed");
                }
                while !unwound.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                // From the guard's drop to the failure being recorded is a few instructions.
                std::thread::sleep(Duration::from_millis(100));
            })
        }));
        let panic = outcome.expect_err("a failed scenario fails the call");
        assert_eq!(panic.downcast_ref::<String>().map(String::as_str), Some("scenario 0 failed"));
        let started = started.into_inner().unwrap();
        assert!(started.len() <= AT_ONCE, "scenarios kept starting after the failure: {started:?}");
    }
}
