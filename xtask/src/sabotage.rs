//! `cargo xtask sabotage`: breaks, one at a time, a promise the HOWTO makes,
//! and checks that the test binary guarding it then fails with the message
//! that names that promise. A test suite that still passes has a hole.
//!
//! Each sabotage runs in a git worktree of HEAD in the temporary directory
//! (not inside the repository, whose workspace would claim my-project), so
//! the repository itself is never edited; uncommitted changes are not seen.
//! It runs one test binary (`cargo test -p howto-harness --test NAME`), the
//! one that must catch it, not the whole suite. When that binary is howto.rs,
//! the drift tests that compare HOWTO.md with the Dockerfiles are skipped:
//! they would catch every Dockerfile edit, whatever the edit breaks.
//!
//! What a sabotage waits for is a constant of `howto_harness::promises`,
//! which the guarding assertion prints: the unit tests below check that each
//! expected text is one of them and that the tests use each one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use howto_harness::{process, promises, repo_root};

use crate::progress::Progress;

pub struct Sabotage {
    pub name: &'static str,
    /// The promise it breaks, as the HOWTO makes it.
    pub promise: &'static str,
    /// In one file of the worktree: `from` becomes `to`.
    pub edit: Option<Edit>,
    /// Set for the test command.
    pub env: &'static [(&'static str, &'static str)],
    /// The test binary that must catch it: tests/tests/{test}.rs, run alone
    /// with `cargo test --test {test}`.
    pub test: &'static str,
    /// What the failing test must say: one of `howto_harness::promises`.
    pub expect: &'static str,
}

/// The test binary holding the drift tests (tests/tests/howto.rs).
const DRIFT_BINARY: &str = "howto";

/// The tests in tests/tests/howto.rs that compare HOWTO.md with the
/// Dockerfiles, skipped when a sabotage runs that binary.
const DRIFT_TESTS: [&str; 2] =
    ["every_file_shown_whole_is_byte_identical", "every_dockerfile_excerpt_is_a_run_of_real_lines"];

