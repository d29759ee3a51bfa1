//! The project's tasks: `cargo xtask demo` runs the HOWTO's walkthrough
//! against the engine and prints the measured figures (`--write` puts them
//! into HOWTO.md);
//! `cargo xtask bench` repeats cold builds and warm rebuilds for every variant;
//! `cargo xtask emulation` times compiling for arm64 under qemu against
//! cross-compiling; `cargo xtask provenance` checks reproducible binaries and
//! what an embedded dependency list costs;
//! `cargo xtask sabotage` checks that the tests catch each broken promise;
//! `cargo xtask try PATH` proves the Dockerfiles on your own crate.

mod bench;
mod chart;
mod demo;
mod emulation;
mod howto;
mod measure;
mod progress;
mod provenance;
mod report;
mod sabotage;
mod sizes;
mod try_crate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use howto_harness::{PROJECTS, Project, Variant, repo_root};

/// The project's tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", arg_required_else_help = true)]
struct Cli {
    /// The HOWTO to fill [default: HOWTO.md at the repository root]; the
    /// charts always go to docs/ at the root, where its links point
    #[arg(long, global = true, value_name = "PATH")]
    howto: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, run and rebuild every variant, and print the figures
    Demo {
        /// Also write the figures into HOWTO.md's generated regions and
        /// docs/chart.svg
        #[arg(long)]
        write: bool,
    },
    /// Repeat cold builds and warm rebuilds; write HOWTO.md's bench region
    /// and docs/bench.svg
    Bench(BenchArgs),
    /// Compile for arm64 under qemu and cross-compiled, and natively for
    /// reference; write HOWTO.md's emulation region
    Emulation(EmulationArgs),
    /// Build each builder twice from scratch and compare the binaries; cost
    /// `--build-arg AUDITABLE=1`; write the provenance region of
    /// docs/reproducible.md (whatever `--howto` says), and
    /// fail if two binaries differ
    Provenance,
    /// Build the native fixture's TLS binaries with every variant; write the
    /// image, binary and CA-certificate sizes into the sizes region of
    /// docs/tls.md (whatever `--howto` says)
    Sizes,
    /// Break each promise the tests guard, one at a time, in a worktree of
    /// HEAD, and check that the test binary guarding it (`cargo test
    /// --test NAME`) then fails naming it
    Sabotage {
        /// Only this sabotage [default: all]
        #[arg(long, value_name = "NAME")]
        only: Option<String>,
    },
    /// Check the Dockerfiles on your own crate, in a temporary copy: build
    /// each variant cold, run it, check it, rebuild it after a one-line edit;
    /// print a table, the variant to use and its `docker build` command
    Try(TryArgs),
}

