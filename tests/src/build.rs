//! One `docker build`: what it builds and how, and the command line that
//! runs it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::build_log::BuildLog;

/// One `docker build`.
#[derive(Debug, Clone)]
pub struct Build {
    /// Relative to the repository root.
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub tag: String,
    pub platform: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub no_cache: bool,
    /// Other options, as given: `--push`, `--cache-to=...`, `--secret=...`.
    pub options: Vec<String>,
    pub timeout: Duration,
}

impl Build {
    pub fn new(dockerfile: impl Into<PathBuf>, context: impl Into<PathBuf>, tag: impl Into<String>) -> Build {
        Build {
            dockerfile: dockerfile.into(),
            context: context.into(),
            tag: tag.into(),
            platform: None,
            build_args: BTreeMap::new(),
            no_cache: false,
            options: Vec::new(),
            timeout: Duration::from_secs(30 * 60),
        }
    }

    pub fn platform(mut self, platform: &str) -> Build {
        self.platform = Some(platform.to_string());
        self
    }

    pub fn build_arg(mut self, key: &str, value: &str) -> Build {
        self.build_args.insert(key.to_string(), value.to_string());
        self
    }

    pub fn no_cache(mut self) -> Build {
        self.no_cache = true;
        self
    }

    /// Adds an option of `docker build`, e.g. `--cache-to=type=registry,...`.
    pub fn option(mut self, option: &str) -> Build {
        self.options.push(option.to_string());
        self
    }

    /// What [`Docker::build`](crate::Docker::build) passes to docker, in
    /// order, with the `label` its engine gives this build's tag.
    /// `--build-arg`s come after `-f`, as a reader would write them.
    pub fn docker_args(&self, label: Option<&str>) -> Vec<String> {
        let mut args: Vec<String> = vec!["build".into(), "--progress=plain".into()];
        if let Some(platform) = &self.platform {
            args.extend(["--platform".into(), platform.clone()]);
        }
        if self.no_cache {
            args.push("--no-cache".into());
        }
        args.extend(self.options.iter().cloned());
        if let Some(label) = label {
            args.extend(["--label".into(), label.to_string()]);
        }
        args.extend(["-f".into(), self.dockerfile.display().to_string()]);
        for (key, value) in &self.build_args {
            args.extend(["--build-arg".into(), format!("{key}={value}")]);
        }
        args.extend(["-t".into(), self.tag.clone()]);
        args.push(self.context.display().to_string());
        args
    }

    /// This build as a reader types it: the harness's own arguments, less
    /// `--progress=plain` (HOWTO.md sets BUILDKIT_PROGRESS=plain once) and
    /// the engine's label, with a value that holds spaces in double quotes.
    pub fn command_line(&self) -> String {
        let words = self.docker_args(None).into_iter().filter(|a| a != "--progress=plain").map(|arg| {
            match arg.split_once('=') {
                Some((key, value)) if !key.starts_with('-') => format!("{key}={}", shell_word(value)),
                _ => shell_word(&arg),
            }
        });
        std::iter::once("docker".to_string()).chain(words).collect::<Vec<_>>().join(" ")
    }
}

/// `word` as a shell reads it back: bare when it is plain, else in double
/// quotes (as a reader types `BUILD_PACKAGES="libssl-dev pkg-config"`), with
/// the characters that are special there escaped.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    let escaped: String =
        word.chars().flat_map(|c| if "\"\\$`".contains(c) { vec!['\\', c] } else { vec![c] }).collect();
    format!("\"{escaped}\"")
}

#[derive(Debug)]
pub struct BuildOutput {
    pub log: BuildLog,
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("APP_NAME=rg"), "APP_NAME=rg");
        assert_eq!(shell_word(""), "\"\"");
        assert_eq!(shell_word("libssl-dev pkg-config"), "\"libssl-dev pkg-config\"");
        assert_eq!(shell_word("it's \"$HOME\" `x` \\"), r#""it's \"\$HOME\" \`x\` \\""#);
        let build = Build::new("Dockerfile", ".", "t").build_arg("DESCRIPTION", "one's own");
        assert_eq!(build.command_line(), "docker build -f Dockerfile --build-arg DESCRIPTION=\"one's own\" -t t .");
    }
}
