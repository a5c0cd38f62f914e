"""``neptune-sync ls / show / verify`` on real run directories, including a damaged segment."""

from __future__ import annotations

import functools

import neptune_sync as neptune
from neptune_sync import cli
from neptune_sync.oplog import framing, layout
from neptune_sync.oplog.reader import segment_files
from neptune_sync.oplog.writer import OpLogWriter


def make_run(custom_run_id: str = "cli-run", points: int = 100):
    run = neptune.init_run(project="w/cli", mode="offline", custom_run_id=custom_run_id, tags=["t1"])
    run["params/lr"] = 0.5
    for i in range(points):
        run["loss"].append(i / 10, step=i)
    run["model"].upload(neptune.File.from_content(b"weights", extension="pt"))
    run.stop()
    return run


def test_ls_lists_runs_with_ops_bytes_and_state(capsys):
    assert cli.main(["ls"]) == 0
    assert "no runs in" in capsys.readouterr().out
    run = make_run()
    assert cli.main(["ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["RUN", "ID", "PROJECT", "OPS", "BYTES"]
    row = lines[1].split()
    assert row[0] == run["sys/id"].fetch() and row[1] == "w/cli"
    assert int(row[2]) > 100  # 100 points + params + sys fields
    assert int(row[3]) > 0 and row[4] == "Inactive"


def test_show_prints_fields_by_run_id_or_custom_run_id(capsys):
    run = make_run()
    for name in ("cli-run", run["sys/id"].fetch(), run.run_path.name):
        assert cli.main(["show", name]) == 0
        out = capsys.readouterr().out
        assert "params/lr: float 0.5" in out
        assert "loss: floatSeries (100 points, last step 99: 9.9)" in out
        assert "model: file content.pt (7 bytes)" in out
        assert "sys/tags: stringSet ['t1']" in out
    assert cli.main(["show", "missing"]) == 2
    assert "no run 'missing'" in capsys.readouterr().err


def test_verify_reports_damage_with_offset_and_exit_code(capsys):
    run = make_run()
    make_run("other-run", points=5)
    assert cli.main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "2 run(s) checked, 0 damaged record(s)" in out and "ops, ok" in out

    (segment,) = segment_files(layout.segments_dir(run.run_path))
    data = bytearray(segment.read_bytes())
    _, start = framing.decode_segment_header(data)
    data[start + 8 + framing.PRELUDE.size + 2] ^= 0xFF  # a byte inside the first frame's body
    segment.write_bytes(bytes(data))

    assert cli.main(["verify", "cli-run"]) == 1
    out = capsys.readouterr().out
    assert f"offset {start}: checksum mismatch" in out
    assert "1 run(s) checked, 1 damaged record(s)" in out
    assert cli.main(["ls"]) == 0
    assert "(1 damaged)" in capsys.readouterr().out


def test_verify_ls_and_show_report_a_deleted_segment_with_its_seq_range_and_exit_1(capsys):
    small = functools.partial(OpLogWriter, segment_size=16 << 10)
    run = neptune.init_run(project="w/cli", mode="offline", custom_run_id="gap", writer_factory=small)
    for i in range(5000):
        run["loss"].append(i / 10, step=i)
    run.stop()
    segments = segment_files(layout.segments_dir(run.run_path))
    first_seqs = [framing.decode_segment_header(p.read_bytes())[0].first_seq for p in segments]
    segments[2].unlink()
    lost = first_seqs[3] - first_seqs[2]
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"seq {first_seqs[2]}..{first_seqs[3] - 1} lost ({lost} records)" in out
    assert "1 missing range(s)" in out
    assert cli.main(["ls"]) == 0
    assert "Inactive (1 damaged)" in capsys.readouterr().out
    assert cli.main(["show", "gap"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("INCOMPLETE:") and f"({lost} records)" in out
    assert f"loss: floatSeries ({5000 - lost} points" in out
