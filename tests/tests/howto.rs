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

/// The BuildKit minor release that each Docker Engine release named in the
/// documents vendors, from the engine's release notes. A version statement
/// for an engine missing here fails until it is added, with its source.
const BUILDKIT_OF_ENGINE: &[(&str, &str)] =
    &[("20.10", "0.8"), ("23.0", "0.10"), ("24.0", "0.11"), ("25.0", "0.12"), ("26.0", "0.13")];

/// The version number that `text` starts with: `0.11` of `0.11 (Engine`.
fn version_at(text: &str) -> &str {
    let end = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    text[..end].trim_end_matches('.')
}

/// Every (BuildKit, Engine) pair that `text` states, written either
/// "BuildKit 0.11 (Engine 24.0" or "Engine 23.0 has BuildKit 0.10".
fn buildkit_engine_pairs(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (at, _) in text.match_indices("BuildKit ") {
        let rest = &text[at + "BuildKit ".len()..];
        let buildkit = version_at(rest);
        if let Some(engine) = rest[buildkit.len()..].strip_prefix(" (Engine ").map(version_at) {
            pairs.push((buildkit.to_string(), engine.to_string()));
        }
    }
    for (at, _) in text.match_indices("Engine ") {
        let rest = &text[at + "Engine ".len()..];
        let engine = version_at(rest);
        if let Some(buildkit) = rest[engine.len()..].strip_prefix(" has BuildKit ").map(version_at) {
            pairs.push((buildkit.to_string(), engine.to_string()));
        }
    }
    pairs
}

/// Why `buildkit` is not what Docker Engine `engine` ships, or `None`.
fn buildkit_problem(buildkit: &str, engine: &str) -> Option<String> {
    match BUILDKIT_OF_ENGINE.iter().find(|(e, _)| *e == engine) {
        Some((_, shipped)) if *shipped == buildkit => None,
        Some((_, shipped)) => Some(format!("Engine {engine} ships BuildKit {shipped}, not {buildkit}")),
        None => Some(format!("Engine {engine} is not in BUILDKIT_OF_ENGINE: add it from its release notes")),
    }
}

