"""The C++ step loops (``csrc/gru_loops.cpp``), compiled on first use and cached.

Built with ``torch.utils.cpp_extension`` under ``TORCH_EXTENSIONS_DIR`` (default
``~/.cache/torch_extensions``; about 10 s on 2 cores, once per machine, source and torch version:
the library's name carries a hash of all three and the compiler flags).

Environment:

* ``EMOVAE_GRU_EXT=0`` (or false/no/off): do not build; the pure-PyTorch loops run.
* ``EMOVAE_REQUIRE_EXT=1`` (or true/yes/on): a C++ step loop that cannot be had (no compiler,
  no ninja, a build error, or switched off) raises :class:`~emovae.errors.EmovaeError` instead of
  warning once and falling back to the pure-PyTorch loops (for CI and timing runs).
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings

import torch

from emovae.errors import EmovaeError

_CPP_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc", "gru_loops.cpp")

_EXT_LOCK = threading.Lock()
_EXT_STATE: dict[str, object] = {"ops": None, "tried": False, "error": None}

_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def _ext_required() -> bool:
    """``EMOVAE_REQUIRE_EXT`` is set to a true value."""
    return os.environ.get("EMOVAE_REQUIRE_EXT", "").strip().lower() in _ON


def _required_error() -> EmovaeError:
    return EmovaeError(
        f"emovae.gru: C++ step loop not available ({_EXT_STATE['error']}) "
        "and EMOVAE_REQUIRE_EXT=1 forbids the pure-PyTorch fallback"
    )


def _ext_flags() -> list[str]:
    try:
        cap = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001
        cap = "DEFAULT"
    flags = ["-O3", "-fopenmp"]  # at::parallel_for in the step loops runs on every thread only with OpenMP
    if cap in ("AVX512", "AVX512_BF16", "AVX512_VNNI", "AMX"):
        flags += [
            "-DCPU_CAPABILITY=AVX512",
            "-DCPU_CAPABILITY_AVX512",
            "-mavx512f",
            "-mavx512dq",
            "-mavx512vl",
            "-mavx512bw",
            "-mfma",
        ]
    elif cap == "AVX2":
        flags += ["-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma", "-mf16c"]
    return flags


def _ext_ops():
    """The compiled step loops (``torch.ops.<ns>``), building them on first use; None if unavailable.

    Raises EmovaeError instead of returning None when ``EMOVAE_REQUIRE_EXT=1``.
    """
    if _EXT_STATE["tried"]:
        ops = _EXT_STATE["ops"]
        if ops is None and _ext_required():
            raise _required_error()
        return ops
    with _EXT_LOCK:
        if _EXT_STATE["tried"]:
            ops = _EXT_STATE["ops"]
            if ops is None and _ext_required():
                raise _required_error()
            return ops
        ops = None
        required = _ext_required()
        cause = None
        if os.environ.get("EMOVAE_GRU_EXT", "1").strip() in _OFF:
            _EXT_STATE["error"] = "disabled by EMOVAE_GRU_EXT=0"
        else:
            try:
                ops = _build()
            except Exception as e:  # noqa: BLE001 - no compiler, no ninja, a build error: fall back
                cause = e
                msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
                _EXT_STATE["error"] = f"{type(e).__name__}: {msg}"
                if not required:
                    warnings.warn(
                        f"emovae.gru: C++ step loop not available ({_EXT_STATE['error']}); "
                        "using the slower pure-PyTorch loop",
                        RuntimeWarning,
                        stacklevel=3,
                    )
        _EXT_STATE["ops"] = ops
        _EXT_STATE["tried"] = True
        if ops is None and required:
            raise _required_error() from cause
        return ops


def _build():
    from torch.utils import cpp_extension

    with open(_CPP_PATH, encoding="utf-8") as f:
        source = f.read()
    flags = _ext_flags()
    key = hashlib.sha1("\0".join([source, torch.__version__, *flags]).encode()).hexdigest()[:12]
    name = f"emovae_gru_{key}"
    flags = flags + [f"-DEMOVAE_NS={name}"]
    build_dir = cpp_extension._get_build_directory(name, verbose=False)
    src = os.path.join(build_dir, "emovae_gru.cpp")
    old = None
    if os.path.exists(src):
        with open(src, encoding="utf-8") as f:
            old = f.read()
    if old != source:
        tmp = f"{src}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, src)
    cpp_extension.load(
        name=name,
        sources=[src],
        extra_cflags=flags,
        extra_ldflags=["-fopenmp"],
        build_directory=build_dir,
        is_python_module=False,
        verbose=False,
    )
    ops = getattr(torch.ops, name)
    ops.fwd, ops.bwd, ops.transpose  # noqa: B018 - fail here if the library did not register
    return ops


def _tiled(ops, hidden: int, bf16: bool) -> bool:
    """Whether a float32 pass runs the tiled loops (``fwd_tiled`` / ``bwd_tiled``): an AVX-512 build,
    ``hidden`` a multiple of 16, and not switched off by ``EMOVAE_GRU_TILED=0`` (then each step is one
    oneDNN product plus a gate pass, as in other builds)."""
    if ops is None or bf16 or hidden % 16:
        return False
    ok = _EXT_STATE.get("tiled")
    if ok is None:
        try:
            ok = bool(int(ops.tiled_caps()) & 1)
        except (AttributeError, RuntimeError):
            ok = False
        _EXT_STATE["tiled"] = ok
    return bool(ok) and os.environ.get("EMOVAE_GRU_TILED", "1").strip() not in _OFF


def fused_rmsprop(params, grads, vs, *, lr: float, rho: float, eps: float, decay: float = 1.0) -> bool:
    """One step of Keras's RMSprop over the lists, in one C++ call: ``p *= decay`` (when not 1),
    ``v = rho v + (1 - rho) g^2``, ``p -= lr g / sqrt(v + eps)``, each tensor read and written once.

    It rounds as the foreach ops do (a fused multiply-add for ``(1 - rho) g * g``), except that the
    square root is IEEE's correctly rounded one. Returns False, changing nothing, where the extension is
    not built (or switched off) or a tensor is not a contiguous float32 CPU tensor: the caller then runs
    its own step.
    """
    if not params or any(p.device.type != "cpu" for p in params):
        return False
    ops = _ext_ops()
    if ops is None:
        return False
    return bool(ops.rmsprop(params, grads, vs, float(lr), float(rho), float(eps), float(decay)))


def extension_status() -> str:
    """One line: whether the C++ step loop is in use (does not build it)."""
    if not _EXT_STATE["tried"]:
        return "C++ step loop: not built yet (built on the first CPU forward pass)"
    if _EXT_STATE["ops"] is not None:
        return "C++ step loop: in use"
    return f"C++ step loop: not available ({_EXT_STATE['error']}); pure-PyTorch loop in use"


def build_extension() -> bool:
    """Build (or load from the cache) the C++ step loop now; True if it is usable.

    With ``EMOVAE_REQUIRE_EXT=1`` an unusable step loop raises EmovaeError instead of returning False.
    """
    return _ext_ops() is not None
