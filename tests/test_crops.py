"""Inpainting at photo size: only boxes around the mask are fitted (``deepprior.crops``)."""

import os
import signal

import numpy as np
import pytest

import deepprior as dp
from deepprior import callbacks as cbs
from deepprior.crops import Box, boxes, checkpoint_files, plan


def _photo_with_two_blemishes(height=160, width=320):
    rng = np.random.default_rng(0)
    image = rng.random((height, width, 3)).astype(np.float32)
    known = np.ones((height, width), bool)
    known[10:20, 10:30] = False  # top left
    known[height - 30 : height - 20, width - 50 : width - 20] = False  # bottom right
    return image, known


def test_far_apart_regions_get_a_box_each_and_near_ones_share_one():
    _, known = _photo_with_two_blemishes()
    assert boxes(known, margin=8) == [Box(2, 2, 26, 36), Box(122, 262, 26, 46)]
    assert len(boxes(known, margin=130)) == 1  # their context overlaps: one box


def test_a_mask_over_most_of_the_image_is_fitted_whole():
    known = np.ones((64, 64), bool)
    known[8:56, 8:56] = False
    assert plan(known, margin=8) is None


def test_inpainting_in_crops_keeps_every_known_pixel_and_fills_the_holes():
    image, known = _photo_with_two_blemishes()
    res = dp.inpaint(image, known, iters=3, return_result=True)
    assert res.config["crops"] == [[0, 0, 52, 62], [98, 238, 62, 82]]
    assert res.image.shape == image.shape and res.iterations == 6
    np.testing.assert_array_equal(res.image[known], image[known])
    assert (res.image[~known] > 0).all()  # filled, not left at zero
    assert len(res.history["crops"]) == 2


def test_crop_false_fits_the_whole_image_as_the_paper_does():
    image, known = _photo_with_two_blemishes()
    res = dp.inpaint(image, known, crop=False, iters=2, return_result=True)
    assert "crops" not in res.config
    assert not np.array_equal(res.image[known], image[known])  # the generator's output everywhere


def test_the_plan_of_a_cropped_fit_counts_only_its_boxes():
    image, known = _photo_with_two_blemishes(320, 480)
    cropped = dp.plan("inpaint", image, mask=known)
    whole = dp.plan("inpaint", image, mask=known, crop=False)
    assert cropped.seconds < 0.5 * whole.seconds


def test_crop_does_not_apply_to_other_tasks():
    with pytest.raises(dp.InputError, match="crop does not apply to denoise"):
        dp.run("denoise", np.zeros((16, 16)), crop=True)


class _InterruptAt:
    """Sends a real Ctrl-C (SIGINT) to this process at a step of the ``box``-th fit."""

    def __init__(self, box: int, step: int):
        self.box, self.step, self.started = box, step, 0

    def on_start(self, run):
        self.started += 1

    def on_step(self, run):
        if self.started == self.box and run.iteration == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_an_interrupted_fit_in_crops_resumes_bit_for_bit(tmp_path):
    image, known = _photo_with_two_blemishes()
    whole = dp.inpaint(image, known, iters=6, return_result=True)
    path = tmp_path / "run.ckpt.pt"
    stopped = dp.inpaint(
        image, known, iters=6, return_result=True, callbacks=[cbs.Checkpoint(path, None), _InterruptAt(2, 3)]
    )
    assert stopped.interrupted and stopped.iterations == 9
    assert checkpoint_files(path) == [tmp_path / "run.ckpt.box2of2.pt"]  # the first box finished
    resumed = dp.inpaint(image, known, iters=6, return_result=True, resume=str(path))
    assert not resumed.interrupted
    np.testing.assert_array_equal(resumed.image, whole.image)


def test_the_command_line_fits_crops_and_resumes_from_box_checkpoints(tmp_path):
    from deepprior.cli import main
    from deepprior.imageio import read_image, write_image

    image, known = _photo_with_two_blemishes()
    write_image(tmp_path / "photo.png", (image * 255).round().astype(np.uint8))
    write_image(tmp_path / "mask.png", known.astype(np.uint8) * 255)
    args = ["inpaint", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"), "--iters", "2"]
    assert main([*args, "-o", str(tmp_path / "out.png"), "--quiet"]) == 0
    out = read_image(tmp_path / "out.png")
    np.testing.assert_array_equal(out[known], (image * 255).round().astype(np.uint8)[known])
    assert main([*args, "-o", str(tmp_path / "whole.png"), "--crop", "off", "--quiet"]) == 0
    (tmp_path / "c.box1of2.pt").write_bytes(b"")
    assert main([*args, "-o", str(tmp_path / "o2.png"), "--checkpoint", str(tmp_path / "c.pt")]) == 2
