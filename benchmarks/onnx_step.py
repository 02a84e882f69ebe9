"""The decoder's one-token step as an ONNX Runtime graph, against the FastDecoder (issue 14).

Measured, not shipped. Decoding one token costs ~45 PyTorch calls of a few microseconds each, so
the FastDecoder is bound by call overhead. This script builds the same step as one ONNX graph
from the FastDecoder's packed weights (by hand, ~60 nodes: the new token attends to the cached
slots and to itself, its key and value written into the FastDecoder's buffers afterwards; q/k
rotation folded into the q/k/v matrix), checks its logits against the reference step, and times
(1) one step in a tight loop and (2) whole 16-bar generations with each decoder swapped into the
same engine, alternating. Needs ``onnxruntime`` and ``onnx`` (the ``bench`` extra).

    PYTHONPATH=. .venv/bin/python benchmarks/onnx_step.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from emostudio.emotion import Emotion
from emostudio.generation.decode import ModelSteps
from emostudio.generation.engine import Engine
from emostudio.model.cdgmvae import CDGMVAE, PAD
from emostudio.model.fast_decode import FastDecoder, FastState


@dataclass
class OrtState(FastState):
    """A FastState with the ONNX Runtime binding of its buffers (made on first use)."""

    binding: Any = None
    outputs: list[torch.Tensor] = field(default_factory=list)  # logits, keys, values
    tokens: torch.Tensor | None = None  # long[B]: the token fed
    position: np.ndarray | None = None  # int64[1]: its rotary position (bound by address)
    bound_cond: torch.Tensor | None = None  # the ``cond`` the binding reads
    mask: torch.Tensor | None = None  # [B, H, 2L] the graph's key mask: -inf unwritten or PAD


class OrtDecoder:
    """The decoder steps of ``model`` (see the module docstring); same calls as FastDecoder."""

    def __init__(self, model: CDGMVAE, threads: int = 1) -> None:
        import onnxruntime as ort

        if model.device.type != "cpu":
            raise ValueError("OrtDecoder runs on the CPU")
        self.fast = FastDecoder(model)
        self.device = self.fast.device
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            _graph(self.fast).SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def start(self, batch: int) -> OrtState:
        s = self.fast.start(batch)
        mask = torch.full_like(s.bias, float("-inf"))  # the graph reads every slot
        return OrtState(all_keys=s.all_keys, all_values=s.all_values, bias=s.bias, mask=mask)

    def next_bar(self, state: OrtState) -> OrtState:
        self.fast.next_bar(state)
        assert state.mask is not None
        m = state.mem_len
        state.mask[:, :, :m] = state.bias[:, :, :m]
        state.mask[:, :, m:] = float("-inf")
        return state

    def step(
        self,
        tokens: torch.Tensor,
        z_bar: torch.Tensor,
        state: OrtState,
        columns: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, OrtState]:
        """tokens [B, n], z_bar [B, l] -> logits [B, n, V] (or columns lo..hi-1), state."""
        b, n = tokens.shape
        fast = self.fast
        if n != 1:
            s0 = state.mem_len + state.length
            logits, state = fast.step(tokens, z_bar, state, columns)
            assert state.mask is not None
            state.mask[:, :, s0 : s0 + n] = state.bias[:, :, s0 : s0 + n]
            return logits, state
        if state.length + 1 > fast.bar_len:
            raise ValueError(f"a bar holds at most {fast.bar_len} tokens (got {state.length + 1})")
        fast.condition(z_bar, state)
        if state.binding is None or state.bound_cond is not state.cond:
            self._bind(state, b)
        assert state.tokens is not None and state.position is not None
        state.tokens.copy_(tokens.view(b))
        state.position[0] = fast.bar_len + state.length
        self.session.run_with_iobinding(state.binding)
        s0 = state.mem_len + state.length
        h, hd, n_layers = fast.n_heads, fast.head_dim, fast.n_layers
        logits, new_keys, new_values = (
            state.outputs[0],
            state.outputs[1 : 1 + n_layers],
            state.outputs[1 + n_layers :],
        )
        for keys, values, k, v in zip(state.keys, state.values, new_keys, new_values):
            keys.select(3, s0).copy_(k.view(b, h, hd))
            values.select(2, s0).copy_(v.view(b, h, hd))
        pad = tokens.view(b) == PAD
        assert state.mask is not None
        slot = state.mask.select(2, s0)  # [B, H]
        slot.fill_(0.0)
        if pad.any():  # hidden from later queries, in the graph's mask and the FastDecoder's
            slot.masked_fill_(pad[:, None], float("-inf"))
            state.bias.select(2, s0).masked_fill_(pad[:, None], float("-inf"))
        state.length += 1
        out = logits if columns is None else logits.narrow(1, columns[0], columns[1] - columns[0])
        return out.clone().view(b, 1, -1), state  # a copy: the next step overwrites the buffer

    def _bind(self, state: OrtState, b: int) -> None:
        """Bind the state's buffers (by address) and fresh output buffers to a new binding."""
        fast = self.fast
        assert state.cond is not None
        if state.binding is None:
            state.tokens = torch.zeros(b, dtype=torch.long)
            state.position = np.zeros(1, dtype=np.int64)
            d, n_layers = fast.d, fast.n_layers
            vocab = fast.head.shape[1]
            state.outputs = [torch.empty(b, vocab)] + [
                torch.empty(b, d) for _ in range(2 * n_layers)
            ]
        state.cond = state.cond.contiguous()
        binding = self.session.io_binding()
        inputs = {
            "tokens": state.tokens,
            "position": torch.from_numpy(state.position),
            "cond": state.cond,
            "bias": state.mask,
            **{f"keys{i}": k for i, k in enumerate(state.keys)},
            **{f"values{i}": v for i, v in enumerate(state.values)},
        }
        for name, tensor in inputs.items():
            _bind(binding.bind_input, name, tensor)
        names = ["logits"] + [f"key{i}" for i in range(fast.n_layers)]
        names += [f"value{i}" for i in range(fast.n_layers)]
        for name, tensor in zip(names, state.outputs):
            _bind(binding.bind_output, name, tensor)
        state.binding, state.bound_cond = binding, state.cond


