"""Transformations of a user's piece that keep it: edit its notes instead of re-writing them.

Qt- and torch-free. Modules, in the order a piece passes through them:

- :mod:`~emostudio.transform.elements`: a piece's musical elements (:class:`Element`: melody
  pitches, rhythm, accompaniment/harmony, dynamics, tempo) and the split of its notes into melody
  and accompaniment (:func:`split_voices`), which element locks are defined on, and where the
  piece's own beats lie against the grid (:func:`~emostudio.transform.elements.beat_phase`);
- :mod:`~emostudio.transform.rules`: the rule-based emotion transformation (:func:`transform`,
  after Livingstone's CMERS): mode change inside the detected key, tempo, velocity, articulation,
  register and density, each scaled by the strength λ and by the distance to the target emotion.
"""

from emostudio.transform.elements import ALL_ELEMENTS, Element, VoiceSplit, split_voices
from emostudio.transform.rules import DEFAULT_RULES, RuleStrengths, transform

__all__ = [
    "ALL_ELEMENTS",
    "DEFAULT_RULES",
    "Element",
    "RuleStrengths",
    "VoiceSplit",
    "split_voices",
    "transform",
]