pub struct Edit {
    pub file: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

const CACHE_COPY: &str = "COPY --from=builder /app/target/${PROFILE}/${APP_NAME} /usr/local/bin/app\n";

pub const SABOTAGES: &[Sabotage] = &[
    Sabotage {
        name: "stray-file",
        promise: "the runtime image holds the binary and what it needs, nothing from the build",
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.dependency-cache",
            from: CACHE_COPY,
            to: "COPY --from=builder /app/target/${PROFILE}/${APP_NAME} /usr/local/bin/app\n\
                 COPY --from=builder /app/Cargo.toml /usr/local/share/Cargo.toml\n",
        }),
        env: &[],
        test: "variants",
        expect: promises::SAME_RUNTIME_FILES,
    },
    Sabotage {
        name: "sources-before-cook",
        promise: "after a source edit, the dependencies (cargo chef cook) come from the cache",
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.dependency-cache",
            from: "COPY --from=planner /app/recipe.json recipe.json\n",
            to: "COPY . .\nCOPY --from=planner /app/recipe.json recipe.json\n",
        }),
        env: &[],
        test: "caching",
        expect: promises::COOK_CACHED,
    },
    Sabotage {
        name: "auditable-ignored",
        promise: "with AUDITABLE=1 the binary carries its crates and their versions",
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.dependency-cache",
            from: "RUN cargo ${AUDITABLE:+auditable} build --profile",
            to: "RUN cargo build --profile",
        }),
        env: &[],
        test: "sbom",
        expect: promises::AUDITABLE_LIST,
    },
    Sabotage {
        name: "root-runtime",
        promise: "the program runs as the numeric non-root user 10001:10001",
        edit: Some(Edit { file: "dockerfiles/Dockerfile.multistage", from: "USER 10001:10001\n", to: "" }),
        env: &[],
        test: "variants",
        expect: promises::NON_ROOT_USER,
    },
    Sabotage {
        name: "openssl-in-runtime",
        promise: "a Debian runtime gets the CA bundle alone, not the openssl tool that ca-certificates installs",
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.multistage",
            from: "ARG RUNTIME_PACKAGES=\"\"\n",
            to: "ARG RUNTIME_PACKAGES=\"ca-certificates\"\n",
        }),
        env: &[],
        test: "variants",
        expect: promises::NO_OPENSSL_IN_RUNTIME,
    },
    Sabotage {
        name: "no-init",
        promise: "docker stop ends a program that has no SIGTERM handler at once",
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.multistage",
            from: "ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"/usr/local/bin/app\"]",
            to: "ENTRYPOINT [\"/usr/local/bin/app\"]",
        }),
        env: &[],
        test: "services",
        expect: promises::STOPS_AT_ONCE,
    },
    Sabotage {
        name: "no-dns-in-scratch",
        promise: "a static binary in scratch resolves names through the DNS servers /etc/resolv.conf names",
        // An nsswitch.conf copied from elsewhere that looks in /etc/hosts alone.
        edit: Some(Edit {
            file: "dockerfiles/Dockerfile.static",
            from: "    && mkdir -p /scratch-root/tmp && chmod 1777 /scratch-root/tmp\n",
            to: "    && mkdir -p /scratch-root/tmp /scratch-root/etc && chmod 1777 /scratch-root/tmp \\\n    \
                 && echo 'hosts: files' > /scratch-root/etc/nsswitch.conf\n",
        }),
        env: &[],
        test: "services",
        expect: promises::RESOLVES_THROUGH_DNS,
    },
    Sabotage {
        name: "skip-in-ci",
        promise: "in CI every Docker test runs: a skip is refused",
        edit: None,
        env: &[("RCH_SKIP_DOCKER_TESTS", "1"), ("CI", "1")],
        test: "variants",
        expect: promises::NO_SKIP_IN_CI,
    },
    Sabotage {
        name: "no-engine",
        promise: "without an engine the Docker tests fail and say why",
        edit: None,
        env: &[("DOCKER", "/nonexistent/docker")],
        test: "variants",
        expect: promises::ENGINE_NEEDED,
    },
];

/// Whether a sabotage was caught: the test command failed, and its output
/// named the promise.
pub struct Outcome {
    pub name: &'static str,
    pub test: &'static str,
    pub caught: bool,
    pub detail: String,
    pub took: Duration,
}

pub fn run(only: Option<&str>) -> Result<(), String> {
    let chosen: Vec<&Sabotage> = SABOTAGES.iter().filter(|s| only.is_none_or(|name| s.name == name)).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = SABOTAGES.iter().map(|s| s.name).collect();
        return Err(format!("no sabotage named {:?}; there are {}", only.unwrap_or(""), names.join(", ")));
    }
    let started = Instant::now();
    let head = git(repo_root(), &["rev-parse", "--short", "HEAD"])?;
    let mut progress = Progress::new(1 + chosen.len());
    progress.step(&format!("a worktree of HEAD ({head}) in {}", Worktree::base().display()));
    let worktree = Worktree::add()?;

    let mut outcomes = Vec::new();
    for sabotage in chosen {
        progress.step(&format!("{} (--test {}): {}", sabotage.name, sabotage.test, sabotage.promise));
        let outcome = worktree.try_sabotage(sabotage)?;
        progress.note(&format!("{}: {}", if outcome.caught { "caught" } else { "NOT CAUGHT" }, outcome.detail));
        outcomes.push(outcome);
    }
    progress.finish();

    println!("| sabotage | test binary | caught | seconds | what the tests said |\n|---|---|---|---:|---|");
    for o in &outcomes {
        let said = o.detail.lines().next().unwrap_or_default();
        let caught = if o.caught { "yes" } else { "**no**" };
        println!("| {} | {} | {caught} | {:.0} | {said} |", o.name, o.test, o.took.as_secs_f64());
    }
    let cases: Duration = outcomes.iter().map(|o| o.took).sum();
    println!("total: {:.0} s, {:.0} s of them in the test runs", started.elapsed().as_secs_f64(), cases.as_secs_f64());
    let missed: Vec<&str> = outcomes.iter().filter(|o| !o.caught).map(|o| o.name).collect();
    if missed.is_empty() { Ok(()) } else { Err(format!("the tests did not catch: {}", missed.join(", "))) }
}

