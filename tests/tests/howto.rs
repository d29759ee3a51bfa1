//! HOWTO.md and its appendices (docs/*.md) never drift from the files they
//! teach: every file shown whole is the file, every Dockerfile excerpt is a
//! run of its lines, every build or run command is one the harness runs,
//! every figure was filled in by the main job, and every link resolves.

use std::collections::BTreeSet;
use std::path::Path;

use howto_harness::projects::native;
use howto_harness::variants::builds;
use howto_harness::{PROJECTS, VARIANTS, Variant, regions, repo_root};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// A fenced code block: its info string, its lines, and the `<!-- file: … -->`
/// comment right above it, if any.
struct Block {
    lang: String,
    file: Option<String>,
    text: String,
    line: usize,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// HOWTO.md and its appendices: every Markdown file under docs/. Paths are
/// relative to the repository root.
fn documents() -> Vec<String> {
    let mut appendices: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    appendices.sort();
    assert!(!appendices.is_empty(), "docs/ holds no appendix");
    std::iter::once("HOWTO.md".to_string()).chain(appendices).collect()
}

/// A line that stands for lines left out of an excerpt.
fn is_elision(line: &str) -> bool {
    matches!(line.trim(), "# …" | "# ...")
}

/// Why `excerpt` is not a faithful excerpt of any of `files`, or `None` if it
/// is: its non-blank lines, between elision markers, must each be a run of
/// consecutive non-blank lines of one file, the runs in the file's order.
/// Blank lines carry nothing, so they may be dropped or kept.
fn excerpt_problem(excerpt: &str, files: &[String]) -> Option<String> {
    let mut runs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in excerpt.lines().filter(|l| !l.trim().is_empty()) {
        if is_elision(line) {
            runs.push(Vec::new());
        } else {
            runs.last_mut().expect("one run at least").push(line);
        }
    }
    runs.retain(|run| !run.is_empty());
    let all: BTreeSet<&str> = files.iter().flat_map(|f| f.lines()).collect();
    if let Some(line) = runs.iter().flatten().find(|l| !all.contains(**l)) {
        return Some(format!("`{line}` is in no Dockerfile"));
    }
    let found_in = |file: &String| {
        let lines: Vec<&str> = file.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut from = 0;
        runs.iter().all(|run| {
            match (from..=lines.len().saturating_sub(run.len())).find(|&i| lines[i..].starts_with(run)) {
                Some(at) => {
                    from = at + run.len();
                    true
                }
                None => false,
            }
        })
    };
    if files.iter().any(found_in) {
        None
    } else {
        Some("its lines are real, but not consecutive in any Dockerfile: show a run of lines, or mark the gap with a `# …` line".to_string())
    }
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                // The line above the fence, as written.
                let above = markdown[..range.start].rsplit('\n').nth(1).unwrap_or_default();
                let file = above
                    .trim()
                    .strip_prefix("<!-- file:")
                    .and_then(|rest| rest.strip_suffix("-->"))
                    .map(|f| f.trim().to_string());
                let line = markdown[..range.start].matches('\n').count() + 1;
                // Markdown closes a fence left open at the end of the file; a
                // document that does so has lost its closing fence.
                let last = markdown[range.clone()].trim_end().lines().skip(1).last().map(str::trim);
                assert!(
                    last.is_some_and(|l| l.starts_with("```") || l.starts_with("~~~")),
                    "line {line}: a code block that is never closed"
                );
                open = Some(Block { lang: info.trim().to_string(), file, text: String::new(), line });
            }
            Event::Text(text) => {
                if let Some(block) = &mut open {
                    block.text.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

/// Every link and image target of a Markdown document.
fn links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_file_shown_whole_is_byte_identical() {
    for document in documents() {
        for block in blocks(&read(&document)).iter().filter(|b| b.file.is_some()) {
            let file = block.file.as_deref().expect("filtered on file");
            assert_eq!(block.text, read(file), "{document} line {}: the block differs from {file}", block.line);
        }
    }
    let howto: Vec<Block> = blocks(&read("HOWTO.md")).into_iter().filter(|b| b.file.is_some()).collect();
    for variant in VARIANTS {
        assert!(
            howto.iter().any(|b| b.file.as_deref() == Some(variant.dockerfile().as_str())),
            "HOWTO.md does not show {} whole",
            variant.dockerfile()
        );
    }
}

#[test]
fn every_dockerfile_excerpt_is_a_run_of_real_lines() {
    let dockerfiles: Vec<String> = VARIANTS.iter().map(|v| read(&v.dockerfile())).collect();
    let mut problems = Vec::new();
    for document in documents() {
        for block in blocks(&read(&document)).iter().filter(|b| b.lang == "dockerfile" && b.file.is_none()) {
            if let Some(problem) = excerpt_problem(&block.text, &dockerfiles) {
                problems.push(format!("{document} block at line {}: {problem}:\n{}", block.line, block.text));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_excerpt_check_rejects_what_it_should() {
    let files = ["FROM a AS b\n# why\nRUN x\n\nCOPY . .\nRUN y\n".to_string()];
    let ok = |excerpt: &str| excerpt_problem(excerpt, &files);
    assert_eq!(ok("FROM a AS b\n# why\nRUN x\n"), None);
    assert_eq!(ok("RUN x\nCOPY . .\n"), None, "a blank line may be dropped");
    assert_eq!(ok("FROM a AS b\n# …\nRUN y\n"), None, "a marked gap");
    assert!(ok("FROM a AS b\nRUN x\n").is_some_and(|p| p.contains("not consecutive")), "a silent gap");
    assert!(ok("RUN y\n# …\nFROM a AS b\n").is_some(), "runs out of order");
    assert!(ok("RUN z\n").is_some_and(|p| p.contains("in no Dockerfile")), "an invented line");
}

#[test]
fn every_build_and_run_command_is_one_the_harness_runs() {
    let mut known: BTreeSet<String> =
        builds().map(|(v, _)| v).flat_map(|v| v.build_commands().into_iter().chain(v.run_commands())).collect();
    // A fixture's binary, built with the build arguments the harness passes
    // for it (from a scratch copy of the same directory), in the order the
    // harness passes them.
    for project in PROJECTS.iter().filter(|p| p.source.starts_with("fixtures/")) {
        for binary in project.binaries {
            for variant in VARIANTS.iter().filter(|v| v.platforms.is_empty()) {
                known.insert(build_command(variant, project.source, binary.name, binary.build_args()));
            }
        }
    }
    for binary in native::BINARIES {
        for variant in VARIANTS.iter().filter(|v| v.platforms.is_empty()) {
            let args = native::binary_build_args(variant.runtime, binary);
            known.insert(build_command(variant, native::SOURCE, binary, args));
        }
    }
    let mut seen = BTreeSet::new();
    let shown: Vec<(String, Block)> =
        documents().into_iter().flat_map(|d| blocks(&read(&d)).into_iter().map(move |b| (d.clone(), b))).collect();
    for (document, block) in
        shown.iter().filter(|(_, b)| matches!(b.lang.as_str(), "bash" | "sh" | "console" | "shell"))
    {
        for line in block.text.lines().map(|l| l.trim().trim_start_matches("$ ")) {
            let named_dockerfile = || {
                let dockerfile = line.split_whitespace().skip_while(|w| *w != "-f").nth(1);
                dockerfile.unwrap_or_else(|| panic!("{document}: `{line}` names no Dockerfile")).to_string()
            };
            if line.starts_with("docker build ") && line.contains('<') {
                // A template for the reader's own crate (`<your-binary>`): the
                // harness cannot run it, but the Dockerfile must exist.
                let dockerfile = named_dockerfile();
                assert!(
                    VARIANTS.iter().any(|v| v.dockerfile() == dockerfile),
                    "{document} block at line {}: `{line}`: {dockerfile} is not one of dockerfiles/",
                    block.line
                );
            } else if line.starts_with("docker build ") || line.starts_with("docker run ") {
                assert!(
                    known.contains(line),
                    "{document} block at line {}: `{line}` is not a command the harness runs; it runs:\n{}",
                    block.line,
                    known.iter().cloned().collect::<Vec<_>>().join("\n")
                );
                if document == "HOWTO.md" {
                    seen.insert(line.to_string());
                }
            } else if line.starts_with("docker buildx build ") {
                let dockerfile = named_dockerfile();
                assert!(repo_root().join(&dockerfile).is_file(), "`{line}`: {dockerfile} does not exist");
                assert!(line.ends_with(" my-project"), "`{line}`: the build context is my-project");
            }
        }
    }
    for variant in VARIANTS {
        for command in variant.build_commands() {
            assert!(seen.contains(&command), "HOWTO.md never shows `{command}`");
        }
    }
}

#[test]
fn every_generated_region_was_filled_by_the_main_job() {
    for name in regions::all() {
        let path = regions::document(&name);
        let text = read(path);
        let (open, close) = (regions::open_marker(&name), regions::close_marker(&name));
        for document in documents() {
            let expected = usize::from(document == path);
            assert_eq!(read(&document).matches(&open).count(), expected, "{document} needs {expected} {open}");
        }
        let start = text.find(&open).expect("counted") + open.len();
        let end = text[start..].find(&close).unwrap_or_else(|| panic!("{path}: {open} is never closed")) + start;
        assert!(
            !text[start..end].trim().is_empty(),
            "{path}: region {name} is empty: run `cargo xtask demo` (and `bench`, `sizes`, `provenance`)"
        );
    }
}

#[test]
fn every_relative_link_resolves() {
    for document in documents().into_iter().chain(["README.md".to_string()]) {
        let text = read(&document);
        let links = links(&text);
        assert!(links.iter().any(|l| !l.contains("://")), "{document}: no relative link found at all");
        let dir = repo_root().join(&document).parent().expect("a document is in a directory").to_path_buf();
        for target in links {
            let path = target.split('#').next().unwrap_or_default().trim();
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            assert!(Path::new(&dir.join(path)).exists(), "{document}: the link to {target} leads nowhere");
        }
    }
}

#[test]
fn the_howto_links_every_appendix() {
    let howto = links(&read("HOWTO.md"));
    for appendix in documents().into_iter().skip(1) {
        assert!(
            howto.iter().any(|l| l.split('#').next() == Some(appendix.as_str())),
            "HOWTO.md never links {appendix}"
        );
    }
}

/// What comes before `command`'s words on each line of `script` that runs
/// it (comments aside, continued lines joined): the environment it runs in.
fn environments_running<'a>(script: &'a str, command: &str) -> Vec<Vec<&'a str>> {
    let words: Vec<&str> = command.split_whitespace().collect();
    script
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let line: Vec<&str> = l.split_whitespace().collect();
            let at = line.windows(words.len()).position(|w| w == words)?;
            Some(line[..at].to_vec())
        })
        .collect()
}

#[test]
fn readme_links_the_howto_and_ci_runs_its_two_commands() {
    let readme = read("README.md");
    assert!(links(&readme).iter().any(|l| l == "HOWTO.md"), "README.md does not link to HOWTO.md");
    let commands: Vec<String> =
        blocks(&readme).iter().flat_map(|b| b.text.lines().map(str::to_string).collect::<Vec<_>>()).collect();
    let command = |start: &str| {
        commands.iter().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("README.md gives no `{start}` command"))
    };
    let (demo_command, test_command) = (command("cargo xtask demo"), command("cargo test"));
    let ci = read(".ci/run").replace("\\\n", " "); // join continued lines
    let sets_a_variable = |before: &Vec<&str>| before.iter().any(|w| *w == "env" || w.contains('='));
    for readme_command in [demo_command, test_command] {
        let environments = environments_running(&ci, readme_command);
        assert!(
            environments.iter().any(|before| !sets_a_variable(before)),
            ".ci/run does not run README's `{readme_command}` as a user types it, with no variable set: {environments:?}"
        );
    }
    assert!(
        environments_running(&ci, test_command).iter().any(|before| before.contains(&"RCH_ENGINE=current")),
        ".ci/run does not run README's `{test_command}` on the current engine too (RCH_ENGINE=current)"
    );
}

/// `docker build` of a fixture's binary, as the harness builds it.
fn build_command(variant: &Variant, source: &str, binary: &str, args: Vec<(&str, &str)>) -> String {
    variant.build(Path::new(source), binary, None, &args).command_line()
}

#[test]
fn the_howto_stays_within_fifty_thousand_bytes() {
    let size = read("HOWTO.md").len();
    assert!(size <= 50_000, "HOWTO.md is {size} bytes, over the 50,000 it is kept to: move detail to docs/");
}
