"""The page's job runner without a browser (``deepprior.web.jobs``): stop, cancel, uploads, downloads."""

import json

import numpy as np
import pytest

import deepprior as dp
from deepprior.web import jobs


def _photo():
    image = (np.random.default_rng(0).random((48, 64, 3)) * 65535).astype(np.uint16)
    known = np.ones((48, 64), bool)
    known[20:28, 20:40] = False
    return image, known


def test_stop_keeps_the_estimate_of_the_step_reached_and_cancel_drops_it(tmp_path):
    image, known = _photo()
    job = jobs.Job("inpaint", image, every=1, mask=known, iters=100_000).start()
    while job.progress.step < 3:
        assert not job.wait(0.05)
    job.stop()
    assert job.wait(60) and job.error is None
    assert 3 <= job.result.iterations < 100_000 and job.progress.preview is not None
    image_path, report_path = jobs.save(job, tmp_path, "kept")
    assert dp.read_image(image_path).dtype == np.uint16 and image_path.suffix == ".png"
    assert json.loads(report_path.read_text())["stopped_early"]

    cancelled = jobs.Job("inpaint", image, mask=known, iters=100_000).start()
    cancelled.cancel()
    assert cancelled.wait(60) and cancelled.cancelled.is_set()


def test_a_one_pass_method_runs_without_steps_and_bad_input_is_one_line():
    image, known = _photo()
    job = jobs.Job("denoise", image[..., 0]).start()
    assert job.wait(120) and job.result.config["method"] == "n2n" and job.result.iterations == 0
    assert "above the 50/255 the shipped model was trained for" in job.warnings[0]  # shown in the page
    bad = jobs.Job("inpaint", image, mask=np.zeros((48, 64), bool)).start()
    assert bad.wait(60) and "every pixel as unknown" in bad.error


def test_uploads_over_the_pixel_bound_are_refused_before_decoding(tmp_path):
    dp.write_image(tmp_path / "big.png", np.zeros((300, 400), np.uint8))
    with pytest.raises(dp.InputError, match="400×300 .* up to 0 "):
        jobs.check_upload(tmp_path / "big.png", max_pixels=100_000)
    assert jobs.preview(np.zeros((3000, 4000), np.uint16)).shape == (768, 1024, 3)
