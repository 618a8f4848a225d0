//! Chords: one diatonic triad of the detected key per bar — the harmonic rhythm the
//! generators plan in, so a locked stem's progression can be read back in the same terms.
//! Each bar's chroma is matched against the key's seven triads by cosine similarity with
//! templates that weigh the root a little above the third and fifth (inversions and
//! doubled roots then still resolve to the intended chord). [`best_chord`] reads any chord
//! the symbols name (every root, every quality, sevenths and added notes), for checking
//! that what sounds is what a request asked for.

use crate::theory::{Added, CHORD_SUFFIXES, Chord, Key};

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

/// Weight of an added note (seventh, sixth, ninth) in a template: below the core's.
const ADDED: f64 = 0.6;
/// The canonical meanings of the chord table (its aliases follow them).
const MEANINGS: usize = 21;

/// The chord of any root and quality the symbols can name that best matches a bar's chroma
/// (C = 0), or `None` when the bar holds no pitched sound. Its `degree` is 0: there is no
/// key here.
pub fn best_chord(chroma: &[f64; 12]) -> Option<Chord> {
    let norm = chroma.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm <= 0.0 {
        return None;
    }
    let mut best: Option<(Chord, f64)> = None;
    for root in 0..12u8 {
        for (_, quality, added) in &CHORD_SUFFIXES[..MEANINGS] {
            let chord = Chord {
                root,
                quality: *quality,
                degree: 0,
                added: Added::of(added),
                bass: None,
            };
            let mut template = [0.0f64; 12];
            for (i, pc) in chord.pitch_classes().into_iter().enumerate() {
                template[usize::from(pc)] = if i == 0 { ROOT } else { THIRD.min(FIFTH) };
            }
            for i in added.iter() {
                let pc = usize::from((root + i) % 12);
                template[pc] = template[pc].max(ADDED);
            }
            let tnorm = template.iter().map(|v| v * v).sum::<f64>().sqrt();
            let score = chroma
                .iter()
                .zip(&template)
                .map(|(c, t)| c * t)
                .sum::<f64>()
                / (norm * tnorm);
            if best.as_ref().is_none_or(|(_, b)| score > *b) {
                best = Some((chord, score));
            }
        }
    }
    best.map(|(c, _)| c)
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

    #[test]
    fn reads_any_root_and_quality() {
        let chroma = |pcs: &[u8]| {
            let mut c = [0.03; 12];
            for (i, pc) in pcs.iter().enumerate() {
                c[usize::from(*pc)] = if i == 0 { 1.0 } else { 0.8 };
            }
            c
        };
        let key = Key::new(0, Mode::Major);
        for (pcs, want) in [
            (&[10u8, 2, 5][..], "A#"),
            (&[1, 4, 8], "C#m"),
            (&[2, 5, 9, 0], "Dm7"),
            (&[7, 11, 2, 5], "G7"),
            (&[11, 2, 5], "Bdim"),
        ] {
            assert_eq!(best_chord(&chroma(pcs)).unwrap().symbol(&key), want);
        }
        assert!(best_chord(&[0.0; 12]).is_none());
    }
}
