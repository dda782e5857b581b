"""An in-process submission packs its arguments exactly as globus-compute-sdk does."""

from __future__ import annotations

import fractions

import pytest
from globus_compute_sdk.serialize import ComputeSerializer, JSONData

from gladier_jupyter.local.compute import arguments
from gladier_jupyter.local.compute.arguments import pack_arguments

SDK = ComputeSerializer()


def _sdk_packed(args, kwargs) -> str:
    return SDK.pack_buffers([SDK.serialize(args), SDK.serialize(kwargs)])


shared = [1, 2]
looped: list = []
looped.append(looped)

CASES = {
    "no arguments": ((), {}),
    "a flow's kwargs": ((), {"input_path": "/data/scan 7/é中文.h5", "count": 3, "ok": True,
                              "ratio": 0.1, "nothing": None, "nested": {"l": [1, [2, {}]]}}),
    "positional and keyword": ((1, "two", 3.0), {"k": (4, 5)}),
    "numbers at the edges": ((2**80, -(2**70), float("inf"), -0.0, 1e-320), {}),
    "control characters and escapes": (("\n\t\x00\x1f\u2028\\\"'",), {"\x7f": "é" * 70}),
    "many items (pickle's batches)": ((list(range(2500)),), {str(i): i for i in range(1200)}),
    "a string used twice (pickle's memo)": ((), {"a": ["same"] * 3}),
    # the SDK's own serializer: not builtin data, a shared container, a cycle
    "a Fraction": ((fractions.Fraction(1, 3),), {}),
    "bytes": ((b"raw",), {}),
    "a bytearray": ((bytearray(b"x"),), {}),
    "a set": (({1, 2},), {}),
    "a shared list": ((shared, shared), {}),
    "a list that holds itself": ((looped,), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_packed_arguments_are_the_sdks_to_the_byte(name):
    args, kwargs = CASES[name]
    packed = pack_arguments(SDK, args, kwargs)
    assert packed == _sdk_packed(args, kwargs)


@pytest.mark.parametrize("name", ["a flow's kwargs", "many items (pickle's batches)"])
def test_the_worker_reads_back_what_was_sent(name):
    args, kwargs = CASES[name]
    buffers = SDK.unpack_buffers(pack_arguments(SDK, args, kwargs))
    assert [SDK.deserialize(b) for b in buffers] == [args, kwargs]


def test_builtin_data_is_packed_by_the_c_pickler_not_by_dill(monkeypatch):
    # the fast path is taken for a flow's arguments (dill is never called for them); any
    # other value still goes through dill
    import dill

    args, kwargs = CASES["a flow's kwargs"]
    expected = _sdk_packed(args, kwargs)

    def no_dill(*_args, **_kwargs):
        raise AssertionError("dill.dumps was called")

    monkeypatch.setattr(dill, "dumps", no_dill)
    assert pack_arguments(SDK, args, kwargs) == expected
    with pytest.raises(Exception, match="serialization strategy DillDataBase64 failed"):
        pack_arguments(SDK, (fractions.Fraction(1, 2),), {})


def test_a_serializer_with_another_data_strategy_is_used_as_it_is():
    json_serializer = ComputeSerializer(strategy_data=JSONData())
    packed = pack_arguments(json_serializer, (1,), {"a": [2]})
    assert packed == json_serializer.pack_buffers(
        [json_serializer.serialize((1,)), json_serializer.serialize({"a": [2]})]
    )
    assert "11\n" in packed  # JSONData's identifier, not dill's


def test_a_huge_argument_is_left_to_the_sdk_after_a_bounded_look(monkeypatch):
    monkeypatch.setattr(arguments, "_MOST_VALUES", 50)
    args = (list(range(100)),)
    assert not arguments._plain((args, {}))
    assert pack_arguments(SDK, args, {}) == _sdk_packed(args, {})


def test_a_deeply_nested_argument_ends_as_it_does_with_the_sdk():
    # the check walks without recursion; the pickling then fails (too deep) the way the
    # SDK's own does, with its SerializationError
    deep: list = []
    node = deep
    for _ in range(50_000):
        node.append([])
        node = node[0]
    assert arguments._plain(((deep,), {}))
    with pytest.raises(Exception) as ours:
        pack_arguments(SDK, (deep,), {})
    with pytest.raises(Exception) as sdks:
        _sdk_packed((deep,), {})
    assert type(ours.value) is type(sdks.value)
    assert str(ours.value) == str(sdks.value)
