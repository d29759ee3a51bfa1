//! The crate list that cargo-auditable embeds in a binary (`--build-arg
//! AUDITABLE=1`), read back: what the test and `cargo xtask provenance` share.

/// One crate of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCrate {
    pub name: String,
    pub version: String,
    /// The binary's own crate.
    pub root: bool,
}

/// The most decompressed JSON to accept: deps-heavy's list is a few KB.
const JSON_LIMIT: usize = 8 << 20;

/// The crates listed in `binary` (an ELF file's bytes), or `None` if it
/// carries no list, as a plain `cargo build` leaves it.
pub fn crate_list(binary: &[u8]) -> Result<Option<Vec<ListedCrate>>, String> {
    match auditable_info::audit_info_from_slice(binary, JSON_LIMIT) {
        Ok(info) => Ok(Some(
            info.packages
                .into_iter()
                .map(|p| ListedCrate { name: p.name, version: p.version.to_string(), root: p.root })
                .collect(),
        )),
        Err(auditable_info::Error::NoAuditData) => Ok(None),
        Err(e) => Err(format!("reading the binary's dependency list: {e}")),
    }
}
