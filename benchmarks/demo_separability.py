"""Check that the demo corpora give a realistic in-corpus / cross-corpus picture.

eGeMAPSv02 functionals (opensmile) and a standardised logistic regression, speaker-independent:

- in-corpus UAR per corpus, 5-fold cross-validation grouped by speaker (videos for CMUMOSEI
  and SAMSEMO, the hidden true speaker for MSPP's 'Unknown' rows), plus accuracy on ambiguous
  (two-class mix) vs clear utterances;
- the cross-corpus UAR matrix (train on all of one corpus, test on all of another);
- pooled sources: IEMO alone vs IEMO+MSPI+MSPP on CMUMOSEI and SAMSEMO, and every corpus
  tested after training on the other four;
- generation speed: write_demo for all five corpora with --jobs processes.

It reads the generator's in-memory corpus (labels, speakers, 16-bit audio exactly as written),
not the loaders. Targets (means over seeds 7, 8, 9 at 320 utterances):
in-corpus 0.60-0.95 per corpus, cross-corpus below in-corpus and above 0.25 for every pair,
IEMO+MSPI+MSPP better than IEMO alone on CMUMOSEI and SAMSEMO.

    python benchmarks/demo_separability.py --seeds 7 8 9 --utterances 320 --jobs 2
"""

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from xcorpus.corpora.demo import DemoSettings, generate, write_demo
from xcorpus.corpora.demo.design import SEED_CORPORA as CORPORA
from xcorpus.labels import CLASSES


def features(corpus: str, settings: DemoSettings) -> dict:
    """Generate one corpus in memory and extract eGeMAPS functionals of its labelled part."""
    import opensmile

    start = time.perf_counter()
    demo = generate(corpus, settings)
    generated = time.perf_counter() - start
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    labelled = [u for u in demo.utterances if u.label is not None]
    x = np.stack(
        [
            smile.process_signal(u.audio.astype(np.float32) / 32768.0, 16000).to_numpy()[0]
            for u in labelled
        ]
    )
    return {
        "corpus": corpus,
        "x": x,
        "y": np.array([CLASSES.index(u.label) for u in labelled]),
        "speaker": np.array([u.speaker.name for u in labelled]),
        "ambiguous": np.array([u.second != u.primary for u in labelled]),
        "seconds": (generated, time.perf_counter() - start - generated),
    }


def model():
    """Standardised multinomial logistic regression with balanced class weights."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced")
    )


def uar(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, pred))


def in_corpus(d: dict) -> tuple[float, float, float]:
    """Speaker-independent 5-fold UAR, and accuracy on ambiguous vs clear utterances."""
    from sklearn.model_selection import GroupKFold

    pred = np.empty_like(d["y"])
    for train, test in GroupKFold(n_splits=5).split(d["x"], d["y"], d["speaker"]):
        pred[test] = model().fit(d["x"][train], d["y"][train]).predict(d["x"][test])
    hit = pred == d["y"]
    return uar(d["y"], pred), float(hit[d["ambiguous"]].mean()), float(hit[~d["ambiguous"]].mean())


def cross(data: dict, sources: list[str], target: str) -> float:
    """UAR on all of `target` after training on all of `sources` pooled."""
    x = np.concatenate([data[s]["x"] for s in sources])
    y = np.concatenate([data[s]["y"] for s in sources])
    return uar(data[target]["y"], model().fit(x, y).predict(data[target]["x"]))


def evaluate_seed(seed: int, args: argparse.Namespace) -> dict:
    """All figures for one generator seed."""
    settings = DemoSettings(seed=seed, utterances=args.utterances, expression=args.expression)
    with ProcessPoolExecutor(args.jobs) as pool:
        data = {d["corpus"]: d for d in pool.map(features, CORPORA, [settings] * len(CORPORA))}
    result = {"in": {}, "cross": {}, "pooled": {}, "loco": {}}
    for c in CORPORA:
        result["in"][c] = in_corpus(data[c])
        gen, feat = data[c]["seconds"]
        print(f"  {c:9s} n={len(data[c]['y']):4d}  generate {gen:5.1f}s  egemaps {feat:5.1f}s")
    for a in CORPORA:
        for b in CORPORA:
            if a != b:
                result["cross"][a, b] = cross(data, [a], b)
    for target in ("CMUMOSEI", "SAMSEMO"):
        result["pooled"][target] = (
            cross(data, ["IEMO"], target),
            cross(data, ["IEMO", "MSPI", "MSPP"], target),
        )
    for target in CORPORA:
        result["loco"][target] = cross(data, [c for c in CORPORA if c != target], target)
    return result


def report(seed: int, r: dict) -> None:
    """Print one seed's tables."""
    print(f"\nseed {seed}: in-corpus UAR (ambiguous acc / clear acc)")
    for c, (u, amb, clear) in r["in"].items():
        print(f"  {c:9s} {u:.3f}   ({amb:.2f} / {clear:.2f})")
    print("cross-corpus UAR (rows train, columns test)")
    print("  " + " " * 9 + "".join(f"{c:>10s}" for c in CORPORA))
    for a in CORPORA:
        cells = "".join(
            f"{'-' if a == b else format(r['cross'][a, b], '.3f'):>10s}" for b in CORPORA
        )
        print(f"  {a:9s}{cells}")
    cross_values = list(r["cross"].values())
    in_mean = np.mean([v[0] for v in r["in"].values()])
    cross_mean, pair_min = np.mean(cross_values), min(cross_values)
    print(f"  in-corpus mean {in_mean:.3f}  cross mean {cross_mean:.3f}  pair min {pair_min:.3f}")
    for target, (one, three) in r["pooled"].items():
        print(f"  {target:9s} IEMO {one:.3f}  IEMO+MSPI+MSPP {three:.3f}")
    loco = "  ".join(f"{c} {v:.3f}" for c, v in r["loco"].items())
    print(f"  trained on the other four: {loco}")


