"""The training wizard's Qt pages: views over the Qt-free :mod:`emostudio.wizard` flow.

- ``data_page``    folders, label file, the background scan and its findings; earlier runs
- ``model_page``   from scratch or fine-tune, size preset, epochs, device, measured time per epoch
- ``train_page``   the ``emostudio train`` child: progress, times, live curves (pyqtgraph), log,
                   Pause / Resume / Cancel
- ``finish_page``  validation summary, generated examples to audition, "Use this model"
- ``window``       :class:`TrainingWizard`: the pages, Back / Next and the reason Next is blocked
"""
