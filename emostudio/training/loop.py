"""The training loop: a generator of progress events that honours a cancel flag.

``train(...)`` runs on one process or, under ``torchrun``, on each process of a
DistributedDataParallel group (gloo on CPU, nccl on GPU): every process draws its own windows
(seeded by rank and step), gradients are averaged, and rank 0 validates, writes checkpoints and
yields the events of the run (the other ranks yield only ``start`` and ``done``). The
validation metrics are :mod:`emostudio.training.validation`.

Why one module of over 400 lines: :func:`train` is one generator (about 260 lines) whose nested
steps (record, save, validate) share the run's state; the helpers beside it are small and used
only by it, the tests and the throughput benchmark.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist

from emostudio.corpus.cache import CorpusCache
from emostudio.model.card import ModelCard
from emostudio.model.cdgmvae import CDGMVAE, PAD
from emostudio.model.config import ModelConfig
from emostudio.model.objective import total_loss
from emostudio.model.store import ModelLoadError, load_model, model_files, write_folder_atomically
from emostudio.training import events
from emostudio.training.checkpoint import load_resume, recover_run, save_resume
from emostudio.training.config import TrainConfig
from emostudio.training.data import TrainSampler, WindowData, validation_set
from emostudio.training.events import TrainingEvent, to_json
from emostudio.training.schedules import beta, learning_rate
from emostudio.training.validation import evaluate

log = logging.getLogger(__name__)


class TrainingError(Exception):
    """Training cannot go on (one line)."""


class _Never:
    def is_set(self) -> bool:
        return False


def distributed_context(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device); starts the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return dist.get_rank(), dist.get_world_size(), device


def limit_heap_fragmentation() -> None:
    """Training allocates tensors of a new size every step (bars hold varying numbers of tokens);
    with glibc's default thresholds the freed blocks fragment the heap and the resident size grows
    by ~100 MB a minute. Serving large blocks with mmap and trimming the heap keeps it flat."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 65536)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 0)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def weights_fingerprint(model: torch.nn.Module) -> str:
    """sha256 of the model's weights (the same on every DDP rank after a synchronised step)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def freeze_all_but(model: CDGMVAE, parts: tuple[str, ...]) -> None:
    """Only the parameters of the named top-level parts train (none named: all of them).

    The others stop taking gradients; the optimizer keeps them in its groups (AdamW passes over a
    parameter without a gradient, weight decay included), so its layout, and a resume, do not
    depend on what is frozen."""
    if not parts:
        return
    names = {name for name, _ in model.named_children()}
    unknown = sorted(set(parts) - names)
    if unknown:
        raise TrainingError(
            f"train_only names {unknown}, which the model does not have "
            f"(its parts: {', '.join(sorted(names))})"
        )
    for name, p in model.named_parameters():
        p.requires_grad_(name.split(".", 1)[0] in parts)


def make_optimizer(model: CDGMVAE, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices of the networks, none on biases, norms and the priors.

    The mixture priors get their own group, ``lr_scale = config.prior_lr_scale`` times the
    learning rate: Adam moves a parameter by about lr per step, and the component means must
    travel several units to where the encoders put the posteriors."""
    decay, no_decay, prior = [], [], []
    for name, p in model.named_parameters():
        if name.startswith("prior_"):
            prior.append(p)
        else:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay, "lr_scale": 1.0},
        {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
        {"params": prior, "weight_decay": 0.0, "lr_scale": config.prior_lr_scale},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.98))


def model_card(
    model_config: ModelConfig,
    train_config: TrainConfig,
    step: int,
    metrics: dict | None,
    cache: CorpusCache,
) -> str:
    """The card of a run's ``best/`` and ``last/`` folders."""
    sources = sorted({p.source for p in cache.pieces})
    return ModelCard(
        title="emostudio CDGMVAE model",
        model_config=model_config,
        data=[f"corpus sources: {', '.join(sources)} ({len(cache.pieces)} pieces)"],
        settings=[
            f"trained steps: {step}; {train_config.bars_per_sample} bars per sample",
            f"objective: alpha {model_config.alpha}, MI term "
            f"{'on' if model_config.use_mi else 'off'}, adversaries "
            f"{'on' if model_config.use_adversary else 'off'}, beta max {train_config.beta_max}",
        ],
        metrics=metrics,
    ).markdown()


