"""A model on disk: the one module that reads and writes model folders.

A model folder holds ``model.safetensors`` (weights), ``config.json`` (the :class:`ModelConfig`,
with its format version), ``tokenizer.json`` (the :class:`TokenizerConfig`), and optionally
``MODEL_CARD.md``, ``metrics.json`` and ``fitted_prior.safetensors`` (a
:class:`~emostudio.model.fitted_prior.FittedPrior` for generation, fitted to these weights after
training; it records the SHA-256 of the weights it depends on, every part but the decoder, and is
refused for others, so a fine-tune of the decoder alone keeps it). Folders are written
atomically: into a temporary sibling, then renamed into place (an older folder of the same name is
first moved aside to ``NAME.old`` and removed afterwards; :func:`recover_folder` puts it back if a
crash came in between); a fitted prior added later is written by a rename too. Nothing is ever
unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from emostudio.atomic import atomic_write, fsync_dir, umask
from emostudio.model.cdgmvae import CDGMVAE
from emostudio.model.config import ModelConfig
from emostudio.model.fitted_prior import FittedPrior, FittedPriorError
from emostudio.tokens.config import ConfigError, TokenizerConfig
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import Vocabulary

log = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
CARD = "MODEL_CARD.md"
METRICS = "metrics.json"
FITTED_PRIOR = "fitted_prior.safetensors"


class ModelLoadError(Exception):
    """A folder that is not a usable emostudio model (one line naming the folder and the reason)."""


#: the largest value of each size in a model folder's config.json; model folders come from users
#: (File ▸ Load model, the wizard), so a size is checked before anything of that size is built.
#: Each is far above any model this project trains (the shipped one: d_model 128, 3 + 2 + 2 layers).
SIZE_LIMITS = {
    "vocab_size": 65_536,
    "pitch_count": 128,
    "bar_len": 4_096,
    "d_model": 4_096,
    "n_heads": 128,
    "n_enc_layers": 64,
    "n_dec_layers": 64,
    "decoder_memory_bars": 16,
    "ff_mult": 16,
    "latent_r": 1_024,
    "latent_k": 1_024,
    "n_components_r": 64,
    "n_components_k": 64,
    "subbeats_per_bar": 192,
    "polyphony_classes": 128,
    "n_keys": 128,
    "feature_hidden": 8_192,
    "n_y_samples": 64,
}


def check_sizes(config: ModelConfig) -> None:
    """Raise :class:`ConfigError` for a size that is not an integer in [1, SIZE_LIMITS[name]]."""
    for name, limit in SIZE_LIMITS.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise ConfigError(
                f"model config: {name} must be an integer in [1, {limit}] (got {value!r})"
            )


def weight_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """The name and shape of each tensor in a folder's weights file, from its header alone."""
    try:
        with safe_open(folder / WEIGHTS, framework="pt", device="cpu") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{folder}: cannot read {WEIGHTS} ({exc})") from exc


#: torch.nn.init's functions that modules' constructors call to draw their first weights
_INIT_FUNCTIONS = (
    "normal_",
    "uniform_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
)
_INIT_LOCK = threading.Lock()


@contextmanager
def _weights_left_uninitialised() -> Iterator[None]:
    """Build modules without drawing their first weights (a weights file is about to replace
    them): ``torch.nn.init``'s functions leave tensors as they are meanwhile. Drawing ~2 M random
    numbers, twice (torch's default init, then the model's own), was half of a model's load.

    Process-wide while it lasts (loads are serialised by a lock): a model built for training on
    another thread meanwhile would start uninitialised. None is: training builds its model in its
    own process (the wizard's child, or the ``train`` command)."""
    with _INIT_LOCK:
        saved = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}
        try:
            for name in _INIT_FUNCTIONS:
                setattr(nn.init, name, _unchanged)
            yield
        finally:
            for name, function in saved.items():
                setattr(nn.init, name, function)


