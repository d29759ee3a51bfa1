//! `cargo xtask demo`: the HOWTO's walkthrough, run for real. Builds every
//! variant cold into the tag the HOWTO gives it, runs it, edits one line and
//! rebuilds warm, then prints the figures and writes them into HOWTO.md.

use std::path::Path;

use howto_harness::regions::{self, SHOWN_REBUILDS};
use howto_harness::registry::{LocalRegistry, push_manifest_list};
use howto_harness::variants::{CONTEXT, EDITED_GREETING, GREETING, IMAGE};
use howto_harness::{CrateCopy, Docker, PROJECTS};

use crate::chart::{self, Bar, Panel};
use crate::howto;
use crate::measure::{self, Progress, Target};
use crate::report::{self, Table};

/// What one target measured.
struct Row {
    target: Target,
    size_bytes: u64,
    cold_secs: f64,
    warm_secs: f64,
    /// Steps CACHED in the warm rebuild, out of all its steps.
    cache_hits: (usize, usize),
    cold_output: String,
    warm_output: String,
    /// The warm rebuild's step lines, for the HOWTO.
    warm_steps: String,
}

pub fn run(howto_path: &Path, charts_dir: &Path) -> Result<(), String> {
    let targets = Target::all();
    // Set-up, engine, a cold and a warm build per target, the manifest
    // list, the outputs.
    let mut progress = Progress::new(2 + 2 * targets.len() + 1 + 1);

    let (docker, engine_version, base_images) = measure::prepare(&mut progress)?;

    let mut rows = Vec::new();
    for target in targets {
        rows.push(measure_target(&docker, target, &mut progress)?);
    }

    progress.step("joining the per-platform images in a manifest list on a loopback registry");
    let manifest = manifest_list(&docker, &rows)?;

    progress.step("writing the table, docs/chart.svg and HOWTO.md's generated regions");
    let table = results_table(&rows);
    println!("{}", table.to_text());
    let images = docker.output(&["images", IMAGE], std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    chart::draw(&charts_dir.join("chart.svg"), &chart_panels(&rows))?;

    let provenance = report::provenance(&docker, &engine_version, base_images);
    let mut regions = vec![
        (
            regions::RESULTS.to_string(),
            format!(
                "{}\n{provenance}\n\n![Image size and warm rebuild time per variant](docs/chart.svg)\n",
                table.to_markdown()
            ),
        ),
        (regions::IMAGES.to_string(), format!("```text\n{images}\n```\n\n{provenance}\n")),
        (regions::MANIFEST.to_string(), format!("```json\n{manifest}\n```\n")),
    ];
    for name in SHOWN_REBUILDS {
        let row = rows.iter().find(|r| r.target.variant.name == *name);
        let steps = row.map_or(String::new(), |r| r.warm_steps.clone());
        regions.push((regions::rebuild(name), format!("```text\n{steps}\n```\n")));
    }
    howto::update(howto_path, &regions)?;
    progress.note(&format!("wrote {} and {}", howto_path.display(), charts_dir.join("chart.svg").display()));
    progress.finish();
    Ok(())
}

/// Pushes the per-platform images of the multi-platform variant to a
/// throwaway registry, joins them under one tag, and returns the list as the
/// registry holds it, digests abbreviated.
fn manifest_list(docker: &Docker, rows: &[Row]) -> Result<String, String> {
    let registry = LocalRegistry::start()?;
    let images: Vec<(String, &str)> =
        rows.iter().filter_map(|row| Some((row.target.tag(), row.target.platform?))).collect();
    let pairs: Vec<(&str, &str)> = images.iter().map(|(tag, platform)| (tag.as_str(), *platform)).collect();
    let list = push_manifest_list(docker, &format!("{}/{IMAGE}:multi-platform", registry.address), &pairs)?;
    Ok(list.lines().map(measure::abbreviate_digest).collect::<Vec<_>>().join("\n"))
}

/// The cold build into the HOWTO's tag, then the warm rebuild of a scratch
/// copy with the HOWTO's edit into a temporary tag.
fn measure_target(docker: &Docker, target: Target, progress: &mut Progress) -> Result<Row, String> {
    let label = target.label();
    let tag = target.tag();

    progress.step(&format!("{label}: cold build into {tag} …"));
    let replaced = docker.inspect(&tag).ok().map(|image| image.id);
    let cold = measure::cold_build(docker, target, target.build(Path::new(CONTEXT), &tag, &[]))?;
    if let Some(id) = replaced {
        measure::remove_if_untagged(docker, &id);
    }
    let cold_output = measure::run_and_check(docker, &tag, target, GREETING)?;
    let size_bytes = docker.image_size(&tag).map_err(|e| e.to_string())?;
    progress.note(&format!(
        "{:.1}s, {} MB",
        cold.elapsed.as_secs_f64(),
        report::format_mb(report::megabytes(size_bytes))
    ));

    progress.step(&format!("{label}: warm rebuild after `{GREETING}` → `{EDITED_GREETING}` …"));
    let copy = CrateCopy::new(CONTEXT).map_err(|e| format!("copying {CONTEXT}: {e}"))?;
    measure::edit_greeting(&copy, PROJECTS[0].main_binary(), EDITED_GREETING)?;
    let mut temp = howto_harness::TempImages::new(docker);
    let warm_tag = temp.tag(&format!("{}-warm", target.variant.name));
    let warm = docker.build(&target.build(copy.path(), &warm_tag, &[])).map_err(|e| e.to_string())?;
    let warm_output = measure::run_and_check(docker, &warm_tag, target, EDITED_GREETING)?;
    temp.remove_all();
    let cache_hits = warm.log.cache_hits();
    progress.note(&format!("{:.1}s, {}/{} steps cached", warm.elapsed.as_secs_f64(), cache_hits.0, cache_hits.1));

    Ok(Row {
        target,
        size_bytes,
        cold_secs: report::seconds(cold.elapsed),
        warm_secs: report::seconds(warm.elapsed),
        cache_hits,
        cold_output,
        warm_output,
        warm_steps: measure::step_lines(&warm.log.0),
    })
}

fn results_table(rows: &[Row]) -> Table {
    Table {
        headers: vec!["variant", "image size (MB)", "cold build (s)", "warm rebuild (s)", "cache hits", "output"],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    row.target.label(),
                    report::format_mb(report::megabytes(row.size_bytes)),
                    report::format_seconds(row.cold_secs),
                    report::format_seconds(row.warm_secs),
                    format!("{}/{}", row.cache_hits.0, row.cache_hits.1),
                    format!("{} → {}", row.cold_output, row.warm_output),
                ]
            })
            .collect(),
    }
}

fn chart_panels(rows: &[Row]) -> Vec<Panel> {
    let bars = |value: fn(&Row) -> f64| {
        rows.iter().map(|row| Bar { label: row.target.label(), value: value(row), range: None }).collect()
    };
    vec![
        Panel {
            title: "Image size".into(),
            axis: "MB (log scale)".into(),
            log_scale: true,
            bars: bars(|row| report::megabytes(row.size_bytes)),
            format: report::format_mb,
        },
        Panel {
            title: "Warm rebuild after a one-line edit".into(),
            axis: "seconds".into(),
            log_scale: false,
            bars: bars(|row| row.warm_secs),
            format: report::format_seconds,
        },
    ]
}
