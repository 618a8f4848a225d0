//! The short-time Fourier transform every analyser and QA measure shares. By default frames
//! are centred: the signal is padded by half a window at both ends, so frame `f` describes
//! the time `f · hop / rate` and onsets, beats and chord changes line up with the sample
//! clock without offsets. Spectrogram comparisons (QA's separation) take frames that lie
//! wholly inside the signal instead, so padding never counts as shared silence.

use realfft::RealFftPlanner;

/// Where the frames of a signal lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Frame `f` is centred on sample `f · hop` (padded at both ends).
    Centred,
    /// Frame `f` starts at sample `f · hop`; only whole frames.
    Inside,
}

/// Calls `visit(frame_index, magnitudes)` for every Hann-windowed, centred frame of `x`; the
/// slice holds `n_fft / 2 + 1` magnitudes (not power). Returns the number of frames.
pub fn for_each_frame(
    x: &[f32],
    n_fft: usize,
    hop: usize,
    visit: impl FnMut(usize, &[f32]),
) -> usize {
    for_each_frame_at(x, n_fft, hop, Framing::Centred, visit)
}

/// [`for_each_frame`] with the framing chosen.
pub fn for_each_frame_at(
    x: &[f32],
    n_fft: usize,
    hop: usize,
    framing: Framing,
    mut visit: impl FnMut(usize, &[f32]),
) -> usize {
    if x.is_empty() || n_fft < 2 || hop == 0 {
        return 0;
    }
    let half = n_fft / 2;
    let (frames, lead) = match framing {
        Framing::Centred => (x.len().div_ceil(hop), half as i64),
        Framing::Inside if x.len() < n_fft => return 0,
        Framing::Inside => (1 + (x.len() - n_fft) / hop, 0),
    };
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let window: Vec<f32> = (0..n_fft)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n_fft as f32).cos())
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut mags = vec![0.0f32; half + 1];
    for f in 0..frames {
        // Window start in signal coordinates; negative or past-the-end samples are padding.
        let start = (f * hop) as i64 - lead;
        for (i, (slot, w)) in input.iter_mut().zip(&window).enumerate() {
            let j = start + i as i64;
            *slot = if j >= 0 && (j as usize) < x.len() {
                x[j as usize] * w
            } else {
                0.0
            };
        }
        if fft.process(&mut input, &mut spectrum).is_err() {
            // Only possible with mismatched buffer lengths, which the planner rules out.
            mags.iter_mut().for_each(|m| *m = 0.0);
        } else {
            for (m, c) in mags.iter_mut().zip(&spectrum) {
                *m = c.norm();
            }
        }
        visit(f, &mags);
    }
    frames
}

/// Power spectrogram of the whole frames inside `x`: `frames × (n_fft/2 + 1)` values,
/// row-major, and the number of bins.
pub fn power_spectrogram(x: &[f32], n_fft: usize, hop: usize) -> (Vec<f64>, usize) {
    let bins = n_fft / 2 + 1;
    let mut out = Vec::new();
    for_each_frame_at(x, n_fft, hop, Framing::Inside, |_, mags| {
        out.extend(mags.iter().map(|m| f64::from(*m) * f64::from(*m)));
    });
    (out, bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_centred() {
        // An impulse at sample 1000 is loudest in the frame whose centre is nearest to it.
        let mut x = vec![0.0f32; 4096];
        x[1000] = 1.0;
        let mut energy = Vec::new();
        let n = for_each_frame(&x, 512, 100, |_, m| {
            energy.push(m.iter().map(|v| v * v).sum::<f32>())
        });
        assert_eq!(n, 41);
        let best = energy
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        assert_eq!(best, Some(10));
    }

    #[test]
    fn power_spectrogram_has_whole_frames_only() {
        let x: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.06).sin()).collect();
        let (p, bins) = power_spectrogram(&x, 2048, 1024);
        assert_eq!(bins, 1025);
        assert_eq!(p.len(), (1 + (10_000 - 2048) / 1024) * 1025);
    }
}
