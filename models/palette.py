"""The offline palette tagger: a WD-format model built in code that tags which colours fill which regions.

Why: the bot must recognise flat-coloured characters on a fresh machine with nothing downloaded, and the
tests need a real ONNX model that goes through the same loading code as the hub taggers.

What the graph computes, for a BGR 0..255 input [N, S, S, 3] made by the WD preprocessing:
1. each pixel goes to CIELAB (sRGB gamma, D65 XYZ, CIE f), a space where distance follows perception;
2. a softmax over negative squared distances to named colour prototypes gives each pixel's soft
   membership of every colour (one MatMul, because |x-p|^2 = |x|^2 - 2x.p + |p|^2 and |x|^2 cancels);
3. white pixels weigh nothing: they are the padding the preprocessing adds, or blank paper (JPEG noise
   included), so a wide picture and a tall one of the same character give the same fractions and a
   cut-out on white matches a cut-out on white JPEG; the `white` tags therefore count off-white only;
4. the weighted membership is averaged over regions (whole, top/middle/bottom thirds, centre), giving
   the fraction of each region that has each colour;
5. a fraction f becomes the tag probability f ** 0.25: any visible amount of a colour counts, a region
   filled with it gives 1. (The fourth root was chosen on the evaluation sets: it spreads small
   fractions apart, which is where hair and eye colours live.)
Tags are named `{region}_{colour}`, e.g. `top_yellow`, `bottom_red`, `whole_dark_brown`.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.tagger import MODEL_FILE, TAGS_FILE, TagCategory

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

PALETTE_NAME = "palette"
PALETTE_VERSION = "1"
INPUT_SIZE = 128
"""Colour fractions are area statistics, so WD's 448 px is not needed: 128 px costs a few ms on one core.
Smaller loses accuracy on flat cartoons because downscaling blends the black outlines into the fills
(simpsons top-1 with 10 references, seeds 0-9: 0.654 at 64 px, 0.670 at 96, 0.689 at 128, 0.695 at 160,
0.708 at 224 for 2.5x the cost of 160; gotoubun stays at 0.58-0.59 throughout)."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "dark_grey": (70, 70, 70),
    "grey": (128, 128, 128),
    "light_grey": (190, 190, 190),
    "white": (245, 245, 245),
    "dark_red": (120, 20, 25),
    "red": (210, 35, 40),
    "pink": (240, 120, 170),
    "light_pink": (250, 195, 210),
    "magenta": (200, 40, 160),
    "orange": (245, 140, 30),
    "light_orange": (250, 190, 120),
    "dark_brown": (70, 40, 25),
    "brown": (140, 85, 45),
    "light_brown": (200, 160, 110),
    "skin": (250, 215, 185),
    "dark_yellow": (190, 160, 30),
    "yellow": (250, 220, 40),
    "light_yellow": (250, 240, 160),
    "olive": (120, 120, 40),
    "dark_green": (30, 90, 40),
    "green": (60, 170, 60),
    "light_green": (160, 220, 140),
    "teal": (30, 160, 160),
    "light_blue": (130, 190, 240),
    "blue": (40, 90, 220),
    "dark_blue": (15, 25, 130),
    "purple": (120, 50, 170),
    "lavender": (190, 160, 225),
}
"""Colour prototypes (sRGB). Names are what a person would call the colour of hair or clothes."""

REGIONS = ("whole", "top", "middle", "bottom", "centre")
SHARPNESS = 0.02
"""Softmax scale on squared Lab distance: prototypes ~15 Lab units apart share a pixel, ~40 apart do not."""
FRACTION_POWER = 0.25
PAPER_SUM = 740.0
"""B+G+R at or above this (channels about 247 and up) marks a pixel as padding or blank paper: weight 0."""
PAPER_RAMP = 30.0
"""The weight rises linearly to 1 over this much below PAPER_SUM (channels about 237 and down)."""

_XYZ_FROM_LINEAR_RGB = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_D65_WHITE = np.array([0.9505, 1.0, 1.089])


