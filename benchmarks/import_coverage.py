"""Import coverage: every torchvision model (and timm / segmentation_models_pytorch
families where installed) through ``convcalc import``, exact or not.

    python benchmarks/import_coverage.py                 # everything installed
    python benchmarks/import_coverage.py --only resnet18,vit_b_16
    python benchmarks/import_coverage.py --subset ci     # the representative subset CI runs

Per model: exact / approximate / failed (with the first reason), params, MACs (convcalc's,
and torchvision's published GFLOPS where its weights metadata has them), the import time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CI_SUBSET = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5",
             "squeezenet1_0", "vit_b_16", "swin_t", "convnext_tiny", "regnet_y_400mf",
             "densenet121", "googlenet", "r3d_18", "fcn_resnet50"]


def torchvision_models(names=None):
    from convcalc.backend.tvcompat import import_torchvision

    tv = import_torchvision()
    models = tv.models
    rows = []
    for family, module in (("classification", models), ("video", models.video),
                           ("segmentation", models.segmentation), ("optical_flow", models.optical_flow),
                           ("detection", models.detection), ("quantization", models.quantization)):
        for name in models.list_models(module=module):
            if names and name not in names:
                continue
            rows.append((family, name))
    return rows


def input_of(family: str, name: str, tv):
    weights = tv.models.get_model_weights(name)
    meta = weights.DEFAULT.meta if hasattr(weights, "DEFAULT") else {}
    if family == "video":  # 16 frames at the crop size of its weights
        crop = getattr(weights.DEFAULT.transforms(), "crop_size", [112])
        return [1, 3, 16, *crop], meta
    if family == "segmentation":
        return [1, 3, 520, 520], meta
    if name.startswith("vit_"):  # weights=None builds the 224 model (the weights set image_size)
        return [1, 3, 224, 224], meta
    transforms = weights.DEFAULT.transforms() if hasattr(weights, "DEFAULT") else None
    crop = getattr(transforms, "crop_size", [224])
    crop = crop[0] if isinstance(crop, (list, tuple)) else crop
    return [1, 3, crop, crop], meta


def factory(family, name):
    kwargs = {"weights": None}
    if family == "segmentation":
        kwargs["weights_backbone"] = None
    if name in ("googlenet", "inception_v3"):
        kwargs["init_weights"] = False
    return kwargs


def run_one(target_module, name, shape, kwargs):
    import torch

    from convcalc.backend import importer

    holder = type(sys)("convcalc_coverage_models")
    from convcalc.backend.tvcompat import import_torchvision

    tv = import_torchvision()
    model = tv.models.get_model(name, **kwargs)
    holder.model = model
    sys.modules["convcalc_coverage_models"] = holder
    start = time.perf_counter()
    try:
        text, notes = importer.import_spec("convcalc_coverage_models:model", shape)
        status, why = "exact", ""
    except Exception as e:  # noqa: BLE001 - the table records every outcome
        text, notes, status = "", [], "failed"
        why = str(e) if not isinstance(e, (KeyError, AttributeError, TypeError)) else traceback.format_exc(limit=-2)
    elapsed = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    return {"model": name, "status": status, "why": why.strip().splitlines()[0] if why else "",
            "params": params, "seconds": round(elapsed, 2), "lines": text.count("\n")}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--subset", choices=["ci"], default=None)
    parser.add_argument("--family", default="classification,video,segmentation")
    parser.add_argument("--json", default=None, help="write the rows to this file")
    args = parser.parse_args(argv)
    from convcalc.backend.tvcompat import import_torchvision

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tv = import_torchvision()
    only = set(filter(None, args.only.split(","))) or (set(CI_SUBSET) if args.subset == "ci" else None)
    families = set(args.family.split(","))
    rows = []
    for family, name in torchvision_models(only):
        if family not in families:
            continue
        shape, meta = input_of(family, name, tv)
        row = run_one(None, name, shape, factory(family, name))
        row["family"] = family
        gflops = meta.get("_ops")
        row["tv_gflops"] = gflops
        rows.append(row)
        print(f"{family:14} {name:28} {row['status']:7} {row['seconds']:6.2f}s {row['lines']:5} lines  {row['why'][:150]}",
              flush=True)
    exact = sum(r["status"] == "exact" for r in rows)
    print(f"\n{exact}/{len(rows)} exact")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if exact == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