def _bind(bind, name: str, tensor: torch.Tensor) -> None:
    assert tensor.is_contiguous() and tensor.device.type == "cpu"
    dtype = np.int64 if tensor.dtype == torch.long else np.float32
    bind(name, "cpu", 0, dtype, list(tensor.shape), tensor.data_ptr())


# ---- the graph ------------------------------------------------------------------------------------
def _graph(fast: FastDecoder):
    """The one-token step of ``fast`` as an ONNX model (weights as initializers)."""
    from onnx import TensorProto, helper, numpy_helper

    d, h, hd, n_layers, length = fast.d, fast.n_heads, fast.head_dim, fast.n_layers, fast.bar_len
    slots = 2 * length
    nodes: list = []
    inits: list = []

    def const(name: str, array: np.ndarray | torch.Tensor) -> str:
        if isinstance(array, torch.Tensor):
            array = array.detach().cpu().numpy()
        array = np.ascontiguousarray(array) if np.ndim(array) else np.asarray(array)
        inits.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    # rotary tables for q and k in interleaved (re, im) pairs: [2L, 2d]
    rotor_qk = fast.rotor_heads.repeat(1, 2)  # [2L, d] complex: q's heads, then k's
    rot = torch.view_as_real(rotor_qk)  # [2L, d, 2] complex pairs of q's and k's halves
    const("cos", rot[..., 0].repeat_interleave(2, 1))
    const("sin", rot[..., 1].repeat_interleave(2, 1))
    turn = torch.zeros(2 * d, 2 * d)  # (re, im) -> (-im, re)
    turn[torch.arange(1, 2 * d, 2), torch.arange(0, 2 * d, 2)] = -1.0
    turn[torch.arange(0, 2 * d, 2), torch.arange(1, 2 * d, 2)] = 1.0
    const("embed", fast.embed)
    const("head", fast.head)
    const("shape_q", np.array([-1, h, 1, hd], dtype=np.int64))
    const("shape_k", np.array([-1, h, hd, 1], dtype=np.int64))
    const("shape_x", np.array([-1, d], dtype=np.int64))
    const("split_qkv", np.array([2 * d, d, 2 * d], dtype=np.int64))
    const("split_qk", np.array([d, d], dtype=np.int64))
    const("split_p", np.array([slots, 1], dtype=np.int64))
    cos = node("Gather", ["cos", "position"], "cos_t", axis=0)  # [1, 2d]
    sin = node("Gather", ["sin", "position"], "sin_t", axis=0)
    cond = [
        node("Gather", ["cond", const(f"i{i}", np.array(i))], f"cond{i}", axis=0)
        for i in range(n_layers + 1)
    ]  # [B, d] each
    x = node("Add", [node("Gather", ["embed", "tokens"], "x_embed", axis=0), cond[0]], "x0")
    bias = node("Unsqueeze", ["bias", const("axis2", np.array([2], dtype=np.int64))], "bias4")
    for i, layer in enumerate(fast.layers):
        p = f"l{i}_"
        w = layer.qkv.clone()
        w[:, :d] *= fast.scale  # q carries the attention scale
        const(p + "qkv", torch.cat([w, w[:, : 2 * d] @ turn], 1))  # [d, 5d]
        y = node(
            "LayerNormalization",
            [x, const(p + "ln1_w", layer.ln1[0]), const(p + "ln1_b", layer.ln1[1])],
            p + "y1",
            axis=-1,
            epsilon=layer.eps1,
        )
        qkv = node("MatMul", [y, p + "qkv"], p + "qkvp")
        nodes.append(
            helper.make_node("Split", [qkv, "split_qkv"], [p + "qk", p + "v", p + "qk_t"], axis=1)
        )
        qk = node(
            "Add",
            [node("Mul", [p + "qk", cos], p + "qk_c"), node("Mul", [p + "qk_t", sin], p + "qk_s")],
            p + "qk_rot",
        )
        nodes.append(helper.make_node("Split", [qk, "split_qk"], [p + "q", p + "k"], axis=1))
        q4 = node("Reshape", [p + "q", "shape_q"], p + "q4")  # [B, H, 1, hd]
        k4 = node("Reshape", [p + "k", "shape_k"], p + "k4")  # [B, H, hd, 1]
        v4 = node("Reshape", [p + "v", "shape_q"], p + "v4")  # [B, H, 1, hd]
        scores = node("Add", [node("MatMul", [q4, f"keys{i}"], p + "s_mem"), bias], p + "s")
        own = node("MatMul", [q4, k4], p + "s_own")  # [B, H, 1, 1]
        probs = node(
            "Softmax", [node("Concat", [scores, own], p + "s_all", axis=-1)], p + "p", axis=-1
        )
        nodes.append(
            helper.make_node("Split", [probs, "split_p"], [p + "p_mem", p + "p_own"], axis=-1)
        )
        att = node(
            "Add",
            [
                node("MatMul", [p + "p_mem", f"values{i}"], p + "a_mem"),
                node("Mul", [p + "p_own", v4], p + "a_own"),
            ],
            p + "att",
        )
        att = node("Reshape", [att, "shape_x"], p + "att2")
        x = node(
            "Add", [x, node("MatMul", [att, const(p + "proj", layer.proj)], p + "o")], p + "x1"
        )
        y = node(
            "LayerNormalization",
            [x, const(p + "ln2_w", layer.ln2[0]), const(p + "ln2_b", layer.ln2[1])],
            p + "y2",
            axis=-1,
            epsilon=layer.eps2,
        )
        u = node(
            "Add",
            [
                node("MatMul", [y, const(p + "up", layer.up)], p + "u0"),
                const(p + "up_b", layer.up_b),
            ],
            p + "u",
        )
        g = node("Add", [u, node("Mul", [u, node("Erf", [u], p + "erf")], p + "ue")], p + "g")
        down = node("MatMul", [g, const(p + "down", layer.down)], p + "m")
        x = node("Add", [node("Add", [x, down], p + "x2"), cond[i + 1]], p + "x3")
        node("Identity", [p + "k"], f"key{i}")
        node("Identity", [p + "v"], f"value{i}")
    y = node(
        "LayerNormalization",
        [x, const("lnf_w", fast.ln_f[0]), const("lnf_b", fast.ln_f[1])],
        "yf",
        axis=-1,
        epsilon=fast.eps_f,
    )
    node("MatMul", [y, "head"], "logits")

    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [
        helper.make_tensor_value_info("tokens", i64, ["B"]),
        helper.make_tensor_value_info("position", i64, [1]),
        helper.make_tensor_value_info("cond", f32, [n_layers + 1, "B", d]),
        helper.make_tensor_value_info("bias", f32, ["B", h, slots]),
        *[
            helper.make_tensor_value_info(f"keys{i}", f32, ["B", h, hd, slots])
            for i in range(n_layers)
        ],
        *[
            helper.make_tensor_value_info(f"values{i}", f32, ["B", h, slots, hd])
            for i in range(n_layers)
        ],
    ]
    outputs = [helper.make_tensor_value_info("logits", f32, ["B", fast.head.shape[1]])]
    outputs += [helper.make_tensor_value_info(f"key{i}", f32, ["B", d]) for i in range(n_layers)]
    outputs += [helper.make_tensor_value_info(f"value{i}", f32, ["B", d]) for i in range(n_layers)]
    graph = helper.make_graph(nodes, "emostudio_decoder_step", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _tight_loop(decoder, batch: int, latent: int, steps: int = 80) -> float:
    """Microseconds per step: ``steps`` tokens into one bar, twice, after a warm-up."""
    z = torch.randn(batch, latent)
    tokens = torch.full((batch, 1), 50)

    def run() -> None:
        state = decoder.start(batch)
        for _ in range(2):
            for _ in range(steps):
                decoder.step(tokens, z, state)
            decoder.next_bar(state)

    run()
    t0 = time.perf_counter()
    for _ in range(5):
        run()
    return (time.perf_counter() - t0) / (10 * steps) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    engine = Engine.load(args.model)  # 1 torch thread while decoding, like ONNX Runtime's
    torch.set_num_threads(1)  # ... and for the tight loops, outside the engine
    model = engine.model
    if model.config.decoder_memory_bars != 1:  # the graph's slots and positions are for one bar
        raise SystemExit(f"{args.model}: the ONNX graph is written for a decoder memory of 1 bar")
    fast, onnx_step = FastDecoder(model), OrtDecoder(model)
    with torch.inference_mode():
        g = torch.Generator().manual_seed(0)
        z = torch.randn(2, model.config.latent, generator=g)
        tokens = torch.randint(3, model.config.vocab_size, (2, 40), generator=g)
        tokens[:, 0] = 2
        worst = 0.0
        ref, ort_ = ModelSteps(model), onnx_step
        sr, so = ref.start(2), ort_.start(2)
        for j in range(40):
            a, sr = ref.step(tokens[:, j : j + 1], z, sr)
            b, so = ort_.step(tokens[:, j : j + 1], z, so)
            worst = max(worst, float((a - b).abs().max()))
        print(f"largest logit difference against the reference step: {worst:.2e}")
        latent = model.config.latent
        for batch in (1, 4):
            print(
                f"tight loop, batch {batch}: FastDecoder {_tight_loop(fast, batch, latent):.0f} us/step,"
                f" ONNX Runtime {_tight_loop(onnx_step, batch, latent):.0f} us/step"
            )
    quadrants = [Emotion.from_quadrant(q) for q in (1, 2, 3, 4)]
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, decoder in (("FastDecoder", fast), ("ONNX Runtime", onnx_step)):
            engine.steps = decoder
            for seed in range(3):
                t0 = time.perf_counter()
                list(engine.generate(quadrants[seed], bars=16, seed=seed))
                times.setdefault(f"{name}, 1 piece", []).append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.generate_many(quadrants, bars=16, seed=0)
            times.setdefault(f"{name}, 4 pieces", []).append(time.perf_counter() - t0)
    print("| 16-bar generation | median s | min s |")
    print("|---|---|---|")
    for key, values in times.items():
        print(f"| {key} | {statistics.median(values):.3f} | {min(values):.3f} |")


if __name__ == "__main__":
    main()
