"""Inline SVG charts for reports: no scripts, no fonts to fetch, readable without colour.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that
states the data in words (what a screen reader reads, and the alt text of the
figure). Colours come from the Okabe-Ito palette (distinguishable with the
common colour-vision deficiencies); the heatmap uses a blue-white-orange
diverging scale and prints each cell's value, so no reading depends on colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["PALETTE", "band_line", "bar_chart", "count_bars", "heatmap", "line_chart"]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _fmt(v: float) -> str:
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 0.01 else f"{v:.3f}".rstrip("0").rstrip(".")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 12) for i in range(int((hi - start) / step) + 1)]


def _extent(values: Sequence[float], *, pad: float) -> tuple[float, float]:
    """The axis range of ``values`` (0..1 when empty, +-1 around a single value), widened by ``pad`` of its span on each side."""
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    return lo - pad * (hi - lo), hi + pad * (hi - lo)


def _open(width: int, height: int, title: str, desc: str, ident: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{ident}-t {ident}-d" {FONT} font-size="12">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    cis: Sequence[tuple[float | None, float | None]] | None = None,
    *,
    title: str,
    ident: str,
    axis_label: str,
    reference: float | None = 0.0,
    notes: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
) -> str:
    """Horizontal bars with interval whiskers and a reference line; missing values are marked, not drawn as 0."""
    cis = cis or [(None, None)] * len(labels)
    notes = notes or [""] * len(labels)
    label_w = min(260, 14 + 7 * max((len(s) for s in labels), default=4))
    plot_w, row_h, top = 300, 26, 10
    width, height = label_w + plot_w + 110, top + row_h * len(labels) + 44
    finite = [v for v in values if v is not None and math.isfinite(v)]
    finite += [c for pair in cis for c in pair if c is not None and math.isfinite(c)]
    finite += [reference] if reference is not None else []
    lo, hi = _extent(finite, pad=0.05)

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    words = []
    for name, v, (a, b) in zip(labels, values, cis):
        words.append(f"{name}: " + ("undefined" if v is None else _fmt(v) + (f" (interval {_fmt(a)} to {_fmt(b)})" if a is not None and b is not None else "")))
    out = _open(width, height, title, f"{axis_label}. " + "; ".join(words) + ".", ident)
    axis_y = top + row_h * len(labels)
    for t in _ticks(lo, hi):
        out.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#333">{_fmt(t)}</text>')
    out.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{axis_y + 32}" text-anchor="middle" fill="#111">{escape(axis_label)}</text>')
    if reference is not None:
        out.append(f'<line x1="{x(reference):.1f}" y1="{top - 4}" x2="{x(reference):.1f}" y2="{axis_y}" stroke="#444" stroke-dasharray="4 3"/>')
    base = reference if reference is not None and lo <= reference <= hi else lo
    for i, (name, v, (a, b), note) in enumerate(zip(labels, values, cis, notes)):
        cy = top + row_h * i + row_h / 2
        out.append(f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" fill="#111">{escape(name)}</text>')
        if v is None or not math.isfinite(v):
            out.append(f'<text x="{label_w + 6}" y="{cy + 4:.1f}" fill="#555" font-style="italic">undefined</text>')
            continue
        color = colors[i] if colors else PALETTE[0]
        x0, x1 = sorted((x(base), x(v)))
        out.append(f'<rect x="{x0:.1f}" y="{cy - 8:.1f}" width="{max(x1 - x0, 1):.1f}" height="16" fill="{color}" fill-opacity="0.85"/>')
        if a is not None and b is not None:
            out.append(f'<line x1="{x(a):.1f}" y1="{cy:.1f}" x2="{x(b):.1f}" y2="{cy:.1f}" stroke="#000" stroke-width="1.5"/>')
            for end in (a, b):
                out.append(f'<line x1="{x(end):.1f}" y1="{cy - 5:.1f}" x2="{x(end):.1f}" y2="{cy + 5:.1f}" stroke="#000" stroke-width="1.5"/>')
        text = _fmt(v) + (f" {note}" if note else "")
        out.append(f'<text x="{label_w + plot_w + 8}" y="{cy + 4:.1f}" fill="#111">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _diverging(t: float) -> str:
    """t in [-1, 1] -> blue (negative), white (0), orange (positive)."""
    t = max(-1.0, min(1.0, t))
    end = (33, 102, 172) if t < 0 else (230, 97, 1)
    r, g, b = (round(255 + (c - 255) * abs(t)) for c in end)
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: dict[tuple[str, str], tuple[float | None, int]],
    *,
    title: str,
    ident: str,
    row_label: str,
    col_label: str,
    metric: str,
) -> str:
    """A grid of cells coloured by value (diverging around 0), each labelled with its value and group size."""
    cell_w, cell_h = 92, 40
    left = max(70, min(240, 20 + 7 * max((len(r) for r in rows), default=4)))
    top = 40 + min(130, 6 * max((len(c) for c in cols), default=4))  # room for the slanted column names
    width, height = max(left + cell_w * len(cols) + 20, 600), top + cell_h * len(rows) + 40
    finite = [abs(v) for v, _ in values.values() if v is not None and math.isfinite(v)]
    scale = max(finite) if finite else 1.0
    words = [f"{r} and {c}: " + ("no rows" if (r, c) not in values else ("undefined" if values[(r, c)][0] is None else _fmt(values[(r, c)][0] or 0.0)) + f" (n={values[(r, c)][1]})")
             for r in rows for c in cols if (r, c) in values]  # fmt: skip
    out = _open(width, height, title, f"{metric} by {row_label} (rows) and {col_label} (columns). " + "; ".join(words) + ".", ident)
    out.append(f'<text x="{left + cell_w * len(cols) / 2:.1f}" y="14" text-anchor="middle" fill="#111" font-weight="600">{escape(col_label)}</text>')
    out.append(f'<text x="4" y="{top - 8}" fill="#111" font-weight="600">{escape(row_label)}</text>')
    for j, c in enumerate(cols):
        cx = left + cell_w * j + cell_w / 2
        out.append(f'<text x="{cx:.1f}" y="{top - 8}" text-anchor="start" fill="#111" transform="rotate(-40 {cx:.1f} {top - 8})">{escape(c)}</text>')
    for i, r in enumerate(rows):
        cy = top + cell_h * i
        out.append(f'<text x="{left - 8}" y="{cy + cell_h / 2 + 4:.1f}" text-anchor="end" fill="#111">{escape(r)}</text>')
        for j, c in enumerate(cols):
            cx = left + cell_w * j
            if (r, c) not in values:
                out.append(f'<rect x="{cx}" y="{cy}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#f4f4f4" stroke="#ccc"/>')
                out.append(f'<text x="{cx + cell_w / 2:.1f}" y="{cy + cell_h / 2 + 4:.1f}" text-anchor="middle" fill="#666">no rows</text>')
                continue
            v, n = values[(r, c)]
            fill = _diverging((v or 0.0) / scale) if v is not None else "#f4f4f4"
            dark = v is not None and abs(v) / scale > 0.6
            out.append(f'<rect x="{cx}" y="{cy}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}" stroke="#999"/>')
            text = "undefined" if v is None else _fmt(v)
            color = "#fff" if dark else "#111"
            out.append(f'<text x="{cx + cell_w / 2:.1f}" y="{cy + 17}" text-anchor="middle" fill="{color}" font-weight="600">{text}</text>')
            out.append(f'<text x="{cx + cell_w / 2:.1f}" y="{cy + 31}" text-anchor="middle" fill="{color}" font-size="10">n={n:,}</text>')
    out.append(f'<text x="4" y="{height - 12}" fill="#333" font-size="11">Blue: below 0; orange: above 0 (full colour at +-{_fmt(scale)}); n: rows.</text>')
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    xs: Sequence[float | str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    ident: str,
    x_label: str,
    y_label: str,
    faint: Sequence[Sequence[float]] = (),
) -> str:
    """Lines over a numeric or categorical x axis; ``faint`` lines (ICE curves) are drawn thin and grey underneath."""
    width, height, left, right, top, bottom = 520, 280, 60, 20, 14, 50
    categorical = any(isinstance(v, str) for v in xs)
    pos = list(range(len(xs))) if categorical else [float(v) for v in xs]  # type: ignore[arg-type]
    x_lo, x_hi = _extent(pos, pad=0.0)
    y_lo, y_hi = _extent([v for _, s in series for v in s] + [v for s in faint for v in s], pad=0.05)

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (width - left - right)

    def py(v: float) -> float:
        return top + (1 - (v - y_lo) / (y_hi - y_lo)) * (height - top - bottom)

    main = series[0][1] if series else []
    words = "; ".join(f"{x}: {_fmt(y)}" for x, y in zip(xs, main))
    out = _open(width, height, title, f"{y_label} against {x_label}. {series[0][0] if series else ''}: {words}.", ident)
    for t in _ticks(y_lo, y_hi):
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{width - right}" y2="{py(t):.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end" fill="#333">{_fmt(t)}</text>')
    if categorical:
        for p, label in zip(pos, xs):
            out.append(f'<text x="{px(p):.1f}" y="{height - bottom + 16}" text-anchor="end" fill="#333" font-size="10" '
                       f'transform="rotate(-30 {px(p):.1f} {height - bottom + 16})">{escape(str(label)[:18])}</text>')  # fmt: skip
    else:
        for t in _ticks(x_lo, x_hi):
            out.append(f'<text x="{px(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#333">{_fmt(t)}</text>')
    out.append(f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#111">{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{top + (height - top - bottom) / 2:.1f}" text-anchor="middle" fill="#111" '
               f'transform="rotate(-90 14 {top + (height - top - bottom) / 2:.1f})">{escape(y_label)}</text>')  # fmt: skip
    for s in faint:
        pts = " ".join(f"{px(p):.1f},{py(v):.1f}" for p, v in zip(pos, s))
        out.append(f'<polyline points="{pts}" fill="none" stroke="#9a9a9a" stroke-opacity="0.35" stroke-width="1"/>')
    for k, (_name, s) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{px(p):.1f},{py(v):.1f}" for p, v in zip(pos, s))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for p, v in zip(pos, s):
            out.append(f'<circle cx="{px(p):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
    if len(series) > 1:  # a legend when there is more than one line
        for k, (name, _) in enumerate(series):
            y = top + 12 + 14 * k
            out.append(f'<line x1="{left + 8}" y1="{y - 4}" x2="{left + 24}" y2="{y - 4}" stroke="{PALETTE[k % len(PALETTE)]}" stroke-width="2.5"/>')
            out.append(f'<text x="{left + 28}" y="{y}" fill="#111" font-size="11">{escape(str(name)[:40])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def scatter_chart(
    points: Sequence[tuple[str, float, float, tuple[float | None, float | None], tuple[float | None, float | None], bool]],
    *,
    title: str,
    ident: str,
    x_label: str,
    y_label: str,
) -> str:
    """Labelled points (name, x, y, x interval, y interval, highlighted) with interval whiskers on both axes; highlighted points
    (the Pareto front) are joined by a line and drawn filled, the others hollow."""
    width, height, left, right, top, bottom = 720, 360, 64, 260, 14, 50
    xs = [v for _, x, _, (lo, hi), _, _ in points for v in (x, lo, hi) if v is not None]
    ys = [v for _, _, y, _, (lo, hi), _ in points for v in (y, lo, hi) if v is not None]
    x_lo, x_hi = _extent(xs + [0.0], pad=0.05)
    y_lo, y_hi = _extent(ys, pad=0.08)

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (width - left - right)

    def py(v: float) -> float:
        return top + (1 - (v - y_lo) / (y_hi - y_lo)) * (height - top - bottom)

    words = "; ".join(f"{name}: {x_label} {_fmt(x)}, {y_label} {_fmt(y)}{' (on the front)' if front else ''}" for name, x, y, _, _, front in points)
    out = _open(width, height, title, f"{y_label} against {x_label} for each method. {words}.", ident)
    for t in _ticks(y_lo, y_hi):
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{width - right}" y2="{py(t):.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end" fill="#333">{_fmt(t)}</text>')
    for t in _ticks(x_lo, x_hi):
        out.append(f'<text x="{px(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#333">{_fmt(t)}</text>')
    out.append(f'<line x1="{px(0.0):.1f}" y1="{top}" x2="{px(0.0):.1f}" y2="{height - bottom}" stroke="#555" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#111">{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{top + (height - top - bottom) / 2:.1f}" text-anchor="middle" fill="#111" '
               f'transform="rotate(-90 14 {top + (height - top - bottom) / 2:.1f})">{escape(y_label)}</text>')  # fmt: skip
    front = sorted((x, y) for _, x, y, _, _, f in points if f)
    if len(front) > 1:
        out.append(f'<polyline points="{" ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in front)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>')
    for k, (name, x, y, (xl, xh), (yl, yh), on_front) in enumerate(points):
        color = PALETTE[k % len(PALETTE)]
        if xl is not None and xh is not None:
            out.append(f'<line x1="{px(xl):.1f}" y1="{py(y):.1f}" x2="{px(xh):.1f}" y2="{py(y):.1f}" stroke="{color}" stroke-width="1.2"/>')
        if yl is not None and yh is not None:
            out.append(f'<line x1="{px(x):.1f}" y1="{py(yl):.1f}" x2="{px(x):.1f}" y2="{py(yh):.1f}" stroke="{color}" stroke-width="1.2"/>')
        fill = color if on_front else "#fff"
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="{fill}" stroke="{color}" stroke-width="2"/>')
        mark = "\u25cf" if on_front else "\u25cb"
        out.append(f'<text x="{width - right + 8}" y="{top + 14 + 16 * k}" fill="{color}" font-size="11">{mark} {escape(name[:44])}</text>')
    out.append("</svg>")
    return "\n".join(out)


# == series over time windows (the service's dashboard) ==============================
W, H, PAD = 640, 150, 34


def _frame(title: str, body: str, starts: list[str]) -> str:
    first, last = (escape(starts[0][:16].replace("T", " ")), escape(starts[-1][:16].replace("T", " "))) if starts else ("", "")
    return (f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}" width="100%" style="max-width:{W}px" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>"
            f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#999"/>{body}'
            f'<text x="{PAD}" y="{H - 12}" font-size="11" fill="#444">{first}</text>'
            f'<text x="{W - 8}" y="{H - 12}" font-size="11" fill="#444" text-anchor="end">{last}</text></svg>')  # fmt: skip


def count_bars(values: list[int], starts: list[str], title: str) -> str:
    """A count per time window as bars (vermillion when above 0, a grey tick at 0), the first and last window named."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = (W - PAD - 8) / len(values)
    bars = []
    for i, v in enumerate(values):
        h = (H - 2 * PAD) * v / top
        x = PAD + i * step + step * 0.15
        colour = "#D55E00" if v else "#bbb"
        bars.append(f'<rect x="{x:.1f}" y="{H - PAD - max(h, 1.5):.1f}" width="{step * 0.7:.1f}" height="{max(h, 1.5):.1f}" fill="{colour}">'
                    f"<title>{escape(starts[i][:16].replace('T', ' '))}: {v} violation(s)</title></rect>")  # fmt: skip
    axis = f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="11" text-anchor="end" fill="#444">{top}</text>'
    return _frame(title, axis + "".join(bars), starts)


