"""Readable and audible outputs: MIDI bytes, MusicXML, SVG score, WAV, and write() of them all."""

import io
import os
import shutil
import subprocess
import sys
import warnings
import wave
import xml.etree.ElementTree as ET

import mido
import numpy as np
import pytest

from emovae import render
from emovae.data import HOLD, REST, melody_to_music, read_melody, write_midi
from emovae.errors import EmovaeError, EmovaeWarning

SR = 44100

# A hand-made 4-bar melody: (start step, duration in steps, MIDI pitch). Notated (4/4, 16ths):
# bar 1: C4 quarter, D4 8th, Eb4 8th, E4 half (natural sign)
# bar 2: F4 5 sixteenths (quarter tied to 16th), G4 dotted 8th, A4 12 steps from beat 3 -> half ...
# bar 3: ... tied over the barline to a quarter, quarter rest, Bb4 8th, 8th rest, C5 20 steps
#        from beat 4: quarter tied over the barline to ...
# bar 4: ... a whole note.
NOTES = [
    (0, 4, 60),
    (4, 2, 62),
    (6, 2, 63),
    (8, 8, 64),
    (16, 5, 65),
    (21, 3, 67),
    (24, 12, 69),
    (40, 2, 70),
    (44, 20, 72),
]
NOTATED_NOTES = 12  # 9 notes + 1 for the 5-sixteenth F + 2 split at barlines
NOTATED_RESTS = 2  # quarter rest at step 36, 8th rest at step 42


def melody(notes=NOTES, n_steps=64):
    tokens = np.full(n_steps, REST, dtype=np.int64)
    for start, duration, pitch in notes:
        tokens[start] = pitch
        tokens[start + 1 : start + duration] = HOLD
    return tokens


def read_wav(data: bytes):
    with wave.open(io.BytesIO(data), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return rate, samples


def rms(samples, t0, t1, rate=SR):
    seg = samples[int(t0 * rate) : int(t1 * rate)]
    return float(np.sqrt(np.mean(seg**2)))


def have_fluidsynth() -> bool:
    return shutil.which("fluidsynth") is not None and render.find_soundfont() is not None


@pytest.fixture
def fresh_warning(monkeypatch):
    """Forget that this process already warned about the NumPy fallback; no $EMOVAE_* overrides."""
    monkeypatch.setattr(render.audio, "_fallback_warned", False)
    monkeypatch.delenv("EMOVAE_SYNTH", raising=False)
    monkeypatch.delenv("EMOVAE_SOUNDFONT", raising=False)


# ---------------------------------------------------------------------------- tokens


def test_notes_decode_rests_and_holds_as_melody_to_music_does():
    tokens = np.full(16, REST, dtype=np.int64)
    tokens[:9] = [HOLD, 60, HOLD, HOLD, REST, HOLD, 62, 64, HOLD]
    expected = [(1, 3, 60), (6, 1, 62), (7, 2, 64)]
    assert render.notes(tokens) == expected
    music_notes = [(n.time, n.duration, n.pitch) for n in melody_to_music(tokens).tracks[0].notes]
    assert music_notes == expected
    assert render.notes(melody()) == NOTES
    assert render.notes(np.full(64, REST)) == []


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.full(70, REST), "70 steps"),
        (np.zeros(0, dtype=np.int64), "no steps"),
        (np.full((4, 16), REST), "1-D"),
        (np.full(64, 60.0), "integer"),
        (np.concatenate([[130], np.full(63, REST)]), "130"),
    ],
)
@pytest.mark.parametrize("fmt", ["notes", "midi", "musicxml", "svg", "wav"])
def test_bad_tokens_raise_a_one_line_error_and_write_nothing(tmp_path, bad, words, fmt):
    target = tmp_path / "out"
    call = {
        "notes": lambda: render.notes(bad),
        "midi": lambda: render.to_midi_bytes(bad),
        "musicxml": lambda: render.to_musicxml(bad, target),
        "svg": lambda: render.to_svg(bad, target),
        "wav": lambda: render.to_wav(bad, target, synth="numpy"),
    }[fmt]
    with pytest.raises(EmovaeError, match=words) as err:
        call()
    assert "\n" not in str(err.value)
    with pytest.raises(EmovaeError, match=words):
        render.write(bad, tmp_path / "stem", ("midi", "wav"))
    assert list(tmp_path.iterdir()) == []


def test_import_loads_neither_music21_nor_verovio():
    code = "import sys, emovae.render; print(','.join(m for m in ('music21', 'verovio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------------------- MIDI


