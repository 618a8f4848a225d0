//! `resonantgen submit`: builds a GenerationRequest from flags, validates it (a bad request is
//! rejected here with its reason and never enqueued), enqueues it, and optionally waits.

use crate::connect::writer;
use anyhow::{Context, bail};
use clap::Args;
use resonantgen_core::language::{Mapped, PromptParser, mapper};
use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_infra::queue::{self, Submitted};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// What to generate, e.g. "dark techno with driving bass at 128 bpm".
    pub prompt: String,
    #[command(flatten)]
    pub output: crate::flags::OutputFlags,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep a stem: TRACK=URI with URI s3://bucket/key.wav, gen:<id>/<track> or a store key.
    #[arg(long = "lock", value_name = "TRACK=URI")]
    pub locks: Vec<String>,
    /// Tempo in bpm (overrides the prompt).
    #[arg(long)]
    pub tempo: Option<f64>,
    /// Key, e.g. "A minor" (overrides the prompt).
    #[arg(long)]
    pub key: Option<String>,
    /// Tracks to generate, comma-separated (default: all not locked or excluded).
    #[arg(long, value_delimiter = ',')]
    pub tracks: Option<Vec<String>>,
    /// A chord progression every pitched track follows ("Am F C G", "ii-V-I", "Am:2 F:2").
    #[arg(long)]
    pub chords: Option<String>,
    /// The meter: 4/4, 3/4, 5/4, 6/8, 7/8 or 12/8 (overrides the prompt; the tempo counts
    /// quarter notes).
    #[arg(long)]
    pub time_signature: Option<String>,
    /// The sections in order, with bars ("intro:4, verse:8, chorus:8, outro:4").
    #[arg(long)]
    pub sections: Option<String>,
    /// A seamless loop: whole bars, every tail wrapped onto the start.
    #[arg(long = "loop")]
    pub looped: bool,
    /// Takes of one plan (1–16): that many generations sharing tempo, key, chords and
    /// arrangement, each with its own parts, in one batch.
    #[arg(long)]
    pub variations: Option<u32>,
    /// Which take of the seed's plan to play (0: the seed's own parts).
    #[arg(long)]
    pub take: Option<u32>,
    #[arg(long)]
    pub idempotency_key: Option<String>,
    #[command(flatten)]
    pub follow: Follow,
}

/// How a submission is followed: `--wait` (until the generations finish, at most
/// `--timeout` seconds) and `--json`.
#[derive(clap::Args, Debug)]
pub struct Follow {
    /// Wait until the generation finishes.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn build_request(a: &SubmitArgs) -> anyhow::Result<GenerationRequest> {
    let mut r = GenerationRequest::new(a.prompt.clone());
    r.duration_seconds = a.output.duration;
    r.seed = a.seed;
    r.tempo = a.tempo;
    r.key = a.key.clone();
    r.sample_rate = a.output.sample_rate;
    r.bit_depth = a.output.bit_depth;
    r.loudness_target = a.output.loudness;
    r.looped = a.looped.then_some(true);
    r.chords = a.chords.clone();
    r.time_signature = a.time_signature.clone();
    if let Some(text) = &a.sections {
        let form = resonantgen_core::form::Form::parse(text).context("--sections")?;
        r.sections = Some(form.to_request());
    }
    r.idempotency_key = a.idempotency_key.clone();
    r.variations = a.variations;
    r.take = a.take;
    r.priority = a.output.priority;
    for lock in &a.locks {
        let (track, uri) = lock
            .split_once('=')
            .with_context(|| format!("--lock '{lock}': expected TRACK=URI"))?;
        let track = TrackType::parse(track).with_context(|| format!("--lock '{lock}'"))?;
        if r.locked_tracks.insert(track, uri.to_string()).is_some() {
            bail!("--lock: track {track} is locked twice");
        }
    }
    if let Some(tracks) = &a.tracks {
        r.tracks = Some(
            tracks
                .iter()
                .map(|t| TrackType::parse(t))
                .collect::<Result<_, _>>()
                .context("--tracks")?,
        );
    }
    Ok(r)
}

