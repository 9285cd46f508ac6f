"""The bad-input corpus: every command given a broken file, a wrong format, a bad mask, size,
parameter, output, model or checkpoint answers with one line and exit code 2, before any long
work (or, where the input is fine after all, with a correct result)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from deepprior import cli
from deepprior.imageio import read_image, write_image


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Good and broken inputs, a tiny trained model and a checkpoint of each fitting kind."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    rgb = (rng.random((20, 24, 3)) * 255).astype(np.uint8)
    f = {"rgb": write_image(root / "rgb.png", rgb), "small": write_image(root / "small.png", rgb[:10, :12])}
    mask = np.full((20, 24), 255, np.uint8)
    mask[5:9, 3:20] = 0
    f["mask"] = write_image(root / "mask.png", mask)
    f["odd_grey"] = write_image(root / "odd_grey.png", rgb[:15, :, 0])
    f["mask_small"] = write_image(root / "mask_small.png", mask[:10])
    f["mask_white"] = write_image(root / "mask_white.png", np.full((20, 24), 255, np.uint8))
    f["mask_black"] = write_image(root / "mask_black.png", np.zeros((20, 24), np.uint8))
    see_through = np.dstack([mask, mask])
    see_through[0, 0, 1] = 0
    f["mask_alpha"] = write_image(root / "mask_alpha.png", see_through)
    (root / "empty.png").write_bytes(b"")
    f["empty"] = root / "empty.png"
    f["truncated"] = root / "truncated.png"
    f["truncated"].write_bytes(f["rgb"].read_bytes()[:60])
    f["text"] = root / "notes.png"
    f["text"].write_text("not an image")
    f["nan"] = root / "nan.tif"
    tifffile.imwrite(f["nan"], np.full((8, 8), np.nan, np.float32))
    f["stack"] = root / "stack.tif"
    tifffile.imwrite(f["stack"], (rng.random((3, 8, 8, 3)) * 255).astype(np.uint8), photometric="rgb")
    f["five"] = root / "five.tif"
    tifffile.imwrite(
        f["five"], np.zeros((8, 8, 5), np.uint8), planarconfig="contig", photometric="minisblack"
    )
    f["a_file"] = root / "a_file"
    f["a_file"].write_text("")
    f["full"] = root / "full"
    (f["full"] / "old.txt").parent.mkdir()
    (f["full"] / "old.txt").write_text("keep me")
    f["exists"] = write_image(root / "exists.png", rgb)
    f["junk_ckpt"] = root / "junk.pt"
    f["junk_ckpt"].write_bytes(os.urandom(256))
    f["dip_ckpt"] = root / "dip.ckpt"
    f["zs_ckpt"] = root / "zs.ckpt"
    for method, ckpt in (("dip", f["dip_ckpt"]), ("zs-n2n", f["zs_ckpt"])):
        out = root / f"{method}.png"
        args = ["denoise", f["rgb"], "-o", out, "--method", method, "--iters", "2", "--checkpoint", ckpt]
        assert cli.main([str(a) for a in [*args, "--every", "1", "--quiet"]]) == 0
    f["interrupted"] = root / "was_interrupted.png"  # its run was interrupted before it was written
    (root / "was_interrupted.png.ckpt.pt").write_bytes(f["dip_ckpt"].read_bytes())
    f["clean"] = root / "clean"
    for i in range(2):
        write_image(f["clean"] / f"{i}.png", (rng.random((32, 32)) * 255).astype(np.uint8))
    f["no_images"] = root / "no_images"
    f["no_images"].mkdir()
    f["model"] = root / "model"
    tiny = ["--iters", "1", "--width", "4", "--depth", "1", "--crop", "16", "--batch", "1", "--quiet"]
    assert cli.main(["n2n", "train", "--images", str(f["clean"]), "--out", str(f["model"]), *tiny]) == 0
    f["flash_small"] = write_image(root / "flash_small.png", rgb[:10])
    f["pair_folder"] = root / "pair_folder"
    for name in ("a_1.png", "b_1.png"):
        write_image(f["pair_folder"] / name, rgb)
    return f


def one_line(capsys, argv: list) -> str:
    """Run the CLI; assert exit code 2 and a single line on stderr (no traceback); return it."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own checks exit the process
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


DENOISE = ["denoise", "{rgb}", "-o", "{out}/o.png", "--method", "dip", "--iters", "2", "--quiet"]
N2N_TINY = ["--iters", "1", "--width", "4", "--depth", "1", "--crop", "16", "--batch", "1", "--quiet"]

