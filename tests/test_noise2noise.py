"""Noise2Noise: noise models, losses, the U-Net, training, resuming, tiling, DDP, bad input."""

import os
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pytest
import torch

import deepprior as dp
from deepprior.errors import ImageReadError, InputError
from deepprior.losses import annealed_l0, l1, l2, masked_l2
from deepprior.methods.noise2noise import (
    N2NConfig,
    N2NModel,
    N2NTraining,
    Validation,
    learning_rate,
    training_loss,
)
from deepprior.methods.tiles import windowed
from deepprior.nets.unet import UNet, UNetConfig, widen
from deepprior.noise import add_gaussian, parse_noise
from deepprior.trainingdata import TrainingSet, load_pairs

TINY = dict(width=8, depth=2, crop=16, batch=4, val_every=5, lr=1e-3)


def scene(size=40, seed=0) -> np.ndarray:
    """A smooth grey (H, W) uint8 test scene."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    phase = np.random.default_rng(seed).uniform(0, 3)
    return np.round(255 * (0.5 + 0.35 * np.sin(5 * xs + phase) * np.cos(3 * ys))).astype(np.uint8)


def chw(seed: int, size: int = 40) -> np.ndarray:
    """``scene`` as a (1, H, W) float32 training image."""
    return (scene(size, seed)[None] / 255.0).astype(np.float32)


@pytest.fixture
def folder(tmp_path):
    """Six clean grey 40×40 training images."""
    root = tmp_path / "clean"
    root.mkdir()
    for i in range(6):
        dp.write_image(root / f"{i}.png", scene(seed=i))
    return root


# --- noise models ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["gaussian:25", "poisson:30"])
def test_zero_mean_noise_keeps_the_clean_image_as_its_mean(spec):
    noise = parse_noise(spec)
    clean = np.tile(np.linspace(0.05, 0.95, 16, dtype=np.float32), (1, 1, 16, 1))
    draws = np.stack([noise.corrupt(clean, [noise.test], np.random.default_rng(i))[0] for i in range(4000)])
    assert draws.std(0).mean() > 0.05  # really noisy …
    np.testing.assert_allclose(draws.mean(0), clean, atol=0.01)  # … and unbiased: N2N's L2 target


def test_bernoulli_drops_pixels_and_says_which():
    noise = parse_noise("bernoulli:0.5")
    clean = np.full((2, 3, 64, 64), 0.7, np.float32)
    noisy, known = noise.corrupt(clean, [0.5, 0.5], np.random.default_rng(0))
    assert known.shape == (2, 1, 64, 64) and abs(known.mean() - 0.5) < 0.03
    # all channels of a pixel drop together; a dropped pixel holds a guess from the known ones
    np.testing.assert_array_equal(noisy * known, clean * known)
    np.testing.assert_allclose(noisy, clean, atol=1e-6)  # … which on a flat image is exact
    ramp = np.broadcast_to(np.linspace(0, 1, 64, dtype=np.float32), (1, 1, 64, 64))
    filled, known = noise.corrupt(ramp, [0.5], np.random.default_rng(1))
    assert np.abs(filled - ramp).max() < 0.05  # a smooth image is nearly filled in


def test_impulse_noise_keeps_the_clean_value_as_the_mode():
    noise = parse_noise("impulse:0.7")
    clean = np.full((1, 1, 128, 128), 0.3, np.float32)
    noisy, _ = noise.corrupt(clean, [0.7], np.random.default_rng(0))
    assert abs((noisy != 0.3).mean() - 0.7) < 0.02
    counts, edges = np.histogram(noisy, bins=50, range=(0, 1))
    assert edges[counts.argmax()] <= 0.3 < edges[counts.argmax() + 1]  # the mode survives …
    assert abs(noisy.mean() - 0.3) > 0.1  # … the mean does not: L2 would learn the wrong image


def test_text_covers_about_the_asked_fraction():
    noise = parse_noise("text:0.25")
    clean = np.zeros((1, 3, 96, 96), np.float32)
    noisy, _ = noise.corrupt(clean, [0.25], np.random.default_rng(0))
    covered = (noisy != 0).any(1).mean()
    assert 0.25 <= covered < 0.5


@pytest.mark.parametrize(
    "spec, message",
    [
        ("speckle", "unknown noise"),
        ("gaussian:a-b", "bad noise levels"),
        ("gaussian:50-10", "above"),
        ("impulse:0-2", "probabilities"),
    ],
)
def test_bad_noise_specs_are_named(spec, message):
    with pytest.raises(InputError, match=message):
        parse_noise(spec)


def test_noise_specs_default_to_the_papers_training_ranges():
    assert parse_noise("gaussian").spec() == "gaussian:0-50" and parse_noise("gaussian").test == 25
    assert parse_noise("impulse").loss == "l0" and parse_noise("text").loss == "l1"
    assert parse_noise("bernoulli:0.3").spec() == "bernoulli:0.3" and parse_noise("bernoulli:0.3").test == 0.3


# --- losses and schedule --------------------------------------------------------------------------


def test_the_annealed_loss_goes_from_l2_through_l1_to_the_mode():
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    known = torch.ones(2, 1, 8, 8)
    torch.testing.assert_close(training_loss("l0", a, b, known, 0.0), l2(a, b), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(training_loss("l0", a, b, known, 0.5), l1(a, b), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(annealed_l0(a, a, 0.0), torch.tensor(1.0))  # near γ = 0 it counts mismatches


def test_the_masked_loss_ignores_unknown_target_pixels():
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    known = torch.zeros(1, 1, 4, 4)
    known[..., :2, :] = 1
    b[..., 2:, :] = 100.0  # dropped pixels: any value, no effect
    torch.testing.assert_close(masked_l2(a, b, known), torch.tensor(1.0))


def test_the_bernoulli_model_refines_its_own_output_pass_after_pass():
    rows, cols = np.mgrid[0:48, 0:64]
    clean = (0.5 + 0.3 * np.sin(rows / 3) * np.cos(cols / 5)).astype(np.float32)
    known = np.random.default_rng(0).random(clean.shape) < 0.5
    model = dp.n2n.pretrained("cpu", "bernoulli")
    once, again = (model.denoise(clean * known, known=known, passes=p) for p in (1, 2))
    assert np.array_equal(once[known], clean[known]) and np.array_equal(again[known], clean[known])
    assert np.abs(again - once)[~known].max() > 1e-3  # the second pass changed the filled pixels
    with pytest.raises(InputError, match="passes must be at least 1"):
        model.denoise(clean, known=known, passes=0)


def test_the_learning_rate_ramps_down_over_the_last_30_percent():
    cfg = N2NConfig(iters=100, lr=1e-3)
    assert learning_rate(cfg, 0) == learning_rate(cfg, 70) == 1e-3
    assert 0 < learning_rate(cfg, 85) < 1e-3 and learning_rate(cfg, 100) == pytest.approx(0, abs=1e-12)


# --- network --------------------------------------------------------------------------------------


def test_the_unet_has_the_papers_size_and_takes_any_image_size():
    assert 0.95e6 < sum(p.numel() for p in UNet(3, 3).parameters()) < 1.05e6  # "about 1 M parameters"
    net = UNet(1, 1, UNetConfig(width=8, depth=5))
    for size in [(37, 50), (2, 3), (64, 64)]:
        assert net(torch.rand(1, 1, *size)).shape == (1, 1, *size)


# --- training -------------------------------------------------------------------------------------


def test_twenty_steps_lower_the_validation_loss():
    cfg = N2NConfig(iters=20, **TINY)
    validation = Validation.build(TrainingSet(images=[chw(9)]), cfg)
    run = N2NTraining(TrainingSet(images=[chw(i) for i in range(4)]), cfg, validation)
    run.validate()
    before = run.history["val_loss"][-1][1]
    run.run()
    assert run.history["val_loss"][-1][1] < 0.5 * before
    assert [i for i, _ in run.history["psnr"]] == [0, 5, 10, 15, 20]


def test_training_writes_models_curve_and_record_and_the_model_denoises(folder, tmp_path):
    model = dp.n2n.train(folder, out=tmp_path / "m", holdout=1, iters=10, progress=False, **TINY)
    for name in ("best.pt", "last.pt", "checkpoint.pt", "training.json", "curve.png"):
        assert (tmp_path / "m" / name).exists(), name
    loaded = dp.n2n.load(tmp_path / "m", device="cpu")
    noisy = scene(size=33, seed=7)
    out = loaded.denoise(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert loaded.denoise(np.dstack([noisy] * 3)).shape == (33, 33, 3)  # grey model, colour image
    assert model.info["iterations"] == 10 and model.info["loss"] == "l2"


def test_resuming_an_interrupted_run_equals_an_uninterrupted_one(folder, tmp_path):
    class StopAt:
        def on_step(self, run):
            run.stop = run.iteration == 7

    whole = dp.n2n.train(folder, out=tmp_path / "whole", iters=12, progress=False, **TINY)
    dp.n2n.train(folder, out=tmp_path / "parts", iters=12, progress=False, callbacks=[StopAt()], **TINY)
    assert torch.load(tmp_path / "parts" / "checkpoint.pt", weights_only=False)["iteration"] == 7
    resumed = dp.n2n.train(folder, out=tmp_path / "parts", iters=12, resume=True, progress=False, **TINY)
    for a, b in zip(whole.model.net.state_dict().values(), resumed.model.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fine_tuning_starts_from_a_models_weights_and_refuses_another_shape(folder, tmp_path):
    start = dp.n2n.train(folder, out=tmp_path / "start", iters=3, progress=False, **TINY)
    data = TrainingSet(images=[chw(i) for i in range(3)])
    init = str(tmp_path / "start" / "last.pt")
    run = N2NTraining(data, N2NConfig(iters=5, init=init, **TINY))
    for a, b in zip(start.model.net.state_dict().values(), run.net.state_dict().values()):
        torch.testing.assert_close(a, b)
    for shape in ({"width": 4}, {"depth": 3}):
        with pytest.raises(InputError, match="cannot start from .* width 8 and depth 2"):
            N2NTraining(data, N2NConfig(iters=5, init=init, **{**TINY, **shape}))
    # Without a width and depth, a fine-tune takes those of the model it starts from.
    rest = {k: v for k, v in TINY.items() if k not in ("width", "depth")}
    tuned = dp.n2n.train(folder, iters=1, progress=False, init=init, **rest)
    assert tuned.model.info["net"] == {"width": 8, "depth": 2}


def test_a_wider_run_starts_from_a_narrower_models_function():
    narrow = UNet(1, 1, UNetConfig(width=8, depth=2))
    wide = widen(narrow, UNet(1, 1, UNetConfig(width=13, depth=2)))
    x = torch.rand(2, 1, 20, 20)
    torch.testing.assert_close(wide(x), narrow(x))
    loss = wide(x).square().mean()
    loss.backward()
    grown = wide.head[2].weight.grad[:, 5:]  # from the new channels (2·8//3 = 5 old ones): they learn
    assert grown.abs().sum() > 0


def test_clean_targets_are_the_same_run_with_the_clean_crop_as_target():
    cfg = N2NConfig(iters=1, targets="clean", **TINY)
    run = N2NTraining(TrainingSet(images=[chw(i) for i in range(3)]), cfg)
    inputs, targets, _ = run.batch(0)
    noisy_run = N2NTraining(run.data, N2NConfig(iters=1, **TINY))
    noisy_inputs, noisy_targets, _ = noisy_run.batch(0)
    torch.testing.assert_close(inputs, noisy_inputs)  # same crops, same input noise
    assert (targets - noisy_targets).abs().mean() > 0.05 and targets.min() >= 0 and targets.max() <= 1


def test_zoomed_crops_are_softer_and_refused_for_noisy_pairs():
    # Fine detail (a checkerboard of period 4) enlarged up to 4×: each crop keeps the image's
    # range, and its mean pixel-to-pixel step falls, as in a camera's full-resolution photo.
    board = (np.indices((96, 96)).sum(0) // 2 % 2).astype(np.float32)[None]
    data = TrainingSet(images=[board])
    plain, _ = data.crops(8, 32, np.random.default_rng(0))
    zoomed, target = data.crops(8, 32, np.random.default_rng(0), zoom=4.0)
    step = lambda a: np.abs(np.diff(a, axis=-1)).mean()  # noqa: E731
    assert zoomed.shape == plain.shape and (zoomed == target).all()
    assert zoomed.min() >= 0 and zoomed.max() <= 1 and step(zoomed) < 0.7 * step(plain)
    pairs = TrainingSet(bursts=[[board, board]])
    with pytest.raises(InputError, match="noisy pairs cannot be zoomed"):
        pairs.crops(2, 32, np.random.default_rng(0), zoom=2.0)
    with pytest.raises(InputError, match="zoom must be at least 1"):
        N2NConfig(zoom=0.5)


def test_real_pairs_and_bursts_are_read_and_sampled(tmp_path):
    root = tmp_path / "pairs"
    (root / "burst").mkdir(parents=True)
    rng = np.random.default_rng(0)
    noisy = lambda: np.clip(scene() + rng.normal(0, 20, (40, 40)), 0, 255).astype(np.uint8)  # noqa: E731
    dp.write_image(root / "a_1.png", noisy())
    dp.write_image(root / "b_1.png", noisy())
    for i in range(3):  # 16-bit frames are read without loss
        dp.write_image(root / "burst" / f"{i}.png", noisy().astype(np.uint16) * 257)
    data = load_pairs(root)
    assert [len(b) for b in data.bursts] == [2, 3] and not data.has_references
    first, second = data.crops(8, 16, rng)
    assert first.shape == second.shape == (8, 1, 16, 16) and not np.array_equal(first, second)
    model = dp.n2n.train(pairs=root, out=tmp_path / "m", iters=3, progress=False, **TINY)
    assert model.info["real_pairs"]


def test_tiled_inference_equals_untiled_on_an_image_that_fits():
    torch.manual_seed(0)
    model = N2NModel(UNet(1, 1, UNetConfig(width=8, depth=2)), {"channels": 1})
    x = torch.rand(1, 1, 96, 80)
    torch.testing.assert_close(
        model.denoise_tensor(x, window=0, tile=32, margin=32), model.denoise_tensor(x, window=0, tile=512)
    )


def test_tiles_of_the_papers_unet_leave_no_visible_seams():
    """With depth 5 each output pixel sees far, so tiles are approximate: the difference to the
    untiled output stays far below one 8-bit grey level everywhere, seams included."""
    torch.manual_seed(0)
    model = N2NModel(UNet(1, 1, UNetConfig(width=16)), {"channels": 1})
    x = torch.from_numpy(scene(size=160)[None, None] / 255.0).float()
    whole, tiles = model.denoise_tensor(x, window=0, tile=512), model.denoise_tensor(x, window=0, tile=64)
    assert (whole - tiles).abs().max() < 0.5 / 255


def test_windows_blend_without_seams_and_cover_every_pixel():
    x = torch.rand(1, 2, 100, 70)
    torch.testing.assert_close(windowed(lambda t: t, x, 64, 32, batch=3), x)  # weights sum to one everywhere
    torch.testing.assert_close(windowed(lambda t: 2 * t, x[..., :30, :30], 64, 32), 2 * x[..., :30, :30])


def test_a_model_sees_windows_of_its_training_crop_by_default():
    sizes = []

    class Recorder(torch.nn.Identity):
        multiple = 1

        def forward(self, t):
            sizes.append(tuple(t.shape[-2:]))
            return t

    model = N2NModel(Recorder(), {"channels": 1, "config": {"crop": 32}})
    model.denoise_tensor(torch.rand(1, 1, 80, 48))
    assert set(sizes) == {(32, 32)}
    sizes.clear()
    model.denoise_tensor(torch.rand(1, 1, 80, 48), window=0)
    assert sizes == [(80, 48)]


def test_data_parallel_training_with_two_cpu_processes(folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "deepprior",
        "n2n",
        "train",
        "--images",
        str(folder),
        "--out",
        str(tmp_path / "ddp"),
        "--iters",
        "4",
        "--width",
        "8",
        "--depth",
        "2",
        "--crop",
        "16",
        "--batch",
        "2",
        "--quiet",
        "--device",
        "cpu",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert dp.n2n.load(tmp_path / "ddp").info["iterations"] == 4
    assert done.stdout.count("trained 4 steps") == 1  # only rank 0 reports and writes


def test_two_nodes_meet_at_a_rendezvous_as_on_a_cluster(folder, tmp_path):
    """Multi-node training, simulated with two torchrun agents on this host (``--nnodes 2``, one
    process each): they meet at the rendezvous, train together and rank 0 alone writes."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1"]
    launch += ["--master_addr=127.0.0.1", f"--master_port={port}"]
    train = ["-m", "deepprior", "n2n", "train", "--images", str(folder), "--out", str(tmp_path / "run")]
    train += ["--iters", "2", "--width", "8", "--depth", "2", "--crop", "16", "--batch", "2", "--quiet"]
    nodes = [
        subprocess.Popen(
            [*launch, f"--node_rank={rank}", *train],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for rank in (0, 1)
    ]
    done = [node.communicate(timeout=240) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], done[0][1][-2000:] + done[1][1][-2000:]
    assert dp.n2n.load(tmp_path / "run").info["iterations"] == 2
    assert "trained 2 steps" in done[0][0] and "trained" not in done[1][0]


def test_data_parallel_ranks_hold_the_same_weights_that_one_process_alone_would_not(folder, tmp_path):
    worker = os.path.join(os.path.dirname(__file__), "ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", worker]
    done = subprocess.run(
        [*cmd, str(folder), str(tmp_path)], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]  # the ranks' messages too
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    sys.path.insert(0, os.path.dirname(worker))
    try:
        from ddp_worker import train  # the same run in this one process: rank 0's batches alone
    finally:
        sys.path.pop(0)
    alone = train(str(folder)).net.state_dict()
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in alone)  # the gradients were averaged
    assert not all(torch.equal(ranks[0][k], alone[k]) for k in alone)  # over both ranks' batches


