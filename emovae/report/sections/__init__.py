"""The sections of ``report.md`` in their order. Each module holds, side by side:

- ``steps(ctx)``: how many progress-bar steps its ``compute`` takes;
- ``compute(ctx) -> dict``: its part of ``results.json`` (top-level keys, in order), its
  pictures added to ``ctx.figures``;
- ``markdown(r, figures) -> list``: its lines of ``report.md``, read from the whole ``results.json``
  dict ``r``.

A new section is one module here and one entry below.
"""

from . import classifier, control, novelty, order, plane, table3

#: In the order of ``report.md`` and ``results.json``.
SECTIONS = (
    classifier,  # 1. the emotion classifier on real melodies
    control,  # 2. emotion control accuracy
    plane,  # 2. continuous valence and arousal over the plane; 3. every point a melody
    novelty,  # 4. novelty and diversity
    order,  # 5. order on unseen melodies and over seeds
    table3,  # 6. closeness to the training set (Table 3)
)
