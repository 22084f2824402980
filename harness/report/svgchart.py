"""Line charts as inline SVG, so report.html needs no script and no network."""

import math
from dataclasses import dataclass
from html import escape

from ..suite.modes import BASE, Mode, load_modes

# A mode's colour comes from modes.toml (its `colour`), so one mode is the
# same colour on every chart; a line of any other label, or of a mode
# without one, takes the next free spare colour. The lines of base-kernel
# modes (the unpatched kernel) are dashed.
SPARE_COLOURS = ("#e7298a", "#66a61e", "#a6761d", "#e6ab02")


def mode_styles(modes: dict[str, Mode] | None = None) -> tuple[dict[str, str], frozenset[str]]:
    """The colour of every mode that has one, and the modes drawn dashed."""
    known = modes if modes is not None else load_modes()
    return ({m.name: m.colour for m in known.values() if m.colour},
            frozenset(m.name for m in known.values() if m.kernel == BASE))

WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 130, 28, 44


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[tuple[float, float], ...]


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(high / step - 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


def line_chart(title: str, lines: list[Line], x_label: str, y_label: str,
               modes: dict[str, Mode] | None = None) -> str:
    """An SVG document fragment; y starts at 0 so the lines compare honestly."""
    colours, dashed = mode_styles(modes)
    spare = iter(SPARE_COLOURS * 4)
    for ln in lines:
        colours.setdefault(ln.label, next(spare))
    xs = [p[0] for ln in lines for p in ln.points] or [1.0]
    ys = [p[1] for ln in lines for p in ln.points] or [1.0]
    x_ticks, y_ticks = nice_ticks(max(xs)), nice_ticks(max(ys))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + plot_w * x / x_ticks[-1]

    def py(y: float) -> float:
        return TOP + plot_h * (1 - y / y_ticks[-1])

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" '
           f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}">',
           f'<text x="{LEFT}" y="16" class="title">{escape(title)}</text>']
    for t in y_ticks:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
                   'class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">'
                   f'{_fmt(t)}</text>')
    for t in x_ticks:
        out.append(f'<text x="{px(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                   f'{_fmt(t)}</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" class="axis"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" '
               f'y2="{TOP + plot_h}" class="axis"/>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    # Dashed lines are drawn last, so a line equal to another (base and
    # never usually are) still shows through it.
    for i, ln in sorted(enumerate(lines), key=lambda il: il[1].label in dashed):
        colour = colours[ln.label]
        dash = ' stroke-dasharray="6 4"' if ln.label in dashed else ""
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in ln.points)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"{dash}><title>{escape(ln.label)}</title></polyline>')
        ly = TOP + 10 + 18 * i
        lx = LEFT + plot_w + 12
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                   f'stroke-width="3"{dash}/>')
        out.append(f'<text x="{lx + 24}" y="{ly + 4}">{escape(ln.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
