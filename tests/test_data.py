"""Tests of emovae.data: reading MIDI into 64 tokens, decoding, vocabulary, data set, split.

Synthetic MIDI files are written with mido into tmp_path. Tests on the real data set read it
in place from $EMOVAE_DATA (the grekowj/musgenvae dataset folder holding e1..e4) and are
skipped when that variable is unset; nothing of the data set is copied into the repository.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import mido
import muspy
import numpy as np
import pytest

from emovae import data
from emovae.corpus import resolve_data_root
from emovae.data import (
    HOLD,
    N_STEPS,
    REST,
    STEPS_PER_QUARTER,
    Dataset,
    Vocabulary,
    load_dataset,
    melody_to_music,
    read_melody,
    split,
    write_midi,
)
from emovae.errors import EmovaeError, EmovaeWarning

# ------------------------------------------------------------------ helpers

DATA_ENV = os.environ.get("EMOVAE_DATA", "")
needs_data = pytest.mark.skipif(
    not DATA_ENV, reason="EMOVAE_DATA is unset: set it to the musgenvae dataset folder (e1..e4)"
)


def make_midi(path, tracks, tpb=480, time_sigs=((0, 4, 4),), tempo_bpm=None):
    """Write a type-1 MIDI file.

    tracks: one list per track of notes (onset_tick, duration_tick, pitch[, channel]).
    time_sigs: (tick, numerator, denominator) meta events in the first track.
    """

    def delta(events):
        events.sort(key=lambda e: (e[0], e[1]))  # note-offs (0) before note-ons (1) at a tick
        out, prev = [], 0
        for tick, _, msg in events:
            out.append(msg.copy(time=tick - prev))
            prev = tick
        return out

    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = [(t, 0, mido.MetaMessage("time_signature", numerator=n, denominator=d)) for t, n, d in time_sigs]
    if tempo_bpm is not None:
        meta.append((0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm))))
    mf.tracks.append(mido.MidiTrack(delta(meta)))
    for notes in tracks:
        events = []
        for onset, dur, pitch, *chan in notes:
            ch = chan[0] if chan else 0
            events.append((onset, 1, mido.Message("note_on", note=pitch, velocity=80, channel=ch)))
            events.append((onset + dur, 0, mido.Message("note_off", note=pitch, velocity=0, channel=ch)))
        mf.tracks.append(mido.MidiTrack(delta(events)))
    mf.save(str(path))
    return Path(path)


def seq(items, tpb=480, start=0):
    """Notes of a monophonic line: items are (pitch or None for a rest, length in quarters)."""
    notes, t = [], start
    for pitch, quarters in items:
        ticks = round(quarters * tpb)
        if pitch is not None:
            notes.append((t, ticks, pitch))
        t += ticks
    return notes


def steps(items):
    """Expected tokens of (pitch or None, length in quarters) items, without padding."""
    out = []
    for pitch, quarters in items:
        n = round(quarters * STEPS_PER_QUARTER)
        out += [REST] * n if pitch is None else [pitch] + [HOLD] * (n - 1)
    return out


def read_quiet(path):
    """read_melody, failing the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_melody(path)


def emovae_warnings(records):
    return [str(r.message) for r in records if issubclass(r.category, EmovaeWarning)]


