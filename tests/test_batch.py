"""``dp.batch`` and ``deepprior batch``: folders in, results and a report out, resumable, failures
isolated, in this process, in worker processes and on a real local Ray instance."""

import json
import os
import signal
from importlib.resources import files

import numpy as np
import pytest

import deepprior as dp
from deepprior import batching
from deepprior.cli import main
from deepprior.noise import add_gaussian


@pytest.fixture
def photos(tmp_path):
    """Six noisy 24×32 crops of the bundled F16 photo, two in a sub-folder, and their clean references."""
    f16 = dp.read_image(files("deepprior") / "data" / "f16_192.png")
    for i in range(6):
        clean = f16[24 * i : 24 * i + 24, 40:72]
        name = f"sub/p{i}.png" if i >= 4 else f"p{i}.png"
        dp.write_image(tmp_path / "photos" / name, add_gaussian(clean, 0.1, seed=i))
        dp.write_image(tmp_path / "clean" / name, clean)
    return tmp_path


def exit_code(argv):
    """What ``deepprior ARGV`` exits with (argparse's own errors exit from inside the parser)."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def outputs(folder):
    return {p.relative_to(folder).as_posix(): dp.read_image(p) for p in sorted(folder.rglob("p*.png"))}


def test_a_folder_is_denoised_under_the_same_names_with_a_report(photos):
    rows = dp.batch(
        "denoise", [photos / "photos"], out=photos / "out", references=photos / "clean", progress=False
    )
    assert [r["name"] for r in rows] == ["p0.png", "p1.png", "p2.png", "p3.png", "sub/p4.png", "sub/p5.png"]
    assert {r["status"] for r in rows} == {"done"} and all(r["psnr"] > 25 for r in rows)  # noisy: 20 dB
    assert outputs(photos / "out").keys() == {r["name"] for r in rows}
    report = json.loads((photos / "out" / "batch.json").read_text())
    assert report["summary"]["done"] == 6 and report["summary"]["images_per_minute"] > 0
    table = (photos / "out" / "batch.csv").read_text().splitlines()
    assert table[0].startswith("name,status,seconds,method") and len(table) == 7


def test_two_corrupt_files_are_recorded_and_the_others_done(photos, capsys):
    (photos / "photos" / "broken.png").write_bytes(b"not a png")
    (photos / "photos" / "sub" / "empty.jpg").write_bytes(b"")
    code = main(["batch", "denoise", str(photos / "photos"), "--out", str(photos / "out"), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "failed: " in err and "broken.png" in err and "empty.jpg" in err
    rows = {r["name"]: r for r in json.loads((photos / "out" / "batch.json").read_text())["rows"]}
    assert rows["broken.png"]["status"] == rows["sub/empty.jpg"]["status"] == "failed"
    assert "file is empty" in rows["sub/empty.jpg"]["error"]
    assert sum(r["status"] == "done" for r in rows.values()) == 6


def test_an_interrupted_batch_resumes_without_redoing_anything(photos, monkeypatch):
    whole = dp.batch("denoise", [photos / "photos"], out=photos / "whole", progress=False)
    calls = []
    real = batching.process

    def interrupted_after_two(*args, **kwargs):  # Ctrl-C while the second image runs
        calls.append(args[1].name)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(batching, "process", interrupted_after_two)
    first = dp.batch("denoise", [photos / "photos"], out=photos / "out", progress=False)
    assert [r["status"] for r in first] == ["done", "done", "pending", "pending", "pending", "pending"]
    again = dp.batch("denoise", [photos / "photos"], out=photos / "out", progress=False)
    assert [r["status"] for r in again] == ["skipped"] * 2 + ["done"] * 4
    assert calls == [r["name"] for r in whole]  # each image ran once over both runs
    done = outputs(photos / "out")
    assert all(np.array_equal(done[k], v) for k, v in outputs(photos / "whole").items())


def test_an_interrupted_fit_leaves_a_checkpoint_that_the_next_run_resumes(photos, monkeypatch):
    from deepprior import callbacks

    mask = np.ones((24, 32), bool)
    mask[8:12] = False
    for name in ("p0", "p1"):
        dp.write_image(photos / "masks" / f"{name}.png", mask)
    inputs = [str(photos / "photos" / "p0.png"), str(photos / "photos" / "p1.png")]
    options = {"masks": photos / "masks", "iters": 6, "progress": False}
    whole = dp.batch("inpaint", inputs, out=photos / "whole", **options)
    assert [r["method"] for r in whole] == ["dip", "dip"]
    real = callbacks.Checkpoint.on_step

    def ctrl_c_at_step_3(self, run):
        if run.iteration == 3 and not run.interrupted:
            os.kill(os.getpid(), signal.SIGINT)
        real(self, run)

    monkeypatch.setattr(callbacks.Checkpoint, "on_step", ctrl_c_at_step_3)
    first = dp.batch("inpaint", inputs, out=photos / "out", **options)
    assert [r["status"] for r in first] == ["interrupted", "pending"]
    assert (photos / "out" / ".checkpoints" / "p0.png.ckpt.pt").exists()
    monkeypatch.setattr(callbacks.Checkpoint, "on_step", real)
    again = dp.batch("inpaint", inputs, out=photos / "out", **options)
    assert [r["status"] for r in again] == ["done", "done"]
    assert not (photos / "out" / ".checkpoints" / "p0.png.ckpt.pt").exists()
    assert all(np.array_equal(v, outputs(photos / "whole")[k]) for k, v in outputs(photos / "out").items())


def test_worker_processes_give_the_same_outputs(photos):
    dp.batch("denoise", [photos / "photos"], out=photos / "one", progress=False)
    rows = dp.batch("denoise", [photos / "photos"], out=photos / "two", workers=2, progress=False)
    assert {r["status"] for r in rows} == {"done"}
    two = outputs(photos / "two")
    assert two.keys() == outputs(photos / "one").keys()
    assert all(np.array_equal(v, two[k]) for k, v in outputs(photos / "one").items())


def test_a_batch_runs_as_tasks_on_a_local_ray_instance(photos):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        (photos / "photos" / "broken.png").write_bytes(b"\x89PNG truncated")
        rows = dp.batch("denoise", [photos / "photos"], out=photos / "ray", ray=True, progress=False)
    finally:
        ray.shutdown()
    status = {r["name"]: r["status"] for r in rows}
    assert status.pop("broken.png") == "failed" and set(status.values()) == {"done"}
    dp.batch("denoise", [photos / "photos" / "p0.png"], out=photos / "here", progress=False)
    assert np.array_equal(dp.read_image(photos / "ray" / "p0.png"), dp.read_image(photos / "here" / "p0.png"))
    assert json.loads((photos / "ray" / "batch.json").read_text())["summary"]["failed"] == 1


def test_a_manifest_names_inputs_masks_and_references(photos):
    mask = np.ones((24, 32), bool)
    mask[::2, ::2] = False
    dp.write_image(photos / "keep.png", mask)
    (photos / "jobs.csv").write_text("input,mask,reference\nphotos/p0.png,keep.png,clean/p0.png\n")
    rows = dp.batch("restore", manifest=photos / "jobs.csv", out=photos / "out", iters=2, progress=False)
    assert rows[0]["name"] == "photos/p0.png" and rows[0]["status"] == "done" and "psnr" in rows[0]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["batch", "denoise", "--out", "o"], "give folders, images or patterns"),
        (["batch", "denoise", "missing/", "--out", "o"], "neither a folder, an image nor a pattern"),
        (["batch", "inpaint", "{photos}", "--out", "o"], "inpaint needs a mask for every image"),
        (["batch", "denoise", "{photos}", "--out", "o", "--format", "pgm"], "unknown image format 'pgm'"),
        (["batch", "super-resolve", "{photos}", "--out", "o", "--factor", "1"], "factor"),
        (["batch", "denoise", "{photos}", "--out", "o", "--workers", "0"], "must be above 0"),
    ],
)
def test_bad_batch_arguments_get_one_line_and_exit_code_2(photos, argv, says, capsys, monkeypatch):
    monkeypatch.chdir(photos)
    argv = [a.replace("{photos}", "photos") for a in argv]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1
    assert not (photos / "o" / "batch.json").exists()


def test_a_folder_of_another_batch_is_not_mixed_without_force(photos, capsys):
    out = photos / "out"
    assert main(["batch", "denoise", str(photos / "photos"), "--out", str(out), "--quiet"]) == 0
    assert main(["batch", "denoise", str(photos / "photos"), "--out", str(out), "--sigma", "10"]) == 2
    assert "holds a batch with other settings" in capsys.readouterr().err
    assert main(["batch", "denoise", str(photos / "photos"), "--out", str(out), "--quiet", "--force"]) == 0


def test_a_damaged_report_is_not_trusted_for_a_resume(photos, capsys):
    (photos / "out").mkdir()
    (photos / "out" / "batch.json").write_text("[]")
    assert main(["batch", "denoise", str(photos / "photos"), "--out", str(photos / "out")]) == 2
    assert "is not a batch report; pass --force" in capsys.readouterr().err


def test_an_image_without_its_mask_fails_alone(photos):
    mask = np.ones((24, 32), bool)
    mask[8:12] = False
    dp.write_image(photos / "masks" / "p0.png", mask)  # p1 has none
    inputs = [str(photos / "photos" / "p0.png"), str(photos / "photos" / "p1.png")]
    rows = dp.batch("inpaint", inputs, out=photos / "out", masks=photos / "masks", iters=2, progress=False)
    assert [r["status"] for r in rows] == ["done", "failed"]
    assert "masks/p1.png': no such file" in rows[1]["error"]
