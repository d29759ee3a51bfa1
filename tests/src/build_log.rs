//! Reading BuildKit's plain progress output (`--progress=plain`): which
//! Dockerfile steps ran, which were CACHED, and what cargo compiled in them.

/// A build's log in BuildKit's plain progress format: each step is `#N` and
/// its header line (`#N [stage i/n] RUN ...`), then its output, then
/// `#N CACHED` or `#N DONE`.
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
    pub output: Vec<String>,
}

/// A crate that cargo compiled during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub name: String,
    /// From a path (a workspace member or path dependency), not a registry.
    pub local: bool,
}

impl Step {
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
                } else if let Some((_, out)) = text.split_once(' ').filter(|(t, _)| t.parse::<f64>().is_ok()) {
                    step.output.push(out.to_string());
                }
            } else if text.starts_with('[') && !text.starts_with("[internal]") && !text.starts_with("[auth]") {
                let step =
                    Step { number: number.to_string(), name: text.to_string(), cached: false, output: Vec::new() };
                steps.push((number.to_string(), step));
            }
        }
        steps.into_iter().map(|(_, step)| step).collect()
    }

    /// The step whose header contains `needle` (e.g. `cargo chef cook`).
    pub fn step(&self, needle: &str) -> Option<Step> {
        self.steps().into_iter().find(|s| s.name.contains(needle))
    }

    /// How many steps were CACHED, out of how many.
    pub fn cache_hits(&self) -> (usize, usize) {
        let steps = self.steps();
        (steps.iter().filter(|s| s.cached).count(), steps.len())
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

    #[test]
    fn cargo_compiling_lines_tell_registry_crates_from_path_crates() {
        let step = Step {
            number: "9".into(),
            name: "[builder 4/4] RUN cargo build --release --locked".into(),
            cached: false,
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
