//! `necessity`: evaluate prior-authorization requests against the interventional pain policy
//! pack. It recommends; it never denies.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use necessity_cli::batch::{self, Format};
use necessity_cli::embedded;
use necessity_cli::text::Style;
use necessity_engine::{Pack, PackSource, documented_facts, pack_tests};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes (sysexits where one fits).
mod exit {
    pub const OK: u8 = 0;
    /// Pack test cases failed.
    pub const TESTS_FAILED: u8 = 1;
    /// A request was not valid (EX_DATAERR).
    pub const INVALID_INPUT: u8 = 65;
    /// The input could not be read (EX_NOINPUT).
    pub const NO_INPUT: u8 = 66;
    /// The pack did not load (EX_CONFIG).
    pub const BAD_PACK: u8 = 78;
}

#[derive(Parser)]
#[command(
    name = "necessity",
    version,
    about = "Medical-necessity criteria for interventional pain procedures: meets criteria, pend for information, or route to a physician reviewer. It recommends; it never denies."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate requests: one JSON object, a JSON array, or NDJSON, from FILE or stdin (`-`).
    Evaluate {
        /// The requests; `-` reads stdin.
        #[arg(default_value = "-")]
        input: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// A pack version folder to use instead of the embedded pack.
        #[arg(long)]
        pack: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Print the JSON Schema of a request.
    Schema,
    /// Load and validate a pack version folder (default: the embedded packs).
    CheckPack { dir: Option<PathBuf> },
    /// Run a pack's own test cases (default: the embedded packs).
    Test { dir: Option<PathBuf> },
    /// List the facts a pack's criteria may read.
    Facts,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            // The reader went away (`| head`): nothing left to say.
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(e.downcast_ref::<Failure>().map_or(exit::NO_INPUT, |f| f.code))
        }
    }
}

/// An error with the exit code it calls for; its message is the whole message.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn error(code: u8, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self { code, message: message.into() })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Evaluate { input, format, pack, color } => evaluate(&input, format, pack.as_deref(), color),
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&necessity_case::json_schema())?);
            Ok(exit::OK)
        }
        Command::CheckPack { dir } => check_pack(dir.as_deref()),
        Command::Test { dir } => test(dir.as_deref()),
        Command::Facts => {
            for fact in documented_facts() {
                let args = if fact.arguments.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", fact.arguments.join(", "))
                };
                println!("{}{args}: {}. {}", fact.name, fact.holds, fact.doc);
            }
            Ok(exit::OK)
        }
    }
}

/// Pack sources to use: one folder, or every embedded version.
fn sources(dir: Option<&Path>) -> Result<Vec<(String, PackSource)>> {
    match dir {
        Some(dir) => {
            let source =
                PackSource::from_dir(dir).with_context(|| format!("cannot read the pack at {}", dir.display()))?;
            Ok(vec![(dir.display().to_string(), source)])
        }
        None => Ok(embedded::pack_sources()),
    }
}

fn load(source: &PackSource) -> Result<Pack> {
    Pack::load(source).map_err(|e| Failure::error(exit::BAD_PACK, e.to_string()))
}

fn evaluate(input: &str, format: OutputFormat, pack: Option<&Path>, color: Color) -> Result<u8> {
    let source = match pack {
        Some(dir) => PackSource::from_dir(dir).with_context(|| format!("cannot read the pack at {}", dir.display()))?,
        None => embedded::default_source().context("this binary embeds no pack")?,
    };
    let pack = load(&source)?;
    let text = read_input(input)?;
    let stdout = std::io::stdout();
    let style = Style {
        color: match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        },
    };
    let format = match format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    // Small: a determination larger than the buffer is written straight through, not copied.
    let mut out = std::io::BufWriter::with_capacity(8 * 1024, stdout.lock());
    let mut err = std::io::stderr().lock();
    let summary = match batch::run(&pack, &text, format, style, &mut out, &mut err) {
        Ok(s) => s,
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            return Ok(exit::OK);
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(exit::INVALID_INPUT);
        }
    };
    out.flush()?;
    if summary.invalid > 0 {
        writeln!(err, "{} of {} requests were invalid", summary.invalid, summary.invalid + summary.evaluated)?;
        return Ok(exit::INVALID_INPUT);
    }
    Ok(exit::OK)
}

fn read_input(input: &str) -> Result<String> {
    let mut bytes = Vec::new();
    if input == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).context("cannot read stdin")?;
    } else {
        bytes = std::fs::read(input).with_context(|| format!("cannot read {input}"))?;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => Err(Failure::error(
            exit::INVALID_INPUT,
            format!("the input is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )),
    }
}

fn check_pack(dir: Option<&Path>) -> Result<u8> {
    let mut worst = exit::OK;
    for (label, source) in sources(dir)? {
        match Pack::load(&source) {
            Ok(pack) => {
                for w in &pack.warnings {
                    println!("warning: {w}");
                }
                let ids = pack.spec_ids().count();
                let to = pack.identity.effective_to.map_or("open".to_owned(), |d| d.to_string());
                println!(
                    "{label}: ok · {} {} · in force {} to {to} · {ids} spec ids · {} parameters · {} interpretations · {} warning(s) · {}",
                    pack.identity.name,
                    pack.identity.version,
                    pack.identity.effective_from,
                    pack.parameters().len(),
                    pack.interpretations().len(),
                    pack.warnings.len(),
                    pack.identity.content_hash
                );
            }
            Err(errors) => {
                eprintln!("{errors}");
                worst = exit::BAD_PACK;
            }
        }
    }
    Ok(worst)
}

fn test(dir: Option<&Path>) -> Result<u8> {
    let mut failed = 0usize;
    let mut passed = 0usize;
    for (label, source) in sources(dir)? {
        let pack = load(&source)?;
        let Some(tests_dir) = pack.tests_dir() else {
            println!("{label}: no tests folder");
            continue;
        };
        let cases = match pack_tests::load(&source, tests_dir) {
            Ok(cases) => cases,
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
                return Ok(exit::BAD_PACK);
            }
        };
        for case in &cases {
            match pack_tests::run(&pack, case) {
                Ok(()) => passed += 1,
                Err(failures) => {
                    failed += 1;
                    println!("FAIL {label}: {}", case.title());
                    for f in failures {
                        println!("     {f}");
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { exit::OK } else { exit::TESTS_FAILED })
}
