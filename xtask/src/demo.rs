//! `cargo xtask demo`: the HOWTO's walkthrough, run for real. Builds every
//! variant cold into the tag the HOWTO gives it, runs it, edits one line and
//! rebuilds warm, then prints the figures; with `--write`, it also writes
//! them into HOWTO.md and docs/chart.svg. Without it no tracked file
//! changes: the figures are this machine's, the committed ones a named run's.

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

pub fn run(howto_path: &Path, charts_dir: &Path, write: bool) -> Result<(), String> {
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

    progress.step(if write {
        "writing the table, docs/chart.svg and HOWTO.md's generated regions"
    } else {
        "writing the table, and the chart under target/"
    });
    let table = results_table(&rows);
    println!("{}", table.to_text());
    if !write {
        let chart = target_dir().join("demo/chart.svg");
        chart::draw(&chart, &chart_panels(&rows))?;
        progress.note(&format!(
            "wrote {}; {} and {} are as they were: `cargo xtask demo --write` puts these figures there",
            chart.display(),
            howto_path.display(),
            charts_dir.join("chart.svg").display()
        ));
        progress.finish();
        return Ok(());
    }
    let images = docker.output(&["images", IMAGE], std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    chart::draw(&charts_dir.join("chart.svg"), &chart_panels(&rows))?;

    let provenance = report::provenance(&docker, &engine_version, base_images, howto_path);
    let mut regions = vec![
        (
            regions::RESULTS.to_string(),
            format!(
                "{}\n{provenance}\n\n![Image size and warm rebuild time per variant](docs/chart.svg)\n",
                table.to_markdown()
            ),
        ),
        // The same run as the results table, which names engine and machine.
        (
            regions::IMAGES.to_string(),
            format!("```text\n{images}\n```\n\nThe run of [the walkthrough's figures](#the-walkthroughs-figures).\n"),
        ),
        (regions::MANIFEST.to_string(), manifest),
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

/// Cargo's target directory (CARGO_TARGET_DIR, or target/ at the root):
/// untracked, where a run without `--write` puts its chart.
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| howto_harness::repo_root().join("target"), Into::into)
}

/// Pushes the per-platform images of the multi-platform variant to a
/// throwaway registry, joins them under one tag, and returns the list as the
/// registry holds it, one row per entry.
fn manifest_list(docker: &Docker, rows: &[Row]) -> Result<String, String> {
    let registry = LocalRegistry::start()?;
    let images: Vec<(String, &str)> =
        rows.iter().filter_map(|row| Some((row.target.tag(), row.target.platform?))).collect();
    let pairs: Vec<(&str, &str)> = images.iter().map(|(tag, platform)| (tag.as_str(), *platform)).collect();
    let list = push_manifest_list(docker, &format!("{}/{IMAGE}:multi-platform", registry.address), &pairs)?;
    manifest_table(&list)
}

/// The list's media type, then a table of its entries: platform, digest
/// (abbreviated), size, and what an attestation describes.
fn manifest_table(list: &str) -> Result<String, String> {
    let json: serde_json::Value =
        serde_json::from_str(list).map_err(|e| format!("the manifest list is not JSON ({e}):\n{list}"))?;
    let entries = json["manifests"].as_array().ok_or(format!("no manifests in the list:\n{list}"))?;
    let text = |value: &serde_json::Value| value.as_str().unwrap_or("").to_string();
    let digest = |value: &serde_json::Value| format!("`{}`", measure::abbreviate_digest(&text(value)));
    let mut rows = Vec::new();
    for entry in entries {
        let platform = &entry["platform"];
        let reference = &entry["annotations"]["vnd.docker.reference.digest"];
        let kind = match entry["annotations"]["vnd.docker.reference.type"].as_str() {
            Some(kind) => format!("{kind} of {}", digest(reference)),
            None => "image".to_string(),
        };
        rows.push(vec![
            format!("{}/{}", text(&platform["os"]), text(&platform["architecture"])),
            digest(&entry["digest"]),
            entry["size"].to_string(),
            kind,
        ]);
    }
    let table = Table { headers: vec!["platform", "digest", "size (B)", "entry"], rows };
    Ok(format!("`{}`:\n\n{}", text(&json["mediaType"]), table.to_markdown()))
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

#[cfg(test)]
mod tests {
    use super::manifest_table;

    /// Two platforms and their provenance attestations, as `docker buildx
    /// imagetools inspect --raw` printed them on Engine 26 (digests shortened
    /// to 16 hex digits, still longer than the table keeps).
    const INDEX: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:f8533bf7e9ba0123", "size": 865,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:0736dc931ae04567", "size": 566,
     "annotations": {"vnd.docker.reference.digest": "sha256:f8533bf7e9ba0123",
                     "vnd.docker.reference.type": "attestation-manifest"},
     "platform": {"architecture": "unknown", "os": "unknown"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:e4cb2956afb189ab", "size": 865,
     "platform": {"architecture": "arm64", "os": "linux"}}
  ]
}"#;

    #[test]
    fn a_manifest_list_becomes_a_row_per_entry_with_attestations_named() {
        let table = manifest_table(INDEX).expect("a table");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "`application/vnd.oci.image.index.v1+json`:");
        assert_eq!(lines[4], "| linux/amd64 | `sha256:f8533bf7e9ba…` | 865 | image |");
        assert_eq!(
            lines[5],
            "| unknown/unknown | `sha256:0736dc931ae0…` | 566 | attestation-manifest of `sha256:f8533bf7e9ba…` |"
        );
        assert_eq!(lines[6], "| linux/arm64 | `sha256:e4cb2956afb1…` | 865 | image |");
        assert_eq!(lines.len(), 7, "{table}");
    }

    #[test]
    fn output_that_is_not_a_manifest_list_is_an_error() {
        assert!(manifest_table("no such manifest").unwrap_err().contains("not JSON"));
        assert!(manifest_table(r#"{"schemaVersion": 2}"#).unwrap_err().contains("no manifests"));
    }
}