#[derive(Args)]
struct TryArgs {
    /// The crate or workspace: only read, unless --write is given. A
    /// workspace member is built from its workspace root, as cargo must
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// The binary to build, if the crate has several
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// Cargo features to build with (the FEATURES build argument)
    #[arg(long, value_name = "FEATURES")]
    features: Option<String>,
    /// A variant to check; repeat for several [default: all but simple; one
    /// built per platform is built for this machine's alone unless named]
    #[arg(long = "variant", value_name = "NAME", value_parser = parse_variant)]
    variants: Vec<&'static Variant>,
    /// Put the recommended Dockerfile (or the one --variant names) into PATH
    /// as Dockerfile, with a .dockerignore if PATH has none, and the script
    /// it copies; a file that is there with other content stops it
    #[arg(long)]
    write: bool,
    /// What to run the image with [default: --version]; it must exit 0
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

impl TryArgs {
    fn options(&self) -> try_crate::Options {
        try_crate::Options {
            path: self.path.clone(),
            bin: self.bin.clone(),
            features: self.features.clone(),
            variants: self.variants.clone(),
            write: self.write,
            args: self.args.clone(),
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    /// Runs per variant
    #[arg(long, value_name = "N", default_value = "3", value_parser = parse_runs)]
    runs: usize,
    /// Which crate(s): my-project, deps-heavy, workspace, or all
    #[arg(long = "crate", value_name = "NAME|all", default_value = "all", value_parser = parse_projects)]
    projects: Projects,
    /// Only this variant [default: all]
    #[arg(long, value_name = "NAME", value_parser = parse_variant)]
    variant: Option<&'static Variant>,
}

#[derive(Args)]
struct EmulationArgs {
    /// Runs per crate and way of building
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse_runs)]
    runs: usize,
    /// Which crate(s): my-project, deps-heavy, workspace, or all
    #[arg(long = "crate", value_name = "NAME|all", default_value = "my-project,deps-heavy", value_parser = parse_projects)]
    projects: Projects,
}

/// `--crate`'s value: one project, or all of them (a newtype, so that clap
/// takes it as one value rather than a repeatable flag).
#[derive(Clone)]
struct Projects(Vec<&'static Project>);

impl BenchArgs {
    fn options(&self) -> bench::Options {
        bench::Options { runs: self.runs, projects: self.projects.0.clone(), variant: self.variant }
    }
}

fn main() -> ExitCode {
    // Bad input prints clap's error and usage, and exits with status 2.
    let cli = Cli::parse();
    let howto = cli.howto.unwrap_or_else(|| repo_root().join("HOWTO.md"));
    let charts = repo_root().join("docs");
    let outcome = match &cli.command {
        Command::Demo { write } => demo::run(&howto, &charts, *write),
        Command::Bench(args) => bench::run(&args.options(), &howto, &charts),
        Command::Emulation(args) => {
            emulation::run(&emulation::Options { runs: args.runs, projects: args.projects.0.clone() }, &howto)
        }
        Command::Provenance => provenance::run(&repo_root().join(howto_harness::regions::REPRODUCIBLE_APPENDIX)),
        Command::Sizes => sizes::run(&repo_root().join(howto_harness::regions::TLS_APPENDIX)),
        Command::Sabotage { only } => sabotage::run(only.as_deref()),
        Command::Try(args) => try_crate::run(&args.options()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("xtask: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn parse_runs(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(runs) if runs >= 1 => Ok(runs),
        _ => Err(format!("takes a whole number of at least 1, not {value:?}")),
    }
}

/// `all`, or crate names separated by commas.
fn parse_projects(value: &str) -> Result<Projects, String> {
    if value == "all" {
        return Ok(Projects(PROJECTS.iter().collect()));
    }
    let named = value.split(',').map(|name| {
        Project::named(name).ok_or_else(|| {
            let names: Vec<&str> = PROJECTS.iter().map(|p| p.name).collect();
            format!("takes one of {} or all, or several separated by commas, not {name:?}", names.join(", "))
        })
    });
    named.collect::<Result<Vec<_>, _>>().map(Projects)
}

fn parse_variant(value: &str) -> Result<&'static Variant, String> {
    Variant::named(value).ok_or_else(|| {
        let names: Vec<&str> = howto_harness::VARIANTS.iter().map(|v| v.name).collect();
        format!("takes one of {}, not {value:?}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["cargo xtask"].into_iter().chain(line.split_whitespace()))
    }

    fn bench(line: &str) -> (bench::Options, Option<PathBuf>) {
        let cli = parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let Command::Bench(args) = cli.command else { panic!("{line:?} is not bench") };
        (args.options(), cli.howto)
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_defaults_to_three_runs_of_everything() {
        let (options, howto) = bench("bench");
        assert_eq!(options.runs, 3);
        assert_eq!(options.projects.len(), PROJECTS.len());
        assert!(options.variant.is_none());
        assert!(howto.is_none());
    }

    #[test]
    fn bench_options_are_read() {
        let (options, howto) = bench("bench --runs 1 --crate deps-heavy --variant multistage --howto /tmp/H.md");
        assert_eq!(options.runs, 1);
        assert_eq!(options.projects.iter().map(|p| p.name).collect::<Vec<_>>(), ["deps-heavy"]);
        assert_eq!(options.variant.map(|v| v.name), Some("multistage"));
        assert_eq!(howto, Some(PathBuf::from("/tmp/H.md")));
    }

    #[test]
    fn the_howto_path_may_come_before_the_command() {
        let cli = parse("--howto /tmp/H.md demo").unwrap();
        assert!(matches!(cli.command, Command::Demo { write: false }));
        assert_eq!(cli.howto, Some(PathBuf::from("/tmp/H.md")));
    }

    #[test]
    fn bad_input_is_named() {
        for (line, kind, says) in [
            ("", ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand, "Usage: cargo xtask"),
            ("deploy", ErrorKind::InvalidSubcommand, "unrecognized subcommand 'deploy'"),
            ("bench --runs 0", ErrorKind::ValueValidation, "at least 1"),
            ("bench --runs three", ErrorKind::ValueValidation, "\"three\""),
            ("bench --runs", ErrorKind::InvalidValue, "a value is required for '--runs <N>'"),
            ("bench --crate serde", ErrorKind::ValueValidation, "one of my-project, deps-heavy, workspace or all"),
            ("bench --variant alpine", ErrorKind::ValueValidation, "one of simple, multistage"),
            ("bench --fast", ErrorKind::UnknownArgument, "unexpected argument '--fast'"),
            ("demo --runs 2", ErrorKind::UnknownArgument, "unexpected argument '--runs'"),
            ("try", ErrorKind::MissingRequiredArgument, "<PATH>"),
            ("try . --variant alpine", ErrorKind::ValueValidation, "one of simple, multistage"),
        ] {
            let error = parse(line).err().unwrap_or_else(|| panic!("{line:?} was accepted"));
            let message = error.render().to_string();
            assert_eq!(error.kind(), kind, "{line:?}: {message}");
            assert!(message.contains(says), "{line:?}: {message}");
            assert_eq!(error.exit_code(), 2, "{line:?}");
        }
    }

    #[test]
    fn emulation_defaults_to_one_run_of_two_crates_and_takes_a_list() {
        let crates = |line: &str| match parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}")).command {
            Command::Emulation(args) => (args.runs, args.projects.0.iter().map(|p| p.name).collect::<Vec<_>>()),
            _ => panic!("{line:?} is not emulation"),
        };
        assert_eq!(crates("emulation"), (1, vec!["my-project", "deps-heavy"]));
        assert_eq!(crates("emulation --runs 2 --crate workspace"), (2, vec!["workspace"]));
        let error = parse("emulation --crate my-project,serde").err().expect("serde is no crate of ours");
        assert!(error.render().to_string().contains("not \"serde\""), "{}", error.render());
    }

    #[test]
    fn try_takes_a_path_repeated_variants_and_the_images_arguments() {
        let cli = parse("try ../app --bin rg --features pcre2 --variant cache-mount --variant static --write -- -V x")
            .unwrap_or_else(|e| panic!("{e}"));
        let Command::Try(args) = cli.command else { panic!("not try") };
        let options = args.options();
        assert_eq!(options.path, PathBuf::from("../app"));
        assert_eq!((options.bin.as_deref(), options.features.as_deref()), (Some("rg"), Some("pcre2")));
        assert_eq!(options.variants.iter().map(|v| v.name).collect::<Vec<_>>(), ["cache-mount", "static"]);
        assert!(options.write);
        assert_eq!(options.args, ["-V", "x"]);
        let Command::Try(args) = parse("try .").unwrap().command else { panic!("not try") };
        assert!(args.variants.is_empty() && args.args.is_empty() && !args.write);
    }

    #[test]
    fn help_is_not_an_error_exit() {
        let error = parse("help").err().expect("help stops parsing");
        assert_eq!((error.kind(), error.exit_code()), (ErrorKind::DisplayHelp, 0));
        assert!(error.render().to_string().contains("bench"));
    }
}
