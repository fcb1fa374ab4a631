"""The tables a sweep writes: their columns, SQL-friendly names, units, descriptions and metadata.

A results folder holds three tables, each one Parquet file per chunk under its own folder
(`TABLES`): ``runs`` (one row per run), ``firms`` (one row per run and firm: the canonical form of
the firm measures) and ``series`` (one row per run, quarter and firm). Column names are plain SQL
identifiers (`column_name`): a parameter ``firms.OpenAI-like.rivalry`` becomes
``firms__OpenAI_like__rivalry``, so DuckDB, polars and pandas read them without quoting. The
runs table also carries each firm measure as ``FIRM__MEASURE`` columns (the wide form, handy in
pandas). "Never" (a pivot that did not happen) and "no error" are nulls.

Every file carries the sweep's provenance and each column's unit and description in its
Parquet schema metadata (`schema_metadata`, read back by `read_metadata`), so a file copied
out of its folder still says what made it and what its numbers mean.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from sim.params import Drivers, Environment, FirmTraits, ParameterError
from sim.variables import FIRM_MEASURES, FIRM_VARIABLES, MARKET_VARIABLES, RUN_MEASURES

TABLES = ("runs", "firms", "series")
GLOBS = {table: f"{table}/*.parquet" for table in TABLES}
"""One glob per table, relative to the results folder (what DuckDB, polars and pandas are given)."""
METADATA_KEY = b"aisim"
"""The schema-metadata key holding the sweep's provenance and the columns' units and descriptions."""

KEY_COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "Run number within the sweep (0, 1, ...); joins the tables"),
    "set_id": ("id", "Parameter-set number: runs with the same set_id differ only in their seed"),
    "seed": ("seed", "The run's random seed"),
    "status": ("text", "'ok', or 'failed' (invalid parameters, or NaN or infinity in the model state)"),
    "error": ("text", "Why the run failed; null when it did not"),
    "firm": ("name", "The firm's name, as in the scenario"),
    "policy": ("name", "How the firm decided in this run (sim/policies.py; biased: the model's own rule)"),
    "step": ("quarter", "Quarter of the run (0 is the first)"),
}

TEXT_COLUMNS = ("status", "error", "firm", "policy")
"""Always stored as strings: a chunk whose runs all succeeded has only nulls in ``error``, and every
chunk's file must have the same schema (polars refuses to read a glob whose types differ)."""
KEY_COLUMNS_OF_RUNS = ("run_id", "set_id", "seed", "status", "error")
"""The runs table's own columns: the first three before the parameters, the other two after."""

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def column_name(name: str) -> str:
    """The SQL-friendly column name of a parameter (``firms.*.rivalry`` -> ``firms__all__rivalry``)
    or of a firm measure's wide column (``("OpenAI-like", "final_share")`` joined with ``.``)."""
    parts = ["all" if part == "*" else _NOT_IDENTIFIER.sub("_", part) for part in name.split(".")]
    text = "__".join(parts)
    return f"_{text}" if text[:1].isdigit() else text


def firm_column(firm: str, measure: str) -> str:
    """The runs table's wide column of a firm measure: ``OpenAI-like``, ``final_share`` ->
    ``OpenAI_like__final_share``."""
    return column_name(f"{firm}.{measure}")


def check_unique(names: dict[str, str], source: str) -> None:
    """Refuse two names that would share a column (``firms.A-b.x`` and ``firms.A_b.x``)."""
    seen: dict[str, str] = {}
    for name, column in names.items():
        if column in seen and seen[column] != name:
            raise ParameterError(
                f"{source}: '{seen[column]}' and '{name}' would both be column '{column}' in the results; "
                "rename one of them (column names keep letters, digits and '_'; other characters become '_')"
            )
        seen[column] = name


def parameter_info(name: str) -> tuple[str, str]:
    """(unit, description) of a parameter name as `sim.scenarios.apply_overrides` takes it."""
    field = name.rsplit(".", 1)[-1]
    for model in (Environment, Drivers, FirmTraits):
        if name.startswith(("firms.",)) and model is not FirmTraits:
            continue
        info = model.model_fields.get(field)
        if info is not None:
            unit = (info.json_schema_extra or {}).get("unit", "")
            return str(unit), f"Parameter {name}: {info.description}"
    return "", f"Parameter {name}"


