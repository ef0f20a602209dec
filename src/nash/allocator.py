"""glibc's malloc tuned for training on CPU: freed tensor memory is reused instead of handed back.

PyTorch's CPU allocator has no cache of its own: every tensor is a ``malloc`` and a ``free``.
glibc serves requests above its mmap threshold (128 KiB at start, then raised step by step as
mapped blocks are freed) with fresh ``mmap`` pages, and gives the top of its heap back to the
kernel whenever more than its trim threshold is free. Either way the next step's activations land
on pages the kernel must fault in and zero again: 2,500-15,000 page faults per training step of a
w2a2 ResNet18 at width 16, batch 64 (how many depends on where glibc's moving threshold happened to
settle, which also made timings vary from process to process).

:func:`tune_allocator` fixes both thresholds once per process (``mallopt``): blocks up to 32 MiB
(glibc's maximum) come from the heap, and up to 1 GiB of free heap is kept. Measured on the 2-core
machine (2 threads, QAT step, 4 processes each): page faults per step 2,500-11,500 -> 3; original
ResNet18 178 -> 172 ms, NASH-v3 293 -> 276 ms (medians); peak RSS unchanged (1.2 / 1.7 GB).
``bench/train_bench.py`` (2 threads): NASH-v3/original QAT speed 0.587 -> 0.611-0.625. Tensors above
32 MiB (ImageNet-size activations on CPU) are still mapped per allocation, and glibc may still grow
the heap instead of reusing a freed block that an aligned request just overflows (seen with exactly
repeating 16 MiB tensors; not in a training run's steady state).

Only on Linux with glibc, and only when the user has not chosen an allocator themselves
(``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_TOP_PAD_`` set, or another
malloc in ``LD_PRELOAD`` such as jemalloc or tcmalloc). ``NASH_MALLOC_TUNE=0`` leaves glibc's
defaults. The values computed are unaffected: this changes where memory comes from, not what is in it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

import torch

from nash.runtime import env_switch

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # the largest value glibc accepts on 64-bit
_TRIM_THRESHOLD = 1 << 30
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_done: bool | None = None  # the outcome of the first call (the settings are per process)


def tune_allocator(device: torch.device | str = "cpu") -> bool:
    """Set glibc's mmap and trim thresholds for this process (once) if it computes on ``device``
    = CPU; True if they are set (now or by an earlier call).

    False, and nothing changed, where it does not apply: a GPU device (its tensors are not
    malloc'ed), not Linux/glibc, ``NASH_MALLOC_TUNE=0``, the user's own ``MALLOC_*_`` settings or a
    preloaded allocator. Safe to call from every entry point: the thresholds are set at most once.

    Raises:
        ConfigError: ``NASH_MALLOC_TUNE`` is neither 0 nor 1.
    """
    global _done
    wanted = env_switch("NASH_MALLOC_TUNE", "tune glibc's malloc for training", "leave it")
    if torch.device(device).type != "cpu":
        return bool(_done)
    if _done is None:
        _done = wanted and _applies() and _set_thresholds()
    return _done


def _applies() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(os.environ.get(name) for name in _USER_SETTINGS):
        return False
    preload = os.environ.get("LD_PRELOAD", "")
    return not any(lib in preload for lib in ("jemalloc", "tcmalloc", "mimalloc"))


def _set_thresholds() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    # Setting either threshold also stops glibc from moving them by itself.
    ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
    return ok and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1
