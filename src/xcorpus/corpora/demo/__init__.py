"""Generated demo corpora in the native layouts of every corpus the loaders read.

They let the whole workflow run, and show a realistic cross-corpus picture, without any
licensed data: the loaders read them with the same code as the real corpora. See design.py
for the design and benchmarks/demo_separability.py for the check that
eGeMAPS + logistic regression learns inside a corpus and loses part of it across corpora.

    write_demo("IEMO", Path("results/demo/IEMO"), DemoSettings(seed=7))
"""

import os
import shutil
from pathlib import Path

from xcorpus.corpora.demo.design import CORPORA, DemoSettings
from xcorpus.corpora.demo.layouts import write_layout
from xcorpus.corpora.demo.render import DemoCorpus, generate

__all__ = ["CORPORA", "DemoCorpus", "DemoSettings", "generate", "write_demo"]


def write_demo(corpus: str, out_dir: Path, settings: DemoSettings) -> None:
    """Write one corpus's complete native layout as `out_dir` (replacing it if present).

    The corpus is written into a sibling temporary directory and renamed into place, so an
    interrupted run never leaves a half corpus where a loader (or Snakemake) would take it
    for a whole one.
    """
    if corpus not in CORPORA:
        raise ValueError(f"unknown demo corpus {corpus!r}; known: {', '.join(CORPORA)}")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write_layout(generate(corpus, settings), tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
