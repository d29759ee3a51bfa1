//! The table of variants: one entry per Dockerfile under dockerfiles/. The
//! tests, the main job (`cargo xtask demo`) and the HOWTO's numbers all read it.

/// Where the variant's program runs, which decides what its image may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// The build image itself: toolchain, sources and target/ included.
    Toolchain,
    /// Debian trixie slim plus the binary: no toolchain, no build tools.
    DebianSlim,
    /// An empty image holding the static binary and nothing else.
    Scratch,
}

/// What a rebuild after a one-line source edit must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuild {
    /// Everything after `COPY . .` runs again, dependencies included.
    Everything,
    /// The dependency step (its header contains this text) is CACHED.
    CachedStep(&'static str),
    /// The build step runs again, but BuildKit's cache mounts keep compiled
    /// dependencies: cargo compiles only the edited crate.
    CacheMount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub name: &'static str,
    pub runtime: Runtime,
    pub rebuild: Rebuild,
    /// Platforms built one at a time with the engine's BuildKit; empty means
    /// the machine's own platform only.
    pub platforms: &'static [&'static str],
}

pub const VARIANTS: &[Variant] = &[
    Variant { name: "simple", runtime: Runtime::Toolchain, rebuild: Rebuild::Everything, platforms: &[] },
    Variant { name: "multistage", runtime: Runtime::DebianSlim, rebuild: Rebuild::Everything, platforms: &[] },
    Variant {
        name: "dependency-cache",
        runtime: Runtime::DebianSlim,
        rebuild: Rebuild::CachedStep("cargo chef cook"),
        platforms: &[],
    },
    Variant {
        name: "multi-platform",
        runtime: Runtime::DebianSlim,
        rebuild: Rebuild::CachedStep("cargo chef cook"),
        platforms: PLATFORMS,
    },
    Variant { name: "cache-mount", runtime: Runtime::DebianSlim, rebuild: Rebuild::CacheMount, platforms: &[] },
    Variant {
        name: "static",
        runtime: Runtime::Scratch,
        rebuild: Rebuild::CachedStep("cargo chef cook"),
        platforms: PLATFORMS,
    },
];

/// The image repository the HOWTO builds into.
pub const IMAGE: &str = "my-project";
/// The build context the HOWTO uses, relative to the repository root.
pub const CONTEXT: &str = "my-project";
/// What every variant's program prints.
pub const GREETING: &str = "Hello, world!";
/// The HOWTO's one-line edit turns [`GREETING`] into this.
pub const EDITED_GREETING: &str = "Hello, universe!";
/// The platforms the multi-platform variant is built for, one at a time,
/// and joins in one manifest list.
pub const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];
/// Where every runtime image but simple's carries the builder's CA bundle,
/// which `SSL_CERT_FILE` names.
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a failed build prints, after cargo's own output, when its log shows
/// a missing C library, header or `pkg-config` (and only then): the start of
/// the Dockerfiles' hint, which goes on to name `BUILD_PACKAGES`.
pub const MISSING_LIBRARY_HINT: &str = "Missing a C library or tool?";

/// What tells a platform's images apart from the inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// `uname -m` in a container.
    pub uname: &'static str,
    /// The ELF header's `e_machine` of its binaries.
    pub elf: u16,
}

/// The [`Machine`] of each of [`PLATFORMS`].
pub fn machine(platform: &str) -> Option<Machine> {
    match arch(platform) {
        "amd64" => Some(Machine { uname: "x86_64", elf: 0x3e }),
        "arm64" => Some(Machine { uname: "aarch64", elf: 0xb7 }),
        _ => None,
    }
}

/// The ELF header's `e_machine` (bytes 18-19, little-endian), or `None` if
/// `binary` is not an ELF file.
pub fn elf_machine(binary: &[u8]) -> Option<u16> {
    (binary.len() >= 20 && binary.starts_with(b"\x7fELF")).then(|| u16::from_le_bytes([binary[18], binary[19]]))
}

impl Variant {
    pub fn named(name: &str) -> Option<&'static Variant> {
        VARIANTS.iter().find(|v| v.name == name)
    }

    /// The platforms to build one at a time: `[None]` (the machine's own)
    /// for most variants.
    pub fn build_platforms(&self) -> Vec<Option<&'static str>> {
        if self.platforms.is_empty() { vec![None] } else { self.platforms.iter().map(|p| Some(*p)).collect() }
    }

    /// Relative to the repository root.
    pub fn dockerfile(&self) -> String {
        format!("dockerfiles/Dockerfile.{}", self.name)
    }

    /// A build of this variant from `context` into `tag`, for one platform
    /// (`None`: the machine's own), with build arguments.
    pub fn build(
        &self,
        context: &std::path::Path,
        tag: &str,
        platform: Option<&str>,
        build_args: &[(&str, &str)],
    ) -> crate::Build {
        let mut build = crate::Build::new(self.dockerfile(), context, tag);
        if let Some(platform) = platform {
            build = build.platform(platform);
        }
        for (key, value) in build_args {
            build = build.build_arg(key, value);
        }
        build
    }

    /// The image of the Dockerfile's first stage, its builder, with the
    /// defaults of the ARGs declared before it (`RUST_VERSION`) put in.
    pub fn builder_image(&self) -> Result<String, String> {
        let path = crate::repo_root().join(self.dockerfile());
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        first_base_image(&text).ok_or_else(|| format!("{}: no FROM line", path.display()))
    }

    /// The tag the HOWTO gives this variant's image (per platform where the
    /// variant is built one platform at a time).
    pub fn tag(&self, platform: Option<&str>) -> String {
        match platform {
            Some(p) => format!("{IMAGE}:{}-{}", self.name, arch(p)),
            None => format!("{IMAGE}:{}", self.name),
        }
    }

    /// The commands the HOWTO shows for building this variant, one per
    /// platform: exactly what the harness runs, less `--progress=plain`.
    pub fn build_commands(&self) -> Vec<String> {
        self.build_platforms()
            .into_iter()
            .map(|platform| {
                self.build(std::path::Path::new(CONTEXT), &self.tag(platform), platform, &[]).command_line()
            })
            .collect()
    }

    /// The commands the HOWTO shows for running this variant's image(s).
    pub fn run_commands(&self) -> Vec<String> {
        if self.platforms.is_empty() {
            vec![format!("docker run --rm {}", self.tag(None))]
        } else {
            self.platforms.iter().map(|p| format!("docker run --rm --platform {p} {}", self.tag(Some(p)))).collect()
        }
    }
}

