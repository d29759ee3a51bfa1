//! Reproducible binaries: what the test and `cargo xtask provenance` share.

use std::path::Path;

use crate::variants::builds;
use crate::{Build, Docker, Rebuild, Runtime, Variant};

/// The builds whose builder stage starts from nothing on every `--no-cache`
/// build: simple has no builder apart from its image, and cache-mount's
/// builder starts from the target/ its cache mount kept, whatever
/// `--no-cache` says.
pub fn from_scratch_builds() -> impl Iterator<Item = (&'static Variant, Option<&'static str>)> {
    builds().filter(|(v, _)| v.runtime != Runtime::Toolchain && v.rebuild != Rebuild::CacheMount)
}

/// A build of `variant`'s `builder` stage, where [`binary_sum`] finds the
/// binary.
pub fn builder_build(
    variant: &Variant,
    context: &Path,
    tag: &str,
    platform: Option<&str>,
    build_args: &[(&str, &str)],
) -> Build {
    variant.build(context, tag, platform, build_args).option("--target=builder")
}

/// The SHA-256 of the binary `name` in a builder image, wherever the variant
/// puts it (`target/release/` or `target/<triple>/release/`); exactly one.
pub fn binary_sum(docker: &Docker, builder: &str, name: &str) -> Result<String, String> {
    let script =
        format!("find /app /usr/src/app -type f -path '*/target/*release/{name}' 2>/dev/null | xargs -r sha256sum");
    let sums = docker.run(builder, None, &["sh", "-c", &script]).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = sums.lines().collect();
    if lines.len() != 1 {
        return Err(format!("{builder}: expected one {name} binary under target/, found {sums:?}"));
    }
    let sum = lines[0].split_whitespace().next().unwrap_or_default();
    if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{builder}: not a SHA-256: {sums:?}"));
    }
    Ok(sum.to_string())
}
