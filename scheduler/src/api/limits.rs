//! What a caller may enqueue, checked before anything is written: priorities within the
//! token's range, locked stems only from work the token can see (a `gen:<id>` lock, or a
//! store or S3 key under `generations/<id>/`, would otherwise copy another owner's audio),
//! and the concurrent-job quota — queued + running generations the token owns, plus the ones
//! this submission adds, at most the quota (429 with Retry-After otherwise).

use super::{ApiError, Caller, Shared};
use axum::http::StatusCode;
use resonantgen_core::GenerationRequest;
use resonantgen_core::lock_uri::LockUri;
use resonantgen_infra::generations;
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;
use ulid::Ulid;

/// Retry-After of a 429 for a full quota: generations take seconds to minutes to finish.
const QUOTA_RETRY: Duration = Duration::from_secs(10);

/// 404 unless generation `id` exists and `caller` may see it. Someone else's generation
/// reads as missing, so ids of other owners' work cannot be probed.
pub async fn visible_generation(s: &Shared, caller: &Caller, id: Ulid) -> Result<(), ApiError> {
    match generations::generation_owner(&s.pool, id).await? {
        Some(owner) if caller.sees(owner.as_deref()) => Ok(()),
        _ => Err(ApiError::not_found(format!("generation {id} not found"))),
    }
}

/// The generation a lock URI reads from, when it reads one of ours.
fn locked_generation(uri: &LockUri) -> Option<Result<Ulid, ()>> {
    let key = match uri {
        LockUri::Generation { id, .. } => return Some(Ok(*id)),
        LockUri::S3 { key, .. } | LockUri::Store { key } => key,
    };
    let id = key.strip_prefix("generations/")?.split('/').next()?;
    Some(resonantgen_core::text::parse_ulid(id).map_err(|_| ()))
}

/// Checks one request's priority and locks; `line` names the catalog line it came from.
async fn check_request(
    s: &Shared,
    caller: &Caller,
    line: Option<usize>,
    r: &GenerationRequest,
) -> Result<(), ApiError> {
    let at = |e: ApiError| match line {
        Some(n) => ApiError {
            message: format!("line {n}: {}", e.message),
            ..e
        },
        None => e,
    };
    caller.check_priority(r.priority).map_err(at)?;
    if caller.is_admin() {
        return Ok(());
    }
    for (track, uri) in &r.locked_tracks {
        // Malformed URIs are the validation's to report.
        let Ok(parsed) = LockUri::parse(uri) else {
            continue;
        };
        // Not found, like reading the generation itself would be: another token's work
        // is indistinguishable from none.
        let refused = || {
            at(ApiError::not_found(format!(
                "locked_tracks.{track}: '{uri}' names a generation that does not exist or is \
                 not this token's"
            ))
            .with_details(serde_json::json!({"field": format!("locked_tracks.{track}")})))
        };
        match locked_generation(&parsed) {
            None => {}
            Some(Err(())) => return Err(refused()),
            Some(Ok(id)) => match generations::generation_owner(&s.pool, id).await? {
                Some(owner) if caller.sees(owner.as_deref()) => {}
                _ => return Err(refused()),
            },
        }
    }
    Ok(())
}

/// Admits a submission of `requests` (with their catalog line numbers, if any) by `caller`.
/// The returned guard serialises the token's submissions within this process: hold it until
/// the work is enqueued, so two concurrent submissions cannot both pass the quota check.
pub async fn admit<R: std::borrow::Borrow<GenerationRequest>>(
    s: &Shared,
    caller: &Caller,
    requests: impl IntoIterator<Item = (Option<usize>, R)>,
) -> Result<Option<OwnedMutexGuard<()>>, ApiError> {
    // Only the keys are kept: a catalog's requests are checked one at a time as they stream.
    // A key repeated within the submission (with the same request) adds one generation.
    let mut keys: Vec<Option<String>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (line, r) in requests {
        let r = r.borrow();
        check_request(s, caller, line, r).await?;
        match &r.idempotency_key {
            Some(k) if !seen.insert(k.clone()) => {}
            k => keys.push(k.clone()),
        }
    }
    let Some((owner, quota)) = caller.quota() else {
        return Ok(None);
    };
    let guard = s.tokens.quota_lock(owner).lock_owned().await;
    let keys: Vec<Option<&str>> = keys.iter().map(Option::as_deref).collect();
    let adding = generations::new_generation_count(&s.pool, Some(owner), &keys).await? as u64;
    if adding > quota {
        return Err(ApiError::invalid(format!(
            "this submission adds {adding} generations; this token may have at most {quota} \
             queued or running at once (split it)"
        ))
        .with_details(serde_json::json!({"quota": quota, "adding": adding})));
    }
    let active = generations::active_generations(&s.pool, owner).await? as u64;
    if adding > 0 && active + adding > quota {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
            format!(
                "this token has {active} generations queued or running and may have at most \
                 {quota}; this submission adds {adding}"
            ),
        )
        .with_details(serde_json::json!({"quota": quota, "active": active, "adding": adding}))
        .retry_after(QUOTA_RETRY));
    }
    Ok(Some(guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_of_our_generations_are_recognised() {
        let id = Ulid::generate();
        let parse = |u: &str| locked_generation(&LockUri::parse(u).unwrap());
        assert_eq!(parse(&format!("gen:{id}/drums")), Some(Ok(id)));
        assert_eq!(
            parse(&format!("generations/{id}/stems/drums.wav")),
            Some(Ok(id))
        );
        assert_eq!(
            parse(&format!("s3://any-bucket/generations/{id}/mix.wav")),
            Some(Ok(id))
        );
        assert_eq!(parse("generations/not-an-id/mix.wav"), Some(Err(())));
        assert_eq!(parse("uploads/loop.wav"), None);
    }
}
