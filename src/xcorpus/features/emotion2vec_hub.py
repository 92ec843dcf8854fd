"""emotion2vec models named by a ModelScope hub id: the rule that tells an id from a local path,
and the download into the ModelScope cache.

`model` is a hub id when it is exactly `owner/name` (one `/`, not starting with `.`, `/` or `~`)
and no such local path exists; anything else is a local path. A hub id is downloaded only when
the hub accepts a connection within HUB_TIMEOUT_S; otherwise loading fails at once, so a job
without network never hangs on it.
"""

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from xcorpus.features.emotion2vec_funasr import quiet
from xcorpus.features.encoder import ModelNotFoundError

HUB_TIMEOUT_S = 3.0
GET_MODEL = (
    "Get it with `modelscope download --model iic/emotion2vec_plus_base --local_dir DIR`, or "
    "`git clone https://www.modelscope.cn/iic/emotion2vec_plus_base.git DIR`, or from Hugging "
    "Face `git clone https://huggingface.co/emotion2vec/emotion2vec_plus_base DIR` "
    "(emotion2vec_base and emotion2vec_plus_large likewise), then point `model:` at DIR."
)


def is_hub_id(model: str) -> bool:
    """`owner/name` that is not a local path (see the module docstring)."""
    return (
        model.count("/") == 1
        and not model.startswith((".", "/", "~"))
        and "\\" not in model
        and not Path(model).exists()
    )


def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether the ModelScope hub (`MODELSCOPE_DOMAIN` or its default) accepts a connection."""
    domain = os.environ.get("MODELSCOPE_DOMAIN", "www.modelscope.cn")
    url = urlsplit(domain if "://" in domain else f"https://{domain}")
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def download(hub_id: str) -> Path:
    """A hub model's local directory (downloaded into the ModelScope cache if needed)."""
    if not hub_reachable():
        raise ModelNotFoundError(
            f"emotion2vec model {hub_id!r} looks like a hub id, but the ModelScope hub is not "
            f"reachable (no network?) and no local directory of that name exists. {GET_MODEL}"
        )
    from modelscope.hub.snapshot_download import snapshot_download

    try:
        with quiet():
            return Path(snapshot_download(hub_id))
    except Exception as error:  # the hub's errors vary by version; all mean "not available"
        raise ModelNotFoundError(
            f"emotion2vec model {hub_id!r} could not be downloaded ({error}). {GET_MODEL}"
        ) from error
