"""Work buffers: a pool that hands big buffers out again once nothing holds them, and the
casts / transposes that write into pooled buffers."""

from __future__ import annotations

import math
import threading

import torch
from torch import Tensor

_EMPTY: dict[torch.dtype, Tensor] = {}


class _BufferPool:
    """Hands out big buffers again once nothing outside the pool holds them.

    Fresh memory costs a page fault per 4 KiB on first touch (about 1 us in a VM), i.e. tens of
    microseconds per step of the loops here, more than the gate arithmetic itself. A buffer is
    handed out as a view of a pooled base tensor; it is free again when the storage's use count
    shows no other holder (no saved tensor, no output view, no handout alive).
    """

    MIN_NUMEL = 1 << 15  # smaller buffers come from malloc's free lists anyway
    MAX_PER_KEY = 4
    MAX_BYTES = 1 << 30

    def __init__(self) -> None:
        self._free: dict[tuple[int, torch.dtype], list[Tensor]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._use_count = getattr(torch._C, "_storage_Use_Count", None)
        if self._use_count is not None:
            try:  # a lone tensor: its own reference plus the temporary storage object
                probe = torch.empty(4)
                self._base_count = self._use_count(probe.untyped_storage()._cdata)
                view = probe.view(2, 2)
                if self._use_count(probe.untyped_storage()._cdata) != self._base_count + 1:
                    self._use_count = None
                del view
            except Exception:  # noqa: BLE001
                self._use_count = None

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        n = math.prod(shape)
        if self._use_count is None or n < self.MIN_NUMEL:
            return torch.empty(shape, dtype=dtype)
        key = (n, dtype)
        with self._lock:
            bases = self._free.setdefault(key, [])
            for base in bases:
                if self._use_count(base.untyped_storage()._cdata) == self._base_count:
                    return base.view(shape)
            base = torch.empty(n, dtype=dtype)
            nbytes = n * base.element_size()
            if len(bases) < self.MAX_PER_KEY and self._bytes + nbytes <= self.MAX_BYTES:
                bases.append(base)
                self._bytes += nbytes
            return base.view(shape)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._bytes = 0


_POOL = _BufferPool()


def _empty(dtype: torch.dtype) -> Tensor:
    """A shared empty tensor of ``dtype`` (the "no buffer" marker the loops take)."""
    t = _EMPTY.get(dtype)
    if t is None:
        t = _EMPTY[dtype] = torch.empty(0, dtype=dtype)
    return t


def _cast(t: Tensor, dtype: torch.dtype) -> Tensor:
    """``t`` (any strides) as a contiguous ``dtype`` tensor in a pooled buffer (one copy)."""
    if t.dtype == dtype and t.is_contiguous():
        return t
    out = _POOL.empty(tuple(t.shape), dtype)
    out.copy_(t)
    return out


def _transposed(t: Tensor, dtype: torch.dtype, ops, pooled: bool = True) -> Tensor:
    """``t.t()`` (t 2-D) as a contiguous ``dtype`` tensor; blocked transpose in C++ if there."""
    shape = (t.shape[1], t.shape[0])
    if ops is not None and t.dtype == torch.float32 and dtype in (torch.float32, torch.bfloat16):
        out = _POOL.empty(shape, dtype) if pooled else torch.empty(shape, dtype=dtype)
        ops.transpose(t.contiguous(), out)
        return out
    if not pooled:
        return t.t().to(dtype).contiguous()
    return _cast(t.t(), dtype)
