//! `necessity`: evaluate prior-authorization requests against the interventional pain policy
//! pack. It recommends; it never denies.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use necessity_cli::batch::{self, Format};
use necessity_cli::embedded;
use necessity_cli::text::Style;
use necessity_engine::{Library, Pack, PackSource, documented_facts, pack_tests};
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
        /// Pack versions to install instead of the embedded ones: a version folder, or a folder
        /// of them (repeatable). The version in force on each service date is used.
        #[arg(long)]
        pack: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Print the JSON Schema of a request.
    Schema,
    /// Load and validate pack versions: version folders, or folders of them (default: the
    /// embedded packs). Versions of one pack must not be in force on the same day.
    CheckPack { dirs: Vec<PathBuf> },
    /// Run the pack versions' own test cases (default: the embedded packs).
    Test { dirs: Vec<PathBuf> },
    /// List the facts a pack's criteria may read.
    Facts,
    /// Run the decision service (HTTP API). With no options: embedded SQLite in `./necessity-data`.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Pack versions to install instead of the embedded ones (repeatable).
        #[arg(long)]
        pack: Vec<PathBuf>,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body_bytes: usize,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The questions a provider's office must answer for these procedure codes, from the
    /// criteria of the pack version in force (the newest, or the one in force on `--on`).
    Questionnaire {
        /// CPT/HCPCS codes, as they would appear on the request's lines.
        #[arg(required = true)]
        codes: Vec<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Use the pack version in force on this date (YYYY-MM-DD).
        #[arg(long)]
        on: Option<jiff::civil::Date>,
        /// Pack versions to install instead of the embedded ones (repeatable).
        #[arg(long)]
        pack: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
}

