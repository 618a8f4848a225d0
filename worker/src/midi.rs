//! MIDI, both directions (midly): one Standard MIDI File per generated track, 480 ticks per
//! quarter, with the track's name, tempo, time and key signatures and the GM program of the
//! instrument that rendered it, drums on the General MIDI drum channel (10) with the kit's
//! program; and the note steps
//! read back from such a file, which a lock of one of our stems brings (locks.rs).

use crate::generators::Part;
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use resonantgen_core::language::MusicalIntent;
use resonantgen_core::meter::Meter;
use resonantgen_core::theory::{Key, Mode};
use resonantgen_core::{GenerationContext, TrackType};

const PPQ: u16 = 480;

/// What a MIDI file says about its part besides the notes: the tempo, time and key
/// signatures, the track's name, the GM program of the instrument that rendered it and a
/// marker at the start of every section.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiMeta {
    pub tempo_bpm: f64,
    pub meter: Meter,
    pub key: Option<Key>,
    /// GM program (the kit program on the drum channel).
    pub program: u8,
    /// "melody — tenor sax".
    pub name: String,
    /// Section markers: (start in seconds, section name), so a DAW shows the form.
    pub markers: Vec<(f64, String)>,
}

impl MidiMeta {
    /// The meta of a generated track: the context's tempo, metre and key, the intent's
    /// instrument.
    pub fn for_track(ctx: &GenerationContext, intent: &MusicalIntent, track: TrackType) -> Self {
        let instrument = intent.instrument(track);
        MidiMeta {
            tempo_bpm: ctx.tempo_bpm,
            meter: ctx.meter,
            key: Some(ctx.key),
            program: instrument.spec().gm_program,
            name: format!("{track} — {instrument}"),
            markers: ctx
                .sections
                .iter()
                .map(|s| {
                    let step = s.start_bar as usize * ctx.steps_per_bar();
                    (ctx.step_time(step), s.name.to_string())
                })
                .collect(),
        }
    }
}

/// A part at `tempo_bpm` with no instrument named (program 0, 4/4, no key).
pub fn part_to_midi(part: &Part, tempo_bpm: f64) -> Result<Vec<u8>, std::io::Error> {
    part_to_midi_with(
        part,
        &MidiMeta {
            tempo_bpm,
            meter: Meter::FourFour,
            key: None,
            program: 0,
            name: part.track.to_string(),
            markers: Vec::new(),
        },
    )
}

/// MIDI clocks between metronome clicks: one click per felt beat (24 clocks a quarter).
fn click_clocks(meter: Meter) -> u8 {
    match meter {
        Meter::SixEight | Meter::TwelveEight => 36,
        Meter::SevenEight => 12,
        _ => 24,
    }
}

/// The key signature of a key: sharps (+) or flats (−) of its relative major or minor, and
/// whether it is minor. Modes take their parent major's signature.
fn key_signature(key: &Key) -> (i8, bool) {
    let major_tonic = match key.mode {
        Mode::Minor => (key.tonic + 3) % 12,
        Mode::Major => key.tonic,
        Mode::Dorian => (key.tonic + 10) % 12,
        Mode::Phrygian => (key.tonic + 8) % 12,
        Mode::Lydian => (key.tonic + 7) % 12,
        Mode::Mixolydian => (key.tonic + 5) % 12,
        Mode::Locrian => (key.tonic + 1) % 12,
    };
    // sharps/flats of each major tonic pitch class, flats preferred past F#
    const SIG: [i8; 12] = [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5];
    (SIG[major_tonic as usize], key.mode == Mode::Minor)
}