def _load_initial_weights(model: CDGMVAE, folder: Path, cache: CorpusCache) -> None:
    """Copy a model folder's weights into ``model`` (fine-tuning); the tokenizers must agree. The
    run may add features the base model lacks (ModelConfig.ADDABLE_FEATURES): their weights keep
    their initial values, which leave the outputs unchanged; and it may add decoder layers on top
    of the base model's, which start silent (``Decoder.silence_layers``), so the grown model
    starts with the base model's outputs."""
    try:
        base, tokenizer = load_model(folder)
    except ModelLoadError as exc:
        raise TrainingError(f"cannot fine-tune: {exc}") from exc
    if tokenizer.config != cache.tokenizer_config:
        raise TrainingError(f"cannot fine-tune {folder}: its tokenizer differs from the cache's")
    differences = base.config.architecture_differences(model.config)
    if differences:
        raise TrainingError(
            f"cannot fine-tune {folder}: its architecture differs from the run's "
            f"({', '.join(differences)})"
        )
    added = base.config.added_weight_prefixes(model.config)
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    stray = [k for k in missing if not any(p in k for p in added)]
    if stray or unexpected:
        raise TrainingError(
            f"cannot fine-tune {folder}: weights do not match (missing {stray[:3]}, "
            f"unexpected {unexpected[:3]})"
        )
    model.decoder.silence_layers(base.config.added_decoder_layers(model.config))


