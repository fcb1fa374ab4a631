"""The tables a sweep writes: names SQL can use unquoted, one glob per table that DuckDB and
polars read, the long firm table equal to the wide columns, nulls for "never" and "no error",
and provenance and column metadata that round-trip through Parquet."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from sim.params import ParameterError
from sim.sweeps import load_results, run_sweep
from sim.tables import GLOBS, TABLES, column_name, firm_column, read_metadata

SPEC = {
    "name": "tables",
    "scenario": "baseline",
    "steps": 16,
    "parameters": {
        "environment.llm_anchor_quality": {"values": [1.0, 1.9]},  # 1.9 with ceiling 1.5 fails
        "environment.llm_ceiling": {"values": [1.5, 3.0]},
        "firms.Meta-like.rivalry": {"values": [0.5]},
        "firms.*.openness": {"values": [0.2]},
    },
    "replicates": {"count": 3},
    "outputs": {
        "measures": ["big_muddy_spend", "first_pivot_step"],
        "firm_measures": ["final_share", "pivot_step"],
        "series": ["x", "hhi"],
        "chunk_size": 3,  # one parameter set per chunk: the failed set's chunk holds failed runs only
    },
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("tables") / "out"
    run_sweep(SPEC, out)
    return out


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("environment.llm_ceiling", "environment__llm_ceiling"),
        ("llm_ceiling", "llm_ceiling"),
        ("firms.OpenAI-like.rivalry", "firms__OpenAI_like__rivalry"),
        ("firms.*.rivalry", "firms__all__rivalry"),
        ("firms.0.rivalry", "firms__0__rivalry"),
        ("3M.final_share", "_3M__final_share"),
        ("firms.Big Co (EU).rivalry", "firms__Big_Co__EU___rivalry"),
    ],
)
def test_column_names_are_plain_identifiers(name, column):
    assert column_name(name) == column
    assert column.isidentifier()


def test_firm_column():
    assert firm_column("OpenAI-like", "final_share") == "OpenAI_like__final_share"


def test_two_parameters_that_would_share_a_column_are_refused(tmp_path):
    scenario = tmp_path / "twins.toml"
    scenario.write_text('extends = "baseline"\n[[firms]]\nname = "Meta_like"\n')
    spec = {
        "scenario": str(scenario),
        "parameters": {"firms.Meta-like.rivalry": {"values": [0.5]}, "firms.Meta_like.rivalry": {"values": [1.0]}},
    }
    with pytest.raises(ParameterError, match=r"'firms.Meta-like.rivalry' and 'firms.Meta_like.rivalry' would both"):
        run_sweep(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_every_documented_glob_reads_in_duckdb_and_polars(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {table: info["glob"] for table, info in manifest["tables"].items()} == GLOBS
    expected = {"runs": (12, 12), "firms": (12 * 5, 12), "series": (9 * 16 * 5, 9)}  # failed runs have no series
    for table in TABLES:
        path = str(folder / GLOBS[table])
        counted = duckdb.sql(f"select count(*), count(distinct run_id) from '{path}'").fetchall()[0]
        assert counted == expected[table], table
        frame = pl.read_parquet(path)
        assert frame.height == expected[table][0]
        assert list(frame.columns) == list(manifest["tables"][table]["columns"]), table
    # SQL without quoting any name
    rows = duckdb.sql(
        f"select r.environment__llm_ceiling, f.firm, avg(f.final_share) from '{folder / GLOBS['runs']}' r "
        f"join '{folder / GLOBS['firms']}' f using (run_id) "
        "where r.status = 'ok' and r.firms__Meta_like__rivalry = 0.5 group by all"
    ).fetchall()
    assert len(rows) == 2 * 5  # the anchor-1.9/ceiling-1.5 set failed: 3 sets ran, over 2 ceilings, 5 firms


def test_firm_table_is_the_wide_columns_in_long_form(folder):
    runs, firms = load_results(folder), load_results(folder, "firms")
    names = list(dict.fromkeys(firms.firm))
    assert names == ["OpenAI-like", "Google-like", "Meta-like", "Microsoft-like", "Amazon-like"]
    for measure in ("final_share", "pivot_step"):
        wide = runs[[firm_column(f, measure) for f in names]].to_numpy()
        np.testing.assert_array_equal(firms[measure].to_numpy().reshape(len(runs), len(names)), wide)


def test_never_and_no_error_are_nulls(folder):
    runs = pq.read_table(folder / "runs").to_pandas()
    ok, failed = runs[runs.status == "ok"], runs[runs.status == "failed"]
    assert len(failed) == 3 and failed.error.str.contains("llm_anchor_quality").all()
    assert ok.error.isna().all()
    assert duckdb.sql(f"select count(*) from '{folder / GLOBS['runs']}' where error = ''").fetchall()[0] == (0,)
    firms = pq.read_table(folder / "firms")
    never = firms.column("pivot_step")
    assert never.null_count > 0  # firms that never pivot
    assert not np.isnan(never.drop_null().to_numpy()).any()  # stored as null, never as a NaN value


def test_every_file_has_the_same_schema_failed_runs_or_not(folder):
    schemas = {pq.read_schema(path).remove_metadata() for path in (folder / "runs").glob("*.parquet")}
    assert len(schemas) == 1


def test_metadata_round_trips(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    for table in TABLES:
        for path in sorted((folder / table).glob("*.parquet")):
            metadata = read_metadata(path)
            assert metadata["table"] == table and metadata["sweep"] == "tables"
            assert metadata["base_scenario"] == "baseline"
            for key in ("spec_hash", "base_scenario_hash", "code_hash", "aisim_version", "numpy_version"):
                assert metadata[key] == manifest[key], key
            assert metadata["columns"] == manifest["tables"][table]["columns"]
            schema = pq.read_schema(path)
            for field in schema:
                described = metadata["columns"][field.name]
                assert described["description"], f"{table}.{field.name} has no description"
                assert field.metadata[b"description"].decode() == described["description"]
                assert field.metadata[b"unit"].decode() == described["unit"]
    columns = manifest["tables"]["runs"]["columns"]
    assert columns["firms__Meta_like__rivalry"]["description"].startswith("Parameter firms.Meta-like.rivalry:")
    described = {"unit": "share", "description": "Meta-like: Market share in the last quarter"}
    assert columns["Meta_like__final_share"] == described
    assert manifest["tables"]["series"]["columns"]["hhi"]["unit"] == "0-10000"


def test_manifest_holds_the_resolved_base_scenario_and_versions(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["base_scenario"]["name"] == "baseline"
    assert [f["name"] for f in manifest["base_scenario"]["data"]["firms"]][:2] == ["OpenAI-like", "Google-like"]
    for package in ("python", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "mesa"):
        assert manifest[f"{package}_version"], package


def test_a_parquet_file_without_aisim_metadata_is_named(tmp_path):
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(ParameterError, match=r"plain\.parquet: carries no aisim metadata"):
        read_metadata(path)


def test_load_results_names_the_valid_tables(folder):
    with pytest.raises(ParameterError, match="valid: runs, firms, series"):
        load_results(folder, "run")


def test_a_chunk_of_failed_runs_only_verifies_on_resume(folder):
    """Its runs never ran, so it has no series file; resume must not take that for damage."""
    report = run_sweep(SPEC, folder, resume=True)
    assert (report.chunks_run, report.redone) == (0, [])


def test_error_is_none_in_memory_and_read_back(folder):
    runs = load_results(folder)
    assert runs.error.dtype == object
    assert all(error is None for error in runs[runs.status == "ok"].error)
    assert all(isinstance(error, str) for error in runs[runs.status == "failed"].error)


def test_a_chunk_of_runs_that_all_met_nan_verifies_on_resume(tmp_path, monkeypatch):
    """Runs that fail on NaN keep their series (unlike runs that never ran): resume must accept both."""
    import sim.ensemble

    real = sim.ensemble.nonfinite_runs
    monkeypatch.setattr(sim.ensemble, "nonfinite_runs", lambda state, names=None: real(state, names) | True)
    spec = {"scenario": "baseline", "steps": 4, "replicates": {"count": 2}, "outputs": {"series": ["x"]}}
    first = run_sweep(spec, tmp_path / "out")
    assert first.failed == 2 and (tmp_path / "out" / "series" / "chunk-000000.parquet").is_file()
    again = run_sweep(spec, tmp_path / "out", resume=True)
    assert (again.chunks_run, again.redone) == (0, [])


def test_the_firms_table_says_which_policy_each_firm_followed(tmp_path):
    spec = {
        "scenario": "baseline",
        "steps": 4,
        "parameters": {"firms.Meta-like.policy": {"values": ["biased", "thompson"]}},
        "replicates": {"count": 2},
    }
    run_sweep(spec, tmp_path / "out")
    firms = load_results(tmp_path / "out", "firms")
    meta = firms[firms.firm == "Meta-like"]
    assert list(meta.policy) == ["biased", "biased", "thompson", "thompson"]
    assert set(firms[firms.firm != "Meta-like"].policy) == {"biased"}
    assert read_metadata(next((tmp_path / "out" / "firms").glob("*.parquet")))["columns"]["policy"]["unit"] == "name"
