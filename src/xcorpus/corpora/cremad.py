"""CREMA-D (CREMAD) as distributed (GitHub/GitLab clone with Git LFS, or the Kaggle copy).

Layout read under the root (any wrapper folder; corpora-more.md §1)::

    **/<ActorID>_<SEN>_<EMO>_<LVL>.wav        audio, e.g. AudioWAV/1001_IEO_HAP_HI.wav
    **/VideoDemographics.csv                  speaker table (optional: not in the Kaggle copy)
    **/processedResults/tabulatedVotes.csv    rater votes per clip and modality (optional)

The label, sentence, intensity and speaker come from the wav name (named.py: AppleDouble files
and other names are ignored and logged, identical copies read once). `AudioMP3/` and
`VideoFlash/` are never read; `SentenceFilenames.csv`, `summaryTable.csv` and the per-rating
logs are not needed.

Decisions:

- utt_id = the file stem (`1001_IEO_HAP_HI`); the legacy one-letter level of older clones
  (`1040_ITH_SAD_X.wav`) keeps its stem as id. When its `_XX` twin is present too, the `_X`
  file is rejected as "legacy name of <twin>, which is also present" (the same recording).
- Labels: the intended (acted) emotion `EEE`: NEU, HAP, SAD, ANG -> neutral, happy, sad,
  angry; DIS and FEA are rejected. No official split (split None), no sessions, no V/A/D.
- speaker = ActorID; gender from `VideoDemographics.csv` `Sex` (Male -> M, Female -> F), None
  without that file or for an actor it does not list. A row whose `Sex` is neither, or with
  the wrong number of fields, is a ValueError naming file and line (a speaker table, not a
  label file: a wrong row would silently mislabel every clip of the actor); so is an actor
  listed twice with two genders.
- transcript = the sentence of the `SEN` code (the README's twelve, without a final stop);
  language = EN.
- Rater statistics, from `tabulatedVotes.csv` when present, voice-only rows (row name
  100000 + clip number): n_raters = `numResponses`, agreement = the vote count of the clip's
  intended emotion / `numResponses` (not the file's own `agreement` column, which is the
  majority's share). Rows are joined on `fileName`; the legacy `_X` stem is looked up as its
  `_XX` name. A voice row that does not parse (counts not integers, counts not summing to
  `numResponses`, wrong field count) rejects its clip as "malformed vote row at
  <file>:<line>"; one without a readable `fileName`, or a second voice row for a clip, is a
  ValueError. A clip without a voice row keeps both None.
- A wav that is a Git LFS pointer (under 1 kB, starting `version https://git-lfs`) stops
  indexing with a ValueError naming it and `git lfs pull`: the clone lacks its audio.
- UNCONFIRMED in the sources, assumed here: the `VideoDemographics.csv` header and
  `tabulatedVotes.csv` columns as in the current GitHub commit (checked columns: `ActorID`,
  `Sex`; `""`, `A D F H N S`, `fileName`, `numResponses`); `1076_MTI_SAD_XX.wav`'s "no signal"
  is digital silence, so the shared audio check rejects it as silent audio (if it holds noise
  it is kept, as EmoBox keeps it).
"""

import csv
import os
import re
from pathlib import Path

from xcorpus.corpora.base import TEXT_ENCODING, CorpusSpec, Loaded, Sources, agreement, folders
from xcorpus.corpora.named import Named, find_file, four_class, named_files, row

SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
LABELS: dict[str, str] = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "angry"}
NAMES: dict[str, str] = {"DIS": "disgust", "FEA": "fear"}
# Intended emotion -> its vote column in tabulatedVotes.csv.
VOTE_COLUMN: dict[str, str] = {
    "ANG": "A",
    "DIS": "D",
    "FEA": "F",
    "HAP": "H",
    "NEU": "N",
    "SAD": "S",
}
GENDERS: dict[str, str] = {"Male": "M", "Female": "F"}
LANGUAGE = "EN"
NAME_RE = re.compile(
    rf"^(?P<actor>\d{{4}})_(?P<sentence>{'|'.join(SENTENCES)})"
    rf"_(?P<emotion>{'|'.join(VOTE_COLUMN)})_(?P<level>LO|MD|HI|XX|X)\.wav$"
)
DEMOGRAPHICS = "VideoDemographics.csv"
VOTES = "tabulatedVotes.csv"
VOICE_ONLY = 1  # row name // 100000: 1 voice, 2 face, 3 audio-visual
LFS_POINTER = b"version https://git-lfs"


def _parse(path: Path) -> tuple[str, re.Match[str], str] | str:
    match = NAME_RE.match(path.name)
    if match is None:
        return "not a CREMA-D file name (<actor>_<sentence>_<emotion>_<level>.wav)"
    return path.stem, match, match.group("emotion")


def _check_not_lfs_pointer(named: Named) -> None:
    """ValueError when the wav is a Git LFS pointer text instead of audio."""
    if os.path.getsize(named.path) < 1024:
        with named.path.open("rb") as f:
            if f.read(len(LFS_POINTER)) == LFS_POINTER:
                raise ValueError(
                    f"CREMAD: {named.source} is a Git LFS pointer, not audio: the corpus was "
                    "downloaded without its audio; run `git lfs pull` in the clone"
                )