pub async fn run(a: SubmitArgs) -> anyhow::Result<ExitCode> {
    let request = build_request(&a)?;
    // Validate before touching the database: a bad request is refused with its reason.
    if let Err(e) = request.validate() {
        bail!("request rejected: {e}");
    }
    let pool = writer().await?;
    if request.variations.is_some_and(|n| n > 1) {
        let takes = resonantgen_infra::takes::submit(&pool, &request, None).await?;
        return print_takes(&pool, &takes, &a.follow).await;
    }
    let submitted = queue::submit(&pool, request, None).await?;
    let id = submitted.id();
    if !a.follow.wait {
        if a.follow.json {
            println!("{}", serde_json::to_string(&submitted)?);
        } else {
            let note = match submitted {
                Submitted::Queued(_) => "queued",
                Submitted::Existing(_) => "already submitted (idempotency key)",
            };
            println!("{id}  {note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.follow.json {
        eprintln!("{id}  queued; waiting");
    }
    let row =
        crate::retrieve::wait_terminal(&pool, id, Duration::from_secs(a.follow.timeout)).await?;
    if a.follow.json {
        println!("{}", serde_json::to_string_pretty(&row)?);
        return Ok(crate::retrieve::exit_code(&row));
    }
    Ok(crate::retrieve::print_outcome(&row))
}

/// Prints the takes of a request (batch, seed, one id a line); with `wait`, waits for each
/// and exits non-zero unless all succeeded.
async fn print_takes(
    pool: &sqlx::PgPool,
    takes: &resonantgen_infra::takes::Takes,
    follow: &Follow,
) -> anyhow::Result<ExitCode> {
    let &Follow {
        wait,
        timeout,
        json,
    } = follow;
    if json {
        println!("{}", serde_json::to_string(takes)?);
    } else {
        println!(
            "batch {}  {} takes of seed {}{}",
            takes.batch_id,
            takes.ids.len(),
            takes.seed,
            if takes.new_batch {
                ""
            } else {
                "  (already submitted)"
            }
        );
        for (i, id) in takes.ids.iter().enumerate() {
            println!("{id}  take {i}");
        }
    }
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    let mut code = ExitCode::SUCCESS;
    for id in &takes.ids {
        let id: ulid::Ulid = id.parse()?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let row = crate::retrieve::wait_terminal(pool, id, left).await?;
        if row.status != resonantgen_core::GenerationStatus::Succeeded {
            code = ExitCode::FAILURE;
        }
        if !json {
            println!("{id}  {}", row.status.as_str());
        }
    }
    Ok(code)
}

/// Arguments of `resonantgen variations`.
#[derive(clap::Args, Debug)]
pub struct VariationsArgs {
    /// A finished generation.
    pub id: String,
    /// How many new takes (1–16).
    #[arg(short = 'n', long = "takes", default_value_t = 4)]
    pub takes: u32,
    /// Stems of the original to keep in every take (locked), comma-separated: "drums,bass".
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    #[command(flatten)]
    pub follow: Follow,
}

/// `resonantgen variations ID -n N [--keep drums,bass]`: new takes of a finished generation —
/// its request on its own seed (so its tempo, key, chords and arrangement), takes numbered
/// after its own, the kept stems locked to the original's.
pub async fn variations(a: VariationsArgs) -> anyhow::Result<ExitCode> {
    let id: ulid::Ulid =
        a.id.parse()
            .with_context(|| format!("'{}' is not a generation id", a.id))?;
    let pool = writer().await?;
    let row = resonantgen_infra::generations::get_generation(&pool, id).await?;
    if row.status != resonantgen_core::GenerationStatus::Succeeded {
        bail!(
            "generation {id} is {}: only a finished generation has takes",
            row.status.as_str()
        );
    }
    let original: GenerationRequest =
        serde_json::from_value(row.request.clone()).context("the generation's stored request")?;
    let response: resonantgen_core::GenerationResponse = serde_json::from_value(
        row.response
            .clone()
            .context("the generation has no response")?,
    )
    .context("the generation's stored response")?;
    let mut r = original.clone();
    r.seed = Some(response.context.seed);
    r.take = Some(response.context.take.saturating_add(1));
    r.variations = Some(a.takes);
    r.idempotency_key = None;
    for keep in &a.keep {
        let track = TrackType::parse(keep).with_context(|| format!("--keep '{keep}'"))?;
        r.locked_tracks.insert(track, format!("gen:{id}/{track}"));
        if let Some(tracks) = &mut r.tracks {
            tracks.retain(|t| *t != track);
        }
    }
    if let Err(e) = r.validate() {
        bail!("takes rejected: {e}");
    }
    let takes = resonantgen_infra::takes::submit(&pool, &r, None).await?;
    print_takes(&pool, &takes, &a.follow).await
}

/// `resonantgen parse`: what the language layer understood — the parsed prompt, the musical
/// intent per track and the context it maps to (conflicts included). Enqueues nothing.
pub fn parse(prompt: &str, json: bool) -> anyhow::Result<ExitCode> {
    let request = GenerationRequest::new(prompt);
    if let Err(e) = request.validate() {
        bail!("prompt rejected: {e}");
    }
    let parsed = PromptParser::parse(prompt);
    let Mapped {
        context: ctx,
        intent,
    } = mapper::map(&request, &parsed, 0)?;
    if json {
        let out = serde_json::json!({ "parsed": parsed, "intent": intent, "context": ctx });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let genres = if parsed.genres.len() > 1 {
        format!(" (named: {})", parsed.genres.join(", "))
    } else {
        String::new()
    };
    println!(
        "genre       {}{}{genres}",
        ctx.genre,
        if parsed.genre_from_prompt {
            ""
        } else {
            " (default)"
        }
    );
    let tempo_src = match (&parsed.tempo_bpm, &parsed.tempo_word) {
        (Some(_), _) => "from the prompt".to_string(),
        (None, Some(w)) => format!("'{w}' for {}", ctx.genre),
        _ => "genre default".to_string(),
    };
    println!("tempo       {} bpm ({tempo_src})", ctx.tempo_bpm);
    println!(
        "key         {}{}",
        ctx.key,
        if parsed.key.is_some() {
            ""
        } else {
            " (genre/mood default)"
        }
    );
    println!(
        "duration    {} s ({} bars of {})",
        ctx.duration_seconds, ctx.bars, ctx.meter
    );
    println!("arrangement {}", ctx.arrangement_summary());
    println!(
        "chords      {}",
        ctx.chord_symbols
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("moods       {}", parsed.moods.join(", "));
    println!("energy      {:.2}", ctx.energy);
    if !parsed.excluded_tracks.is_empty() {
        let ex: Vec<String> = parsed
            .excluded_tracks
            .iter()
            .map(|t| t.to_string())
            .collect();
        println!("excluded    {}", ex.join(", "));
    }
    if !parsed.structure.is_empty() {
        println!("structure   {}", parsed.structure.join(", "));
    }
    println!("mix fx      {}", intent.mix_processing.join(", "));
    for (track, t) in &intent.tracks {
        println!(
            "{:<11} {} / {} / notes {}–{} / density {:.2} / humanize {:.2} / fx {}",
            track.as_str(),
            t.pattern,
            t.instrument,
            t.register.0,
            t.register.1,
            t.density,
            t.humanize,
            t.processing.join("+")
        );
    }
    for c in &ctx.conflicts {
        println!("note        {c}");
    }
    if !parsed.unknown_words.is_empty() {
        println!("not understood: {}", parsed.unknown_words.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
