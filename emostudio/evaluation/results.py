"""The evaluation's settings, targets and results as typed data, and their JSON form.

Every stage of :mod:`emostudio.evaluation.stages` returns one of the dataclasses here;
:class:`EvaluationResults` holds them all and is what ``results.json`` stores.
:func:`to_json` and :func:`from_json` convert any of them generically (nested dataclasses,
lists, and dicts keyed by int), so a new section needs only its dataclass and a field here.
A field's JSON name differs from its Python name only where ``metadata={"json": ...}`` says so.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from emostudio.decoding import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from emostudio.evaluation.judge import JudgeScores
from emostudio.evaluation.realism import MetricComparison

T = TypeVar("T")


@dataclass(frozen=True)
class Targets:
    """What a good model reaches (MODEL.md section 5); the report says which are met."""

    generated_quadrant: float = 0.70
    generated_arousal: float = 0.90
    generated_valence: float = 0.80
    transfer_quadrant: float = 0.60
    copy_max_bars: int = 4  # no generated piece may share a longer run with a training piece


@dataclass(frozen=True)
class EvaluationSettings:
    pieces_per_quadrant: int = 100
    bars: int = 16
    transfer_pieces: int = 0  # EMOPIA test clips transferred at strength 1 (0: all)
    sweep_pieces: int = 24  # clips in the strength sweep (each to the three other quadrants)
    fidelity_pieces: int = 24  # clips in the fidelity section (each to the three other quadrants)
    element_pairs: int = 16  # (recipient, donor) pairs of clips in the element transfer
    swap_pairs: int = 40
    seam_pieces: int = 24  # held-out clips continued (from their first half) and filled (4 bars)
    temperature: float = DEFAULT_TEMPERATURE  # recorded from the engine's DecodingSettings
    top_p: float = DEFAULT_TOP_P
    seed: int = 0
    batch_size: int = 64
    targets: Targets = field(default_factory=Targets)


@dataclass(frozen=True)
class JudgeResult:
    test: JudgeScores  # on EMOPIA's held-out test split
    published: dict[str, float]  # EMOPIA's published MIDI classifier
    n_train: int


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class QuadrantAccuracy:
    quadrant: float
    arousal: float
    valence: float
    n: int


@dataclass(frozen=True)
class EmotionAccuracy:
    """Judged against targets: accuracy per quadrant and dimension, P/R/F1, confusion [4, 4]."""

    n: int
    quadrant: float
    arousal: float
    valence: float
    per_quadrant: dict[int, QuadrantAccuracy]
    confusion: list[list[int]]  # [target - 1][judged - 1]
    arousal_prf: PrecisionRecall
    valence_prf: PrecisionRecall


@dataclass(frozen=True)
class GenerationResult(EmotionAccuracy):
    n_empty: int  # generated pieces without notes, left out of the accuracies
    seconds: float


@dataclass(frozen=True)
class TransferResult(EmotionAccuracy):
    quadrant_changed_targets: float  # accuracy over the targets that differ from the clip's own
    n_changed: int
    source_judged_as_target_baseline: float  # the untouched clips judged as those targets


@dataclass(frozen=True)
class SweepResult:
    """Mean judged probability of the target at each strength λ."""

    strengths: list[float] = field(metadata={"json": "lambda"})
    p_quadrant: list[float]
    p_arousal: list[float]
    p_valence: list[float]
    accuracy: list[float]


@dataclass(frozen=True)
class FidelityRow:
    """One transfer method at one strength λ: judged emotion and how much of the source it keeps
    (means over the transfers; :mod:`emostudio.evaluation.fidelity`)."""

    method: str  # "edit" (shipped), "rules" (plain rules, the baseline) or "rewrite"
    strength: float = field(metadata={"json": "lambda"})
    n: int
    quadrant: float  # judged quadrant = target
    p_target: float  # judged probability of the target quadrant
    contour: float
    pc_cosine: float
    pc_cosine_valence_kept: float  # over the targets that keep the source's valence
    onset_similarity: float
    note_f1: float


@dataclass(frozen=True)
class ElementScores:
    """A donor's element taken: the result measured against the recipient (A) and the donor (B)."""

    onsets_A: float  # onset-pattern similarity with A
    onsets_B: float
    pc_cosine_A: float  # pitch-class profile cosine with A
    pc_cosine_B: float
    onsets_closer_to_B: float  # share of pairs
    pc_closer_to_B: float


@dataclass(frozen=True)
class FidelityResult:
    n_pieces: int
    rows: list[FidelityRow]
    n_pairs: int
    rhythm_from: ElementScores  # A with B's rhythm latents: onsets should follow B, key stay A
    key_from: ElementScores  # A with B's key latents: pitch classes should follow B, onsets A