/// A git worktree of HEAD at a fixed path, so that cargo's build of it is
/// reused from one run to the next; removed when dropped.
struct Worktree {
    path: PathBuf,
}

impl Worktree {
    fn base() -> PathBuf {
        std::env::temp_dir().join("rust-container-howto-sabotage")
    }

    fn add() -> Result<Worktree, String> {
        let path = Worktree::base().join("tree");
        if path.exists() {
            // What a killed run left.
            let _ = git(repo_root(), &["worktree", "remove", "--force", path.to_str().ok_or("a UTF-8 path")?]);
            let _ = std::fs::remove_dir_all(&path);
            git(repo_root(), &["worktree", "prune"])?;
        }
        git(repo_root(), &["worktree", "add", "--detach", path.to_str().ok_or("a UTF-8 path")?, "HEAD"])?;
        Ok(Worktree { path })
    }

    fn try_sabotage(&self, sabotage: &Sabotage) -> Result<Outcome, String> {
        git(&self.path, &["checkout", "--", "."])?;
        if let Some(edit) = &sabotage.edit {
            let file = self.path.join(edit.file);
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            if !text.contains(edit.from) {
                return Err(format!(
                    "{}: {} no longer contains {:?}; update the sabotage",
                    sabotage.name, edit.file, edit.from
                ));
            }
            std::fs::write(&file, text.replacen(edit.from, edit.to, 1))
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
        let started = Instant::now();
        let args = test_command(sabotage.test);
        let mut command = duct::cmd("cargo", args)
            .dir(&self.path)
            .env("CARGO_TARGET_DIR", Worktree::base().join("target"))
            .stderr_to_stdout()
            .stdout_capture()
            .unchecked();
        for (key, value) in sabotage.env {
            command = command.env(key, value);
        }
        let output = command.run().map_err(|e| format!("{}: cargo test: {e}", sabotage.name))?;
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&output.stdout);
        let named = text.contains(sabotage.expect);
        let failed_tests: Vec<&str> =
            text.lines().filter_map(|l| l.strip_prefix("test ").and_then(|l| l.strip_suffix(" ... FAILED"))).collect();
        let detail = match (output.status.success(), named) {
            (true, _) => "cargo test passed".to_string(),
            (false, true) => format!("{} failed: \"{}\"", failed_tests.join(", "), sabotage.expect),
            (false, false) => {
                let said = panic_messages(&text);
                let said = if said.is_empty() { process::tail(&output, 20) } else { said.join("\n") };
                format!(
                    "cargo test failed ({}), without saying \"{}\"; it said:\n{said}",
                    failed_tests.join(", "),
                    sabotage.expect
                )
            }
        };
        Ok(Outcome {
            name: sabotage.name,
            test: sabotage.test,
            caught: !output.status.success() && named,
            detail,
            took,
        })
    }
}

/// What the failed tests said, each message once (its first lines): what
/// a test command's end, a backtrace, would not show.
fn panic_messages(text: &str) -> Vec<String> {
    let mut messages: Vec<String> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !(line.starts_with("thread '") && line.contains(" panicked at ")) {
            continue;
        }
        let message: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.is_empty() && !l.starts_with("stack backtrace:") && !l.starts_with("note: "))
            .take(6)
            .collect();
        let message = message.join("\n");
        if !message.is_empty() && !messages.contains(&message) {
            messages.push(message);
        }
    }
    messages.truncate(4);
    messages
}

