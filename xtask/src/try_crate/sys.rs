//! Which Debian packages a crate's `-sys` dependencies need, in the builder
//! (`BUILD_PACKAGES`) and in a Debian runtime (`RUNTIME_PACKAGES`): a small
//! table, by crate and by the features it was resolved with, since many
//! `-sys` crates compile their C library from source unless told otherwise.

use howto_harness::Runtime;

/// A `-sys` crate of the resolved dependency graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysCrate {
    pub name: String,
    /// The features it was resolved with.
    pub features: Vec<String>,
    /// Linked into the binary (else only into build scripts and proc-macros,
    /// which run in the builder: no runtime library, nothing static).
    pub linked: bool,
}

/// When a row of [`TABLE`] applies, by the crate's features.
#[derive(Clone, Copy)]
enum When {
    Always,
    /// With none of these: they compile the C library from source instead.
    Without(&'static [&'static str]),
    /// With one of these.
    With(&'static [&'static str]),
}

/// What one `-sys` crate needs, in one case.
struct Needs {
    name: &'static str,
    when: When,
    /// Headers, `.so` links and tools for the builder.
    build: &'static [&'static str],
    /// The shared libraries the binary links, for a Debian runtime.
    runtime: &'static [&'static str],
    /// More for a static binary: the static libraries that the library's own
    /// static archive needs in turn (see `howto_harness::projects::native`).
    static_build: &'static [&'static str],
}

const fn needs(
    name: &'static str,
    when: When,
    build: &'static [&'static str],
    runtime: &'static [&'static str],
) -> Needs {
    Needs { name, when, build, runtime, static_build: &[] }
}

/// Debian trixie's package names.
const TABLE: &[Needs] = &[
    Needs {
        name: "openssl-sys",
        when: When::Without(&["vendored"]),
        build: &["libssl-dev", "pkg-config"],
        runtime: &["libssl3t64"],
        static_build: &["libzstd-dev", "zlib1g-dev"],
    },
    // openssl-src runs OpenSSL's own Configure (Perl) and make.
    needs("openssl-sys", When::With(&["vendored"]), &["make", "perl"], &[]),
    // Without the library, libz-sys compiles its bundled zlib; with it, Debian's, which gets security updates.
    needs("libz-sys", When::Without(&["static", "zlib-ng"]), &["zlib1g-dev"], &["zlib1g"]),
    needs("libz-sys", When::With(&["zlib-ng"]), &["cmake"], &[]),
    needs("libsqlite3-sys", When::Without(&["bundled"]), &["libsqlite3-dev"], &["libsqlite3-0"]),
    needs("pq-sys", When::Without(&["bundled"]), &["libpq-dev"], &["libpq5"]),
    needs(
        "mysqlclient-sys",
        When::Without(&["bundled"]),
        &["default-libmysqlclient-dev", "pkg-config"],
        &["libmariadb3"],
    ),
    // zstd-sys compiles its bundled zstd unless asked to look for the system's.
    needs("zstd-sys", When::With(&["pkg-config"]), &["libzstd-dev", "pkg-config"], &["libzstd1"]),
    needs("libdbus-sys", When::Without(&["vendored"]), &["libdbus-1-dev", "pkg-config"], &["libdbus-1-3"]),
    needs("libudev-sys", When::Always, &["libudev-dev", "pkg-config"], &["libudev1"]),
    needs("alsa-sys", When::Always, &["libasound2-dev", "pkg-config"], &["libasound2t64"]),
    // jemalloc is built with its configure script and make.
    needs("tikv-jemalloc-sys", When::Always, &["make"], &[]),
    needs("jemalloc-sys", When::Always, &["make"], &[]),
    // bindgen at build time.
    needs("clang-sys", When::Always, &["libclang-dev"], &[]),
];

/// `-sys` crates that need no package: bindings to the kernel, another OS
/// or JavaScript, with no C library; and crates that compile their bundled
/// C source whenever the system's library is not there (aws-lc-sys with a C
/// compiler alone since aws-lc-rs 1.7, on x86_64 and aarch64 Linux).
const NEED_NOTHING: &[&str] = &[
    "linux-raw-sys",
    "windows-sys",
    "js-sys",
    "web-sys",
    "core-foundation-sys",
    "security-framework-sys",
    "system-configuration-sys",
    "io-kit-sys",
    "objc-sys",
    "fsevent-sys",
    "inotify-sys",
    "lzma-sys",
    "bzip2-sys",
    "curl-sys",
    "libgit2-sys",
    "libssh2-sys",
    "libnghttp2-sys",
    "lz4-sys",
    "libmimalloc-sys",
    "onig_sys",
    "aws-lc-sys",
];

/// Whether a crate's name says it binds a native library.
pub fn is_sys(name: &str) -> bool {
    name.ends_with("-sys") || name.ends_with("_sys")
}

/// The packages a crate's `-sys` crates need, and the ones the table does not know.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Packages {
    pub build: Vec<&'static str>,
    pub runtime: Vec<&'static str>,
    pub static_build: Vec<&'static str>,
    /// Each `-sys` crate that needs a package, with what it needs, for the report.
    pub found: Vec<String>,
    pub unknown: Vec<String>,
}

