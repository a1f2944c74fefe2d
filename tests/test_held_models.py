"""The models a worker holds: least recently used out, a memory budget, loads that fail.

The loader is a stand-in that records what it was asked to load (the real pipeline is
covered in tests/test_model_switching.py); ``HeldModels`` itself is what is tested.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from daydream.engine.errors import ModelLoadError
from daydream.held_models import HeldModels, ModelUnavailable

MB = 1024 * 1024


class Loader:
    """Loads "engines" of a given size; can refuse a model or run out of memory."""

    def __init__(self, sizes: dict[str, int] | None = None, broken=(), oom_beside=()):
        self.sizes = sizes or {}
        self.broken = set(broken)
        self.oom_beside = set(oom_beside)  # models that only fit when nothing else is held
        self.calls: list[str] = []
        self.held: HeldModels | None = None

    def __call__(self, name: str):
        self.calls.append(name)
        if name in self.broken:
            raise ModelLoadError(f"{name}.safetensors is not a readable checkpoint")
        if name in self.oom_beside and self.held and self.held.names():
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return SimpleNamespace(name=name, weights_bytes=self.sizes.get(name, MB))


def test_least_recently_used_goes_first_and_loads_are_counted():
    loader = Loader()
    held = HeldModels(loader, capacity=2)
    for name in ("a", "b", "a", "c", "a", "b"):
        assert held.get(name).name == name
    # a b (a used) c → b out; a used; b → c out.
    assert loader.calls == ["a", "b", "c", "b"]
    assert held.names() == ["b", "a"] and held.loads == 4


def test_the_memory_budget_lets_older_models_go_and_refuses_one_too_big():
    held = HeldModels(Loader({"small": 4 * MB, "big": 7 * MB, "huge": 11 * MB}), capacity=3,
                      budget_mb=10)
    held.get("small")
    held.get("big")  # 11 MB together: the small one goes
    assert held.names() == ["big"]
    with pytest.raises(ModelUnavailable, match="'huge' is too big for this worker's model "
                                              r"memory \(10 MB\)"):
        held.get("huge")
    assert "huge" not in held and held.get("small").name == "small"


def test_a_broken_model_is_refused_with_its_name_and_the_others_stay():
    held = HeldModels(Loader(broken={"bad"}), capacity=2)
    held.get("good")
    with pytest.raises(ModelUnavailable, match=r"Model 'bad' could not be loaded on this "
                                               r"worker \(bad.safetensors is not a readable"):
        held.get("bad")
    assert held.names() == ["good"] and held.loads == 1


def test_out_of_memory_unloads_the_others_and_tries_once_more():
    loader = Loader(oom_beside={"xl"})
    held = HeldModels(loader, capacity=3)
    loader.held = held
    held.get("sd1")
    held.get("sd2")
    assert held.get("xl").name == "xl"
    assert loader.calls == ["sd1", "sd2", "xl", "xl"] and held.names() == ["xl"]


def test_out_of_memory_even_alone_is_a_clear_reason():
    def never_fits(name):
        raise MemoryError()

    held = HeldModels(never_fits, capacity=2)
    held.put("sd1", SimpleNamespace())
    with pytest.raises(ModelUnavailable, match="'xl' is too big for this worker's memory"):
        held.get("xl")
    assert held.names() == []  # it let the others go to make room, and says so in the log


def test_the_heartbeat_can_read_the_held_models_during_a_long_load():
    import threading

    loading, release = threading.Event(), threading.Event()

    def slow(name):
        loading.set()
        release.wait(10)
        return SimpleNamespace(name=name)

    held = HeldModels(slow, capacity=2)
    held.put("sd1", SimpleNamespace())
    loader = threading.Thread(target=held.get, args=("xl",))
    loader.start()
    assert loading.wait(5)
    answer: list = []
    reader = threading.Thread(target=lambda: answer.append(held.names()))
    reader.start()
    reader.join(2)  # a heartbeat must not wait for the load to end
    release.set()
    loader.join(5)
    assert answer == [["sd1"]] and held.names() == ["xl", "sd1"]
