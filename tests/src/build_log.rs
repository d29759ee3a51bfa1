//! Reading BuildKit's plain progress output (`--progress=plain`): which
//! Dockerfile steps ran, which were CACHED, and what cargo compiled in them.

use std::time::Duration;

/// A build's log in BuildKit's plain progress format: each step is `#N` and
/// its header line (`#N [stage i/n] RUN ...`), then its output, then
/// `#N CACHED` or `#N DONE 12.3s`.
#[derive(Debug, Clone)]
pub struct BuildLog(pub String);

/// One Dockerfile step of a build, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's number in the log: `7` for `#7 ...`.
    pub number: String,
    /// e.g. `[builder 2/4] RUN cargo chef cook --release ...`
    pub name: String,
    pub cached: bool,
    /// BuildKit pulled layers under this step (`sha256:...` progress lines):
    /// a FROM's base image, or the step's own result from an imported cache.
    pub pulled: bool,
    pub output: Vec<String>,
    /// How long it ran, from its `#N DONE 12.3s` line (none if CACHED or failed).
    pub took: Option<Duration>,
}

/// A crate that cargo compiled during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub name: String,
    /// From a path (a workspace member or path dependency), not a registry.
    pub local: bool,
}

impl Step {
    /// Whether a RUN or COPY step's result was taken from a cache instead of
    /// being made again: `CACHED`, or, from an imported cache
    /// (`--cache-from`) whose layers had to be pulled, only that pull and no
    /// output of its own. Engine 26 (buildx 0.13) ends such a step `DONE`,
    /// not `CACHED`.
    pub fn taken_from_cache(&self) -> bool {
        self.cached || (self.pulled && self.output.is_empty())
    }

    /// The crates cargo compiled in this step, read from its
    /// `Compiling NAME vX.Y.Z` lines; a crate from a path has `(PATH)` after
    /// its version.
    pub fn compiled(&self) -> Vec<Compiled> {
        self.output
            .iter()
            .filter_map(|line| {
                let mut words = line.trim().strip_prefix("Compiling ")?.split_whitespace();
                let name = words.next()?.to_string();
                words.next().filter(|version| version.starts_with('v'))?;
                Some(Compiled { name, local: words.next().is_some_and(|path| path.starts_with('(')) })
            })
            .collect()
    }
}

