"""Monte Carlo renders for Noise2Noise: noisy pairs and references of varied Cornell boxes.

Mitsuba 3 (the ``render`` extra) path-traces its built-in Cornell box on the CPU (``scalar_rgb``)
with the walls' colours, the light, the camera and the objects on the floor (cubes and spheres,
diffuse, plastic or rough metal: no glass, whose caustics a reference of a few hundred samples
per pixel leaves full of fireflies) drawn at random per scene. Frames of one scene rendered
with different seeds are independent Monte Carlo estimates of the same image: Noise2Noise pairs.
Images are (H, W, 3) float32 linear radiance, not clipped (the light is about 18).

>>> scene = cornell_scene(np.random.default_rng(0), size=16)
>>> image = render(scene, spp=2, seed=0)  # doctest: +SKIP
>>> image.shape, image.dtype  # doctest: +SKIP
((16, 16, 3), dtype('float32'))
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from .errors import InputError
from .imageio import atomic_path, write_image
from .outputs import check_folder

VARIANT = "scalar_rgb"  # CPU, no LLVM needed
MATERIALS = ("diffuse", "plastic", "metal")


def mitsuba():
    """The mitsuba module set to ``VARIANT``, or a one-line error that says how to get it."""
    try:
        import mitsuba as mi
    except ImportError:
        raise InputError("rendering needs mitsuba: pip install 'deepprior[render]'") from None
    if mi.variant() != VARIANT:
        mi.set_variant(VARIANT)
    return mi


def _colour(rng: np.random.Generator, low: float = 0.05, high: float = 0.85) -> list[float]:
    return [float(v) for v in rng.uniform(low, high, 3)]


def _material(rng: np.random.Generator) -> dict[str, Any]:
    kind = MATERIALS[rng.integers(len(MATERIALS))]
    if kind == "diffuse":
        return {"type": "diffuse", "reflectance": {"type": "rgb", "value": _colour(rng)}}
    if kind == "plastic":
        return {"type": "plastic", "diffuse_reflectance": {"type": "rgb", "value": _colour(rng)}}
    metal = ("Au", "Cu", "Al", "Ag")[rng.integers(4)]
    return {"type": "roughconductor", "material": metal, "alpha": float(rng.uniform(0.1, 0.4))}


def cornell_scene(rng: np.random.Generator, size: int = 128) -> dict[str, Any]:
    """A Mitsuba scene description: the built-in Cornell box with random wall colours, light
    (place on the ceiling, size, brightness), camera (place, aim, field of view) and 1–3 objects
    (a cube or a sphere of random size, place, turn and material) instead of its two boxes."""
    mi = mitsuba()
    T = mi.ScalarTransform4f
    scene = mi.cornell_box()
    for name in ("large-box", "small-box"):
        del scene[name]
    scene["red"]["reflectance"]["value"] = _colour(rng)
    scene["green"]["reflectance"]["value"] = _colour(rng)
    light = scene["light"]
    light["emitter"]["radiance"]["value"] = [float(v) * rng.uniform(0.4, 1.5) for v in (18.4, 14.0, 6.8)]
    x, z = rng.uniform(-0.5, 0.5, 2)
    half = rng.uniform(0.1, 0.3, 2)
    light["to_world"] = (
        T()
        .translate([float(x), 0.99, float(z)])
        .rotate([1, 0, 0], 90)
        .scale([float(half[0]), float(half[1]), 1.0])
    )
    sensor = scene["sensor"]
    sensor["film"]["width"] = sensor["film"]["height"] = size
    sensor["fov"] = float(rng.uniform(32, 45))
    origin = [float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.3, 0.4)), float(rng.uniform(3.4, 4.2))]
    target = [float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.3, 0.1)), 0.0]
    sensor["to_world"] = T().look_at(origin=origin, target=target, up=[0, 1, 0])
    for i in range(int(rng.integers(1, 4))):
        extent = float(rng.uniform(0.15, 0.4))
        x, z = rng.uniform(-0.95 + extent, 0.95 - extent, 2)
        shape = ("cube", "sphere")[rng.integers(2)]
        height = extent * float(rng.uniform(1, 2.5)) if shape == "cube" else extent
        place = T().translate([float(x), -1 + height, float(z)]).rotate([0, 1, 0], float(rng.uniform(0, 90)))
        scale = [extent, height, extent] if shape == "cube" else [extent] * 3
        scene[f"object-{i}"] = {"type": shape, "to_world": place.scale(scale), "bsdf": _material(rng)}
    return scene


def render(scene: dict[str, Any], spp: int, seed: int) -> np.ndarray:
    """Path-trace ``scene`` with ``spp`` samples per pixel and sampler ``seed``: (H, W, 3) float32
    linear radiance. Different seeds give independent estimates of the same image; the same seed
    the same one to float rounding (Mitsuba's threads sum in varying order: differences of about
    1e-8 in under 1 % of the pixels)."""
    mi = mitsuba()
    return np.array(mi.render(mi.load_dict(scene), spp=spp, seed=seed), dtype=np.float32)[..., :3]


def render_data(
    out: str | os.PathLike,
    scenes: int,
    *,
    size: int = 128,
    spp: int = 4,
    frames: int = 2,
    reference_spp: int = 256,
    seed: int = 0,
    force: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Render ``scenes`` random Cornell boxes (scene ``i`` drawn from the generator seeded by
    (seed, i): another ``seed`` gives other scenes) into ``out/scene_NNNN/``: ``frame_K.exr``,
    ``frames`` renders at ``spp`` with independent seeds, and ``reference.exr`` at
    ``reference_spp`` (0: none). The layout ``deepprior n2n train --pairs`` reads (the reference is
    the target of ``--targets clean`` and scores the validation). ``resume`` keeps the scenes an
    interrupted run finished (each file is written atomically; the same seeds give the same
    renders, to float rounding). Writes ``out/render.json`` (the settings, and the seconds spent
    on noisy frames and references: with ``resume``, this run's only) and returns it.
    """
    if min(scenes, size, spp) < 1 or frames < 2 or reference_spp < 0:
        raise InputError("scenes, size and spp must be positive, frames at least 2, reference_spp ≥ 0")
    out = check_folder(out, force=force, exists_ok=resume)
    seconds = {"frames": 0.0, "references": 0.0}
    for i in tqdm(range(scenes), desc="rendering", unit="scene", disable=not progress):
        scene = cornell_scene(np.random.default_rng([seed, i]), size)
        folder = out / f"scene_{i:04d}"
        renders = [(f"frame_{k}", spp, "frames") for k in range(frames)]
        renders += [("reference", reference_spp, "references")] if reference_spp else []
        if resume and all((folder / f"{name}.exr").exists() for name, _, _ in renders):
            continue
        for k, (name, samples, kind) in enumerate(renders):
            start = time.perf_counter()
            image = render(scene, samples, seed=1_000_003 * seed + 1009 * i + k)
            seconds[kind] += time.perf_counter() - start
            write_image(folder / f"{name}.exr", image, overwrite=True)
    record = {
        "scenes": scenes,
        "size": size,
        "spp": spp,
        "frames": frames,
        "reference_spp": reference_spp,
        "seed": seed,
        "variant": VARIANT,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    with atomic_path(out / "render.json") as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return record


__all__ = ["cornell_scene", "render", "render_data"]
