"""The fast YAML subset reader agrees with PyYAML, and hands anything else to it."""

from pathlib import Path

import pytest
import yaml

from keepwell.dependencies.readers import _yaml
from keepwell.dependencies.readers._common import load_yaml
from keepwell.dependencies.types import ReadError

FIXTURES = Path(__file__).parent / "fixtures"
YAML_FILES = sorted(
    [*FIXTURES.glob("pnpm/*/pnpm-lock.yaml"), *FIXTURES.glob("pnpm/*/pnpm-workspace.yaml"),
     *FIXTURES.glob("yarn/berry*/yarn.lock"), *FIXTURES.glob("yarn/berry*/.yarnrc.yml")]
)  # fmt: skip


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_the_fast_reader_gives_what_pyyaml_gives_for_real_lockfiles(path):
    text = path.read_text()
    fast = _yaml.load(text)
    assert fast is not None, "the writer's output should be in the fast subset"
    assert fast == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "a:\n  b: 'it''s'\n  c: \"q\\\"x\"\n  d: {x: 1, 'y': [p, q]}\n  e: []\n  f:\n",
            {"a": {"b": "it's", "c": 'q"x', "d": {"x": 1, "y": ["p", "q"]}, "e": [], "f": None}},
        ),
        (
            "list:\n  - one\n  - 'two'\nflag: true\nnone: ~\n",
            {"list": ["one", "two"], "flag": True, "none": None},
        ),
        ("key: >-\n  folded\n  text\n", {"key": "folded text"}),  # not in the subset: PyYAML reads it
        ("version: 1.5\n", {"version": 1.5}),  # floats too
    ],
)
def test_load_yaml_reads_the_subset_and_falls_back_for_the_rest(text, expected):
    assert load_yaml(text, "x.yaml") == expected


def test_errors_outside_the_subset_still_name_the_line():
    with pytest.raises(ReadError) as error:
        load_yaml("a: 1\nb: [unclosed\nc: 2\n", "x.yaml")
    assert error.value.file == "x.yaml" and error.value.line in (2, 3, 4)
