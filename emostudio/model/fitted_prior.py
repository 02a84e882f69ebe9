"""A latent prior fitted after training: per emotion class, a Gaussian mixture over the encoded corpus.

The learned prior p(z|y) has one Gaussian per class (MODEL.md section 2). That is what q(y|x)
needs, but it is a poor thing to *sample* from: the key latent z_k of real music lies on a ring of
keys (every tonic, major and minor), and the two valence Gaussians sit near the ring's centre, so a
draw from "high valence" lands in a random key and often a minor one (docs/history/benchmarks-sessions-1-4.md,
"Session 3"). This module holds the remedy VAEs commonly use, ex-post density estimation: after
training, the labelled training clips (in all twelve transpositions) are encoded, and for each
dimension and class the posterior means of the clips the model itself recognises confidently as
that class are fitted with a diagonal Gaussian mixture of a few components (for z_k: a handful of
major or minor key regions). Generation then samples from those mixtures; recognition still uses
the learned prior.

For one dimension (arousal on z_r, valence on z_k) the prior holds, for class 0 (low) and 1
(high), ``weights`` [2, C], ``means`` [2, C, l] and ``stds`` [2, C, l].

- :meth:`FittedPrior.sample`: a point on the pad gives each bar a weight w of the high class. A
  piece draws a component of its dominant class, pairs it with the other class's nearest component
  (the nearest key region of the other mode, say), draws both from one shared noise path, and
  blends them: z = (1 - w) z_low + w z_high. At the pad's corners that is a draw from the class's
  mixture; in the middle it lies in between.
- :meth:`FittedPrior.anchors`: for transfer, the point of each class a bar moves from and to. For
  valence, each bar's nearest component of each class (highest responsibility): the bar moves from
  its key region to the neighbouring one of the other mode, and the piece keeps its tonic (the
  class's mean would be the ring's centre: no key). For arousal, each class's mixture mean: the
  nearest busy texture to a calm bar is the calmest busy one, and moving there barely changed the
  judged arousal (transfer arousal 0.787 against 0.926 with the class means;
  docs/history/benchmarks-sessions-1-4.md, "Session 3").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

FORMAT = "emostudio-fitted-prior"
FORMAT_VERSION = 1
DIMENSIONS = ("arousal", "valence")  # arousal on z_r, valence on z_k
#: per dimension, whether transfer anchors a bar at its nearest component of each class (True) or
#: at each class's mixture mean (False); see :meth:`FittedPrior.anchors`
NEAREST_ANCHORS = {"arousal": False, "valence": True}


class FittedPriorError(ValueError):
    """A fitted-prior file or value that cannot be used (one line)."""


@dataclass(frozen=True)
class ClassMixtures:
    """One dimension's two class mixtures: weights [2, C], means [2, C, l], stds [2, C, l]."""

    weights: torch.Tensor
    means: torch.Tensor
    stds: torch.Tensor

    def __post_init__(self) -> None:
        w, m, s = self.weights, self.means, self.stds
        if (
            w.ndim != 2
            or w.shape[0] != 2
            or m.shape[:2] != w.shape
            or m.ndim != 3
            or s.shape != m.shape
        ):
            raise FittedPriorError(
                f"class mixtures need weights [2, C], means and stds [2, C, l]; got "
                f"{tuple(w.shape)}, {tuple(m.shape)}, {tuple(s.shape)}"
            )
        if not (torch.isfinite(w).all() and torch.isfinite(m).all() and torch.isfinite(s).all()):
            raise FittedPriorError("class mixtures hold non-finite values")
        if (w < 0).any() or (s <= 0).any():
            raise FittedPriorError("class mixtures need weights >= 0 and stds > 0")
        if not torch.allclose(w.sum(dim=1), torch.ones_like(w[:, 0]), atol=1e-4):
            raise FittedPriorError("each class's component weights must sum to 1")

    @property
    def dim(self) -> int:
        return self.means.shape[2]

    @property
    def n_components(self) -> int:
        return self.means.shape[1]

    def to(self, device: torch.device | str) -> ClassMixtures:
        return ClassMixtures(self.weights.to(device), self.means.to(device), self.stds.to(device))

    def partner(self) -> torch.Tensor:
        """long[2, C]: for class k's component c, the other class's component with the nearest mean."""
        d = torch.cdist(self.means[0], self.means[1])  # [C, C]: low component x high component
        return torch.stack([d.argmin(dim=1), d.argmin(dim=0)])

    def log_resp(self, z: torch.Tensor) -> torch.Tensor:
        """z [..., l] -> log pi_c N(z; mu_c, s_c^2) for each class and component: [..., 2, C]."""
        diff = (z[..., None, None, :] - self.means) / self.stds  # [..., 2, C, l]
        return (
            self.weights.clamp_min(1e-12).log()
            - 0.5 * diff.pow(2).sum(-1)
            - self.stds.log().sum(-1)
        )


