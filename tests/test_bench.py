"""`deepprior bench speed`: the figures it reports are consistent."""

from deepprior.bench.reference_skip import reference_skip
from deepprior.bench.speed import measure_speed
from deepprior.nets import build
from deepprior.runtime import flops


def test_the_baseline_is_the_same_network():
    ours, baseline = build("skip", 32, 3), reference_skip()
    shapes = lambda net: sorted(tuple(p.shape) for p in net.parameters())  # noqa: E731
    assert shapes(baseline) == shapes(ours)  # the same layers…
    assert flops(baseline, (1, 32, 64, 64)) == flops(ours, (1, 32, 64, 64))  # …computing the same sums


def test_speed_rows_compare_presets_with_the_baseline():
    rows = measure_speed(size=64, rounds=1, per_round=1, warmup=0, presets=("fast",))
    assert [r["name"] for r in rows] == ["baseline", "fast"]
    baseline, fast = rows
    assert fast["speedup"] == baseline["s_per_step"] / fast["s_per_step"]
    assert fast["gflop_per_step"] < baseline["gflop_per_step"]
    assert all(r["s_per_step"] > 0 and 0 < r["peak_fraction"] for r in rows)