impl Packages {
    pub fn of(crates: &[SysCrate]) -> Packages {
        let mut packages = Packages::default();
        for krate in crates {
            if !TABLE.iter().any(|n| n.name == krate.name) && !NEED_NOTHING.contains(&krate.name.as_str()) {
                packages.unknown.push(krate.name.clone());
                continue;
            }
            for row in TABLE.iter().filter(|n| n.name == krate.name && applies(n.when, &krate.features)) {
                add(&mut packages.build, row.build);
                if krate.linked {
                    add(&mut packages.runtime, row.runtime);
                    add(&mut packages.static_build, row.static_build);
                }
                let runtime = match row.runtime {
                    [] => String::new(),
                    _ if !krate.linked => String::new(),
                    libraries => format!(", {} to run", libraries.join(" ")),
                };
                packages.found.push(format!("{}: {} to build{runtime}", krate.name, row.build.join(" ")));
            }
        }
        packages
    }

    /// The build arguments for a runtime: a static binary needs no runtime
    /// library but the static archives; the build image has every library.
    pub fn build_args(&self, runtime: Runtime) -> Vec<(&'static str, String)> {
        let mut build = self.build.clone();
        let mut args = Vec::new();
        if runtime == Runtime::Scratch {
            add(&mut build, &self.static_build);
        }
        if !build.is_empty() {
            args.push(("BUILD_PACKAGES", build.join(" ")));
        }
        if runtime == Runtime::DebianSlim && !self.runtime.is_empty() {
            args.push(("RUNTIME_PACKAGES", self.runtime.join(" ")));
        }
        args
    }
}

fn applies(when: When, features: &[String]) -> bool {
    let on = |names: &[&str]| names.iter().any(|name| features.iter().any(|f| f == name));
    match when {
        When::Always => true,
        When::Without(names) => !on(names),
        When::With(names) => on(names),
    }
}

/// Appends the packages not there yet, in order.
fn add(to: &mut Vec<&'static str>, packages: &[&'static str]) {
    for package in packages {
        if !to.contains(package) {
            to.push(package);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use howto_harness::projects::native;

    fn krate(name: &str, features: &[&str], linked: bool) -> SysCrate {
        SysCrate { name: name.into(), features: features.iter().map(|f| f.to_string()).collect(), linked }
    }

    fn words(args: &[(&str, String)]) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<_> = args
            .iter()
            .map(|(k, v)| {
                let mut packages: Vec<String> = v.split_whitespace().map(str::to_string).collect();
                packages.sort();
                (k.to_string(), packages)
            })
            .collect();
        out.sort();
        out
    }

    /// The table's OpenSSL row gives what the HOWTO gives (and the native
    /// fixture's tests build with), for every runtime.
    #[test]
    fn openssl_gets_the_howtos_build_arguments() {
        let packages = Packages::of(&[krate("openssl-sys", &[], true)]);
        for runtime in [Runtime::Toolchain, Runtime::DebianSlim, Runtime::Scratch] {
            let howto: Vec<(&str, String)> =
                native::build_args(runtime).into_iter().map(|(k, v)| (k, v.to_string())).collect();
            assert_eq!(words(&packages.build_args(runtime)), words(&howto), "{runtime:?}");
        }
    }

    #[test]
    fn a_vendored_or_bundled_library_needs_no_system_package() {
        let packages = Packages::of(&[
            krate("openssl-sys", &["vendored"], true),
            krate("libsqlite3-sys", &["bundled", "bundled_bindings"], true),
            krate("zstd-sys", &["legacy", "std"], true),
        ]);
        assert_eq!(packages.build, ["make", "perl"]);
        assert!(packages.runtime.is_empty() && packages.unknown.is_empty(), "{packages:?}");
        // bundled_bindings is not bundled: the system's SQLite is linked.
        let system = Packages::of(&[krate("libsqlite3-sys", &["bundled_bindings"], true)]);
        assert_eq!((system.build, system.runtime), (vec!["libsqlite3-dev"], vec!["libsqlite3-0"]));
    }

    #[test]
    fn a_crate_only_build_scripts_use_needs_nothing_at_run_time() {
        let packages = Packages::of(&[krate("clang-sys", &[], false), krate("libz-sys", &[], false)]);
        assert_eq!(packages.build, ["libclang-dev", "zlib1g-dev"]);
        assert!(packages.runtime.is_empty());
        assert_eq!(packages.build_args(Runtime::DebianSlim), [("BUILD_PACKAGES", "libclang-dev zlib1g-dev".into())]);
    }

    #[test]
    fn packages_are_listed_once_and_unknown_crates_are_named() {
        let packages = Packages::of(&[
            krate("pq-sys", &[], true),
            krate("openssl-sys", &[], true),
            krate("mysqlclient-sys", &[], true),
            krate("linux-raw-sys", &[], true),
            krate("windows-sys", &[], true),
            krate("aws-lc-sys", &[], true),
            krate("gdal-sys", &[], true),
        ]);
        assert_eq!(
            packages.build,
            ["libpq-dev", "libssl-dev", "pkg-config", "default-libmysqlclient-dev"],
            "pkg-config once"
        );
        assert_eq!(packages.runtime, ["libpq5", "libssl3t64", "libmariadb3"]);
        assert_eq!(packages.unknown, ["gdal-sys"]);
        assert_eq!(packages.found[0], "pq-sys: libpq-dev to build, libpq5 to run");
        assert!(packages.build_args(Runtime::Toolchain).iter().all(|(k, _)| *k == "BUILD_PACKAGES"));
    }

    #[test]
    fn every_crate_is_in_one_list_and_named_like_a_sys_crate() {
        for name in TABLE.iter().map(|n| n.name).chain(NEED_NOTHING.iter().copied()) {
            assert!(is_sys(name), "{name}");
            assert!(!(TABLE.iter().any(|n| n.name == name) && NEED_NOTHING.contains(&name)), "{name} twice");
        }
        assert!(!is_sys("ring") && !is_sys("libc") && !is_sys("sysinfo"));
    }
}
