"""The resolution schedule of progressive growing, in images shown (Karras et al. 2018, Sec. 3).

Training runs in phases of `phase_images` images each (the paper: 600k): phase 0 trains level
0 (4×4); then every new level L has a fade-in phase (phase 2L−1: α rises linearly from 0 to 1
as images are shown) and a stable phase (phase 2L, α = 1). After the last level's fade-in, the
last level trains stably until the run ends. A step's phase, level and α follow from the step
alone (step · batch_size images shown), so a resumed run continues exactly where it stopped,
inside a fade-in too.
"""

from __future__ import annotations

import dataclasses

from gan_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Phase:
    """What one step trains: `level` (4·2^level px) and, in a fade-in, the first step of the
    fade (`fade_start`; α = (step − fade_start) / phase_steps), else None (α = 1)."""

    level: int
    fade_start: int | None

    @property
    def resolution(self) -> int:
        return 4 * 2**self.level


@dataclasses.dataclass(frozen=True)
class Schedule:
    levels: int
    phase_steps: int

    @classmethod
    def from_images(cls, levels: int, phase_images: int, batch_size: int) -> Schedule:
        if phase_images <= 0 or phase_images % batch_size:
            raise ConfigError(
                f"config.progan.phase_images={phase_images} must be a positive multiple of "
                f"config.data.batch_size={batch_size}"
            )
        return cls(levels, phase_images // batch_size)

    def phase(self, step: int) -> Phase:
        """The phase of the step that starts with `step` steps done."""
        p = step // self.phase_steps
        level = min((p + 1) // 2, self.levels - 1)
        fading = p % 2 == 1 and p <= 2 * self.levels - 3
        return Phase(level, p * self.phase_steps if fading else None)

    def alpha(self, step: int) -> float:
        phase = self.phase(step)
        if phase.fade_start is None:
            return 1.0
        return (step - phase.fade_start) / self.phase_steps

    @property
    def grown_steps(self) -> int:
        """Steps until the last level's fade-in ends."""
        return (2 * self.levels - 2) * self.phase_steps
