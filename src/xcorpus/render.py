"""The results as Markdown and LaTeX tables: the cross-corpus UAR summary, the dimensional (CCC)
summary and the paired comparisons, each printed from the table or rows its module computes
(xcorpus.aggregate, .dimensional_summary, .comparisons, .dimensional_comparisons).

A cell is a mean to three decimals, "mean ± std" where the std over seeds is defined, and "—"
(LaTeX "---") where the value is undefined or absent, never 0. What each column means is printed
under the table.
"""

from typing import NamedTuple

import pyarrow as pa

from xcorpus.metrics import DIMENSIONS_AND_MEAN, VALIDATION

# The bootstrap and t-test columns every comparison table ends with.
DIFFERENCE_HEADER = ("Δ (B - A)", "t", "p", "Bootstrap 95% CI", "Share Δ ≤ 0")


def markdown_head(header: list[str], left: int) -> list[str]:
    """A Markdown table's header row and rule: the first `left` columns left-aligned, the rest
    (numbers) right-aligned."""
    rule = ["---"] * left + ["---:"] * (len(header) - left)
    return [markdown_row(header), "|" + "|".join(rule) + "|"]


def markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _corpora(table: pa.Table) -> list[str]:
    """The test columns of a summary table (test corpora and in-corpus tests), in order."""
    return [
        c.removesuffix("_uar_mean")
        for c in table.column_names
        if c.endswith("_uar_mean") and c != f"{VALIDATION}_uar_mean"
    ]


def _seeds(row: dict) -> str:
    """ "3", or "2 of 3" when expected seeds are missing."""
    missing = len(row["missing_seeds"].split(";")) if row["missing_seeds"] else 0
    n = row["n_seeds"]
    return f"{n} of {n + missing}" if missing else str(n)


def _cell(mean: float | None, std: float | None, pm: str = "±", none: str = "—") -> str:
    if mean is None:
        return none
    return f"{mean:.3f}" if std is None else f"{mean:.3f} {pm} {std:.3f}"


class Column(NamedTuple):
    """How a summary column is printed: its header, and the rows scored on other utterances
    than the column's reference set (the most common one), which are marked and never bold."""

    header: str
    others: frozenset[int]
    n_per_cell: bool


def _column(rows: list[dict], name: str) -> Column:
    """A test column whose cells share one utterance set names its n in the header; otherwise
    each cell names its own n and the cells off the most common set are marked."""
    sets = [r[f"{name}_utterances"] for r in rows]
    present = [u for u in sets if u is not None]
    reference = max(dict.fromkeys(present), key=present.count) if present else None
    others = frozenset(i for i, u in enumerate(sets) if u is not None and u != reference)
    if others:
        return Column(name, others, True)
    n = next((r[f"{name}_n"] for r in rows if r[f"{name}_n"] is not None), None)
    return Column(f"{name} (n={n})" if n is not None else name, others, False)


VALIDATION_HEADER = "Validation (selection)"
DAGGER_NOTE = (
    "scored on other utterances than the rest of its column (e.g. a text modality drops "
    "utterances without a transcript), so not comparable with them"
)


def table_notes(corpora: list[str]) -> list[str]:
    """What each column of the summary means, printed under it."""
    notes = [
        f"{VALIDATION_HEADER}: UAR on the training corpora's validation speakers (pooled), at "
        "the epoch chosen by that same score; a model-selection figure, optimistic, not a test."
    ]
    if any(c.endswith(" in-corpus") for c in corpora):
        notes.append(
            "X in-corpus: training corpus X's held-out test speakers (`test_speakers`) or its "
            "official test split (MSP-PODCAST Test1), seen by neither training nor selection."
        )
    if any(c.endswith(" LOSO") for c in corpora):
        notes.append(
            "X LOSO: leave-one-session-out, the mean over X's sessions of the held-out "
            "session's UAR (one model per fold, selected on other sessions' speakers)."
        )
    notes.append(
        "Other columns: the whole test corpus, never seen in training or selection. UAR is the "
        "mean recall over the classes present in the scored set (chance: 1 / their number)."
    )
    return notes


TRANSDUCTIVE_MARK = "‡"


def transductive_notes(rows: list[dict]) -> list[str]:
    """One note per transductive experiment of the summary rows, saying why."""
    return [
        f"{TRANSDUCTIVE_MARK} {row['experiment']}: transductive, {row['transductive']}; not "
        "comparable with inductive results."
        for row in rows
        if row["transductive"]
    ]


def determinism_notes(rows: list[dict]) -> list[str]:
    """One note per experiment of a deterministic classifier: its seeds are one run repeated."""
    return [
        f"{row['experiment']}: classifier {row['deterministic']} is deterministic; every seed "
        "gives the same model and scores, so its ± 0.000 is no estimate of seed-to-seed "
        "variation."
        for row in rows
        if row.get("deterministic")
    ]


