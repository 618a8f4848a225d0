//! Generators and rendering through the real ONNX model in ONNX Runtime: structure,
//! determinism, groove lock and the tempo measured back from the rendered drums.

mod common;
use common::registry;

use resonantgen_core::language::{MusicalIntent, PromptParser, mapper};
use resonantgen_core::{GenerationContext, GenerationRequest, TrackType};
use resonantgen_worker::generators::drums;
use resonantgen_worker::onnx::{self, Device};
use resonantgen_worker::{qa, render};

fn mapped(prompt: &str, seconds: f64, seed: u64) -> (GenerationContext, MusicalIntent) {
    let mut r = GenerationRequest::new(prompt);
    r.duration_seconds = Some(seconds);
    let m = mapper::map(&r, &PromptParser::parse(prompt), seed).unwrap();
    let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
    registry().plan(&mut ctx, &m.intent).unwrap();
    let ctx = ctx.into_context();
    (ctx, m.intent)
}

fn all() -> Vec<TrackType> {
    TrackType::all()
}

#[test]
fn four_on_the_floor_genres_kick_on_every_beat() {
    for prompt in ["techno at 128 bpm", "house at 124 bpm", "trance", "disco"] {
        let (ctx, intent) = mapped(prompt, 30.0, 11);
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        let kick = parts[&TrackType::Drums].steps_of_voice(drums::KICK, ctx.total_steps());
        let beats: Vec<usize> = (0..ctx.total_steps())
            .step_by(4)
            .filter(|s| ctx.step_time(*s) < ctx.duration_seconds)
            .collect();
        let hit = beats.iter().filter(|s| kick[**s]).count();
        assert_eq!(
            hit,
            beats.len(),
            "{prompt}: kick on {hit}/{} beats",
            beats.len()
        );
    }
}

