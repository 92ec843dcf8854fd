"""FunASR's part of the emotion2vec backend: it builds the model from a local directory (so config
handling and weights loading are FunASR's), offline, and kept from touching the caller's
process: its prints, logging set-up and reseeding of every random generator.
"""

import contextlib
import io
import logging
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep FunASR's prints, info logs and global side effects out of the caller's process.

    FunASR prints to stdout, calls `logging.basicConfig` (a NullHandler on the root logger makes
    that a no-op) and reseeds every random generator (their states are restored).
    """
    import torch

    root = logging.getLogger()
    handler = logging.NullHandler()
    disabled = root.manager.disable
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    root.addHandler(handler)
    logging.disable(max(disabled, logging.WARNING))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(disabled)
        root.removeHandler(handler)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def funasr_model(model_dir: Path, device: str):
    """FunASR's AutoModel for a local directory: offline, quiet, on `device`.

    Its `generate` is the reference this backend's padded batches are tested and measured against.
    """
    import torch

    with quiet():
        try:
            from funasr import AutoModel
        except ImportError as error:
            raise ImportError(
                "the emotion2vec backend needs FunASR: pip install 'xcorpus[emotion2vec]'"
            ) from error

        return AutoModel(
            model=str(model_dir),
            device=device,
            disable_update=True,
            disable_pbar=True,
            log_level="ERROR",
            ncpu=torch.get_num_threads(),
        )


def build(model_dir: Path, device: str):
    """FunASR's Emotion2vec for a local directory, on `device`, in eval mode."""
    auto = funasr_model(model_dir, device)
    from funasr.models.emotion2vec.model import Emotion2vec

    if not isinstance(auto.model, Emotion2vec):
        raise ValueError(f"{model_dir} holds a {type(auto.model).__name__}, not an Emotion2vec")
    return auto.model
