//! Command-line surface of the scheduler (clap).

use crate::connect::{parse_id, writer};
use crate::{api, batch, retrieve, scenes, submit};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "resonantgen",
    version,
    about = "Queue music-stem generations and fetch their results"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate and enqueue a generation; prints its id.
    Submit(submit::SubmitArgs),
    /// New takes of a finished generation: its plan (tempo, key, chords, arrangement) with
    /// other parts, optionally keeping some of its stems.
    Variations(submit::VariationsArgs),
    /// Print a generation's GenerationResponse as JSON.
    Get { id: String },
    /// Print a generation's status (and its error when it failed).
    Status {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Wait until a generation finishes; exits non-zero unless it succeeded.
    Wait {
        id: String,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Download a generation's outputs into DIR with the store's layout.
    Fetch {
        id: String,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// A human-readable summary of a finished generation.
    Summary { id: String },
    /// Recent generations, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Show what the language layer understands in a prompt (enqueues nothing).
    Parse {
        prompt: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a generation: a queued one never starts; a running one stops at its next
    /// stage boundary.
    Cancel { id: String },
    /// Validate and enqueue a catalog (JSONL or CSV, one request per line).
    Batch(batch::BatchArgs),
    /// Counts per state of a batch's generations.
    BatchStatus {
        batch: String,
        #[arg(long)]
        json: bool,
    },
    /// Write one line per request of a batch (status, URIs, QA figures, error).
    Export {
        batch: String,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// jsonl or csv (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
    },
    /// Saved scenes: save, list, show, delete, use.
    #[command(subcommand)]
    Scene(scenes::SceneCommand),
    /// Serve the HTTP API (generations, batches, events, scenes, metrics).
    Serve(api::ServeArgs),
    /// Apply database migrations (ours and apalis-postgres's).
    Migrate,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Submit(args) => submit::run(args).await,
        Command::Variations(args) => submit::variations(args).await,
        Command::Get { id } => retrieve::get(parse_id(&id)?).await,
        Command::Status { id, json } => retrieve::status(parse_id(&id)?, json).await,
        Command::Wait { id, timeout } => retrieve::wait(parse_id(&id)?, timeout).await,
        Command::Fetch { id, out } => retrieve::fetch(parse_id(&id)?, &out).await,
        Command::Summary { id } => retrieve::summary(parse_id(&id)?).await,
        Command::List {
            status,
            limit,
            json,
        } => retrieve::list(status, limit, json).await,
        Command::Parse { prompt, json } => submit::parse(&prompt, json),
        Command::Cancel { id } => retrieve::cancel(parse_id(&id)?).await,
        Command::Batch(args) => batch::run(args).await,
        Command::BatchStatus { batch: b, json } => batch::status(&b, json).await,
        Command::Export {
            batch: b,
            out,
            format,
        } => batch::export(&b, &out, format.as_deref()).await,
        Command::Scene(cmd) => scenes::run(cmd).await,
        Command::Serve(args) => api::serve(args).await,
        Command::Migrate => {
            writer().await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
    }
}
