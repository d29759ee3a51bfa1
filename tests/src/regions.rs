//! The generated regions of HOWTO.md and its appendices: `cargo xtask demo`
//! and `bench` fill them, the drift tests check that each is there and
//! filled. One list for both.

/// The results table, its provenance line and chart.
pub const RESULTS: &str = "results";
/// `docker images` after the demo.
pub const IMAGES: &str = "images";
/// `docker manifest inspect` of the multi-platform tag.
pub const MANIFEST: &str = "manifest";
/// The image sizes of the native fixture's binaries, per variant.
pub const SIZES: &str = "sizes";
/// `cargo xtask bench`'s table.
pub const BENCH: &str = "bench";
/// `cargo xtask emulation`'s table: compiling for arm64 under qemu or not.
pub const EMULATION: &str = "emulation";
/// `cargo xtask provenance`: two builds from scratch give one binary, and
/// what cargo-auditable's dependency list costs.
pub const PROVENANCE: &str = "provenance";
/// Variants whose warm rebuild log the HOWTO shows, each in [`rebuild`]'s region.
pub const SHOWN_REBUILDS: &[&str] = &["multistage", "dependency-cache", "cache-mount"];

/// The region that shows `variant`'s warm rebuild log: `rebuild-<variant>`.
pub fn rebuild(variant: &str) -> String {
    format!("rebuild-{variant}")
}

/// Every region, in the order the demo writes them, then the benches'.
pub fn all() -> Vec<String> {
    let fixed = [RESULTS, IMAGES, MANIFEST, SIZES].map(str::to_string);
    let benches = [BENCH, EMULATION, PROVENANCE].map(str::to_string);
    fixed.into_iter().chain(SHOWN_REBUILDS.iter().map(|v| rebuild(v))).chain(benches).collect()
}

/// The appendix that holds the provenance region.
pub const REPRODUCIBLE_APPENDIX: &str = "docs/reproducible.md";
/// The appendix that holds the sizes region.
pub const TLS_APPENDIX: &str = "docs/tls.md";

/// The document that holds region `name`, relative to the repository root:
/// HOWTO.md, but for the two appendices above.
pub fn document(name: &str) -> &'static str {
    match name {
        PROVENANCE => REPRODUCIBLE_APPENDIX,
        SIZES => TLS_APPENDIX,
        _ => "HOWTO.md",
    }
}

/// The line that opens region `name`.
pub fn open_marker(name: &str) -> String {
    format!("<!-- generated:{name} -->")
}

/// The line that closes region `name`.
pub fn close_marker(name: &str) -> String {
    format!("<!-- /generated:{name} -->")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shown_rebuild_is_a_variant() {
        for name in super::SHOWN_REBUILDS {
            assert!(crate::Variant::named(name).is_some(), "{name}");
        }
        assert_eq!(super::all().len(), 10);
    }
}
