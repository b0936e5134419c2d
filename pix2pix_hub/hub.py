"""Hub plumbing shared by every model class: safetensors only, strict loading, atomic writes, model cards."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import (
    ModelCard,
    ModelCardData,
    PyTorchModelHubMixin,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import get_session
from safetensors.torch import load_file, save_file

PROJECT_REPO_URL = "https://github.com/pix2pix-hub/pix2pix-hub"
WEIGHTS_NAME = constants.SAFETENSORS_SINGLE_FILE  # "model.safetensors"
CONFIG_NAME = constants.CONFIG_NAME  # "config.json"
_SOURCE_TREE_CARDS = Path(__file__).resolve().parent.parent / "model_cards"


def read_model_card_template(name: str) -> str:
    """Return a template from `model_cards/` (the source tree, or the copy installed with the package)."""
    if (_SOURCE_TREE_CARDS / name).is_file():
        return (_SOURCE_TREE_CARDS / name).read_text(encoding="utf-8")
    return resources.files("pix2pix_hub.model_cards").joinpath(name).read_text(encoding="utf-8")


def _temporary_sibling(path: Path) -> tuple[int, str]:
    """A temporary file next to `path`, renamed over it once complete."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def _replace_with_ordinary_permissions(tmp: str, path: Path) -> None:
    """Give the finished file the permissions of an ordinary new file (temporary files are 0600), then rename."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half of either."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary_sibling(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _replace_with_ordinary_permissions(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_state_dict(state_dict: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Save tensors as safetensors atomically (contiguous, detached, on the CPU)."""
    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state_dict.items()}
    fd, tmp = _temporary_sibling(Path(path))
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata or {"format": "pt"})
        _replace_with_ordinary_permissions(tmp, Path(path))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state_dict_strict(model: torch.nn.Module, weights_file: str | Path, map_location: str = "cpu") -> None:
    """Load a safetensors file into `model`, refusing missing, extra or misshapen tensors with a clear message.

    Half-precision files load into float32 parameters (the copy casts), so weights may be stored in float16.
    """
    state_dict = load_file(str(weights_file), device=str(map_location))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    misshapen = [
        f"{name}: file {tuple(state_dict[name].shape)}, model {tuple(expected[name].shape)}"
        for name in sorted(set(expected) & set(state_dict))
        if state_dict[name].shape != expected[name].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}")
    if misshapen:
        problems.append(f"wrong shapes: {'; '.join(misshapen[:8])}")
    if problems:
        raise ValueError(
            f"{weights_file}: weights do not fit {type(model).__name__} built from its config.json "
            f"({' | '.join(problems)}). Was the file written for other constructor arguments?"
        )
    model.load_state_dict(state_dict, strict=True)


HUB_DOWNLOAD_OPTIONS = ("revision", "cache_dir", "force_download", "local_files_only", "token")
HUB_PROBE_TIMEOUT = 3.0  # seconds a machine without network waits for the Hub, instead of ~25 s of retries
_went_offline: list[str] = []  # why `go_offline_unless_reachable` switched this process to offline mode


@functools.cache
def _answers(endpoint: str) -> bool:
    """One quick probe per endpoint; any HTTP answer counts, no answer within HUB_PROBE_TIMEOUT does not."""
    try:
        get_session().head(endpoint, timeout=HUB_PROBE_TIMEOUT)
    except Exception:  # DNS failure, refused connection, timeout
        return False
    return True


def hub_reachable() -> bool:
    """Whether to use the Hub: not switched off (HF_HUB_OFFLINE) and it answers one quick probe."""
    return not constants.is_offline_mode() and _answers(constants.ENDPOINT)


def why_hub_unreachable() -> str:
    """The reason the Hub is not used, in words, for error messages."""
    if _went_offline:
        return _went_offline[0]
    if constants.is_offline_mode():
        return "HF_HUB_OFFLINE=1 is set"
    return f"{constants.ENDPOINT} did not answer within {HUB_PROBE_TIMEOUT:g} s"


def go_offline_unless_reachable() -> bool:
    """For a command line: when the Hub does not answer, switch this process to offline mode (the local HF cache
    only), so that Hub ids fail or load in seconds instead of retrying; returns whether the Hub is used."""
    if hub_reachable():
        return True
    _went_offline.append(why_hub_unreachable())
    os.environ["HF_HUB_OFFLINE"] = "1"  # for `datasets`, which reads it when first imported
    constants.HF_HUB_OFFLINE = True
    if "datasets.config" in sys.modules:
        sys.modules["datasets.config"].HF_HUB_OFFLINE = True
    return False


def hub_options(options: dict[str, Any]) -> dict[str, Any]:
    """Hub download options with `local_files_only` set when the Hub cannot be reached."""
    if options.get("local_files_only") or hub_reachable():
        return options
    return {**options, "local_files_only": True}


def plain_load_error(error: Exception) -> str:
    """One line for a command-line user whose data or model could not be had (no traceback to read): without the
    Hub, why it could not be reached and what to do, not the offline mode this process switched on itself."""
    message = str(error)
    if isinstance(error, ConnectionError) and not hub_reachable():
        message = re.sub(r" \((OfflineModeIsEnabled|ConnectionError|LocalEntryNotFoundError)\)", "", message)
        why = why_hub_unreachable()
        advice = (
            "unset HF_HUB_OFFLINE to download it"
            if why.startswith("HF_HUB_OFFLINE")
            else "run again with a network (it is cached after the first download)"
        )
        message = (
            f"{message.rstrip('.')}: the Hub could not be reached ({why}) and the local Hugging "
            f"Face cache does not hold it. Either {advice}, or pass a folder on this machine (README, Training data)."
        )
    return message


