"""Write pair_lagged.csv: a simulated clinic's pair frame for make_pair_lagged.R (seeded).

Run from the repository root: ``python tests/reference/r/make_pair_lagged_data.py``.
About 15% of the therapist checks are left out, so some sessions have the client's rating only.
"""

import numpy as np

from bordin.analytics.congruence import pair_session_frame
from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings

clinic = simulate_clinic(SimulationConfig(n_clients=50, clients_per_therapist=10), seed=31)
scores = simulate_therapist_ratings(clinic, seed=32).scores
rng = np.random.default_rng(33)
scores.loc[rng.random(len(scores)) < 0.15, "tsc_total"] = np.nan
frame = pair_session_frame(scores, outcome="phq9_total").rename(columns={"phq9_total": "outcome"})
frame.to_csv("tests/reference/data/lmertest/pair_lagged.csv", index=False, float_format="%.17g")
