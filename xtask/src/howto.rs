//! HOWTO.md's generated regions: everything between
//! `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`, each marker on a
//! line of its own, belongs to the main job and is rewritten on every run.

use std::io::Write;
use std::path::Path;

use howto_harness::regions;

/// Replaces what lies between region `name`'s markers by `content`, keeping
/// the markers. Fails if either marker is missing or appears more than once,
/// or if they are in the wrong order.
pub fn fill_region(text: &str, name: &str, content: &str) -> Result<String, String> {
    let open = marker_line(text, &regions::open_marker(name))?;
    let close = marker_line(text, &regions::close_marker(name))?;
    if close.start < open.end {
        return Err(format!("region {name}: its closing marker comes before its opening marker"));
    }
    let body = content.trim_end_matches('\n');
    let mut filled = String::with_capacity(text.len() + content.len());
    filled.push_str(&text[..open.end]);
    if !body.is_empty() {
        filled.push_str(body);
        filled.push('\n');
    }
    filled.push_str(&text[close.start..]);
    Ok(filled)
}

/// Fills every region in the file at `path` and replaces it atomically. All
/// or nothing: if any region is missing, the file is left as it was and the
/// error names every region that is.
pub fn update(path: &Path, regions: &[(String, String)]) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{} does not exist yet, so its generated regions were not written", path.display())
        }
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    let mut filled = text;
    let mut problems = Vec::new();
    for (name, content) in regions {
        match fill_region(&filled, name, content) {
            Ok(next) => filled = next,
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(format!("{} was left unchanged:\n  {}", path.display(), problems.join("\n  ")));
    }
    write_atomically(path, &filled)
}

/// A marker's line, as a byte range that includes its line break.
struct Line {
    start: usize,
    end: usize,
}

fn marker_line(text: &str, marker: &str) -> Result<Line, String> {
    let mut found = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == marker {
            found.push(Line { start, end: start + line.len() });
        }
        start += line.len();
    }
    match found.len() {
        0 => Err(format!("no line `{marker}`: the region is missing")),
        1 => Ok(found.pop().expect("one")),
        n => Err(format!("`{marker}` appears on {n} lines; it must appear once")),
    }
}

/// Writes a temporary file next to `path`, then renames it over `path`: a
/// reader (or a crash) sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Title\n\
        <!-- generated:results -->\n\
        old table\n\
        old line\n\
        <!-- /generated:results -->\n\
        Prose.\n\
        <!-- generated:images -->\n\
        <!-- /generated:images -->\n";

    #[test]
    fn replaces_only_the_content_between_the_markers() {
        let filled = fill_region(DOC, "results", "| new |\n").unwrap();
        assert_eq!(
            filled,
            "# Title\n<!-- generated:results -->\n| new |\n<!-- /generated:results -->\nProse.\n\
             <!-- generated:images -->\n<!-- /generated:images -->\n"
        );
    }

    #[test]
    fn fills_an_empty_region_and_adds_the_missing_line_break() {
        let filled = fill_region(DOC, "images", "```text\nREPOSITORY\n```").unwrap();
        assert!(filled.ends_with("<!-- generated:images -->\n```text\nREPOSITORY\n```\n<!-- /generated:images -->\n"));
    }

    #[test]
    fn filling_twice_gives_the_same_text() {
        let once = fill_region(DOC, "results", "a\nb\n").unwrap();
        assert_eq!(fill_region(&once, "results", "a\nb\n").unwrap(), once);
    }

    #[test]
    fn empty_content_leaves_the_markers_adjacent() {
        let filled = fill_region(DOC, "results", "").unwrap();
        assert!(filled.contains("<!-- generated:results -->\n<!-- /generated:results -->\n"));
    }

    #[test]
    fn a_missing_region_is_an_error_that_names_it() {
        let error = fill_region(DOC, "bench", "x").unwrap_err();
        assert!(error.contains("<!-- generated:bench -->"), "{error}");
        assert!(error.contains("missing"), "{error}");
    }

    #[test]
    fn a_missing_closing_marker_is_an_error() {
        let text = "<!-- generated:bench -->\ntext\n";
        let error = fill_region(text, "bench", "x").unwrap_err();
        assert!(error.contains("<!-- /generated:bench -->"), "{error}");
    }

    #[test]
    fn a_duplicated_region_is_an_error() {
        let text = format!("{DOC}{DOC}");
        let error = fill_region(&text, "results", "x").unwrap_err();
        assert!(error.contains("2 lines"), "{error}");
    }

    #[test]
    fn markers_in_the_wrong_order_are_an_error() {
        let text = "<!-- /generated:a -->\n<!-- generated:a -->\n";
        assert!(fill_region(text, "a", "x").unwrap_err().contains("before"));
    }

    #[test]
    fn a_marker_mentioned_inside_prose_is_not_a_marker() {
        let text = format!("Regions look like `<!-- generated:results -->`.\n{DOC}");
        let filled = fill_region(&text, "results", "new\n").unwrap();
        assert!(filled.starts_with("Regions look like `<!-- generated:results -->`.\n"));
        assert!(filled.contains("<!-- generated:results -->\nnew\n<!-- /generated:results -->"));
    }

    #[test]
    fn crlf_line_endings_are_kept_around_the_region() {
        let text = "a\r\n<!-- generated:x -->\r\nold\r\n<!-- /generated:x -->\r\nb\r\n";
        let filled = fill_region(text, "x", "new").unwrap();
        assert_eq!(filled, "a\r\n<!-- generated:x -->\r\nnew\n<!-- /generated:x -->\r\nb\r\n");
    }

    #[test]
    fn update_writes_every_region_or_none() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let path = dir.join("HOWTO.md");
        std::fs::write(&path, DOC).unwrap();

        let error = update(&path, &[("results".into(), "new".into()), ("bench".into(), "x".into())]).unwrap_err();
        assert!(error.contains("unchanged") && error.contains("bench"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), DOC);

        update(&path, &[("results".into(), "new".into()), ("images".into(), "list".into())]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("results -->\nnew\n<!--") && text.contains("images -->\nlist\n<!--"));
        let leftovers = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file was renamed away");
    }

    #[test]
    fn update_says_when_the_file_does_not_exist() {
        let error = update(Path::new("/nonexistent/HOWTO.md"), &[]).unwrap_err();
        assert!(error.contains("does not exist yet"), "{error}");
    }
}
