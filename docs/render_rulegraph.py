"""Draw Snakemake's rule graph (DOT) as a PNG with matplotlib, for machines without graphviz.

Regenerate the README's picture from the repository root:

    snakemake --rulegraph --configfile docs/rulegraph.yaml --replace-workflow-config \
        > docs/rulegraph.dot
    python docs/render_rulegraph.py docs/rulegraph.dot docs/rulegraph.png

(with graphviz: `dot -Tpng docs/rulegraph.dot > docs/rulegraph.png`). Rules are placed in
columns by their longest path from a rule with no inputs from other rules, and ordered within a
column by the mean row of what feeds them, so edges mostly run left to right.
"""

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Node id -> rule name, and the edges (from, to)."""
    nodes = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)\"", text, re.M))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", text, re.M)
    return nodes, edges


def layout(nodes: dict[str, str], edges: list[tuple[str, str]]) -> dict[str, tuple[int, float]]:
    """Node -> (column, row)."""
    column = dict.fromkeys(nodes, 0)
    for _ in nodes:  # longest path: relax as often as there are nodes
        for a, b in edges:
            column[b] = max(column[b], column[a] + 1)
    rows: dict[str, float] = {}
    for c in range(max(column.values()) + 1):
        members = [n for n in nodes if column[n] == c]
        feeding = {n: [rows[a] for a, b in edges if b == n and a in rows] for n in members}
        members.sort(
            key=lambda n: (sum(feeding[n]) / len(feeding[n]) if feeding[n] else 0, nodes[n])
        )
        offset = (len(members) - 1) / 2
        rows.update({n: i - offset for i, n in enumerate(members)})
    return {n: (column[n], rows[n]) for n in nodes}


def half_width(label: str) -> float:
    """Half a box's width in inches (one data unit): 8-point text and its padding."""
    return 0.033 * len(label) + 0.1


def draw(nodes: dict[str, str], edges: list[tuple[str, str]], out: Path) -> None:
    where = layout(nodes, edges)
    columns = max(c for c, _ in where.values()) + 1
    height = max(sum(1 for c2, _ in where.values() if c2 == c) for c in range(columns))
    fig, ax = plt.subplots(figsize=(2.3 * columns, 0.7 * height + 1))
    for a, b in edges:
        (xa, ya), (xb, yb) = where[a], where[b]
        start, end = xa * 2.3 + half_width(nodes[a]), xb * 2.3 - half_width(nodes[b])
        ax.annotate(
            "", xy=(end, -yb), xytext=(start, -ya),
            arrowprops={"arrowstyle": "->", "color": "grey", "lw": 1, "shrinkA": 0, "shrinkB": 2},
        )  # fmt: skip
    for node, (c, r) in where.items():
        ax.text(
            c * 2.3, -r, nodes[node], ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "steelblue"},
        )  # fmt: skip
    ax.set_xlim(-1.2, 2.3 * (columns - 1) + 1.2)
    ax.set_ylim(-height / 2 - 0.5, height / 2 + 0.5)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    dot, png = sys.argv[1:3]
    draw(*read_dot(Path(dot).read_text()), Path(png))


if __name__ == "__main__":
    main()