def not_found_message(repo_id: str, error: Exception) -> str:
    """What to tell a user whose model id is neither a folder here nor loadable from the Hub or its cache."""
    if isinstance(error, HFValidationError):
        where = "not a Hub model id either (ids look like `org/name`)"
    elif isinstance(error, RepositoryNotFoundError):
        where = f"no model repository {repo_id!r} on {constants.ENDPOINT} (or it is private: `hf auth login`)"
    elif hub_reachable():
        where = f"the Hub repository has no such file ({type(error).__name__})"
    else:
        where = (
            f"the Hub cannot be reached ({why_hub_unreachable()}) and the local Hugging Face cache "
            f"({constants.HF_HUB_CACHE}) does not hold it"
        )
    advice = (
        ""
        if isinstance(error, HFValidationError)
        else f", or download it where there is network (`hf download {repo_id}`)"
    )
    return f"{repo_id}: not a folder here, and {where}. Pass a folder saved with save_pretrained{advice}."


def model_subfolder(repo_or_dir: str | Path, subfolder: str, **hub_kwargs: Any) -> Path:
    """The local folder of `subfolder` of a model folder or Hub repo (e.g. "AtoB" of a CycleGAN holding both
    directions); from the Hub only that subfolder is downloaded (or read from the HF cache when offline)."""
    if Path(repo_or_dir).is_dir():
        folder = Path(repo_or_dir) / subfolder
        if not folder.is_dir():
            found = sorted(child.name for child in Path(repo_or_dir).iterdir() if (child / CONFIG_NAME).is_file())
            raise FileNotFoundError(f"{repo_or_dir}: no subfolder {subfolder!r} (model subfolders: {found or 'none'})")
        return folder
    options = {name: hub_kwargs[name] for name in HUB_DOWNLOAD_OPTIONS if name in hub_kwargs}
    snapshot = snapshot_download(str(repo_or_dir), allow_patterns=[f"{subfolder}/*"], **options)
    folder = Path(snapshot) / subfolder
    if not (folder / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"{repo_or_dir}: no {subfolder}/{WEIGHTS_NAME} in the repository")
    return folder


class StrictHubMixin(PyTorchModelHubMixin):
    """`PyTorchModelHubMixin` that saves atomically and loads only safetensors, strictly.

    The upstream mixin loads non-strictly and falls back to pickled `pytorch_model.bin`; a model that silently
    keeps random weights for a renamed layer is worse than an error, and a pickle is code, not data.
    """

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *, subfolder: str | None = None, **kwargs):
        """As the upstream mixin, plus `subfolder` (one model of a repository that holds several); a Hub id fails
        in seconds with a plain message when it is neither on a reachable Hub nor in the local cache."""
        if Path(pretrained_model_name_or_path).is_dir():
            if subfolder:
                pretrained_model_name_or_path = model_subfolder(pretrained_model_name_or_path, subfolder)
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        repo_id = str(pretrained_model_name_or_path)
        kwargs = hub_options(kwargs)
        try:
            source = model_subfolder(repo_id, subfolder, **kwargs) if subfolder else repo_id
            return super().from_pretrained(source, **kwargs)
        except (HFValidationError, LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError) as error:
            raise FileNotFoundError(not_found_message(repo_id, error)) from None

    def _save_pretrained(self, save_directory: Path) -> None:
        save_state_dict(self.state_dict(), Path(save_directory) / WEIGHTS_NAME)
        config = getattr(self, "_hub_mixin_config", None)
        if config is not None:
            atomic_write_text(Path(save_directory) / CONFIG_NAME, json.dumps(config, sort_keys=True, indent=2))

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ):
        if not strict:
            raise ValueError(f"{cls.__name__} loads strictly; strict=False is not supported")
        model = cls(**model_kwargs)
        if os.path.isdir(model_id):
            weights_file = Path(model_id) / WEIGHTS_NAME
            if not weights_file.is_file():
                raise FileNotFoundError(f"{model_id}: no {WEIGHTS_NAME} in this folder (is it a saved model?)")
        else:
            weights_file = hf_hub_download(
                repo_id=model_id,
                filename=WEIGHTS_NAME,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        load_state_dict_strict(model, weights_file, map_location)
        model.eval()
        return model

    def generate_model_card(self, *args, card_data: dict | None = None, **template_kwargs: Any) -> ModelCard:
        """Render the class's model card template; `card_data` adds YAML metadata (datasets, model-index...)."""
        info = self._hub_mixin_info
        metadata = ModelCardData(**{**info.model_card_data.to_dict(), **(card_data or {})})
        template_kwargs.setdefault("config", getattr(self, "_hub_mixin_config", None))
        return ModelCard.from_template(
            card_data=metadata,
            template_str=info.model_card_template,
            repo_url=info.repo_url,
            paper_url=info.paper_url,
            **template_kwargs,
        )