def assert_one_line_error(excinfo, path, *fragments):
    msg = str(excinfo.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert Path(path).name in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg


def natural_tokens(path):
    """MusPy's own pipeline (no emovae code): read, 4 steps per quarter, pitch representation."""
    music = muspy.read_midi(path)
    music.adjust_resolution(STEPS_PER_QUARTER)
    return muspy.to_pitch_representation(music, use_hold_state=True).reshape(-1), music


def pad_or_trim(tokens, n=N_STEPS):
    tokens = list(tokens)[:n]
    return np.array(tokens + [REST] * (n - len(tokens)))


# ------------------------------------------------------------------ the real data set


@pytest.fixture(scope="module")
def real():
    """The real data set, loaded once; with the warnings emitted while loading."""
    if not DATA_ENV:
        pytest.skip("EMOVAE_DATA is unset: set it to the musgenvae dataset folder (e1..e4)")
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        ds = load_dataset(DATA_ENV)
    return ds, emovae_warnings(records)


@needs_data
def test_real_dataset_shape_labels_and_order(real):
    ds, _ = real
    assert isinstance(ds, Dataset)
    assert ds.tokens.shape == (344, N_STEPS) and ds.tokens.dtype == np.int64
    assert ds.labels.dtype == np.int64
    assert np.bincount(ds.labels).tolist() == [80, 79, 93, 92]  # the data set: 80 / 79 / 93 / 92 files in e1..e4
    # order: e1..e4, then file name; the label is the folder
    assert [p.parent.name for p in ds.paths] == [f"e{l + 1}" for l in ds.labels]
    assert np.all(np.diff(ds.labels) >= 0)
    for label in range(4):
        names = [p.name for p, l in zip(ds.paths, ds.labels) if l == label]
        assert names == sorted(names)
    expected = sorted(Path(DATA_ENV).glob("e*/*.mid"))
    assert sorted(ds.paths) == expected
    assert ((ds.tokens >= 0) & (ds.tokens <= HOLD)).all()


@needs_data
def test_real_dataset_warns_only_for_the_polyphonic_file(real):
    _, messages = real
    assert len(messages) == 1, messages
    assert "bwv846.mxl.mid" in messages[0]
    assert "polyphonic (8 overlapping notes); reduced to its highest line" in messages[0]


@needs_data
def test_real_files_match_muspy_pipeline_padded_or_trimmed(real):
    """Every monophonic file: our tokens = MusPy's own encoding, padded with REST or trimmed."""
    ds, _ = real
    n_fitted = 0
    for path, tokens in zip(ds.paths, ds.tokens):
        natural, music = natural_tokens(path)
        n_fitted += len(natural) != N_STEPS
        if path.name == "bwv846.mxl.mid":
            continue  # polyphonic: checked in its own test
        assert np.array_equal(tokens, pad_or_trim(natural)), path
        if len(natural) < N_STEPS:
            assert (tokens[len(natural) :] == REST).all()
    assert n_fitted == 27  # 27 files are 14 to 18 beats long


@needs_data
def test_real_round_trip_through_midi_files(real, tmp_path):
    """write_midi then read_melody gives back the same 64 tokens for every file."""
    ds, _ = real
    for i, (path, tokens) in enumerate(zip(ds.paths, ds.tokens)):
        out = tmp_path / f"{i}.mid"
        write_midi(tokens, out)
        assert np.array_equal(read_quiet(out), tokens), path


@needs_data
def test_real_round_trip_through_music_objects(real):
    """melody_to_music, then MusPy's encoder padded to 64 steps, gives the same tokens."""
    ds, _ = real
    for path, tokens in zip(ds.paths, ds.tokens):
        music = melody_to_music(tokens)
        assert music.resolution == STEPS_PER_QUARTER
        again = muspy.to_pitch_representation(music, use_hold_state=True).reshape(-1)
        assert np.array_equal(pad_or_trim(again), tokens), path


def test_authors_files_with_stray_time_signatures_load(authors_root):
    for name in ("bwv27.6.mxl.mid", "bwv304.mxl.mid", "bwv362.mxl.mid"):
        path = authors_root / "e4" / name
        music = muspy.read_midi(path)
        # the file really carries a non-4/4 signature (after its music)
        assert any((s.numerator, s.denominator) != (4, 4) for s in music.time_signatures)
        tokens = read_quiet(path)
        assert tokens.shape == (N_STEPS,)
        assert (tokens < REST).any()


@needs_data
def test_real_leading_rests_are_kept(real):
    # bwv27.6 starts with six beats of rest: kept as leading rests (in the authors' file and the rebuilt one)
    tokens = read_quiet(Path(DATA_ENV) / "e4" / "bwv27.6.mxl.mid")
    assert (tokens[:24] == REST).all() and tokens[24] < REST


@needs_data
def test_real_polyphonic_file_keeps_highest_note_at_each_onset(real):
    path = Path(DATA_ENV) / "e1" / "bwv846.mxl.mid"
    with pytest.warns(EmovaeWarning) as records:
        tokens = read_melody(path)
    messages = emovae_warnings(records)
    assert len(messages) == 1 and "polyphonic" in messages[0] and path.name in messages[0]
    _, music = natural_tokens(path)
    onsets = {}
    for note in music.tracks[0].notes:
        if note.time < N_STEPS:
            onsets[note.time] = max(onsets.get(note.time, -1), note.pitch)
    got = {i: int(t) for i, t in enumerate(tokens) if t < REST}
    assert got == onsets
    # monophonic output: no rest while the last onset's note still sounds in the raw file
    assert tokens[0] < REST and REST not in tokens[: max(onsets) + 1]


@needs_data
def test_real_vocabulary(real):
    ds, _ = real
    vocab = Vocabulary.build(ds.tokens)
    assert vocab.size == 31
    assert vocab.pitches == (48, 52, 53, *range(55, 80), 81)  # the 29 pitches of the data set
    assert vocab.tokens == (*vocab.pitches, REST, HOLD)
    idx = vocab.encode(ds.tokens)
    assert idx.shape == ds.tokens.shape and idx.dtype == np.int64
    assert idx.min() == 0 and idx.max() == vocab.size - 1
    assert set(np.unique(idx).tolist()) == set(range(vocab.size))  # every class occurs
    assert np.array_equal(vocab.decode(idx), ds.tokens)
    assert np.array_equal(vocab.encode(vocab.decode(np.arange(vocab.size))), np.arange(vocab.size))
    # pitch 78 occurs only in e1/bwv70.11, which the split holds out
    train, _ = split(ds.labels)
    assert Vocabulary.build(ds.tokens[train]).pitches == tuple(p for p in vocab.pitches if p != 78)


@needs_data
def test_real_split(real):
    from sklearn.model_selection import train_test_split

    labels = real[0].labels
    train, held = split(labels)
    assert (len(train), len(held)) == (275, 69)
    assert train.dtype == np.int64 and held.dtype == np.int64
    assert np.all(np.diff(train) > 0) and np.all(np.diff(held) > 0)
    assert not set(train) & set(held)
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(len(labels)))
    for label in range(4):
        n = int((labels == label).sum())
        assert abs(int((labels[held] == label).sum()) - 0.2 * n) <= 1
    # exactly the authors' call, on our row order
    ref_train, ref_held = train_test_split(np.arange(len(labels)), test_size=0.2, random_state=42, stratify=labels)
    assert np.array_equal(train, np.sort(ref_train)) and np.array_equal(held, np.sort(ref_held))
    t2, h2 = split(labels)
    assert np.array_equal(t2, train) and np.array_equal(h2, held)
    _, h3 = split(labels, seed=7)
    assert not np.array_equal(h3, held) and len(h3) == 69


