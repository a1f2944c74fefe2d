"""Process-wide torch settings a worker makes: its thread pool, and giving memory back.

Kept in the engine package with the rest of what touches torch; the worker and its model
cache call these instead of importing torch themselves. torch is imported on call only.
"""

from __future__ import annotations

import gc


def limit_torch_threads(threads: int) -> None:
    """Size torch's one intra-op pool before any work (several workers share a CPU box)."""
    import torch

    if threads > 0:
        # One thread per worker on a shared CPU: with more, each parallel region waits for
        # its slowest thread, and another busy process stretches a step many times over (a
        # 0.2 s task took 10 s here), which no time estimate can foresee.
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process, or work has started: keep it
            pass


def release_memory() -> None:
    """Give freed weights back (the CUDA caching allocator keeps them otherwise)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # an engine without torch (tests' stand-ins)
        pass
