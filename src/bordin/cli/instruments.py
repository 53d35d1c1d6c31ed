"""``bordin instruments``: list the instrument library, and ``bordin instruments show ID``."""

from __future__ import annotations

import json
from typing import Any

import typer

__all__ = ["register"]

instruments_app = typer.Typer(
    name="instruments",
    help="List the instrument library, or show one instrument with `show ID`.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _short_licence(text: str) -> str:
    """The licence up to its first colon or semicolon (the full text is in `show`)."""
    for mark in (":", ";"):
        text = text.split(mark, 1)[0]
    return text.strip()


def _longest_word(texts: list[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


def _library_table(rows: list[dict[str, Any]], *, keep_words: bool) -> Any:
    """The library as a rich table. Words wrap at spaces; with ``keep_words`` the text
    columns share the width the short ones leave, none narrower than its longest word
    (rich's own shrinking folds "Questionnaire-45.2" at 80 columns). Without it (a
    terminal too narrow for that) the licence goes under the name, one column fewer."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    names = [r["name"] if r["validated"] else f"{r['name']} (not validated)" for r in rows]
    licences = [_short_licence(r["licence"]) for r in rows]
    scales = [", ".join(r["scales"]) for r in rows]
    table = Table(
        title="Instrument library",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
        expand=keep_words,
    )

    def text_column(header: str, texts: list[str], ratio: int) -> None:
        if keep_words:
            table.add_column(header, ratio=ratio, width=_longest_word(texts), overflow="fold")
        else:
            table.add_column(header, overflow="fold")

    table.add_column("id", no_wrap=True)
    text_column("name" if keep_words else "name, licence", names, 3)
    table.add_column("items", justify="right", no_wrap=True)
    text_column("scales", scales, 2)
    if keep_words:
        text_column("licence", licences, 3)
    table.add_column("wording shipped", width=7)
    for row, name, scale_list, licence in zip(rows, names, scales, licences, strict=True):
        cells = [row["id"], name, str(row["items"]), scale_list, licence]
        if not keep_words:
            cells = [row["id"], f"{escape(name)}\n[dim]{escape(licence)}[/dim]", *cells[2:4]]
        table.add_row(*cells, _yes_no(row["wording_shipped"]))
    return table


@instruments_app.callback()
def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every instrument: id, name, items, scales, licence, wording shipped."""
    if ctx.invoked_subcommand is not None:
        return
    from bordin.instruments import get_content_pack, list_instruments

    rows: list[dict[str, Any]] = []
    for d in list_instruments():
        rows.append(
            {
                "id": d.id,
                "name": d.name,
                "items": d.n_items,
                "scales": [s.name for s in d.scales],
                "licence": d.licence,
                "wording_shipped": get_content_pack(d.id) is not None,
                "validated": d.validated,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console

    console = Console()
    table = _library_table(rows, keep_words=True)
    table.expand = False  # measured at its natural minimum, then spread over the width
    needed = console.measure(table, options=console.options.update_width(1000)).minimum
    table.expand = True
    if needed > console.width:
        # too narrow for every word whole: rich shrinks the columns and folds long words
        table = _library_table(rows, keep_words=False)
    console.print(table)


def _describe(instrument_id: str, language: str) -> dict[str, Any]:
    from bordin.instruments import get_content_pack, get_instrument

    d = get_instrument(instrument_id)
    pack = get_content_pack(d.id, language)
    scales = []
    for s in d.scales:
        rc = s.reliable_change
        scales.append(
            {
                "name": s.name,
                "column": d.column(s.name),
                "label": s.label,
                "items": list(s.items),
                "method": s.method,
                "min_answered": s.min_answered,
                "prorate": s.prorate,
                "direction": s.direction,
                "cutoff": None if s.cutoff is None else s.cutoff.model_dump(),
                "reliable_change": None
                if rc is None
                else {**rc.model_dump(), "value": rc.value, "computed": rc.computed},
                "loinc": s.loinc,
                "note": s.note,
            }
        )
    items = []
    for item in d.items:
        entry: dict[str, Any] = {
            "number": item.number,
            "key": item.key,
            "min_value": item.min_value,
            "max_value": item.max_value,
            "step": item.step,
            "reverse": item.reverse,
            "required": item.required,
            "risk_from": item.risk_from,
            "asked_if": None if item.asked_if is None else item.asked_if.model_dump(),
            "loinc": item.loinc,
        }
        if pack is not None:
            entry["text"] = pack.item_text(item.number)
            entry["responses"] = [o.model_dump() for o in pack.labels(item.number)]
        items.append(entry)
    return {
        "id": d.id,
        "name": d.name,
        "short_name": d.short_name,
        "version": d.version,
        "description": d.description,
        "respondent": d.respondent,
        "timeframe": d.timeframe,
        "validated": d.validated,
        "citation": d.citation,
        "doi": d.doi,
        "licence": d.licence,
        "licence_url": d.licence_url,
        "wording_redistributable": d.wording_redistributable,
        "loinc": d.loinc,
        "risk_items": list(d.risk_items),
        "notes": list(d.notes),
        "language": language,
        "scales": scales,
        "items": items,
        "content_pack": None
        if pack is None
        else {
            "language": pack.language,
            "title": pack.title,
            "instructions": pack.instructions,
            "notice": pack.notice,
            "source": pack.source,
        },
    }


def _print_description(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{info['name']} ({info['short_name']}), version {info['version']}"
    console.print(f"[bold]{title}[/bold]  id: {info['id']}")
    if not info["validated"]:
        console.print("[bold red]Not psychometrically validated.[/bold red]")
    console.print(info["description"])
    console.print(f"Respondent: {info['respondent']}; timeframe: {info['timeframe']}")
    console.print(f"Citation: {info['citation']}" + (f" doi:{info['doi']}" if info["doi"] else ""))
    licence = info["licence"] + (f" <{info['licence_url']}>" if info["licence_url"] else "")
    console.print(f"Licence: {licence}")
    console.print(f"Wording redistributable: {_yes_no(info['wording_redistributable'])}")
    if info["loinc"]:
        console.print(f"LOINC panel: {info['loinc']}")

    scales = Table(title="Scales")
    for column in ("column", "items", "score", "missing rule", "direction", "cutoff", "RC"):
        scales.add_column(column, overflow="fold")
    sources = []
    for s in info["scales"]:
        k = len(s["items"])
        rule = f"at least {s['min_answered']} of {k}"
        if s["method"] == "sum" and s["min_answered"] < k:
            rule += ", prorated"
        cutoff = "-"
        if s["cutoff"] is not None:
            c = s["cutoff"]
            cutoff = f"{c['case_if']} {c['value']:g} ({c['label']})"
            if not c["validated"]:
                cutoff += " [project default]"
            sources.append(f"{s['column']} cutoff: {c['source']}")
        rc = "-"
        if s["reliable_change"] is not None:
            r = s["reliable_change"]
            rc = f"{r['value']:.3g}" + (" (computed)" if r["computed"] else "")
            sources.append(f"{s['column']} reliable change: {r['source']}")
        items = ", ".join(str(i) for i in s["items"])
        scales.add_row(
            s["column"], items, s["method"], rule, s["direction"].replace("_", " "), cutoff, rc
        )
    console.print(scales)
    for line in sources:
        console.print(f"  {line}")

    item_table = Table(title="Items")
    for column in ("#", "key", "range", "reverse", "notes", "wording"):
        item_table.add_column(column, overflow="fold")
    for it in info["items"]:
        notes = []
        if it["risk_from"] is not None:
            notes.append(f"risk item (>= {it['risk_from']:g})")
        if it["asked_if"] is not None:
            notes.append(
                f"asked if item {it['asked_if']['item']} >= {it['asked_if']['min_value']:g}"
            )
        if not it["required"]:
            notes.append("optional")
        rng = f"{it['min_value']:g}-{it['max_value']:g}"
        if it["step"] != 1:
            rng += f" by {it['step']:g}"
        item_table.add_row(
            str(it["number"]),
            it["key"],
            rng,
            "reverse" if it["reverse"] else "",
            "; ".join(notes),
            it.get("text", ""),
        )
    console.print(item_table)
    pack = info["content_pack"]
    if pack is not None:
        console.print(f"Instructions: {pack['instructions']}")
        sets: dict[str, list[str]] = {}
        for it in info["items"]:
            labels = "; ".join(f"{o['value']:g} = {o['label']}" for o in it["responses"])
            sets.setdefault(labels, []).append(str(it["number"]))
        for labels, numbers in sets.items():
            console.print(f"Responses (items {', '.join(numbers)}): {labels}")
        console.print(f"Notice: {pack['notice']}")
    elif info["wording_redistributable"]:
        console.print(f"No wording shipped in language {info['language']!r}.")
    else:
        console.print(
            "No wording shipped (licensed instrument): import your licensed wording as a "
            "content pack."
        )
    for note in info["notes"]:
        console.print(f"Note: {note}")


@instruments_app.command("show")
def show_command(
    instrument_id: str = typer.Argument(..., metavar="ID", help="Instrument id, e.g. phq9."),
    language: str = typer.Option("en", "--language", help="Language of the wording."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show one instrument: items, scales, cutoffs, reliable change, licence, wording."""
    info = _describe(instrument_id, language)
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    _print_description(info)


def register(app: typer.Typer) -> None:
    """Add ``bordin instruments`` (and ``bordin instruments show``) to the command line."""
    app.add_typer(instruments_app, name="instruments")
