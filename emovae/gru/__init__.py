"""A single-layer GRU with a hand-written forward and backward pass for the CPU, and a switch to
PyTorch's own GRU with the same parameters and call.

Same maths and parameter layout as :class:`torch.nn.GRU` (gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, i.e. Keras ``reset_after=True``;
``h' = (1 - z) * n + z * h``), batch first, one layer, one direction.

Why not ``torch.nn.GRU`` on the CPU: its autograd accumulates the recurrent weight gradient one
step at a time (64 rank-16 updates of a 1536 x 512 matrix, memory-bound), its recurrent product
goes through MKL at about half of oneDNN's speed for 16 rows, and each step costs a dozen small
elementwise ops (``tanh`` among them, several times slower than ``sigmoid`` in this build).
What this package does instead (CPU):

* The input projection ``W_i x + b_i`` is one matrix product over all steps; for a constant
  input (the decoder's ``(z, emotion)`` fed at every step) it is computed once, not T times.
* float32 on an AVX-512 build (``tiled_caps``; hidden size a multiple of 16): the whole forward and
  backward recurrences are two C++ calls (``fwd_tiled`` / ``bwd_tiled``). Each step's product is a
  register-tiled micro-kernel (8 rows x 48 columns) with the gate arithmetic on the tile; rows are
  independent in both recurrences, so each thread runs all steps on its own rows with no barrier,
  and a row's results do not depend on the batch size or the thread count. The forward reads
  ``W_h`` as panels (16 units x 3 gates, packed once per call), the backward reads ``W_h`` in place.
  About 10-20% faster per epoch than the loop below on the AMD kind; ``EMOVAE_GRU_TILED=0`` switches
  back to it (``make bench`` times both).
* Otherwise (bf16, or no AVX-512) each step is one matrix product through oneDNN
  (``mkldnn::_linear_pointwise``) with the recurrent weight *prepacked* once per call for the batch size
  (``mkldnn::_reorder_linear_weight``; about twice as fast as a plain weight at 16 rows), then
  one fused, vectorised pass over the gates (``tanh(a)`` as ``2 sigmoid(2a) - 1``).
* The step loops (forward and backward) run in a small C++ extension (``csrc/gru_loops.cpp``),
  compiled on first use with ``torch.utils.cpp_extension`` and cached under
  ``TORCH_EXTENSIONS_DIR`` (default ``~/.cache/torch_extensions``; 10-20 s on 2 cores, once per
  machine and torch version). Without a compiler or ninja (or with ``EMOVAE_GRU_EXT=0``) the same
  loops run as PyTorch ops after a one-line warning; they are about 1.4x slower per training
  batch. ``EMOVAE_REQUIRE_EXT=1`` makes that an error (EmovaeError) instead.
* The backward pass keeps the gradients of the gate pre-activations of every step, so the
  weight and bias gradients are one large matrix product (and one sum) over all ``B * T``
  steps. With the tiled loops the recurrent weight's gradient is one C++ call (``dw_tiled``) that
  reads both operands as the backward pass left them (no transposes; step 0's rows skipped when
  ``h_0 = 0``); otherwise large fp32 products use oneDNN with K-major operands (about 2x MKL here).
* Few rows (fewer than 4 per thread: an epoch's last short batch): the tiled loops share each
  step's columns among the threads, with a barrier per step, instead of giving each thread a few
  rows and all of ``W_h`` to stream; each row's arithmetic is the same either way.
* Token inputs (``forward(x, tokens=...)``; the encoder's melody): the first features of each
  step are the one-hot of a token. The C++ path projects them by looking up a column of ``W_i``
  (``embed_fwd``) and sums their weight gradient per token in one pass over ``d(W_i x)``
  (``embed_bwd``, with the dense features' products and the bias): no products over the
  zeros of a one-hot. Elsewhere the one-hot is built and the usual path runs.
* Big work buffers come from a small pool and are reused once nothing holds them any more:
  fresh memory costs a page fault per 4 KiB on first touch, more than the gate arithmetic.
* A private op that is missing or fails is replaced by ``F.linear`` / ``torch.mm``.
* A call that autograd does not record (``torch.no_grad``, or no input needing a gradient) runs
  the same forward without storing the gates for a backward pass: the same outputs, bit for bit,
  without ~8 KiB of gate writes per example and step.

Generation has its own path, :func:`fused_decode` (``_decode``; switched on by
:func:`fused_decoding`, which ``TrainedModel.decode`` uses): the decoder's GRU on its
constant input and the linear head in one C++ call, from the input straight to the logits, each
thread running all steps on its own rows, with a register-tiled product, the gates on the tile
and nothing stored but the state. In fp32 it is within about 1e-6 of the training forward; with
``precision="int16"`` (inference only) the recurrent products run in 16-bit fixed point
(AVX512-VNNI, twice the fp32 rate) with >= 99.7% of the bundled models' argmax melodies equal
to fp32's. ``benchmarks/generate_speed.py`` measures both.

``precision="bf16"``: the matrix products run in bfloat16 (weights cast and packed once per
call), the state, the gates and the returned gradients are float32. The recurrent products'
results, the input projection and the recurrent weight gradient pass through bfloat16, as under
``torch.autocast``; the input-side gradients and the bias gradients are accumulated in float32.

``precision="bf16-grad"``: the forward pass in float32 (the tiled loop where it runs), so the
layer computes exactly what fp32 computes, in training and in inference; the backward pass as
under ``"bf16"`` (the state gradient's recurrence and the recurrent weight gradient through
bfloat16 products). Only the gradients carry bfloat16's rounding.

On CUDA (or with ``impl="native"``) the layer calls PyTorch's own fused GRU (cuDNN on CUDA)
with the same four parameters; ``precision="bf16"`` runs it under ``torch.autocast``,
``"bf16-grad"`` runs as fp32.

Modules, one concern each:

* ``_onednn``: probing oneDNN's private linear / weight-prepacking ops, the ``linear`` used;
* ``_extension``: building and loading the C++ step loops (``csrc/gru_loops.cpp``), the
  ``EMOVAE_GRU_EXT`` / ``EMOVAE_REQUIRE_EXT`` / ``EMOVAE_GRU_TILED`` switches, :func:`extension_status`,
  :func:`build_extension`;
* ``_loops``: the same step loops as PyTorch ops (fallback, any dtype);
* ``_pool``: the work-buffer pool and pooled casts / transposes;
* ``_passes``: the forward and backward passes over a sequence;
* ``_function``: the autograd Function, and the same forward for inference;
* ``_decode``: the fused decoder (:func:`fused_decode`, :func:`fused_decoding`,
  :func:`decode_caps`) and the int16 weight scales;
* ``_stacked``: :func:`stacked_gru`, K GRUs with K weight sets as one autograd Function (the
  batched trainer's recurrence: a product and one gate pass per step), :func:`gate_kernels`;
* ``_triton``: its gate passes as Triton kernels (CUDA);
* ``_extension`` also holds :func:`fused_rmsprop`, the training optimizer's step (Keras's RMSprop)
  as one C++ pass over each tensor: it lives with the GRU's kernels because it is built with them;
* ``layer``: :class:`GRU`, :class:`TorchGRU`, :func:`make_gru`, :func:`keras_init_`.
"""

from ._decode import decode_caps, fused_decode, fused_decoding
from ._extension import build_extension, extension_status, fused_rmsprop
from ._stacked import gate_kernels, stacked_gru
from .layer import GRU, GRUBase, TorchGRU, keras_init_, make_gru

__all__ = [
    "GRU",
    "GRUBase",
    "TorchGRU",
    "build_extension",
    "decode_caps",
    "extension_status",
    "fused_decode",
    "fused_decoding",
    "fused_rmsprop",
    "gate_kernels",
    "keras_init_",
    "make_gru",
    "stacked_gru",
]
