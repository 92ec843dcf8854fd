"""Finding a corpus's audio files by their name grammar, wherever a re-packaging put them.

Corpora distributed as loose files (CREMA-D, RAVDESS, SAVEE, TESS, EmoDB, ESD) are copied
around in many shapes: wrapper folders added or removed, macOS AppleDouble `._*` companions,
trees doubled by an unzip into itself. The file name carries the id, so files are found by a
recursive search for the name grammar. What defines no utterance is ignored and named in the
index footer and indexing log, never rejected: an AppleDouble file, a name outside the grammar,
a byte-identical second copy of a file. Two *different* files claiming one id stay a rejected
duplicate.
"""

import filecmp
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from xcorpus.corpora.base import Loaded

APPLEDOUBLE = "._"


def matching_files(
    root: Path, pattern: re.Pattern[str], suffix: str, loaded: Loaded, skip: frozenset[str]
) -> Iterator[tuple[Path, re.Match[str]]]:
    """(path, match of its name) of every file under `root` whose name matches `pattern`, in
    sorted path order; other files ending in `suffix` are ignored into `loaded`, as are whole
    folders named in `skip` (e.g. EmoDB 2.0's laryngograph recordings)."""
    for folder, dirs, names in os.walk(root):  # top-down: pruning `dirs` skips them
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith(APPLEDOUBLE))
        for name in sorted(names):
            path = Path(folder) / name
            match = pattern.match(name)
            if match is not None and not name.startswith(APPLEDOUBLE):
                yield path, match
            elif name.lower().endswith(suffix):
                apple = name.startswith(APPLEDOUBLE)
                why = "AppleDouble file" if apple else "name outside the grammar"
                loaded.ignored.append(f"{relative(path, root)} ({why})")


def distinct_copies(found: Iterable[tuple], root: Path, loaded: Loaded) -> Iterator[tuple]:
    """(utt_id, path, raw_label, source, *rest) of each utterance file of `found`'s (utt_id,
    path, raw_label, *rest): every file is an entry except a byte-identical copy of the file
    first read for its id (ignored); a different file under an id already read is rejected as
    its duplicate."""
    first: dict[str, Path] = {}
    for utt_id, path, raw_label, *rest in found:
        source = relative(path, root)
        if utt_id in first and filecmp.cmp(first[utt_id], path, shallow=False):
            loaded.ignored.append(f"{source} (identical copy of {relative(first[utt_id], root)})")
            continue
        loaded.entries += 1
        if loaded.duplicate(utt_id, raw_label, source):
            continue
        first[utt_id] = path
        yield utt_id, path, raw_label, source, *rest


def relative(path: Path, root: Path) -> str:
    """`path` below `root`, with forward slashes, as reject sources name files."""
    return path.relative_to(root).as_posix()


def find_named(root: Path, names: tuple[str, ...]) -> dict[str, list[Path]]:
    """Per name, the files or folders under `root` with exactly that name, in sorted path
    order (AppleDouble companions excluded by their `._` prefix)."""
    found: dict[str, list[Path]] = {name: [] for name in names}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in (*dirs, *files):
            if name in found:
                found[name].append(Path(folder) / name)
    return found