/// The arguments of `cargo` that run one test binary, with the drift tests
/// skipped if it is theirs.
fn test_command(test: &str) -> Vec<&str> {
    let mut args = vec!["test", "-p", "howto-harness", "--locked", "--test", test, "--"];
    if test == DRIFT_BINARY {
        for drift in DRIFT_TESTS {
            args.extend(["--skip", drift]);
        }
    }
    args
}

impl Drop for Worktree {
    fn drop(&mut self) {
        if let Some(path) = self.path.to_str() {
            let _ = git(repo_root(), &["worktree", "remove", "--force", path]);
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let shown = format!("git {}", args.join(" "));
    let output = duct::cmd("git", args)
        .dir(dir)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| format!("{shown}: {e}"))?;
    let output = process::check(&shown, output)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust sources an assertion may live in: the test binaries, their
    /// shared support module, and the harness library (promises.rs aside,
    /// which declares the texts). Name and text, read as they are.
    fn test_sources() -> Vec<(String, String)> {
        let mut sources = Vec::new();
        for dir in ["tests/src", "tests/tests", "tests/tests/support"] {
            let entries = std::fs::read_dir(repo_root().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests/src/promises.rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    let name = path.strip_prefix(repo_root()).expect("under the root").display().to_string();
                    sources.push((name, text));
                }
            }
        }
        assert!(sources.len() > 10, "found only {} test sources", sources.len());
        sources
    }

