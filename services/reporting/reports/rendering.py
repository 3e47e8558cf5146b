"""The personalised report as one self-contained HTML page (inline CSS and SVG charts, no
script, no external resource), pure: a report document in, a page out."""

from __future__ import annotations

import html
from typing import Any

from services.reporting.reports.rules import Bar, gap_bars, grouped_bars

CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;color:#222;max-width:60em}
h1{color:#1f4e79}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:first-child,th:first-child{text-align:left}.withheld{color:#888;font-style:italic}
section{page-break-inside:avoid;margin-bottom:1.5em}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _mean(comparison: dict[str, Any]) -> float | None:
    return None if comparison["withheld"] else comparison["mean"]


def _cell(comparison: dict[str, Any], field: str) -> str:
    if comparison["withheld"]:
        return f'<td class="withheld">{_e(comparison["reason"])}</td>'
    return f"<td>{_e(comparison.get(field))}</td>"


def _table(entries: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(e['key'])}</td><td>{_e(e['score'])}</td><td>{_e(e['audits'])}</td>"
        f"{_cell(e['stratum'], 'mean')}{_cell(e['stratum'], 'rank')}{_cell(e['sample'], 'mean')}</tr>"
        for e in entries
    )
    return (
        "<table><tr><th></th><th>score</th><th>audits</th><th>stratum mean</th>"
        f"<th>rank in stratum</th><th>sample mean</th></tr>{rows}</table>"
    )


def render_report(report: dict[str, Any]) -> str:
    structure, overall = report["structure"], report["overall"] or {}
    series = ("Structure", "Stratum mean", "Sample mean")

    def bars(entries: list[dict[str, Any]]) -> list[Bar]:
        return [
            Bar(e["key"], (e["score"], _mean(e["stratum"]), _mean(e["sample"]))) for e in entries
        ]

    criteria_gaps = [
        (e["key"], e["stratum"]["gap_to_mean"])
        for e in report["criteria"]
        if not e["stratum"]["withheld"]
    ]
    evolution = [Bar(str(h["year"]), (h["score"],)) for h in report["evolution"]]
    synthesis = report["synthesis"]
    remarks = "".join(
        f"<li><b>{_e(r['channel'])}</b>: {_e(r['remark'])}</li>" for r in report["remarks"]
    )
    perceived = report["perceived_quality"]
    perceived_html = (
        f'<p class="withheld">{_e(perceived["reason"])}</p>'
        if perceived["withheld"]
        else f"<p>Satisfaction index: {_e(perceived['satisfaction_index'])}/100 "
        f"({_e(perceived['responses'])} answers)</p>"
    )

    def listing(items: list[dict[str, Any]]) -> str:
        return "".join(
            f"<li>{_e(g['dimension'])} {_e(g['key'])}: {_e(g['score'])} "
            f"({g['gap']:+.2f} against {_e(g['reference_mean'])})</li>"
            for g in items
        )

    ci = overall.get("confidence_interval_95") or {"withheld": True, "reason": "no score"}
    ci_text = (
        _e(ci["reason"])
        if ci["withheld"]
        else f"95% confidence interval {ci['low']} to {ci['high']}"
    )
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{_e(structure["name"])} — rapport personnalisé</title>
<style>{CSS}</style></head><body>
<h1 id="structure-name">{_e(structure["name"])}</h1>
<p>{_e(report["edition"]["name"])} ({_e(report["edition"]["year"])}) — stratum {_e(structure["stratum"]["label"])}</p>
<section id="overall"><h2>Overall performance</h2>
<p><b>{_e(overall.get("score"))}/100</b> over {_e(overall.get("audits"))} audits; {ci_text}</p>
{_table([overall] if overall else [])}</section>
<section id="channels"><h2>Channels</h2>{grouped_bars("Channels against stratum and sample", series, bars(report["channels"]))}
{_table(report["channels"])}</section>
<section id="journey-steps"><h2>Journey steps</h2>{grouped_bars("Journey steps", series, bars(report["journey_steps"]))}
{_table(report["journey_steps"])}</section>
<section id="criteria"><h2>Criteria</h2>{gap_bars("Gaps to the stratum mean per criterion", criteria_gaps)}
{_table(report["criteria"])}</section>
<section id="items"><h2>Items</h2>{_table(report["items"])}</section>
<section id="evolution"><h2>Evolution</h2>{grouped_bars("Overall score per edition", ("Structure",), evolution)}</section>
<section id="synthesis"><h2>Strengths</h2><ul>{listing(synthesis["strengths"])}</ul>
<h2>Points for progress</h2><ul>{listing(synthesis["points_for_progress"])}</ul></section>
<section id="perceived"><h2>Perceived quality</h2>{perceived_html}</section>
<section id="remarks"><h2>Auditors' remarks</h2><ul>{remarks}</ul></section>
<footer><small>{_e(report["precision"])}. {_e(report["confidence_interval_method"])}.</small></footer>
</body></html>"""
