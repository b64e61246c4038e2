"""Small SVG charts for docs/benchmarks.md, written directly (no plotting library).

`bars` draws grouped bars (one group per category, one bar per series);
`lines` draws one polyline per series over a log-scaled x axis. Both return the
SVG text; scripts/bench_report.py writes it under docs/bench/.
"""
import math

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
W, H, L, R, T, B = 640, 340, 70, 20, 40, 60


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _frame(title, ylabel, xlabel):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">{_esc(title)}</text>',
        f'<text x="14" y="{T + (H - T - B) / 2}" transform="rotate(-90 14 {T + (H - T - B) / 2})" '
        f'text-anchor="middle">{_esc(ylabel)}</text>',
        f'<text x="{L + (W - L - R) / 2}" y="{H - 8}" text-anchor="middle">{_esc(xlabel)}</text>',
        f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
        f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
    ]


def _nice_max(v):
    if v <= 0:
        return 1
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def _fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def _y_axis(out, ymax, hline=None):
    for i in range(6):
        v = ymax * i / 5
        y = H - B - (H - T - B) * i / 5
        out.append(f'<line x1="{L - 4}" y1="{y}" x2="{W - R}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 6}" y="{y + 4}" text-anchor="end">{_fmt(v)}</text>')
    if hline is not None and hline <= ymax:
        y = H - B - (H - T - B) * hline / ymax
        out.append(f'<line x1="{L}" y1="{y}" x2="{W - R}" y2="{y}" stroke="#d62728" stroke-dasharray="5,4"/>')
        out.append(f'<text x="{W - R - 2}" y="{y - 4}" text-anchor="end" fill="#d62728">target {_fmt(hline)}</text>')


def _legend(out, names):
    x = L + 10
    for i, n in enumerate(names):
        out.append(f'<rect x="{x}" y="{T - 14}" width="10" height="10" fill="{COLORS[i % len(COLORS)]}"/>')
        out.append(f'<text x="{x + 14}" y="{T - 5}">{_esc(n)}</text>')
        x += 20 + 7 * len(n)


def bars(title, ylabel, categories, series, hline=None):
    """`series`: {name: [value or None per category]}."""
    out = _frame(title, ylabel, "")
    vals = [v for vs in series.values() for v in vs if v is not None]
    ymax = _nice_max(max(vals + [hline or 0, 1e-9]) * 1.05)
    _y_axis(out, ymax, hline)
    gw = (W - L - R) / max(len(categories), 1)
    bw = gw * 0.8 / max(len(series), 1)
    for ci, c in enumerate(categories):
        gx = L + gw * ci + gw * 0.1
        out.append(f'<text x="{L + gw * (ci + 0.5)}" y="{H - B + 16}" text-anchor="middle">{_esc(c)}</text>')
        for si, (name, vs) in enumerate(series.items()):
            v = vs[ci]
            if v is None:
                continue
            h = (H - T - B) * v / ymax
            x = gx + bw * si
            out.append(f'<rect x="{x:.1f}" y="{H - B - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
                       f'fill="{COLORS[si % len(COLORS)]}"><title>{_esc(name)}: {v:g}</title></rect>')
            out.append(f'<text x="{x + bw / 2 - 1:.1f}" y="{H - B - h - 3:.1f}" text-anchor="middle" '
                       f'font-size="9">{_fmt(round(v, 2))}</text>')
    _legend(out, list(series))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def lines(title, ylabel, xlabel, series, hline=None, ycap=None):
    """`series`: {name: [(x, y), …]}; x on a log scale, y linear (clipped at `ycap`)."""
    out = _frame(title, ylabel, xlabel)
    pts = [p for ps in series.values() for p in ps]
    if not pts:
        out.append("</svg>")
        return "\n".join(out) + "\n"
    ys = [min(y, ycap) if ycap else y for _, y in pts]
    ymax = _nice_max(max(ys + [hline or 0]) * 1.05)
    _y_axis(out, ymax, hline)
    x0 = math.log10(min(x for x, _ in pts) / 1.5)
    x1 = math.log10(max(x for x, _ in pts) * 1.5)

    def px(x):
        return L + (W - L - R) * (math.log10(x) - x0) / (x1 - x0)

    e = math.floor(x0)
    while e <= x1:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if x0 <= math.log10(v) <= x1:
                out.append(f'<line x1="{px(v):.1f}" y1="{H - B}" x2="{px(v):.1f}" y2="{H - B + 4}" stroke="black"/>')
                out.append(f'<text x="{px(v):.1f}" y="{H - B + 16}" text-anchor="middle">{_fmt(v)}</text>')
        e += 1
    for si, (name, ps) in enumerate(series.items()):
        col = COLORS[si % len(COLORS)]
        coords = []
        for x, y in sorted(ps):
            yy = min(y, ycap) if ycap else y
            coords.append((px(x), H - B - (H - T - B) * yy / ymax, x, y))
        out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            col, " ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in coords)))
        for a, b, x, y in coords:
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{col}"><title>{_esc(name)}: '
                       f'{_fmt(x)} → {y:g}</title></circle>')
    _legend(out, list(series))
    out.append("</svg>")
    return "\n".join(out) + "\n"
