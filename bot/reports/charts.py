"""The PNG charts: spend per day stacked by campaign, and the digest's weekly picture.

matplotlib is imported inside the drawing functions only, and the bot draws in a short-lived child
process (`spend_png`, `week_png`: `python -m bot.reports.charts`, the chart's numbers in, the PNG
out), so `gigdesk serve` never loads it: its memory stays what it was, idle or after a hundred charts
(matplotlib and its fonts would stay resident, about 40 MiB, after the first chart drawn in-process;
benchmarks/charts.py). Figures are drawn with the object API on the Agg canvas, never pyplot.

Made to be read at Slack's preview size (a few hundred pixels wide): large type, at most
MAX_DATE_LABELS date labels, the legend outside the bars, Okabe–Ito colours (told apart with
every common kind of colour blindness), and "Other" in grey.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

# The PNG's size: 16:9. Drawn as 8 × 4.5 inches at 150 dpi, so its type stays readable when Slack's
# preview scales it to a third of that (about 400 px wide): 15 pt is 31 px here, 10 px there.
WIDTH_PX, HEIGHT_PX, DPI = 1200, 675, 150
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000")
OTHER_COLOUR = "#BBBBBB"
TOP_CAMPAIGNS = 8
MAX_DATE_LABELS = 6  # two-line labels (day over weekday or month), at least 0.7 in apart
LEGEND_LABEL_CHARS = 20
FONT: dict[Any, Any] = {"font.size": 15, "axes.titlesize": 17, "axes.labelsize": 15, "xtick.labelsize": 13, "ytick.labelsize": 13,
        "legend.fontsize": 12, "legend.title_fontsize": 12, "font.family": "DejaVu Sans"}
CHILD_TIMEOUT_SECONDS = 60
DECISION_COLOURS = {"approved": "#009E73", "rejected": "#D55E00", "flagged": "#E69F00"}
SPEND_COLOUR = "#0072B2"


def _figure():
    """A Figure on an Agg canvas, at the module's size, with the report fonts."""
    import matplotlib

    matplotlib.rcParams.update(FONT)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white")  # no bbox_inches: the size stays as stated
    return out.getvalue()


def _day_ticks(ax, days: Sequence[date], *, weekday: bool) -> None:
    """One tick per day; a week labels every day (`Mon` over `30`), a month at most MAX_DATE_LABELS
    days (every k-th, `8` over `May`): short two-line labels that never overlap."""
    step = 1 if weekday else max(1, -(-len(days) // MAX_DATE_LABELS))
    ax.set_xticks(range(len(days)))
    ax.set_xticklabels([(f"{d:%a}\n{d.day}" if weekday else f"{d.day}\n{d:%b}") if n % step == 0 else ""
                        for n, d in enumerate(days)])
    ax.tick_params(axis="x", length=0, pad=10)  # clear of the y axis's "$0"
    ax.set_xlim(-0.6, len(days) - 0.4)


def _dollars(ax) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2))
    # Whole dollars once the axis reaches $10, cents below: one format for every label of the axis.
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}" if ax.get_ylim()[1] >= 10 else f"${v:,.2f}"))


def _plain_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#DDDDDD", linewidth=1)
    ax.set_axisbelow(True)


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= LEGEND_LABEL_CHARS else label[: LEGEND_LABEL_CHARS - 1] + "…"


def spend_chart(days: Sequence[date], series: dict[str, list[Decimal]], *, title: str, other: str = "Other") -> bytes:
    """Spend per day, stacked by campaign (the caller gives at most TOP_CAMPAIGNS campaigns and
    `other`); a PNG of WIDTH_PX × HEIGHT_PX."""
    figure = _figure()
    ax = figure.add_axes((0.10, 0.16, 0.52, 0.71))
    bottoms = [0.0] * len(days)
    named = [name for name in series if name != other]
    colours = dict(zip(named, OKABE_ITO, strict=False))
    order = named + ([other] if other in series else [])
    for name in order:
        values = [float(v) for v in series[name]]
        ax.bar(range(len(days)), values, bottom=bottoms, width=0.8, color=colours.get(name, OTHER_COLOUR),
               label=_short(name), edgecolor="white", linewidth=0.5)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    _plain_axes(ax)
    _dollars(ax)
    _day_ticks(ax, days, weekday=len(days) <= 7)
    ax.set_title(title, loc="left", pad=14)
    if not any(bottoms):
        ax.set_ylim(0, 1)
    if order:
        # Outside the bars, top down in stack order (largest campaign first).
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
                  title="Campaign", borderaxespad=0, handlelength=1.2, labelspacing=0.35)
    return _png(figure)


