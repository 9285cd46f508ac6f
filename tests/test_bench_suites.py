"""`deepprior bench sr|denoise|inpaint`: the protocols, the table writer, a whole suite end to end."""

import json

import numpy as np
import pytest

from deepprior import cli
from deepprior.bench import protocols
from deepprior.bench.runner import _score_at, _serves, applicable, averages, markdown
from deepprior.errors import InputError
from deepprior.imageio import write_image


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        write_image(tmp_path / "clean" / f"{name}.png", (rng.random((40, 36, 3)) * 255).astype(np.uint8))
    return tmp_path / "clean"


def test_sr_protocol_crops_to_the_factor_and_scores_y_with_a_shaved_border(folder):
    case = protocols.sr_cases(None, [8], images=folder)[0]
    assert case.clean.shape == (40, 32, 3) and case.observed.shape == (5, 4, 3)
    assert np.array_equal(np.round(case.observed * 255), case.observed * 255)  # 8-bit LR
    broken = case.clean.copy()
    broken[:4] = 0  # damage only inside the shaved border
    assert case.score(broken)[0] == float("inf")


def test_denoise_protocol_gives_every_method_the_same_float_noise(folder):
    first = protocols.denoise_cases(None, [25], images=folder)
    again = protocols.denoise_cases(None, [25], images=folder)
    assert np.array_equal(first[0].observed, again[0].observed)
    assert not np.array_equal(first[0].observed, first[1].observed)
    noise = first[0].observed - first[0].clean
    inside = (first[0].observed > 0) & (first[0].observed < 1)
    assert noise[inside].std() == pytest.approx(25 / 255, rel=0.1)
    assert not np.array_equal(np.round(first[0].observed * 255), first[0].observed * 255)  # not quantised


def test_inpaint_protocol_keeps_half_the_pixels(folder):
    case = protocols.inpaint_cases(None, images=folder)[0]
    assert case.mask.mean() == pytest.approx(0.5, abs=0.1)
    assert np.all(case.observed[~case.mask] == 0)


def test_cases_are_blind_unless_the_oracle_is_asked_for(folder):
    clean = np.full((64, 64), 0.5, dtype=np.float32)
    noisy = clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape).astype(np.float32)
    denoise = protocols.Case("denoise", "grey", "σ25", clean, noisy, sigma=25)
    sr = protocols.sr_cases(None, [4], images=folder)[0]
    assert denoise.inputs == {} and sr.inputs == {"factor": 4}  # a user's run: σ and kernel unknown
    assert denoise.noise_std() == pytest.approx(25 / 255, rel=0.1)  # estimated from the noisy image
    assert denoise.noise_std() != 25 / 255
    denoise.oracle = sr.oracle = True
    assert denoise.inputs == {"sigma": 25 / 255} and denoise.noise_std() == 25 / 255
    assert sr.inputs == {"factor": 4, "kernel": "bicubic"}


def test_no_bench_entry_pins_what_only_the_oracle_may_know():
    from deepprior.registry import variants

    for name, (_method, options) in variants().items():
        assert not {"sigma", "kernel", "kind"} & set(options), name


def test_a_crop_with_nothing_to_fill_is_skipped_with_a_reason(folder):
    case = protocols.inpaint_cases(None, images=folder)[0]
    assert case.skip_reason() is None
    case.mask[:] = True
    assert "no missing pixel" in case.skip_reason()


def test_the_table_puts_published_figures_and_the_difference_beside_ours():
    rows = [
        {
            "suite": "denoise",
            "setting": "σ25",
            "image": "F16",
            "method": "fast",
            "psnr": 33.0,
            "ssim": 0.9,
            "seconds": 10.0,
            "steps": 100,
            "published": {"DIP": 33.69, "CBM3D": 32.67},
        }
    ]
    text = markdown(
        rows,
        averages(rows, {"σ25": {"DIP": 33.69}}),
        "full protocol",
        {"cpu": "x", "threads": 2, "torch": "2", "device": "cpu"},
    )
    assert "| F16 | fast | 33.00 | 0.9000 | 33.69 | -0.69 | CBM3D 32.67 |" in text
    assert "| fast | 1 | 33.00 | 0.9000 | 10.0 | DIP 33.69 |" in text