def column_info(table: str, columns: list[str], parameters: dict[str, str], firms: list[str]) -> dict[str, dict]:
    """``{column: {"unit", "description"}}`` for a table's columns; ``parameters`` maps column names
    back to parameter names, ``firms`` lists the firms (for the runs table's wide columns)."""
    wide = {firm_column(f, m): (f, m) for f in firms for m in FIRM_MEASURES}
    info = {}
    for column in columns:
        if column in KEY_COLUMNS:
            unit, text = KEY_COLUMNS[column]
        elif column in parameters:
            unit, text = parameter_info(parameters[column])
        elif table == "runs" and column in RUN_MEASURES:
            unit, text = RUN_MEASURES[column]
        elif table == "runs" and column in wide:
            firm, measure = wide[column]
            unit, text = FIRM_MEASURES[measure][0], f"{firm}: {FIRM_MEASURES[measure][1]}"
        elif table == "firms" and column in FIRM_MEASURES:
            unit, text = FIRM_MEASURES[column]
        elif column in FIRM_VARIABLES or column in MARKET_VARIABLES:
            unit, text = FIRM_VARIABLES.get(column) or MARKET_VARIABLES[column]
            if column in MARKET_VARIABLES:
                text += " (a market variable: the same on every firm's row)"
        else:
            unit, text = "", ""
        info[column] = {"unit": unit, "description": text}
    return info


def table_columns(
    parameters: list[str], measures: list[str], firm_measures: list[str], series: list[str], firms: list[str]
) -> dict[str, list[str]]:
    """The columns of each table a sweep writes, in order, by table name (tables it does not write
    are left out); ``parameters`` are the parameter names as the spec gives them."""
    columns = {
        "runs": [
            *KEY_COLUMNS_OF_RUNS[:3],
            *map(column_name, parameters),
            *KEY_COLUMNS_OF_RUNS[3:],
            *measures,
            *(firm_column(f, m) for m in firm_measures for f in firms),
        ]
    }
    if firm_measures:
        columns["firms"] = ["run_id", "firm", "policy", *firm_measures]
    if series:
        columns["series"] = ["run_id", "step", "firm", *series]
    return columns


@dataclass
class Layout:
    """What a sweep's files say about themselves: the parameters behind its columns, its firms and
    its provenance (the manifest's identity, the sweep's name and its base scenario)."""

    parameters: list[str]
    firms: list[str]
    provenance: dict = field(default_factory=dict)

    def columns_info(self, table: str, columns: list[str]) -> dict[str, dict]:
        return column_info(table, columns, {column_name(p): p for p in self.parameters}, self.firms)

    def arrow(self, table: str, frame: pd.DataFrame) -> pa.Table:
        """``frame`` as an Arrow table carrying its metadata (`to_arrow`)."""
        return to_arrow(frame, self.columns_info(table, list(frame.columns)), {**self.provenance, "table": table})


def firms_table(runs: pd.DataFrame, firms: list[str], measures: list[str], policies: list[list[str]]) -> pd.DataFrame:
    """The firm measures of a runs table in long form: one row per run and firm (firms in scenario
    order), ``run_id``, ``firm``, its ``policy`` in that run (``policies``: one list per run) and one
    column per measure."""
    count = len(runs)
    table = pd.DataFrame(
        {
            "run_id": runs.run_id.to_numpy().repeat(len(firms)),
            "firm": pd.array(firms * count, dtype=object),
            "policy": pd.array([name for run in policies for name in run], dtype=object),
        }
    )
    for measure in measures:
        columns = [firm_column(f, measure) for f in firms]
        table[measure] = runs[columns].to_numpy(dtype=float).reshape(-1) if count else []
    return table


def to_arrow(frame: pd.DataFrame, info: dict[str, dict], provenance: dict) -> pa.Table:
    """A table with the sweep's provenance in its schema metadata and each column's unit and
    description in the column's own metadata (no timestamps: the same runs give the same bytes)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(
            field.name,
            pa.string() if field.name in TEXT_COLUMNS else field.type,
            metadata={"unit": info[field.name]["unit"], "description": info[field.name]["description"]},
        )
        for field in table.schema
    ]
    document = {**provenance, "columns": info}
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(document, sort_keys=True).encode()}
    return table.cast(pa.schema(fields, metadata=metadata))


def read_metadata(path) -> dict:
    """The provenance and column information a results file carries (`to_arrow`)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in metadata:
        raise ParameterError(f"{path}: carries no aisim metadata (written by another tool, or by an older aisim)")
    return json.loads(metadata[METADATA_KEY])