#[test]
fn every_buildkit_version_is_the_one_its_engine_ships() {
    let sample =
        "BuildKit 0.11 (Engine 23.0) takes; BuildKit 0.13 (Engine 26.0) clamps; Engine 23.0 has BuildKit 0.10.";
    let pairs = buildkit_engine_pairs(sample);
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert!(buildkit_problem(&pairs[0].0, &pairs[0].1).is_some(), "Engine 23.0 vendored BuildKit 0.10");
    assert!(pairs[1..].iter().all(|(b, e)| buildkit_problem(b, e).is_none()), "{pairs:?}");
    let mut problems = Vec::new();
    for document in documents() {
        for (buildkit, engine) in buildkit_engine_pairs(&read(&document)) {
            problems.extend(buildkit_problem(&buildkit, &engine).map(|p| format!("{document}: {p}")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `text` without its generated regions: what was written, not measured.
fn written(text: &str) -> String {
    let mut inside = false;
    let mut kept = Vec::new();
    for line in text.lines() {
        inside |= line.starts_with("<!-- generated:");
        if !inside {
            kept.push(line);
        }
        inside &= !line.starts_with("<!-- /generated:");
    }
    kept.join("\n")
}

/// Every image reference `<name>:<tag>` in `text` whose tag starts with a
/// digit or ends in `-slim` (`rust:slim`, a moving tag named as such, is not
/// one), digest dropped.
fn images_named(text: &str, name: &str) -> Vec<String> {
    let prefix = format!("{name}:");
    text.match_indices(&prefix)
        .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .map(|(at, _)| {
            let tag = &text[at + prefix.len()..];
            let end = tag.find(|c: char| !c.is_ascii_alphanumeric() && !".-_".contains(c)).unwrap_or(tag.len());
            format!("{prefix}{}", &tag[..end])
        })
        .filter(|image| {
            let tag = &image[prefix.len()..];
            tag.starts_with(|c: char| c.is_ascii_digit()) || tag.ends_with("-slim")
        })
        .collect()
}

#[test]
fn every_base_image_the_documents_name_is_one_the_dockerfiles_use() {
    assert_eq!(
        images_named("`FROM rust:1.95-slim-trixie@sha256:<digest>`, not rust:slim", "rust"),
        ["rust:1.95-slim-trixie"]
    );
    let base_images = howto_harness::base_images().unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for document in documents() {
        let text = written(&read(&document));
        for name in ["rust", "debian", "lukemathwalker/cargo-chef"] {
            for image in images_named(&text, name).into_iter().filter(|i| !base_images.contains(i)) {
                problems.push(format!("{document} names {image}; the Dockerfiles use {base_images:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Debian's release numbers by code name.
const DEBIAN_RELEASES: &[(&str, u32)] = &[("bookworm", 12), ("trixie", 13), ("forky", 14)];

/// The Debian release of every image named `…-debian<N>` in `text`
/// (distroless: `cc-debian13`).
fn debian_numbers_named(text: &str) -> Vec<u32> {
    text.match_indices("-debian").filter_map(|(at, _)| version_at(&text[at + "-debian".len()..]).parse().ok()).collect()
}

#[test]
fn distroless_images_suggested_are_of_the_builders_debian_release() {
    assert_eq!(debian_numbers_named("`gcr.io/distroless/cc-debian12` and `static-debian13`"), [12, 13]);
    let base_images = howto_harness::base_images().unwrap_or_else(|e| panic!("{e}"));
    let runtime = base_images.iter().find_map(|i| i.strip_prefix("debian:")).expect("a debian base image");
    let codename = runtime.split('-').next().unwrap_or(runtime);
    let (_, release) = DEBIAN_RELEASES
        .iter()
        .find(|(name, _)| *name == codename)
        .unwrap_or_else(|| panic!("Debian {codename} is not in DEBIAN_RELEASES: add its number"));
    assert!(
        base_images.iter().filter(|i| !i.starts_with("debian:")).all(|i| i.ends_with(&format!("-{codename}"))),
        "every builder should be of Debian {codename}, as the runtime: {base_images:?}"
    );
    for document in documents() {
        for number in debian_numbers_named(&read(&document)) {
            assert_eq!(
                number, *release,
                "{document} suggests a Debian {number} image; the builders are Debian {release}"
            );
        }
    }
}

/// Limits that were once stated without their condition: in every paragraph
/// of the documents and Dockerfiles that names all of the first terms, the
/// second ones must be named too.
const CONDITIONS: &[(&[&str], &[&str])] = &[
    // The default docker driver has the OCI exporter only with the containerd store.
    (&["type=oci"], &["containerd image store", "docker-container"]),
    // Docker Engine on Linux has no `docker debug`.
    (&["docker debug"], &["Docker Desktop"]),
    // webpki-roots compiles its roots in; rustls-native-certs reads SSL_CERT_FILE.
    (&["SSL_CERT_FILE", "rustls"], &["rustls-native-certs"]),
];

/// Why `paragraph` names a limit without its condition, or `None`.
fn condition_problem(paragraph: &str) -> Option<String> {
    CONDITIONS.iter().find_map(|(terms, conditions)| {
        let missing: Vec<&str> = conditions.iter().copied().filter(|c| !paragraph.contains(c)).collect();
        (terms.iter().all(|t| paragraph.contains(t)) && !missing.is_empty())
            .then(|| format!("names {} without {}", terms.join(" and "), missing.join(" and ")))
    })
}

#[test]
fn every_limit_is_stated_with_its_condition() {
    assert!(condition_problem("`-o type=oci,dest=x.tar` needs neither a registry nor the containerd store").is_some());
    assert!(condition_problem("rustls and OpenSSL both read SSL_CERT_FILE").is_some());
    assert!(condition_problem("no shell (`docker debug` attaches one)").is_some());
    assert!(condition_problem("Docker Desktop's `docker debug` attaches one").is_none());
    let files = documents().into_iter().chain(VARIANTS.iter().map(Variant::dockerfile));
    let mut problems = Vec::new();
    for file in files {
        for paragraph in read(&file).split("\n\n") {
            if let Some(problem) = condition_problem(paragraph) {
                problems.push(format!("{file}: {problem}:\n{paragraph}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_dockerfile_that_sets_rustflags_warns_that_it_replaces_the_projects() {
    let howto = read("HOWTO.md");
    for variant in VARIANTS {
        let dockerfile = read(&variant.dockerfile());
        let Some(flags) = dockerfile
            .lines()
            .find_map(|l| l.trim().strip_prefix("ENV RUSTFLAGS=\""))
            .map(|rest| rest.split('"').next().unwrap_or(rest))
        else {
            continue;
        };
        // The way out the HOWTO gives: these flags among the project's own.
        for needed in ["`build.rustflags`", "`target.<triple>.rustflags`", &format!("`{flags}`")] {
            assert!(
                howto.contains(needed),
                "{} sets RUSTFLAGS, which replaces a project's config rustflags: HOWTO.md must say so, naming {needed}",
                variant.dockerfile()
            );
        }
    }
}
