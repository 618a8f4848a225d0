//! The rendered output, measured: instruments, processor chains and the mix engine together,
//! through exactly the code the pipeline runs (`production`), for genres with different kits,
//! idioms and processing, in both output formats.

mod common;
use common::registry;

use resonantgen_core::analysis::separation::{separation, to_mono};
use resonantgen_core::language::{PromptParser, mapper};
use resonantgen_core::{GenerationContext, GenerationRequest, TrackType};
use resonantgen_worker::mix::{MixResult, TRUE_PEAK_CEILING_DBTP, measure, premaster_match};
use resonantgen_worker::production;

fn produce(
    prompt: &str,
    seconds: f64,
    sample_rate: u32,
    target: Option<f64>,
) -> (GenerationContext, MixResult) {
    let mut r = GenerationRequest::new(prompt);
    r.sample_rate = Some(sample_rate);
    r.loudness_target = target;
    produce_request(r, seconds)
}

/// A seamless loop: rendered past its end, the tails folded onto the start by the mix.
fn produce_loop(prompt: &str, seconds: f64) -> (GenerationContext, MixResult) {
    let mut r = GenerationRequest::new(prompt);
    r.looped = Some(true);
    produce_request(r, seconds)
}

fn produce_request(mut r: GenerationRequest, seconds: f64) -> (GenerationContext, MixResult) {
    r.duration_seconds = Some(seconds);
    let prompt = r.prompt.clone();
    let m = mapper::map(&r, &PromptParser::parse(&prompt), 42).unwrap();
    let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
    registry().plan(&mut ctx, &m.intent).unwrap();
    let ctx = ctx.into_context();
    let parts = registry()
        .generate_all(&ctx, &m.intent, &TrackType::all(), |_, _| {})
        .unwrap();
    let rendered = production::render_tracks(&ctx, &m.intent, &parts).expect("render");
    let mixed = production::mixdown(&ctx, &m.intent, rendered, Default::default());
    (ctx, mixed)
}

/// Every figure the issue asks of a finished master.
fn check(prompt: &str, ctx: &GenerationContext, r: &MixResult) {
    let target = ctx.loudness_target;
    let (lufs, tp) = measure(&r.mix, ctx.sample_rate);
    assert!(
        (lufs - target).abs() <= 1.0,
        "{prompt}: {lufs:.2} LUFS vs {target}"
    );
    assert!(
        tp <= TRUE_PEAK_CEILING_DBTP + 1e-6,
        "{prompt}: true peak {tp:.2} dBTP"
    );
    assert_eq!(r.mix.len(), ctx.total_frames() * 2, "{prompt}: length");
    assert!(r.mix.iter().all(|s| s.is_finite()), "{prompt}: NaN/inf");
    let clipped = r.mix.iter().filter(|s| s.abs() >= 1.0).count();
    assert_eq!(clipped, 0, "{prompt}: clipped samples");
    for ch in 0..2 {
        let dc = r
            .mix
            .iter()
            .skip(ch)
            .step_by(2)
            .map(|s| f64::from(*s))
            .sum::<f64>()
            / ctx.total_frames() as f64;
        assert!(
            dc.abs() < 1e-3,
            "{prompt}: DC offset {dc:.5} on channel {ch}"
        );
    }
    // The stems are the pre-master mix: their sum and the master differ only by the master
    // chain (glue compression and the limiter). Tolerance at the default -14 LUFS:
    // correlation ≥ 0.93 and level within ±3 dB (the limiter takes up to ~3 dB from peaky
    // sampled kits; electronic genres measure r ≈ 0.97-0.99 and 0.0 dB). Louder targets are limited harder, so there only the correlation is
    // held (≥ 0.9).
    let mut sum = vec![0.0f32; r.mix.len()];
    for stem in r.stems.values() {
        for (s, x) in sum.iter_mut().zip(stem) {
            *s += x;
        }
    }
    let m = premaster_match(&sum, &r.mix);
    if target <= -14.0 {
        assert!(m.correlation >= 0.93, "{prompt}: stems vs mix {m:?}");
        assert!(m.level_db.abs() <= 3.0, "{prompt}: stems vs mix {m:?}");
    } else {
        assert!(m.correlation >= 0.9, "{prompt}: stems vs mix {m:?}");
    }
    // Drum channels add up to the drums stem.
    let drums = &r.stems[&TrackType::Drums];
    let mut chans = vec![0.0f32; drums.len()];
    for c in r.channels.values() {
        for (s, x) in chans.iter_mut().zip(c) {
            *s += x;
        }
    }
    let err = chans
        .iter()
        .zip(drums)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        err < 1e-3,
        "{prompt}: channels differ from the drums stem by {err}"
    );
    // Kick and bass own different parts of the spectrum.
    let bass = &r.stems[&TrackType::Bass];
    let sep = separation(&to_mono(drums), &to_mono(bass)).unwrap();
    assert!(sep > 0.9, "{prompt}: drums↔bass separation {sep:.3}");
    eprintln!(
        "{prompt} @{} Hz: {lufs:.2} LUFS, {tp:.2} dBTP, stems↔mix r={:.3} {:+.2} dB, separation {sep:.3}",
        ctx.sample_rate, m.correlation, m.level_db
    );
}

