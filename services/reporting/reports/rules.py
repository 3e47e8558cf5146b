"""Pure rules of the personalised report: masking personal data in remarks, and the charts
(inline SVG, self-contained) of its HTML page."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

_TITLE = r"(?:M\.|Mme|Mlle|Madame|Monsieur|Mademoiselle|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Docteur|Maître)"
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'\u2019-]*"
_PATTERNS = (
    (re.compile(rf"\b{_TITLE}\s+(?:{_NAME}\s?){{1,3}}"), lambda m: m.group(0).split()[0] + " ***"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), lambda m: "***@***"),
    (re.compile(r"(?:\+33\s?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b"), lambda m: "** ** ** ** **"),
)


def mask_personal_data(text: str) -> str:
    """Names after a civility title, e-mail addresses and phone numbers become ***; fieldwork
    masks names already, this is a second net on output."""
    for pattern, replace in _PATTERNS:
        text = pattern.sub(replace, text)
    return text.strip()


@dataclass(frozen=True)
class Bar:
    label: str
    values: Sequence[float | None]  # one per series


PALETTE = ("#1f4e79", "#f28e2b", "#76b7b2", "#59a14f")


def grouped_bars(title: str, series: Sequence[str], bars: Sequence[Bar]) -> str:
    """A horizontal grouped bar chart (0-100) as inline SVG."""
    row = 14 * max(len(series), 1) + 10
    width, left, top = 640, 200, 40
    height = top + row * len(bars) + 20
    scale = (width - left - 60) / 100
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, name in enumerate(series):
        x = left + i * 130
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{PALETTE[i]}"/>')
        parts.append(f'<text x="{x + 14}" y="33" font-size="11">{html.escape(name)}</text>')
    for index, bar in enumerate(bars):
        y = top + index * row
        parts.append(
            f'<text x="{left - 6}" y="{y + row / 2}" font-size="11" text-anchor="end">'
            f"{html.escape(bar.label[:32])}</text>"
        )
        for j, value in enumerate(bar.values):
            if value is None:
                continue
            w = max(value, 0) * scale
            parts.append(
                f'<rect class="bar" x="{left}" y="{y + j * 14}" width="{w:.1f}" height="12" '
                f'fill="{PALETTE[j]}"><title>{html.escape(bar.label)}: {value:.2f}</title></rect>'
                f'<text x="{left + w + 4:.1f}" y="{y + j * 14 + 10}" font-size="10">{value:.1f}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def gap_bars(title: str, gaps: Sequence[tuple[str, float]]) -> str:
    """Gaps to a reference, negative to the left of the axis, positive to the right."""
    width, left, row, top = 640, 200, 18, 30
    axis = left + (width - left) / 2
    height = top + row * len(gaps) + 10
    biggest = max((abs(g) for _, g in gaps), default=1.0) or 1.0
    scale = (width - left) / 2 / biggest * 0.85
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{axis}" y1="{top - 4}" x2="{axis}" y2="{height}" stroke="#888"/>',
    ]
    for index, (label, gap) in enumerate(gaps):
        y = top + index * row
        w = abs(gap) * scale
        x = axis if gap >= 0 else axis - w
        colour = "#59a14f" if gap >= 0 else "#e15759"
        parts.append(
            f'<text x="{left - 6}" y="{y + 11}" font-size="11" text-anchor="end">'
            f"{html.escape(label[:32])}</text>"
            f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="13" fill="{colour}">'
            f"<title>{html.escape(label)}: {gap:+.2f}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)
