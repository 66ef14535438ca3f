"""The GRU layers: emovae's :class:`GRU` and :class:`TorchGRU` (PyTorch's fused GRU) with the same
parameters and call, :func:`make_gru` to pick one, and :func:`keras_init_` (Keras's initialisers).

Both hold ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,) in
torch.nn.GRU's layout (gate order r, z, n), so a state_dict of one loads into the other.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from emovae.errors import EmovaeError
from emovae.limits import GRU_PRECISIONS, check_precision

from ._extension import _ext_ops
from ._function import _GRUFunction, _inference_forward

__all__ = ["GRU", "GRUBase", "TorchGRU", "keras_init_", "make_gru"]

_IMPLS = ("auto", "ext", "python", "native")  # GRU.impl: how emovae's layer runs a call
_LAYERS = ("emovae", "torch")  # make_gru(impl=...): which layer
# Inference (no autograd) on fewer examples than this runs PyTorch's fused GRU: the hand-written
# pass pays oneDNN's set-up on its first call (0.2-0.5 s), the fused kernel does not, and at such
# batches neither is faster. Training, and inference on larger batches, take the hand-written pass.
SMALL_BATCH = 32
_EMBED_DENSE = 8  # dense features beside tokens that the C++ lookup takes (more: the one-hot is built)


class GRUBase(nn.Module):
    """What both layers share: the four parameters, the input checks, PyTorch's fused GRU.

    Single layer, batch first, one direction; gate order r, z, n;
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (Keras ``reset_after=True``);
    ``h' = (1 - z) * n + z * h``.

    Args:
        input_size: features per step.
        hidden_size: units.
        precision: ``"fp32"``, or ``"bf16"`` (bfloat16 matrix products; float32 state, float32
            master weights and float32 gradients), or ``"bf16-grad"`` (the forward in float32, so the
            layer computes what fp32 computes; the backward pass's products in bfloat16: the state
            gradient's recurrence and the weight gradients; on the native path, CUDA included, it
            runs as fp32), or ``"int16"`` (inference only: 16-bit
            fixed-point recurrent products in the fused decoder of :mod:`emovae.gru._decode`;
            any other call runs as fp32, and a call autograd would record raises EmovaeError).

    ``forward(x, h0=None, steps=None, tokens=None)``: ``x`` (B, T, I) gives ``(outputs (B, T, H),
    h_T (B, H))``. With ``steps=T`` and ``x`` (B, I) the same input is fed at each of the T steps;
    the result equals passing ``x`` repeated T times. ``h0`` (B, H) defaults to zeros. With
    ``tokens`` (B, T) integer indices, the first ``n = I - m`` features of each step are the one-hot
    of the token and ``x`` (B, T, m) (or None: m = 0) holds the rest; the result equals passing
    ``cat([one_hot(tokens, n), x], -1)``, and emovae's layer reads the one-hot as a column lookup.
    """

    def __init__(self, input_size: int, hidden_size: int, precision: str = "fp32") -> None:
        super().__init__()
        check_precision(precision, "GRU precision", GRU_PRECISIONS)
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise EmovaeError(f"GRU sizes must be positive, got input {input_size}, hidden {hidden_size}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.precision = precision
        H = self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * H, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih = nn.Parameter(torch.empty(3 * H))
        self.bias_hh = nn.Parameter(torch.empty(3 * H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.GRU's default: every parameter uniform in +-1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def to_torch(self) -> nn.GRU:
        """An equivalent ``torch.nn.GRU`` (batch first) holding copies of these weights."""
        ref = nn.GRU(self.input_size, self.hidden_size, batch_first=True)
        ref = ref.to(device=self.weight_hh.device, dtype=self.weight_hh.dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, f"{name}_l0").copy_(getattr(self, name))
        return ref

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, precision={self.precision!r}"

    # cuDNN wants the four tensors in one flat buffer (as nn.RNNBase.flatten_parameters does).
    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self._flatten_for_cudnn()
        return out

    def _flatten_for_cudnn(self) -> None:
        ws = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        if not all(w.is_cuda for w in ws) or len({w.dtype for w in ws}) != 1:
            return
        try:
            from torch.backends import cudnn

            if not cudnn.is_acceptable(ws[0].data):
                return
            with torch.no_grad():
                if torch._use_cudnn_rnn_flatten_weight():
                    # 4 tensors, mode 3 = GRU, no projection, 1 layer, batch first, 1 direction
                    torch._cudnn_rnn_flatten_weight(ws, 4, self.input_size, 3, self.hidden_size, 0, 1, True, False)
        except Exception:  # noqa: BLE001 - flattening only saves a copy per call
            pass

    def _check_tokens(self, x: Tensor | None, tokens: Tensor, steps: int | None) -> int:
        """Checks a token call; returns the number of token classes n."""
        I = self.input_size
        if steps is not None:
            raise EmovaeError("GRU tokens give one token per step: pass them without steps")
        if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.is_floating_point() or tokens.is_complex():
            shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise EmovaeError(f"GRU tokens must be integer indices of shape (batch, steps), got {shape}")
        B, T = tokens.shape
        m = 0 if x is None else x.shape[-1]
        if x is not None and (x.dim() != 3 or tuple(x.shape[:2]) != (B, T) or m >= I):
            raise EmovaeError(
                f"GRU input beside tokens {tuple(tokens.shape)} must have shape ({B}, {T}, m) with m < {I}, "
                f"got {tuple(x.shape)}"
            )
        n = I - m
        if tokens.device.type == "cpu" and tokens.numel():
            lo, hi = int(tokens.min()), int(tokens.max())
            if lo < 0 or hi >= n:
                raise EmovaeError(f"GRU tokens must lie in [0, {n}), got values from {lo} to {hi}")
        return n

    def _lookup(self, x: Tensor | None, tokens: Tensor, n: int, impl: str) -> bool:
        """Whether a token call runs the C++ column lookup (a float32 pass on the CPU with the C++
        loop, at most ``_EMBED_DENSE`` dense features); otherwise the one-hot is built."""
        if impl == "auto":
            small_inference = not torch.is_grad_enabled() and tokens.shape[0] < SMALL_BATCH
            impl = "ext" if tokens.device.type == "cpu" and not small_inference else "native"
        if impl != "ext" or tokens.device.type != "cpu" or self.precision not in ("fp32", "int16"):
            return False
        if self.weight_hh.dtype != torch.float32 or self.input_size - n > _EMBED_DENSE:
            return False
        if x is not None and (x.dtype != torch.float32 or x.device.type != "cpu"):
            return False
        return _ext_ops() is not None  # without the C++ loop the PyTorch loops take the dense input

    def _expand_tokens(self, x: Tensor | None, tokens: Tensor, n: int) -> Tensor:
        """The dense input a token call stands for: ``cat([one_hot(tokens, n), x], -1)``."""
        one = torch.nn.functional.one_hot(tokens.long(), n).to(self.weight_ih.dtype)
        return one if x is None else torch.cat([one, x], dim=-1)

    def _check(self, x: Tensor, h0: Tensor | None, steps: int | None) -> int:
        I = self.input_size
        if steps is None:
            if x.dim() != 3 or x.shape[2] != I:
                raise EmovaeError(f"GRU input must have shape (batch, steps, {I}), got {tuple(x.shape)}")
            T = x.shape[1]
        else:
            if x.dim() != 2 or x.shape[1] != I:
                raise EmovaeError(
                    f"GRU constant input (steps={steps}) must have shape (batch, {I}), got {tuple(x.shape)}"
                )
            T = int(steps)
        if T < 1 or x.shape[0] < 1:
            raise EmovaeError(f"GRU input needs at least one example and one step, got {tuple(x.shape)} steps {T}")
        self._check_state(x.shape[0], x, h0)
        return T

    def _check_state(self, batch: int, x: Tensor | None, h0: Tensor | None) -> None:
        H = self.hidden_size
        if h0 is not None and tuple(h0.shape) != (batch, H):
            raise EmovaeError(f"GRU h0 must have shape ({batch}, {H}), got {tuple(h0.shape)}")
        if self.precision == "int16" and self._records(x, h0):
            raise EmovaeError("GRU precision 'int16' is for inference only (no autograd); train with 'fp32' or 'bf16'")

    def _records(self, x: Tensor | None, h0: Tensor | None) -> bool:
        """Whether autograd records this call (grad mode on and some input needs a gradient)."""
        if not torch.is_grad_enabled():
            return False
        return (
            (x is not None and x.requires_grad)
            or (h0 is not None and h0.requires_grad)
            or any(p.requires_grad for p in self.parameters())
        )

    def _forward_native(self, x: Tensor, h0: Tensor | None, steps: int | None, T: int):
        """PyTorch's fused GRU (the kernel ``torch.nn.GRU.forward`` calls; cuDNN on CUDA)."""
        B, H = x.shape[0], self.hidden_size
        if steps is not None:
            x = x.unsqueeze(1).expand(B, T, self.input_size)
        hx = x.new_zeros(1, B, H) if h0 is None else h0.unsqueeze(0)
        params = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        if self.precision == "bf16":
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                out, hn = torch._VF.gru(x, hx, params, True, 1, 0.0, self.training, False, True)
            return out.float(), hn[0].float()
        out, hn = torch._VF.gru(x, hx, params, True, 1, 0.0, self.training, False, True)
        return out, hn[0]


