"""The feature backends: which exist, their modality, the options each takes, and where each is.

A backend is a module `xcorpus.features.<name>` with `MODALITY`, `versions()` and
`load(**options)` returning an `encoder.Encoder`. Modules are imported on use, so the CLI and the
workflow's config checks start without loading opensmile, torch or FunASR. The extraction stage
that runs them is `xcorpus.features.extraction`.
"""

import importlib
from types import ModuleType

# backend -> modality; the config checks need it before any model is imported.
BACKENDS: dict[str, str] = {
    "egemaps": "audio",
    "emotion2vec": "audio",
    "hf_audio": "audio",
    "minilm": "text",
    "hf_text": "text",
}
# Languages each text backend's model reads (codes of the index's `language`); None: whatever
# the configured model reads, which the config cannot know (hf_text: the user's choice).
TEXT_LANGUAGES: dict[str, tuple[str, ...] | None] = {"minilm": ("EN",), "hf_text": None}
# Options of each backend's load(), checked against the config before any job starts.
BACKEND_OPTIONS: dict[str, frozenset[str]] = {
    "egemaps": frozenset(),
    "emotion2vec": frozenset({"model", "layer", "device", "dtype", "batch_seconds"}),
    "hf_audio": frozenset({"model", "layer", "device", "dtype", "batch_seconds"}),
    "minilm": frozenset({"device", "dtype", "batch_size", "max_tokens"}),
    "hf_text": frozenset(
        {"model", "pooling", "layer", "device", "dtype", "batch_size", "max_tokens"}
    ),
}
NEEDS_MODEL = frozenset(b for b, options in BACKEND_OPTIONS.items() if "model" in options)
GRANULARITIES = ("utterance", "frames")


def backend_module(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ValueError(f"unknown feature backend {name!r}; known: {', '.join(BACKENDS)}")
    return importlib.import_module(f"xcorpus.features.{name}")


def check_options(backend: str, options: dict) -> None:
    """ValueError naming the options `backend`'s load() does not take, and those it does."""
    if unknown := sorted(set(options) - BACKEND_OPTIONS[backend]):
        allowed = ", ".join(sorted(BACKEND_OPTIONS[backend])) or "none"
        raise ValueError(
            f"backend {backend} takes no option(s) {', '.join(unknown)} (its options: {allowed})"
        )
