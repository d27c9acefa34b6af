"""Prefetch to device: a background thread keeps the next few batches read, stacked and placed.

The thread only runs ahead along the same deterministic sequence (`source.iterate(start, ...)`),
so the batches the train loop sees are exactly those without prefetching, and a resumed run
starts the sequence at its checkpointed step; batches prefetched past the end of a run are
simply dropped. Errors raised while reading (a DataError, say) reach the train loop on the
`next()` that would have returned the failed batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

Batch = dict[str, np.ndarray]
_END = object()
_POLL_S = 0.1  # how often a blocked producer checks whether it was closed


class Prefetcher:
    """Iterate `items` in a background thread, holding at most `size` finished items.

    `size=0` reads synchronously on `next()` (no thread). Call `close()` (or use `with`) to stop
    the thread; it is a daemon, so an unclosed one never blocks interpreter exit.
    """

    def __init__(self, items: Iterator[Any], size: int) -> None:
        self._items = items
        self._size = size
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=max(size, 1))
        self._thread = None
        if size > 0:
            self._thread = threading.Thread(target=self._produce, name="gan_jax-prefetch")
            self._thread.daemon = True
            self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
        except BaseException as e:  # handed to the consumer, re-raised there
            self._put((None, e))
            return
        self._put((_END, None))

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> Any:
        if self._thread is None:
            return next(self._items)
        item, error = self._queue.get()
        if error is not None:
            self._queue.put((None, error))  # every later next() fails the same way
            raise error
        if item is _END:
            self._queue.put((_END, None))
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer thread and drop what it prefetched."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stacked(batches: Iterator[Batch], k: int) -> Iterator[Batch]:
    """Group `k` consecutive batches into one with a leading axis of `k` (k=1: unchanged)."""
    if k == 1:
        yield from batches
        return
    while True:
        group = [b for _, b in zip(range(k), batches, strict=False)]
        if len(group) < k:
            return
        yield {key: np.stack([b[key] for b in group]) for key in group[0]}


def device_batches(
    source: Any,
    start_step: int,
    batch_size: int,
    seed: int,
    steps_per_dispatch: int,
    place: Callable[[Batch], Any],
    prefetch: int,
) -> Prefetcher:
    """The train loop's input: from step `start_step` on, `steps_per_dispatch` batches per item,
    each put on the devices by `place`, with up to `prefetch` items ready ahead of time."""
    host = stacked(source.iterate(start_step, batch_size, seed), steps_per_dispatch)
    return Prefetcher(map(place, host), prefetch)
