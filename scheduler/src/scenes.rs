//! `resonantgen scene …`: save a finished generation as a named scene, list, show and
//! delete scenes, and start new generations from one (`scene use`).

use crate::connect::{parse_id, reader, writer};
use clap::Subcommand;
use resonantgen_core::TrackType;
use resonantgen_infra::queue::{self, Submitted};
use resonantgen_infra::scenes::{self, FromScene};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum SceneCommand {
    /// Save succeeded generation ID as scene NAME.
    Save {
        name: String,
        #[arg(long = "from", value_name = "ID")]
        from: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Every scene, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One scene as JSON.
    Show { name: String },
    /// Delete a scene (its generation and stems stay).
    Delete { name: String },
    /// Enqueue a generation based on a scene: its tempo, key, length and format, with the
    /// stems named by --keep locked and the rest regenerated.
    Use {
        name: String,
        /// A new prompt (default: the scene's).
        #[arg(long)]
        prompt: Option<String>,
        /// Stems to keep, comma-separated (e.g. drums,bass).
        #[arg(long, value_delimiter = ',')]
        keep: Vec<String>,
        #[arg(long)]
        seed: Option<u64>,
    },
}

pub async fn run(cmd: SceneCommand) -> anyhow::Result<ExitCode> {
    // Listing and showing only read.
    let pool = match cmd {
        SceneCommand::List { .. } | SceneCommand::Show { .. } => reader().await?,
        _ => writer().await?,
    };
    match cmd {
        SceneCommand::Save {
            name,
            from,
            description,
        } => {
            let s = scenes::save(&pool, &name, description.as_deref(), parse_id(&from)?).await?;
            println!(
                "scene '{}' saved from {} ({} stems)",
                s.name,
                from,
                s.tracks.len()
            );
        }
        SceneCommand::List { json } => {
            let all = scenes::list(&pool).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for s in all {
                    let ctx = s
                        .context
                        .as_ref()
                        .map(|c| format!("{} {} bpm {}", c.genre, c.tempo_bpm, c.key))
                        .unwrap_or_default();
                    let tracks: Vec<&str> = s.tracks.keys().map(String::as_str).collect();
                    println!(
                        "{:<24} {}  {ctx}  [{}]  \"{}\"",
                        s.name,
                        s.created_at.format("%Y-%m-%d %H:%M"),
                        tracks.join(","),
                        s.request.prompt
                    );
                }
            }
        }
        SceneCommand::Show { name } => {
            let s = scenes::get(&pool, &name).await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        SceneCommand::Delete { name } => {
            scenes::delete(&pool, &name).await?;
            println!("scene '{name}' deleted");
        }
        SceneCommand::Use {
            name,
            prompt,
            keep,
            seed,
        } => {
            let scene = scenes::get(&pool, &name).await?;
            let keep = keep
                .iter()
                .map(|t| TrackType::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let request = scenes::request_from(
                &scene,
                &FromScene {
                    prompt,
                    keep,
                    seed,
                    idempotency_key: None,
                },
            )?;
            match queue::submit(&pool, request, None).await? {
                Submitted::Queued(id) => println!("{id}  queued from scene '{name}'"),
                Submitted::Existing(id) => println!("{id}  already submitted"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