/// What an `ARG` line declares: each name, with its default if it has one
/// (quotes dropped); `None` for any other line.
fn arg_declarations(line: &str) -> Option<Vec<(&str, Option<&str>)>> {
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("ARG") {
        return None;
    }
    Some(
        words
            .map(|word| match word.split_once('=') {
                Some((name, default)) => (name, Some(default.trim_matches('"'))),
                None => (word, None),
            })
            .collect(),
    )
}

/// The default that the first `ARG` line declaring `name` in `dockerfile`
/// gives it (empty if none), or `None` if no `ARG` declares it: for
/// `RUST_VERSION`, the one above the first `FROM`.
pub fn declared_arg(dockerfile: &str, name: &str) -> Option<String> {
    dockerfile
        .lines()
        .filter_map(arg_declarations)
        .flatten()
        .find(|(arg, _)| *arg == name)
        .map(|(_, default)| default.unwrap_or_default().to_string())
}

/// The image the first `FROM` of `dockerfile` names, `${NAME}`s replaced by
/// the defaults that the `ARG` lines above it give.
fn first_base_image(dockerfile: &str) -> Option<String> {
    let mut defaults = Vec::new();
    for line in dockerfile.lines() {
        if let Some(declared) = arg_declarations(line) {
            let given = declared.into_iter().filter_map(|(name, default)| Some((format!("${{{name}}}"), default?)));
            defaults.extend(given);
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(w) if w.eq_ignore_ascii_case("FROM") => {
                let image = words[1..].iter().find(|w| !w.starts_with("--"))?;
                return Some(
                    defaults.iter().fold(image.to_string(), |image, (name, value)| image.replace(name, value)),
                );
            }
            _ => {}
        }
    }
    None
}

/// `linux/arm64` -> `arm64`.
pub fn arch(platform: &str) -> &str {
    platform.rsplit('/').next().unwrap_or(platform)
}

/// Every variant on every platform it is built for, in table order.
pub fn builds() -> impl Iterator<Item = (&'static Variant, Option<&'static str>)> {
    VARIANTS.iter().flat_map(|v| v.build_platforms().into_iter().map(move |p| (v, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_defaults_are_read_from_any_arg_line() {
        let dockerfile = "# ARG RUST_VERSION=0.1\nARG APP_NAME=my-project PROFILE=release\n\
                          ARG RUST_VERSION=1.96 CHEF_VERSION=0.1.77\nFROM rust:${RUST_VERSION}\nARG FEATURES=\"\" PROFILE\n\
                          ARG RUST_VERSION=2.0\n";
        assert_eq!(declared_arg(dockerfile, "RUST_VERSION").as_deref(), Some("1.96"));
        assert_eq!(declared_arg(dockerfile, "FEATURES").as_deref(), Some(""));
        assert_eq!(declared_arg(dockerfile, "PROFILE").as_deref(), Some("release"));
        assert_eq!(declared_arg(dockerfile, "AUDITABLE"), None);
    }

    #[test]
    fn the_builder_image_has_the_arg_defaults_put_in() {
        let dockerfile = "# ARG NOT=this\nARG APP_NAME=x PROFILE=release\nARG RUST_VERSION=\"1.96\" CHEF_VERSION=0.1.77\n\
            FROM --platform=$BUILDPLATFORM lukemathwalker/cargo-chef:${CHEF_VERSION}-rust-${RUST_VERSION}-slim AS chef\n\
            FROM rust:${RUST_VERSION}\n";
        assert_eq!(first_base_image(dockerfile).as_deref(), Some("lukemathwalker/cargo-chef:0.1.77-rust-1.96-slim"));
        assert_eq!(first_base_image("ARG A=1\n"), None);
        for variant in VARIANTS {
            let image = variant.builder_image().unwrap_or_else(|e| panic!("{e}"));
            assert!(!image.contains('$'), "{}: {image}", variant.name);
        }
    }

    #[test]
    fn every_platform_has_a_machine_and_feeds_the_multi_platform_variant() {
        let uname: Vec<&str> = PLATFORMS.iter().map(|p| machine(p).expect(p).uname).collect();
        assert_eq!(uname, ["x86_64", "aarch64"]);
        assert_eq!(Variant::named("multi-platform").map(|v| v.platforms), Some(PLATFORMS));
    }
}