def time_generation(args: argparse.Namespace) -> None:
    """Wall time of write_demo for all five corpora, `jobs` corpora at a time."""
    settings = DemoSettings(seed=args.seeds[0], utterances=args.utterances)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.jobs) as pool:
        start = time.perf_counter()
        timings = list(pool.map(_timed_write, CORPORA, [Path(tmp)] * 5, [settings] * 5))
        wall = time.perf_counter() - start
    per = "  ".join(f"{c} {t:.1f}s" for c, t in zip(CORPORA, timings, strict=True))
    print(f"write_demo, {args.utterances} utterances, {args.jobs} jobs: wall {wall:.1f}s")
    print(f"  per corpus (one core each): {per}; sum {sum(timings):.1f}s")


def _timed_write(corpus: str, root: Path, settings: DemoSettings) -> float:
    start = time.perf_counter()
    write_demo(corpus, root / corpus, settings)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--utterances", type=int, default=320)
    parser.add_argument("--expression", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-timing", action="store_true", help="skip the write_demo timing")
    args = parser.parse_args()
    if not args.no_timing:
        time_generation(args)
    results = {}
    for seed in args.seeds:
        print(f"\nseed {seed}: generating and extracting")
        results[seed] = evaluate_seed(seed, args)
        report(seed, results[seed])
    print("\nsummary over seeds")
    for c in CORPORA:
        print(f"  in-corpus {c:9s} {np.mean([r['in'][c][0] for r in results.values()]):.3f}")
    cross_means = [np.mean(list(r["cross"].values())) for r in results.values()]
    in_means = [np.mean([v[0] for v in r["in"].values()]) for r in results.values()]
    pair_min = min(min(r["cross"].values()) for r in results.values())
    pair_mean_min = min(
        np.mean([r["cross"][k] for r in results.values()]) for k in results[args.seeds[0]]["cross"]
    )
    one = np.mean([v[0] for r in results.values() for v in r["pooled"].values()])
    three = np.mean([v[1] for r in results.values() for v in r["pooled"].values()])
    print(f"  in-corpus mean {np.mean(in_means):.3f}  cross mean {np.mean(cross_means):.3f}")
    print(f"  cross pair min (single seed) {pair_min:.3f}  (mean over seeds) {pair_mean_min:.3f}")
    print(f"  CMUMOSEI+SAMSEMO: IEMO {one:.3f}  IEMO+MSPI+MSPP {three:.3f}")


if __name__ == "__main__":
    main()
