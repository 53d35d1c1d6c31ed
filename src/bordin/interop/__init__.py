"""Interoperability: CSV files in the project's data contracts (DESIGN.md); FHIR R4 in
:mod:`bordin.interop.fhir` (imported on its own: it loads the FHIR models)."""

from bordin.interop.csv_files import (
    ENDINGS,
    read_csv_bytes,
    read_endings_bytes,
    read_endings_csv,
    read_responses_csv,
    read_scores_csv,
    write_scores_csv,
)
from bordin.interop.spreadsheet_safety import formula_safe_csv, neutralise_formulas

__all__ = [
    "ENDINGS",
    "formula_safe_csv",
    "neutralise_formulas",
    "read_csv_bytes",
    "read_endings_bytes",
    "read_endings_csv",
    "read_responses_csv",
    "read_scores_csv",
    "write_scores_csv",
]