/// Where the service keeps its data.
#[derive(clap::Args, Clone)]
struct DatabaseArgs {
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`; default: SQLite in the data folder.
    #[arg(long, env = "NECESSITY_DATABASE_URL")]
    database_url: Option<String>,
    /// Folder for the embedded SQLite database.
    #[arg(long, default_value = "necessity-data")]
    data_dir: PathBuf,
}

impl DatabaseArgs {
    fn url(&self) -> Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("cannot create the data folder {}", self.data_dir.display()))?;
                Ok(necessity_cli::service::store::default_url(&self.data_dir))
            }
        }
    }
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key and print it (only its hash is stored: keep it).
    Create {
        #[arg(long, value_enum)]
        role: necessity_cli::service::keys::Role,
        /// The organisation the key acts for (a submitter sees only its own determinations).
        #[arg(long)]
        org: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the audit chain: exit 0 when intact, 1 when a record was edited, deleted or reordered.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
    },
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
        Command::Evaluate { input, format, pack, color } => evaluate(&input, format, &pack, color),
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&necessity_case::json_schema())?);
            Ok(exit::OK)
        }
        Command::CheckPack { dirs } => check_pack(&dirs),
        Command::Test { dirs } => test(&dirs),
        Command::Questionnaire { codes, format, on, pack, color } => questionnaire(&codes, format, on, &pack, color),
        Command::Serve { listen, database, pack, max_body_bytes } => {
            let library = library(&pack)?;
            let config = necessity_cli::service::Config {
                listen,
                database_url: database.url()?,
                max_body_bytes,
                serialize_members: true,
            };
            init_logging();
            runtime()?.block_on(necessity_cli::service::serve(config, library))?;
            Ok(exit::OK)
        }
        Command::Keys { command: KeysCommand::Create { role, org, database } } => {
            let url = database.url()?;
            let key = runtime()?.block_on(async {
                let store =
                    necessity_cli::service::store::Store::open(&url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                necessity_cli::service::keys::create(&store, role, &org).await.map_err(|e| anyhow::anyhow!(e))
            })?;
            println!("{key}");
            Ok(exit::OK)
        }
        Command::Audit { command: AuditCommand::Verify { database } } => {
            let url = database.url()?;
            let verified = runtime()?.block_on(async {
                let store =
                    necessity_cli::service::store::Store::open(&url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok::<_, anyhow::Error>(necessity_cli::service::audit::verify(&store).await)
            })?;
            match verified {
                Ok(v) => {
                    println!("audit trail intact: {} records, head {}", v.records, v.head);
                    Ok(exit::OK)
                }
                Err(problem) => {
                    eprintln!("audit trail broken: {problem}");
                    Ok(exit::TESTS_FAILED)
                }
            }
        }
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

/// Pack sources to use: the version folders under the given folders, or every embedded version.
fn sources(dirs: &[PathBuf]) -> Result<Vec<(String, PackSource)>> {
    if dirs.is_empty() {
        return Ok(embedded::pack_sources());
    }
    let mut found = Vec::new();
    for dir in dirs {
        let before = found.len();
        version_folders(dir, 3, &mut found);
        if found.len() == before {
            return Err(Failure::error(
                exit::BAD_PACK,
                format!("{} holds no pack version (a folder with a pack.yaml)", dir.display()),
            ));
        }
    }
    found
        .into_iter()
        .map(|dir| {
            let source =
                PackSource::from_dir(&dir).with_context(|| format!("cannot read the pack at {}", dir.display()))?;
            Ok((dir.display().to_string(), source))
        })
        .collect()
}

/// Folders with a `pack.yaml` at or under `dir`, a few levels deep.
fn version_folders(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if dir.join("pack.yaml").is_file() {
        found.push(dir.to_path_buf());
        return;
    }
    if depth == 0 {
        return;
    }
    let mut children: Vec<PathBuf> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    children.sort();
    for child in children {
        version_folders(&child, depth - 1, found);
    }
}

/// Every version of the given folders (or the embedded ones), checked not to overlap.
fn library(dirs: &[PathBuf]) -> Result<Library> {
    let packs = sources(dirs)?.iter().map(|(_, source)| load(source)).collect::<Result<Vec<_>>>()?;
    Library::new(packs).map_err(|e| Failure::error(exit::BAD_PACK, e.to_string()))
}

fn load(source: &PackSource) -> Result<Pack> {
    Pack::load(source).map_err(|e| Failure::error(exit::BAD_PACK, e.to_string()))
}

fn evaluate(input: &str, format: OutputFormat, packs: &[PathBuf], color: Color) -> Result<u8> {
    let library = library(packs)?;
    let text = read_input(input)?;
    let stdout = std::io::stdout();
    let style = Style { color: use_color(color) };
    let format = match format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    // Small: a determination larger than the buffer is written straight through, not copied.
    let mut out = std::io::BufWriter::with_capacity(8 * 1024, stdout.lock());
    let mut err = std::io::stderr().lock();
    let summary = match batch::run(&library, &text, format, style, &mut out, &mut err) {
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

fn questionnaire(
    codes: &[String],
    format: OutputFormat,
    on: Option<jiff::civil::Date>,
    packs: &[PathBuf],
    color: Color,
) -> Result<u8> {
    let library = library(packs)?;
    let pack = match on {
        Some(date) => library.for_date(date).ok_or_else(|| {
            Failure::error(exit::INVALID_INPUT, format!("no installed pack version is in force on {date}"))
        })?,
        None => library.packs().last().ok_or_else(|| Failure::error(exit::BAD_PACK, "no pack is installed"))?,
    };
    let codes: Vec<&str> = codes.iter().map(|c| c.trim()).collect();
    let questionnaire = necessity_engine::questionnaire(pack, &codes);
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&questionnaire)?),
        OutputFormat::Text => {
            let style = Style { color: use_color(color) };
            print!("{}", necessity_cli::text::render_questionnaire(&questionnaire, style));
        }
    }
    Ok(exit::OK)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Logs to stderr; `RUST_LOG` filters (default `info`). Logs carry routes, statuses and ids only.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
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

fn check_pack(dirs: &[PathBuf]) -> Result<u8> {
    let mut worst = exit::OK;
    let mut loaded = Vec::new();
    for (label, source) in sources(dirs)? {
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
                loaded.push(pack);
            }
            Err(errors) => {
                eprintln!("{errors}");
                worst = exit::BAD_PACK;
            }
        }
    }
    if worst == exit::OK
        && let Err(overlap) = Library::new(loaded)
    {
        eprintln!("error: {overlap}");
        worst = exit::BAD_PACK;
    }
    Ok(worst)
}

fn test(dirs: &[PathBuf]) -> Result<u8> {
    let mut failed = 0usize;
    let mut passed = 0usize;
    for (label, source) in sources(dirs)? {
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
