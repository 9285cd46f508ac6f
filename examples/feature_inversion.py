"""What the shipped Noise2Noise U-Net's encoder sees: feature inversion and activation
maximisation under the Deep Image Prior against the pixels under a TV prior (the comparison of
the DIP paper's natural pre-image). Writes docs/feature_inversion.png and prints the figures.

usage: python examples/feature_inversion.py [--iters 1500] [--out docs/feature_inversion.png]

The network: the grey Gaussian model shipped with deepprior (``dp.n2n.pretrained()``), its
encoder's layers ``down.1`` (½ resolution), ``down.3`` (⅛) and ``bottom`` (1/32). The target:
scikit-image's ``camera`` at 128². The TV weight is chosen on another image (scikit-image's
``moon``, the development image here) by the PSNR of its inversion at ``down.3``, from the
weights in ``TV_WEIGHTS``; DIP runs the ``operator`` task's fast preset. Printed per layer and
prior: the features' relative error ‖Φ(x) − Φ(x₀)‖ / ‖Φ(x₀)‖ and the PSNR against the target.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from skimage import data  # noqa: E402
from skimage.transform import resize  # noqa: E402

import deepprior as dp  # noqa: E402
from deepprior.features import FeatureMap  # noqa: E402

LAYERS = ("down.1", "down.3", "bottom")
TV_WEIGHTS = (0.01, 0.03, 0.1, 0.3)
UNITS = ("down.3", (3, 17))


def grey(image: np.ndarray, size: int = 128) -> np.ndarray:
    return resize(image.astype(np.float64) / image.max(), (size, size), anti_aliasing=True).astype(np.float32)


def relative_error(net: torch.nn.Module, layer: str, x: np.ndarray, target: np.ndarray) -> float:
    op = FeatureMap(net, layer, 1, target.shape)
    with torch.no_grad():
        a, b = (op(torch.from_numpy(v)[None, None]) for v in (x, target))
    return float((a - b).norm() / b.norm())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iters", type=int, default=1500, help="steps of each fit (default 1500)")
    parser.add_argument("--out", type=Path, default=Path("docs/feature_inversion.png"))
    args = parser.parse_args()
    net = dp.n2n.pretrained("cpu").model.net
    dev, target = grey(data.moon()), grey(data.camera())

    def tv(image: np.ndarray, layer: str, weight: float) -> np.ndarray:
        config = {"weight": weight}
        return dp.invert_features(net, image, layer, method="tv", iters=args.iters, config=config).image

    chosen = max(TV_WEIGHTS, key=lambda w: dp.psnr(tv(dev, "down.3", w), dev))
    print(f"TV weight chosen on moon at down.3: {chosen:g} (of {', '.join(map(str, TV_WEIGHTS))})")
    rows, images = [], {}
    for layer in LAYERS:
        images[layer, "DIP"] = dp.invert_features(net, target, layer, iters=args.iters).image
        images[layer, "TV"] = tv(target, layer, chosen)
        for prior in ("DIP", "TV"):
            out = images[layer, prior]
            error = relative_error(net, layer, out, target)
            rows.append(f"| {layer} | {prior} | {error:.3f} | {dp.psnr(out, target):.2f} |")
    layer, units = UNITS
    for unit in units:
        for prior, method in (("DIP", "dip"), ("TV", "tv")):
            config = {"weight": chosen} if method == "tv" else None
            images[f"{layer} unit {unit}", prior] = dp.maximise_activation(
                net, layer, unit, size=(128, 128), channels=1, method=method, iters=args.iters, config=config
            ).image
    print("| layer | prior | feature error | PSNR vs target |\n|---|---|---|---|\n" + "\n".join(rows))
    columns = [*LAYERS, *(f"{layer} unit {u}" for u in units)]
    fig, axes = plt.subplots(2, len(columns) + 1, figsize=(2.2 * (len(columns) + 1), 4.6))
    for row, prior in enumerate(("DIP", "TV")):
        axes[row, 0].imshow(target, cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title("target" if row == 0 else "", fontsize=9)
        axes[row, 0].set_ylabel(prior)
        for col, name in enumerate(columns, 1):
            axes[row, col].imshow(images[name, prior], cmap="gray", vmin=0, vmax=1)
            axes[row, col].set_title(f"{name}" if row == 0 else "", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "Inverting the N2N U-Net's features (left) and maximising a unit (right): DIP (top) vs TV (bottom)"
    )
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