#[test]
fn same_seed_same_notes_other_seed_other_notes() {
    let run = |seed| {
        let (c, i) = mapped("hip hop", 10.0, seed);
        registry().generate_all(&c, &i, &all(), |_, _| {}).unwrap()
    };
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn rendered_stems_have_exact_length_and_the_requested_tempo() {
    for (prompt, bpm) in [
        ("techno", 128.0),
        ("hip hop", 90.0),
        ("drum and bass", 174.0),
        ("house", 124.0),
    ] {
        let (mut ctx, intent) = mapped(prompt, 20.0, 5);
        ctx.tempo_bpm = bpm;
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        for part in parts.values() {
            let r = render::render_part(part, &ctx);
            assert_eq!(
                r.stereo.len(),
                ctx.total_frames() * 2,
                "{prompt} {}",
                part.track
            );
            assert!(r.stereo.iter().all(|s| s.is_finite()));
        }
        let d = render::render_part(&parts[&TrackType::Drums], &ctx);
        let measured = qa::estimate_tempo(&d.stereo, ctx.sample_rate).unwrap();
        assert!(
            qa::tempo_error(measured, bpm) < 0.01,
            "{prompt}: {measured} vs {bpm}"
        );
    }
}

#[test]
fn bass_locks_to_the_drum_grid_and_harmony() {
    let (ctx, intent) = mapped("techno", 16.0, 3);
    let parts = registry()
        .generate_all(&ctx, &intent, &all(), |_, _| {})
        .unwrap();
    let bass = &parts[&TrackType::Bass];
    assert!(!bass.notes.is_empty());
    let step = ctx.seconds_per_step();
    for n in &bass.notes {
        let off = (n.time / step - (n.time / step).round()).abs() * step;
        assert!(
            off < 0.03,
            "bass note {:.3}s is {off:.3}s off the 16th grid",
            n.time
        );
        let chord = ctx.chord_at_step(n.step);
        assert!(
            chord.pitch_classes().contains(&(n.pitch % 12)),
            "bass plays a chord tone"
        );
    }
    let melody = &parts[&TrackType::Melody];
    for n in &melody.notes {
        assert!(
            ctx.key.contains(n.pitch % 12),
            "melody note {} out of {}",
            n.pitch,
            ctx.key
        );
    }
}

#[test]
fn long_requests_are_arranged_not_looped() {
    // 2 minutes of techno at 128 bpm = 64 bars: intro, build, drop, breakdown, drop, outro.
    let (ctx, intent) = mapped("techno at 128 bpm", 120.0, 9);
    let names: Vec<&str> = ctx.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["intro", "build", "drop", "breakdown", "drop", "outro"]
    );
    let parts = registry()
        .generate_all(&ctx, &intent, &all(), |_, _| {})
        .unwrap();
    let drums = &parts[&TrackType::Drums];
    let bass = &parts[&TrackType::Bass];
    let section = |name: &str| {
        ctx.sections
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone()
    };
    let bars_of = |s: &resonantgen_core::arrangement::Section| {
        (s.start_bar as usize * 16)..((s.start_bar + s.bars) as usize * 16)
    };
    let (intro, drop, breakdown) = (section("intro"), section("drop"), section("breakdown"));
    let kicks_in = |r: std::ops::Range<usize>| {
        drums
            .notes
            .iter()
            .filter(|n| n.voice == drums::KICK && r.contains(&n.step))
            .count()
    };
    assert_eq!(
        kicks_in(bars_of(&breakdown)),
        0,
        "the breakdown drops the kick"
    );
    let kick_steps: std::collections::BTreeSet<usize> = drums
        .notes
        .iter()
        .filter(|n| n.voice == drums::KICK)
        .map(|n| n.step)
        .collect();
    let missing: Vec<usize> = bars_of(&drop)
        .step_by(4)
        .filter(|s| !kick_steps.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "four on the floor in the drop; no kick on steps {missing:?}"
    );
    assert!(
        !bass.notes.iter().any(|n| bars_of(&intro).contains(&n.step)),
        "bass waits for the intro to end"
    );

    // The rendered drums are quieter in the breakdown than in the drop.
    let d = render::render_part(drums, &ctx);
    let rms = |s: &resonantgen_core::arrangement::Section| {
        let spb = 60.0 / ctx.tempo_bpm * 4.0 * f64::from(ctx.sample_rate);
        let a = (f64::from(s.start_bar) * spb) as usize * 2;
        let b = (f64::from(s.start_bar + s.bars) * spb) as usize * 2;
        let x = &d.stereo[a..b.min(d.stereo.len())];
        (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    };
    let ratio_db = 20.0 * (rms(&drop) / rms(&breakdown)).log10();
    assert!(
        ratio_db > 6.0,
        "drop only {ratio_db:.1} dB louder than the breakdown"
    );
}

#[test]
fn drums_and_bass_share_little_of_the_spectrum_and_lock_in_time() {
    use resonantgen_core::analysis::separation::{separation, to_mono};
    for prompt in [
        "techno at 128 bpm",
        "hip hop",
        "house",
        "trap",
        "drum and bass",
        "disco",
    ] {
        let (ctx, intent) = mapped(prompt, 20.0, 4);
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        let d = render::render_part(&parts[&TrackType::Drums], &ctx);
        let bass = &parts[&TrackType::Bass];
        let mut b = render::render_part(bass, &ctx);
        // The mix engine's EQ to the bass's band, then its sidechain keyed by the kick.
        resonantgen_worker::mix::eq_to_band(
            &mut b.stereo,
            ctx.frequency_allocation[&TrackType::Bass],
            ctx.sample_rate,
        );
        // The mix engine's sidechain, keyed by the kick channel.
        let depth = resonantgen_worker::mix::duck_depth(&intent);
        resonantgen_worker::mix::sidechain_duck(
            &mut b.stereo,
            &d.channels["kick"],
            depth,
            0.12,
            ctx.sample_rate,
        );
        let sep = separation(&to_mono(&d.stereo), &to_mono(&b.stereo)).unwrap();
        let coh = qa::rhythmic_coherence(bass, &ctx).unwrap();
        eprintln!("{prompt}: separation {sep:.3}, coherence {coh:.3}");
        assert!(coh >= 0.8, "{prompt}: coherence {coh}");
        assert!(sep > 0.9, "{prompt}: separation {sep}");
    }
}

/// Batching steps of concurrent jobs must not change any job's numbers: a row's output is
/// bit-identical alone and at every position of a full batch of other rows.
fn batch_position_invariant<M>(model: &resonantgen_worker::step_model::StepModel<M>) {
    use resonantgen_core::rng::Rng;
    use resonantgen_worker::step_model::MAX_BATCH;
    let mut rng = Rng::new(77, 3);
    let width = model.row_width();
    let rows: Vec<Vec<f32>> = (0..MAX_BATCH)
        .map(|_| {
            (0..width)
                .map(|_| f32::from(u8::from(rng.chance(0.2))))
                .collect()
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let alone = model.infer_rows(&[row.as_slice()]).unwrap().remove(0);
        let mut batch: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        // this row goes to position `pos`, the others fill the rest
        let pos = (i * 3 + 1) % MAX_BATCH;
        batch.swap(i, pos);
        let out = model.infer_rows(&batch).unwrap();
        let a: Vec<u32> = alone.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u32> = out[pos].iter().map(|x| x.to_bits()).collect();
        assert_eq!(
            a, b,
            "{}: row {i} differs at batch position {pos}",
            model.name
        );
        assert_eq!(alone.len(), model.out_width());
    }
}

#[test]
fn batched_steps_are_bit_identical_to_single_steps() {
    let env = onnx::init_runtime(None, Device::Cpu).expect("ONNX Runtime");
    let dir = onnx::models_dir();
    batch_position_invariant(
        drums::DrumGen::load(env, &dir, Device::Cpu)
            .unwrap()
            .step_model(),
    );
    batch_position_invariant(
        resonantgen_worker::generators::bass::BassGen::load(env, &dir, Device::Cpu)
            .unwrap()
            .step_model(),
    );
}

/// Concurrent jobs through the shared models produce exactly what each produces alone.
#[test]
fn concurrent_generation_matches_sequential() {
    let prompts = [
        "techno at 128 bpm",
        "hip hop",
        "house",
        "funk with slap bass",
        "jazz trio",
    ];
    let alone: Vec<_> = prompts
        .iter()
        .map(|p| {
            let (ctx, intent) = mapped(p, 12.0, 5);
            registry()
                .generate_all(&ctx, &intent, &all(), |_, _| {})
                .unwrap()
        })
        .collect();
    let together: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = prompts
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let (ctx, intent) = mapped(p, 12.0, 5);
                    registry()
                        .generate_all(&ctx, &intent, &all(), |_, _| {})
                        .unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together);
}

#[test]
fn pitched_notes_stay_in_key_and_bass_sits_on_the_drum_grid() {
    for prompt in [
        "techno at 128 bpm",
        "deep house",
        "pop at 112 bpm",
        "trance",
        "synthwave",
        "country",
        "hip hop",
        "funk with slap bass",
        "lo-fi",
        "bossa nova with flute",
        "jazz",
    ] {
        let (ctx, intent) = mapped(prompt, 30.0, 21);
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        // The lead plays wherever the arrangement gives it bars.
        let melody = &parts[&TrackType::Melody];
        let lead_bars = (0..ctx.bars as usize)
            .filter(|b| !matches!(ctx.section_name(*b).as_str(), "intro" | "build" | "outro"))
            .count();
        if lead_bars > 0 {
            assert!(
                melody.notes.len() >= lead_bars,
                "{prompt}: {} melody notes in {lead_bars} bars",
                melody.notes.len()
            );
        }
        let pitched: Vec<_> = ["bass", "harmony", "melody"]
            .iter()
            .flat_map(|t| parts[&TrackType::parse(t).unwrap()].notes.iter())
            .collect();
        let in_key = pitched
            .iter()
            .filter(|n| ctx.key.contains(n.pitch % 12))
            .count() as f64
            / pitched.len() as f64;
        // Diatonic genres: ≥ 95%. A walking bass (jazz, bossa nova) approaches each chord
        // chromatically on beat 4 by design, so there the floor is 85%.
        let walking = intent.bass_style == resonantgen_core::language::genre::BassStyle::Walking;
        let floor = if walking { 0.85 } else { 0.95 };
        assert!(
            in_key >= floor,
            "{prompt}: {:.1}% in {}",
            in_key * 100.0,
            ctx.key
        );

        // The drums' 16th grid: where each step's hits sit (swing included).
        let drums = &parts[&TrackType::Drums];
        let grid: Vec<f64> = (0..ctx.total_steps()).map(|s| ctx.step_time(s)).collect();
        let bass = &parts[&TrackType::Bass];
        assert!(!bass.notes.is_empty(), "{prompt}: no bass");
        let on_grid = bass
            .notes
            .iter()
            .filter(|n| grid.iter().any(|g| (g - n.time).abs() <= 0.030))
            .count() as f64
            / bass.notes.len() as f64;
        assert!(
            on_grid >= 0.8,
            "{prompt}: {:.0}% of bass onsets on the grid",
            on_grid * 100.0
        );
        // Kick-locked idioms put a bass note on most kicks.
        if matches!(
            intent.bass_style,
            resonantgen_core::language::genre::BassStyle::KickLocked
        ) {
            let kicks: Vec<f64> = drums
                .notes
                .iter()
                .filter(|n| n.voice == drums::KICK && ctx.section_name(n.step / 16) != "intro")
                .map(|n| n.time)
                .collect();
            let hit = kicks
                .iter()
                .filter(|k| bass.notes.iter().any(|b| (b.time - **k).abs() <= 0.030))
                .count() as f64
                / kicks.len().max(1) as f64;
            assert!(hit >= 0.6, "{prompt}: bass on {:.0}% of kicks", hit * 100.0);
        }
        eprintln!(
            "{prompt}: {:.1}% in key, {:.0}% bass on grid",
            in_key * 100.0,
            on_grid * 100.0
        );
    }
}

#[test]
fn drums_fill_the_requested_duration() {
    for seconds in [8.0, 30.0, 95.0] {
        let (ctx, intent) = mapped("house", seconds, 2);
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        let drums = &parts[&TrackType::Drums];
        let last = drums.notes.iter().map(|n| n.time).fold(0.0, f64::max);
        let bar = 60.0 / ctx.tempo_bpm * 4.0;
        assert!(
            last > seconds - bar,
            "{seconds} s: the last hit is at {last:.2} s"
        );
        assert!(
            last < seconds,
            "{seconds} s: a hit at {last:.2} s is past the end"
        );
    }
}

#[test]
fn model_manifests_match_their_files() {
    use sha2::Digest;
    let dir = onnx::models_dir();
    for (folder, file) in [
        ("drums", "drumgen.onnx"),
        ("bass", "bassgen.onnx"),
        ("harmony", "harmonygen.onnx"),
        ("melody", "melodygen.onnx"),
    ] {
        let bytes = std::fs::read(dir.join(folder).join(file)).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(folder).join("manifest.json")).unwrap(),
        )
        .unwrap();
        let sha = format!("{:x}", sha2::Sha256::digest(&bytes));
        assert_eq!(manifest["sha256"], sha, "{folder}/{file}");
        let training = &manifest["training"];
        let val = ["val_ce", "val_bce"]
            .iter()
            .find_map(|k| training[*k].as_f64());
        assert!(
            val.is_some_and(|v| v > 0.0 && v.is_finite()),
            "{folder}: no validation loss"
        );
        assert!(
            training["samples_val"].as_u64().unwrap_or(0) > 1000,
            "{folder}: held-out set"
        );
        for key in ["inputs", "outputs"] {
            assert!(manifest[key].is_object(), "{folder}: manifest lacks {key}");
        }
    }
}