pub fn part_to_midi_with(part: &Part, meta: &MidiMeta) -> Result<Vec<u8>, std::io::Error> {
    let tempo_bpm = meta.tempo_bpm;
    let channel = if matches!(part.track, TrackType::Drums) {
        9
    } else {
        0
    };
    let ticks_per_second = f64::from(PPQ) * tempo_bpm / 60.0;
    let to_ticks = |t: f64| (t.max(0.0) * ticks_per_second).round() as u64;

    // (tick, is_note_on, pitch, velocity); note-offs sort before note-ons at the same tick.
    let mut events: Vec<(u64, bool, u8, u8)> = Vec::with_capacity(part.notes.len() * 2);
    for n in &part.notes {
        let on = to_ticks(n.time);
        let off = to_ticks(n.time + n.duration).max(on + 1);
        let vel = (n.velocity * 127.0).round().clamp(1.0, 127.0) as u8;
        events.push((on, true, n.pitch.min(127), vel));
        events.push((off, false, n.pitch.min(127), 0));
    }
    events.sort_by_key(|e| (e.0, e.1));

    let mut track = Vec::with_capacity(events.len() + 8);
    let at_zero = |kind| TrackEvent {
        delta: u28::new(0),
        kind,
    };
    track.push(at_zero(TrackEventKind::Meta(MetaMessage::TrackName(
        meta.name.as_bytes(),
    ))));
    let micros = (60_000_000.0 / tempo_bpm).round() as u32;
    track.push(at_zero(TrackEventKind::Meta(MetaMessage::Tempo(u24::new(
        micros,
    )))));
    track.push(at_zero(TrackEventKind::Meta(MetaMessage::TimeSignature(
        meta.meter.numerator() as u8,
        // the denominator as a power of two; a metronome click on every felt beat (24 MIDI
        // clocks a quarter note: a dotted quarter in 6/8 and 12/8, an eighth in 7/8)
        meta.meter.denominator().trailing_zeros() as u8,
        click_clocks(meta.meter),
        8,
    ))));
    if let Some(key) = &meta.key {
        let (sharps, minor) = key_signature(key);
        track.push(at_zero(TrackEventKind::Meta(MetaMessage::KeySignature(
            sharps, minor,
        ))));
    }
    track.push(at_zero(TrackEventKind::Midi {
        channel: u4::new(channel),
        message: MidiMessage::ProgramChange {
            program: u7::new(meta.program.min(127)),
        },
    }));
    let mut last = 0u64;
    let mut markers: std::collections::VecDeque<(u64, &[u8])> = meta
        .markers
        .iter()
        .map(|(t, name)| (to_ticks(*t), name.as_bytes()))
        .collect();
    for (tick, on, pitch, vel) in events {
        push_markers(&mut track, &mut last, &mut markers, tick);
        let delta = (tick - last).min(u64::from(u32::MAX >> 4)) as u32;
        last = tick;
        let message = if on {
            MidiMessage::NoteOn {
                key: u7::new(pitch),
                vel: u7::new(vel),
            }
        } else {
            MidiMessage::NoteOff {
                key: u7::new(pitch),
                vel: u7::new(0),
            }
        };
        track.push(TrackEvent {
            delta: u28::new(delta),
            kind: TrackEventKind::Midi {
                channel: u4::new(channel),
                message,
            },
        });
    }
    push_markers(&mut track, &mut last, &mut markers, u64::MAX);
    track.push(at_zero(TrackEventKind::Meta(MetaMessage::EndOfTrack)));
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(PPQ))),
        tracks: vec![track],
    };
    let mut out = Vec::new();
    smf.write_std(&mut out)?;
    Ok(out)
}

/// Writes the markers due at or before `until`, in order.
fn push_markers<'a>(
    track: &mut Vec<TrackEvent<'a>>,
    last: &mut u64,
    markers: &mut std::collections::VecDeque<(u64, &'a [u8])>,
    until: u64,
) {
    while let Some((tick, text)) = markers.pop_front() {
        if tick > until {
            markers.push_front((tick, text));
            return;
        }
        let delta = (tick.saturating_sub(*last)).min(u64::from(u32::MAX >> 4)) as u32;
        *last = tick.max(*last);
        track.push(TrackEvent {
            delta: u28::new(delta),
            kind: TrackEventKind::Meta(MetaMessage::Marker(text)),
        });
    }
}

