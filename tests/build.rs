//! Docker tests that the person running them asked to skip must show as
//! `ignored`, never as `ok`: libtest decides that at compile time, so the
//! request (`RCH_SKIP_DOCKER_TESTS` set to anything but "" or "0") becomes
//! the `skip_docker_tests` cfg here. In CI a skip is never honoured: the
//! tests run and fail, saying why (see `engine()` in tests/tests/support).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_docker_tests)");
    println!("cargo::rustc-check-cfg=cfg(current_engine)");
    println!("cargo::rerun-if-env-changed=RCH_ENGINE");
    // Tests of what only a current engine does run when it is the one chosen.
    if std::env::var("RCH_ENGINE").is_ok_and(|v| v == "current") {
        println!("cargo::rustc-cfg=current_engine");
    }
    println!("cargo::rerun-if-env-changed=RCH_SKIP_DOCKER_TESTS");
    println!("cargo::rerun-if-env-changed=CI");
    let requested = std::env::var("RCH_SKIP_DOCKER_TESTS").is_ok_and(|v| !v.is_empty() && v != "0");
    if requested && std::env::var_os("CI").is_none() {
        println!("cargo::rustc-cfg=skip_docker_tests");
    }
}
