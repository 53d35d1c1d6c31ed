"""Synthetic clinics with known ground truth, for the demo, tests and benchmarks.

:func:`simulate_clinic` draws therapists, clients and session-by-session alliance (bond,
goal, task), ruptures and repairs, adherence, symptoms and dropout from a documented
generative model (:class:`SimulationConfig`), and returns the item responses and scores a
clinic would record together with the latent truth behind them (:class:`SimulatedClinic`).
:func:`simulate_therapist_ratings` adds the therapist's session check with known agreement
and known one-sided ruptures. :func:`write_clinic` writes it all to a folder. See
``docs/simulator.md``.
"""

from bordin.simulate._clinic import SimulatedClinic, simulate_clinic
from bordin.simulate._config import SimulationConfig
from bordin.simulate._therapist import (
    SimulatedTherapistRatings,
    TherapistRatingConfig,
    simulate_therapist_ratings,
)
from bordin.simulate._write import CLINIC_FILES, write_clinic

__all__ = [
    "CLINIC_FILES",
    "SimulatedClinic",
    "SimulatedTherapistRatings",
    "SimulationConfig",
    "TherapistRatingConfig",
    "simulate_clinic",
    "simulate_therapist_ratings",
    "write_clinic",
]