# ------------------------------------------------------------------ synthetic: reading rules


def test_exactly_four_bars_reads_as_is(tmp_path):
    items = [
        (60, 1),
        (62, 0.5),
        (64, 0.5),
        (None, 1),
        (65, 0.25),
        (67, 0.75),
        (69, 2),
        (None, 0.5),
        (71, 1.5),
        (72, 4),
        (74, 1),
        (72, 3),
    ]
    assert sum(q for _, q in items) == 16
    path = make_midi(tmp_path / "four_bars.mid", [seq(items)])
    tokens = read_quiet(path)
    assert tokens.dtype == np.int64 and tokens.shape == (N_STEPS,)
    assert tokens.tolist() == steps(items)


def test_long_file_is_trimmed_at_the_end(tmp_path):
    # 18 beats: 14 quarter notes, a half note crossing step 64, then a quarter after it
    items = [(50 + i, 1) for i in range(15)] + [(70, 2), (72, 1)]
    assert sum(q for _, q in items) == 18
    path = make_midi(tmp_path / "eighteen.mid", [seq(items)])
    with pytest.warns(EmovaeWarning) as records:  # the quarter after bar 4 is lost: said so
        tokens = read_melody(path)
    assert emovae_warnings(records) == [
        f"{path}: longer than 4 bars (4.5 bars); only its first 4 bars are read (1 note after bar 4 dropped)"
    ]
    assert tokens.tolist() == steps(items)[:N_STEPS]
    assert tokens[60] == 70 and (tokens[61:] == HOLD).all()  # the crossing note is cut at 64
    assert 72 not in tokens