def week_chart(days: Sequence[date], decisions: dict[str, list[int]], spend: list[Decimal], *, title: str) -> bytes:
    """The digest's weekly picture: decisions per day (approved, rejected, flagged; side by side)
    above spend per day; a PNG of WIDTH_PX × HEIGHT_PX."""
    figure = _figure()
    top = figure.add_axes((0.10, 0.57, 0.68, 0.32))
    bottom = figure.add_axes((0.10, 0.16, 0.68, 0.32), sharex=top)
    width = 0.26
    for n, (name, counts) in enumerate(decisions.items()):
        top.bar([x + (n - 1) * width for x in range(len(days))], counts, width=width, label=name,
                color=DECISION_COLOURS.get(name, OTHER_COLOUR))
    _plain_axes(top)
    from matplotlib.ticker import MaxNLocator

    top.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
    top.set_ylabel("decisions")
    top.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0)
    top.tick_params(axis="x", labelbottom=False, length=0)
    top.set_title(title, loc="left", pad=14)
    bottom.bar(range(len(days)), [float(v) for v in spend], width=0.6, color=SPEND_COLOUR, label="spend")
    _plain_axes(bottom)
    _dollars(bottom)
    bottom.set_ylabel("spend")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0)
    _day_ticks(bottom, days, weekday=True)
    if not any(sum(c) for c in decisions.values()):
        top.set_ylim(0, 1)
    if not any(spend):
        bottom.set_ylim(0, 1)
    return _png(figure)


# --- drawn in a child process ----------------------------------------------------------------


class ChartError(Exception):
    """The chart could not be drawn (the child process failed or took too long)."""


def _in_child(spec: dict) -> bytes:
    try:
        done = subprocess.run([sys.executable, "-m", "bot.reports.charts"], input=json.dumps(spec).encode(),
                              capture_output=True, timeout=CHILD_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ChartError(f"the chart could not be drawn ({type(e).__name__})") from None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise ChartError(f"the chart could not be drawn ({tail[0][:200]})")
    return done.stdout


def spend_png(days: Sequence[date], series: dict[str, list[Decimal]], *, title: str) -> bytes:
    """spend_chart(), drawn in a child process."""
    return _in_child({"kind": "spend", "days": [d.isoformat() for d in days], "title": title,
                      "series": {name: [str(v) for v in values] for name, values in series.items()}})


def week_png(days: Sequence[date], decisions: dict[str, list[int]], spend: list[Decimal], *, title: str) -> bytes:
    """week_chart(), drawn in a child process."""
    return _in_child({"kind": "week", "days": [d.isoformat() for d in days], "title": title,
                      "decisions": decisions, "spend": [str(v) for v in spend]})


def _draw(spec: dict) -> bytes:
    days = [date.fromisoformat(d) for d in spec["days"]]
    if spec["kind"] == "spend":
        series = {name: [Decimal(v) for v in values] for name, values in spec["series"].items()}
        return spend_chart(days, series, title=spec["title"])
    return week_chart(days, {k: [int(n) for n in v] for k, v in spec["decisions"].items()},
                      [Decimal(v) for v in spec["spend"]], title=spec["title"])


if __name__ == "__main__":  # the child: the chart's numbers as JSON on stdin, the PNG on stdout
    sys.stdout.buffer.write(_draw(json.loads(sys.stdin.buffer.read())))