#[test]
fn midi_puts_drums_on_the_gm_drum_channel() {
    use midly::{MidiMessage, Smf, TrackEventKind};
    let (ctx, intent) = mapped("funk", 8.0, 1);
    let parts = registry()
        .generate_all(&ctx, &intent, &all(), |_, _| {})
        .unwrap();
    for (track, part) in &parts {
        let bytes = resonantgen_worker::midi::part_to_midi(part, ctx.tempo_bpm).unwrap();
        let smf = Smf::parse(&bytes).unwrap();
        let mut on = 0;
        for ev in smf.tracks.iter().flatten() {
            if let TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOn { vel, .. },
            } = ev.kind
                && vel > 0
            {
                on += 1;
                let want = if matches!(track, TrackType::Drums) {
                    9
                } else {
                    0
                };
                assert_eq!(channel.as_int(), want, "{track}");
            }
        }
        assert_eq!(on, part.notes.len(), "{track}: one note-on per note");
    }
}

/// Every MIDI file carries the GM program of the instrument that renders its part (the kit
/// program for drums, on channel 10), the track's name, the tempo, and the time and key
/// signatures — across genres whose palettes differ on every track.
#[test]
fn midi_carries_the_program_of_the_instrument_that_renders_it() {
    use midly::{MetaMessage, MidiMessage, Smf, TrackEventKind};
    use resonantgen_core::instrument::Sound;
    use resonantgen_worker::midi::{MidiMeta, part_to_midi_with};
    use resonantgen_worker::render::instruments;
    for prompt in [
        "jazz trio",
        "metal",
        "techno",
        "country with fiddle",
        "cinematic",
    ] {
        let (ctx, intent) = mapped(prompt, 8.0, 2);
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        for (track, part) in &parts {
            let played = instruments::choose(*track, &intent, true);
            let spec = played.instrument().spec();
            // what renders it is what the MIDI names
            match spec.sound {
                Sound::Kit(p) | Sound::Program(p) | Sound::Variation(p) => {
                    assert_eq!(p, spec.gm_program, "{prompt} {track}")
                }
                Sound::Synth(_) => {}
            }
            let meta = MidiMeta::for_track(&ctx, &intent, *track);
            let bytes = part_to_midi_with(part, &meta).unwrap();
            let smf = Smf::parse(&bytes).unwrap();
            let (mut program, mut name, mut tempo, mut ts, mut ks) =
                (None, None, false, false, false);
            let mut channels = std::collections::BTreeSet::new();
            for ev in smf.tracks.iter().flatten() {
                match ev.kind {
                    TrackEventKind::Midi {
                        channel,
                        message: MidiMessage::ProgramChange { program: p },
                    } => {
                        program = Some(p.as_int());
                        channels.insert(channel.as_int());
                    }
                    TrackEventKind::Midi { channel, .. } => {
                        channels.insert(channel.as_int());
                    }
                    TrackEventKind::Meta(MetaMessage::TrackName(n)) => {
                        name = Some(String::from_utf8_lossy(n).to_string())
                    }
                    TrackEventKind::Meta(MetaMessage::Tempo(_)) => tempo = true,
                    TrackEventKind::Meta(MetaMessage::TimeSignature(n, d, ..)) => {
                        ts = u32::from(n) == ctx.meter.numerator()
                            && 1 << d == ctx.meter.denominator()
                    }
                    TrackEventKind::Meta(MetaMessage::KeySignature(_, minor)) => {
                        ks = minor == (ctx.key.mode == resonantgen_core::theory::Mode::Minor)
                    }
                    _ => {}
                }
            }
            assert_eq!(program, Some(spec.gm_program), "{prompt} {track}");
            let want_channel = if *track == TrackType::Drums { 9 } else { 0 };
            assert_eq!(
                channels.into_iter().collect::<Vec<_>>(),
                [want_channel],
                "{prompt} {track}"
            );
            let name = name.unwrap_or_default();
            assert!(name.contains(spec.name), "{prompt} {track}: '{name}'");
            assert!(
                tempo && ts && ks,
                "{prompt} {track}: tempo {tempo} ts {ts} ks {ks}"
            );
        }
    }
    // and the palettes really differ: a jazz lead is a tenor sax, a techno lead a synth
    let (_, jazz) = mapped("jazz trio", 8.0, 2);
    assert_eq!(jazz.instrument(TrackType::Melody).spec().gm_program, 66);
    let (_, metal) = mapped("metal", 8.0, 2);
    assert_eq!(metal.instrument(TrackType::Harmony).spec().gm_program, 30);
}

