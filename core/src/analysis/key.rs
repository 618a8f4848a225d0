//! Key: which of the 24 major and minor keys the pitch content fits best. The chroma is
//! correlated with the Krumhansl–Kessler probe-tone profiles rotated to every tonic — the
//! classic method: the tonic, fifth and third weigh most, so relative major and minor
//! (same notes) are told apart by which triad the music dwells on.

use crate::theory::{Key, Mode};

/// Krumhansl & Kessler (1982) probe-tone ratings, C major and C minor.
const MAJOR: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
const MINOR: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];
/// Softmax temperature turning correlations into a confidence: a lead of 0.1 in correlation
/// over the runner-up is a clear decision.
const TEMPERATURE: f64 = 0.04;
/// How much a tonic triad in the first or last bar adds to a key's profile correlation.
const ANCHOR_WEIGHT: f64 = 0.5;
/// Weight of the last bar's anchor relative to the first's.
const LAST_BAR_SHARE: f64 = 0.5;

#[derive(Debug, Clone)]
pub struct KeyEstimate {
    pub key: Key,
    /// Probability-like share of the best key among all 24 (0..1).
    pub confidence: f64,
    /// Pearson correlation of the chroma with the best-fitting key profile (how key-like
    /// the pitch content is, whichever key the anchors then pick).
    pub correlation: f64,
}

/// Best-fitting major or minor key of a chroma vector (C = 0). `None` for an all-zero chroma.
pub fn detect(chroma: &[f64; 12]) -> Option<KeyEstimate> {
    detect_anchored(chroma, &[])
}

/// [`detect`], with the chroma of the music's first and last bars as anchors: phrases open
/// and close on the tonic chord far more often than anywhere else, which settles what the
/// pitch-class totals leave open — relative major/minor over the same notes, and the
/// dominant key that a ii–V–I (or harmonics' added fifths) lean towards. A key earns up
/// to [`ANCHOR_WEIGHT`] when its tonic triad is what an anchor bar sounds.
pub fn detect_anchored(chroma: &[f64; 12], anchors: &[[f64; 12]]) -> Option<KeyEstimate> {
    if chroma.iter().all(|v| *v <= 0.0) {
        return None;
    }
    let mut scores: Vec<(Key, f64, f64)> = Vec::with_capacity(24);
    for (mode, profile) in [(Mode::Major, &MAJOR), (Mode::Minor, &MINOR)] {
        for tonic in 0..12u8 {
            let rotated: [f64; 12] =
                std::array::from_fn(|pc| profile[(pc + 12 - tonic as usize) % 12]);
            let r = pearson(chroma, &rotated);
            let key = Key::new(tonic, mode);
            let triad: [f64; 12] = {
                let mut t = [0.0; 12];
                for pc in key.triad(0).pitch_classes() {
                    t[usize::from(pc)] = 1.0;
                }
                t
            };
            // The opening bar counts fully, the closing one half (loops often end on a
            // turnaround: V, or VII in minor).
            let anchor = anchors
                .iter()
                .zip([1.0, LAST_BAR_SHARE])
                .map(|(a, w)| w * pearson(a, &triad).max(0.0))
                .fold(0.0, f64::max);
            scores.push((key, r + ANCHOR_WEIGHT * anchor, r));
        }
    }
    let (key, best, _) = scores.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    // How key-like the pitch content is at all: the best plain profile correlation.
    let correlation = scores.iter().map(|s| s.2).fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = scores
        .iter()
        .map(|(_, s, _)| ((s - best) / TEMPERATURE).exp())
        .sum();
    Some(KeyEstimate {
        key,
        confidence: 1.0 / z,
        correlation,
    })
}

pub fn pearson(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let ma = a.iter().sum::<f64>() / 12.0;
    let mb = b.iter().sum::<f64>() / 12.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chroma_of(pcs: &[(usize, f64)]) -> [f64; 12] {
        let mut c = [0.05; 12];
        for (pc, w) in pcs {
            c[*pc] += w;
        }
        c
    }

    #[test]
    fn tonic_triad_decides_relative_keys() {
        // C major scale, C–E–G emphasised.
        let c = chroma_of(&[
            (0, 3.0),
            (2, 1.0),
            (4, 2.0),
            (5, 1.0),
            (7, 2.5),
            (9, 1.0),
            (11, 1.0),
        ]);
        assert_eq!(detect(&c).unwrap().key, Key::new(0, Mode::Major));
        // Same notes, A–C–E emphasised: A minor.
        let a = chroma_of(&[
            (9, 3.0),
            (11, 1.0),
            (0, 2.0),
            (2, 1.0),
            (4, 2.5),
            (5, 1.0),
            (7, 1.0),
        ]);
        assert_eq!(detect(&a).unwrap().key, Key::new(9, Mode::Minor));
    }

    #[test]
    fn flat_chroma_has_no_key() {
        assert!(detect(&[0.0; 12]).is_none());
        assert!(detect(&[1.0; 12]).unwrap().confidence < 0.1);
    }
}