# (case, command line with {file} and {out} placeholders, what the error line must say)
CORPUS = [
    # files
    ("missing input", ["denoise", "{out}/nope.png", "-o", "{out}/o.png"], "no such file"),
    ("empty file", ["denoise", "{empty}", "-o", "{out}/o.png"], "empty"),
    ("truncated PNG", ["denoise", "{truncated}", "-o", "{out}/o.png"], "truncated"),
    ("text file named .png", ["denoise", "{text}", "-o", "{out}/o.png"], "not an image"),
    ("a folder as the input", ["denoise", "{out}", "-o", "{out}/o.png"], "is a directory"),
    ("NaN in a float TIFF", ["denoise", "{nan}", "-o", "{out}/o.tif"], "NaN"),
    ("a stack of TIFF pages", ["denoise", "{stack}", "-o", "{out}/o.png"], "stack of 3 pages"),
    ("dejpeg a missing file", ["dejpeg", "{out}/none.jpg", "-o", "{out}/o.png"], "no such file"),
    ("five channels", ["denoise", "{five}", "-o", "{out}/o.png"], "C in 1..4"),
    # outputs: all checked before any work
    ("unknown output format", ["denoise", "{rgb}", "-o", "{out}/o.pgm"], "unknown image format '.pgm'"),
    ("output without a suffix", ["denoise", "{rgb}", "-o", "{out}/result"], "no suffix"),
    ("output under a file", ["denoise", "{rgb}", "-o", "{a_file}/o.png"], "is a file, not a folder"),
    ("output exists", ["denoise", "{rgb}", "-o", "{exists}"], "exists; pass --force"),
    ("output is a folder", ["denoise", "{rgb}", "-o", "{full}"], "it is a folder"),
    ("unwritable place", ["denoise", "{rgb}", "-o", "/proc/deepprior/o.png"], "cannot write"),
    ("report not JSON", [*DENOISE, "--report", "{out}/r.txt"], "unknown format '.txt'"),
    ("curve not PNG", [*DENOISE, "--curve", "{out}/c.jpg"], "unknown format '.jpg'"),
    ("GIF not .gif", [*DENOISE, "--gif", "{out}/g.png"], "unknown format '.png'"),
    ("snapshots into a file", [*DENOISE, "--snapshots", "{a_file}"], "is a file"),
    ("snapshots into a full folder", [*DENOISE, "--snapshots", "{full}"], "not empty"),
    ("checkpoint exists", [*DENOISE, "--checkpoint", "{dip_ckpt}"], "exists; pass --force"),
    (
        "an interrupted run's checkpoint",
        ["denoise", "{rgb}", "-o", "{interrupted}"],
        "holds an interrupted run",
    ),
    ("demo into a full folder", ["demo", "--out", "{full}"], "not empty"),
    # masks
    ("mask of another size", ["inpaint", "{rgb}", "--mask", "{mask_small}", "-o", "{out}/o.png"], "24×10"),
    (
        "all-white mask",
        ["inpaint", "{rgb}", "--mask", "{mask_white}", "-o", "{out}/o.png"],
        "nothing to fill",
    ),
    ("all-black mask", ["restore", "{rgb}", "--mask", "{mask_black}", "-o", "{out}/o.png"], "nothing to fit"),
    (
        "mask with transparency",
        ["inpaint", "{rgb}", "--mask", "{mask_alpha}", "-o", "{out}/o.png"],
        "transparency",
    ),
    ("missing mask", ["inpaint", "{rgb}", "--mask", "{out}/none.png", "-o", "{out}/o.png"], "no such file"),
    ("no mask", ["inpaint", "{rgb}", "-o", "{out}/o.png"], "--mask"),
    # parameters
    ("negative sigma", ["denoise", "{rgb}", "-o", "{out}/o.png", "--sigma", "-5"], "0 or more"),
    ("sigma of 300", ["denoise", "{rgb}", "-o", "{out}/o.png", "--method", "dip", "--sigma", "300"], "sigma"),
    ("every 0", [*DENOISE, "--every", "0"], "above 0"),
    ("iters 0", ["denoise", "{rgb}", "-o", "{out}/o.png", "--iters", "0"], "above 0"),
    ("iters not a number", ["denoise", "{rgb}", "-o", "{out}/o.png", "--iters", "many"], "not a number"),
    ("factor 0", ["super-resolve", "{rgb}", "-o", "{out}/o.png", "--factor", "0"], "above 0"),
    ("negative seed", [*DENOISE, "--seed", "-1"], "0 or more"),
    ("unknown method", ["denoise", "{rgb}", "-o", "{out}/o.png", "--method", "magic"], "invalid choice"),
    (
        "unknown kernel",
        ["super-resolve", "{rgb}", "-o", "{out}/o.png", "--kernel", "gauss"],
        "invalid choice",
    ),
    (
        "decoder preset for SR",
        ["super-resolve", "{rgb}", "-o", "{out}/o.png", "--preset", "decoder"],
        "decoder",
    ),
    (
        "early stop for zs-n2n",
        ["denoise", "{rgb}", "-o", "{out}/o.png", "--method", "zs-n2n", "--early-stop"],
        "early-stop",
    ),
    (
        "flash of another size",
        ["flash-no-flash", "--flash", "{flash_small}", "--no-flash", "{rgb}", "-o", "{out}/o.png"],
        "flash image",
    ),
    # checkpoints
    ("resume without checkpoint", [*DENOISE, "--resume"], "--checkpoint"),
    ("resume from nothing", [*DENOISE, "--resume", "--checkpoint", "{out}/none.ckpt"], "does not exist"),
    ("resume from junk", [*DENOISE, "--resume", "--checkpoint", "{junk_ckpt}"], "not a deepprior checkpoint"),
    (
        "resume another method's",
        [*DENOISE, "--resume", "--checkpoint", "{zs_ckpt}"],
        "zs-n2n run, not a dip one",
    ),
    (
        "resume another configuration",
        [*DENOISE, "--preset", "paper", "--resume", "--checkpoint", "{dip_ckpt}"],
        "different configuration (net_params)",
    ),
    # Noise2Noise models and training
    (
        "apply a non-model",
        ["n2n", "apply", "{junk_ckpt}", "{rgb}", "-o", "{out}/o.png"],
        "not a deepprior Noise2Noise model",
    ),
    (
        "apply a missing model",
        ["n2n", "apply", "{out}/none.pt", "{rgb}", "-o", "{out}/o.png"],
        "no model file",
    ),
    (
        "apply a checkpoint as a model",
        ["n2n", "apply", "{dip_ckpt}", "{rgb}", "-o", "{out}/o.png"],
        "not a deepprior Noise2Noise model",
    ),
    (
        "train width 2",
        ["n2n", "train", "--images", "{clean}", "--out", "{out}/m", *N2N_TINY, "--width", "2"],
        "width",
    ),
    (
        "train depth 0",
        ["n2n", "train", "--images", "{clean}", "--out", "{out}/m", *N2N_TINY, "--depth", "0"],
        "depth",
    ),
    (
        "train lr -1",
        ["n2n", "train", "--images", "{clean}", "--out", "{out}/m", *N2N_TINY, "--lr", "-1"],
        "learning rate",
    ),
    (
        "train into an old training",
        ["n2n", "train", "--images", "{clean}", "--out", "{model}", *N2N_TINY],
        "--resume",
    ),
    (
        "resume a training never made",
        ["n2n", "train", "--images", "{clean}", "--out", "{out}/m", "--resume", *N2N_TINY],
        "no checkpoint.pt",
    ),
    (
        "train on a missing folder",
        ["n2n", "train", "--images", "{out}/none", "--out", "{out}/m"],
        "not a folder",
    ),
    ("evaluate on no images", ["n2n", "eval", "{model}", "--images", "{no_images}"], "no images"),
    (
        "unknown noise",
        ["n2n", "train", "--images", "{clean}", "--out", "{out}/m", "--noise", "speckle"],
        "unknown noise",
    ),
    ("export to an image name", ["n2n", "export", "{model}", "-o", "{out}/m.png"], "unknown format '.png'"),
    # the benchmark
    (
        "bench: unknown method",
        ["bench", "denoise", "--images", "{clean}", "--methods", "magic", "--out", "{out}/b"],
        "unknown methods",
    ),
    (
        "bench: full output folder",
        ["bench", "denoise", "--images", "{clean}", "--out", "{full}"],
        "not empty",
    ),
    (
        "bench: no data",
        ["bench", "denoise", "--data", "{out}/none", "--out", "{out}/b"],
        "benchmark data not found",
    ),
    # MRI
    ("mri: an image for a scan", ["mri", "reconstruct", "{rgb}", "-o", "{out}/o.tif"], "not a scan file"),
    ("mri: a colour slice", ["mri", "simulate", "{rgb}", "-o", "{out}/s.npz"], "grey image"),
    ("mri: odd sides", ["mri", "simulate", "{odd_grey}", "-o", "{out}/s.npz"], "even sides"),
    (
        "mri: scan to an image name",
        ["mri", "simulate", "{rgb}", "-o", "{out}/s.png"],
        "unknown format '.png'",
    ),
    # Monte Carlo renders
    ("render-data: a full folder", ["render-data", "--out", "{full}", "--scenes", "1"], "not empty"),
    ("render-data: one frame", ["render-data", "--out", "{out}/r", "--frames", "1"], "frames at least 2"),
    (
        "bench render: clean images, not renders",
        ["bench", "render", "--train", "{clean}", "--test", "{clean}", "--out", "{out}/b"],
        "no pairs",
    ),
    (
        "n2n: --hdr reference targets without references",
        ["n2n", "train", "--pairs", "{pair_folder}", "--hdr", "--targets", "clean", "--out", "{out}/m"],
        "reference",
    ),
]