/// Requested chords are played: over a table of progressions and genres, on every beat
/// where the harmony sounds, its notes are the requested chord's; the bass's notes starting
/// on a strong beat (1 and 3) are chord tones (a walking bass passes between them on 2 and 4,
/// which is the idiom).
#[test]
fn requested_chords_are_what_harmony_and_bass_play() {
    let table = [
        ("pop", "C G Am F"),
        ("jazz", "ii7-V7-Imaj7"),
        ("rock", "E D A E"),
        ("house", "Am:2 F:2"),
        ("soul", "Cmaj7/E Dm7 G7sus4 G7"),
        ("blues", "12-bar blues"),
        ("ballad", "I-V-vi-IV"),
        ("trance", "i-VI-III-VII"),
        ("bossa nova", "Dm9 G9 Cmaj9 A7b9"),
        ("folk", "G Gsus2 C/G D/F#"),
    ];
    for (genre, chords) in table {
        let mut r = GenerationRequest::new(genre);
        r.duration_seconds = Some(20.0);
        r.chords = Some(chords.to_string());
        let m = mapper::map(&r, &PromptParser::parse(genre), 3).unwrap();
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry().plan(&mut ctx, &m.intent).unwrap();
        let ctx = ctx.into_context();
        let p = resonantgen_core::progression::Progression::parse(chords).unwrap();
        assert_eq!(
            ctx.chords,
            p.per_bar(&ctx.key, ctx.bars),
            "{genre}: the plan is the request's"
        );
        let parts = registry()
            .generate_all(&ctx, &m.intent, &all(), |_, _| {})
            .unwrap();
        let beat = 60.0 / ctx.tempo_bpm;
        let beats = (ctx.duration_seconds / beat) as usize;
        let chord_at = |t: f64| ctx.chord_at_step(((t + 1e-6) / beat * 4.0) as usize);
        let (mut played, mut right) = (0, 0);
        for b in 0..beats {
            let t = b as f64 * beat + 0.05 * beat;
            let sounding: Vec<u8> = parts[&TrackType::Harmony]
                .notes
                .iter()
                .filter(|n| n.time <= t && t < n.time + n.duration)
                .map(|n| n.pitch % 12)
                .collect();
            if sounding.is_empty() {
                continue;
            }
            played += 1;
            let tones = chord_at(t).tones();
            if sounding.iter().all(|pc| tones.contains(pc)) {
                right += 1;
            } else if b < 6 {
                eprintln!("{genre} beat {b}: {sounding:?} over {tones:?}");
            }
        }
        assert!(played > 0, "{genre}: the harmony plays");
        let share = right as f64 / played as f64;
        assert!(
            share >= 0.95,
            "{genre} {chords}: harmony on chord tones {right}/{played}"
        );
        let on_beat: Vec<_> = parts[&TrackType::Bass]
            .notes
            .iter()
            .filter(|n| n.step % 8 == 0)
            .collect();
        let bass_right = on_beat
            .iter()
            .filter(|n| ctx.chord_at_step(n.step).tones().contains(&(n.pitch % 12)))
            .count();
        assert!(
            bass_right as f64 >= 0.95 * on_beat.len() as f64,
            "{genre} {chords}: bass on chord tones {bass_right}/{}",
            on_beat.len()
        );
    }
}