def test_applying_a_model_checks_the_memory_before_it_starts(monkeypatch):
    from deepprior import runtime

    monkeypatch.setattr(runtime, "available_memory", lambda device: 2**20)  # a 1 MiB machine
    with pytest.raises(dp.ImageTooLargeError, match="Noise2Noise model on a 96×64 image needs about"):
        dp.n2n.pretrained("cpu").denoise(np.zeros((64, 96), np.uint8))


def test_export_halves_the_weights_and_records_where_the_model_came_from(folder, tmp_path):
    from deepprior.cli import main
    from deepprior.methods.noise2noise import file_sha256

    dp.n2n.train(folder, out=tmp_path / "run", iters=2, progress=False, device="cpu", **TINY)
    tuned = dp.n2n.train(
        folder, iters=1, progress=False, device="cpu", **{**TINY, "init": str(tmp_path / "run" / "best.pt")}
    )
    assert tuned.info["init_sha256"] == file_sha256(tmp_path / "run" / "best.pt")
    assert main(["n2n", "export", str(tmp_path / "run"), "-o", str(tmp_path / "ship.pt")]) == 0
    shipped = dp.n2n.load(tmp_path / "ship.pt")
    assert shipped.info["exported_from"] == {
        "file": "best.pt",
        "sha256": file_sha256(tmp_path / "run" / "best.pt"),
    }
    blob = torch.load(tmp_path / "ship.pt", weights_only=True)
    assert all(w.dtype == torch.float16 for w in blob["weights"].values() if w.is_floating_point())
    assert main(["n2n", "export", str(tmp_path / "run"), "-o", str(tmp_path / "ship.pt")]) == 2  # exists


