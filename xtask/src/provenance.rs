//! `cargo xtask provenance`: what an image can prove about where its binary
//! came from. Two builds from scratch of the same sources, per variant and
//! platform, and their binaries' SHA-256; then what cargo-auditable's
//! dependency list (`--build-arg AUDITABLE=1`) costs on deps-heavy. Two
//! binaries that differ are written into the report, and then fail the run.

use std::path::Path;

use howto_harness::auditable::crate_list;
use howto_harness::reproducible::{binary_sum, builder_build, from_scratch_builds};
use howto_harness::{Docker, Project, Variant, regions};

use crate::howto;
use crate::measure::{self, Progress};
use crate::report::{self, Table};

pub fn run(appendix: &Path) -> Result<(), String> {
    let builds: Vec<_> = from_scratch_builds().collect();
    let mut progress = Progress::new(2 + builds.len() * 2 + 2 * 2 + 1);
    let (docker, engine_version, base_images) = measure::prepare(&mut progress)?;
    let measured = report::provenance(&docker, &engine_version, base_images, appendix);

    let project = Project::named("workspace").ok_or("no workspace fixture")?;
    let binary = project.main_binary();
    let copy = project.scratch_copy().map_err(|e| format!("copying {}: {e}", project.source))?;
    let mut temp = howto_harness::TempImages::new(&docker);
    let mut rows = Vec::new();
    // Builders whose two builds gave different binaries: reported in the
    // table like the others, and then an error.
    let mut differing = Vec::new();
    for (variant, platform) in builds {
        let label = measure::Target { variant, platform }.label();
        let mut sums = Vec::new();
        for build in 1..=2 {
            progress.step(&format!("{label}: the builder from scratch, build {build}/2 …"));
            let tag = temp.tag(&format!("provenance-{}-builder", variant.name));
            let from_scratch = builder_build(variant, copy.path(), &tag, platform, &binary.build_args()).no_cache();
            let output = docker.build(&from_scratch).map_err(|e| e.to_string())?;
            if output.log.cargo_build().is_none_or(|step| step.cached) {
                return Err(format!("{label}: the cargo build step did not run:\n{}", output.log.tail(40)));
            }
            sums.push(binary_sum(&docker, &tag, binary.name)?);
            progress.note(&format!("{:.1}s, sha256 {}…", output.elapsed.as_secs_f64(), &sums[build - 1][..12]));
        }
        temp.remove_all();
        if sums[0] != sums[1] {
            differing.push(label.clone());
        }
        rows.push(vec![label, sum_cell(&sums[0], &sums[1])]);
    }
    let reproducible = Table { headers: vec!["builder", "sha256 of both builds' binary"], rows };
    println!("{}", reproducible.to_text());

    let sbom = auditable_costs(&docker, &mut progress)?;
    println!("{}", sbom.to_text());

    progress.step(&format!("writing the provenance region of {}", regions::REPRODUCIBLE_APPENDIX));
    let text = format!(
        "{}\nThe workspace fixture's `{}`, from two `--no-cache` builds of each builder stage.\n\n{}\n\
         deps-heavy with dependency-cache: *cold* is `--no-cache` (with AUDITABLE=1, `cargo install \
         cargo-auditable` included, once per machine), *warm* the rebuild after a one-line edit. {measured}\n",
        reproducible.to_markdown(),
        binary.name,
        sbom.to_markdown()
    );
    howto::update(appendix, &[(regions::PROVENANCE.to_string(), text)])?;
    progress.note(&format!("wrote {}", appendix.display()));
    progress.finish();
    verdict(&differing)
}

/// The table's cell for a builder's two sums: one when they agree, as they
/// should, both when not.
fn sum_cell(first: &str, second: &str) -> String {
    if first == second {
        format!("`{}…`", &first[..16])
    } else {
        format!("**differ**: `{}…`, `{}…`", &first[..16], &second[..16])
    }
}

/// An error when any builder's two builds gave different binaries: the
/// report, already written, shows both sums, but a run that finds a
/// non-reproducible build must not end as a success.
fn verdict(differing: &[String]) -> Result<(), String> {
    if differing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not reproducible: two builds from scratch gave different binaries with {} \
             (both sums are in the table above and in the provenance region of docs/reproducible.md)",
            differing.join(", ")
        ))
    }
}

/// deps-heavy with the default variant, without and with AUDITABLE=1: a
/// cold build, a warm rebuild after an edit, the binary's size and the
/// crates it lists.
fn auditable_costs(docker: &Docker, progress: &mut Progress) -> Result<Table, String> {
    let project = Project::named("deps-heavy").ok_or("no deps-heavy fixture")?;
    let variant = Variant::named("dependency-cache").ok_or("no dependency-cache variant")?;
    let binary = project.main_binary();
    let mut temp = howto_harness::TempImages::new(docker);
    let mut rows = Vec::new();
    for auditable in [false, true] {
        let mut build_args = binary.build_args();
        if auditable {
            build_args.push(("AUDITABLE", "1"));
        }
        let label = if auditable { "`cargo auditable build`" } else { "`cargo build`" };
        let pristine = project.scratch_copy().map_err(|e| format!("copying {}: {e}", project.source))?;
        progress.step(&format!("deps-heavy, {label}: cold build …"));
        let tag = temp.tag("provenance-sbom");
        let cold = docker.build(&variant.build(pristine.path(), &tag, None, &build_args).no_cache());
        let cold = cold.map_err(|e| e.to_string())?;
        progress.note(&format!("{:.1}s", cold.elapsed.as_secs_f64()));

        progress.step(&format!("deps-heavy, {label}: warm rebuild after a one-line edit …"));
        let edited = project.scratch_copy().map_err(|e| format!("copying {}: {e}", project.source))?;
        let greeting = format!("Hello, {}!", howto_harness::nonce());
        measure::edit_greeting(&edited, binary, &greeting)?;
        let warm_tag = temp.tag("provenance-sbom-warm");
        let warm =
            docker.build(&variant.build(edited.path(), &warm_tag, None, &build_args)).map_err(|e| e.to_string())?;
        progress.note(&format!("{:.1}s", warm.elapsed.as_secs_f64()));
        let app = docker.read_file(&warm_tag, "/usr/local/bin/app").map_err(|e| e.to_string())?;
        let crates = match crate_list(&app).map_err(|e| format!("{warm_tag} ({label}): {e}"))? {
            Some(crates) => crates.len().to_string(),
            None if !auditable => "–".to_string(),
            None => return Err(format!("{warm_tag} ({label}): the binary carries no dependency list")),
        };
        rows.push(vec![
            label.to_string(),
            report::format_seconds(report::seconds(cold.elapsed)),
            report::format_seconds(report::seconds(warm.elapsed)),
            app.len().to_string(),
            crates,
        ]);
        temp.remove_all();
    }
    Ok(Table { headers: vec!["build", "cold (s)", "warm (s)", "binary (bytes)", "crates listed"], rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    #[test]
    fn equal_sums_show_once_and_pass() {
        assert_eq!(sum_cell(A, A), "`0123456789abcdef…`");
        assert_eq!(verdict(&[]), Ok(()));
    }

    #[test]
    fn differing_sums_show_both_and_fail_naming_the_builders() {
        assert_eq!(sum_cell(A, B), "**differ**: `0123456789abcdef…`, `fedcba9876543210…`");
        let error = verdict(&["static".to_string(), "multi-platform linux/arm64".to_string()]).unwrap_err();
        assert!(error.contains("static, multi-platform linux/arm64"), "{error}");
        assert!(error.contains("different binaries"), "{error}");
    }
}
