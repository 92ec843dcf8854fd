import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
from conftest import schema_experiment

from xcorpus.difficulty import score
from xcorpus.features.shards import write_shard
from xcorpus.labels import CLASSES
from xcorpus.tables import DIFFICULTY_SCHEMA, INDEX_SCHEMA, MANIFEST_SCHEMA, write_parquet
from xcorpus.train import loop
from xcorpus.train.curriculum import Curriculum, make_curriculum
from xcorpus.train.data import announce, load_data
from xcorpus.train.loop import class_weights, epoch_order, fit
from xcorpus.train.models import load_model
from xcorpus.train.run import Inputs, build_model, train_fold, train_seed
from xcorpus.train.settings import Settings

SIZES = {"IEMO": 96, "MSPI": 64, "MSPP": 80}  # IEMO, MSPI train; MSPP test
DIMS = {"audio": 8, "text": 6}


def make_world(root: Path, test_shift: float = 0.0, frames: bool = False) -> dict:
    """Three tiny corpora: class-dependent gaussian features, 4 speakers, shards in two files.

    Speaker 3 of each training corpus is the validation split; the test corpus is shifted a
    little, as a different corpus would be, and by `test_shift` more. With `frames`, the
    shards also hold 1-4 frames per utterance (its vector plus noise).
    """
    rng = np.random.default_rng(0)
    means = {kind: rng.normal(size=(4, dim)) * 2.0 for kind, dim in DIMS.items()}
    world = {"indexes": [], "audio": [], "text": [], "difficulty": [], "manifest": []}
    for c, (corpus, n) in enumerate(SIZES.items()):
        ids = [f"{corpus}_{i:04d}" for i in range(n)]
        labels = [CLASSES[i % 4] for i in range(n)]
        speakers = [f"{corpus}_spk{i // 4 % 4}" for i in range(n)]
        index = [
            {"utt_id": u, "corpus": corpus, "audio_path": f"{u}.wav", "speaker": s}
            | {"label": lab, "raw_label": lab, "transcript": "words"}
            for u, s, lab in zip(ids, speakers, labels, strict=True)
        ]
        world["indexes"].append(root / f"{corpus}.parquet")
        write_parquet(pa.Table.from_pylist(index, schema=INDEX_SCHEMA), world["indexes"][-1])
        y = np.array([i % 4 for i in range(n)])
        for kind, dim in DIMS.items():
            x = means[kind][y] + rng.normal(size=(n, dim)) + 0.3 * c
            x = x + test_shift if corpus == "MSPP" else x
            for half in (0, 1):
                rows = slice(half, None, 2)
                path = root / "features" / kind / corpus / f"shard-{half}-of-2.parquet"
                sequences = None
                if frames:
                    sequences = [v + rng.normal(size=(rng.integers(1, 5), dim)) for v in x[rows]]
                write_features(ids[rows], x[rows], path, kind, sequences)
                world[kind].append(path)
        if corpus == "MSPP":
            world["manifest"] += [{"utt_id": u, "corpus": corpus, "role": "test"} for u in ids]
            continue
        roles = ["val" if s.endswith("spk3") else "train" for s in speakers]
        world["manifest"] += [
            {"utt_id": u, "corpus": corpus, "role": r} for u, r in zip(ids, roles, strict=True)
        ]
        scores = [
            {"utt_id": u, "vad_norm": [3.0] * 3, "difficulty": float(d)}
            for u, d in zip(ids, rng.random(n), strict=True)
        ]
        world["difficulty"].append(root / "difficulty" / f"{corpus}.parquet")
        write_parquet(
            pa.Table.from_pylist(scores, schema=DIFFICULTY_SCHEMA), world["difficulty"][-1]
        )
    world["manifest_path"] = root / "manifest.parquet"
    manifest = pa.Table.from_pylist(world["manifest"], schema=MANIFEST_SCHEMA)
    write_parquet(manifest, world["manifest_path"])
    return world


def write_features(
    ids: list[str], x: np.ndarray, path: Path, kind: str, frames: list[np.ndarray] | None = None
) -> None:
    dim = x.shape[1]
    flat = pa.array(x.astype(np.float32).reshape(-1), pa.float32())
    table = pa.table({"utt_id": ids, "embedding": pa.FixedSizeListArray.from_arrays(flat, dim)})
    metadata = {"backend": "synthetic", "dim": str(dim), "modality": kind}
    if frames is not None:
        stored = [list(f.astype(np.float16)) for f in frames]
        table = table.append_column("frames", pa.array(stored, pa.list_(pa.list_(pa.float16()))))
        metadata["granularity"] = "frames"
    write_shard(table, path, metadata)


