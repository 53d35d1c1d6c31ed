"""The clinic norms as the pages show them: which snapshot, fitted when and on what, and
where each of its quantities comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bordin.storage.models import NormsSnapshot

if TYPE_CHECKING:
    from bordin.feedback import ClinicNorms

__all__ = ["clinic_norms_context", "snapshot_facts"]


def snapshot_facts(snapshot: NormsSnapshot, norms: ClinicNorms | None = None) -> dict[str, Any]:
    """A stored snapshot's id, version, source, fitting time and the clients and sessions
    it was fitted on (``norms``: the snapshot's norms, when the caller has them parsed)."""
    from bordin.storage.actions._feedback import snapshot_norms

    norms = norms if norms is not None else snapshot_norms(snapshot)
    return {
        "id": snapshot.id,
        "version": snapshot.version,
        "source": snapshot.source,
        "fitted_at": snapshot.created_at,
        "clients": norms.fitted_on.n_clients,
        "sessions": norms.fitted_on.n_sessions,
    }


def _quantity_label(name: str) -> str:
    """What a quantity of :meth:`bordin.feedback.ClinicNorms.describe` is, in words."""
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument

    for prefix, what in (
        ("within_sd_", "Within-client SD"),
        ("rupture_model_", "Rupture detector"),
    ):
        if name.startswith(prefix):
            return f"{what} ({name.removeprefix(prefix)})"
    if name.startswith("curve_"):
        instrument = name.removeprefix("curve_")
        try:
            shown = get_instrument(instrument).short_name
        except InstrumentError:
            shown = instrument
        return f"Expected recovery curve ({shown})"
    if name == "early_reference":
        return "Early-alliance reference"
    return name


#: Why a snapshot was fitted (``NormsSnapshot.reason``), in words.
_WHY = {
    "first": "with the clinic's first rated session",
    "new instrument": "when a session brought an instrument the norms did not know",
    "rupture model": "to add the rupture detector's model",
    "sessions": "after enough new sessions",
    "schedule": "on the schedule",
    "import": "after an import",
    "on demand": "at an administrator's request",
}
_KINDS = ("within_sd_", "curve_", "rupture_model_", "early_reference")


def _quantity_order(item: tuple[str, Any]) -> tuple[int, int, str]:
    """Quantities by kind (as :meth:`~bordin.feedback.ClinicNorms.describe` lists them),
    the total before its subscales."""
    from bordin.feedback.norms import MODELLED_SCALES

    name = item[0]
    kind = next((i for i, k in enumerate(_KINDS) if name.startswith(k)), len(_KINDS))
    scale = name.rsplit("_", 1)[-1]
    order = MODELLED_SCALES.index(scale) if scale in MODELLED_SCALES else len(MODELLED_SCALES)
    return kind, order, name


def clinic_norms_context(db: Session, clinic_id: int) -> dict[str, Any] | None:
    """The clinic's current norms snapshot as the clinic and admin pages show it: when and
    on what it was fitted, and where each quantity comes from (the core's own description,
    :meth:`bordin.feedback.ClinicNorms.describe`, as ``bordin norms show`` prints it).
    None before the clinic's first snapshot."""
    from bordin.storage.actions._feedback import current_snapshot, snapshot_norms

    snapshot = current_snapshot(db, clinic_id)
    if snapshot is None:
        return None
    norms = snapshot_norms(snapshot)
    return {
        **snapshot_facts(snapshot, norms),
        "reason": snapshot.reason,
        "why": _WHY.get(snapshot.reason, snapshot.reason),
        "quantities": [
            {"name": name, "label": _quantity_label(name), **said}
            for name, said in sorted(norms.describe().items(), key=_quantity_order)
        ],
    }
