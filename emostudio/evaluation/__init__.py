"""Measuring the model: a reference emotion judge and the evaluation report (MODEL.md section 5).

Modules, in the order data passes through them:

- ``data``         a corpus folder's pieces with their splits (the cache's when given) and labels
- ``descriptors``  Song -> a vector of musical descriptors (density, polyphony, velocity, pitch,
  rhythm, key strength and mode, pitch classes), on the tokenizer's grid
- ``judge``        :class:`EmotionJudge`: logistic regressions for arousal, valence and quadrant,
  trained on EMOPIA's training split only, stored as JSON
- ``realism``      pitch range, polyphony, rhythm density, pitch-class entropy: generated vs real
- ``copying``      the copy check: the longest run of notes shared with any training piece
- ``fidelity``     how much of a source a transformation keeps: contour, pitch classes, onsets,
  notes, per bar
- ``results``      the evaluation's settings, targets and results as dataclasses (results.json)
- ``stages``       one function per measurement, each returning its dataclass
- ``plots``        the figures (PNG) from the results
- ``template``     the markdown report from the results alone
- ``report``       the whole evaluation of a model (run by ``emostudio evaluate``), and the report
  rendered again from a stored results.json
"""