@pytest.mark.parametrize("name, argv, says", CORPUS, ids=[case[0] for case in CORPUS])
def test_bad_input_gets_one_line_and_exit_code_2(files, tmp_path, capsys, name, argv, says):
    before = {p: p.stat().st_mtime_ns for p in files.values() if p.is_file()}
    filled = [a.format(out=tmp_path, **files) if isinstance(a, str) else a for a in argv]
    err = one_line(capsys, filled)
    assert says in err, err
    assert {p: p.stat().st_mtime_ns for p in files.values() if p.is_file()} == before  # nothing touched
    assert not any(tmp_path.iterdir()), "nothing is written before a refusal"


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CORPUS) >= 40
    assert {argv[0] for _name, argv, _says in CORPUS} >= {*cli.TASK_INPUTS, "n2n", "bench", "demo"} - {
        "dejpeg"
    }


def test_ctrl_c_during_start_up_stops_at_once_even_when_started_ignoring_it(files, tmp_path):
    """A background job of a script starts with SIGINT ignored; kill -INT still stops it, during
    the imports or the model set-up, with one line and exit code 130."""
    command = [sys.executable, "-m", "deepprior", "denoise", str(files["rgb"]), "-o", str(tmp_path / "o.png")]
    for delay in (0.5, 2.0):
        child = subprocess.Popen(
            [*command, "--method", "dip", "--iters", "1000000", "--quiet", "--force"],
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        try:
            _out, err = child.communicate(timeout=60)
        finally:
            child.kill()
        assert child.returncode == 130, err
        assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(
            ("deepprior: interrupted", "interrupted:")
        )


@pytest.mark.filterwarnings("ignore:the noise std looks like")  # random pixels look like strong noise
def test_a_failed_final_write_keeps_the_result_and_says_where(files, tmp_path, capsys, monkeypatch):
    from deepprior import outputs

    real = outputs.write_image

    def disk_full(path, image, **kwargs):
        if Path(path).name == "o.png":
            raise OSError(28, "No space left on device")
        return real(path, image, **kwargs)

    monkeypatch.setattr(outputs, "write_image", disk_full)
    code = cli.main(["denoise", str(files["rgb"]), "-o", str(tmp_path / "o.png"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "No space left" in err
    kept = tmp_path / "o.partial.tif"
    assert str(kept) in err and read_image(kept).shape == (20, 24, 3)


def test_every_path_flag_is_a_known_input_or_a_checked_output():
    """A new output flag must join ``cli.FILE_OUTPUTS`` or ``FOLDER_OUTPUTS``, or it escapes the
    checks made before any work."""
    inputs = {"input", "mask", "reference", "flash", "no_flash", "model", "images", "pairs", "val", "data"}
    inputs |= {"train", "test"}  # bench render
    inputs |= {"manifest", "masks", "references"}  # batch

    def path_flags(parser: argparse.ArgumentParser) -> set[str]:
        found = set()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found |= set().union(*(path_flags(p) for p in action.choices.values()))
            elif action.type is Path:
                found.add(action.dest)
        return found

    unchecked = path_flags(cli.build_parser()) - inputs - set(cli.FILE_OUTPUTS) - set(cli.FOLDER_OUTPUTS)
    assert not unchecked
