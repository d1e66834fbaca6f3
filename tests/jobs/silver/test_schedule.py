"""The silver run's scheduler: a table starts once the tables its rules look up are done, and a
failure starts nothing new (no Spark here: `one` is a plain function)."""
import threading
import time

import pytest

from jobs.silver import run as silver


class Recorder:
    def __init__(self, slow: dict[str, float] | None = None, fail: str | None = None):
        self.slow, self.fail = slow or {}, fail
        self.started: list[str] = []
        self.finished: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, name: str) -> None:
        with self.lock:
            self.started.append(name)
        time.sleep(self.slow.get(name, 0.01))
        if name == self.fail:
            raise RuntimeError(f"{name} failed")
        with self.lock:
            self.finished.append(name)


def test_every_table_starts_after_what_it_depends_on():
    one = Recorder(slow={"customers": 0.3})
    silver._schedule(list(silver.TABLES), one, parallel=3)

    assert sorted(one.finished) == sorted(silver.TABLES)
    for name, needs in silver.DEPENDS_ON.items():
        for need in needs:
            assert one.finished.index(need) < one.started.index(name), (need, name)
    # Independent tables do not wait for the slow customers dimension (fixed waves made them).
    assert one.finished.index("weather") < one.finished.index("customers")
    assert one.finished.index("inventory") < one.finished.index("customers")


def test_a_table_outside_the_selection_is_not_waited_for():
    one = Recorder()
    silver._schedule(["orders", "order_lines"], one, parallel=2)
    assert one.finished == ["orders", "order_lines"]


def test_a_failure_starts_nothing_new_and_is_raised():
    one = Recorder(slow={"products": 0.3}, fail="customers")
    with pytest.raises(RuntimeError, match="customers failed"):
        silver._schedule(list(silver.TABLES), one, parallel=2)
    # products was already running and finishes; nothing that needs customers ever starts
    assert "products" in one.finished
    assert not {"orders", "events", "reviews", "order_lines", "deliveries"} & set(one.started)