def train(
    cache: CorpusCache,
    run_dir: str | Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    device: torch.device,
    resume: bool = False,
    cancel=None,
    max_minutes: float | None = None,
    init_from: str | Path | None = None,
    changes: dict | None = None,
) -> Iterator[TrainingEvent]:
    """Train (or resume) a CDGMVAE; yields progress events (see :mod:`emostudio.training.events`).

    ``init_from`` (a model folder with ``model_config``'s architecture; objective weights may differ)
    gives a new run its starting weights: fine-tuning. A resumed run continues from its own state and ignores it.

    ``cancel`` is anything with ``is_set()``; when it is set the loop saves a checkpoint and ends
    with a ``done`` event (reason "cancelled"). ``max_minutes`` ends it the same way ("time_budget").
    On ``resume`` the run's own configs are restored (``model_config`` and ``train_config`` are
    ignored); ``changes`` (e.g. ``{"max_steps": 3000, "threads": 1}``) then applies to its
    training config, as it does to ``train_config`` otherwise."""
    cancel = cancel or _Never()
    started = time.monotonic()
    run_dir = Path(run_dir)
    rank, world, device = distributed_context(device)
    is_main = rank == 0
    if train_config.threads > 0:
        torch.set_num_threads(train_config.threads)
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        recover_run(run_dir)
    if world > 1:
        dist.barrier()

    state = load_resume(run_dir) if resume else None
    if state is not None:
        model_config, train_config = state.model_config, state.train_config
        if state.tokenizer_config != cache.tokenizer_config:
            raise TrainingError(
                "the cache's tokenizer config differs from the run's; use the same cache"
            )
    if changes:
        train_config = train_config.with_changes(**changes)
    if model_config.vocab_size != len(
        WindowData(cache, model_config, train_config).tokenizer.vocab
    ):
        raise TrainingError("model vocabulary size does not match the cache's tokenizer")
    torch.manual_seed(train_config.seed)
    model = CDGMVAE(model_config).to(device)
    freeze_all_but(model, train_config.train_only)
    optimizer = make_optimizer(model, train_config)
    step = 0
    best_score, best_metrics = None, None
    if state is not None:
        model.load_state_dict(state.model_state)
        try:
            optimizer.load_state_dict(state.optimizer_state)
        except (
            ValueError
        ) as exc:  # an optimizer layout of an older emostudio (before the priors' own group)
            raise TrainingError(
                f"{run_dir}: its optimizer state does not fit this emostudio ({exc}); "
                f"start a new run from its weights with --init-from {run_dir / 'last'}"
            ) from exc
        step, best_score, best_metrics = state.step, state.best_score, state.best_metrics
        if "torch" in state.rng:
            torch.set_rng_state(state.rng["torch"])
    else:
        if init_from is not None:
            _load_initial_weights(model, Path(init_from), cache)
        if is_main:
            (run_dir / "train.json").write_text(
                json.dumps(
                    {"model": model_config.to_dict(), "train": train_config.to_dict()}, indent=2
                )
                + "\n"
            )
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    data = WindowData(cache, model_config, train_config)
    sampler = TrainSampler(cache, data, train_config, rank)
    val = validation_set(cache, train_config) if is_main else None
    per_step_bars = train_config.bars_per_sample * train_config.batch_size * world
    epoch_steps = train_config.epoch_steps or max(1, math.ceil(sampler.total_bars / per_step_bars))
    # lives across the generator's yields; closed in its finally
    metrics_file = open(run_dir / "metrics.jsonl", "a") if is_main else None  # noqa: SIM115
    checkpoint_every = 60.0 * train_config.checkpoint_minutes

    def record(ev: events.StepEvent | events.ValEvent | events.StartEvent) -> TrainingEvent:
        if metrics_file is not None and ev["event"] in ("step", "val"):
            metrics_file.write(to_json(ev) + "\n")
            metrics_file.flush()
        return ev

    def save_last() -> Iterator[TrainingEvent]:
        files = model_files(
            model,
            cache.tokenizer_config,
            model_card(model_config, train_config, step, best_metrics, cache),
            {"step": step, "best": best_metrics},
        )
        write_folder_atomically(run_dir / "last", files)
        save_resume(
            run_dir,
            model,
            optimizer,
            step,
            model_config,
            train_config,
            cache.tokenizer_config,
            best_score,
            best_metrics,
        )
        yield events.checkpoint(step=step, kind="last", path=str(run_dir / "last"))

    validated_step = -1

    def validate() -> Iterator[dict]:
        """Validate the weights of this step; a new best is written to best/ at once."""
        nonlocal best_score, best_metrics, validated_step
        metrics = evaluate(
            model,
            data,
            val,
            train_config.batch_size,
            device,
            train_config.best_emotion_weight,
        )
        validated_step = step
        is_best = best_score is None or metrics["score"] < best_score
        if is_best:
            best_score, best_metrics = metrics["score"], {**metrics, "step": step}
        yield record(
            events.val(
                step=step,
                epoch=round(step / epoch_steps, 4),
                metrics=metrics,
                best=is_best,
            )
        )
        if is_best:
            save_path = run_dir / "best"
            write_folder_atomically(
                save_path,
                model_files(
                    model,
                    cache.tokenizer_config,
                    model_card(model_config, train_config, step, best_metrics, cache),
                    best_metrics,
                ),
            )
            yield events.checkpoint(step=step, kind="best", path=str(save_path))

    n_params = sum(p.numel() for p in model.parameters())
    yield record(
        events.start(
            step=step,
            rank=rank,
            max_steps=train_config.max_steps,
            epoch_steps=epoch_steps,
            device=str(device),
            world_size=world,
            run_dir=str(run_dir),
            n_params=n_params,
            model=model_config.to_dict(),
            train=train_config.to_dict(),
            resumed=state is not None,
        )
    )
    model.train()
    reason: events.StopReason = "finished"
    first_step = step
    last_save = time.monotonic()
    saved_step = step
    window_t0, window_tokens, window_samples = time.perf_counter(), 0, 0
    try:
        while step < train_config.max_steps:
            stop = 0
            if cancel.is_set():
                stop = 1
            elif max_minutes is not None and time.monotonic() - started > 60.0 * max_minutes:
                stop = 2
            if world > 1:
                flag = torch.tensor([stop], device=device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                stop = int(flag.item())
            if stop:
                reason = "cancelled" if stop == 1 else "time_budget"
                # weights trained since the last validation are validated too, so a run stopped
                # early (Ctrl-C, SIGTERM, --max-minutes) leaves a best/ for fit-prior and the app
                if is_main and step > first_step and validated_step != step:
                    yield from validate()
                break
            batch = sampler.batch(step).to(device)
            lr, b = learning_rate(step, train_config), beta(step, train_config)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            _, losses = net(batch)
            loss = total_loss(losses, model_config, b)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"the loss became {loss.item()} at step {step} "
                    f"({ {k: round(v.item(), 4) for k, v in losses.items()} })"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
            optimizer.step()
            step += 1
            window_tokens += int((batch.tokens != PAD).sum()) * world
            window_samples += batch.tokens.shape[0] * world
            if is_main and step % train_config.log_every == 0:
                dt = max(1e-9, time.perf_counter() - window_t0)
                yield record(
                    events.step(
                        step=step,
                        epoch=round(step / epoch_steps, 4),
                        lr=lr,
                        beta=b,
                        loss=loss.item(),
                        losses={k: round(v.item(), 5) for k, v in losses.items()},
                        grad_norm=float(grad_norm),
                        tokens_per_s=round(window_tokens / dt, 1),
                        samples_per_s=round(window_samples / dt, 2),
                        elapsed_s=round(time.monotonic() - started, 1),
                        truncated_bars=round(data.truncation_rate, 5),
                    )
                )
                window_t0, window_tokens, window_samples = time.perf_counter(), 0, 0
            end_of_epoch = step % epoch_steps == 0 or step == train_config.max_steps
            if is_main and end_of_epoch:
                yield from validate()
                yield from save_last()
                last_save, saved_step = time.monotonic(), step
                window_t0 = time.perf_counter()
            elif is_main and time.monotonic() - last_save > checkpoint_every:
                yield from save_last()
                last_save, saved_step = time.monotonic(), step
            if world > 1 and end_of_epoch:
                dist.barrier()
        if is_main and saved_step != step:
            yield from save_last()
        if world > 1:
            dist.barrier()
        yield events.done(
            step=step,
            reason=reason,
            best=best_metrics,
            best_path=str(run_dir / "best") if best_metrics else None,
            elapsed_s=round(time.monotonic() - started, 1),
            rank=rank,
            weights_sha256=weights_fingerprint(model),
        )
    finally:
        if metrics_file is not None:
            metrics_file.close()