def band_line(points: list[dict[str, Any] | None], starts: list[str], title: str) -> str:
    """A metric per time window as a line with its interval as a band (``{"value", "ci"}`` per window; None: no point)."""
    idx = [i for i, p in enumerate(points) if p and p.get("value") is not None]
    if not idx:
        return ""
    got: dict[int, dict[str, Any]] = {i: points[i] for i in idx}  # type: ignore[misc]
    lows = [got[i]["ci"][0] if got[i].get("ci") and got[i]["ci"][0] is not None else got[i]["value"] for i in idx]
    highs = [got[i]["ci"][1] if got[i].get("ci") and got[i]["ci"][1] is not None else got[i]["value"] for i in idx]
    lo, hi = min(lows), max(highs)
    lo, hi = (lo - 0.05, hi + 0.05) if hi - lo < 1e-9 else (lo, hi)
    n = len(points)

    def x(i: int) -> float:
        return PAD + (W - PAD - 8) * (i + 0.5) / n

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo)

    band = " ".join(f"{x(i):.1f},{y(h):.1f}" for i, h in zip(idx, highs)) + " " + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(zip(idx, lows))))
    line = " ".join(f"{x(i):.1f},{y(got[i]['value']):.1f}" for i in idx)
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(got[i]["value"]):.1f}" r="2.5" fill="#0072B2"><title>{escape(starts[i][:16].replace("T", " "))}: '
        f"{got[i]['value']:.3f} [{lows[k]:.3f}, {highs[k]:.3f}]</title></circle>"
        for k, i in enumerate(idx)
    )
    axis = (f'<text x="{PAD - 4}" y="{y(hi) + 4:.1f}" font-size="11" text-anchor="end" fill="#444">{hi:.2f}</text>'
            f'<text x="{PAD - 4}" y="{y(lo) + 4:.1f}" font-size="11" text-anchor="end" fill="#444">{lo:.2f}</text>')  # fmt: skip
    return _frame(title, axis + f'<polygon points="{band}" fill="#0072B2" fill-opacity="0.18"/>'
                  f'<polyline points="{line}" fill="none" stroke="#0072B2" stroke-width="1.8"/>' + dots, starts)  # fmt: skip