def test_a_world_size_from_a_scheduler_alone_does_not_start_distributed_training(folder, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as a batch system may export; torchrun also sets LOCAL_RANK
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    model = dp.n2n.train(folder, iters=2, progress=False, device="cpu", **TINY)
    assert model.info["iterations"] == 2 and not torch.distributed.is_initialized()


# --- bad input ------------------------------------------------------------------------------------


def test_bad_training_input_gets_clear_errors(folder, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        dp.n2n.train(tmp_path / "empty", iters=1)
    with pytest.raises(InputError, match="smaller than the 64×64 crop"):
        dp.n2n.train(folder, iters=1, crop=64)
    with pytest.raises(InputError, match="unknown noise"):
        dp.n2n.train(folder, iters=1, noise="speckle")
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    dp.write_image(pairs / "a_1.png", scene(40))
    dp.write_image(pairs / "b_1.png", scene(36))
    with pytest.raises(InputError, match="same size"):
        dp.n2n.train(pairs=pairs, iters=1)
    dp.write_image(pairs / "b_1.png", scene(40), overwrite=True)
    with pytest.raises(InputError, match="clean targets need clean images"):
        dp.n2n.train(pairs=pairs, iters=1, targets="clean", **TINY)
    with pytest.raises(InputError, match="a_ or b_"):
        dp.write_image(pairs / "a_2.png", scene(40))
        load_pairs(pairs)


def test_model_files_from_elsewhere_are_refused(tmp_path):
    with pytest.raises(InputError, match="not a deepprior Noise2Noise model"):
        torch.save({"net": {}}, tmp_path / "dip.pt")
        N2NModel.load(tmp_path / "dip.pt")
    with pytest.raises(InputError, match="not a deepprior Noise2Noise model"):
        (tmp_path / "junk.pt").write_bytes(b"not a torch file")
        N2NModel.load(tmp_path / "junk.pt")
    info = {"arch": "unet", "channels": 1, "net": {"width": 8, "depth": 2}}
    N2NModel(UNet(1, 1, UNetConfig(width=12, depth=2)), info).save(tmp_path / "mixed.pt")
    with pytest.raises(InputError, match="do not fit its architecture"):
        N2NModel.load(tmp_path / "mixed.pt")
    with pytest.raises((InputError, ImageReadError)):
        dp.n2n.load(tmp_path / "missing.pt")


# --- command line ---------------------------------------------------------------------------------


def test_the_command_line_trains_applies_and_evaluates(folder, tmp_path, capsys):
    from deepprior.cli import main

    model = tmp_path / "model"
    assert (
        main(
            [
                "n2n",
                "train",
                "--images",
                str(folder),
                "--out",
                str(model),
                "--iters",
                "6",
                "--width",
                "8",
                "--depth",
                "2",
                "--crop",
                "16",
                "--batch",
                "2",
                "--holdout",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert "trained 6 steps" in capsys.readouterr().out
    noisy = tmp_path / "noisy.png"
    dp.write_image(noisy, scene(size=50))
    assert (
        main(["n2n", "apply", str(model), str(noisy), "-o", str(tmp_path / "out.png"), "--tile", "32"]) == 0
    )
    assert dp.read_image(tmp_path / "out.png").shape == (50, 50)
    assert main(["n2n", "apply", str(model), str(noisy), "-o", str(tmp_path / "out.png")]) == 2  # no --force
    assert (
        main(
            [
                "n2n",
                "eval",
                str(model),
                "--images",
                str(folder),
                "--noise",
                "gaussian:25",
                "--json",
                str(tmp_path / "scores.json"),
            ]
        )
        == 0
    )
    assert "mean" in capsys.readouterr().out and (tmp_path / "scores.json").exists()
    assert main(["n2n", "train", "--images", str(folder), "--out", str(model), "--noise", "speckle"]) == 2
    assert "unknown noise" in capsys.readouterr().err


def test_the_shipped_model_denoises_out_of_the_box(tmp_path, capsys):
    from deepprior.cli import main

    assert dp.n2n.PRETRAINED.stat().st_size < 4 * 2**20  # "a few MB at most"
    clean = dp.read_image(files("deepprior") / "data" / "f16_192.png")  # the demo's photo
    noisy = add_gaussian(clean, 25 / 255, seed=0)
    restored = dp.denoise(noisy, method="n2n")
    # Measured with this model and code: 32.07 dB (noisy 20.31; a 3×3 box blur 27.25, TV 28.64).
    assert restored.dtype == np.uint8 and dp.psnr(restored, clean) >= 32.07 - 0.1
    clean = scene(size=96)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    dp.write_image(tmp_path / "noisy.png", noisy)
    dp.write_image(tmp_path / "clean.png", clean)
    assert (
        main(
            [
                "denoise",
                str(tmp_path / "noisy.png"),
                "-o",
                str(tmp_path / "out.png"),
                "--method",
                "n2n",
                "--reference",
                str(tmp_path / "clean.png"),
            ]
        )
        == 0
    )
    assert "PSNR" in capsys.readouterr().out
    folder = tmp_path / "data"
    folder.mkdir()
    dp.write_image(folder / "a.png", clean)
    assert (
        main(
            [
                "n2n",
                "train",
                "--images",
                str(folder),
                "--init",
                "shipped",
                "--iters",
                "1",
                "--crop",
                "32",
                "--batch",
                "1",
                "--out",
                str(tmp_path / "tuned"),
                "--quiet",
            ]
        )
        == 0
    )  # fine-tuning


def test_the_grey_model_denoises_colour_in_the_opponent_space_and_the_ensemble_helps():
    rng = np.random.default_rng(1)
    clean = np.dstack([scene(96, seed=s) for s in (1, 2, 3)])
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    model = dp.n2n.pretrained("cpu")
    once, ensemble = model.denoise(noisy), model.denoise(noisy, ensemble=True)
    assert once.shape == clean.shape and dp.psnr(once, clean) > dp.psnr(noisy, clean) + 6
    assert dp.psnr(ensemble, clean) > dp.psnr(once, clean)
