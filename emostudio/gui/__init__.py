"""The Qt desktop app: the only package that imports PySide6 and pyqtgraph.

Modules, in the order data passes through them (a file comes in, a take goes out):

Qt-free helpers (importable and tested without Qt):

- ``jobs``            the long-running work as generators of progress events (load a file, load a
                      model, generate, transfer, recognise, render WAV)
- ``roll_data``       a :class:`~emostudio.midi.Song` -> the arrays the piano roll draws
- ``curve``           a path drawn on the pad -> one :class:`~emostudio.emotion.Emotion` per bar

Qt:

- ``worker``          the one worker: runs a job generator off the GUI thread, emits its events
- ``document``        the session state: input song, takes, current take, target emotion
- ``edits``           the user's changes as undo steps (takes made, deleted, renamed; the curve)
- ``recovery``        the takes kept on disk as they are made; a crashed session's offered back
- ``qt_player``       the pure :class:`~emostudio.playback.Player` adapted to Qt signals
- ``theme``           the dark palette and the instrument-family colours
- ``pad``             the valence-arousal pad (target point, markers, emotion curve)
- ``target_panel``    the Target emotion box: the pad, the curve buttons, what the target is
- ``input_panel``     the Input box: the input piece described, and how the model hears it
- ``transform_panel`` lambda, dimensions, method, Keep (element locks), bars, temperature, seed;
  Generate / Transfer / Cancel
- ``donor_panel``     the donor piece (dropped or opened) and Take its rhythm / Take its key
- ``piano_roll``      the pyqtgraph piano roll (input and take, A/B, grid, playhead)
- ``takes``           the session's takes: rename, delete, export, drag out
- ``transport``       play / stop / loop, A/B source, output and soundfont choosers
- ``model_menu``      load another model folder, choose the device
- ``files``           dropped files, the recent-files menu, drag-out of a take
- ``file_actions``    open (dialog, drop, recent) and export a take (one dialog, MIDI or WAV)
- ``status``          the status bar: messages, file-job progress, the model's state
- ``actions``         the window's actions with their shortcuts, and its menus
- ``help_dialogs``    the model's card, the keyboard shortcuts (read from the actions), About
- ``model_control``   the engine in the window: load, generate, transfer, recognise (one job at a time)
- ``playback_control`` what plays (A input / B take), where (outputs opened in a worker), the playhead
- ``main_window``     composes all of the above and wires their signals
- ``app``             the QApplication and the window: what ``emostudio`` runs

This ``__init__`` imports nothing, so the Qt-free helpers stay importable without Qt.
"""
