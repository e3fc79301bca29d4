from __future__ import annotations


def test_cli_grad_builtin_example_json(cli):
    r = cli("grad", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    assert data["point"] == {"a": 2.0, "b": 3.0, "c": 4.0}
    assert abs(data["value"] - 6.336362190988558) < 1e-12
