"""The training wizard's Qt-free flow: from folders of the user's MIDI to a trained model.

Modules, in the order data passes through them:

- ``labels``    where a folder's emotion labels come from (a CSV, sub-folders per emotion,
                ``Q1_...`` names, or none) and the ``path -> quadrant`` mapping they give
- ``scan``      the Data page's background scan through the corpus pipeline -> a summary
- ``flow``      the pages, the user's choices and what blocks Next (with the reason)
- ``plan``      the choices -> a run folder, a training config and the ``emostudio train`` command
- ``estimate``  the time per epoch, measured with a few real training steps
- ``runner``    the ``emostudio train`` child process: its JSON events parsed, pause, kill, crashes
- ``runs``      earlier run folders that can be resumed

The Qt pages in :mod:`emostudio.gui.wizard` only show this state and write the user's choices.
"""
