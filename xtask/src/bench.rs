//! `cargo xtask bench`: cold builds and warm rebuilds after a one-line edit,
//! repeated, for my-project and for a fixture with a realistic dependency
//! tree, where caching the dependencies is what the variants are about.

use std::path::Path;

use howto_harness::variants::GREETING;
use howto_harness::{CrateCopy, Docker, Variant};

use crate::chart::{self, Bar, Panel};
use crate::howto;
use crate::measure::{self, Progress, Target};
use crate::report::{self, Table};

/// A crate the benchmark builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crate {
    MyProject,
    DepsHeavy,
}

impl Crate {
    pub const ALL: [Crate; 2] = [Crate::MyProject, Crate::DepsHeavy];

    pub fn named(name: &str) -> Option<Crate> {
        Crate::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Crate::MyProject => "my-project",
            Crate::DepsHeavy => "deps-heavy",
        }
    }

    /// Relative to the repository root.
    fn source(self) -> &'static str {
        match self {
            Crate::MyProject => "my-project",
            Crate::DepsHeavy => "fixtures/deps-heavy",
        }
    }

    /// The Dockerfiles name the binary after `APP_NAME`, my-project's by default.
    fn build_args(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Crate::MyProject => vec![],
            Crate::DepsHeavy => vec![("APP_NAME", "deps-heavy")],
        }
    }

    /// A scratch copy every Dockerfile can build. The fixture gets
    /// my-project's scripts/ (the multi-platform and static builders copy
    /// scripts/build_dist_release.sh from the context) rather than a copy of
    /// its own that could drift.
    fn scratch_copy(self) -> Result<CrateCopy, String> {
        let copy = CrateCopy::new(self.source()).map_err(|e| format!("copying {}: {e}", self.source()))?;
        if self != Crate::MyProject {
            copy.add_dir("my-project/scripts", "scripts")
                .map_err(|e| format!("copying my-project/scripts into the scratch copy: {e}"))?;
        }
        Ok(copy)
    }
}

pub struct Options {
    pub runs: usize,
    pub crates: Vec<Crate>,
    /// Only this variant (all when `None`).
    pub variant: Option<&'static Variant>,
}

/// What one crate and target measured over all runs.
struct Row {
    krate: Crate,
    target: Target,
    size_bytes: u64,
    cold_secs: Vec<f64>,
    warm_secs: Vec<f64>,
}

pub fn run(options: &Options, howto_path: &Path, charts_dir: &Path) -> Result<(), String> {
    let targets: Vec<Target> =
        Target::all().into_iter().filter(|t| options.variant.is_none_or(|v| v.name == t.variant.name)).collect();
    let builds = options.crates.len() * targets.len() * options.runs * 2;
    let mut progress = Progress::new(2 + builds + 1);

    let (docker, engine_version) = measure::prepare(&mut progress)?;

    let mut rows = Vec::new();
    for &krate in &options.crates {
        for &target in &targets {
            rows.push(bench_target(&docker, krate, target, options.runs, &mut progress)?);
        }
    }

    progress.step("writing the table, docs/bench.svg and HOWTO.md's bench region");
    let table = bench_table(&rows);
    println!("{}", table.to_text());
    chart::draw(&charts_dir.join("bench.svg"), &chart_panels(&rows))?;
    let bench = format!(
        "{}\nMedians of {} runs each. {}\n\n\
         ![Warm rebuild after a one-line edit, deps-heavy fixture](docs/bench.svg)\n",
        table.to_markdown(),
        options.runs,
        report::provenance(&docker, &engine_version)
    );
    howto::update(howto_path, &[("bench".to_string(), bench)])?;
    progress.note(&format!("wrote {} and {}", howto_path.display(), charts_dir.join("bench.svg").display()));
    Ok(())
}

