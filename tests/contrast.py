"""WCAG contrast of what a browser painted: an element's text colour against the first background behind it."""
from __future__ import annotations

PAINTED = """(e) => {
  const rgba = (s) => (s.match(/[0-9.]+/g) || []).map(Number);
  let b = e, bg = null;
  while (b && !bg) {
    const c = rgba(getComputedStyle(b).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) bg = c.slice(0, 3);
    b = b.parentElement;
  }
  return [rgba(getComputedStyle(e).color).slice(0, 3), bg || [255, 255, 255]];
}"""


def luminance(rgb) -> float:
    lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(page, selector: str) -> float:
    """Contrast ratio (1-21) of the first element matching ``selector``: its colour against its background."""
    fg, bg = page.locator(selector).first.evaluate(PAINTED)
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def colour(page, selector: str) -> list[int]:
    return page.locator(selector).first.evaluate(PAINTED)[0]