/// (seconds, text) of every marker of a Standard MIDI File written at `tempo_bpm` (one
/// tempo, as ours are); `None` when it is not one.
pub fn midi_markers(bytes: &[u8], tempo_bpm: f64) -> Option<Vec<(f64, String)>> {
    let smf = Smf::parse(bytes).ok()?;
    let Timing::Metrical(ppq) = smf.header.timing else {
        return None;
    };
    let seconds_per_tick = 60.0 / tempo_bpm / f64::from(ppq.as_int());
    let mut out = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for ev in track {
            tick += u64::from(ev.delta.as_int());
            if let TrackEventKind::Meta(MetaMessage::Marker(text)) = ev.kind {
                out.push((
                    tick as f64 * seconds_per_tick,
                    String::from_utf8_lossy(text).into_owned(),
                ));
            }
        }
    }
    Some(out)
}

/// (tick, pitch) of every note-on, and the ticks per quarter, of a Standard MIDI File written
/// by [`part_to_midi`]; `None` when it is not one.
fn note_on_ticks(bytes: &[u8]) -> Option<(u16, Vec<(u64, u8)>)> {
    let smf = Smf::parse(bytes).ok()?;
    let Timing::Metrical(ppq) = smf.header.timing else {
        return None;
    };
    let mut out = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for ev in track {
            tick += u64::from(ev.delta.as_int());
            if let TrackEventKind::Midi {
                message: MidiMessage::NoteOn { key, vel },
                ..
            } = ev.kind
                && vel.as_int() > 0
            {
                out.push((tick, key.as_int()));
            }
        }
    }
    Some((ppq.as_int(), out))
}

/// (16th step, pitch) of every note-on in a Standard MIDI File written by [`part_to_midi`]
/// (the 16th is a quarter of the file's ticks per beat, whatever the tempo).
pub fn midi_steps(bytes: &[u8]) -> Option<Vec<(usize, u8)>> {
    let (ppq, ons) = note_on_ticks(bytes)?;
    let per_step = f64::from(ppq) / 4.0;
    Some(
        ons.into_iter()
            .map(|(tick, pitch)| ((tick as f64 / per_step).round() as usize, pitch))
            .collect(),
    )
}

/// (seconds, pitch) of every note-on in such a file, at `tempo_bpm`.
pub fn midi_onsets(bytes: &[u8], tempo_bpm: f64) -> Option<Vec<(f64, u8)>> {
    let (ppq, ons) = note_on_ticks(bytes)?;
    let seconds_per_tick = 60.0 / tempo_bpm / f64::from(ppq);
    Some(
        ons.into_iter()
            .map(|(tick, pitch)| (tick as f64 * seconds_per_tick, pitch))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generators::{Groove, Note};

    #[test]
    fn our_midi_gives_back_the_steps_and_the_groove() {
        let tempo = 128.0;
        let step_s = 60.0 / tempo / 4.0;
        let notes: Vec<Note> = [
            (0usize, 36u8),
            (4, 36),
            (4, 38),
            (8, 36),
            (12, 36),
            (12, 38),
            (14, 42),
        ]
        .iter()
        .map(|&(step, pitch)| Note {
            time: step as f64 * step_s + 0.002,
            duration: 0.1,
            pitch,
            velocity: 0.9,
            voice: 0,
            step,
        })
        .collect();
        let part = Part {
            track: TrackType::Drums,
            style: "techno".into(),
            notes,
        };
        let bytes = crate::midi::part_to_midi(&part, tempo).unwrap();
        let steps = midi_steps(&bytes).unwrap();
        assert_eq!(steps.len(), 7);
        let g = Groove::from_notes(&steps, 32, 16);
        let kicks: Vec<usize> = (0..32).filter(|s| g.kick[*s]).collect();
        assert_eq!(kicks, [0, 4, 8, 12, 16, 20, 24, 28]);
        let snares: Vec<usize> = (0..32).filter(|s| g.snare[*s]).collect();
        assert_eq!(snares, [4, 12, 20, 28]);
    }
}
