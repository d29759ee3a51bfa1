//! HOWTO.md never drifts from the files it teaches: every Dockerfile it shows
//! is the file, every build or run command is one the harness runs, every
//! figure was filled in by the main job, and every link resolves.

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
    let howto = read("HOWTO.md");
    let shown: Vec<Block> = blocks(&howto).into_iter().filter(|b| b.file.is_some()).collect();
    for block in &shown {
        let file = block.file.as_deref().expect("filtered on file");
        assert_eq!(block.text, read(file), "HOWTO.md line {}: the block differs from {file}", block.line);
    }
    for variant in VARIANTS {
        assert!(
            shown.iter().any(|b| b.file.as_deref() == Some(variant.dockerfile().as_str())),
            "HOWTO.md does not show {} whole",
            variant.dockerfile()
        );
    }
}

#[test]
fn every_dockerfile_excerpt_is_made_of_real_lines() {
    let howto = read("HOWTO.md");
    let real: BTreeSet<String> =
        VARIANTS.iter().flat_map(|v| read(&v.dockerfile()).lines().map(str::to_string).collect::<Vec<_>>()).collect();
    for block in blocks(&howto).iter().filter(|b| b.lang == "dockerfile" && b.file.is_none()) {
        for line in block.text.lines().filter(|l| !l.trim().is_empty()) {
            assert!(real.contains(line), "HOWTO.md block at line {}: `{line}` is in no Dockerfile", block.line);
        }
    }
}

#[test]
fn every_build_and_run_command_is_one_the_harness_runs() {
    let howto = read("HOWTO.md");
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
            let args = [native::build_args(variant.runtime), vec![("APP_NAME", binary)]].concat();
            known.insert(build_command(variant, native::SOURCE, binary, args));
        }
    }
    let mut seen = BTreeSet::new();
    for block in blocks(&howto).iter().filter(|b| matches!(b.lang.as_str(), "bash" | "sh" | "console" | "shell")) {
        for line in block.text.lines().map(|l| l.trim().trim_start_matches("$ ")) {
            if line.starts_with("docker build ") || line.starts_with("docker run ") {
                assert!(
                    known.contains(line),
                    "HOWTO.md block at line {}: `{line}` is not a command the harness runs; it runs:\n{}",
                    block.line,
                    known.iter().cloned().collect::<Vec<_>>().join("\n")
                );
                seen.insert(line.to_string());
            } else if line.starts_with("docker buildx build ") {
                let dockerfile = line
                    .split_whitespace()
                    .skip_while(|w| *w != "-f")
                    .nth(1)
                    .unwrap_or_else(|| panic!("`{line}` names no Dockerfile"));
                assert!(repo_root().join(dockerfile).is_file(), "`{line}`: {dockerfile} does not exist");
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
    let howto = read("HOWTO.md");
    for name in regions::all() {
        let (open, close) = (regions::open_marker(&name), regions::close_marker(&name));
        assert_eq!(howto.matches(&open).count(), 1, "HOWTO.md needs exactly one {open}");
        let start = howto.find(&open).expect("counted") + open.len();
        let end = howto[start..].find(&close).unwrap_or_else(|| panic!("HOWTO.md: {open} is never closed")) + start;
        assert!(
            !howto[start..end].trim().is_empty(),
            "HOWTO.md: region {name} is empty: run `cargo xtask demo` (and `bench`, `sizes`)"
        );
    }
}

#[test]
fn every_relative_link_resolves() {
    for document in ["HOWTO.md", "README.md"] {
        let text = read(document);
        let links = links(&text);
        assert!(links.iter().any(|l| !l.contains("://")), "{document}: no relative link found at all");
        for target in links {
            let path = target.split('#').next().unwrap_or_default().trim();
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            assert!(Path::new(&repo_root().join(path)).exists(), "{document}: the link to {target} leads nowhere");
        }
    }
}

#[test]
fn readme_links_the_howto_and_ci_runs_its_test_command() {
    let readme = read("README.md");
    assert!(links(&readme).iter().any(|l| l == "HOWTO.md"), "README.md does not link to HOWTO.md");
    let test_command = blocks(&readme)
        .iter()
        .flat_map(|b| b.text.lines().map(str::to_string).collect::<Vec<_>>())
        .find(|l| l.starts_with("cargo test"))
        .expect("README.md gives a `cargo test` command");
    assert!(
        read(".ci/run").lines().any(|l| l.trim() == test_command),
        ".ci/run does not run README's `{test_command}`"
    );
}

/// `docker build` of a fixture's binary, as the harness builds it.
fn build_command(variant: &Variant, source: &str, binary: &str, args: Vec<(&str, &str)>) -> String {
    variant.build(Path::new(source), binary, None, &args).command_line()
}
