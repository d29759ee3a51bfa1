//! The crates every Dockerfile must build: the HOWTO's my-project, and
//! fixtures shaped like real projects. Tests, `cargo xtask bench` and the
//! HOWTO's rebuild figures all read this table.

use crate::CrateCopy;
use crate::variants::GREETING;

/// A binary of a project, chosen with the Dockerfiles' `APP_NAME`.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// The binary's name: the `APP_NAME` build argument.
    pub name: &'static str,
    /// The source file that holds the binary's greeting, `Hello, world!`:
    /// the one-line edit changes it there.
    pub main: &'static str,
    /// What the program prints, given its greeting and the project's message.
    pub prints: fn(greeting: &str, message: &str) -> String,
}

/// A file of the build context that a build script turns into code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInput {
    /// Relative to the project's root.
    pub file: &'static str,
    /// Its content, and what the programs print of it.
    pub message: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Project {
    pub name: &'static str,
    /// Relative to the repository root.
    pub source: &'static str,
    pub binaries: &'static [Binary],
    /// Has crates.io dependencies, so that caching them can be measured.
    pub has_dependencies: bool,
    pub build_input: Option<BuildInput>,
}

fn greeting_only(greeting: &str, _: &str) -> String {
    greeting.to_string()
}

/// The workspace's shared JSON line; the strings the tests use need no escaping.
fn workspace_line(bin: &str, greeting: &str, message: &str) -> String {
    format!("{{\"bin\":\"{bin}\",\"greeting\":\"{greeting}\",\"message\":\"{message}\"}}")
}

pub const PROJECTS: &[Project] = &[
    Project {
        name: "my-project",
        source: "my-project",
        binaries: &[Binary { name: "my-project", main: "src/main.rs", prints: greeting_only }],
        has_dependencies: false,
        build_input: None,
    },
    Project {
        name: "deps-heavy",
        source: "fixtures/deps-heavy",
        binaries: &[Binary { name: "deps-heavy", main: "src/main.rs", prints: greeting_only }],
        has_dependencies: true,
        build_input: None,
    },
    Project {
        name: "workspace",
        source: "fixtures/workspace",
        binaries: &[
            Binary {
                name: "greet",
                main: "crates/greet/src/main.rs",
                prints: |greeting, message| workspace_line("greet", greeting, message),
            },
            Binary {
                name: "count",
                main: "crates/count/src/main.rs",
                prints: |greeting, message| {
                    let line = workspace_line("count", greeting, message);
                    format!("{line}\n{}", line.len())
                },
            },
        ],
        has_dependencies: true,
        build_input: Some(BuildInput { file: "crates/shared/message.txt", message: "Hello from the workspace!" }),
    },
];

impl Project {
    pub fn named(name: &str) -> Option<&'static Project> {
        PROJECTS.iter().find(|p| p.name == name)
    }

    /// The project's first binary: the one the HOWTO's edits change.
    pub fn main_binary(&self) -> &'static Binary {
        &self.binaries[0]
    }

    /// What `binary` prints before any edit.
    pub fn default_output(&self, binary: &Binary) -> String {
        (binary.prints)(GREETING, self.build_input.map_or("", |input| input.message))
    }

    /// A scratch copy that every Dockerfile can build (see [`scratch_copy`]).
    pub fn scratch_copy(&self) -> std::io::Result<CrateCopy> {
        scratch_copy(self.source)
    }
}

/// A scratch copy of `source` (relative to the repository root) that every
/// Dockerfile can build: a fixture gets my-project's scripts/ (the
/// multi-platform and static builders copy scripts/build_dist_release.sh from
/// the context) rather than a copy of its own that could drift.
pub fn scratch_copy(source: &str) -> std::io::Result<CrateCopy> {
    let copy = CrateCopy::new(source)?;
    if source != "my-project" {
        copy.add_dir("my-project/scripts", "scripts")?;
    }
    Ok(copy)
}

impl Binary {
    /// The `--build-arg`s that select this binary (none for the default).
    pub fn build_args(&self) -> Vec<(&'static str, &'static str)> {
        if self.name == "my-project" { Vec::new() } else { vec![("APP_NAME", self.name)] }
    }
}

/// The fixture that links native code: `tls-openssl` links the system's
/// OpenSSL, `tls-ring` compiles ring's C and assembly. Each fetches an
/// `https://` URL given as its argument and prints the body.
pub mod native {
    use crate::Runtime;

    /// Relative to the repository root.
    pub const SOURCE: &str = "fixtures/native";
    pub const BINARIES: [&str; 2] = ["tls-openssl", "tls-ring"];

    /// The build arguments HOWTO.md gives for a crate that uses openssl-sys.
    /// A static binary links OpenSSL's static libraries, and with them those
    /// of the compression libraries Debian's OpenSSL uses.
    pub fn build_args(runtime: Runtime) -> Vec<(&'static str, &'static str)> {
        match runtime {
            Runtime::Scratch => vec![("BUILD_PACKAGES", "libssl-dev libzstd-dev zlib1g-dev pkg-config")],
            Runtime::Toolchain => vec![("BUILD_PACKAGES", "libssl-dev pkg-config")],
            Runtime::DebianSlim => {
                vec![("BUILD_PACKAGES", "libssl-dev pkg-config"), ("RUNTIME_PACKAGES", "libssl3t64")]
            }
        }
    }

    /// Everything a build of `binary` passes: [`build_args`] and `APP_NAME`.
    pub fn binary_build_args(runtime: Runtime, binary: &str) -> Vec<(&'static str, &str)> {
        let mut args: Vec<(&'static str, &str)> = build_args(runtime);
        args.push(("APP_NAME", binary));
        args
    }
}
