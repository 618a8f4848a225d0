//! Stage `upload`: every encoded object, and the locked stems byte for byte, into the store
//! at once. The last stage a cancel stops: nothing of the generation is stored before it.

use super::Job;
use crate::pipeline::{JobError, Pipeline};
use crate::telemetry;

pub async fn run(p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
    let mut uploads = std::mem::take(&mut job.encoded);
    for (track, stem) in job.locked.iter() {
        uploads.push((job.keys.stem(track), stem.bytes.clone()));
    }
    let stored = futures::future::join_all(
        uploads
            .into_iter()
            .map(|(key, bytes)| p.store.put_owned(key, bytes)),
    )
    .await;
    for r in stored {
        let obj = r.map_err(|e| {
            if e.is_transient() {
                JobError::Transient(format!("upload: {e}"))
            } else {
                JobError::Permanent(format!("upload: {e}"))
            }
        })?;
        telemetry::bytes_moved("upload", obj.bytes);
        job.objects.insert(obj.key.clone(), obj);
    }
    Ok(())
}
