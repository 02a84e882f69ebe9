"""The dark, DAW-style look: one palette, one style sheet, and a colour per instrument family."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from emostudio.midi import Family

BACKGROUND = "#1e2026"
PANEL = "#262931"
BASE = "#16181d"
RAISED = "#30343e"
BORDER = "#3a3f4b"
TEXT = "#dfe2e8"
DIM_TEXT = "#8b92a1"
ACCENT = "#4fa3ff"
WARNING = "#ffb454"
ERROR = "#ff6b6b"

#: Instrument-family colours in the piano roll and the legend.
FAMILY_COLOURS = {
    Family.DRUMS: "#b0b6c2",
    Family.PIANO: "#4fa3ff",
    Family.GUITAR: "#ffb454",
    Family.BASS: "#5fd68a",
    Family.STRINGS: "#e36bd6",
}
#: The input piece drawn under a take in overlay mode.
INPUT_COLOUR = "#7d8597"

#: Take markers on the pad.
CURRENT_TAKE = "#ffd166"
OTHER_TAKE = "#9aa3b5"

#: Pad quadrants (valence sign, arousal sign) -> tint.
QUADRANT_COLOURS = {
    "happy": "#3d5a2a",
    "tense": "#5a2a2a",
    "sad": "#2a3a5a",
    "calm": "#2a5050",
}

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; font-size: 10pt; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px; }}
QGroupBox {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px;
    margin-top: 14px; padding: 10px 8px 8px 8px; font-weight: bold;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {DIM_TEXT}; }}
QPushButton, QToolButton {{
    background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px; padding: 5px 12px;
}}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed, QToolButton:pressed, QToolButton:checked, QPushButton:checked {{
    background: #2b4a6e; border-color: {ACCENT};
}}
QPushButton:disabled, QToolButton:disabled {{ color: #5c6270; border-color: #30343e; }}
QPushButton#primary {{ background: #2d6cb5; border-color: #3b82d6; font-weight: bold; }}
QPushButton#primary:hover {{ background: #3579c7; }}
QPushButton#primary:disabled {{ background: {RAISED}; border-color: {BORDER}; }}
QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 4px; padding: 3px 6px;
    selection-background-color: {ACCENT};
}}
QComboBox QAbstractItemView {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QListWidget {{ background: {BASE}; border: 1px solid {BORDER}; border-radius: 4px; }}
QListWidget::item {{ padding: 5px 4px; }}
QListWidget::item:selected {{ background: #2b4a6e; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT}; width: 14px; height: 14px; margin: -6px 0; border-radius: 7px;
}}
QProgressBar {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 4px; text-align: center;
    height: 14px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QStatusBar {{ background: {PANEL}; color: {DIM_TEXT}; border-top: 1px solid {BORDER}; }}
QMenuBar {{ background: {PANEL}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: #2b4a6e; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QToolBar {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; spacing: 6px; padding: 4px; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
QCheckBox::indicator {{ width: 14px; height: 14px; }}
QLabel#dim {{ color: {DIM_TEXT}; }}
QLabel#time {{ font-family: monospace; font-size: 12pt; color: {TEXT}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette and the style sheet, for the whole application."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.Window: BACKGROUND,
        QPalette.WindowText: TEXT,
        QPalette.Base: BASE,
        QPalette.AlternateBase: PANEL,
        QPalette.ToolTipBase: RAISED,
        QPalette.ToolTipText: TEXT,
        QPalette.Text: TEXT,
        QPalette.Button: RAISED,
        QPalette.ButtonText: TEXT,
        QPalette.Highlight: ACCENT,
        QPalette.HighlightedText: "#ffffff",
        QPalette.PlaceholderText: DIM_TEXT,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#5c6270"))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#5c6270"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
