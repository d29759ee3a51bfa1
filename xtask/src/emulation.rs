//! `cargo xtask emulation`: why the multi-platform variant cross-compiles.
//! The same crate is compiled for arm64 on this machine twice, once by a
//! builder that runs here and links for arm64, once by an arm64 builder under
//! qemu (what a Dockerfile without `--platform=$BUILDPLATFORM` does), and for
//! reference once for this machine's own platform. Only the compile is timed:
//! the toolchains are built first and stay cached.

use std::path::Path;
use std::time::Duration;

use howto_harness::variants::{arch, elf_machine, machine};
use howto_harness::{Docker, Project, nonce};

use crate::howto;
use crate::measure::{self, Progress};
use crate::report::{self, Table};

/// Bench only: not a variant, and not in the table that drives the tests.
pub const DOCKERFILE: &str = "xtask/emulation.Dockerfile";

pub struct Options {
    pub runs: usize,
    pub projects: Vec<&'static Project>,
}

/// One way of building, as a stage of the bench Dockerfile and a platform.
#[derive(Clone, Copy)]
struct Way {
    label: &'static str,
    /// The table's column.
    header: &'static str,
    stage: &'static str,
    platform: &'static str,
}

const NATIVE: Way =
    Way { label: "native amd64", header: "native amd64 (s)", stage: "cross-image", platform: "linux/amd64" };
const CROSS: Way = Way {
    label: "cross-compiled arm64",
    header: "cross-compiled arm64 (s)",
    stage: "cross-image",
    platform: "linux/arm64",
};
const EMULATED: Way =
    Way { label: "emulated arm64", header: "emulated arm64 (s)", stage: "emulated-image", platform: "linux/arm64" };
const WAYS: [Way; 3] = [NATIVE, CROSS, EMULATED];

/// The toolchain stages, built once before anything is timed.
const TOOLCHAINS: [(&str, &str); 3] =
    [("cross-toolchain", "linux/amd64"), ("cross-toolchain", "linux/arm64"), ("emulated-toolchain", "linux/arm64")];

struct Row {
    project: &'static Project,
    /// Seconds per run, in the order of [`WAYS`].
    secs: [Vec<f64>; 3],
}

pub fn run(options: &Options, howto_path: &Path) -> Result<(), String> {
    if std::env::consts::ARCH != "x86_64" {
        return Err(format!(
            "this bench compares builds for arm64 on an amd64 machine; this one is {}",
            std::env::consts::ARCH
        ));
    }
    let builds = options.projects.len() * (TOOLCHAINS.len() + WAYS.len() * options.runs);
    let mut progress = Progress::new(2 + builds + 1);
    let (docker, engine_version, base_images) = measure::prepare(&mut progress)?;

    let mut rows = Vec::new();
    for &project in &options.projects {
        let copy = project.scratch_copy().map_err(|e| format!("copying {}: {e}", project.source))?;
        let binary = project.main_binary();
        let expected = project.default_output(binary);
        let mut temp = howto_harness::TempImages::new(&docker);
        for (stage, platform) in TOOLCHAINS {
            progress.step(&format!("{}: the {stage} stage for {platform} (not timed) …", project.name));
            let tag = temp.tag(&format!("emulation-{stage}-{}", arch(platform)));
            docker.build(&stage_build(&copy, &tag, stage, platform)).map_err(|e| e.to_string())?;
        }
        let mut row = Row { project, secs: Default::default() };
        for run in 1..=options.runs {
            let run_id = nonce();
            let mut build_args: Vec<(&str, &str)> = binary.build_args();
            build_args.push(("RUN_ID", &run_id));
            for (way, secs) in WAYS.iter().zip(row.secs.iter_mut()) {
                progress.step(&format!("{}: {}, run {run}/{} …", project.name, way.label, options.runs));
                let elapsed = timed_build(&docker, way, &copy, &build_args, &expected, &mut temp)?;
                progress.note(&format!("{elapsed:.1}s"));
                secs.push(elapsed);
            }
            // The binaries are checked; the images are not needed any more.
            temp.remove_all();
        }
        rows.push(row);
    }

    progress.step("writing the table into HOWTO.md's emulation region");
    let table = table(&rows);
    println!("{}", table.to_text());
    let text = format!(
        "{}\n{}: the compile alone, toolchains cached; each binary's ELF machine and output checked. \
         Emulated: Debian's rustc-web 1.96 under qemu-user; the others: the rust image, as in multi-platform. {}\n",
        table.to_markdown(),
        if options.runs == 1 { "One run".to_string() } else { format!("Medians of {} runs", options.runs) },
        report::provenance(&docker, &engine_version, base_images, howto_path)
    );
    howto::update(howto_path, &[(howto_harness::regions::EMULATION.to_string(), text)])?;
    progress.note(&format!("wrote {}", howto_path.display()));
    progress.finish();
    Ok(())
}

/// A build of one stage of the bench Dockerfile for `platform`.
fn stage_build(copy: &howto_harness::CrateCopy, tag: &str, stage: &str, platform: &str) -> howto_harness::Build {
    howto_harness::Build::new(DOCKERFILE, copy.path(), tag).platform(platform).option(&format!("--target={stage}"))
}

/// Builds `way`'s image, checks that its binary is for the right machine and
/// prints `expected`, and returns the build's seconds.
fn timed_build(
    docker: &Docker,
    way: &Way,
    copy: &howto_harness::CrateCopy,
    build_args: &[(&str, &str)],
    expected: &str,
    temp: &mut howto_harness::TempImages,
) -> Result<f64, String> {
    let tag = temp.tag(&format!("emulation-{}-{}", way.stage, arch(way.platform)));
    let mut build = stage_build(copy, &tag, way.stage, way.platform);
    for (key, value) in build_args {
        build = build.build_arg(key, value);
    }
    // deps-heavy takes more than half an hour under qemu on 2 cores.
    build.timeout = Duration::from_secs(3 * 3600);
    let output = docker.build(&build).map_err(|e| e.to_string())?;
    if output.log.cargo_build().is_none_or(|step| step.cached) {
        return Err(format!("{tag}: the cargo build step did not run:\n{}", output.log.tail(40)));
    }
    let binary = docker.read_file(&tag, "/usr/local/bin/app").map_err(|e| e.to_string())?;
    let elf = machine(way.platform).map(|m| m.elf);
    if elf_machine(&binary) != elf {
        return Err(format!("{tag}: the binary's ELF machine is {:?}, expected {elf:?}", elf_machine(&binary)));
    }
    let printed = docker.run(&tag, Some(way.platform), &[]).map_err(|e| e.to_string())?;
    if printed != expected {
        return Err(format!("{tag} printed {printed:?}, expected {expected:?}"));
    }
    Ok(report::seconds(output.elapsed))
}

fn table(rows: &[Row]) -> Table {
    let mut headers = vec!["crate"];
    headers.extend(WAYS.iter().map(|w| w.header));
    headers.push("emulated / cross-compiled");
    Table {
        headers,
        rows: rows
            .iter()
            .map(|row| {
                let medians: Vec<f64> = row.secs.iter().map(|s| report::median(s)).collect();
                let mut cells = vec![row.project.name.to_string()];
                cells.extend(medians.iter().map(|m| report::format_seconds(*m)));
                cells.push(if medians[1] > 0.0 { format!("{:.1}×", medians[2] / medians[1]) } else { "–".into() });
                cells
            })
            .collect(),
    }
}
