"""Semi-supervised training of the CDGMVAE on a corpus cache.

Modules, in the order data passes through them:

- ``config``      :class:`TrainConfig` (frozen, JSON, versioned): sampling, optimisation, beta, validation
- ``data``        random T-bar windows with pitch-shift augmentation -> :class:`~emostudio.model.Batch`
- ``schedules``   learning rate (warmup + cosine) and beta, pure functions of (step, config)
- ``loop``        :func:`train`: a generator of progress events honouring a cancel flag (DDP aware)
- ``validation``  :func:`evaluate`: the validation metrics and the score best/ is chosen by
- ``events``      the event kinds and their fields (what ``emostudio train --events`` prints)
- ``checkpoint``  run folders: best/ and last/ model folders, atomic resume state
- ``plot``        loss and accuracy curves of a run to PNG
- ``synthetic``   a synthetic corpus with known emotions, for tests and smoke runs
"""

from emostudio.training.config import TrainConfig
from emostudio.training.loop import TrainingError, train
from emostudio.training.validation import evaluate

__all__ = ["TrainConfig", "TrainingError", "evaluate", "train"]
