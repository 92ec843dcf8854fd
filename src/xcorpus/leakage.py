"""Whether anything an experiment evaluates on was also seen in training: the leakage report.

Roles rank train < val < heldout < test. A model *sees* its train rows (it fits them) and its
val rows (it is selected on them); a reported figure comes from val (the validation (selection)
figure), heldout (in-corpus tests) and test rows, the *evaluated* ones. The report looks
at each partition the experiment evaluates: the manifest's roles (cross-corpus), and each
leave-one-session-out fold's (manifest.loso_roles, as the fold's training job computes them):

- speaker_overlap: speakers of one corpus in two roles (corpora name speakers their own way,
  so only within a corpus); count = speakers;
- same_audio: evaluated utterances whose decoded samples equal those of an utterance of an
  earlier seen role, in any corpus: a corpus copied under another name, path or lossless
  format; count = evaluated utterances;
- same_audio_between_tests: heldout/test utterances whose audio is evaluated again in another
  corpus, so the two figures are not independent; count = utterances of the later corpus;
- same_transcript (experiments that read text): evaluated utterances whose transcript, case,
  punctuation and whitespace aside, is that of an earlier seen one (IEMOCAP's scripted
  dialogues repeat their text across speakers and sessions); count = evaluated utterances;
- pretrained_on: evaluated corpora that the publishers of a feature model say it was trained
  on (MODEL_DATA); count = that corpus's utterances in that role.

Every check gives each partition a row: count 0 when checked and none found, a null count with
the reason when it could not be checked. Findings are warnings; nothing here fails a run.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd
import pyarrow as pa

from xcorpus.config import modalities
from xcorpus.manifest import loso_roles

ROLES = ("train", "val", "heldout", "test")
SEEN = ("train", "val")
EVALUATED = ("val", "heldout", "test")
TESTS = ("heldout", "test")
CHECKS = (
    "speaker_overlap",
    "same_audio",
    "same_audio_between_tests",
    "same_transcript",
    "pretrained_on",
)
NONE_FOUND = {
    "speaker_overlap": "no speaker is in two roles of one corpus",
    "same_audio": "no evaluated utterance has the decoded audio of a seen one",
    "same_audio_between_tests": "no test utterance's audio is tested again in another corpus",
    "same_transcript": "no evaluated utterance has the transcript of a seen one",
    "pretrained_on": "no evaluated corpus is in the training data of its feature models",
}
N_EXAMPLES = 5

LEAKAGE_SCHEMA = pa.schema(
    [
        pa.field("check", pa.string(), nullable=False),
        pa.field("fold", pa.int32()),  # the held-out session of a LOSO fold; null: cross-corpus
        pa.field("corpus", pa.string()),
        pa.field("role", pa.string()),
        pa.field("other_corpus", pa.string()),
        pa.field("other_role", pa.string()),
        pa.field("count", pa.int64()),  # null: not checked (the message says why)
        pa.field("examples", pa.string()),
        pa.field("message", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class TrainingData:
    """What the publishers of a model say it was trained on, in corpus short names."""

    what: str  # how the corpora were used, for the message
    source: str
    stated: tuple[str, ...] = ()  # named as training data
    possible: tuple[str, ...] = ()  # in a collection named as its source, without saying which


# The corpora of EmoBox (emo-box/EmoBox README, commit 08280f2) among this project's short names.
EMOBOX = ("IEMO", "MSPP", "CREMAD", "MELD", "RAVDESS", "SAVEE", "TESS", "EMODB", "ESD")

# Keyed by the last component of the model directory or hub id, lower-case (model_name).
MODEL_DATA = {
    # Ma et al., "emotion2vec", Findings of ACL 2024 (arXiv:2312.15185), Table 1: 262 h of
    # IEMOCAP, MELD, CMU-MOSEI, MEAD and MSP-Podcast, used without their labels.
    "emotion2vec_base": TrainingData(
        what="self-supervised pre-training on their audio",
        source="arXiv:2312.15185 Table 1",
        stated=("IEMO", "MELD", "CMUMOSEI", "MSPP"),
    ),
    # github.com/ddlBoJack/emotion2vec README (news, Jan. 2024): emotion2vec fine-tuned on
    # unnamed academic SER data, then on pseudo-labelled data; its pre-training is emotion2vec's.
    "emotion2vec_base_finetuned": TrainingData(
        what="pre-training (as emotion2vec_base), then fine-tuning on unnamed emotion data",
        source="arXiv:2312.15185 Table 1; github.com/ddlBoJack/emotion2vec README",
        stated=("IEMO", "MELD", "CMUMOSEI", "MSPP"),
    ),
    # huggingface.co/emotion2vec/emotion2vec_plus_seed model card: fine-tuned on academic data
    # from EmoBox, 201 h (EmoBox holds 294 h), without saying which of its corpora.
    "emotion2vec_plus_seed": TrainingData(
        what="fine-tuning with emotion labels on EmoBox data (which of its corpora is not said)",
        source="huggingface.co/emotion2vec/emotion2vec_plus_seed",
        possible=EMOBOX,
    ),
    # github.com/ddlBoJack/emotion2vec README, "Data Engineering": plus base and large are
    # fine-tuned on filtered pseudo-labelled data, each version derived from the data of its
    # predecessor (plus seed's EmoBox data); the sources are not published.
    "emotion2vec_plus_base": TrainingData(
        what="fine-tuning on pseudo-labelled data derived from emotion2vec_plus_seed's EmoBox data",
        source="github.com/ddlBoJack/emotion2vec README, Data Engineering",
        possible=EMOBOX,
    ),
    "emotion2vec_plus_large": TrainingData(
        what="fine-tuning on pseudo-labelled data derived from emotion2vec_plus_seed's EmoBox data",
        source="github.com/ddlBoJack/emotion2vec README, Data Engineering",
        possible=EMOBOX,
    ),
}
# Backends with nothing trained on emotion corpora: eGeMAPS is hand-crafted; all-MiniLM-L6-v2's
# card (huggingface.co/sentence-transformers/all-MiniLM-L6-v2) lists general text pairs only.
NO_EMOTION_DATA = frozenset({"egemaps", "minilm"})


def report_corpora(experiment: dict) -> list[str]:
    """The corpora the report reads: a LOSO-only experiment evaluates its training corpus only."""
    if experiment["evaluation_mode"] == "loso":
        return list(experiment["train_dataset"])
    return experiment["train_dataset"] + experiment["test_datasets"]


def model_name(model: str) -> str:
    """`iic/emotion2vec_base` and `/models/emotion2vec_base/` both name emotion2vec_base."""
    return PurePath(model.rstrip("/")).name.lower()


def normalise_transcript(text: str | None) -> str | None:
    """Lower-case words without punctuation, one space apart (an ASR transcript has none of a
    corpus's punctuation); None for no text."""
    kept = "".join(
        c for c in (text or "").casefold() if not unicodedata.category(c).startswith("P")
    )
    return " ".join(kept.split()) or None


def leakage_report(
    experiment: dict,
    manifest: pa.Table,
    indexes: dict[str, pa.Table],
    hashes: dict[str, pa.Table],
    features: dict[str, dict],
    share: float,
) -> pa.Table:
    """The report's rows (LEAKAGE_SCHEMA), by check, then partition (cross-corpus first).

    `indexes` and `hashes` map each of report_corpora(experiment) to its index and audio
    hashes; `features` maps each modality the experiment reads to its feature set
    ({"name", "backend", "model"}); `share` is config validation_speakers (LOSO folds).
    """
    rows = _rows(experiment, manifest, indexes, hashes)
    reads_text = "text" in modalities(experiment)
    no_text = _not_checked(f"modality {experiment['modality']}: the model reads no transcript")
    found = []
    for fold, part in _partitions(rows, experiment, share):
        groups = _groups(part, report_corpora(experiment))
        seen = _seen_pairs(groups)
        checks = {
            "speaker_overlap": _speaker_overlap(groups),
            "same_audio": _same_values(groups, "hash", seen, "decoded audio"),
            "same_audio_between_tests": _same_values(
                groups, "hash", _test_pairs(groups), "decoded audio"
            ),
            "same_transcript": (
                _same_values(groups, "text", seen, "transcript") if reads_text else [no_text]
            ),
            "pretrained_on": _pretrained_on(groups, features),
        }
        for check, findings in checks.items():
            findings = findings or [{"count": 0, "message": NONE_FOUND[check]}]
            found += [{"check": check, "fold": fold} | f for f in findings]
    found.sort(key=lambda r: (CHECKS.index(r["check"]), -1 if r["fold"] is None else r["fold"]))
    return pa.Table.from_pylist(found, schema=LEAKAGE_SCHEMA)


def warnings(report: pa.Table, experiment: str) -> list[str]:
    """One `warning:` line per finding (count > 0), for the rule's log and console."""
    lines = []
    for row in report.to_pylist():
        if row["count"]:
            where = "" if row["fold"] is None else f"LOSO fold {row['fold']}: "
            lines.append(f"warning: {experiment}: {where}{row['message']}")
    return lines


def _rows(
    experiment: dict,
    manifest: pa.Table,
    indexes: dict[str, pa.Table],
    hashes: dict[str, pa.Table],
) -> pd.DataFrame:
    """Manifest rows of the report's corpora with speaker, normalised transcript and hash."""
    corpora = report_corpora(experiment)
    rows = manifest.select(["utt_id", "corpus", "role", "fold"]).to_pandas()
    rows = rows[rows["corpus"].isin(corpora)]
    columns = ["utt_id", "corpus", "speaker", "transcript"]
    info = pd.concat([indexes[c].select(columns).to_pandas() for c in corpora])
    hashed = pd.concat([hashes[c].to_pandas().assign(corpus=c) for c in corpora])
    rows = rows.merge(info, on=["corpus", "utt_id"], how="left", validate="one_to_one")
    rows = rows.merge(hashed, on=["corpus", "utt_id"], how="left", validate="one_to_one")
    for column, what in (("speaker", "is not in its corpus index"), ("hash", "has no audio hash")):
        if rows[column].isna().any():
            first = rows[rows[column].isna()].iloc[0]
            raise ValueError(f"manifest utterance {first['utt_id']} of {first['corpus']} {what}")
    # A corpus without any transcript (SAVEE) gives NaN, not None, once concatenated.
    return rows.assign(text=rows["transcript"].map(normalise_transcript, na_action="ignore"))


def _partitions(
    rows: pd.DataFrame, experiment: dict, share: float
) -> Iterator[tuple[int | None, pd.DataFrame]]:
    """(fold, rows with that partition's roles): the manifest's unless LOSO-only, then each
    leave-one-session-out fold's, roles recomputed as its training job does."""
    mode = experiment["evaluation_mode"]
    if mode != "loso":
        yield None, rows
    if mode in ("loso", "both"):
        (corpus,) = experiment["train_dataset"]
        own = rows[(rows["corpus"] == corpus) & rows["fold"].notna()]
        sessions = own["fold"].astype(int).to_numpy()
        speakers = own["speaker"].to_numpy(object)
        for fold in sorted(set(sessions.tolist())):
            yield fold, own.assign(role=loso_roles(speakers, sessions, fold, corpus, share))


def _groups(part: pd.DataFrame, corpora: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    """Rows per (corpus, role), in the experiment's corpus order, then role rank."""
    groups = dict(iter(part.groupby(["corpus", "role"], sort=False)))
    return {key: groups[key] for key in sorted(groups, key=lambda k: _rank(k, corpora))}


def _rank(key: tuple[str, str], corpora: list[str]) -> tuple[int, int]:
    return corpora.index(key[0]), ROLES.index(key[1])


def _seen_pairs(groups: dict) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """(evaluated group, seen group) pairs, the seen role ranking before the evaluated one."""
    return [
        (later, earlier)
        for later in groups
        if later[1] in EVALUATED
        for earlier in groups
        if earlier[1] in SEEN and ROLES.index(earlier[1]) < ROLES.index(later[1])
    ]


def _test_pairs(groups: dict) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """(later, earlier) pairs of heldout/test groups of two different corpora."""
    tests = [key for key in groups if key[1] in TESTS]
    return [(b, a) for i, a in enumerate(tests) for b in tests[i + 1 :] if a[0] != b[0]]


def _speaker_overlap(groups: dict) -> list[dict]:
    findings = []
    for (corpus, role), rows in groups.items():
        for (other, other_role), earlier in groups.items():
            if other != corpus or ROLES.index(other_role) >= ROLES.index(role):
                continue
            shared = sorted(set(rows["speaker"]) & set(earlier["speaker"]))
            if shared:
                findings.append(
                    _finding(
                        (corpus, role),
                        (other, other_role),
                        shared,
                        f"{len(shared)} speaker(s) of {corpus} are in both {other_role} and {role}",
                    )
                )
    return findings


def _same_values(groups: dict, column: str, pairs: list, what: str) -> list[dict]:
    """Per (later, earlier) pair, the later group's utterances whose `column` value occurs in
    the earlier group."""
    findings = []
    for later, earlier in pairs:
        rows = groups[later]
        hits = rows[rows[column].isin(set(groups[earlier][column].dropna()))]
        if hits.empty:
            continue
        message = (
            f"{len(hits)} {later[1]} utterance(s) of {later[0]} have the {what} of "
            f"{earlier[1]} utterance(s) of {earlier[0]}"
        )
        if column == "text":
            common = hits["text"].value_counts()
            message += f"; most often {common.index[0]!r} ({common.iloc[0]}x)"
        findings.append(_finding(later, earlier, hits["utt_id"].tolist(), message))
    return findings


def _pretrained_on(groups: dict, features: dict[str, dict]) -> list[dict]:
    findings = []
    for modality, feature_set in features.items():
        backend, model = feature_set["backend"], feature_set.get("model")
        if backend in NO_EMOTION_DATA:
            continue
        label = f"{modality} features {feature_set['name']} ({backend} {model})"
        data = MODEL_DATA.get(model_name(model)) if model else None
        if data is None:
            findings.append(
                _not_checked(
                    f"{label}: what this model was trained on is not recorded here "
                    f"(known: {', '.join(MODEL_DATA)}); check its model card"
                )
            )
            continue
        for (corpus, role), rows in groups.items():
            if role not in EVALUATED or corpus not in data.stated + data.possible:
                continue
            verb = "were" if corpus in data.stated else "may have been"
            message = (
                f"{label} {verb} trained on {corpus} ({data.what}; {data.source}), and "
                f"{len(rows)} {role} utterance(s) of {corpus} are evaluated"
            )
            findings.append(
                {
                    "corpus": corpus,
                    "role": role,
                    "count": len(rows),
                    "examples": label,
                    "message": message,
                }
            )
    return findings


def _finding(later: tuple, earlier: tuple, examples: list[str], message: str) -> dict:
    shown = ", ".join(examples[:N_EXAMPLES]) + (", ..." if len(examples) > N_EXAMPLES else "")
    return {
        "corpus": later[0],
        "role": later[1],
        "other_corpus": earlier[0],
        "other_role": earlier[1],
        "count": len(examples),
        "examples": shown,
        "message": message,
    }


def _not_checked(reason: str) -> dict:
    return {"count": None, "message": f"not checked: {reason}"}