class GRU(GRUBase):
    """emovae's GRU: a hand-written forward and backward pass on the CPU (see :mod:`emovae.gru`).

    Same maths, parameters and call as :class:`GRUBase` describes. The implementation is chosen
    per call: on the CPU the hand-written pass (C++ step loop, else the same loop in PyTorch ops),
    except for inference on fewer than ``SMALL_BATCH`` examples; elsewhere PyTorch's own fused GRU
    (cuDNN on CUDA). The attribute ``impl`` ("auto", "ext",
    "python", "native") forces one, for tests. A call that autograd does not record (no_grad, or
    nothing needs a gradient) runs the same forward without storing the gates for a backward
    pass: the same outputs, bit for bit.
    """

    def __init__(self, input_size: int, hidden_size: int, precision: str = "fp32") -> None:
        super().__init__(input_size, hidden_size, precision)
        self.impl = "auto"

    def forward(
        self, x: Tensor | None, h0: Tensor | None = None, steps: int | None = None, tokens: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        impl = self.impl
        if impl not in _IMPLS:
            raise EmovaeError(f"GRU impl {impl!r} is not one of {', '.join(_IMPLS)}")
        if tokens is not None:
            n = self._check_tokens(x, tokens, steps)
            if not self._lookup(x, tokens, n, impl):  # the dense input it stands for, through the usual path
                return self.forward(self._expand_tokens(x, tokens, n), h0)
            self._check_state(tokens.shape[0], x, h0)
            args = (x, h0, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, None, False, True, tokens.long())
            if not self._records(x, h0):
                return _inference_forward(*args)
            return _GRUFunction.apply(*args)
        T = self._check(x, h0, steps)
        if impl == "auto":
            small_inference = not torch.is_grad_enabled() and x.shape[0] < SMALL_BATCH
            impl = "ext" if x.device.type == "cpu" and not small_inference else "native"
        if impl == "native":
            return self._forward_native(x, h0, steps, T)
        if x.device.type != "cpu":
            raise EmovaeError(f"GRU impl {impl!r} runs on the CPU only, input is on {x.device}")
        wdt = self.weight_hh.dtype
        if x.dtype != wdt or (h0 is not None and h0.dtype != wdt):
            raise EmovaeError(f"GRU input dtype {x.dtype} does not match its weights' {wdt}")
        bf16 = {"bf16": True, "bf16-grad": "grad"}.get(self.precision, False)
        if bf16 and wdt != torch.float32:
            raise EmovaeError(f"GRU precision {self.precision!r} needs float32 weights, got {wdt}")
        args = (
            x,
            h0,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            None if steps is None else T,
            bf16,
            impl == "ext",
        )
        if not self._records(x, h0):
            return _inference_forward(*args)
        return _GRUFunction.apply(*args)


class TorchGRU(GRUBase):
    """PyTorch's GRU (the fused kernel of ``torch.nn.GRU``, cuDNN on CUDA) behind emovae's call.

    Parameters named and shaped as emovae's :class:`GRU` (not ``torch.nn.GRU``'s ``*_l0``), so a
    state_dict loads into either; ``forward(x, h0=None, steps=None)`` as there. ``precision="bf16"``
    runs it under ``torch.autocast`` (float32 results).
    """

    def forward(
        self, x: Tensor | None, h0: Tensor | None = None, steps: int | None = None, tokens: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        if tokens is not None:
            return self.forward(self._expand_tokens(x, tokens, self._check_tokens(x, tokens, steps)), h0)
        T = self._check(x, h0, steps)
        return self._forward_native(x, h0, steps, T)


def make_gru(input_size: int, hidden_size: int, *, impl: str = "emovae", precision: str = "fp32") -> GRUBase:
    """The one switch between the layers: ``impl="emovae"`` (:class:`GRU`, the fast CPU pass) or
    ``impl="torch"`` (:class:`TorchGRU`). Same parameters, same call, same default initialisation
    (and the same random numbers drawn for it)."""
    if impl == "emovae":
        return GRU(input_size, hidden_size, precision=precision)
    if impl == "torch":
        return TorchGRU(input_size, hidden_size, precision=precision)
    raise EmovaeError(f"GRU layer impl {impl!r} is not one of {', '.join(_LAYERS)}")


@torch.no_grad()
def keras_init_(layer: GRUBase, generator: torch.Generator | None = None) -> GRUBase:
    """Keras's GRU initialisers, in place; returns ``layer``.

    * input kernel: glorot-uniform over the whole Keras ``(I, 3H)`` matrix, i.e. uniform in
      ``+-sqrt(6 / (I + 3H))`` (``weight_ih`` is its transpose; the bound is symmetric in the two);
    * recurrent kernel: orthogonal over the whole Keras ``(H, 3H)`` matrix (not gate by gate):
      ``weight_hh`` (3H, H), its transpose, gets orthonormal columns, ``weight_hh.T @ weight_hh = I``;
    * both biases zero.

    Draws from ``generator`` (default: torch's global generator), ``weight_ih`` first, then
    ``weight_hh``: the same numbers as ``xavier_uniform_`` then ``orthogonal_`` on the two.
    """
    if not isinstance(layer, GRUBase):
        raise EmovaeError(f"keras_init_ needs an emovae GRU layer (GRU or TorchGRU), got {type(layer).__name__}")
    nn.init.xavier_uniform_(layer.weight_ih, generator=generator)
    nn.init.orthogonal_(layer.weight_hh, generator=generator)
    nn.init.zeros_(layer.bias_ih)
    nn.init.zeros_(layer.bias_hh)
    return layer