def test_short_file_is_padded_with_rests(tmp_path):
    items = [(60 + i, 1) for i in range(14)]  # 14 beats = 56 steps
    path = make_midi(tmp_path / "fourteen.mid", [seq(items)])
    tokens = read_quiet(path)
    assert tokens[:56].tolist() == steps(items)
    assert (tokens[56:] == REST).all() and len(tokens) == N_STEPS


def test_leading_rests_are_kept(tmp_path):
    items = [(None, 6), (64, 2), (65, 8)]
    path = make_midi(tmp_path / "late.mid", [seq(items)])
    assert read_quiet(path).tolist() == steps(items)


def test_notes_after_four_bars_only_is_an_error(tmp_path):
    path = make_midi(tmp_path / "too_late.mid", [seq([(None, 16), (60, 4)])])
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert_one_line_error(excinfo, path, "no notes in the first 4 bars")


@pytest.mark.parametrize("tpb", [2, 4, 8, 96, 480, 10080])
def test_any_resolution_gives_the_same_grid(tmp_path, tpb):
    # eighth notes and longer only, so every resolution from 2 ticks per quarter can hold them
    items = [(60, 1), (62, 0.5), (64, 0.5), (65, 2), (None, 1), (67, 3), (69, 8)]
    path = make_midi(tmp_path / f"tpb{tpb}.mid", [seq(items, tpb=tpb)], tpb=tpb)
    assert read_quiet(path).tolist() == steps(items)


def test_triplets_are_rounded_to_the_grid(tmp_path):
    # 3 ticks per quarter: a triplet at ticks 0, 1, 2 lies at steps 0, 1.33, 2.67
    notes = [(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 45, 65)]
    tokens = read_quiet(make_midi(tmp_path / "triplet.mid", [notes], tpb=3))
    assert tokens.tolist() == [60, 62, HOLD, 64] + [65] + [HOLD] * 59


def test_quantisation_rounds_to_the_nearest_sixteenth(tmp_path):
    tpb = 480  # 120 ticks per sixteenth
    notes = [
        (0 + 50, 480 - 50 + 10, 60),  # onset 0.42 step -> 0, end 4.08 -> 4
        (480 + 70, 410, 62),  # onset 4.58 -> 5, end 8 -> 8
        (960 + 60, 420, 64),  # onset exactly half a step (8.5) -> rounds up to 9
        (1440, 1920 * 3 + 480, 65),  # the rest of the 4 bars
    ]
    path = make_midi(tmp_path / "offgrid.mid", [notes], tpb=tpb)
    tokens = read_quiet(path)
    assert np.flatnonzero(tokens < REST).tolist() == [0, 5, 9, 12]
    assert tokens[4] == REST and tokens[8] == REST


def test_too_short_notes_are_dropped_with_a_warning(tmp_path):
    tpb = 480
    notes = [(0, 480, 60), (480, 30, 90), (480, 480, 62), (960, 480 * 14, 64)]  # 90 is 1/4 step
    path = make_midi(tmp_path / "grace.mid", [notes], tpb=tpb)
    with pytest.warns(EmovaeWarning) as records:
        tokens = read_melody(path)
    messages = emovae_warnings(records)
    assert len(messages) == 1 and "1 note shorter than half a 16th dropped" in messages[0]
    assert path.name in messages[0] and "polyphonic" not in messages[0]
    assert 90 not in tokens and tokens[4] == 62


def test_only_too_short_notes_is_no_notes(tmp_path):
    path = make_midi(tmp_path / "ticks.mid", [[(0, 10, 60), (480, 20, 62)]], tpb=480)
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert str(excinfo.value) == f"{path}: no notes (all 2 notes are shorter than half a 16th)"


def test_tempo_is_ignored(tmp_path):
    items = [(60, 2), (62, 2), (64, 4), (65, 8)]
    slow = make_midi(tmp_path / "slow.mid", [seq(items)], tempo_bpm=45)
    fast = make_midi(tmp_path / "fast.mid", [seq(items)], tempo_bpm=200)
    assert np.array_equal(read_quiet(slow), read_quiet(fast))
    assert read_quiet(slow).tolist() == steps(items)