#[test]
fn masters_meet_loudness_peak_and_separation_across_genres() {
    for prompt in [
        "dark techno with driving bass at 128 bpm",
        "boom bap hip hop, dusty",
        "lofi hip hop with vinyl crackle",
        "trap with 808s",
        "deep house, warm and wide",
        "drum and bass",
        "disco",
    ] {
        let (ctx, r) = produce(prompt, 20.0, 44_100, None);
        check(prompt, &ctx, &r);
    }
}

#[test]
fn other_formats_and_loudness_targets() {
    for (prompt, sr, target) in [
        ("house at 124 bpm", 48_000, Some(-9.0)),
        ("ambient, spacious", 48_000, Some(-20.0)),
        ("funk with slap bass", 44_100, Some(-16.0)),
    ] {
        let (ctx, r) = produce(prompt, 16.0, sr, target);
        assert_eq!(ctx.sample_rate, sr);
        check(prompt, &ctx, &r);
    }
}

/// The sampled instruments really come from the SoundFont, at the right pitch. ops/test.sh
/// installs musescore-general-soundfont-lossless; without a SoundFont this fails rather than
/// passing on a fallback.
#[test]
fn sampled_instruments_play_in_tune_from_the_soundfont() {
    use resonantgen_worker::generators::Note;
    use resonantgen_worker::render::sampler::{self, Patch};
    let sf = sampler::soundfont().expect(
        "no General MIDI SoundFont: install musescore-general-soundfont-lossless (ops/test.sh \
         does) or set RESONANTGEN_SOUNDFONT",
    );
    let sr = 44_100u32;
    for (program, pitch, name) in [
        (32u8, 45u8, "upright bass A2"),
        (0, 69, "piano A4"),
        (48, 57, "strings A3"),
    ] {
        let note = Note {
            time: 0.0,
            duration: 1.5,
            pitch,
            velocity: 0.8,
            voice: 0,
            step: 0,
        };
        let out = sampler::play(
            &sf,
            Patch {
                bank: 0,
                program,
                drums: false,
            },
            &[note],
            sr as usize * 2,
            sr,
        )
        .unwrap();
        let mono: Vec<f32> = out.data.chunks_exact(2).map(|f| f[0] + f[1]).collect();
        assert!(mono.iter().any(|s| s.abs() > 0.01), "{name}: silent");
        // Fundamental from the autocorrelation peak over 0.1-1.1 s.
        let seg = &mono[sr as usize / 10..sr as usize * 11 / 10];
        let want = 440.0 * 2f32.powf((f32::from(pitch) - 69.0) / 12.0);
        let (lo, hi) = (
            (sr as f32 / (want * 1.5)) as usize,
            (sr as f32 / (want / 1.5)) as usize,
        );
        let lag = (lo..hi)
            .max_by(|a, b| {
                let ac = |l: usize| seg.iter().zip(&seg[l..]).map(|(x, y)| x * y).sum::<f32>();
                ac(*a).total_cmp(&ac(*b))
            })
            .unwrap();
        let hz = sr as f32 / lag as f32;
        let cents = 1200.0 * (hz / want).log2();
        assert!(
            cents.abs() < 30.0,
            "{name}: {hz:.1} Hz, want {want:.1} ({cents:.0} cents)"
        );
    }
    // A kit: the kick note (36) on the drum channel sounds.
    let kick = Note {
        time: 0.0,
        duration: 0.2,
        pitch: 36,
        velocity: 1.0,
        voice: 0,
        step: 0,
    };
    let out = sampler::play(
        &sf,
        Patch {
            bank: 128,
            program: 0,
            drums: true,
        },
        &[kick],
        sr as usize,
        sr,
    )
    .unwrap();
    assert!(out.data.iter().any(|s| s.abs() > 0.05), "drum kit silent");
}

#[test]
fn the_genre_balance_sets_who_is_in_front() {
    use resonantgen_worker::render::level::gated_rms_db;
    let level = |r: &MixResult, t: TrackType| gated_rms_db(&r.stems[&t], 44_100).unwrap();
    // A jazz combo: the soloist in front of the kit.
    let (_, jazz) = produce("jazz trio", 20.0, 44_100, None);
    let (lead, kit) = (
        level(&jazz, TrackType::Melody),
        level(&jazz, TrackType::Drums),
    );
    assert!(
        lead > kit + 2.0,
        "jazz: sax {lead:.1} dB vs kit {kit:.1} dB"
    );
    // A band does not pump: a double-kick part leaves the rhythm guitars near the kit.
    let (_, metal) = produce("heavy metal with double kick", 20.0, 44_100, None);
    let (gtr, kit) = (
        level(&metal, TrackType::Harmony),
        level(&metal, TrackType::Drums),
    );
    assert!(
        gtr > kit - 4.0,
        "metal: guitars {gtr:.1} dB vs kit {kit:.1} dB"
    );
    // Club music: kick and bass in front, the lead a colour on top.
    let (_, techno) = produce(
        "dark techno with driving bass at 128 bpm",
        20.0,
        44_100,
        None,
    );
    let (lead, kit) = (
        level(&techno, TrackType::Melody),
        level(&techno, TrackType::Drums),
    );
    assert!(
        lead < kit - 4.0,
        "techno: lead {lead:.1} dB vs kit {kit:.1} dB"
    );
}

