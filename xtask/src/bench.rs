//! `cargo xtask bench`: cold builds and warm rebuilds after a one-line edit,
//! repeated, for my-project and for a fixture with a realistic dependency
//! tree, where caching the dependencies is what the variants are about.

use std::path::Path;

use howto_harness::{Docker, Project, Variant};

use crate::chart::{self, Bar, Panel};
use crate::howto;
use crate::measure::{self, Progress, Target};
use crate::report::{self, Table};

pub struct Options {
    pub runs: usize,
    pub projects: Vec<&'static Project>,
    /// Only this variant (all when `None`).
    pub variant: Option<&'static Variant>,
}

/// What one crate and target measured over all runs.
struct Row {
    /// The median of the crate's rebuild bound (see `measure_bound`).
    bound_secs: Option<f64>,
    project: &'static Project,
    target: Target,
    cold_secs: Vec<f64>,
    warm_secs: Vec<f64>,
    /// The same build once more, every step cached: what Docker itself costs.
    unchanged_secs: Vec<f64>,
}

pub fn run(options: &Options, howto_path: &Path, charts_dir: &Path) -> Result<(), String> {
    let targets: Vec<Target> =
        Target::all().into_iter().filter(|t| options.variant.is_none_or(|v| v.name == t.variant.name)).collect();
    let builds = options.projects.len() * targets.len() * options.runs * 2;
    let mut progress = Progress::new(2 + options.projects.len() + builds + 1);

    let (docker, engine_version, base_images) = measure::prepare(&mut progress)?;

    let mut rows = Vec::new();
    for &project in &options.projects {
        progress.step(&format!("{}: the rebuild bound, {} runs …", project.name, options.runs));
        let bound = measure_bound(&docker, project, options.runs)?;
        progress.note(&format!("median {:.1}s", report::median(&bound)));
        for &target in &targets {
            let mut row = bench_target(&docker, project, target, options.runs, &mut progress)?;
            row.bound_secs = Some(report::median(&bound));
            rows.push(row);
        }
    }

    progress.step("writing the table, docs/bench.svg and HOWTO.md's bench region");
    let table = bench_table(&rows);
    println!("{}", table.to_text());
    chart::draw(&charts_dir.join("bench.svg"), &chart_panels(&rows))?;
    let bench = format!(
        "{}\nMedians of {} runs each. *warm*: the rebuild after a one-line edit to the first \
         binary; *unchanged*: the same build again, every step cached, which is what Docker \
         itself costs; *bound*: `cargo build --release` alone with a warm `target/` after the \
         same edit, in the builder image: the least a rebuild can cost. {}\n\n\
         ![Warm rebuild after a one-line edit, per crate](docs/bench.svg)\n",
        table.to_markdown(),
        options.runs,
        report::provenance(&docker, &engine_version, base_images, howto_path)
    );
    howto::update(howto_path, &[(howto_harness::regions::BENCH.to_string(), bench)])?;
    progress.note(&format!("wrote {} and {}", howto_path.display(), charts_dir.join("bench.svg").display()));
    progress.finish();
    Ok(())
}