impl BuildLog {
    /// The Dockerfile steps (`[stage i/n] ...`), in the order they started.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<(String, Step)> = Vec::new();
        for line in self.0.lines() {
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            let Some((number, text)) = rest.split_once(' ') else {
                continue;
            };
            if !number.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if let Some(step) = steps.iter_mut().find(|(n, _)| n == number) {
                let step = &mut step.1;
                if text == "CACHED" {
                    step.cached = true;
                } else if let Some(seconds) = text.strip_prefix("DONE ").and_then(|t| t.strip_suffix('s')) {
                    step.took = seconds.parse().ok().map(Duration::from_secs_f64);
                } else if text.starts_with("sha256:") || text.starts_with("extracting sha256:") {
                    step.pulled = true;
                } else if let Some((_, out)) = text.split_once(' ').filter(|(t, _)| t.parse::<f64>().is_ok()) {
                    step.output.push(out.to_string());
                }
            } else if text.starts_with('[') && !text.starts_with("[internal]") && !text.starts_with("[auth]") {
                let step = Step {
                    number: number.to_string(),
                    name: text.to_string(),
                    cached: false,
                    pulled: false,
                    output: Vec::new(),
                    took: None,
                };
                steps.push((number.to_string(), step));
            }
        }
        steps.into_iter().map(|(_, step)| step).collect()
    }

    /// The step whose header contains `needle` (e.g. `cargo chef cook`).
    pub fn step(&self, needle: &str) -> Option<Step> {
        self.steps().into_iter().find(|s| s.name.contains(needle))
    }

    /// The step that compiles the crate: `cargo build --profile …` (or
    /// `cargo ${AUDITABLE:+auditable} build …`), never the cook.
    pub fn cargo_build(&self) -> Option<Step> {
        self.step(" build --")
    }

    /// How many steps were CACHED, out of how many.
    pub fn cache_hits(&self) -> (usize, usize) {
        let steps = self.steps();
        (steps.iter().filter(|s| s.cached).count(), steps.len())
    }

    /// One line per step: its header and whether it was `CACHED` or ran,
    /// which says where a cache miss began when the tail no longer does.
    pub fn summary(&self) -> String {
        let line = |s: Step| format!("#{} {} {}", s.number, s.name, if s.cached { "CACHED" } else { "(ran)" });
        self.steps().into_iter().map(line).collect::<Vec<_>>().join("\n")
    }

    /// The step that ran longest, with its time.
    pub fn slowest(&self) -> Option<(Step, Duration)> {
        self.steps().into_iter().filter_map(|s| s.took.map(|t| (s, t))).max_by_key(|(_, t)| *t)
    }

    /// The last `n` lines.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.0.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real logs, as the engines printed them (testdata/README.md says how
    // each was made).
    const CACHED_20_10: &str = include_str!("testdata/engine20.10-cache-mount-all-cached.log");
    const EDITED_20_10: &str = include_str!("testdata/engine20.10-cache-mount-after-edit.log");
    const CARGO_LOG_20_10: &str = include_str!("testdata/engine20.10-cache-mount-cold-cargo-log.log");
    const CACHED_BUILDX_0_13: &str = include_str!("testdata/buildx0.13-multistage-all-cached.log");
    const FROM_REGISTRY_26: &str =
        include_str!("testdata/engine26-dependency-cache-from-a-registry-cache-after-edit.log");

    fn log(text: &str) -> BuildLog {
        BuildLog(text.to_string())
    }

    /// Each step's number and whether it was CACHED, in the order they started.
    fn numbers(log: &BuildLog) -> Vec<(String, bool)> {
        log.steps().into_iter().map(|s| (s.number, s.cached)).collect()
    }

    fn expected(steps: &[(&str, bool)]) -> Vec<(String, bool)> {
        steps.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    /// The registry crates the deps-heavy fixture compiles, in the order of
    /// the after-edit log.
    const DEPS_HEAVY_REGISTRY: [&str; 28] = [
        "proc-macro2",
        "unicode-ident",
        "quote",
        "memchr",
        "syn",
        "serde_core",
        "utf8parse",
        "anstyle-parse",
        "is_terminal_polyfill",
        "anstyle-query",
        "colorchoice",
        "anstyle",
        "zmij",
        "anstream",
        "aho-corasick",
        "heck",
        "serde",
        "strsim",
        "regex-syntax",
        "clap_lex",
        "serde_json",
        "clap_builder",
        "regex-automata",
        "clap_derive",
        "serde_derive",
        "itoa",
        "clap",
        "regex",
    ];

    #[test]
    fn an_all_cached_build_has_its_dockerfile_steps_and_no_internal_ones() {
        let log = log(CACHED_20_10);
        let steps = log.steps();
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 8, "{names:#?}");
        assert_eq!(names[0], "[builder 1/5] FROM docker.io/library/rust:1.96-slim-trixie");
        assert_eq!(
            names[1],
            "[runtime 1/3] FROM docker.io/library/debian:trixie-slim@sha256:\
             d46662c4c6b2c8f401c424a595e2b89a692a8a639eb92653bfd1063e1ba71b4e"
        );
        assert!(names[2].starts_with("[builder 5/5] RUN --mount=type=cache,id=cargo-registry,"), "{}", names[2]);
        assert!(names[2].ends_with(r#"&& cp "target/release/deps-heavy" /usr/local/bin/app"#), "{}", names[2]);
        assert_eq!(names[3], "[builder 4/5] COPY . .");
        assert_eq!(names[6], "[builder 3/5] WORKDIR /usr/src/app");
        assert_eq!(names[7], "[runtime 3/3] COPY --from=builder /usr/local/bin/app /usr/local/bin/app");
        assert_eq!(
            numbers(&log),
            expected(&[
                ("7", false),
                ("5", false),
                ("12", true),
                ("11", true),
                ("8", true),
                ("6", true),
                ("9", true),
                ("13", true)
            ])
        );
        // FROM steps end DONE, never CACHED: 6 of 8 is the most a build can show.
        assert_eq!(log.cache_hits(), (6, 8));
        let build = log.cargo_build().expect("the cargo build step");
        assert_eq!((build.number.as_str(), build.cached, build.compiled()), ("12", true, vec![]));
    }

    #[test]
    fn a_rebuild_after_an_edit_runs_the_steps_from_copy_on() {
        let log = log(EDITED_20_10);
        assert_eq!(
            numbers(&log),
            expected(&[
                ("7", false),
                ("5", false),
                ("8", true),
                ("9", true),
                ("11", false),
                ("12", false),
                ("6", true),
                ("13", true)
            ])
        );
        assert_eq!(log.cache_hits(), (4, 8));
        let summary = log.summary();
        assert_eq!(summary.lines().count(), 8, "{summary}");
        assert!(summary.lines().any(|l| l.starts_with("#11 ") && l.ends_with(" (ran)")), "{summary}");
        assert!(summary.lines().any(|l| l.starts_with("#8 ") && l.ends_with(" CACHED")), "{summary}");
        assert_eq!(log.step("COPY . .").map(|s| s.output), Some(vec![]), "COPY printed nothing");
        assert!(log.step("no such step").is_none());
        let (slowest, took) = log.slowest().expect("steps that ran");
        assert_eq!((slowest.number.as_str(), took), ("12", Duration::from_millis(44_100)));
        assert_eq!(log.step("COPY . .").and_then(|s| s.took), Some(Duration::from_millis(100)), "#11 DONE 0.1s");
        assert_eq!(log.step("[builder 3/5] WORKDIR").and_then(|s| s.took), None, "CACHED");
    }

    #[test]
    fn the_crates_cargo_compiled_are_read_with_where_they_came_from() {
        let build = log(EDITED_20_10).step("cargo build --release --locked").expect("the cargo build step");
        assert_eq!(build.number, "12");
        let compiled = build.compiled();
        let registry: Vec<&str> = compiled.iter().filter(|c| !c.local).map(|c| c.name.as_str()).collect();
        let local: Vec<&str> = compiled.iter().filter(|c| c.local).map(|c| c.name.as_str()).collect();
        assert_eq!(registry, DEPS_HEAVY_REGISTRY);
        assert_eq!(local, ["deps-heavy"]);
        assert_eq!(compiled.last().map(|c| c.name.as_str()), Some("deps-heavy"), "the crate itself comes last");
        assert_eq!(build.output.first().map(String::as_str), Some("    Updating crates.io index"));
        assert_eq!(
            build.output.last().map(String::as_str),
            Some("    Finished `release` profile [optimized] target(s) in 43.74s")
        );
    }

    #[test]
    fn cargo_log_lines_between_compiling_lines_are_not_crates() {
        let log = log(CARGO_LOG_20_10);
        assert_eq!(log.cache_hits(), (5, 8));
        let build = log.cargo_build().expect("the cargo build step");
        assert!(!build.cached);
        assert!(build.output.iter().any(|l| l.contains("cargo::core::compiler::fingerprint")), "CARGO_LOG was on");
        let compiled = build.compiled();
        assert_eq!(compiled.len(), 29);
        let mut registry: Vec<&str> = compiled.iter().filter(|c| !c.local).map(|c| c.name.as_str()).collect();
        registry.sort_unstable();
        let mut expected = DEPS_HEAVY_REGISTRY;
        expected.sort_unstable();
        assert_eq!(registry, expected, "the same set as after the edit, in another order");
        assert_eq!(compiled.iter().filter(|c| c.local).map(|c| c.name.as_str()).collect::<Vec<_>>(), ["deps-heavy"]);
    }

    #[test]
    fn buildx_logs_read_the_same() {
        let log = log(CACHED_BUILDX_0_13);
        assert!(log.0.starts_with("#0 building with \"default\" instance"), "#0 is buildx's, not a step");
        assert_eq!(
            numbers(&log),
            expected(&[
                ("5", false),
                ("6", false),
                ("8", true),
                ("9", true),
                ("10", true),
                ("11", true),
                ("12", true),
                ("13", true)
            ])
        );
        assert_eq!(log.cache_hits(), (6, 8));
        let build = log.cargo_build().expect("the cargo build step");
        assert_eq!(
            (build.name.starts_with("[builder 5/5] RUN cargo build --release --locked"), build.cached),
            (true, true)
        );
        assert_eq!(
            log.step("COPY --from").map(|s| s.name),
            Some("[runtime 3/3] COPY --from=builder /usr/src/app/target/release/my-project /usr/local/bin/app".into())
        );
    }

    #[test]
    fn a_step_pulled_from_an_imported_cache_is_taken_though_not_cached() {
        let log = log(FROM_REGISTRY_26);
        let cook = log.step("cargo chef cook").expect("the cook step");
        assert_eq!((cook.cached, cook.pulled, cook.output.len()), (false, true, 0));
        assert!(cook.taken_from_cache());
        let build = log.cargo_build().expect("the cargo build step");
        assert!(!build.taken_from_cache(), "it compiled the edit: {:?}", build.output);
        let workdir = log.step("WORKDIR").expect("the WORKDIR step");
        assert!(workdir.cached && workdir.pulled && workdir.taken_from_cache());
        let context = log.step("[planner 1/2] COPY . .").expect("the planner's COPY");
        assert!(!context.taken_from_cache());
    }

    #[test]
    fn tail_gives_the_last_lines() {
        let log = log(EDITED_20_10);
        assert_eq!(
            log.tail(3),
            "#14 writing image sha256:d8b1ae1a42bd76b6d685cfe0765c8cb92249896e4736b0f92e2cf58f4ef7003f done\n\
             #14 naming to docker.io/library/my-project-test:deps-heavy-22988-1 done\n\
             #14 DONE 0.0s"
        );
        assert_eq!(log.tail(usize::MAX), log.0.trim_end());
        assert_eq!(log.tail(0), "");
    }

    #[test]
    fn cargo_compiling_lines_tell_registry_crates_from_path_crates() {
        let step = Step {
            number: "9".into(),
            name: "[builder 4/4] RUN cargo build --release --locked".into(),
            cached: false,
            pulled: false,
            took: None,
            output: vec![
                "   Compiling serde v1.0.229".into(),
                "   Compiling greet v0.1.0 (/app/crates/greet)".into(),
                "warning: Compiling is a word in this line".into(),
                "    Finished `release` profile [optimized] target(s) in 0.56s".into(),
            ],
        };
        assert_eq!(
            step.compiled(),
            [Compiled { name: "serde".into(), local: false }, Compiled { name: "greet".into(), local: true }]
        );
    }
}