/// Short-term (3 s) loudness of interleaved stereo from frame `at`, reading past the end
/// from the start again (the file looped).
fn short_term_looped(x: &[f32], at: usize, sr: u32) -> f64 {
    let frames = x.len() / 2;
    let window = 3 * sr as usize;
    let mut m = ebur128::EbuR128::new(2, sr, ebur128::Mode::S).unwrap();
    let buf: Vec<f32> = (0..window)
        .flat_map(|i| {
            let f = (at + i) % frames;
            [x[2 * f], x[2 * f + 1]]
        })
        .collect();
    m.add_frames_f32(&buf).unwrap();
    m.loudness_shortterm().unwrap()
}

/// The seam test of a loop: the sample step where the file meets its own start is within
/// the file's 99.9th-percentile step, and the short-term loudness across the joint within
/// 0.5 LU of the loop's median (a mix) or of the loop's own range (a stem, whose parts come
/// and go: a bass line's windows span 2 LU without any seam).
fn assert_seamless(what: &str, x: &[f32], sr: u32, stem: bool, level: bool) {
    let frames = x.len() / 2;
    for ch in 0..2 {
        let s: Vec<f32> = x.iter().skip(ch).step_by(2).copied().collect();
        let mut steps: Vec<f32> = s.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        steps.sort_by(f32::total_cmp);
        let p999 = steps[(steps.len() as f64 * 0.999) as usize];
        let joint = (s[0] - s[frames - 1]).abs();
        assert!(
            joint <= p999,
            "{what} ch{ch}: step {joint:.5} at the joint > p99.9 {p999:.5}"
        );
    }
    if !level {
        return;
    }
    let hop = sr as usize / 2;
    let window = 3 * sr as usize;
    // the windows inside the file (not across the joint)
    let mut levels: Vec<f64> = (0..=(frames - window) / hop)
        .map(|i| short_term_looped(x, i * hop, sr))
        .filter(|l| l.is_finite())
        .collect();
    if levels.is_empty() {
        return; // silent stem
    }
    levels.sort_by(f64::total_cmp);
    let median = levels[levels.len() / 2];
    let across = short_term_looped(x, frames - (3 * sr as usize) / 2, sr);
    let (lo, hi) = (levels[0], levels[levels.len() - 1]);
    eprintln!(
        "{what}: across the joint {across:.2} LUFS, median {median:.2} (range {lo:.2}..{hi:.2})"
    );
    if stem {
        assert!(
            across >= lo - 0.5 && across <= hi + 0.5,
            "{what}: {across:.2} LUFS across the joint, outside {lo:.2}..{hi:.2} ± 0.5"
        );
    } else {
        assert!(
            (across - median).abs() <= 0.5,
            "{what}: {across:.2} LUFS across the joint vs median {median:.2}"
        );
    }
}

#[test]
fn loops_repeat_without_a_seam() {
    for (prompt, seconds) in [
        ("dark techno loop with reverb and delay at 128 bpm", 8.0),
        ("trance loop at 138 with delay", 8.0),
        ("lofi hip hop loop with vinyl crackle", 12.0),
        ("jazz trio loop", 10.0),
        ("ambient pad loop, spacious", 16.0),
    ] {
        // A combo's soloist is in front and rests at the end of his phrase: the jazz loop's
        // mix is 1 LU quieter across the joint than its median, which is the tune, not a seam
        // (its sample steps are checked like every other).
        let mix_level = !prompt.starts_with("jazz");
        let (ctx, r) = produce_loop(prompt, seconds);
        assert!(ctx.looped, "{prompt}");
        let bar = ctx.bar_seconds();
        let bars = ctx.duration_seconds / bar;
        assert!((bars - bars.round()).abs() < 1e-9, "{prompt}: {bars} bars");
        assert_eq!(r.mix.len(), ctx.total_frames() * 2, "{prompt}");
        for (t, s) in &r.stems {
            assert_eq!(s.len(), r.mix.len(), "{prompt}: {t}");
            // The lead breathes between phrases (a rest across the joint is the tune's, not
            // a seam): its level is not compared; its sample step is.
            let level = *t != TrackType::Melody;
            assert_seamless(&format!("{prompt}: {t}"), s, ctx.sample_rate, true, level);
        }
        assert_seamless(
            &format!("{prompt}: mix"),
            &r.mix,
            ctx.sample_rate,
            false,
            mix_level,
        );
        let (lufs, tp) = measure(&r.mix, ctx.sample_rate);
        assert!(
            (lufs - ctx.loudness_target).abs() <= 1.0,
            "{prompt}: {lufs}"
        );
        assert!(tp <= TRUE_PEAK_CEILING_DBTP + 1e-6, "{prompt}: {tp}");
    }
}
