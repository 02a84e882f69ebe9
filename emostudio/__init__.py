"""emostudio: write MIDI music in a chosen emotion and move the emotion of existing pieces.

Subpackages follow the data, in the order it passes through them:

- ``midi``        MIDI file <-> :class:`~emostudio.midi.song.Song` (the one in-memory music type)
- ``tokens``      Song <-> event tokens, and the two emotion features (polyphony, key)
- ``corpus``      a folder of MIDI -> a cache of token/feature arrays with labels and splits
- ``model``       the CDGMVAE (Transformer encoders, Gaussian-mixture priors, decoder)
- ``training``    the semi-supervised training loop, checkpoints, schedules
- ``generation``  the engine: generate / transfer / recognise
- ``evaluation``  the reference emotion judge and the evaluation report
- ``playback``    rendering (FluidSynth) and live MIDI out, a pure timing player
- ``wizard``      the training wizard's Qt-free flow
- ``gui``         the Qt desktop app (the only place PySide6/pyqtgraph are imported)
- ``cli``         the ``emostudio`` command
"""

__version__ = "0.1.0"
