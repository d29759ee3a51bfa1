//! `--write`, the one time `cargo xtask try` writes into the crate: a
//! Dockerfile, and what it needs beside it. A file that is there with other
//! content is never overwritten: every file is checked before any is
//! written, and a write that fails halfway takes back what it wrote.

use std::io::Write;
use std::path::{Path, PathBuf};

use howto_harness::{Variant, repo_root, variants};

/// A file to put into the crate, and where it comes from in this repository.
pub struct File {
    pub source: PathBuf,
    pub dest: PathBuf,
    content: Vec<u8>,
    permissions: std::fs::Permissions,
}

/// What the multi-platform and static builders copy from the build context.
const SCRIPT: &str = "scripts/build_dist_release.sh";

/// What writing `variant` into `dir` puts there: its Dockerfile as
/// `Dockerfile`; the HOWTO's .dockerignore (target/, .git) if `dir` has
/// none; and the script the Dockerfile copies, if it copies one.
pub fn plan(dir: &Path, variant: &Variant) -> Result<Vec<File>, String> {
    let context = repo_root().join(variants::CONTEXT);
    let mut files = vec![file(repo_root().join(variant.dockerfile()), dir.join("Dockerfile"))?];
    if !dir.join(".dockerignore").exists() {
        files.push(file(context.join(".dockerignore"), dir.join(".dockerignore"))?);
    }
    if String::from_utf8_lossy(&files[0].content).contains(SCRIPT) {
        files.push(file(context.join(SCRIPT), dir.join(SCRIPT))?);
    }
    Ok(files)
}

fn file(source: PathBuf, dest: PathBuf) -> Result<File, String> {
    let read = |e: std::io::Error| format!("{}: {e}", source.display());
    let content = std::fs::read(&source).map_err(read)?;
    let permissions = std::fs::metadata(&source).map_err(read)?.permissions();
    Ok(File { source, dest, content, permissions })
}

/// The files of `plan` that are not there yet. One that is there with the
/// same content is left alone; one with other content is an error.
pub fn check(plan: &[File]) -> Result<Vec<&File>, String> {
    let mut new = Vec::new();
    for file in plan {
        match std::fs::read(&file.dest) {
            Ok(content) if content == file.content => {}
            Ok(_) => {
                return Err(format!(
                    "{} is there already and differs from {}: --write overwrites nothing, so nothing was \
                     written; compare the two, or move yours away and run again",
                    file.dest.display(),
                    file.source.display()
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => new.push(file),
            Err(e) => return Err(format!("{}: {e}; nothing was written", file.dest.display())),
        }
    }
    Ok(new)
}

/// Writes the files of `plan` that [`check`] lets through, all or none;
/// returns the ones it wrote.
pub fn write(plan: &[File]) -> Result<Vec<PathBuf>, String> {
    let mut made = Vec::new();
    for file in check(plan)? {
        if let Err(e) = write_new(file, &mut made) {
            // Files first, then the directories made for them.
            for path in made.iter().rev() {
                let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir(path));
            }
            return Err(format!("writing {}: {e}; what this run had written is removed", file.dest.display()));
        }
    }
    Ok(plan.iter().map(|f| f.dest.clone()).filter(|dest| made.contains(dest)).collect())
}

/// Creates `file` (never replacing one) and its directory if missing,
/// noting in `made` each path it creates.
fn write_new(file: &File, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if let Some(parent) = file.dest.parent().filter(|p| !p.exists()) {
        std::fs::create_dir(parent)?;
        made.push(parent.to_path_buf());
    }
    let mut out = std::fs::File::options().write(true).create_new(true).open(&file.dest)?;
    made.push(file.dest.clone());
    out.write_all(&file.content)?;
    out.set_permissions(file.permissions.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn variant(name: &str) -> &'static Variant {
        Variant::named(name).expect(name)
    }

    fn names(dir: &Path, files: &[PathBuf]) -> Vec<String> {
        files.iter().map(|f| f.strip_prefix(dir).unwrap().display().to_string()).collect()
    }

    #[test]
    fn a_dockerfile_comes_with_a_dockerignore_and_the_script_it_copies() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(&plan(dir.path(), variant("static")).unwrap()).unwrap();
        assert_eq!(names(dir.path(), &written), ["Dockerfile", ".dockerignore", SCRIPT]);
        let dockerfile = std::fs::read(repo_root().join(variant("static").dockerfile())).unwrap();
        assert_eq!(std::fs::read(dir.path().join("Dockerfile")).unwrap(), dockerfile);
        let mode = std::fs::metadata(dir.path().join(SCRIPT)).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "the script stays executable");
        // Written once, the same files are there: a second run writes nothing.
        assert!(write(&plan(dir.path(), variant("static")).unwrap()).unwrap().is_empty());
    }

    #[test]
    fn a_dockerignore_of_the_crates_own_is_kept_and_no_script_is_added_unasked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "target\n").unwrap();
        let written = write(&plan(dir.path(), variant("dependency-cache")).unwrap()).unwrap();
        assert_eq!(names(dir.path(), &written), ["Dockerfile"]);
        assert_eq!(std::fs::read_to_string(dir.path().join(".dockerignore")).unwrap(), "target\n");
    }

    #[test]
    fn a_file_with_other_content_stops_the_write_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join(SCRIPT), "#!/bin/sh\n# mine\n").unwrap();
        let error = write(&plan(dir.path(), variant("multi-platform")).unwrap()).unwrap_err();
        assert!(error.contains("build_dist_release.sh is there already and differs from"), "{error}");
        assert!(!dir.path().join("Dockerfile").exists() && !dir.path().join(".dockerignore").exists());
        assert_eq!(std::fs::read_to_string(dir.path().join(SCRIPT)).unwrap(), "#!/bin/sh\n# mine\n");
    }
}