/// `runs` times: a cold build of the crate as it is, then a warm rebuild
/// after an edit that no earlier run made.
fn bench_target(
    docker: &Docker,
    project: &'static Project,
    target: Target,
    runs: usize,
    progress: &mut Progress,
) -> Result<Row, String> {
    let label = format!("{} {}", project.name, target.label());
    let binary = project.main_binary();
    let build_args = binary.build_args();
    let copy =
        |what: &str| project.scratch_copy().map_err(|e| format!("copying {} for the {what}: {e}", project.source));
    let pristine = copy("cold build")?;
    let mut temp = howto_harness::TempImages::new(docker);
    let mut row = Row {
        bound_secs: None,
        project,
        target,
        cold_secs: Vec::new(),
        warm_secs: Vec::new(),
        unchanged_secs: Vec::new(),
    };
    for run in 1..=runs {
        progress.step(&format!("{label}: run {run}/{runs}, cold build …"));
        let cold_tag = temp.tag(&format!("bench-{}-{}-cold", project.name, target.variant.name));
        let cold = measure::cold_build(docker, target, target.build(pristine.path(), &cold_tag, &build_args))?;
        measure::run_and_check(docker, &cold_tag, target, &project.default_output(binary))?;
        row.cold_secs.push(report::seconds(cold.elapsed));
        progress.note(&format!("{:.1}s", cold.elapsed.as_secs_f64()));

        progress.step(&format!("{label}: run {run}/{runs}, warm rebuild after a one-line edit …"));
        let greeting = format!("Hello, bench run {run}!");
        let edited = copy("warm rebuild")?;
        measure::edit_greeting(&edited, binary, &greeting)?;
        let warm_tag = temp.tag(&format!("bench-{}-{}-warm", project.name, target.variant.name));
        let warm = docker.build(&target.build(edited.path(), &warm_tag, &build_args)).map_err(|e| e.to_string())?;
        let message = project.build_input.map_or("", |input| input.message);
        measure::run_and_check(docker, &warm_tag, target, &(binary.prints)(&greeting, message))?;
        row.warm_secs.push(report::seconds(warm.elapsed));
        let unchanged =
            docker.build(&target.build(edited.path(), &warm_tag, &build_args)).map_err(|e| e.to_string())?;
        row.unchanged_secs.push(report::seconds(unchanged.elapsed));
        progress.note(&format!("{:.1}s", warm.elapsed.as_secs_f64()));
        temp.remove_all();
    }
    Ok(row)
}

/// The crate's rebuild bound (see `measure::rebuild_bound`), `runs` times,
/// each on a fresh copy with the benchmark's own edit.
fn measure_bound(docker: &Docker, project: &Project, runs: usize) -> Result<Vec<f64>, String> {
    let binary = project.main_binary();
    let mut secs = Vec::new();
    for run in 1..=runs {
        let copy = project.scratch_copy().map_err(|e| format!("copying {}: {e}", project.source))?;
        let edit = || measure::edit_greeting(&copy, binary, &format!("Hello, bench run {run}!"));
        secs.push(measure::rebuild_bound(docker, copy.path(), &measure::PlainBuild::default(), edit)?);
    }
    Ok(secs)
}

/// Medians only: the spread of the warm rebuilds is in the chart.
fn bench_table(rows: &[Row]) -> Table {
    Table {
        headers: vec![
            "crate / variant",
            "cold median (s)",
            "warm median (s)",
            "warm vs multistage",
            "unchanged (s)",
            "bound (s)",
            "warm / bound",
        ],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    format!("{} / {}", row.project.name, row.target.label()),
                    report::format_seconds(report::median(&row.cold_secs)),
                    report::format_seconds(report::median(&row.warm_secs)),
                    warm_ratio(rows, row).map_or("–".to_string(), |r| format!("{r:.2}×")),
                    report::format_seconds(report::median(&row.unchanged_secs)),
                    row.bound_secs.map_or("–".to_string(), report::format_seconds),
                    row.bound_secs
                        .filter(|b| *b > 0.0)
                        .map_or("–".to_string(), |b| format!("{:.2}×", report::median(&row.warm_secs) / b)),
                ]
            })
            .collect(),
    }
}

/// The row's warm median over multistage's, for the same crate: below 1, the
/// variant's caching pays off; `None` if multistage was not measured.
fn warm_ratio(rows: &[Row], row: &Row) -> Option<f64> {
    let multistage =
        rows.iter().find(|r| r.project.name == row.project.name && r.target.variant.name == "multistage")?;
    let base = report::median(&multistage.warm_secs);
    (base > 0.0).then(|| report::median(&row.warm_secs) / base)
}

/// One panel per crate: warm rebuild medians with their min–max.
fn chart_panels(rows: &[Row]) -> Vec<Panel> {
    let mut projects: Vec<&Project> = rows.iter().map(|r| r.project).collect();
    projects.dedup_by_key(|p| p.name);
    projects
        .into_iter()
        .map(|project| Panel {
            title: format!("Warm rebuild after a one-line edit: {}", project.name),
            axis: "seconds (median, min–max)".into(),
            log_scale: false,
            bars: rows
                .iter()
                .filter(|r| r.project.name == project.name)
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