/// Structure as a control: the requested sections are the arrangement bar for bar, the
/// piece lasts their bars, the parts follow them (the bass and the lead wait out the intro,
/// a crash opens each later section, the verse rolls into the chorus), and every MIDI file
/// marks where each section starts.
#[test]
fn requested_sections_shape_the_arrangement_and_the_parts() {
    use resonantgen_core::arrangement::SectionKind::{self, *};
    use resonantgen_core::form::Form;
    use resonantgen_worker::midi;
    let form = "intro:4, verse:8, chorus:8, bridge:4, chorus:8, outro:4";
    for (prompt, seed) in [
        ("pop at 110 bpm", 5),
        ("rock at 120 bpm", 6),
        ("soul at 96 bpm", 7),
    ] {
        let mut r = GenerationRequest::new(prompt);
        r.duration_seconds = Some(30.0);
        r.sections = Some(Form::parse(form).unwrap().to_request());
        let m = mapper::map(&r, &PromptParser::parse(prompt), seed).unwrap();
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry().plan(&mut ctx, &m.intent).unwrap();
        let ctx = ctx.into_context();
        let kinds: Vec<(SectionKind, u32)> =
            ctx.sections.iter().map(|s| (s.name, s.bars)).collect();
        assert_eq!(
            kinds,
            [
                (Intro, 4),
                (Verse, 8),
                (Chorus, 8),
                (Bridge, 4),
                (Chorus, 8),
                (Outro, 4)
            ],
            "{prompt}"
        );
        assert_eq!(ctx.bars, 36);
        let bar_seconds = 240.0 / ctx.tempo_bpm;
        assert!(
            (ctx.duration_seconds - 36.0 * bar_seconds).abs() < 1e-6,
            "{prompt}"
        );
        assert!(
            ctx.conflicts
                .iter()
                .any(|c| c.starts_with("duration: the sections (36 bars)")),
            "{prompt}: {:?}",
            ctx.conflicts
        );
        let parts = registry()
            .generate_all(&ctx, &m.intent, &all(), |_, _| {})
            .unwrap();
        let bar_of = |t: f64| (t / bar_seconds) as usize;
        let in_intro = |t: &TrackType| parts[t].notes.iter().filter(|n| bar_of(n.time) < 4).count();
        assert_eq!(
            in_intro(&TrackType::Bass),
            0,
            "{prompt}: the bass waits out the intro"
        );
        assert_eq!(
            in_intro(&TrackType::Melody),
            0,
            "{prompt}: so does the lead"
        );
        // The drums mark the form: a crash opens every section after the intro, and the
        // verse's last bar rolls into the chorus.
        let total = ctx.total_steps();
        let crash = parts[&TrackType::Drums].steps_of_voice(drums::CRASH, total);
        for s in ctx.sections.iter().skip(1) {
            assert!(
                crash[s.start_bar as usize * 16],
                "{prompt}: no crash opens the {}",
                s.name
            );
        }
        let snare = parts[&TrackType::Drums].steps_of_voice(drums::SNARE, total);
        let roll = (11 * 16 + 8..12 * 16).filter(|s| snare[*s]).count();
        assert!(
            roll >= 4,
            "{prompt}: {roll} snare hits in the verse's last half bar"
        );
        // The MIDI marks every section where it starts.
        let meta = midi::MidiMeta::for_track(&ctx, &m.intent, TrackType::Harmony);
        let bytes = midi::part_to_midi_with(&parts[&TrackType::Harmony], &meta).unwrap();
        let markers = midi::midi_markers(&bytes, ctx.tempo_bpm).unwrap();
        let names: Vec<&str> = markers.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            ["intro", "verse", "chorus", "bridge", "chorus", "outro"]
        );
        for ((at, _), s) in markers.iter().zip(&ctx.sections) {
            assert!(
                (at - f64::from(s.start_bar) * bar_seconds).abs() < 0.01,
                "{prompt}"
            );
        }
    }
}