@dataclass(frozen=True)
class FittedPrior:
    """The fitted class mixtures of both dimensions, and how they were fitted (``info``)."""

    arousal: ClassMixtures  # over z_r
    valence: ClassMixtures  # over z_k
    info: dict

    def mixtures(self, dimension: str) -> ClassMixtures:
        if dimension not in DIMENSIONS:
            raise FittedPriorError(f"unknown dimension {dimension!r}")
        return self.arousal if dimension == "arousal" else self.valence

    def to(self, device: torch.device | str) -> FittedPrior:
        return FittedPrior(self.arousal.to(device), self.valence.to(device), self.info)

    def check_dims(self, latent_r: int, latent_k: int) -> None:
        if (self.arousal.dim, self.valence.dim) != (latent_r, latent_k):
            raise FittedPriorError(
                f"fitted for latents of {self.arousal.dim} + {self.valence.dim} dimensions, "
                f"the model has {latent_r} + {latent_k}"
            )

    # ---- sampling --------------------------------------------------------------------------------
    def sample(
        self,
        dimension: str,
        w: torch.Tensor,
        noise: torch.Tensor,
        persistence: float,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        """z [B, T, l] for high-class weights ``w`` [B, T] and standard normal ``noise`` [B, T, l].

        ``persistence``: the probability that a bar keeps the previous bar's component pair
        instead of drawing its own: 1 = one pair for the whole piece (a piece keeps its key
        region), 0 = a fresh pair every bar; in between, runs of bars that share a pair (a
        piece keeps its texture for a while)."""
        mix = self.mixtures(dimension)
        b, t = w.shape
        high = (w.mean(dim=1) >= 0.5).long()  # [B]: the dominant class
        per_piece = persistence >= 1.0
        probs = mix.weights[high].repeat_interleave(1 if per_piece else t, dim=0)  # [B or B*T, C]
        own = torch.multinomial(probs, 1, generator=generator).view(b, -1).expand(b, t)  # [B, T]
        if 0.0 < persistence < 1.0:
            keep = torch.rand(b, t, generator=generator, device=w.device) < persistence
            keep[:, 0] = False
            bars = torch.arange(t, device=w.device).expand(b, t)
            drawn_at = (
                torch.where(keep, 0, bars).cummax(dim=1).values
            )  # the bar whose pair it keeps
            own = own.gather(1, drawn_at)
        cls = high[:, None].expand(b, t)
        other = mix.partner()[cls, own]  # [B, T]
        comp_high = torch.where(cls == 1, own, other)
        comp_low = torch.where(cls == 1, other, own)
        z_low = mix.means[0][comp_low] + temperature * mix.stds[0][comp_low] * noise
        z_high = mix.means[1][comp_high] + temperature * mix.stds[1][comp_high] * noise
        return (1.0 - w)[..., None] * z_low + w[..., None] * z_high

    def anchors(self, dimension: str, z: torch.Tensor) -> torch.Tensor:
        """z [..., l] -> each class's anchor for z: [..., 2, l] (:data:`NEAREST_ANCHORS` says which:
        the class's most responsible component mean, or the class's mixture mean)."""
        mix = self.mixtures(dimension)
        if not NEAREST_ANCHORS[dimension]:
            return torch.einsum("kc,kcl->kl", mix.weights, mix.means).expand(
                *z.shape[:-1], 2, mix.dim
            )
        best = mix.log_resp(z).argmax(dim=-1)  # [..., 2]
        return torch.stack([mix.means[0][best[..., 0]], mix.means[1][best[..., 1]]], dim=-2)

    # ---- safetensors ---------------------------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name in DIMENSIONS:
            mix = self.mixtures(name)
            for part in ("weights", "means", "stds"):
                out[f"{name}.{part}"] = (
                    getattr(mix, part).detach().to("cpu", torch.float32).contiguous().clone()
                )
        return out

    def metadata(self) -> dict[str, str]:
        return {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "info": json.dumps(self.info),
        }

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
    ) -> FittedPrior:
        metadata = metadata or {}
        if metadata.get("format") != FORMAT:
            raise FittedPriorError("not an emostudio fitted prior")
        if metadata.get("format_version") != str(FORMAT_VERSION):
            raise FittedPriorError(
                f"fitted prior format version {metadata.get('format_version')} is not supported "
                f"(this emostudio reads version {FORMAT_VERSION}); fit it again"
            )
        try:
            parts = {
                name: ClassMixtures(
                    *(tensors[f"{name}.{p}"].float() for p in ("weights", "means", "stds"))
                )
                for name in DIMENSIONS
            }
            info = json.loads(metadata.get("info", "{}"))
        except KeyError as exc:
            raise FittedPriorError(f"fitted prior lacks the tensor {exc.args[0]}") from exc
        except json.JSONDecodeError as exc:
            raise FittedPriorError(f"fitted prior has malformed info ({exc})") from exc
        return cls(parts["arousal"], parts["valence"], info if isinstance(info, dict) else {})