def _genders(path: Path | None, root: Path) -> dict[str, str]:
    """ActorID -> M/F from VideoDemographics.csv (empty without the file)."""
    if path is None:
        return {}
    shown = path.relative_to(root).as_posix()
    genders: dict[str, str] = {}
    with path.open(encoding=TEXT_ENCODING, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        for column in ("ActorID", "Sex"):
            if column not in header:
                raise ValueError(f"CREMAD: {shown} has no column {column}")
        for fields in reader:
            if not any(x.strip() for x in fields):
                continue
            record = dict(zip(header, (x.strip() for x in fields), strict=False))
            if len(fields) != len(header) or record["Sex"] not in GENDERS:
                raise ValueError(
                    f"CREMAD: malformed speaker row {shown}:{reader.line_num}: {fields}"
                )
            actor, gender = record["ActorID"], GENDERS[record["Sex"]]
            if genders.setdefault(actor, gender) != gender:
                where = f"{shown}:{reader.line_num}"
                raise ValueError(
                    f"CREMAD: actor {actor} listed again, with another Sex, at {where}"
                )
    return genders


def _votes(path: Path | None, root: Path) -> dict[str, tuple[dict[str, int], int] | str]:
    """fileName -> (vote counts per letter, numResponses) of its voice-only row, or the
    source of that row when it is malformed (empty without the file)."""
    if path is None:
        return {}
    shown = path.relative_to(root).as_posix()
    votes: dict[str, tuple[dict[str, int], int] | str] = {}
    where: dict[str, int] = {}
    with path.open(encoding=TEXT_ENCODING, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        for column in ("", *VOTE_COLUMN.values(), "fileName", "numResponses"):
            if column not in header:
                raise ValueError(f"CREMAD: {shown} has no column {column!r}")
        for fields in reader:
            if not any(x.strip() for x in fields):
                continue
            lineno = reader.line_num
            record = dict(zip(header, (x.strip() for x in fields), strict=False))
            stem = record.get("fileName", "")
            if not stem:
                raise ValueError(f"CREMAD: vote row {shown}:{lineno} has no fileName")
            name = record[""]
            if name.isdigit() and int(name) // 100000 != VOICE_ONLY:
                continue
            if stem in votes:
                raise ValueError(
                    f"CREMAD: {stem} has two voice vote rows, {shown}:{where[stem]} and "
                    f"{shown}:{lineno}"
                )
            where[stem] = lineno
            votes[stem] = _vote_counts(fields, header, record) or f"{shown}:{lineno}"
    return votes


def _vote_counts(
    fields: list[str], header: list[str], record: dict[str, str]
) -> tuple[dict[str, int], int] | None:
    """(counts, numResponses) of a voice row, or None when it does not parse."""
    if len(fields) != len(header) or not record[""].isdigit():
        return None
    try:
        counts = {letter: int(record[letter]) for letter in VOTE_COLUMN.values()}
        total = int(record["numResponses"])
    except ValueError:
        return None
    if min(counts.values()) < 0 or sum(counts.values()) != total:
        return None
    return counts, total


def load(root: Path) -> Loaded:
    """Read CREMA-D from `root` (a clone of the repository, or any folder above its wavs)."""
    root = Path(os.path.abspath(root))
    demographics, votes_file = find_file(root, DEMOGRAPHICS), find_file(root, VOTES)
    genders, votes = _genders(demographics, root), _votes(votes_file, root)
    found = [f.relative_to(root).as_posix() for f in (demographics, votes_file) if f]
    loaded = Loaded(variant=", ".join(["wav names", *found]))
    named = named_files(root, loaded, _parse)
    ids = {n.utt_id for n in named}
    for item in named:
        _check_not_lfs_pointer(item)
        fields = item.fields
        if fields.group("level") == "X" and f"{item.utt_id}X" in ids:  # its current name
            reason = f"legacy name of {item.utt_id}X, which is also present"
            loaded.reject(item.utt_id, reason, item.raw_label, item.source)
            continue
        label = four_class(loaded, item, LABELS, NAMES)
        if label is None:
            continue
        current = f"{item.utt_id}X" if fields.group("level") == "X" else item.utt_id
        vote = votes.get(item.utt_id, votes.get(current))
        if isinstance(vote, str):
            loaded.reject(item.utt_id, f"malformed vote row at {vote}", item.raw_label, item.source)
            continue
        counts, total = vote if vote is not None else ({}, 0)
        loaded.rows.append(
            row(
                item,
                label,
                fields.group("actor"),
                genders.get(fields.group("actor")),
                transcript=SENTENCES[fields.group("sentence")],
                language=LANGUAGE,
                n_raters=total or None,
                agreement=agreement(counts.get(VOTE_COLUMN[item.raw_label], 0), total),
            )
        )
    return loaded


def sources(root: Path) -> Sources:
    """The speaker table and the vote table, and every folder: wavs are found by a walk."""
    files = [find_file(root, DEMOGRAPHICS), find_file(root, VOTES)]
    return Sources(files=[f for f in files if f is not None], dirs=folders(root))


SPEC = CorpusSpec(
    name="CREMAD",
    load=load,
    sources=sources,
    vad_scale=None,
    has_transcripts=True,
    has_agreement=True,
)
