"""The `xcorpus` command: each workflow stage, usable outside Snakemake."""

import argparse
from collections import Counter
from pathlib import Path

from xcorpus import runner
from xcorpus.corpora import CORPORA
from xcorpus.corpora.indexing import SPLITS, index_corpus
from xcorpus.features import BACKENDS, GRANULARITIES
from xcorpus.features.extraction import extract_to_file
from xcorpus.tables import INDEX_SCHEMA, RATED_SCHEMA, index_metadata, write_csv, write_parquet


def cmd_demo(args: argparse.Namespace) -> None:
    from xcorpus.corpora.demo import DemoSettings, write_demo

    settings = DemoSettings(
        seed=args.seed,
        utterances=args.utterances,
        expression=args.expression,
        ambiguity=args.ambiguity,
        channel=args.channel,
    )
    write_demo(args.corpus, Path(args.out_dir), settings)
    print(f"{args.corpus}: demo corpus written to {args.out_dir}")


def cmd_index(args: argparse.Namespace) -> None:
    index, rejects, rated = index_corpus(
        args.corpus, args.root, transcripts=args.transcripts, splits=args.splits
    )
    write_parquet(index, args.out, INDEX_SCHEMA)
    write_csv(rejects, args.rejects)
    if args.rated:
        write_parquet(rated, args.rated, RATED_SCHEMA)
    meta = index_metadata(index.schema)
    print(f"{meta['corpus']}: {meta['kept']} utterances kept, {meta['rejected']} rejected")
    print(f"  root: {meta['root']}")
    print(f"  variant: {meta['variant']}")
    print("  classes: " + ", ".join(f"{k} {v}" for k, v in meta["classes"].items()))
    print("  splits: " + ", ".join(f"{k} {v}" for k, v in meta["splits"].items()))
    if "ignored" in meta:
        ignored = meta["ignored"]
        print(f"  ignored {ignored['count']} files that define no utterance, e.g.:")
        for example in ignored["examples"]:
            print(f"    {example}")
    reasons = Counter(rejects.column("reason").to_pylist())
    for reason, n in reasons.most_common():
        print(f"  rejected {n}: {reason}")
    if "rated" in meta:
        rated_meta = meta["rated"]
        print(
            f"  rated on V/A/D among the rejected for their category: {rated_meta['kept']} "
            f"(for dimensional_all_rated; {rated_meta['audio_failed']} left out for their audio)"
        )


def cmd_extract(args: argparse.Namespace) -> None:
    options = dict(_option(text) for text in args.option)
    if args.model is not None:
        options["model"] = args.model
    sequence = None
    if args.granularity == "frames":
        sequence = {"rate": args.sequence_rate, "max_frames": args.max_frames}
    extract_to_file(
        Path(args.index), Path(args.out), args.backend, options, sequence, args.shard, args.shards
    )


def cmd_run(args: argparse.Namespace) -> None:
    selectors = None if args.all else args.experiment
    options = runner.Options(args.cores, args.profile, args.snakemake_args, Path(args.snakefile))
    code = runner.run(Path(args.config), selectors, options)
    raise SystemExit(code)


def _option(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as YAML, so `layer=3`, `layer=[4,5]` and `dtype=bfloat16` work."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"xcorpus extract: --option expects KEY=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="xcorpus", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="write a generated demo corpus in its native layout")
    demo.add_argument("corpus", choices=list(CORPORA))
    demo.add_argument("out_dir")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--utterances", type=int, default=320, help="labelled utterances")
    demo.add_argument("--expression", type=float, default=1.0, help="emotion cue strength")
    demo.add_argument("--ambiguity", type=float, default=0.16, help="share of mixed utterances")
    demo.add_argument("--channel", default=None, help="override the corpus's channel")
    demo.set_defaults(func=cmd_demo)

    index = sub.add_parser("index", help="read a corpus as distributed into an index parquet")
    index.add_argument("corpus", choices=list(CORPORA))
    index.add_argument("root")
    index.add_argument("--out", required=True, help="index parquet to write")
    index.add_argument("--rejects", required=True, help="CSV of dropped utterances and why")
    index.add_argument("--transcripts", help="TSV (utt_id, transcript) replacing the corpus's")
    index.add_argument(
        "--rated", help="parquet of rejects rated on V/A/D (label null), for dimensional training"
    )
    index.add_argument(
        "--splits",
        choices=SPLITS,
        default="official",
        help="official splits as released, or regrouped so no speaker is in two splits",
    )
    index.set_defaults(func=cmd_index)

    extract = sub.add_parser("extract", help="extract features of an index into parquet")
    extract.add_argument("index")
    extract.add_argument("out")
    extract.add_argument("--backend", required=True, choices=list(BACKENDS))
    extract.add_argument("--model", default=None, help="local model path or hub id")
    extract.add_argument("--granularity", choices=GRANULARITIES, default="utterance")
    extract.add_argument(
        "--sequence-rate", type=float, default=None, help="frames/s of stored audio sequences"
    )
    extract.add_argument("--max-frames", type=int, default=200, help="cap of a stored sequence")
    extract.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a backend option (layer, device, dtype, batch_seconds, pooling, ...)",
    )
    extract.add_argument("--shard", type=int, default=0)
    extract.add_argument("--shards", type=int, default=1)
    extract.set_defaults(func=cmd_extract)

    run_all = sub.add_parser(
        "run",
        help="run the workflow for a config's experiments, as the seed's main.py did",
        description="Run the workflow (one snakemake call) for some or all of a config's "
        "experiments and print the cross-corpus summary table at the end. Arguments not "
        "listed here go to snakemake (e.g. -n, --keep-going, --forcerun RULE).",
    )
    run_all.add_argument("config", help="config file (YAML), as snakemake --configfile")
    chosen = run_all.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--experiment",
        nargs="+",
        action="extend",
        metavar="N|NAME",
        help="0-based index in the config's experiments (sweeps expanded) or a name",
    )
    chosen.add_argument("--all", action="store_true", help="every experiment")
    run_all.add_argument("--cores", default="all", help="local cores (default: all)")
    run_all.add_argument("--profile", help="workflow profile, e.g. workflow/profiles/slurm")
    run_all.add_argument("--snakefile", default=str(runner.SNAKEFILE), help="workflow Snakefile")
    run_all.set_defaults(func=cmd_run)

    return top


def main(argv: list[str] | None = None) -> None:
    args, extra = parser().parse_known_args(argv)
    if extra and args.command != "run":
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    args.snakemake_args = extra
    args.func(args)