def experiment(**overrides) -> dict:
    """A small IEMO+MSPI -> MSPP experiment: schema defaults, tuned for a tiny problem."""
    small = {
        "name": "IEMO+MSPI_Test",
        "train_dataset": ["IEMO", "MSPI"],
        "test_datasets": ["MSPP"],
        "learning_rate": 1e-2,
        "num_epochs": 8,
        "batch_size": 16,
        "modality": "both",
        "fusion_hidden_dim": 16,
        "dropout": 0.1,
        "weight_decay": 0.01,
        "curriculum_epochs": 4,
        "curriculum_start": 0.2,
        "seeds": [1],
        "audio_features": "synthetic_audio",
        "text_features": "synthetic_text",
        "curriculum_defaults": [],
    }
    return schema_experiment(**small | overrides)


def settings(**overrides) -> Settings:
    return Settings.of(experiment(**overrides))


def run(
    world: dict, out_dir: Path, seed: int = 1, frames_dir: Path | None = None, **overrides
) -> dict:
    exp = experiment(**overrides)
    audio = world["audio"] if exp["modality"] != "text" else []
    text = world["text"] if exp["modality"] != "audio" else []
    inputs = Inputs(
        world["manifest_path"], world["indexes"], audio, text, world["difficulty"], frames_dir
    )
    return train_seed(exp, seed, inputs, out_dir, out_dir.parent / f"{out_dir.name}-resume")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.mark.parametrize(
    ("modality", "fusion"),
    [("both", "concat"), ("both", "gated"), ("both", "cross_attention"), ("audio", "gated")],
)
def test_learns_easy_problem_and_writes_outputs(world, tmp_path, modality, fusion):
    metrics = run(world, tmp_path, modality=modality, fusion_type=fusion)
    assert metrics["validation"]["uar"] > 0.9
    assert metrics["test"]["MSPP"]["uar"] > 0.8
    assert metrics["n"] == {
        "train": 72 + 48,
        "train_unscored": 0,
        "train_unrated": 0,
        "validation": 24 + 16,
        "test": {"MSPP": 80},
        "in_corpus": {},
    }
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    predictions = pq.read_table(tmp_path / "predictions.parquet").to_pandas()
    assert len(predictions) == 40 + 80
    assert set(predictions["role"]) == {"val", "test"}
    test_rows = predictions[predictions["role"] == "test"]
    assert (test_rows["label"] == test_rows["pred"]).mean() == metrics["test"]["MSPP"]["accuracy"]
    probs = predictions[[f"prob_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)

    checkpoint = torch.load(tmp_path / "model.pt", weights_only=True)
    assert set(checkpoint) == {"state_dict", "standardisation", "config", "classes"}
    model = load_model(tmp_path / "model.pt")
    data = load_data(
        settings(modality=modality),
        world["manifest_path"],
        world["indexes"],
        {m: world[m] for m in (["audio", "text"] if modality == "both" else [modality])},
        None,
    )
    np.testing.assert_allclose(
        loop.predict_proba(model, data.test["MSPP"]), probs[len(probs) - 80 :], rtol=1e-5
    )


def test_same_seed_gives_identical_outputs(world, tmp_path):
    run(world, tmp_path / "a", fusion_type="cross_attention")
    run(world, tmp_path / "b", fusion_type="cross_attention")
    for name in ("metrics.json", "history.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    run(world, tmp_path / "c", seed=2, fusion_type="cross_attention")
    assert (tmp_path / "c" / "history.csv").read_bytes() != (
        tmp_path / "a" / "history.csv"
    ).read_bytes()


def test_history_follows_linear_pacing(world, tmp_path):
    run(world, tmp_path, num_epochs=6)
    history = pacsv.read_csv(tmp_path / "history.csv").to_pylist()
    assert [h["epoch"] for h in history] == list(range(6))
    fractions = [h["curriculum_fraction"] for h in history]
    assert fractions == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    # per epoch: round(fraction * n) of IEMO's 72 and MSPI's 48 training utterances
    per_epoch = [14 + 10, 29 + 19, 43 + 29, 58 + 38, 120, 120]
    assert [h["samples_seen"] for h in history] == list(np.cumsum(per_epoch))
    assert all(h["learning_rate"] == 1e-2 for h in history)


def test_console_messages(world, tmp_path, capsys):
    run(world, tmp_path, num_epochs=1)
    out = capsys.readouterr().out.splitlines()
    assert out[:7] == [
        "🔗 Training on multiple datasets: IEMO, MSPI",
        "✅ Concatenated 2 datasets: IEMO+MSPI",
        "   Total samples: 120",
        "   IEMO: 72 samples (indices 0-71)",
        "   MSPI: 48 samples (indices 72-119)",
        "",
        "🚀 Training: IEMO+MSPI -> ['MSPP']",
    ]


def test_announce_matches_the_seed_page(capsys):
    announce({"IEMO": 7523, "MSPI": 7711}, ["MSPP", "CMUMOSEI", "SAMSEMO"])
    assert capsys.readouterr().out == (
        "🔗 Training on multiple datasets: IEMO, MSPI\n"
        "✅ Concatenated 2 datasets: IEMO+MSPI\n"
        "   Total samples: 15234\n"
        "   IEMO: 7523 samples (indices 0-7522)\n"
        "   MSPI: 7711 samples (indices 7523-15233)\n"
        "\n"
        "🚀 Training: IEMO+MSPI -> ['MSPP', 'CMUMOSEI', 'SAMSEMO']\n"
    )
    announce({"IEMO": 10}, ["MSPI"])
    assert capsys.readouterr().out == "🚀 Training: IEMO -> ['MSPI']\n"


def test_cross_attention_says_once_that_it_sees_one_token(world, tmp_path, capsys):
    run(world, tmp_path, num_epochs=2, fusion_type="cross_attention")
    out = capsys.readouterr().out
    assert out.count("cross_attention over one token per modality") == 1


@pytest.mark.parametrize("normalisation", ["train", "corpus"])
def test_memory_mapped_frames_train_exactly_as_frames_in_memory(tmp_path, normalisation):
    world = make_world(tmp_path / "world", frames=True)
    common = {"fusion_type": "cross_attention", "num_epochs": 3}
    common |= {"feature_normalisation": normalisation}
    memory = run(world, tmp_path / "memory", **common)
    (tmp_path / "scratch").mkdir()
    mapped = run(world, tmp_path / "mapped", frames_dir=tmp_path / "scratch", **common)
    assert mapped == memory
    for name in ("predictions.parquet", "history.csv"):
        assert (tmp_path / "mapped" / name).read_bytes() == (
            tmp_path / "memory" / name
        ).read_bytes()
    # One store per modality, holding every manifest utterance's frames once, float16.
    stores = sorted(f.stat().st_size for f in (tmp_path / "scratch").glob("*.f16"))
    frames = {
        kind: sum(
            len(f)
            for p in world[kind]
            for f in pq.read_table(p, columns=["frames"])["frames"].to_pylist()
        )
        for kind in DIMS
    }
    assert stores == sorted(frames[k] * DIMS[k] * 2 for k in DIMS)


def test_utterance_without_frames_is_an_error_naming_it(tmp_path):
    world = make_world(tmp_path, frames=True)
    shard = world["audio"][0]  # IEMO, first half
    table = pq.read_table(shard)
    emptied = table.column("utt_id")[2].as_py()
    frames = [np.array(u, np.float64) for u in table.column("frames").to_pylist()]
    frames[2] = np.zeros((0, DIMS["audio"]))
    x = np.array(table.column("embedding").to_pylist())
    write_features(table.column("utt_id").to_pylist(), x, shard, "audio", frames)
    with pytest.raises(
        ValueError, match=rf"utterance {emptied} \(IEMO\) has no frames in the audio"
    ):
        run(world, tmp_path / "out", fusion_type="cross_attention")


def test_missing_feature_row_is_an_error_naming_it(tmp_path):
    world = make_world(tmp_path)
    shard = world["text"][3]  # MSPI, second half
    table = pq.read_table(shard)
    dropped = table.column("utt_id")[5].as_py()
    kept = table.filter(pa.array([u != dropped for u in table.column("utt_id").to_pylist()]))
    write_features(
        kept.column("utt_id").to_pylist(),
        np.array(kept.column("embedding").to_pylist()),
        shard,
        "text",
    )
    with pytest.raises(ValueError, match=rf"utterance {dropped} \(MSPI\) has no row in the text"):
        run(world, tmp_path / "out")


def test_train_utterance_without_difficulty_is_left_out_and_counted(tmp_path, capsys):
    world = make_world(tmp_path)
    path = world["difficulty"][0]  # IEMO; its first utterance (speaker 0) trains
    write_parquet(pq.read_table(path).slice(1), path)
    metrics = run(world, tmp_path / "out", num_epochs=5)
    # Only the training set shrinks; validation and test are the same utterances as without.
    assert metrics["n"]["train"] == 72 + 48 - 1 and metrics["n"]["train_unscored"] == 1
    plain = run(world, tmp_path / "plain", num_epochs=5, use_curriculum_learning=False)
    assert metrics["utterances"] == plain["utterances"]
    assert (metrics["n"]["validation"], plain["n"]["train_unscored"]) == (40, 0)
    assert (
        "difficulty curriculum: 1 training utterance(s) without a euclidean difficulty left out "
        "of training (119 train on); validation and test sets are unaffected"
    ) in capsys.readouterr().out


def with_vad_and_sessions(world: dict, shift_session: int | None = None) -> None:
    """Give IEMO V/A/D ratings and two sessions (speakers 0-1, 2-3); with `shift_session`, that
    session's ratings are moved. Rewrites the difficulty files as the workflow's centroid rule
    would, from the whole index."""
    path = world["indexes"][0]
    rows = pq.read_table(path).to_pylist()
    rng = np.random.default_rng(5)
    for row in rows:
        row["session"] = int(row["speaker"][-1]) // 2 + 1
        moved = 1.5 if row["session"] == shift_session else 0.0
        row["valence"], row["arousal"], row["dominance"] = rng.uniform(1, 3, 3) + moved
    index = pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
    write_parquet(index, path)
    write_parquet(score(index, "centroid", (1.0, 5.0), None)[0], world["difficulty"][0])


def test_centroid_difficulty_never_sees_the_held_out_session(tmp_path):
    """Changing only the held-out session's V/A/D leaves the fold's training history identical:
    centroid statistics come from the fold's training rows alone."""
    histories = []
    for shift in (None, 1):
        world = make_world(tmp_path / str(shift))
        with_vad_and_sessions(world, shift)
        manifest = pq.read_table(world["manifest_path"]).to_pylist()
        session = {
            r["utt_id"]: r["session"] for r in pq.read_table(world["indexes"][0]).to_pylist()
        }
        rows = [r | {"fold": session.get(r["utt_id"])} for r in manifest if r["corpus"] != "MSPI"]
        write_parquet(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), world["manifest_path"])
        exp = experiment(
            train_dataset=["IEMO"], modality="audio", evaluation_mode="loso",
            difficulty_method="centroid", num_epochs=6,
        )  # fmt: skip
        # The whole-corpus centroid file is given, as the difficulty rule writes it for reports.
        difficulty = world["difficulty"][:1]
        inputs = Inputs(
            world["manifest_path"], world["indexes"], world["audio"][:2], [], difficulty
        )
        out = tmp_path / f"run-{shift}"
        train_fold(exp, 1, 1, 0.5, inputs, out, tmp_path / f"resume-{shift}")
        histories.append((out / "history.csv").read_bytes())
    assert histories[0] == histories[1]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"test_datasets": ["CMUMOSEI"]}, "test rows of corpus MSPP"),
        ({"train_dataset": ["IEMO", "MSPI", "MSPP"]}, "no train utterances of MSPP"),
        ({"evaluation_mode": "loso"}, "cross_corpus"),
    ],
)
def test_manifest_must_match_the_experiment(world, tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        run(world, tmp_path, **overrides)


@pytest.mark.parametrize(
    ("script", "best"),
    [
        ([0.5, 0.9, 0.4, 0.3, 0.2], 1),
        ([0.5, 0.9, 0.9, 0.2, 0.1], 1),
        ([0.1, 0.2, 0.3, 0.4, 0.5], 4),
    ],
)
def test_best_checkpoint_is_a_deep_copy(world, monkeypatch, script, best):
    snapshots = []

    def scripted_uar(model, split):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return script[len(snapshots) - 1]

    monkeypatch.setattr(loop, "validation_uar", scripted_uar)
    exp = settings(num_epochs=len(script))
    data = load_data(exp, world["manifest_path"], world["indexes"], {"audio": world["audio"]}, None)
    model = build_model(exp, data.train)
    result = fit(
        model,
        data.train,
        data.val,
        Curriculum.everything(len(data.train)),
        exp,
        np.random.default_rng(0),
    )
    assert result.best_epoch == best
    final = model.state_dict()
    for name, tensor in result.best_state.items():
        assert torch.equal(tensor, snapshots[best][name])
    if best != len(script) - 1:
        assert any(not torch.equal(result.best_state[k], final[k]) for k in final)


def test_epoch_order_is_shuffled_subset():
    rng = np.random.default_rng(0)
    exp = {"curriculum_start": 0.5, "curriculum_epochs": 2}
    groups, labels = np.zeros(50), np.zeros(50, dtype=int)
    curriculum = make_curriculum(settings(**exp), groups, labels, np.arange(50.0), seed=0)
    order = epoch_order(curriculum, 0, None, rng)
    assert sorted(order.tolist()) == list(range(25))
    assert order.tolist() != sorted(order.tolist())
    assert epoch_order(Curriculum.everything(50), 0, None, rng).tolist() != list(range(50))


def test_class_weights_inverse_frequency_mean_one():
    weights = class_weights(torch.tensor([0] * 6 + [1] * 3 + [2] * 1))
    inverse = np.array([1 / 6, 1 / 3, 1.0])
    expected = inverse / inverse.mean()
    np.testing.assert_allclose(weights.numpy(), [*expected, 0.0], rtol=1e-6)


def test_missing_training_class_is_a_warning(capsys):
    from xcorpus.train.run import warn_missing_classes

    warn_missing_classes(np.array([0, 1, 1, 3]))
    assert "warning: the training set has no sad utterances" in capsys.readouterr().out
    warn_missing_classes(np.array([0, 1, 2, 3]))
    assert capsys.readouterr().out == ""


def test_seeds_sharing_a_checkpoint_dir_never_resume_each_other(world, tmp_path, monkeypatch):
    """A resume state left by one seed (killed before its outputs were written) is not taken
    up by another seed given the same checkpoint directory."""
    exp = experiment(modality="audio", use_curriculum_learning=False)
    inputs = Inputs(world["manifest_path"], world["indexes"], world["audio"], [], [])
    shared = tmp_path / "checkpoints"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("xcorpus.train.run.save_checkpoint", killed)
        with pytest.raises(KeyboardInterrupt):
            train_seed(exp, 1, inputs, tmp_path / "seed-1", shared)
    assert len(list(shared.glob("*.pt"))) == 1  # seed 1's finished resume state
    seed_2 = train_seed(exp, 2, inputs, tmp_path / "seed-2", shared)
    alone = train_seed(exp, 2, inputs, tmp_path / "alone", tmp_path / "own")
    assert seed_2 == alone


@pytest.mark.parametrize("normalisation", ["train", "corpus"])
def test_a_test_corpus_never_shapes_training(world, tmp_path, normalisation):
    """Shifting the test corpus's features trains the same model (byte for byte) under every
    normalisation; under `corpus` its own statistics undo the shift, under `train` they do not.
    """
    shifted = make_world(tmp_path / "shifted", test_shift=3.0)
    a = run(world, tmp_path / "a", feature_normalisation=normalisation)
    b = run(shifted, tmp_path / "b", feature_normalisation=normalisation)
    for name in ("history.csv", "model.pt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert a["validation"] == b["validation"]
    pa_, pb = (pq.read_table(tmp_path / d / "predictions.parquet").to_pandas() for d in "ab")
    val = pa_["role"] == "val"
    assert pa_[val].equals(pb[val])
    probs = [f"prob_{c}" for c in CLASSES]
    gap = np.abs(pa_.loc[~val, probs].to_numpy() - pb.loc[~val, probs].to_numpy()).max()
    if normalisation == "corpus":
        assert gap < 1e-4
        assert a["feature_normalisation"]["transductive"] is True
    else:
        assert gap > 0.1
        assert a["feature_normalisation"] == {
            "method": "train",
            "transductive": False,
            "reason": None,
        }