/// Requested chords are heard: the rendered harmony stem, analysed like any audio (chroma
/// per bar, the best of every root × every chord quality the symbols name), gives back the
/// requested chord's triad on at least 90% of bars over a table of 32 progressions in ten
/// genres — triads, sevenths, ninths, sus, slash, diminished and augmented chords, roman
/// numerals, the 12-bar blues. Power-chord genres (rock, metal, punk) are not in the table:
/// root and fifth carry no third to hear.
#[test]
fn the_rendered_harmony_sounds_the_requested_chords() {
    use resonantgen_core::analysis::{WORKING_RATE, chords::best_chord, chroma::Chromagram};
    use resonantgen_worker::production;
    let progressions = [
        "C G Am F",
        "Am F C G",
        "D A Bm G",
        "E B C#m A",
        "G D Em C",
        "Am Dm E Am",
        "i-VI-III-VII",
        "Em C G D",
        "Dm7 G7 Cmaj7 Cmaj7",
        "ii7-V7-Imaj7",
        "Cm7 F7 Bbmaj7 Ebmaj7",
        "Am7 D7 Gmaj7 Cmaj7",
        "Cmaj7/E Dm7 G7sus4 G7",
        "Fmaj7 Em7 Dm7 Cmaj7",
        "12-bar blues",
        "G Gsus2 C/G D/F#",
        "D G A D",
        "Dm9 G9 Cmaj9 A7b9",
        "Fm Db Ab Eb",
        "Am7 Dm7 Em7 Am7",
        "C Am Dm G",
        "Bb F Gm Eb",
        "C E7 Am F",
        "C C#dim Dm G7",
        "C Caug F G",
        "Dm G Dm G",
        "A E F#m D",
        "Eb Bb Cm Ab",
        "F# C# D#m B",
        "Bm G D A",
        "Gm Cm D7 Gm",
        "I-V-vi-IV",
    ];
    let genres = [
        "pop",
        "jazz",
        "soul",
        "folk",
        "ballad",
        "house",
        "bossa nova",
        "lo-fi",
        "r&b",
        "gospel",
    ];
    let (mut heard, mut bars_total) = (0usize, 0usize);
    let mut report = Vec::new();
    for (i, chords) in progressions.iter().enumerate() {
        let genre = genres[i % genres.len()];
        let mut r = GenerationRequest::new(genre);
        r.duration_seconds = Some(24.0);
        r.chords = Some(chords.to_string());
        r.tracks = Some(vec![TrackType::Harmony]);
        let m = mapper::map(&r, &PromptParser::parse(genre), 11).unwrap();
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry().plan(&mut ctx, &m.intent).unwrap();
        let ctx = ctx.into_context();
        let parts = registry()
            .generate_all(&ctx, &m.intent, &[TrackType::Harmony], |_, _| {})
            .unwrap();
        let rendered = production::render_tracks(&ctx, &m.intent, &parts).expect("render");
        let stereo = &rendered[&TrackType::Harmony].stereo;
        let mono: Vec<f32> = stereo
            .chunks_exact(2)
            .map(|f| 0.5 * (f[0] + f[1]))
            .collect();
        let x =
            resonantgen_core::analysis::resample::resample(&mono, ctx.sample_rate, WORKING_RATE);
        let chroma = Chromagram::compute(&x, WORKING_RATE);
        let bar = 240.0 / ctx.tempo_bpm;
        let whole_bars = (ctx.duration_seconds / bar).floor() as usize;
        let mut ok = 0;
        let mut misses = Vec::new();
        for b in 0..whole_bars.min(ctx.chords.len()) {
            let start = ctx.grid_offset_seconds + b as f64 * bar;
            let asked = ctx.chords[b];
            let got = best_chord(&chroma.mean_between(start + 0.1 * bar, start + 0.95 * bar));
            let set = |c: &resonantgen_core::theory::Chord| {
                let mut p = c.pitch_classes();
                p.sort_unstable();
                p
            };
            if got.is_some_and(|g| set(&g) == set(&asked)) {
                ok += 1;
            } else if misses.len() < 3 {
                misses.push(format!(
                    "bar {}: {} heard as {}",
                    b + 1,
                    asked.symbol(&ctx.key),
                    got.map_or("nothing".into(), |g| g.symbol(&ctx.key))
                ));
            }
        }
        heard += ok;
        bars_total += whole_bars.min(ctx.chords.len());
        report.push(format!("{genre} '{chords}': {ok}/{whole_bars} {misses:?}"));
    }
    let share = heard as f64 / bars_total as f64;
    eprintln!(
        "{}\nheard {heard}/{bars_total} bars = {:.1}%",
        report.join("\n"),
        share * 100.0
    );
    assert!(
        share >= 0.9,
        "{}\nheard {:.1}% of bars",
        report.join("\n"),
        share * 100.0
    );
}

