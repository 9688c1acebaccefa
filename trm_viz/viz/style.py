"""The marks every picture shares (changed / right / wrong colours, the heat colour map, fonts), so the PIL images,
the SVG curve and the in-browser step viewer all speak the same visual language. Task looks (digits, wall colours,
ARC palette) are not here: they come from ``task.render`` and ``task.legend``."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import ImageColor, ImageFont

CHANGED = "#f59e0b"     # amber outline: the cell's value differs from the previous step
RIGHT = "#16a34a"       # green corner: the cell matches the known solution
WRONG = "#dc2626"       # red corner: the cell does not match the known solution
Q_HALT = "#7c3aed"      # violet: halting probability
ACCURACY = "#16a34a"    # green: fraction of cells right
CONFIDENCE = "#2563eb"  # blue: mean probability of the chosen tokens
THRESHOLD = "#6b7280"   # grey: the 0.5 halting threshold
CURSOR = "#f59e0b"      # the step being looked at

# How strongly a cell is washed towards white when the model is unsure: alpha = SHADE_MAX * (1 - confidence).
SHADE_MAX = 0.6

# A perceptually ordered dark-blue -> teal -> yellow ramp (viridis anchors), interpolated in numpy so that no
# plotting library has to be imported just to colour a heat map.
_HEAT_ANCHORS = np.array([
    (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
    (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37),
], dtype=np.float64)


def heat_rgb(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB of shape (..., 3) on the heat ramp; NaN maps to 0."""
    v = np.nan_to_num(np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0))
    pos = v * (len(_HEAT_ANCHORS) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(_HEAT_ANCHORS) - 1)
    t = (pos - lo)[..., None]
    return np.round(_HEAT_ANCHORS[lo] * (1 - t) + _HEAT_ANCHORS[hi] * t).astype(np.uint8)


def heat_css(value: float) -> str:
    r, g, b = heat_rgb(np.array([value]))[0]
    return f"#{r:02x}{g:02x}{b:02x}"


def rgb(color: str) -> tuple[int, int, int]:
    """CSS colour (#rgb, #rrggbb, rgb(...), a name) -> (r, g, b); unknown colours become mid grey, not an error,
    because a legend typo should not take the picture down."""
    try:
        return ImageColor.getrgb(color)[:3]
    except (ValueError, AttributeError):
        return (128, 128, 128)


def ink_on(color: str) -> str:
    """The text colour that reads best on ``color`` (WCAG contrast): white on the dark end of the heat ramp,
    near-black on its light end."""
    def lum(c: tuple[int, int, int]) -> float:
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    bg = lum(rgb(color))
    return "#ffffff" if (1.05 / (bg + 0.05)) > (bg + 0.05) / (lum(rgb("#111827")) + 0.05) else "#111827"


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled scalable font at ``size`` px (the bitmap fallback only if FreeType is missing)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return ImageFont.load_default()


def default_cell_px(h: int, w: int, budget: int = 480, largest: int = 32, smallest: int = 6) -> int:
    """Cell size that keeps a grid within ``budget`` px (a 9x9 Sudoku gets 32 px cells, a 30x30 maze 16 px)."""
    return int(max(smallest, min(largest, budget // max(1, h, w))))