def test_a_whole_suite_runs_end_to_end_on_a_folder(folder, tmp_path, capsys):
    out = tmp_path / "bench"
    code = cli.main(
        [
            "bench",
            "denoise",
            "--images",
            str(folder),
            "--methods",
            "fast,zs-n2n,n2n,tv",
            "--crop",
            "32",
            "--iters",
            "5",
            "--limit",
            "1",
            "--holdout",
            "0.2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "results.json").read_text())
    assert "REDUCED" in report["protocol"]
    fast, zs, shipped, tv = report["rows"]
    assert [r["method"] for r in report["rows"]] == ["fast", "zs-n2n", "n2n", "tv"]
    for ours in (fast, zs, shipped):
        assert ours["projected_paper_s"] > 0 and ours["speedup"] > 0
        assert ours["curve"][-1][2] == pytest.approx(ours["psnr"], abs=1e-3)
    assert fast["steps"] == zs["steps"] == fast["curve"][-1][0] == 5
    assert shipped["steps"] is None and len(shipped["curve"]) == 1  # one inference, no iterations
    assert fast["auto_signal"] == "holdout" and fast["auto_best_step"] == 5  # DIP stopped on held-out pixels
    assert "psnr_at_1pct" in zs and "psnr" in tv and "curve" not in tv
    assert json.loads((out / "rows.partial.json").read_text()) == json.loads(
        json.dumps(report["rows"])
    )  # kept as it went
    assert (out / "psnr_vs_time.png").stat().st_size > 0 and (out / "results.csv").exists()


def test_single_task_methods_run_only_in_their_suite_and_the_curve_is_read_at_a_time():
    assert applicable("zs-n2n", "denoise") and not applicable("zs-n2n", "sr")
    assert applicable("zssr", "sr") and not applicable("zssr", "denoise") and not applicable("n2n", "sr")
    assert applicable("n2n", "inpaint")  # keep-masks and text; a large hole is DIP's
    clean = np.full((64, 64), 0.5, np.float32)
    keep, text = np.random.default_rng(0).random((64, 64)) < 0.5, np.ones((64, 64), bool)
    text[33:35] = False  # one row of 8×8 blocks: a stroke, not scattered pixels
    hole = np.ones((64, 64), bool)
    hole[8:48, 8:48] = False
    kept = protocols.Case("inpaint", "a", "50%", clean, clean * keep, mask=keep)
    written = protocols.Case("inpaint", "k", "text", clean, clean * text, mask=text, text_mask=True)
    holed = protocols.Case("inpaint", "h", "hole", clean, clean * hole, mask=hole, text_mask=True)
    assert _serves("n2n", kept) and _serves("n2n", written) and not _serves("n2n", holed)
    assert _serves("fast", holed)
    assert applicable("decoder", "denoise") and not applicable("decoder", "sr") and applicable("fast", "sr")
    assert applicable("fast", "inpaint") and not applicable("bicubic", "denoise")
    curve = [(50, 1.0, 20.0), (100, 2.0, 25.0), (150, 3.0, 27.0)]
    assert _score_at(curve, 2.5) == 25.0 and _score_at(curve, 0.5) is None and _score_at(curve, 9) == 27.0


def test_the_shared_suites_have_the_papers_images():
    try:
        root = protocols.data_root()
    except InputError:
        pytest.skip("shared/data is not next to this checkout")
    cases = protocols.inpaint_cases(root, crop=16)
    assert [c.name for c in cases] == [
        "C.man",
        "House",
        "Peppers",
        "Lena",
        "Barbara",
        "Boat",
        "Man",
        "Couple",
        "kate",
    ]
    assert cases[0].published == {"DIP": 29.80}
    assert [c.name for c in protocols.denoise_cases(root, [25], crop=16)] == [
        "F16",
        "kodim01",
        "kodim02",
        "kodim03",
        "kodim12",
    ]


def test_a_cropped_run_prints_no_published_figures_beside_it(tmp_path):
    try:
        protocols.data_root()
    except InputError:
        pytest.skip("shared/data is not next to this checkout")
    out = tmp_path / "sr"
    assert (
        cli.main(
            [
                "bench",
                "sr",
                "--scales",
                "4",
                "--methods",
                "bicubic",
                "--crop",
                "32",
                "--limit",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "results.json").read_text())
    assert report["rows"][0]["published"] == {} and report["averages"][0]["published"] == {}


def test_the_sr_suite_runs_zssr_beside_bicubic(folder, tmp_path):
    out = tmp_path / "sr"
    assert (
        cli.main(
            [
                "bench",
                "sr",
                "--images",
                str(folder),
                "--scales",
                "2",
                "--methods",
                "zssr,bicubic",
                "--crop",
                "32",
                "--iters",
                "4",
                "--limit",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    zssr, bicubic = json.loads((out / "results.json").read_text())["rows"]
    assert (zssr["method"], bicubic["method"]) == ("zssr", "bicubic")
    assert zssr["steps"] == zssr["curve"][-1][0] == 4 and zssr["projected_paper_s"] > 0
    assert zssr["curve"][-1][2] == pytest.approx(zssr["psnr"], abs=1e-3)


def test_the_pareto_table_reads_curves_at_fractions_of_the_paper_time_and_marks_the_front():
    from deepprior.bench.runner import pareto

    slow = {
        "method": "fast",
        "seconds": 30.0,
        "psnr": 28.0,
        "projected_paper_s": 100.0,
        "curve": [(50, 1.0, 25.0), (100, 2.0, 26.5), (500, 10.0, 27.5), (1500, 30.0, 28.0)],
    }
    quick = {"method": "n2n", "seconds": 1.5, "psnr": 26.0, "curve": [(0, 1.5, 26.0)]}
    late = {
        "method": "paper",
        "seconds": 12.0,
        "psnr": 27.0,
        "projected_paper_s": 100.0,
        "curve": [(50, 1.5, 24.0), (400, 12.0, 27.0)],
    }  # no score yet at 1 % of the paper's time
    points = {
        (p["method"], p["at"]): (p["seconds"], p["psnr"], p["front"]) for p in pareto([slow, quick, late])
    }
    assert points == {
        ("fast", "1% of paper time"): (1.0, 25.0, True),
        ("n2n", "end"): (1.5, 26.0, True),
        ("fast", "2% of paper time"): (2.0, 26.5, True),
        ("fast", "5% of paper time"): (5.0, 26.5, False),
        ("fast", "10% of paper time"): (10.0, 27.5, True),
        ("fast", "end"): (30.0, 28.0, True),
        ("paper", "2% of paper time"): (2.0, 24.0, False),
        ("paper", "5% of paper time"): (5.0, 24.0, False),
        ("paper", "10% of paper time"): (10.0, 24.0, False),
        ("paper", "end"): (12.0, 27.0, False),
    }


def test_a_time_budget_stops_a_fit_and_its_last_step_is_scored():
    import torch

    from deepprior.bench.runner import ScoreCurve
    from deepprior.problem import Problem
    from deepprior.registry import get_preset, solve

    class Scored:  # the one thing ScoreCurve asks of a bench case
        def psnr(self, image):
            return float(image.mean())

    curve = ScoreCurve(Scored(), every=50, budget=0.0)
    result = solve(
        Problem(y=torch.rand(1, 3, 32, 32)), get_preset("denoise", "fast", iters=100), callbacks=[curve]
    )
    assert result.iterations == 1 and [step for step, _s, _p in curve.points] == [1]
