"""Synthetic clinics with known ground truth, for the demo, tests and benchmarks.

:func:`simulate_clinic` draws therapists, clients and session-by-session alliance (bond,
goal, task), ruptures and repairs, adherence, symptoms and dropout from a documented
generative model (:class:`SimulationConfig`), and returns the item responses and scores a
clinic would record together with the latent truth behind them (:class:`SimulatedClinic`).
:func:`write_clinic` writes it all to a folder. See ``docs/simulator.md``.
"""

from bordin.simulate._clinic import SimulatedClinic, simulate_clinic
from bordin.simulate._config import SimulationConfig
from bordin.simulate._write import CLINIC_FILES, write_clinic

__all__ = [
    "CLINIC_FILES",
    "SimulatedClinic",
    "SimulationConfig",
    "simulate_clinic",
    "write_clinic",
]
