"""Parameter and MAC counts (forward hooks) and the model summary behind ``nash models summary``.

Counting rules (what the paper and torchvision report as "params" / "MACs"):
* params: weights and biases of convolution, linear and BatchNorm layers. Learned quantizer
  scales are not counted (a few hundred numbers that vanish into thresholds in hardware).
* MACs: one per multiply-accumulate of convolutions and linear layers, for one input image.
  Pooling, BatchNorm, activations and additions are not counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch import nn

from nash.errors import ModelError
from nash.models.layers import QuantAdd

__all__ = [
    "count_params_macs",
    "count_adds",
    "nas_edges_by_op",
    "summarize",
    "summarize_build",
    "parse_input_shape",
]

_COUNTED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


def _count_params(model: nn.Module) -> int:
    total = 0
    for module in model.modules():
        if isinstance(module, _COUNTED):
            total += sum(p.numel() for p in module.parameters(recurse=False))
    return total


def _mac_hook(store: list[int]):
    def hook(module: nn.Module, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        out = output.value if hasattr(output, "value") else output  # a QuantTensor carries .value
        if isinstance(module, nn.Conv2d):
            per_out = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            store.append(out[0].numel() * per_out)
        else:  # nn.Linear
            store.append(out[0].numel() * module.in_features)

    return hook


def count_params_macs(model: nn.Module, input_shape: tuple[int, int, int]) -> tuple[int, int]:
    """Parameters and multiply-accumulates of one forward pass on a ``(C, H, W)`` input.

    Args:
        model: any module (conv/linear layers, Brevitas or plain, are counted).
        input_shape: one image's shape, e.g. ``(3, 224, 224)``.

    Returns:
        ``(params, macs)``.

    Raises:
        ModelError: ``input_shape`` is not three positive ints or does not fit the model.
    """
    if len(tuple(input_shape)) != 3 or any(int(d) < 1 for d in input_shape):
        raise ModelError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}")
    store: list[int] = []
    handles = [
        m.register_forward_hook(_mac_hook(store))
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        param = next(model.parameters(), None)
        x = torch.zeros(1, *(int(d) for d in input_shape), device=None if param is None else param.device)
        model.eval()
        with torch.no_grad():
            model(x)
    except RuntimeError as exc:
        raise ModelError(
            f"input shape {tuple(input_shape)} does not fit the model: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return _count_params(model), sum(store)


def count_adds(model: nn.Module) -> int:
    """Number of two-input quantized additions (``QuantAdd`` modules) in ``model``."""
    return sum(isinstance(m, QuantAdd) for m in model.modules())


def nas_edges_by_op(model: nn.Module) -> dict[str, int]:
    """How many kept NAS edges use each op (``zero`` included) over all cells."""
    counts: Counter[str] = Counter()
    for module in model.modules():
        for op, _ in getattr(module, "nodes", ()):
            counts[op] += 1
    return dict(sorted(counts.items()))


def summarize(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, Any]:
    """Roles and bit widths, params, MACs, adds and NAS edges by op, as plain values.

    ``bits`` is the model's bits label (``nash.space.quant.bits_label``: the tag, or the per-cell
    tags joined by ``"|"``); a model with per-cell main-branch bits also gets ``cell_bits``
    (``[[weight_bits, act_bits], ...]``), and ``roles`` are the global spec's.
    """
    from nash.space.quant import bits_label

    params, macs = count_params_macs(model, input_shape)
    spec = getattr(model, "quant_spec", None)
    cell_bits = getattr(model, "cell_bits", None)
    info: dict[str, Any] = {
        "bits": None if spec is None else bits_label(cell_bits, spec.tag),
        "roles": {} if spec is None else spec.roles(),
        "params": params,
        "macs": macs,
        "adds": count_adds(model),
        "nas_edges": nas_edges_by_op(model),
        "input_shape": list(input_shape),
    }
    if cell_bits is not None:
        info["cell_bits"] = [list(pair) for pair in cell_bits]
    return info


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``"1x32x32"`` -> ``(1, 32, 32)``; anything else raises ``ModelError`` with the expected form."""
    parts = str(text).lower().replace(",", "x").split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ModelError(f"input shape {text!r} is not CxHxW; write e.g. 1x32x32 or 3x224x224")
    c, h, w = (int(p) for p in parts)
    return c, h, w


def summarize_build(
    backbone: str,
    bits: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    genotype_path: str | None = None,
    version: str | None = None,
    width: int = 64,
    stem: str | None = None,
    **quant_overrides: Any,
) -> dict[str, Any]:
    """Build a model from plain values (what ``nash models summary`` does) and summarize it.

    Args:
        backbone: ``"resnet18"`` | ``"resnet34"``.
        bits: ``"wXaY"`` (every role; a schema-2 genotype's per-cell bits replace the main branch's).
        input_shape: ``(C, H, W)``; ``C`` sets the model's input channels.
        num_classes: classifier outputs.
        genotype_path: a ``genotype.json``; ``None`` = original network.
        version: ``"o"``/``"v1".."v4"``; default: ``"o"`` without genotype, else the genotype's strategy.
        width: channels of stage 0.
        stem: ``"imagenet"``/``"small"``; default: ``"small"`` below 64 px, else ``"imagenet"``.
        **quant_overrides: ``QuantSpec`` fields to override.
    """
    from nash.models.factory import build_model
    from nash.space import Genotype
    from nash.space.quant import VERSIONS, QuantSpec

    genotype = None if genotype_path is None else Genotype.load(genotype_path)
    if version is None:
        version = "o" if genotype is None else (genotype.strategy if genotype.strategy in VERSIONS else "v1")
    stem = stem or ("small" if min(input_shape[1:]) < 64 else "imagenet")
    spec = QuantSpec.from_tag(bits, version=version, **quant_overrides)
    model = build_model(backbone, genotype, spec, num_classes, input_shape[0], width, stem)
    info = summarize(model, input_shape)
    info.update(backbone=backbone, version=version, width=width, stem=stem, num_classes=num_classes)
    return info