/// Autocorrelation of an onset envelope at `lag` frames (mean removed, normalised by the
/// overlap), the best of the lags within one frame of it (swing and humanizing move onsets).
fn autocorrelation_near(env: &[f64], lag: f64) -> f64 {
    let mean = env.iter().sum::<f64>() / env.len().max(1) as f64;
    let x: Vec<f64> = env.iter().map(|v| v - mean).collect();
    let energy = x.iter().map(|v| v * v).sum::<f64>().max(1e-12) / x.len() as f64;
    let at = |l: usize| {
        let n = x.len().saturating_sub(l).max(1);
        x.iter()
            .zip(&x[l.min(x.len())..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / n as f64
            / energy
    };
    let l = lag.round() as usize;
    [l.saturating_sub(1), l, l + 1]
        .into_iter()
        .map(at)
        .fold(f64::MIN, f64::max)
}

#[test]
fn every_meter_is_generated_and_played_in_that_meter() {
    use midly::{MetaMessage, Smf, TrackEventKind};
    use resonantgen_core::analysis::{WORKING_RATE, onset::OnsetEnvelope, resample::resample};
    use resonantgen_core::language::genre::BassStyle;
    use resonantgen_core::meter::Meter;
    use resonantgen_worker::midi::{MidiMeta, part_to_midi_with};
    let cases = [
        (Meter::ThreeFour, "jazz waltz"),
        (Meter::ThreeFour, "folk"),
        (Meter::ThreeFour, "pop ballad"),
        (Meter::SixEight, "rock ballad"),
        (Meter::SixEight, "afrobeat"),
        (Meter::SixEight, "country"),
        (Meter::TwelveEight, "blues shuffle"),
        (Meter::TwelveEight, "soul"),
        (Meter::FiveFour, "jazz"),
        (Meter::FiveFour, "rock"),
        (Meter::SevenEight, "progressive rock"),
        (Meter::SevenEight, "techno"),
        (Meter::SevenEight, "hip hop"),
    ];
    let all_bars: Vec<usize> = Meter::ALL.iter().map(|m| m.steps_per_bar()).collect();
    let mut report = Vec::new();
    for (meter, prompt) in cases {
        let mut r = GenerationRequest::new(prompt);
        r.time_signature = Some(meter.to_string());
        r.duration_seconds = Some(20.0);
        let m = mapper::map(&r, &PromptParser::parse(prompt), 7).unwrap();
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry().plan(&mut ctx, &m.intent).unwrap();
        let ctx = ctx.into_context();
        let intent = m.intent;
        assert_eq!(ctx.meter, meter, "{prompt}");
        // bar length and count
        let spb = meter.steps_per_bar();
        let bar_s = meter.bar_seconds(ctx.tempo_bpm);
        assert_eq!(ctx.steps_per_bar(), spb);
        assert_eq!(
            ctx.bars,
            (20.0 / bar_s - 1e-9).ceil() as u32,
            "{prompt} {meter}: bars"
        );
        let parts = registry()
            .generate_all(&ctx, &intent, &all(), |_, _| {})
            .unwrap();
        // the MIDI time signature of every part
        for (track, part) in &parts {
            let bytes =
                part_to_midi_with(part, &MidiMeta::for_track(&ctx, &intent, *track)).unwrap();
            let smf = Smf::parse(&bytes).unwrap();
            let ts = smf.tracks.iter().flatten().find_map(|e| match e.kind {
                TrackEventKind::Meta(MetaMessage::TimeSignature(n, d, ..)) => Some((n, d)),
                _ => None,
            });
            let want = (
                meter.numerator() as u8,
                meter.denominator().trailing_zeros() as u8,
            );
            assert_eq!(ts, Some(want), "{prompt} {meter} {track}");
        }
        // the kick and the bass mark the downbeats where they play
        let total = ctx.total_steps();
        let kick = parts[&TrackType::Drums].steps_of_voice(drums::KICK, total);
        let bass_on: Vec<bool> = {
            let mut g = vec![false; total];
            for n in &parts[&TrackType::Bass].notes {
                if n.step < total {
                    g[n.step] = true;
                }
            }
            g
        };
        let bars = ctx.bars as usize;
        let playing = |b: usize| {
            !matches!(
                ctx.section_name(b),
                resonantgen_core::arrangement::SectionKind::Breakdown
            )
        };
        let kick_bars: Vec<usize> = (0..bars).filter(|b| playing(*b)).collect();
        let kick_down = kick_bars.iter().filter(|b| kick[*b * spb]).count();
        let bass_bars: Vec<usize> = (0..bars)
            .filter(|b| !ctx.section_name(*b).bass_rests())
            .collect();
        let bass_down = bass_bars.iter().filter(|b| bass_on[*b * spb]).count();
        // no part plays past the last bar, and every onset sits on a 16th of this meter's bars
        for part in parts.values() {
            assert!(
                part.notes.iter().all(|n| n.step < bars * spb),
                "{prompt} {meter}"
            );
        }
        // the drums' onset autocorrelation is highest at this meter's bar among the bar
        // lengths of every meter (those that are not a multiple or divisor of it)
        let drums = render::render_part(&parts[&TrackType::Drums], &ctx);
        let mono: Vec<f32> = drums
            .stereo
            .chunks_exact(2)
            .map(|f| 0.5 * (f[0] + f[1]))
            .collect();
        let env = OnsetEnvelope::compute(
            &resample(&mono, ctx.sample_rate, WORKING_RATE),
            WORKING_RATE,
        );
        let frames_per_step = ctx.seconds_per_step() * env.frame_rate;
        let ac = |steps: usize| autocorrelation_near(&env.strength, steps as f64 * frames_per_step);
        let ours = ac(spb);
        let rival = all_bars
            .iter()
            .filter(|l| **l != spb && !l.is_multiple_of(spb) && !spb.is_multiple_of(**l))
            .map(|l| (*l, ac(*l)))
            .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
        report.push(format!(
            "{meter:>5} {prompt:<17} bars {bars:>2}  kick on downbeats {kick_down}/{}  bass \
             {bass_down}/{}  ac(bar {spb}) {ours:.3}  best other ({} steps) {:.3}",
            kick_bars.len(),
            bass_bars.len(),
            rival.0,
            rival.1
        ));
        assert!(
            ours > rival.1,
            "{prompt} {meter}: the drums repeat every {} steps ({:.3}) more than every bar \
             ({spb}, {ours:.3})",
            rival.0,
            rival.1
        );
        assert!(
            kick_down * 10 >= kick_bars.len() * 9,
            "{prompt} {meter}: kick on {kick_down}/{} downbeats",
            kick_bars.len()
        );
        if intent.bass_style != BassStyle::Offbeat {
            assert!(
                bass_down * 10 >= bass_bars.len() * 9,
                "{prompt} {meter}: bass on {bass_down}/{} downbeats",
                bass_bars.len()
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}

/// Edit distance between two note sequences (onset step, pitch), over the longer one's
/// length: 0 the same notes, 1 nothing in common.
fn note_edit_distance(a: &[(usize, u8)], b: &[(usize, u8)]) -> f64 {
    let n = a.len().max(b.len());
    if n == 0 {
        return 0.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(x != y)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()] as f64 / n as f64
}

/// The smallest note edit distance between any two of `n` takes, whose notes `notes` gives.
fn least_pairwise_distance(n: usize, notes: impl Fn(usize) -> Vec<(usize, u8)>) -> f64 {
    let all: Vec<_> = (0..n).map(notes).collect();
    let mut least = f64::MAX;
    for i in 0..n {
        for j in i + 1..n {
            least = least.min(note_edit_distance(&all[i], &all[j]));
        }
    }
    least
}

/// The floors: two takes of one plan differ in at least this share of all their notes
/// (every part's, as (track, step, pitch)), and their leads in at least `LEAD_FLOOR`.
/// Parts vary unequally (measured minima over 5 genres × 6 pairs of 4 takes: all parts 0.35,
/// lead 0.67, bass 0.06 for techno's off-beat line, drums 0.09, comping 0.05 for soul's
/// sustained chords, whose rhythm is the genre's).
const TAKE_DISTANCE_FLOOR: f64 = 0.25;
const LEAD_FLOOR: f64 = 0.5;

#[test]
fn takes_share_the_plan_and_differ_in_the_parts() {
    let mut report = Vec::new();
    for prompt in [
        "soul with piano",
        "techno",
        "jazz",
        "indie rock",
        "lo-fi hip hop",
    ] {
        let takes: Vec<_> = (0..4u32)
            .map(|take| {
                let mut r = GenerationRequest::new(prompt);
                r.duration_seconds = Some(16.0);
                r.seed = Some(1234);
                r.take = Some(take);
                let m = mapper::map(&r, &PromptParser::parse(prompt), 1234).unwrap();
                let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
                registry().plan(&mut ctx, &m.intent).unwrap();
                let ctx = ctx.into_context();
                let parts = registry()
                    .generate_all(&ctx, &m.intent, &all(), |_, _| {})
                    .unwrap();
                (ctx, parts)
            })
            .collect();
        let (first, _) = &takes[0];
        for (ctx, _) in &takes[1..] {
            assert_eq!(ctx.tempo_bpm, first.tempo_bpm, "{prompt}");
            assert_eq!(ctx.key, first.key, "{prompt}");
            assert_eq!(ctx.meter, first.meter, "{prompt}");
            assert_eq!(ctx.chords, first.chords, "{prompt}");
            assert_eq!(ctx.chord_symbols, first.chord_symbols, "{prompt}");
            assert_eq!(ctx.sections, first.sections, "{prompt}");
        }
        let whole = |i: usize| -> Vec<(usize, u8)> {
            let mut v: Vec<(usize, u8)> = all()
                .iter()
                .enumerate()
                .flat_map(|(t, track)| {
                    takes[i].1[track]
                        .notes
                        .iter()
                        .map(move |n| (n.step * 8 + t, n.pitch))
                })
                .collect();
            v.sort_unstable();
            v
        };
        let least_whole = least_pairwise_distance(takes.len(), whole);
        report.push(format!(
            "{prompt:<16} all parts least take distance {least_whole:.2}"
        ));
        assert!(
            least_whole >= TAKE_DISTANCE_FLOOR,
            "{prompt}: two takes differ in only {least_whole:.2} of their notes"
        );
        for track in all() {
            let notes = |i: usize| -> Vec<(usize, u8)> {
                takes[i].1[&track]
                    .notes
                    .iter()
                    .map(|n| (n.step, n.pitch))
                    .collect()
            };
            let least = least_pairwise_distance(takes.len(), notes);
            report.push(format!(
                "{prompt:<16} {track:<8} least take distance {least:.2}"
            ));
            assert!(
                track != TrackType::Melody || least >= LEAD_FLOOR,
                "{prompt} {track}: two takes differ in only {least:.2} of their notes"
            );
        }
    }
    // a request that names no take plays take 0: generations made before takes existed
    // reproduce bit for bit
    let parts_of = |take: Option<u32>| {
        let mut r = GenerationRequest::new("soul with piano");
        r.duration_seconds = Some(8.0);
        r.take = take;
        let m = mapper::map(&r, &PromptParser::parse(&r.prompt), 77).unwrap();
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry().plan(&mut ctx, &m.intent).unwrap();
        let ctx = ctx.into_context();
        registry()
            .generate_all(&ctx, &m.intent, &all(), |_, _| {})
            .unwrap()
    };
    assert_eq!(parts_of(None), parts_of(Some(0)));
    assert_ne!(parts_of(None), parts_of(Some(1)));
    eprintln!("{}", report.join("\n"));
}