/// `runs` times: a cold build of the crate as it is, then a warm rebuild
/// after an edit that no earlier run made.
fn bench_target(
    docker: &Docker,
    krate: Crate,
    target: Target,
    runs: usize,
    progress: &mut Progress,
) -> Result<Row, String> {
    let label = format!("{} {}", krate.name(), target.label());
    let build_args = krate.build_args();
    let pristine = krate.scratch_copy()?;
    let mut temp = howto_harness::TempImages::new(docker);
    let mut row = Row { krate, target, size_bytes: 0, cold_secs: Vec::new(), warm_secs: Vec::new() };
    for run in 1..=runs {
        progress.step(&format!("{label}: run {run}/{runs}, cold build …"));
        let cold_tag = temp.tag(&format!("bench-{}-{}-cold", krate.name(), target.variant.name));
        let cold = measure::cold_build(docker, target, target.build(pristine.path(), &cold_tag, &build_args))?;
        measure::run_and_check(docker, &cold_tag, target, GREETING)?;
        row.size_bytes = docker.inspect(&cold_tag).map_err(|e| e.to_string())?.size;
        row.cold_secs.push(report::seconds(cold.elapsed));
        progress.note(&format!("{:.1}s", cold.elapsed.as_secs_f64()));

        progress.step(&format!("{label}: run {run}/{runs}, warm rebuild after a one-line edit …"));
        let greeting = format!("Hello, bench run {run}!");
        let edited = krate.scratch_copy()?;
        measure::edit_greeting(&edited, &greeting)?;
        let warm_tag = temp.tag(&format!("bench-{}-{}-warm", krate.name(), target.variant.name));
        let warm = docker.build(&target.build(edited.path(), &warm_tag, &build_args)).map_err(|e| e.to_string())?;
        measure::run_and_check(docker, &warm_tag, target, &greeting)?;
        row.warm_secs.push(report::seconds(warm.elapsed));
        progress.note(&format!("{:.1}s", warm.elapsed.as_secs_f64()));
        temp.remove_all();
    }
    Ok(row)
}

fn bench_table(rows: &[Row]) -> Table {
    let range = |sample: &[f64]| {
        let (lo, hi) = report::min_max(sample);
        format!("{}–{}", report::format_seconds(lo), report::format_seconds(hi))
    };
    Table {
        headers: vec![
            "crate / variant",
            "image size (MB)",
            "cold median (s)",
            "cold min–max (s)",
            "warm median (s)",
            "warm min–max (s)",
            "warm vs multistage",
        ],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    format!("{} / {}", row.krate.name(), row.target.label()),
                    report::format_mb(report::megabytes(row.size_bytes)),
                    report::format_seconds(report::median(&row.cold_secs)),
                    range(&row.cold_secs),
                    report::format_seconds(report::median(&row.warm_secs)),
                    range(&row.warm_secs),
                    warm_ratio(rows, row).map_or("–".to_string(), |r| format!("{r:.2}×")),
                ]
            })
            .collect(),
    }
}

/// The row's warm median over multistage's, for the same crate: below 1, the
/// variant's caching pays off; `None` if multistage was not measured.
fn warm_ratio(rows: &[Row], row: &Row) -> Option<f64> {
    let multistage = rows.iter().find(|r| r.krate == row.krate && r.target.variant.name == "multistage")?;
    let base = report::median(&multistage.warm_secs);
    (base > 0.0).then(|| report::median(&row.warm_secs) / base)
}

/// One panel per crate: warm rebuild medians with their min–max.
fn chart_panels(rows: &[Row]) -> Vec<Panel> {
    let mut crates: Vec<Crate> = rows.iter().map(|r| r.krate).collect();
    crates.dedup();
    crates
        .into_iter()
        .map(|krate| Panel {
            title: format!("Warm rebuild after a one-line edit: {}", krate.name()),
            axis: "seconds (median, min–max)".into(),
            log_scale: false,
            bars: rows
                .iter()
                .filter(|r| r.krate == krate)
                .map(|r| Bar {
                    label: r.target.label(),
                    value: report::median(&r.warm_secs),
                    range: Some(report::min_max(&r.warm_secs)),
                })
                .collect(),
            format: report::format_seconds,
        })
        .collect()
}