def test_tracks_are_merged_and_drums_ignored(tmp_path):
    first = seq([(60, 4)])
    second = seq([(64, 4)], start=4 * 480)
    drums = [(i * 240, 120, 36, 9) for i in range(32)]  # channel 10
    path = make_midi(tmp_path / "tracks.mid", [first, second, drums])
    tokens = read_quiet(path)
    assert tokens.tolist() == steps([(60, 4), (64, 4)]) + [REST] * 32


# ------------------------------------------------------------------ synthetic: polyphony


def test_chord_keeps_its_highest_note_and_warns_once(tmp_path):
    chord = [(0, 960, 60), (0, 960, 64), (0, 480, 67)]  # the top note is shortest
    tune = seq([(65, 1), (64, 1), (62, 12)], start=960)
    path = make_midi(tmp_path / "chord.mid", [chord + tune])
    with pytest.warns(EmovaeWarning) as records:
        tokens = read_melody(path)
    messages = emovae_warnings(records)
    assert len(messages) == 1, messages
    assert messages[0] == f"{path}: polyphonic (2 overlapping notes); reduced to its highest line"
    assert tokens.tolist() == steps([(67, 1), (None, 1), (65, 1), (64, 1), (62, 12)])


def test_held_note_is_cut_by_a_later_onset(tmp_path):
    # a whole-bar bass under a melody in another track, and a melody note held over the next one
    bass = [(0, 4 * 480, 48)]
    melody = [(480, 480, 72), (960, 960, 74), (1440, 480 * 14, 76)]  # 74 overlaps 76
    path = make_midi(tmp_path / "held.mid", [bass, melody])
    with pytest.warns(EmovaeWarning, match=r"polyphonic \(2 overlapping notes\)"):
        tokens = read_melody(path)
    assert tokens.tolist() == steps([(48, 1), (72, 1), (74, 1), (76, 13)])


def test_cut_note_is_not_resumed_after_a_shorter_note(tmp_path):
    # a bass sounding through the bar does not fill the melody's rests
    bass = [(0, 16 * 480, 48)]
    melody = seq([(None, 1), (72, 0.5), (None, 2.5), (74, 12)])
    path = make_midi(tmp_path / "resume.mid", [bass, melody])
    with pytest.warns(EmovaeWarning, match=r"polyphonic \(1 overlapping note\)"):
        tokens = read_melody(path)
    assert tokens.tolist() == steps([(48, 1), (72, 0.5), (None, 2.5), (74, 12)])


def test_unison_duplicate_counts_as_overlap(tmp_path):
    line = seq([(60, 8), (62, 8)])
    path = make_midi(tmp_path / "unison.mid", [line, line])
    with pytest.warns(EmovaeWarning, match=r"polyphonic \(2 overlapping notes\)"):
        tokens = read_melody(path)
    assert tokens.tolist() == steps([(60, 8), (62, 8)])


def test_monophonic_file_does_not_warn(tmp_path):
    path = make_midi(tmp_path / "mono.mid", [seq([(60, 1), (62, 1), (64, 14)])])
    read_quiet(path)  # raises on any warning


