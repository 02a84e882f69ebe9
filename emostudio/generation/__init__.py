"""The engine: generate music for a target emotion, transfer a piece's emotion, recognise it.

Qt-free and streaming: generation and transfer are generators that yield one
:class:`BarEvent` per finished bar and stop at the next token when a ``cancel`` event is set.

Modules, in the order data passes through them:

- ``latents``   pure latent arithmetic: per-bar targets, AR(1) bar noise, target latents (learned
  or fitted prior), moved latents for transfer
- ``grammar``   which tokens may come next in a bar (a batched state machine over the vocabulary)
- ``sampling``  temperature and nucleus (top-p) sampling under that mask
- ``decode``    the batched bar-by-bar decoder (its only contact with the model: ``ModelSteps``,
  the model's ``decoder_start`` / ``decoder_step`` / ``decoder_next_bar``) and the template plan
- ``edit``      the shipped transfer method: the rules of :mod:`emostudio.transform` edit the
  piece's notes, the model recognises the source (and chooses among candidate edits when there
  are several)
- ``form``      a piece's form over phrases and the latents laid out by it; ``splice`` new bars
  put into a piece
- ``batches``   the one batched decoding path (a ``Batch`` decoded bar by bar into songs) and
  generate's and given latents' batches
- ``transfer``  the edit and rewrite methods, an element from a donor
- ``pieces``    continue, fill and interpolate (a piece's own bars teacher-forced as context)
- ``recognition`` recognise and encode; ``loading`` the default model folder and the prior choice
- ``results``   what the engine hands back: ``BarEvent``, ``Recognition``, ``Encoding``
- ``engine``    :class:`Engine`, a façade over those (it validates, they work): ``Engine.load(model_dir=None,
  device="auto", settings=None)``, ``generate(target, bars, seed, settings, cancel)``,
  ``transfer(song, target, strength, dims, seed, settings, cancel, method="edit" | "rewrite",
  keep=elements)`` (strength 0 returns the song itself), ``transfer_element(song, donor, "rhythm"
  | "key")``, ``recognise(song) -> Recognition``; batched ``generate_many`` / ``transfer_many`` and
  ``encode`` / ``decode`` / ``decode_many`` / ``transfer_latents`` for evaluations. ``settings``
  is a :class:`~emostudio.decoding.DecodingSettings` (the engine's own when omitted).

A target is an :class:`~emostudio.emotion.Emotion` (any point on the valence-arousal pad) or a
list of them, one per bar (an emotion curve). ``model_dir=None`` is the shipped default model:
``$EMOSTUDIO_MODEL_DIR``, else ``models/default`` at the repository root.
"""

from emostudio.decoding import MAX_BARS, EngineError
from emostudio.generation.engine import Engine
from emostudio.generation.latents import DIMENSIONS
from emostudio.generation.loading import MODEL_DIR_ENV, default_model_dir
from emostudio.generation.results import BarEvent, Encoding, Recognition
from emostudio.generation.sampling import SamplingError

__all__ = [
    "DIMENSIONS",
    "MAX_BARS",
    "MODEL_DIR_ENV",
    "BarEvent",
    "Encoding",
    "Engine",
    "EngineError",
    "Recognition",
    "SamplingError",
    "default_model_dir",
]
