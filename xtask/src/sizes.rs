//! What the runtime choices cost in image size, on the native fixture's two
//! TLS binaries (my-project's sizes are in the demo's results table, and
//! nowhere else): for each variant, the image, the binary in it, and the
//! layers that give the runtime its trust store and libraries (the CA bundle
//! copied from the builder, and the RUNTIME_PACKAGES), read from the image's
//! history. `cargo xtask sizes` writes it into HOWTO.md. It is not part of
//! the demo: on a fresh machine its builds of the native fixture take longer
//! than the whole demo.

use std::path::Path;
use std::time::Duration;

use howto_harness::projects::{native, scratch_copy};
use howto_harness::variants::CA_BUNDLE;
use howto_harness::{Docker, TempImages, regions};

use crate::howto;
use crate::measure::{self, Progress, Target};
use crate::report::{self, Table};

pub fn run(appendix: &Path) -> Result<(), String> {
    // Set-up, engine, one step per binary, writing.
    let mut progress = Progress::new(2 + native::BINARIES.len() + 1);
    let (docker, engine_version, base_images) = measure::prepare(&mut progress)?;
    let sizes = table(&docker, &mut progress)?;
    progress.step(&format!("writing the table and the sizes region of {}", regions::TLS_APPENDIX));
    println!("{}", sizes.to_text());
    let provenance = report::provenance(&docker, &engine_version, base_images, appendix);
    howto::update(appendix, &[(regions::SIZES.to_string(), format!("{}\n{provenance}\n", sizes.to_markdown()))])?;
    progress.note(&format!("wrote {}", appendix.display()));
    progress.finish();
    Ok(())
}

/// One image measured.
struct Row {
    label: String,
    image: u64,
    binary: u64,
    /// The layers that copy the CA bundle and install RUNTIME_PACKAGES;
    /// `None` where the runtime is the build image.
    runtime_layers: Option<u64>,
}

/// Builds each native binary with every target (from the layer cache where
/// the demo or the tests left one) and measures them.
pub fn table(docker: &Docker, progress: &mut Progress) -> Result<Table, String> {
    let mut rows = Vec::new();
    for binary in native::BINARIES {
        progress.step(&format!("image sizes: {binary} with every variant …"));
        let copy = scratch_copy(native::SOURCE).map_err(|e| format!("copying {}: {e}", native::SOURCE))?;
        let mut temp = TempImages::new(docker);
        for target in Target::all() {
            let build_args = native::binary_build_args(target.variant.runtime, binary);
            let tag = temp.tag(&format!("sizes-{binary}"));
            docker.build(&target.build(copy.path(), &tag, &build_args)).map_err(|e| e.to_string())?;
            rows.push(measure(docker, &tag, format!("{binary} / {}", target.label()))?);
        }
    }
    let mb = |bytes: u64| report::format_mb(report::megabytes(bytes));
    Ok(Table {
        headers: vec!["binary / variant", "image (MB)", "binary (MB)", "CA certificates and runtime packages (MB)"],
        rows: rows
            .iter()
            .map(|row| {
                vec![row.label.clone(), mb(row.image), mb(row.binary), row.runtime_layers.map_or("–".to_string(), mb)]
            })
            .collect(),
    })
}

fn measure(docker: &Docker, tag: &str, label: String) -> Result<Row, String> {
    let info = docker.inspect(tag).map_err(|e| e.to_string())?;
    let entrypoint = info.entrypoint.first().ok_or(format!("{tag} has no entrypoint"))?;
    let binary = docker.read_file(tag, entrypoint).map_err(|e| e.to_string())?.len() as u64;
    let history = docker
        .output(
            &["history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag],
            Duration::from_secs(30),
        )
        .map_err(|e| e.to_string())?;
    let mut runtime_layers = None;
    for line in history.lines() {
        let (size, created_by) = line.split_once('\t').ok_or(format!("docker history {tag}: {line:?}"))?;
        let size: u64 = size.parse().map_err(|_| format!("docker history {tag}: size {size:?}"))?;
        let installs = created_by.contains("install -y --no-install-recommends $RUNTIME_PACKAGES");
        let copies = created_by.starts_with(&format!("COPY {CA_BUNDLE}"));
        if installs || copies {
            *runtime_layers.get_or_insert(0) += size;
        }
    }
    let image = docker.image_size(tag).map_err(|e| e.to_string())?;
    Ok(Row { label, image, binary, runtime_layers })
}