# ------------------------------------------------------------------ synthetic: errors


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.mid"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert_one_line_error(excinfo, path, "not a readable MIDI file (")


def test_truncated_file(tmp_path):
    good = make_midi(tmp_path / "good.mid", [seq([(60, 1)] * 16)])
    path = tmp_path / "cut.mid"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert_one_line_error(excinfo, path, "not a readable MIDI file (")
    assert str(excinfo.value).endswith(")") and "()" not in str(excinfo.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert str(excinfo.value) == f"{path}: empty file"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(tmp_path / "nope.mid")
    assert str(excinfo.value) == f"{tmp_path / 'nope.mid'}: no such file"
    folder = tmp_path / "folder.mid"
    folder.mkdir()
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(folder)
    assert_one_line_error(excinfo, folder, "not a file")


def test_no_notes(tmp_path):
    path = make_midi(tmp_path / "silent.mid", [[]])
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert str(excinfo.value) == f"{path}: no notes"
    drums = make_midi(tmp_path / "drums.mid", [[(0, 480, 36, 9), (480, 480, 38, 9)]])
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(drums)
    assert_one_line_error(excinfo, drums, "no notes")


def test_three_four_melody_is_rejected(tmp_path):
    path = make_midi(tmp_path / "waltz.mid", [seq([(60, 1), (62, 1), (64, 1)] * 4)], time_sigs=((0, 3, 4),))
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert str(excinfo.value) == (f"{path}: time signature 3/4 at beat 0; emovae reads 4/4 melodies only")


def test_signature_change_under_the_notes_is_rejected(tmp_path):
    path = make_midi(tmp_path / "change.mid", [seq([(60, 1)] * 16)], time_sigs=((0, 4, 4), (8 * 480, 6, 8)))
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(path)
    assert_one_line_error(excinfo, path, "time signature 6/8 at beat 8;", "4/4 melodies only")


def test_signatures_are_judged_in_time_order_across_tracks(tmp_path):
    # MusPy lists signatures track by track; the first track's comes later in time
    def build(name, first_track_sig, second_track_sig):
        mf = mido.MidiFile(type=1, ticks_per_beat=480)
        beat, num, den = first_track_sig
        mf.tracks.append(
            mido.MidiTrack([mido.MetaMessage("time_signature", numerator=num, denominator=den, time=beat * 480)])
        )
        num, den = second_track_sig
        notes = [mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0)]
        for i in range(16):
            notes += [
                mido.Message("note_on", note=60 + i, velocity=80, time=0),
                mido.Message("note_off", note=60 + i, velocity=0, time=480),
            ]
        mf.tracks.append(mido.MidiTrack(notes))
        mf.save(str(tmp_path / name))
        return tmp_path / name

    fine = build("late_other.mid", (20, 3, 4), (4, 4))
    assert read_quiet(fine)[::4].tolist() == list(range(60, 76))
    bad = build("early_other.mid", (8, 3, 4), (4, 4))
    with pytest.raises(EmovaeError) as excinfo:
        read_melody(bad)
    assert_one_line_error(excinfo, bad, "time signature 3/4 at beat 8;")


def test_signature_after_the_last_onset_is_ignored(tmp_path):
    items = [(60, 1)] * 15 + [(62, 3)]  # last onset at beat 15
    tokens = read_quiet(
        make_midi(tmp_path / "tail.mid", [seq(items)], time_sigs=((0, 4, 4), (16 * 480, 3, 4), (40 * 480, 3, 2)))
    )
    assert tokens.tolist() == steps(items)[:N_STEPS]
    # no signature at all is 4/4
    assert np.array_equal(read_quiet(make_midi(tmp_path / "nosig.mid", [seq(items)], time_sigs=())), tokens)


# ------------------------------------------------------------------ decoding and writing


def test_decoder_keeps_repeated_one_step_notes_apart():
    # MusPy's own decoder merges these into one 3-step note
    music = melody_to_music(np.array([60, 60, HOLD] + [REST] * 61))
    notes = [(n.time, n.duration, n.pitch) for n in music.tracks[0].notes]
    assert notes == [(0, 1, 60), (1, 2, 60)]


def test_decoder_treats_orphan_holds_as_rests():
    tokens = [HOLD, HOLD, 62, REST, HOLD, 64, HOLD, HOLD, 65]
    music = melody_to_music(tokens)
    assert [(n.time, n.duration, n.pitch) for n in music.tracks[0].notes] == [(2, 1, 62), (5, 3, 64), (8, 1, 65)]


def test_decoded_music_header():
    music = melody_to_music(np.array(steps([(60, 16)])))
    assert music.resolution == 4
    assert [(t.time, t.qpm) for t in music.tempos] == [(0, 120.0)]
    assert [(s.time, s.numerator, s.denominator) for s in music.time_signatures] == [(0, 4, 4)]
    assert len(music.tracks) == 1
    assert music.tracks[0].program == 0 and not music.tracks[0].is_drum


@pytest.mark.parametrize("bad", [[60, 130], [-1, 60], [[60, 61], [62, 63]], [60.0, 61.0]])
def test_decoder_rejects_bad_tokens(bad):
    with pytest.raises(EmovaeError) as excinfo:
        melody_to_music(bad)
    assert "\n" not in str(excinfo.value)


def test_write_midi_spans_the_melody(tmp_path):
    items = [(None, 1), (60, 1.5), (62, 0.5), (64, 2), (None, 1), (65, 0.25), (67, 3.75), (69, 6)]
    tokens = np.array(steps(items))
    assert len(tokens) == N_STEPS
    out = tmp_path / "song.mid"
    write_midi(tokens, out)
    music = muspy.read_midi(out)
    assert music.resolution == STEPS_PER_QUARTER
    assert [round(t.qpm) for t in music.tempos] == [120]
    assert [(s.numerator, s.denominator) for s in music.time_signatures] == [(4, 4)]
    notes = [n for t in music.tracks for n in t.notes]
    assert [(n.time, n.duration, n.pitch) for n in notes] == [
        (4, 6, 60),
        (10, 2, 62),
        (12, 8, 64),
        (24, 1, 65),
        (25, 15, 67),
        (40, 24, 69),
    ]
    assert 4 + sum(n.duration for n in notes) + 4 == N_STEPS  # the two rests
    assert max(n.end for n in notes) == N_STEPS
    assert np.array_equal(read_quiet(out), tokens)


def test_write_midi_no_rests_spans_64_steps(tmp_path):
    tokens = np.array(steps([(60 + i % 12, 1) for i in range(16)]))
    write_midi(tokens, tmp_path / "full.mid")
    notes = [n for t in muspy.read_midi(tmp_path / "full.mid").tracks for n in t.notes]
    assert sum(n.duration for n in notes) == N_STEPS and len(notes) == 16


def test_write_midi_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "sub" / "a.mid"
    first = np.array(steps([(60, 16)]))
    write_midi(first, out)  # creates the folder
    assert sorted(os.listdir(out.parent)) == ["a.mid"]
    second = np.array(steps([(62, 16)]))
    write_midi(second, out)  # replaces in one step
    assert sorted(os.listdir(out.parent)) == ["a.mid"]
    assert read_quiet(out)[0] == 62

    real_write = Path.write_bytes

    def broken(self, data):
        real_write(self, data[:9])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", broken)
    with pytest.raises(EmovaeError) as excinfo:
        write_midi(first, out)
    assert_one_line_error(excinfo, out, "cannot write", "No space left on device")
    assert sorted(os.listdir(out.parent)) == ["a.mid"]  # no temp file left
    assert read_quiet(out)[0] == 62  # old file intact


def test_write_midi_rejects_bad_tokens_without_writing(tmp_path):
    with pytest.raises(EmovaeError):
        write_midi([60, 200], tmp_path / "bad.mid")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ vocabulary


def test_vocabulary_build_and_lists():
    raw = np.array([[64, HOLD, 60, REST], [72, HOLD, HOLD, 60]])
    vocab = Vocabulary.build(raw)
    assert vocab.tokens == (60, 64, 72, REST, HOLD)
    assert vocab.size == 5 and vocab.pitches == (60, 64, 72)
    assert Vocabulary.build(np.array([[61, 61]])).tokens == (61, REST, HOLD)  # always rest, hold
    idx = vocab.encode(raw)
    assert idx.tolist() == [[1, 4, 0, 3], [2, 4, 4, 0]]
    assert np.array_equal(vocab.decode(idx), raw)
    assert vocab.to_list() == [60, 64, 72, REST, HOLD]
    assert all(type(t) is int for t in vocab.to_list())
    again = Vocabulary.from_list(vocab.to_list())
    assert again == vocab and again.tokens == vocab.tokens


def test_vocabulary_unknown_pitch_names_it():
    vocab = Vocabulary.build(np.array([[60, 62, HOLD]]))
    with pytest.raises(EmovaeError, match=r"pitch\(es\) 61 not in the vocabulary"):
        vocab.encode(np.array([60, 61, HOLD]))
    with pytest.raises(EmovaeError) as excinfo:
        vocab.encode(np.array([[50, 61], [61, 60]]))
    assert "50, 61" in str(excinfo.value) and "\n" not in str(excinfo.value)
    with pytest.raises(EmovaeError, match="outside 0..129"):
        vocab.encode(np.array([60, 300]))


def test_vocabulary_decode_out_of_range():
    vocab = Vocabulary.build(np.array([60, 62]))
    with pytest.raises(EmovaeError, match="outside the vocabulary's 0..3"):
        vocab.decode(np.array([0, 4]))
    with pytest.raises(EmovaeError):
        vocab.decode(np.array([-1]))


@pytest.mark.parametrize(
    "tokens", [[62, 60, REST, HOLD], [60, REST], [60, 60, REST, HOLD], [60, REST, HOLD, 131], ["x", REST, HOLD]]
)
def test_vocabulary_from_list_checks(tokens):
    with pytest.raises(EmovaeError):
        Vocabulary.from_list(tokens)


# ------------------------------------------------------------------ data set folders and split


def test_load_dataset_synthetic_tree(tmp_path):
    (tmp_path / "e2").mkdir()
    (tmp_path / "e4").mkdir()
    make_midi(tmp_path / "e4" / "b.mid", [seq([(67, 16)])])
    make_midi(tmp_path / "e4" / "a.mid", [seq([(65, 16)])])
    make_midi(tmp_path / "e2" / "z.MID", [seq([(62, 16)])])
    (tmp_path / "e4" / "notes.txt").write_text("not a melody")
    (tmp_path / "e4" / "._a.mid").write_bytes(b"\x00\x05\x16\x07")  # macOS metadata file
    (tmp_path / "e5").mkdir()
    make_midi(tmp_path / "e5" / "x.mid", [seq([(70, 16)])])
    ds = load_dataset(tmp_path)
    assert [p.name for p in ds.paths] == ["z.MID", "a.mid", "b.mid"]
    assert ds.labels.tolist() == [1, 3, 3]
    assert ds.tokens[:, 0].tolist() == [62, 65, 67] and ds.tokens.shape == (3, N_STEPS)
    assert len(ds) == 3


def test_load_dataset_errors(tmp_path):
    with pytest.raises(EmovaeError) as excinfo:
        load_dataset(tmp_path / "missing")
    assert_one_line_error(excinfo, tmp_path / "missing", "no such directory")
    (tmp_path / "e1").mkdir()
    (tmp_path / "other").mkdir()
    make_midi(tmp_path / "other" / "x.mid", [seq([(60, 16)])])
    with pytest.raises(EmovaeError) as excinfo:
        load_dataset(tmp_path)
    assert str(tmp_path) in str(excinfo.value) and "e1..e4" in str(excinfo.value)
    make_midi(tmp_path / "e1" / "good.mid", [seq([(60, 16)])])
    (tmp_path / "e1" / "junk.mid").write_bytes(b"garbage!")
    with pytest.raises(EmovaeError) as excinfo:
        load_dataset(tmp_path)
    assert_one_line_error(excinfo, tmp_path / "e1" / "junk.mid", "not a readable MIDI file")
    with pytest.raises(EmovaeError, match="not a directory"):
        load_dataset(tmp_path / "e1" / "good.mid")


def test_split_rejects_too_few_per_class():
    with pytest.raises(EmovaeError, match="cannot split"):
        split(np.array([0, 0, 0, 0, 1]))


def test_split_synthetic_stratified():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, held = split(labels, test_size=0.25, seed=3)
    assert len(held) == 25 and len(train) == 75
    counts = np.bincount(labels[held], minlength=4)
    assert all(abs(c - n / 4) <= 1 for c, n in zip(counts, [10, 20, 30, 40])), counts


# ------------------------------------------------------------------ resolve_data_root (emovae.corpus)


def test_resolve_data_root_refuses_a_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("EMOVAE_DATA", str(tmp_path / "file"))
    with pytest.raises(EmovaeError, match="not a directory") as excinfo:
        resolve_data_root(None)
    assert "EMOVAE_DATA" in str(excinfo.value)


def test_module_constants():
    assert (N_STEPS, STEPS_PER_QUARTER, REST, HOLD) == (64, 4, 128, 129)
    assert data.N_STEPS == 4 * 4 * STEPS_PER_QUARTER
