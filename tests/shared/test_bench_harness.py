"""`make bench` at a tiny size: the harness runs every registered module and writes rows of the
documented shape. Figures are never asserted (benchmarks are not timed tests)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.run import main_async, modules, parser, table
from tests.conftest import Infra


async def test_the_bench_harness_writes_rows_of_the_documented_shape(
    infra: Infra, nats_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "latest.json"
    args = parser().parse_args(
        [
            "--scale", "0.005", "--repeat", "1", "--output", str(output),
            "--database-url", infra.admin_url, "--nats-url", nats_url, "--only", "messaging",
        ]
    )  # fmt: skip
    rows = await main_async(args)

    written = json.loads(output.read_text())
    assert isinstance(written, list)
    assert [row["name"] for row in written] == [row.name for row in rows]
    assert len({row["name"] for row in written}) == len(written)  # names are unique
    assert "messaging" in [topic for topic, _ in modules()]
    for row in written:
        assert set(row) in (
            {"name", "value", "unit"},
            {"name", "value", "unit", "reference", "ratio"},
        )
        assert isinstance(row["name"], str)
        assert isinstance(row["unit"], str)
        assert row["value"] > 0
        if "reference" in row:
            assert row["reference"] > 0
            assert abs(row["ratio"] - row["value"] / row["reference"]) < 0.01 * row["ratio"] + 1e-3
    with_reference = [row["name"] for row in written if "reference" in row]
    assert "consumer batch handler (inbox, commit, ack)" in with_reference
    assert "outbox relay (claim, publish_async, mark)" in with_reference
    printed = table(rows)
    assert all(row.name in printed for row in rows)