def _unchanged(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return tensor


def check_weights_match(folder: Path, config: ModelConfig) -> None:
    """Compare the weights file's header with the shapes ``config`` implies; nothing is allocated
    (the model is built on torch's meta device). One :class:`ModelLoadError` line on a mismatch."""
    with torch.device("meta"), _weights_left_uninitialised():
        expected = {k: tuple(v.shape) for k, v in CDGMVAE(config).state_dict().items()}
    found = weight_shapes(folder)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ModelLoadError(
            f"{folder}: weights do not match config.json (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for name, shape in found.items():
        if shape != expected[name]:
            raise ModelLoadError(
                f"{folder}: weight {name} has shape {shape}, config.json implies {expected[name]}"
            )


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` (error if unavailable)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but no CUDA GPU is available")
        return torch.device(name)
    raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda")


def write_folder_atomically(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> content) as the folder ``folder``, replacing it atomically."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it private; a model folder is not
        for name, data in files.items():
            with open(tmp / name, "wb") as fh:  # plain open: permissions follow the umask
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            if old.exists():
                shutil.rmtree(old)
            os.rename(folder, old)
        os.rename(tmp, folder)
        fsync_dir(folder.parent)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_folder(folder: Path) -> None:
    """Undo a replacement interrupted between its two renames (``NAME.old`` back to ``NAME``)."""
    folder = Path(folder)
    old = folder.with_name(folder.name + ".old")
    if old.exists():
        if folder.exists():
            shutil.rmtree(old)
        else:
            os.rename(old, folder)
            log.warning("restored %s from an interrupted write", folder)
    for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def model_files(
    model: CDGMVAE,
    tokenizer_config: TokenizerConfig,
    card_text: str | None = None,
    metrics: dict | None = None,
) -> dict[str, bytes]:
    """The files of a model folder, as bytes."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "emostudio-cdgmvae", "format_version": str(model.config.format_version)}
    files = {
        WEIGHTS: save(state, metadata=meta),
        CONFIG: (json.dumps(model.config.to_dict(), indent=2) + "\n").encode(),
        TOKENIZER: (json.dumps(tokenizer_config.to_dict(), indent=2) + "\n").encode(),
    }
    if card_text is not None:
        files[CARD] = card_text.encode()
    if metrics is not None:
        files[METRICS] = (json.dumps(metrics, indent=2) + "\n").encode()
    return files


def save_model(
    model: CDGMVAE,
    tokenizer_config: TokenizerConfig,
    folder: str | Path,
    card_text: str | None = None,
    metrics: dict | None = None,
) -> Path:
    """Write a complete model folder atomically; returns its path."""
    folder = Path(folder)
    write_folder_atomically(folder, model_files(model, tokenizer_config, card_text, metrics))
    return folder


def read_configs(folder: str | Path) -> tuple[ModelConfig, TokenizerConfig]:
    """The model and tokenizer configs of a model folder (no weights), with clear errors."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelLoadError(f"{folder}: not a folder")
    for name in (CONFIG, TOKENIZER, WEIGHTS):
        if not (folder / name).is_file():
            raise ModelLoadError(f"{folder}: not an emostudio model folder (no {name})")
    try:
        model_config = ModelConfig.load(folder / CONFIG)
        check_sizes(model_config)
        tokenizer_config = TokenizerConfig.load(folder / TOKENIZER)
    except ConfigError as exc:
        raise ModelLoadError(f"{folder}: {exc}") from exc
    vocab = len(Vocabulary(tokenizer_config))
    if model_config.vocab_size != vocab:
        raise ModelLoadError(
            f"{folder}: model vocabulary ({model_config.vocab_size}) does not match its tokenizer ({vocab})"
        )
    return model_config, tokenizer_config


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[CDGMVAE, Tokenizer]:
    """Read a model folder -> (model in eval mode on ``device``, tokenizer)."""
    folder = Path(folder)
    model_config, tokenizer_config = read_configs(folder)
    check_weights_match(folder, model_config)  # before anything of the config's size exists
    try:
        state = load_file(folder / WEIGHTS, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{folder}: cannot read {WEIGHTS} ({exc})") from exc
    with _weights_left_uninitialised():
        model = CDGMVAE(model_config)
    model.load_state_dict(state, assign=True)  # the file's tensors become the parameters
    device = device if isinstance(device, torch.device) else resolve_device(device)
    return model.to(device).eval(), Tokenizer(tokenizer_config)


def read_metrics(folder: str | Path) -> dict:
    path = Path(folder) / METRICS
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{folder}: cannot read {METRICS} ({exc})") from exc


def weights_sha256(folder: str | Path) -> str:
    """SHA-256 of a model folder's weights file (what a fitted prior fitted before
    :func:`encoders_sha256` existed is tied to)."""
    digest = hashlib.sha256()
    with open(Path(folder) / WEIGHTS, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: the model's parts a fitted prior does not depend on: its fit encodes windows and classifies
#: them by q(y|x) (the encoders and the mixture priors); it never decodes
PRIOR_FREE_PARTS = ("decoder",)


def encoders_sha256(folder: str | Path) -> str:
    """SHA-256 of a model folder's weights outside :data:`PRIOR_FREE_PARTS`: each tensor's name,
    dtype, shape and bytes, by name, read from the safetensors header's offsets. A fitted prior
    is tied to this, so a fine-tune of the decoder alone (``train_only: ["decoder"]``) keeps it."""
    path = Path(folder) / WEIGHTS
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
            for name in sorted(header):
                if name == "__metadata__" or name.split(".", 1)[0] in PRIOR_FREE_PARTS:
                    continue
                entry = header[name]
                start, end = entry["data_offsets"]
                fh.seek(8 + size + start)
                digest.update(json.dumps([name, entry["dtype"], entry["shape"]]).encode())
                digest.update(fh.read(end - start))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FittedPriorError(f"{path}: cannot read the weights' header ({exc})") from exc
    return digest.hexdigest()


def prior_fingerprint(folder: str | Path) -> dict[str, str]:
    """What a prior fitted to a model folder's weights records of them: the whole file's SHA-256
    (``model_sha256``, for the record) and that of the weights it depends on
    (``encoders_sha256``, the one :func:`load_fitted_prior` checks)."""
    return {"model_sha256": weights_sha256(folder), "encoders_sha256": encoders_sha256(folder)}


def save_fitted_prior(folder: str | Path, prior: FittedPrior) -> Path:
    """Write ``prior`` into a model folder (atomically: a temporary file, then a rename)."""
    folder = Path(folder)
    read_configs(folder)  # a model folder, or a clear error
    path = folder / FITTED_PRIOR
    return atomic_write(path, save(prior.tensors(), metadata=prior.metadata()), durable=True)


def load_fitted_prior(folder: str | Path) -> FittedPrior | None:
    """The folder's fitted prior; ``None`` when it has none.

    Raises :class:`FittedPriorError` (one line) for an unreadable file, or one fitted to other
    weights: its recorded ``encoders_sha256`` is not this folder's (a decoder of its own is
    fine), or, for a prior that records only ``model_sha256``, the whole file's is not."""
    folder = Path(folder)
    path = folder / FITTED_PRIOR
    if not path.is_file():
        return None
    try:
        with safe_open(path, framework="pt", device="cpu") as fh:
            metadata = fh.metadata()
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except (SafetensorError, OSError, ValueError) as exc:
        raise FittedPriorError(f"{path}: cannot read ({exc})") from exc
    try:
        prior = FittedPrior.from_tensors(tensors, metadata)
    except FittedPriorError as exc:
        raise FittedPriorError(f"{path}: {exc}") from exc
    if "encoders_sha256" in prior.info:
        matches = prior.info["encoders_sha256"] == encoders_sha256(folder)
    else:
        matches = prior.info.get("model_sha256") == weights_sha256(folder)
    if not matches:
        raise FittedPriorError(
            f"{path}: fitted to other weights than {WEIGHTS}; fit it again (emostudio fit-prior)"
        )
    return prior
