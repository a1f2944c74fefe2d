"""Engine overhead: Engine.generate (progress + previews every step) vs the bare diffusers call.

Run with ``.venv/bin/python bench/engine.py``. Same demo model, same components, scheduler,
seed, size and steps; runs are interleaved (alternating which goes first) and medians are
compared per size: "ratio" is the median of the per-round engine/bare ratios. The last line
is the worst size's ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The checkout instead of bench/ (whose queue.py would shadow the standard library's queue).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402
import torch  # noqa: E402

from daydream.engine.params import GenerationParams  # noqa: E402
from daydream.engine.pipeline import Engine, StepProgress  # noqa: E402
from daydream.engine.preview import SD1_FACTORS, latents_to_jpeg  # noqa: E402
from daydream.engine.schedulers import make_scheduler  # noqa: E402

TARGET = 1.05
PLAN = {64: 40, 128: 25, 256: 15}  # size -> rounds (fewer for the slow sizes)


def preview_cost(size: int, repeats: int = 200) -> float:
    """Seconds for one preview (projection + JPEG) of a ``size`` px image's latent."""
    factors = np.array(SD1_FACTORS, dtype=np.float32)
    latents = torch.randn(1, 4, size // 8, size // 8)
    latents_to_jpeg(latents, factors)
    start = time.perf_counter()
    for _ in range(repeats):
        latents_to_jpeg(latents, factors)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    """Measure, print a table, and end with the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scheduler", default="Euler a")
    parser.add_argument("--quick", action="store_true", help="3 rounds per size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        engine = Engine.load(None, Path(cache), device="cpu")
        # The bare baseline: a plain diffusers pipeline over the very same modules.
        from diffusers import StableDiffusionPipeline

        bare = StableDiffusionPipeline(**engine._txt2img.components, requires_safety_checker=False)
        bare.set_progress_bar_config(disable=True)
        bare.scheduler = make_scheduler(args.scheduler, dict(engine._txt2img.scheduler.config))

        previews: list[int] = []

        def on_step(progress: StepProgress) -> None:
            # What a worker does: keep the numbers and the preview bytes for publishing.
            previews.append(len(progress.preview_jpeg or b""))

        def run_engine(size: int) -> float:
            params = GenerationParams(
                prompt="a lighthouse on a cliff at dusk",
                width=size,
                height=size,
                steps=args.steps,
                seed=1,
                scheduler=args.scheduler,
            )
            start = time.perf_counter()
            engine.generate(params, on_step=on_step, preview_every=1)
            return time.perf_counter() - start

        def run_bare(size: int) -> float:
            start = time.perf_counter()
            bare(
                "a lighthouse on a cliff at dusk",
                width=size,
                height=size,
                num_inference_steps=args.steps,
                guidance_scale=7.0,
                generator=[torch.Generator("cpu").manual_seed(1)],
            )
            return time.perf_counter() - start

        print(
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, python {platform.python_version()}"
        )
        print(
            f"model: demo ({engine.model_name}), scheduler {args.scheduler}, "
            f"{args.steps} steps, 1 image, previews every step"
        )
        print(
            f"{'size':>6} {'rounds':>6} {'bare s':>9} {'engine s':>9} {'ratio':>7} "
            f"{'preview ms':>10} {'of step':>8}"
        )
        ratios = []
        for size, rounds in PLAN.items():
            rounds = 3 if args.quick else rounds
            run_engine(size), run_bare(size)  # warm-up: allocator, caches
            engine_times, bare_times, paired = [], [], []
            for index in range(rounds):
                # Alternate which goes first; pair each engine run with its neighbouring bare
                # run so that load drifting on a shared machine hits both sides alike.
                if index % 2:
                    e_time, b_time = run_engine(size), run_bare(size)
                else:
                    b_time, e_time = run_bare(size), run_engine(size)
                engine_times.append(e_time)
                bare_times.append(b_time)
                paired.append(e_time / b_time)
            e, b = statistics.median(engine_times), statistics.median(bare_times)
            ratio = statistics.median(paired)
            ratios.append(ratio)
            preview_ms = preview_cost(size) * 1000
            step_ms = b / args.steps * 1000
            print(
                f"{size:>6} {rounds:>6} {b:>9.3f} {e:>9.3f} {ratio:>7.3f} "
                f"{preview_ms:>10.3f} {preview_ms / step_ms:>8.1%}"
            )
        print(
            f"previews produced: {sum(1 for n in previews if n)}, "
            f"median {statistics.median(n for n in previews if n)} bytes"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work skews timings)")
        print(f"engine: ratio={max(ratios):.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
