//! Chords: one diatonic triad of the detected key per bar — the harmonic rhythm the
//! generators plan in, so a locked stem's progression can be read back in the same terms.
//! Each bar's chroma is matched against the key's seven triads by cosine similarity with
//! templates that weigh the root a little above the third and fifth (inversions and
//! doubled roots then still resolve to the intended chord).

use crate::theory::{Chord, Key};

const ROOT: f64 = 1.0;
const THIRD: f64 = 0.8;
const FIFTH: f64 = 0.8;

/// The diatonic triad of `key` that best matches a bar's chroma (C = 0), or `None` when the
/// bar holds no pitched sound.
pub fn best_triad(chroma: &[f64; 12], key: &Key) -> Option<Chord> {
    let norm = chroma.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm <= 0.0 {
        return None;
    }
    (0..7)
        .map(|d| key.triad(d))
        .map(|chord| {
            let [r, t, f] = chord.pitch_classes().map(usize::from);
            let dot = ROOT * chroma[r] + THIRD * chroma[t] + FIFTH * chroma[f];
            let tnorm = (ROOT * ROOT + THIRD * THIRD + FIFTH * FIFTH).sqrt();
            (chord, dot / (norm * tnorm))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::Mode;

    #[test]
    fn picks_the_triad_that_sounds() {
        let key = Key::new(9, Mode::Minor);
        let mut c = [0.05; 12];
        for pc in [2, 5, 9] {
            c[pc] = 1.0; // D minor: iv of A minor
        }
        assert_eq!(best_triad(&c, &key).unwrap().symbol(&key), "Dm");
        assert!(best_triad(&[0.0; 12], &key).is_none());
    }
}
