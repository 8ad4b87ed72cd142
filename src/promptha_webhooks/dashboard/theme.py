"""The customer portal's theme as a stylesheet: the primary colour (with black or white text on
it, whichever contrasts more, so WCAG AA holds for any colour) and dark or light mode. Served as
a file (CSP: style-src 'self', no inline styles)."""

from __future__ import annotations

from promptha_webhooks.portal import PortalTheme

BLACK = "#000000"
WHITE = "#ffffff"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ink_on(color: str) -> str:
    """Black or white: the text colour with more contrast on `color` (at least 4.58:1)."""
    return BLACK if contrast_ratio(color, BLACK) >= contrast_ratio(color, WHITE) else WHITE


def stylesheet(theme: PortalTheme) -> str:
    """The portal's stylesheet: the primary colour on the brand mark and primary buttons."""
    if theme.primary_color is None:
        return "/* the dashboard's own colours */\n"
    color = theme.primary_color
    ink = ink_on(color)
    return (
        f":root {{ --brand: {color}; --brand-ink: {ink}; }}\n"
        ".brand-mark, .btn-primary { background: var(--brand); border-color: var(--brand); "
        "color: var(--brand-ink); }\n"
        ".btn-primary:hover { background: var(--brand); filter: brightness(0.92); }\n"
    )
