//! Stage `render`: instruments and their processor chains, one thread per track.

use super::{Job, blocking};
use crate::pipeline::JobError;
use crate::production;

pub async fn run(job: &mut Job<'_>) -> Result<(), JobError> {
    crate::faults::abort_if_prompt_matches(&job.request.prompt);
    let (parts, ctx, intent) = (
        job.parts.clone(),
        job.ctx.context().clone(),
        job.intent.clone(),
    );
    let rendered = blocking("render", move || {
        production::render_tracks(&ctx, &intent, &parts)
    })
    .await?
    .ok_or_else(|| JobError::Permanent("internal error: a track failed to render".into()))?;
    job.rendered = Some(rendered);
    Ok(())
}
