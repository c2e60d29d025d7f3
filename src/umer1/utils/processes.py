"""Which process this is among those accelerate launched (one process when there is no state)."""
from __future__ import annotations


class ProcessView:
    """Mixed into a class with a `state` attribute (accelerate's PartialState, or None)."""
    state = None

    @property
    def world(self) -> int:
        return self.state.num_processes if self.state is not None else 1

    @property
    def rank(self) -> int:
        return self.state.process_index if self.state is not None else 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            self.state.wait_for_everyone()
