import json

import numpy as np
from conftest import fingerprinted

from xcorpus.plots import confusion_totals


def result(seed: int, validation: list, tests: dict[str, list], **extra) -> dict:
    def split(confusion: list) -> dict:
        return {"uar": 0.5, "accuracy": 0.5, "macro_f1": 0.5, "confusion": confusion}

    n = {
        "validation": int(np.sum(validation)),
        "test": {c: int(np.sum(m)) for c, m in tests.items()},
    }
    in_corpus = extra.pop("in_corpus", {})
    if in_corpus:
        n["in_corpus"] = {c: int(np.sum(m)) for c, m in in_corpus.items()}
    return fingerprinted(
        {
            "experiment": "B",
            "train": "IEMO",
            "seed": seed,
            "validation": split(validation),
            "test": {c: split(m) for c, m in tests.items()},
            "in_corpus": {c: split(m) for c, m in in_corpus.items()},
            "n": n,
            **extra,
        }
    )


def eye(k: int) -> list:
    return (np.eye(4, dtype=int) * k).tolist()


def test_confusion_panels_are_the_tables_splits(tmp_path):
    """With evaluation_mode both, the validation panel is the cross-corpus runs' (not pooled with
    the LOSO folds'), and the held-out sessions are `IEMO LOSO`, as in the tables."""
    paths = []
    for seed in (1, 2):
        cross = result(seed, eye(1), {"MSPP": eye(10)})
        loso = result(seed, eye(100), {}, in_corpus={"IEMO": eye(1000)}, folds=[1, 2, 3, 4, 5])
        for name, metrics in (("metrics", cross), ("loso", loso)):
            paths.append(tmp_path / f"seed-{seed}" / f"{name}.json")
            paths[-1].parent.mkdir(exist_ok=True)
            paths[-1].write_text(json.dumps(metrics))
    totals = confusion_totals(paths)
    assert list(totals) == ["validation", "MSPP", "IEMO LOSO"]
    for split, per_seed in (("validation", 1), ("MSPP", 10), ("IEMO LOSO", 1000)):
        np.testing.assert_array_equal(totals[split], np.eye(4) * per_seed * 2)
