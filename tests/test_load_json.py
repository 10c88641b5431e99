"""load_json reads with orjson and gives json's values and messages where
orjson refuses the text."""
import json
import math

import pytest

from mmvis_clip.structures.vis_format import (VISFormatError, load_json,
                                              loads_json_bytes)


@pytest.mark.parametrize(
    'text',
    [
        '{"a": [1, 2.5, -0.0, "x\\u00e9"], "b": null}',
        '[1e400, NaN]',  # json's extensions: orjson refuses them
        # beyond 64 bits: orjson would read floats
        '[123456789012345678901234567890, -9223372036854775809]',
        '{"a": 12345678901234567890}', '[12345678901234567890\n]',
        '12345678901234567890',
        # 19 digits and more inside strings (RLE counts), not numbers
        '{"counts": "0123456789012345678901:X", "n": 1}',
        '{"a": 1, "a": 2}',
    ])
def test_values_are_those_of_json(text):
    ours, theirs = loads_json_bytes(text.encode()), json.loads(text)
    assert repr(ours) == repr(theirs)


def test_digits_inside_strings_are_read_by_orjson(monkeypatch):
    import orjson

    from mmvis_clip.structures import vis_format
    calls = []
    monkeypatch.setattr(vis_format, 'orjson',
                        type('Spy', (), {
                            'loads': staticmethod(
                                lambda d: calls.append(d) or orjson.loads(d)),
                            'JSONDecodeError': orjson.JSONDecodeError
                        }))
    text = b'{"counts": "0123456789012345678901:X"}'
    assert loads_json_bytes(text) == json.loads(text)
    assert calls == [text]
    loads_json_bytes(b'[12345678901234567890]')  # json's, not orjson's
    assert calls == [text]


def test_nan_is_read_as_json_reads_it():
    assert math.isnan(loads_json_bytes(b'[NaN]')[0])


@pytest.mark.parametrize('data', [
    b'{"a": 1,\r\n "b": }',
    b'\xef\xbb\xbf[1]',
    b'[1, 2',
])
def test_malformed_message_is_that_of_a_text_json_load(tmp_path, data):
    path = tmp_path / 'x.json'
    path.write_bytes(data)
    with open(path, encoding='utf-8') as f:
        with pytest.raises(json.JSONDecodeError) as expected:
            json.load(f)
    with pytest.raises(VISFormatError) as err:
        load_json(path)
    assert str(err.value) == f'{path}: malformed JSON ({expected.value})'


def test_not_utf8_is_named(tmp_path):
    path = tmp_path / 'x.json'
    path.write_bytes(b'["\xff"]')
    with pytest.raises(VISFormatError, match='not a JSON text file'):
        load_json(path)