    /// Whether `source` uses `promises::{name}` outside a comment or a `use`
    /// line: what an assertion that prints it looks like.
    fn uses(source: &str, name: &str) -> bool {
        let path = format!("promises::{name}");
        source.lines().map(str::trim_start).filter(|l| !l.starts_with("//") && !l.starts_with("use ")).any(|line| {
            line.match_indices(&path).any(|(at, _)| {
                !line[at + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    && !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
    }

    #[test]
    fn uses_finds_a_constant_by_its_whole_name() {
        assert!(uses("    panic!(\"{}\", promises::COOK_CACHED);", "COOK_CACHED"));
        assert!(!uses("    panic!(\"{}\", promises::COOK_CACHED_TOO);", "COOK_CACHED"));
        assert!(!uses("    panic!(\"{}\", not_promises::COOK_CACHED);", "COOK_CACHED"));
        assert!(!uses("    // promises::COOK_CACHED", "COOK_CACHED"));
        assert!(!uses("use howto_harness::promises::COOK_CACHED;", "COOK_CACHED"));
    }

    /// A sabotage that waits for a text no assertion prints reports NOT
    /// CAUGHT while the suite catches it: each must wait for a promise's
    /// constant, which the assertion prints.
    #[test]
    fn every_sabotage_expects_a_promise_constant() {
        for sabotage in SABOTAGES {
            assert!(
                promises::name_of(sabotage.expect).is_some(),
                "{}: expects {:?}, which is none of howto_harness::promises::ALL",
                sabotage.name,
                sabotage.expect
            );
        }
    }

    #[test]
    fn every_promise_is_printed_by_an_assertion_in_the_tests() {
        let sources = test_sources();
        for (name, _) in promises::ALL {
            assert!(
                sources.iter().any(|(_, text)| uses(text, name)),
                "no assertion in tests/ prints promises::{name}: a sabotage of it could never be caught"
            );
        }
    }

    /// The binary a sabotage runs must be able to print its promise: the
    /// constant is used in that binary's file, in the support module it
    /// includes, or in the harness library.
    #[test]
    fn each_sabotage_runs_a_binary_that_asserts_its_promise() {
        let sources = test_sources();
        for sabotage in SABOTAGES {
            let name = promises::name_of(sabotage.expect).unwrap_or("?");
            let binary = format!("tests/tests/{}.rs", sabotage.test);
            let own = sources.iter().find(|(path, _)| *path == binary);
            let (_, own) = own.unwrap_or_else(|| panic!("{}: there is no test binary {binary}", sabotage.name));
            let reachable = |path: &str| {
                *path == binary
                    || path.starts_with("tests/src/")
                    || (path.starts_with("tests/tests/support/") && own.contains("mod support;"))
            };
            assert!(
                sources.iter().any(|(path, text)| reachable(path) && uses(text, name)),
                "{}: {binary} cannot print promises::{name}",
                sabotage.name
            );
        }
    }

    /// A promise no sabotage breaks has no place among them.
    #[test]
    fn every_promise_is_broken_by_a_sabotage() {
        for (name, text) in promises::ALL {
            assert!(SABOTAGES.iter().any(|s| s.expect == *text), "no sabotage breaks promises::{name}");
        }
    }

    /// The texts live in promises.rs alone: a copy elsewhere would drift.
    #[test]
    fn no_promise_text_is_copied() {
        let mut sources = test_sources();
        for entry in std::fs::read_dir(repo_root().join("xtask/src")).expect("xtask/src") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push((path.display().to_string(), std::fs::read_to_string(&path).expect("an xtask source")));
            }
        }
        for (name, text) in promises::ALL {
            for (path, source) in &sources {
                assert!(!source.contains(text), "{path} copies the text of promises::{name}; use the constant");
            }
        }
    }

    #[test]
    fn the_skipped_drift_tests_exist() {
        let path = format!("tests/tests/{DRIFT_BINARY}.rs");
        let tests = std::fs::read_to_string(repo_root().join(&path)).expect(&path);
        for test in DRIFT_TESTS {
            assert!(tests.contains(&format!("fn {test}()")), "{path} has no test {test}");
        }
    }

    #[test]
    fn one_binary_runs_and_the_drift_tests_are_skipped_in_theirs_alone() {
        let command = test_command("caching");
        assert_eq!(command, ["test", "-p", "howto-harness", "--locked", "--test", "caching", "--"]);
        let command = test_command(DRIFT_BINARY);
        assert_eq!(command[..7], ["test", "-p", "howto-harness", "--locked", "--test", DRIFT_BINARY, "--"]);
        for test in DRIFT_TESTS {
            assert!(command.windows(2).any(|w| w == ["--skip", test]), "{command:?}");
        }
    }

    #[test]
    fn a_miss_shows_what_the_failed_tests_said_once() {
        let text = "running 2 tests\n\
            thread 'a' (11) panicked at tests/tests/support/mod.rs:29:9:\n\
            the set-up failed: it stopped\n\
            stack backtrace:\n   0: frames\n\
            thread 'b' (12) panicked at tests/tests/support/mod.rs:29:9:\n\
            the set-up failed: it stopped\n\
            note: Some details are omitted\n\
            thread 'c' (13) panicked at tests/tests/variants.rs:55:9:\n\
            assertion `left == right` failed: x\n  left: \"\"\n right: \"10001:10001\"\n\n\
            test result: FAILED.\n";
        assert_eq!(
            panic_messages(text),
            [
                "the set-up failed: it stopped",
                "assertion `left == right` failed: x\n  left: \"\"\n right: \"10001:10001\""
            ]
        );
        assert!(panic_messages("test result: ok.\n").is_empty());
    }

    /// A sabotage whose edit no longer applies would fail at run time; catch
    /// it here, where no engine is needed.
    #[test]
    fn every_edit_applies_to_the_files_as_they_are() {
        for sabotage in SABOTAGES {
            if let Some(edit) = &sabotage.edit {
                let text = std::fs::read_to_string(repo_root().join(edit.file)).expect(edit.file);
                assert_eq!(text.matches(edit.from).count(), 1, "{}: {:?} in {}", sabotage.name, edit.from, edit.file);
            }
        }
    }
}