def test_midi_bytes_are_what_write_midi_writes_and_read_back(tmp_path):
    tokens = melody()
    data = render.to_midi_bytes(tokens)
    write_midi(tokens, tmp_path / "a.mid")
    assert data == (tmp_path / "a.mid").read_bytes()

    midi = mido.MidiFile(file=io.BytesIO(data))
    step_ticks = midi.ticks_per_beat // 4
    onsets, now = [], 0
    for msg in mido.merge_tracks(midi.tracks):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            onsets.append((now // step_ticks, msg.note))
    assert onsets == [(s, p) for s, _, p in NOTES]
    assert np.array_equal(read_melody(tmp_path / "a.mid"), tokens)


# ---------------------------------------------------------------------------- MusicXML


def parsed_notes(text):
    """(start step, duration steps, pitch) of the MusicXML's notes, tied notes joined (music21)."""
    from music21 import converter

    score = converter.parse(text, format="musicxml")
    part = score.parts[0].stripTies()
    return [(round(n.offset * 4), round(n.quarterLength * 4), n.pitch.midi) for n in part.flatten().notes]


def test_musicxml_reads_back_as_the_same_notes_with_ties_across_barlines(tmp_path):
    from music21 import converter, key, meter

    tokens = melody()
    text = render.to_musicxml(tokens, tmp_path / "m.musicxml", title="hand-made")
    assert (tmp_path / "m.musicxml").read_text(encoding="utf-8") == text
    assert parsed_notes(text) == NOTES

    score = converter.parse(text, format="musicxml")
    measures = score.parts[0].getElementsByClass("Measure")
    assert len(measures) == 4
    assert all(m.duration.quarterLength == 4.0 for m in measures)
    signatures = list(score.recurse().getElementsByClass(meter.TimeSignature))
    assert [s.ratioString for s in signatures] == ["4/4"]
    assert list(score.recurse().getElementsByClass(key.KeySignature)) == []  # no key signature
    # A4 (steps 24..36) crosses the bar at 32: tied half note + quarter
    a4 = [n for n in score.parts[0].recurse().notes if n.pitch.midi == 69]
    assert [(n.quarterLength, n.tie.type) for n in a4] == [(2.0, "start"), (1.0, "stop")]
    # black keys spelled for C major / minor
    names = {n.pitch.midi: n.pitch.name for n in score.recurse().notes}
    assert (names[63], names[70]) == ("E-", "B-")
    assert "hand-made" in text and "Music21" not in text
    assert render.to_musicxml(tokens, title="hand-made") == text  # reproducible
    assert [p.name for p in tmp_path.iterdir()] == ["m.musicxml"]  # no temp file left


def test_musicxml_of_leading_holds_and_an_all_rest_melody():
    tokens = melody([(3, 2, 67)])
    tokens[0] = HOLD  # a HOLD at the start is a rest
    assert parsed_notes(render.to_musicxml(tokens)) == [(3, 2, 67)]
    assert parsed_notes(render.to_musicxml(np.full(32, REST))) == []


# ---------------------------------------------------------------------------- SVG


def count_class(svg: str, name: str) -> int:
    return svg.count(f'class="{name}"')


def test_svg_is_one_document_with_every_note(tmp_path):
    svg = render.to_svg(melody(), tmp_path / "m.svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert (tmp_path / "m.svg").read_text(encoding="utf-8") == svg
    assert count_class(svg, "note") == NOTATED_NOTES
    assert count_class(svg, "rest") == NOTATED_RESTS
    assert count_class(svg, "measure") == 4
    empty = render.to_svg(np.full(64, REST))
    assert count_class(empty, "note") == 0 and count_class(empty, "measure") == 4


def test_sixteen_bars_render_to_one_svg_and_long_melodies_join_pages(monkeypatch):
    tokens = np.tile(melody(), 4)  # 256 steps = 16 bars
    assert parsed_notes(render.to_musicxml(tokens)) == [(s + 64 * k, d, p) for k in range(4) for s, d, p in NOTES]
    svg = render.to_svg(tokens, title="sixteen bars")
    ET.fromstring(svg)
    assert count_class(svg, "note") == 4 * NOTATED_NOTES
    assert count_class(svg, "measure") == 16
    assert count_class(svg, "page-margin") == 1  # one page, its height adapted
    assert count_class(svg, "system") > 1  # several systems on it
    assert "sixteen bars" in svg

    monkeypatch.setattr(render.score, "_PAGE_HEIGHT", 400)  # force several pages: they are joined
    joined = render.to_svg(tokens)
    root = ET.fromstring(joined)
    assert count_class(joined, "page-margin") > 1
    assert count_class(joined, "note") == 4 * NOTATED_NOTES
    pages = [child for child in root if child.tag.endswith("svg")]
    ys = [float(page.get("y")) for page in pages]
    assert len(pages) > 1 and ys == sorted(ys) and len(set(ys)) == len(ys)


# ---------------------------------------------------------------------------- WAV


def check_wav(data, tokens, rate=SR):
    """Valid 16-bit mono WAV of the melody's length + tail; sound on every note."""
    got_rate, samples = read_wav(data)
    assert got_rate == rate
    assert samples.size == round((tokens.size * 0.125 + render.TAIL_S) * rate)
    for start, duration, _ in render.notes(tokens):
        assert rms(samples, start * 0.125, (start + duration) * 0.125, rate) > 0.005
    return samples


def test_numpy_wav_has_the_right_length_sound_on_notes_and_silence_on_rests(tmp_path):
    tokens = melody()
    data = render.to_wav(tokens, tmp_path / "m.wav", synth="numpy")
    assert (tmp_path / "m.wav").read_bytes() == data
    samples = check_wav(data, tokens)
    assert samples.size / SR == 8.5
    # the quarter rest at steps 36..40, after A4's 80 ms release, is exact silence
    assert np.all(samples[int((36 * 0.125 + 0.09) * SR) : int(40 * 0.125 * SR)] == 0)
    assert np.all(samples[int((64 * 0.125 + 0.09) * SR) :] == 0)  # the tail after the release
    assert np.abs(samples).max() < 0.99  # no clipping

    rest_rate, rest = read_wav(render.to_wav(np.full(64, REST), synth="numpy", sample_rate=22050))
    assert rest_rate == 22050 and rest.size == round(8.5 * 22050) and np.all(rest == 0)

    long = np.tile(tokens, 4)
    check_wav(render.to_wav(long, synth="numpy", sample_rate=16000), long, rate=16000)


def test_numpy_synthesis_follows_the_pitch():
    # one A4 (440 Hz) for a whole bar: the strongest frequency is 440 Hz
    samples = render.synthesize(melody([(0, 16, 69)], 16), sample_rate=8000)
    window = samples[:8000]  # 1 s: bins 1 Hz apart
    peak_hz = np.argmax(np.abs(np.fft.rfft(window))) * 8000 / window.size
    assert abs(peak_hz - 440.0) <= 1.0


@pytest.mark.skipif(not have_fluidsynth(), reason="no fluidsynth program or General MIDI soundfont")
def test_fluidsynth_wav(fresh_warning):
    tokens = melody()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmovaeWarning)  # no fallback
        data = render.to_wav(tokens, synth="fluidsynth")
        samples = check_wav(data, tokens)
        assert np.abs(samples).max() < 0.99
        assert render.to_wav(tokens) == data  # auto picks FluidSynth
    _, rest = read_wav(render.to_wav(np.full(64, REST), synth="fluidsynth"))
    assert rest.size == round(8.5 * SR) and np.abs(rest).max() < 1e-3


def test_missing_fluidsynth_falls_back_with_one_warning_per_process(monkeypatch, fresh_warning):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    tokens = melody()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = render.to_wav(tokens)
        second = render.to_wav(melody([(0, 8, 72)]))
    ours = [w for w in caught if issubclass(w.category, EmovaeWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "FluidSynth not found" in message and "NumPy" in message and "\n" not in message
    assert first == render.to_wav(tokens, synth="numpy")
    check_wav(second, melody([(0, 8, 72)]))
    with pytest.raises(EmovaeError, match="FluidSynth not found"):
        render.to_wav(tokens, synth="fluidsynth")


def test_missing_soundfont_and_failing_fluidsynth_fall_back(monkeypatch, tmp_path, fresh_warning):
    fake = tmp_path / "fluidsynth"
    fake.write_text("#!/bin/sh\necho 'cannot open soundfont' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: str(fake))
    monkeypatch.setattr(render.audio, "SOUNDFONT_PATHS", (str(tmp_path / "none.sf2"),))
    tokens = melody()
    with pytest.warns(EmovaeWarning, match="no General MIDI soundfont found") as caught:
        data = render.to_wav(tokens)
    assert len(caught) == 1 and data == render.to_wav(tokens, synth="numpy")

    font = tmp_path / "font.sf2"
    font.write_bytes(b"not really a soundfont")
    monkeypatch.setenv("EMOVAE_SOUNDFONT", str(font))
    assert render.find_soundfont() == font
    monkeypatch.setattr(render.audio, "_fallback_warned", False)
    with pytest.warns(EmovaeWarning, match="FluidSynth failed.*exit status 3.*cannot open soundfont"):
        assert render.to_wav(tokens) == data
    with pytest.raises(EmovaeError, match="exit status 3"):
        render.to_wav(tokens, synth="fluidsynth")
    with pytest.raises(EmovaeError, match="missing.sf2: soundfont not found"):
        render.to_wav(tokens, soundfont=tmp_path / "missing.sf2")


def test_forcing_the_numpy_synth_never_runs_fluidsynth(monkeypatch, fresh_warning):
    def no_run(*args, **kwargs):
        raise AssertionError("fluidsynth was run")

    monkeypatch.setattr(subprocess, "run", no_run)
    tokens = melody()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmovaeWarning)
        data = render.to_wav(tokens, synth="numpy")
        monkeypatch.setenv("EMOVAE_SYNTH", "numpy")
        assert render.to_wav(tokens) == data
    with pytest.raises(EmovaeError, match="synth 'piano'.*auto, fluidsynth, numpy"):
        render.to_wav(tokens, synth="piano")
    with pytest.raises(EmovaeError, match="sample rate"):
        render.to_wav(tokens, synth="numpy", sample_rate=100)


# ---------------------------------------------------------------------------- write


def test_write_all_formats(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOVAE_SYNTH", "numpy")
    tokens = melody()
    stem = tmp_path / "out" / "happy.1"
    paths = render.write(tokens, stem, ["svg", "MIDI", "musicxml", "wav", "midi"])
    assert [p.name for p in paths] == ["happy.1.svg", "happy.1.mid", "happy.1.musicxml", "happy.1.wav"]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(p.name for p in paths)
    assert paths[1].read_bytes() == render.to_midi_bytes(tokens)
    assert paths[2].read_text(encoding="utf-8") == render.to_musicxml(tokens)
    assert paths[0].read_text(encoding="utf-8") == render.to_svg(tokens)
    assert paths[3].read_bytes() == render.to_wav(tokens)
    assert render.write(tokens, tmp_path / "m", "midi, svg") == [tmp_path / "m.mid", tmp_path / "m.svg"]
    assert render.write(tokens, tmp_path / "d") == [tmp_path / "d.mid"]


def test_write_rejects_unknown_formats_before_writing(tmp_path):
    with pytest.raises(EmovaeError, match="unknown format 'mp3'.*midi, musicxml, svg, wav") as err:
        render.write(melody(), tmp_path / "x", ["midi", "mp3"])
    assert "\n" not in str(err.value)
    with pytest.raises(EmovaeError, match="no format"):
        render.write(melody(), tmp_path / "x", [])
    assert list(tmp_path.iterdir()) == []


def test_numpy_synthesis_is_its_formula():
    """The synthesis equals its docstring's sums, computed here term by term (the module computes
    the harmonics by recurrences): an A4, a rest, then a C6 (whose 4th harmonic is past 4 kHz)."""
    sr, tokens = 8000, melody([(0, 6, 69), (8, 5, 84)], 16)
    got = render.synthesize(tokens, sample_rate=sr)
    want = np.zeros(round((16 * 0.125 + 0.5) * sr))
    for start, steps, pitch in ((0, 6, 69), (8, 5, 84)):
        length, f = steps * 0.125, 440.0 * 2.0 ** ((pitch - 69) / 12)
        t = np.arange(round((length + 0.08) * sr)) / sr
        env = np.minimum(t / 0.005, 1.0) * np.exp(-1.2 * t) * np.clip(1.0 - (t - length) / 0.08, 0.0, 1.0)
        tone = sum(
            k**-1.5 * np.exp(-1.5 * k * t) * np.sin(2 * np.pi * k * f * t) for k in range(1, 7) if k * f < sr / 2
        )
        i0 = round(start * 0.125 * sr)
        want[i0 : i0 + t.size] += 0.2 * env * tone
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-6
    assert np.abs(got).max() > 0.1
    # a second time the notes come from the cache: the same samples, and the cache cannot be written
    assert np.array_equal(render.synthesize(tokens, sample_rate=sr), got)
    assert not render.audio._note(69, 6, sr, 0.125).flags.writeable
