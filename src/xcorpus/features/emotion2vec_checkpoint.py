"""The checkpoint of a local emotion2vec directory: the file that holds its weights, and the
check that every encoder tensor of the built model came from it.

A local directory holds either `config.yaml` + `model.pt` (+ optional `tokens.txt`) or the
ModelScope layout (`configuration.json` whose `file_path_metas` name the `config` and
`init_param` files).

Weights are checked because FunASR silently skips checkpoint tensors of the wrong shape and only
warns about missing ones. Every parameter and buffer of the built model must be in the checkpoint
with its shape, except the pretraining decoder and the classification head (`proj`), which the
features never use (plus checkpoints ship without the decoder). Checkpoint keys the model lacks
are an error (a config that does not fit the checkpoint, e.g. fewer blocks) unless they belong to
the decoder, the head or an EMA teacher.
"""

import json
from pathlib import Path

from xcorpus.features.emotion2vec_hub import GET_MODEL
from xcorpus.features.encoder import ModelNotFoundError

# Keys the features never read: the pretraining decoder, the classification head, an EMA
# teacher. They may be missing from, or extra in, a checkpoint.
UNUSED_KEYS = ("modality_encoders.AUDIO.decoder.", "proj.", "_ema", "ema.")
EXPECTED_FILES = (
    "config.yaml and model.pt (optional tokens.txt), or a ModelScope configuration.json whose "
    "file_path_metas name its config and init_param files"
)


def checkpoint_path(model_dir: Path) -> Path:
    """The weights file of a local model directory, or ModelNotFoundError saying what is missing."""
    if not model_dir.is_dir():
        raise ModelNotFoundError(
            f"emotion2vec model directory {model_dir} does not exist; expected a directory with "
            f"{EXPECTED_FILES}. {GET_MODEL}"
        )
    if (model_dir / "configuration.json").is_file():
        metas = json.loads((model_dir / "configuration.json").read_text()).get("file_path_metas")
        metas = metas if isinstance(metas, dict) else {}
        files = [model_dir / str(metas.get(k, "")) for k in ("config", "init_param")]
        if all(metas.get(k) for k in ("config", "init_param")) and all(f.is_file() for f in files):
            return files[1]
    elif (model_dir / "config.yaml").is_file() and (model_dir / "model.pt").is_file():
        return model_dir / "model.pt"
    raise ModelNotFoundError(
        f"emotion2vec model directory {model_dir} is incomplete: expected {EXPECTED_FILES}, "
        f"found {sorted(p.name for p in model_dir.iterdir())}. {GET_MODEL}"
    )


def state_dict(path: Path) -> dict:
    """The checkpoint's tensors, unwrapped the way FunASR unwraps them."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        state = state.get(key, state)
    return {k.removeprefix("module."): v for k, v in state.items()}


def check_weights(model, path: Path) -> None:
    """ValueError unless every encoder tensor of `model` came from the checkpoint at `path`."""
    wanted = {k: v.shape for k, v in model.state_dict().items() if not k.startswith(UNUSED_KEYS)}
    found = state_dict(path)
    problems = [
        f"{k} missing" if k not in found else f"{k} {tuple(found[k].shape)} != {tuple(shape)}"
        for k, shape in wanted.items()
        if k not in found or found[k].shape != shape
    ]
    problems += [f"{k} unexpected" for k in found if k not in wanted and not unused(k)]
    if problems:
        raise ValueError(
            f"emotion2vec checkpoint {path} does not fit its config ({len(problems)} tensors): "
            + "; ".join(problems[:5])
        )


def unused(key: str) -> bool:
    """Whether a checkpoint key belongs to a part the features never read."""
    return key.startswith(UNUSED_KEYS) or ".decoder." in key
