"""The C allocator's side of Herald's memory: fewer malloc arenas, and freed memory given
back to the system after the large transient work (start-up, a cold cycle's batches).

glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and keeps
freed memory in them; the store thread, `asyncio.to_thread` and the HTTP server's threads each
grow one. Both calls are no-ops where the C library is not glibc (musl, macOS, Windows).
See docs/benchmarks.md (scale) for what each saves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from functools import cache
from typing import Any, cast

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2  # the main thread's arena and one shared by every other thread


@cache
def _glibc() -> Any | None:
    """The process's C library if it is glibc, else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):
        return None
    return libc


def skip_httpx_cli() -> None:
    """Keep httpx from importing its command-line tool (`httpx._main`: click, and rich and
    pygments where installed, 5 MB in every process) which Herald never runs. Call before
    httpx is first imported; httpx then defines a stub `main` that says the CLI is missing."""
    if "httpx" not in sys.modules:
        # None in sys.modules: "import httpx._main" raises ImportError, which httpx expects.
        cast(dict[str, Any], sys.modules).setdefault("httpx._main", None)


def limit_arenas(count: int = ARENAS) -> bool:
    """Let at most `count` malloc arenas exist; call before threads start. True if done."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, count))


def give_back() -> bool:
    """Return the free memory malloc still holds to the system (`malloc_trim(0)`). True if
    some was returned."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
