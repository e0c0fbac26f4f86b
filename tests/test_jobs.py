"""scimeta.jobs: a rule's script run in a worker process (or in the job's own process),
reading the ``snakemake`` object a ``script:`` directive would give it."""

from __future__ import annotations

import pickle

import pytest

from scimeta import jobs

SCRIPT = '''\
import logging
from pathlib import Path

log = logging.getLogger("scimeta.test")
if __name__ == "__main__":
    rows = [snakemake.input.sheet, *snakemake.input.parts, snakemake.params.word,
            str(snakemake.params.grid), snakemake.wildcards.outcome, snakemake.rule]
    if snakemake.params.word == "fail":
        raise ValueError("the job could not be done")
    Path(snakemake.output[0]).write_text("\\n".join(rows) + "\\n")
    log.info("wrote %s", snakemake.output.table)
'''


class Named(list):
    """The part of Snakemake's Namedlist that a run: block hands over."""

    def __init__(self, values, names):
        super().__init__(values)
        self.names = names

    def items(self):
        return self.names.items()


def _job(tmp_path, word):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out.txt"
    parts = ["p1.csv", "p2.csv"]
    return script, dict(
        name="demo",
        input=Named(["sheet.csv", *parts], {"sheet": "sheet.csv", "parts": Named(parts, {})}),
        output=Named([str(out)], {"table": str(out)}),
        params=Named([word, [0.2, 0.5]], {"word": word, "grid": [0.2, 0.5]}),
        log=Named([str(tmp_path / "job.log")], {}),
        wildcards=Named(["sci"], {"outcome": "sci"}))


@pytest.mark.parametrize("in_process", [True, False], ids=["own process", "worker pool"])
def test_a_script_reads_its_job_and_logs_to_its_log(tmp_path, in_process):
    script, job = _job(tmp_path, "hello")
    jobs.run(script, **job, workers=1, in_process=in_process)
    assert (tmp_path / "out.txt").read_text().split("\n")[:-1] == [
        "sheet.csv", "p1.csv", "p2.csv", "hello", "[0.2, 0.5]", "sci", "demo"]
    log = (tmp_path / "job.log").read_text()
    assert "INFO:scimeta.test:wrote " in log and "rule demo done in" in log


@pytest.mark.parametrize("in_process", [True, False], ids=["own process", "worker pool"])
def test_a_failing_script_raises_and_leaves_its_traceback_in_the_log(tmp_path, in_process):
    script, job = _job(tmp_path, "fail")
    with pytest.raises(ValueError, match="the job could not be done"):
        jobs.run(script, **job, workers=1, in_process=in_process)
    log = (tmp_path / "job.log").read_text()
    assert "rule demo failed" in log and "ValueError: the job could not be done" in log
    assert not (tmp_path / "out.txt").exists()
    # the worker that ran the failed job runs the next one, with a log of its own
    script, job = _job(tmp_path, "again")
    jobs.run(script, **job, workers=1, in_process=in_process)
    assert "failed" not in (tmp_path / "job.log").read_text()


def test_files_are_plain_picklable_lists_with_names():
    files = jobs.Files.of(Named(["a", "b", "c"], {"one": "a", "two": Named(["b", "c"], {})}))
    again = pickle.loads(pickle.dumps(files))
    assert list(again) == ["a", "b", "c"] and again.one == "a" and again["two"] == ["b", "c"]
    assert dict(again.items()) == {"one": "a", "two": ["b", "c"]}
    assert type(again.two) is list
    with pytest.raises(AttributeError):
        again.three
