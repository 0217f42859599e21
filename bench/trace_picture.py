"""Draw one trace's spans as an SVG timeline (what docs/images/trace-cold-call.svg shows).

Input: a JSON list of spans as e2e/test_tracing.py keeps them (``KAPPA_E2E_TRACE_OUT``):
service, name, spanId, parentSpanId, start and end (Unix nanoseconds), attributes. One row
per span, parents first, bars to scale, each labelled with its service, name and
duration; the agent's init time is noted where it says cold. Standard library only.

    KAPPA_E2E_TRACE_OUT=/tmp/cold.json pytest e2e/test_tracing.py -m e2e
    python bench/trace_picture.py /tmp/cold.json docs/images/trace-cold-call.svg
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

WIDTH, LEFT, ROW, TOP = 900, 330, 38, 40
COLOURS = {"kappa-gateway": "#4c78a8", "kappa-agent": "#f58518", "handler": "#54a24b"}


def ordered(spans: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, span), each parent before its children, siblings by start."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {s["spanId"] for s in spans}
    for span in spans:
        parent = span.get("parentSpanId") if span.get("parentSpanId") in ids else None
        children.setdefault(parent, []).append(span)
    rows: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s["start"]):
            rows.append((depth, span))
            walk(span["spanId"], depth + 1)

    walk(None, 0)
    return rows


def svg(spans: list[dict[str, Any]]) -> str:
    rows = ordered(spans)
    start = min(s["start"] for s in spans)
    total = max(s["end"] for s in spans) - start or 1
    scale = (WIDTH - LEFT - 20) / total
    height = TOP + ROW * len(rows) + 40
    trace = spans[0].get("traceId", "")
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            'font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14">A cold call, one trace: {escape(trace)}</text>',
    ]
    for index, (depth, span) in enumerate(rows):
        y = TOP + index * ROW
        x = LEFT + (span["start"] - start) * scale
        width = max(2.0, (span["end"] - span["start"]) * scale)
        millis = (span["end"] - span["start"]) / 1e6
        colour = COLOURS.get(span.get("service", ""), "#999999")
        label = f"{span.get('service')}: {span.get('name')}, {millis:.1f} ms"
        parts.append(f'<text x="{10 + depth * 12}" y="{y + 12}">{escape(label)}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="14" fill="{colour}"/>')
        init = (span.get("attributes") or {}).get("kappa.init_duration_ms")
        if init:
            note = f"cold: the runtime's init took {float(init):.0f} ms, before the call reached it"
            parts.append(
                f'<text x="{10 + depth * 12}" y="{y + 26}" fill="#555555">{escape(note)}</text>'
            )
    parts.append(
        f'<text x="{LEFT}" y="{height - 12}" fill="#555555">0 ms</text>'
        f'<text x="{WIDTH - 80}" y="{height - 12}" fill="#555555">{total / 1e6:.0f} ms</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    Path(target).write_text(svg(json.loads(Path(source).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