def markdown_table(table: pa.Table) -> str:
    """The cross-corpus table as Markdown: experiments x (validation, test corpora, in-corpus
    tests) UAR with n, the seeds averaged ("2 of 3" when some are missing), the missing seeds
    named and what each column means below."""
    corpora = _corpora(table)
    rows = table.to_pylist()
    columns = {c: _column(rows, c) for c in corpora}
    header = ["Experiment", "Train", "Seeds", VALIDATION_HEADER]
    header += [column.header for column in columns.values()]
    lines = markdown_head(header, left=2)
    for i, row in enumerate(rows):
        marker = f" {TRANSDUCTIVE_MARK}" if row["transductive"] else ""
        cells = [row["experiment"] + marker, row["train"], _seeds(row)]
        cells.append(_with_n(row, VALIDATION, True))
        for c, column in columns.items():
            cell = _with_n(row, c, column.n_per_cell)
            cells.append(f"{cell} †" if i in column.others else cell)
        lines.append(markdown_row(cells))
    lines += [""] + [f"- {note}" for note in table_notes(corpora)]
    if any(column.others for column in columns.values()):
        lines.append(f"- †: {DAGGER_NOTE}.")
    lines += [f"- {note}" for note in transductive_notes(rows)]
    lines += [f"- {note}" for note in determinism_notes(rows)]
    dimensional = [row["experiment"] for row in rows if row["task"] == "dimensional"]
    if dimensional:
        lines.append(
            f"- {', '.join(dimensional)}: task dimensional, no class head, so no UAR (—); its "
            "V/A/D results are in the dimensional summary (cross_corpus_ccc.md)."
        )
    notes = [
        f"{row['experiment']}: seed(s) {row['missing_seeds'].replace(';', ', ')}"
        for row in rows
        if row["missing_seeds"]
    ]
    if notes:
        lines += ["", "Missing seeds (no results, not averaged): " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


def _with_n(row: dict, column: str, per_cell: bool, **style) -> str:
    """The cell's mean ± std, followed by its n where the column's cells differ in n."""
    text = _cell(row[f"{column}_uar_mean"], row[f"{column}_uar_std"], **style)
    n = row[f"{column}_n"]
    return f"{text} (n={n})" if per_cell and n is not None else text


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """`text` safe in LaTeX text mode (`+` needs no escape there and is kept)."""
    return "".join(LATEX_SPECIAL.get(char, char) for char in text)


def latex_table(table: pa.Table) -> str:
    """The cross-corpus table as a booktabs `tabular`: mean $\\pm$ std UAR, the best mean per
    test column in bold (ties at the printed precision all bold) among the cells scored on the
    column's reference utterances; cells scored on others are marked $^\\dagger$, never bold.
    Transductive experiments (marked $^\\ddagger$, with a note) have their own best per column.

    The validation column is never bold: each training set has its own validation utterances,
    so its values are not comparable across rows.
    """
    corpora = _corpora(table)
    rows = table.to_pylist()
    columns = {c: _column(rows, c) for c in corpora}
    # Transductive and inductive rows are not comparable: each kind has its own best.
    best = {
        (c, kind): max(
            (
                round(m, 3)
                for i, r in enumerate(rows)
                if (m := r[f"{c}_uar_mean"]) is not None
                and i not in columns[c].others
                and bool(r["transductive"]) == kind
            ),
            default=None,
        )
        for c in corpora
        for kind in (False, True)
    }
    header = ["Experiment", "Train", "Seeds", VALIDATION_HEADER]
    header += [column.header for column in columns.values()]
    lines = [
        r"\begin{tabular}{ll" + "r" * (len(header) - 2) + "}",
        r"\toprule",
        " & ".join(map(latex_escape, header)) + r" \\",
        r"\midrule",
    ]
    style = {"pm": r"$\pm$", "none": "---"}
    for i, row in enumerate(rows):
        marker = r"$^\ddagger$" if row["transductive"] else ""
        cells = [latex_escape(row["experiment"]) + marker, latex_escape(row["train"]), _seeds(row)]
        cells.append(_with_n(row, VALIDATION, True, **style))
        for c, column in columns.items():
            cell = _with_n(row, c, column.n_per_cell, **style)
            mean = row[f"{c}_uar_mean"]
            if i in column.others:
                cell += r"$^\dagger$"
            elif mean is not None and round(mean, 3) == best[c, bool(row["transductive"])]:
                cell = rf"\textbf{{{cell}}}"
            cells.append(cell)
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\bottomrule")
    if any(column.others for column in columns.values()):
        note = latex_escape(DAGGER_NOTE)
        lines.append(rf"\multicolumn{{{len(header)}}}{{l}}{{$^\dagger$ {note}.}} \\")
    for note in transductive_notes(rows):
        note = latex_escape(note.removeprefix(TRANSDUCTIVE_MARK))
        lines.append(rf"\multicolumn{{{len(header)}}}{{l}}{{$^\ddagger${note}}} \\")
    for note in determinism_notes(rows):
        note = latex_escape(note).replace("±", r"$\pm$")
        lines.append(rf"\multicolumn{{{len(header)}}}{{l}}{{{note}}} \\")
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


def ccc_markdown(table: pa.Table) -> str:
    """The dimensional summary as Markdown: mean ± std CCC per dimension, "—" with a note where
    a split is unrated or a CCC undefined."""
    header = ["Experiment", "Train", "Seeds", "Split", "n rated"]
    header += [f"CCC {d}" for d in DIMENSIONS_AND_MEAN]
    lines = markdown_head(header, left=4)
    rows = table.to_pylist()
    for row in rows:
        split = VALIDATION_HEADER if row["split"] == VALIDATION else row["split"]
        cells = [row["experiment"], row["train"], _seeds(row), split]
        cells.append("—" if row["n_rated"] is None else str(row["n_rated"]))
        cells += [_cell(row[f"ccc_{d}_mean"], row[f"ccc_{d}_std"]) for d in DIMENSIONS_AND_MEAN]
        lines.append(markdown_row(cells))
    lines += ["", *(f"- {note}" for note in ccc_notes(rows))]
    return "\n".join(lines) + "\n"


def ccc_notes(rows: list[dict]) -> list[str]:
    """What the columns mean, and why each "—" is there."""
    notes = [
        "CCC: Lin's concordance correlation coefficient of predicted and rated V/A/D on the "
        "common 1-5 scale, over the split's rated utterances (n rated), mean ± sample std "
        "over seeds.",
        f"{VALIDATION_HEADER}: the training corpora's validation speakers, on which the epoch "
        "was selected (selection_metric); optimistic, not a test.",
    ]
    unrated = sorted({row["unrated"] for row in rows if row["unrated"]})
    if unrated:
        notes.append(f"— (no dimensional metric): {'; '.join(unrated)}.")
    undefined = any(
        row["unrated"] is None and row[f"ccc_{d}_mean"] is None
        for row in rows
        for d in DIMENSIONS_AND_MEAN
    )
    if undefined:
        notes.append(
            "— in a rated split: CCC undefined for some seed (prediction and truth one and the "
            "same constant), so no mean over seeds."
        )
    return notes


def markdown_comparisons(rows: list[dict]) -> str:
    """The comparisons as Markdown: per pair and split, UAR of a and b, the difference b - a,
    the paired t-test and the bootstrap interval."""
    lines = _comparison_lines(rows, "uar", rated=False)
    if notes := _t_notes(rows):
        lines += ["", "No t-test: " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


def markdown_ccc_comparisons(rows: list[dict]) -> str:
    """The CCC comparisons as Markdown, as markdown_comparisons with the rated utterances' n."""
    lines = _comparison_lines(rows, "ccc", rated=True)
    lines += ["", "- CCC: mean over V/A/D of Lin's CCC on the split's rated utterances."]
    if notes := _t_notes(rows):
        lines.append("- No t-test: " + "; ".join(notes) + ".")
    return "\n".join(lines) + "\n"


def _comparison_lines(rows: list[dict], metric: str, rated: bool) -> list[str]:
    """Header, rule and a row per comparison: the pair and split, (the rated utterances,) the
    seeds, `metric` of a and b, and the difference's t-test and bootstrap."""
    sizes = ["n rated"] if rated else []
    header = ["Comparison", "A", "B", "Split", *sizes, "Seeds"]
    header += [f"{metric.upper()} A", f"{metric.upper()} B", *DIFFERENCE_HEADER]
    lines = markdown_head(header, left=4)
    for r in rows:
        cells = [r["comparison"], r["a"], r["b"], r["split"]]
        cells += [str(r["n_rated"])] if rated else []
        cells += [str(r["n_seeds"]), f"{r[f'{metric}_a']:.3f}", f"{r[f'{metric}_b']:.3f}"]
        lines.append(markdown_row(cells + _difference_cells(r)))
    return lines


def _difference_cells(r: dict) -> list[str]:
    """Δ (mean ± std over seeds), t, p, the bootstrap interval and its share <= 0."""
    delta = f"{r['diff_mean']:+.3f}"
    if r["diff_std"] is not None:
        delta += f" ± {r['diff_std']:.3f}"
    t, p = ("—", "—") if r["t"] is None else (f"{r['t']:.2f}", f"{r['p']:.3g}")
    interval = f"[{r['boot_ci95_low']:+.3f}, {r['boot_ci95_high']:+.3f}]"
    return [delta, t, p, interval, f"{r['boot_share_le0']:.3f}"]


def _t_notes(rows: list[dict]) -> list[str]:
    """Why a comparison has no t-test, once per comparison and reason."""
    return sorted({f"{r['comparison']}: {r['t_note']}" for r in rows if r["t_note"]})