def palette_tag_names() -> list[str]:
    """The tag names in output order: region-major, then colour."""
    return [f"{region}_{colour}" for region in REGIONS for colour in COLOURS]


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB of sRGB 0..255 colours, computed as the graph does (used for the prototypes)."""
    linear = _linearise(np.asarray(rgb, dtype=np.float64) / 255.0)
    xyz = linear @ (_XYZ_FROM_LINEAR_RGB.T / _D65_WHITE[None, :])
    compressed = np.where(xyz > _LAB_KNEE, np.cbrt(np.maximum(xyz, _LAB_KNEE)), xyz * _LAB_SLOPE + _LAB_INTERCEPT)
    return compressed @ _LAB_FROM_CUBE_ROOT + _LAB_OFFSET


def _linearise(channel: np.ndarray) -> np.ndarray:
    return np.where(channel > 0.04045, ((channel + 0.055) / 1.055) ** 2.4, channel / 12.92)


# CIELAB's f(t): cube root above (6/29)^3, a straight line below it (so black is L = 0, not negative)
_LAB_KNEE = (6 / 29) ** 3
_LAB_SLOPE = 1 / (3 * (6 / 29) ** 2)
_LAB_INTERCEPT = 4 / 29
# L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz), as a matrix on [fx, fy, fz]
_LAB_FROM_CUBE_ROOT = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]])
_LAB_OFFSET = np.array([-16.0, 0.0, 0.0])


def region_masks(size: int) -> np.ndarray:
    """[n_regions, size*size] 0/1 masks of the regions over the (padded, square) input, row-major."""
    rows = (np.repeat(np.arange(size), size) + 0.5) / size  # pixel centres, so regions are symmetric
    cols = (np.tile(np.arange(size), size) + 0.5) / size
    shapes = {
        "whole": np.ones(size * size, dtype=bool),
        "top": rows < 1 / 3,
        "middle": (rows >= 1 / 3) & (rows < 2 / 3),
        "bottom": rows >= 2 / 3,
        "centre": (rows >= 0.25) & (rows < 0.75) & (cols >= 0.25) & (cols < 0.75),
    }
    return np.stack([shapes[region] for region in REGIONS]).astype(np.float32)


def build_palette_graph(size: int = INPUT_SIZE) -> onnx.ModelProto:
    """The palette tagger as an ONNX model: input `pixels_bgr` [N,S,S,3], output `palette_probs` [N,tags]."""
    import onnx  # only to build the model: a command that reads the built one must not pay ~0.7 s for it
    from onnx import TensorProto, helper, numpy_helper

    prototypes = srgb_to_lab(np.array(list(COLOURS.values()), dtype=np.float64))
    n_colours, n_regions = len(COLOURS), len(REGIONS)
    # BGR input: flip the RGB->XYZ matrix's input rows instead of the pixels
    xyz_from_linear_bgr = (_XYZ_FROM_LINEAR_RGB.T / _D65_WHITE[None, :])[::-1]
    # Lab affine map and the softmax logits beta*(2 lab.p - |p|^2) fold into one affine map of [fx, fy, fz]
    logit_weights = _LAB_FROM_CUBE_ROOT @ (2 * SHARPNESS * prototypes.T)
    logit_bias = _LAB_OFFSET @ (2 * SHARPNESS * prototypes.T) - SHARPNESS * (prototypes**2).sum(axis=1)

    def const(name: str, value: np.ndarray | float) -> None:
        initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))

    def shape(name: str, value: list[int]) -> None:
        initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.int64), name))

    initializers: list[onnx.TensorProto] = []
    const("inv_255", 1 / 255)
    const("gamma_threshold", 0.04045)
    const("gamma_offset", 0.055)
    const("gamma_scale", 1 / 1.055)
    const("gamma_power", 2.4)
    const("linear_scale", 1 / 12.92)
    const("xyz_matrix", xyz_from_linear_bgr)
    const("lab_knee", _LAB_KNEE)
    const("one_third", 1 / 3)
    const("lab_slope", _LAB_SLOPE)
    const("lab_intercept", _LAB_INTERCEPT)
    const("logit_weights", logit_weights)
    const("logit_bias", logit_bias)
    const("paper_sum", PAPER_SUM)
    const("weight_ramp", 1 / PAPER_RAMP)
    const("zero", 0.0)
    const("one", 1.0)
    const("regions", region_masks(size))
    const("epsilon", 1e-6)
    const("fraction_power", FRACTION_POWER)
    shape("channel_axis", [-1])
    shape("membership_shape", [0, size * size, n_colours])
    shape("weight_shape", [0, size * size, 1])
    shape("output_shape", [0, n_regions * n_colours])

    node = helper.make_node
    nodes = [
        node("Mul", ["pixels_bgr", "inv_255"], ["unit"]),
        node("Greater", ["unit", "gamma_threshold"], ["is_curved"]),
        node("Add", ["unit", "gamma_offset"], ["shifted"]),
        node("Mul", ["shifted", "gamma_scale"], ["shifted_scaled"]),
        node("Pow", ["shifted_scaled", "gamma_power"], ["curved"]),
        node("Mul", ["unit", "linear_scale"], ["straight"]),
        node("Where", ["is_curved", "curved", "straight"], ["linear"]),
        node("MatMul", ["linear", "xyz_matrix"], ["xyz"]),
        node("Greater", ["xyz", "lab_knee"], ["is_cubic"]),
        node("Max", ["xyz", "lab_knee"], ["xyz_floored"]),
        node("Pow", ["xyz_floored", "one_third"], ["cube_root"]),
        node("Mul", ["xyz", "lab_slope"], ["xyz_sloped"]),
        node("Add", ["xyz_sloped", "lab_intercept"], ["near_black"]),
        node("Where", ["is_cubic", "cube_root", "near_black"], ["compressed"]),
        node("MatMul", ["compressed", "logit_weights"], ["logits_raw"]),
        node("Add", ["logits_raw", "logit_bias"], ["logits"]),
        node("Softmax", ["logits"], ["membership"], axis=-1),
        # weight 0 for white (padding, paper), rising to 1 over PAPER_RAMP levels of B+G+R below it
        node("ReduceSum", ["pixels_bgr", "channel_axis"], ["channel_sum"], keepdims=1),
        node("Sub", ["paper_sum", "channel_sum"], ["below_paper"]),
        node("Mul", ["below_paper", "weight_ramp"], ["weight_raw"]),
        node("Clip", ["weight_raw", "zero", "one"], ["weight"]),
        node("Mul", ["membership", "weight"], ["weighted_membership"]),
        node("Reshape", ["weighted_membership", "membership_shape"], ["membership_flat"]),
        node("Reshape", ["weight", "weight_shape"], ["weight_flat"]),
        node("MatMul", ["regions", "membership_flat"], ["region_colour_mass"]),
        node("MatMul", ["regions", "weight_flat"], ["region_mass"]),
        node("Add", ["region_mass", "epsilon"], ["region_mass_safe"]),
        node("Div", ["region_colour_mass", "region_mass_safe"], ["fractions"]),
        node("Pow", ["fractions", "fraction_power"], ["rooted"]),
        node("Clip", ["rooted", "zero", "one"], ["probabilities"]),
        node("Reshape", ["probabilities", "output_shape"], ["palette_probs"]),
    ]
    graph = helper.make_graph(
        nodes,
        "palette_tagger",
        [helper.make_tensor_value_info("pixels_bgr", TensorProto.FLOAT, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("palette_probs", TensorProto.FLOAT, ["batch", n_regions * n_colours])],
        initializers,
    )
    model = helper.make_model(
        graph,
        producer_name="waifu-bot",
        producer_version=PALETTE_VERSION,
        opset_imports=[helper.make_opsetid("", 17)],
        doc_string="Colour-layout tagger in the WD format, built by models/palette.py.",
    )
    model.ir_version = 8  # readable by every onnxruntime >= 1.17
    onnx.checker.check_model(model)
    return model


def build_palette_tagger(out_dir: Path) -> Path:
    """Write model.onnx and selected_tags.csv of the palette tagger into out_dir (created if needed)."""
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(build_palette_graph(), str(out_dir / MODEL_FILE))
    with (out_dir / TAGS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for tag_id, name in enumerate(palette_tag_names()):
            writer.writerow([tag_id, name, int(TagCategory.GENERAL), 0])
    return out_dir


def ensure_palette_tagger(root: Path) -> Path:
    """Return root/palette-v{VERSION}, building it first if absent; a half-built folder is never visible."""
    root = Path(root)
    target = root / f"{PALETTE_NAME}-v{PALETTE_VERSION}"
    if (target / MODEL_FILE).is_file() and (target / TAGS_FILE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        build_palette_tagger(staging)
        try:
            os.rename(staging, target)
        except OSError:
            # another process finished first: keep its complete copy
            if not (target / MODEL_FILE).is_file():
                raise
        else:
            log.info("built the palette tagger at %s", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
