"""A1111 sampler names -> diffusers schedulers built from the model's own scheduler config."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)

# Without scipy, ``diffusers.LMSDiscreteScheduler`` is a placeholder that raises; the real
# class in its module imports fine and only needs scipy for the integral we replace below.
from diffusers.schedulers.scheduling_lms_discrete import LMSDiscreteScheduler

from daydream.engine.params import SCHEDULERS, canonical_scheduler


class LMSScheduler(LMSDiscreteScheduler):
    """LMS whose coefficients are integrated exactly with numpy instead of scipy.

    diffusers integrates a Lagrange basis polynomial with ``scipy.integrate.quad``; scipy is
    not a dependency of ours. The integrand is a polynomial of degree < 4, so 4-point
    Gauss-Legendre quadrature is exact (not an approximation).
    """

    _nodes, _weights = np.polynomial.legendre.leggauss(4)

    def get_lms_coefficient(self, order: int, t: int, current_order: int) -> float:
        """Integral of the ``current_order`` Lagrange basis between sigma[t] and sigma[t+1]."""
        sigmas = [float(s) for s in self.sigmas]
        low, high = sigmas[t], sigmas[t + 1]
        taus = (high - low) / 2 * self._nodes + (high + low) / 2
        values = np.ones_like(taus)
        for k in range(order):
            if k != current_order:
                values *= (taus - sigmas[t - k]) / (sigmas[t - current_order] - sigmas[t - k])
        return float((high - low) / 2 * np.sum(self._weights * values))


# name -> (class, config overrides). Overrides follow A1111's k-diffusion samplers.
_TABLE: dict[str, tuple[type, dict[str, Any]]] = {
    "Euler a": (EulerAncestralDiscreteScheduler, {}),
    "Euler": (EulerDiscreteScheduler, {}),
    "LMS": (LMSScheduler, {}),
    "LMS Karras": (LMSScheduler, {"use_karras_sigmas": True}),
    "DPM++ 2M": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DPM++ 2M Karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "DPM++ 2M SDE": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2},
    ),
    "DPM++ 2M SDE Karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "DDIM": (DDIMScheduler, {}),
    "PLMS": (PNDMScheduler, {"skip_prk_steps": True}),
    "UniPC": (UniPCMultistepScheduler, {}),
}
assert set(_TABLE) == set(SCHEDULERS), "params.SCHEDULERS and the scheduler table disagree"


def make_scheduler(name: str, base_config: dict[str, Any]) -> Any:
    """Build a fresh scheduler for A1111 sampler ``name`` from a model's scheduler config.

    Fresh each call: schedulers keep per-run state (step index, multistep history), and a
    cancelled run must not leak into the next.
    """
    canonical = canonical_scheduler(name)
    if canonical is None:
        raise ValueError(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULERS)}")
    cls, overrides = _TABLE[canonical]
    # Keep only what this class takes (beta schedule, prediction type, ...): diffusers logs a
    # warning for every foreign key, e.g. PNDM's skip_prk_steps handed to Euler.
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    config = {k: v for k, v in base_config.items() if k in accepted}
    return cls.from_config({**config, **overrides})