@dataclass(frozen=True)
class SwapScores:
    polyphony_cos_A: float  # A and B name the two pieces of a pair
    polyphony_cos_B: float
    key_cos_A: float
    key_cos_B: float
    polyphony_closer_to_B: float
    key_closer_to_B: float


@dataclass(frozen=True)
class SwapResult:
    n_pairs: int
    reconstruct: SwapScores  # both latents of A
    swap_r: SwapScores  # z_r of B, z_k of A
    swap_k: SwapScores  # z_r of A, z_k of B


@dataclass(frozen=True)
class RecognitionResult:
    n: int
    arousal: float
    valence: float
    quadrant: float
    component_distance_r: float
    component_distance_k: float


@dataclass(frozen=True)
class RealismResult:
    n_real: int
    metrics: list[MetricComparison]


@dataclass(frozen=True)
class StructureSet:
    """One set of pieces against the held-out real clips (evaluation.structure)."""

    name: str
    n: int
    overlap_mean: float  # mean KDE overlapping area over REALISM_NAMES
    auc: float  # random-forest two-sample AUC against the real clips (0.5: indistinguishable)
    bar_repetition_median: float
    quadrant: float  # judged emotion against the targets
    arousal: float
    valence: float
    overlap: dict[str, float]  # per descriptor


@dataclass(frozen=True)
class SeamResult:
    """Joins that continue or fill made: each jump's percentile among real neighbouring bars'."""

    name: str
    n: int
    median_percentile: dict[str, float]  # per structure.JUMP_NAMES


@dataclass(frozen=True)
class StructureResult:
    """Realism over the structure and judge descriptors, model with and without form beside the
    Markov baseline; and the seams of continue and fill (empty: not measured)."""

    n_real: int = 0
    real_vs_real_overlap: float = 0.0
    real_vs_real_auc: float = 0.0
    bar_repetition_iqr: list[float] = field(default_factory=list)
    sets: list[StructureSet] = field(default_factory=list)
    seams: list[SeamResult] = field(default_factory=list)


@dataclass(frozen=True)
class CopyResult:
    n_training_pieces: int
    generated_max_bars: int
    generated_median_bars: float
    generated_over_target: int  # pieces sharing more than the target's copy_max_bars
    generated_max_notes: int
    real_test_max_bars: int
    real_test_median_bars: float
    real_test_over_target: int
    n_generated: int
    n_real: int


@dataclass(frozen=True)
class EvaluationResults:
    settings: EvaluationSettings
    continuity: float
    latent_temperature: float
    prior: str
    model: str
    model_validation: dict[str, Any]  # the model folder's stored validation metrics
    judge: JudgeResult
    generation: GenerationResult
    transfer: TransferResult
    sweep: SweepResult
    swap: SwapResult
    recognition: RecognitionResult
    realism: RealismResult
    copy: CopyResult
    seconds: float
    fidelity: FidelityResult | None = None  # None in results written before the section existed
    structure: StructureResult = field(default_factory=StructureResult)
    rhythm_persistence: float | None = None  # None in results written before the setting existed
    latent_draws: int | None = None  # None in results written before the setting existed
    cadence: float | None = None  # None in results written before the setting existed
    bass: float | None = None  # None in results written before the setting existed

    def to_text(self) -> str:
        return json.dumps(to_json(self), indent=2) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResults:
        """Read a ``results.json`` (also the shape written before the results were typed)."""
        data = json.loads(Path(path).read_text())
        if isinstance(data.get("realism"), list):  # before RealismResult: two top-level keys
            data["realism"] = {"n_real": data.pop("realism_n_real"), "metrics": data["realism"]}
        for who in ("generated", "real_test"):  # before the copy limit was a target: 4 bars
            if f"{who}_over_4_bars" in data.get("copy", {}):
                data["copy"][f"{who}_over_target"] = data["copy"].pop(f"{who}_over_4_bars")
        return from_json(cls, data)


def _json_name(f: dataclasses.Field) -> str:
    return f.metadata.get("json", f.name)


def to_json(value: Any) -> Any:
    """A dataclass (nested, with lists and dicts) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_json_name(f): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(cls: type[T], data: Any) -> T:
    """The inverse of :func:`to_json` for the dataclass ``cls``; missing fields take their default."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(typing.cast(Any, cls)):
        name = _json_name(f)
        if name in data:
            values[f.name] = _convert(hints[f.name], data[name])
    return cls(**values)


def _convert(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return from_json(kind, value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(item, v) for v in value]
    if origin is dict:
        key, item = typing.get_args(kind)
        return {(int(k) if key is int else k): _convert(item, v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is not None and len(args) == 1:
            return _convert(args[0], value)
        return value
    if kind is Any:
        return value
    if kind is float:
        return float(value)
    return value
