"""results.csv / results.json: column order, typed round trip, failed rows, bad input."""

from __future__ import annotations

import csv
import json
import re

import pytest
from analysis_fixtures import make_rows

from nash.analysis import RESULT_COLUMNS, ResultsError, load_results, write_results


def test_round_trip_csv_and_json_give_equal_typed_rows(tmp_path):
    rows = make_rows()
    rows[0]["seed_extra"] = 7  # an extra column survives, after the contract columns
    csv_path, json_path = write_results(rows, tmp_path)
    header = next(csv.reader(csv_path.open()))
    assert header[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS) and header[-1] == "seed_extra"
    from_csv, from_json = load_results(csv_path), load_results(json_path)
    assert from_csv == from_json
    assert load_results(tmp_path) == from_json  # a directory reads results.json
    assert len(from_csv) == 20
    first = from_csv[0]
    assert first["top1"] == 52.1 and isinstance(first["top1"], float)
    assert first["params"] == 11_000_000 and isinstance(first["params"], int)
    assert first["fits_device"] is True and from_csv[3]["fits_device"] is False
    assert first["error"] == pytest.approx(47.9)
    assert first["genotype_path"] is None and first["seed_extra"] == 7
    failed = [r for r in from_csv if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["version"] == "v2" and failed[0]["bits"] == "w8a8"
    assert failed[0]["top1"] is None and failed[0]["fits_device"] is None
    assert "NaN" in failed[0]["error_message"]


def test_error_is_filled_from_top1_and_status_defaults_to_ok(tmp_path):
    device = {"name": "zcu104", "part": "xczu7ev", "lut": 230400}  # nash.hw writes the whole record
    write_results(
        [{"backbone": "resnet18", "version": "o", "bits": "w2a2", "top1": "61.5", "device": device}], tmp_path
    )
    (row,) = load_results(tmp_path / "results.csv")
    assert row["error"] == pytest.approx(38.5) and row["status"] == "ok" and row["lut"] is None
    assert row["device"] == "zcu104"


def test_bad_inputs_raise_one_line_results_errors(tmp_path):
    with pytest.raises(ResultsError, match="not found"):
        load_results(tmp_path / "nope.csv")
    with pytest.raises(ResultsError, match="no results.json or results.csv"):
        load_results(tmp_path)
    bad = tmp_path / "results.csv"
    bad.write_text("backbone,version,bits,top1\nresnet18,o,w1a1,high\n")
    with pytest.raises(ResultsError, match=r"row 1: column 'top1' holds 'high'"):
        load_results(bad)
    bad.write_text("version,bits\no,w1a1\n")
    with pytest.raises(ResultsError, match="lacks column 'backbone'"):
        load_results(bad)
    broken = tmp_path / "results.json"
    broken.write_text('[{"backbone": ')
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_results(broken)
    with pytest.raises(ResultsError, match="column 'bits' is empty"):
        write_results([{"backbone": "resnet18", "version": "o"}], tmp_path / "out")
    assert not (tmp_path / "out" / "results.csv").exists()


def test_write_is_atomic_and_keeps_previous_file_on_error(tmp_path):
    write_results(make_rows()[:2], tmp_path)
    before = (tmp_path / "results.json").read_text()
    with pytest.raises(ResultsError):
        write_results([{"backbone": "resnet18", "version": "o", "bits": "w1a1", "lut": "many"}], tmp_path)
    assert (tmp_path / "results.json").read_text() == before
    assert len(json.loads(before)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]


def test_torn_csv_rows_and_empty_status_are_refused(tmp_path):
    """Issue 15 item 6: a row cut short read as status ok (csv.DictReader fills the gap with None)."""
    head = "backbone,version,bits,top1,status,error_message\n"
    good = "resnet18,o,w2a2,80.0,ok,\n"
    bad = tmp_path / "results.csv"
    bad.write_text(head + good + "resnet18,v4,w2a2,7\n")  # cut short: 4 of 6 cells
    with pytest.raises(
        ResultsError, match=rf"{re.escape(str(bad))} line 3 has 4 cells, the header 6: .*torn"
    ):
        load_results(bad)
    bad.write_text(head + "resnet18,v4,w2a2,70.0,ok,,surplus\n" + good)  # a cell too many
    with pytest.raises(ResultsError, match=r"results.csv line 2 has 7 cells, the header 6"):
        load_results(bad)
    bad.write_text(head + good + "resnet18,v4,w2a2,70.0,,\n")  # every cell, but no status
    with pytest.raises(
        ResultsError, match=r"results.csv line 3: column 'status' is empty, expected ok or failed"
    ):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps([{"backbone": "resnet18", "version": "o", "bits": "w2a2",
                                                         "status": None}]))  # fmt: skip
    with pytest.raises(ResultsError, match=r"results.json row 1: column 'status' is empty"):
        load_results(tmp_path)
    # a hand-made table without a status column still reads as finished rows
    bad.write_text("backbone,version,bits,top1\nresnet18,o,w2a2,61.5\n")
    assert load_results(bad)[0]["status"] == "ok"
    err = ""
    try:
        load_results(tmp_path / "results.json")
    except ResultsError as exc:
        err = str(exc)
    assert len(err.splitlines()) == 1 and "nash run EXPERIMENT.yaml --out DIR" in err


def test_num_classes_column_is_typed_and_round_trips(tmp_path):
    rows = [{"backbone": "resnet18", "version": "o", "bits": "w2a2", "top1": 9.0, "num_classes": "100"}]
    write_results(rows, tmp_path)
    from_csv, from_json = load_results(tmp_path / "results.csv"), load_results(tmp_path / "results.json")
    assert from_csv == from_json and from_csv[0]["num_classes"] == 100
    assert next(csv.reader((tmp_path / "results.csv").open()))[: len(RESULT_COLUMNS)][-1] == "num_classes"
