"""``emovae report``: evaluation beyond the paper, one folder of Markdown + PNG + JSON.

Does a generated melody carry the emotion it was asked for, is it new, does every point of the
plane decode to a melody, does the plane's order hold for melodies the model never saw and over
training seeds, and how close are the generated sets to the training set? :func:`report` answers
all of it for trained models (checkpoints, run folders or the bundled ``emoreg`` / ``base``),
folders of generated MIDI laid out as ``e1..e4`` (by default the authors' published sets found
beside the data set) and groups of training runs over several seeds.

The package, one module per concern:

- :mod:`.build`: :func:`report` itself: check and load the input, let each section compute, write
  the files (computed into a temporary folder beside ``out_dir`` and moved into it only when all
  exist, ``report.md`` last);
- :mod:`.inputs`: the input checked before the long work (one-line :class:`EmovaeError`) and
  loaded: models with their data split, sets of MIDI files (:func:`read_set`: an unreadable file
  is skipped with a one-line :class:`EmovaeWarning` and counted), runs;
- :mod:`.context`: what the sections share (the settings, the grid, the classifier, the generated
  melodies, the pictures, the progress bar);
- :mod:`.fmt`: Markdown tables, numbers, JSON-safe values;
- :mod:`.sections`: one module per section of ``report.md`` (``compute`` and ``markdown`` side by
  side), listed in order in :data:`.sections.SECTIONS`:

  1. **The classifier on real melodies** (:mod:`.sections.classifier`);
  2. **Emotion control accuracy** (:mod:`.sections.control`) and its continuous valence and
     arousal over the plane (:mod:`.sections.plane`);
  3. **Every point a melody** (:mod:`.sections.plane`);
  4. **Novelty and diversity** (:mod:`.sections.novelty`);
  5. **Order on unseen melodies and over seeds** (:mod:`.sections.order`);
  6. **Closeness to the training set**, Table 3 (:mod:`.sections.table3`).

Every figure is also in ``results.json``. The formulas live with the others:
:mod:`emovae.evaluate` (``plane_grid``, ``va_agreement``, ``pearson``, ``mean_sd``,
``split_figures``, ``generated_set``), :mod:`emovae.novelty` (``novelty_by_emotion``,
``grid_profiles``, ``axis_profiles``, ``grid_stats``), :mod:`emovae.metrics` (``token_metrics``,
``within_sigma``, ``count_within``), :mod:`emovae.classifier` (``control_accuracy``); the sweep's
rows use the same functions.
"""

from .build import report
from .inputs import MAX_GRID, MAX_PER_EMOTION, MidiSet, read_set

__all__ = ["MAX_GRID", "MAX_PER_EMOTION", "MidiSet", "read_set", "report"]
