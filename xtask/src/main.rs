//! The project's tasks: `cargo xtask demo` runs the HOWTO's walkthrough
//! against the engine and writes the measured figures into HOWTO.md;
//! `cargo xtask bench` repeats cold builds and warm rebuilds for every variant.

mod bench;
mod chart;
mod demo;
mod howto;
mod measure;
mod progress;
mod report;
mod sizes;

use std::path::PathBuf;
use std::process::ExitCode;

use howto_harness::{PROJECTS, Project, Variant, repo_root};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  demo     build, run and rebuild every variant; print the figures and write
           them into HOWTO.md's generated regions and docs/chart.svg
  bench    repeat cold builds and warm rebuilds; write HOWTO.md's bench region
           and docs/bench.svg
  help     show this

options:
  --howto PATH                        the HOWTO to fill (default: HOWTO.md at the
                                      repository root); the charts always go to
                                      docs/ at the root, where its links point
  --runs N                            bench: runs per variant (default: 3)
  --crate NAME|all                    bench: which crate(s): my-project,
                                      deps-heavy, workspace (default: all)
  --variant NAME                      bench: only this variant (default: all)";

/// What the command line asked for.
enum Command {
    Demo,
    Bench(bench::Options),
    Help,
}

struct Invocation {
    command: Command,
    howto: PathBuf,
}

fn main() -> ExitCode {
    let invocation = match parse(std::env::args().skip(1).collect()) {
        Ok(invocation) => invocation,
        Err(problem) => {
            eprintln!("xtask: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let charts = repo_root().join("docs");
    let outcome = match &invocation.command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Demo => demo::run(&invocation.howto, &charts),
        Command::Bench(options) => bench::run(options, &invocation.howto, &charts),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("xtask: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: Vec<String>) -> Result<Invocation, String> {
    let mut args = args.into_iter();
    let command = args.next().ok_or("no command given")?;
    let mut howto = repo_root().join("HOWTO.md");
    let mut runs = 3;
    let mut projects = PROJECTS.iter().collect::<Vec<_>>();
    let mut variant = None;
    let mut bench_only = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--howto" => howto = PathBuf::from(value()?),
            "--runs" => runs = parse_runs(&value()?)?,
            "--crate" => projects = parse_projects(&value()?)?,
            "--variant" => variant = Some(parse_variant(&value()?)?),
            "-h" | "--help" => return Ok(Invocation { command: Command::Help, howto }),
            other => return Err(format!("unknown option {other:?}")),
        }
        if flag != "--howto" {
            bench_only.push(flag);
        }
    }
    let command = match command.as_str() {
        "demo" => match bench_only.first() {
            Some(flag) => return Err(format!("{flag} is an option of bench, not of demo")),
            None => Command::Demo,
        },
        "bench" => Command::Bench(bench::Options { runs, projects, variant }),
        "help" | "-h" | "--help" => Command::Help,
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok(Invocation { command, howto })
}

fn parse_runs(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(runs) if runs >= 1 => Ok(runs),
        _ => Err(format!("--runs takes a whole number of at least 1, not {value:?}")),
    }
}

fn parse_projects(value: &str) -> Result<Vec<&'static Project>, String> {
    if value == "all" {
        return Ok(PROJECTS.iter().collect());
    }
    Project::named(value).map(|p| vec![p]).ok_or_else(|| {
        let names: Vec<&str> = PROJECTS.iter().map(|p| p.name).collect();
        format!("--crate takes one of {} or all, not {value:?}", names.join(", "))
    })
}

fn parse_variant(value: &str) -> Result<&'static Variant, String> {
    Variant::named(value).ok_or_else(|| {
        let names: Vec<&str> = howto_harness::VARIANTS.iter().map(|v| v.name).collect();
        format!("--variant takes one of {}, not {value:?}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn bench_defaults_to_three_runs_of_everything() {
        let Command::Bench(options) = parse(args("bench")).unwrap().command else { panic!("not bench") };
        assert_eq!(options.runs, 3);
        assert_eq!(options.projects.len(), PROJECTS.len());
        assert!(options.variant.is_none());
    }

    #[test]
    fn bench_options_are_read() {
        let parsed = parse(args("bench --runs 1 --crate deps-heavy --variant multistage --howto /tmp/H.md")).unwrap();
        let Command::Bench(options) = parsed.command else { panic!("not bench") };
        assert_eq!(options.runs, 1);
        assert_eq!(options.projects.iter().map(|p| p.name).collect::<Vec<_>>(), ["deps-heavy"]);
        assert_eq!(options.variant.map(|v| v.name), Some("multistage"));
        assert_eq!(parsed.howto, PathBuf::from("/tmp/H.md"));
    }

    #[test]
    fn bad_input_is_named() {
        for (line, says) in [
            ("", "no command"),
            ("deploy", "unknown command \"deploy\""),
            ("bench --runs 0", "at least 1"),
            ("bench --runs three", "\"three\""),
            ("bench --runs", "--runs needs a value"),
            ("bench --crate serde", "one of my-project, deps-heavy, workspace or all"),
            ("bench --variant alpine", "one of simple, multistage"),
            ("bench --fast", "unknown option \"--fast\""),
            ("demo --runs 2", "an option of bench"),
        ] {
            let problem = parse(args(line)).err().unwrap_or_else(|| panic!("{line:?} was accepted"));
            assert!(problem.contains(says), "{line:?}: {problem}");
        }
    }
}
