"""prodtel.jsonread: json.loads without importing json, for the consent file at start-up."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodtel import jsonread

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values, st.sampled_from(["", " ", "\n", "\t\r\n  "]), st.booleans())
def test_parses_like_json(value: object, pad: str, ascii_only: bool) -> None:
    raw = (pad + json.dumps(value, ensure_ascii=ascii_only, indent=2) + pad).encode()
    assert jsonread.loads(raw) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"a": 1} x', b"{'a': 1}", b'{"a": 1,}', b"\xff\xfe{}", b'"\x01"', b"[1] [2]"],
)
def test_bad_input_raises_what_json_raises(raw: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        jsonread.loads(raw)
    with pytest.raises(ValueError) as theirs:
        json.loads(raw)
    assert str(ours.value) == str(theirs.value)


def test_other_encodings_and_constants_go_the_json_way() -> None:
    assert jsonread.loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert jsonread.loads(b'\xef\xbb\xbf{"level": "off"}') == {"level": "off"}
    assert math.isinf(jsonread.loads(b"[-Infinity]")[0])


def test_reading_the_consent_file_does_not_import_json_or_re(tmp_path: object) -> None:
    code = (
        "import sys; from prodtel import jsonread; "
        'assert jsonread.loads(b\'{"level": "off", "n": [1, 2.5]}\') '
        "== {'level': 'off', 'n': [1, 2.5]}; "
        "print(sorted(m for m in ('json', 're') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
