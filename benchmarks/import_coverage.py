"""Import coverage: every torchvision model (and timm / segmentation_models_pytorch
families where installed) through ``convcalc import``, exact or not.

    python benchmarks/import_coverage.py                 # everything installed
    python benchmarks/import_coverage.py --only resnet18,vit_b_16
    python benchmarks/import_coverage.py --subset ci     # the representative subset CI runs
    python benchmarks/import_coverage.py --family timm-unseen   # timm models outside the table's families
    python benchmarks/import_coverage.py --tracer export # every model through torch.export

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


TIMM = ["resnet50d", "efficientnet_b0", "mobilenetv3_large_100", "convnext_tiny", "regnety_016",
        "densenet121", "dla34", "cspresnet50", "hrnet_w18_small", "vit_small_patch16_224",
        "deit_small_patch16_224", "swin_tiny_patch4_window7_224"]
SMP = ["Unet", "FPN"]
# timm models outside the families above, chosen before their first import (the test of
# "models you have not seen"): --family timm-unseen
TIMM_UNSEEN = ["resnext50_32x4d", "seresnet50", "efficientnetv2_rw_s", "mixnet_s", "ghostnet_100",
               "repvgg_a2", "rexnet_100", "mobilevit_s", "levit_128", "pvt_v2_b0", "poolformer_s12",
               "convmixer_768_32", "xception41", "nf_resnet50", "resnest14d", "inception_v4",
               "mixer_b16_224", "beit_base_patch16_224", "edgenext_small", "coatnet_0_rw_224",
               "tresnet_m", "gernet_s", "selecsls42b", "dpn68", "vgg11_bn"]


def timm_models(names=None, which=None):
    try:
        from convcalc.backend.tvcompat import import_torchvision

        import_torchvision()
        import timm
    except ImportError:
        return []
    rows = []
    family = "timm-unseen" if which is TIMM_UNSEEN else "timm"
    for name in which or TIMM:
        if names and name not in names:
            continue
        def build(name=name):
            model = timm.create_model(name, pretrained=False)
            return model, [1, *model.default_cfg["input_size"]]
        rows.append((family, name, build))
    return rows


def smp_models(names=None):
    try:
        from convcalc.backend.tvcompat import import_torchvision

        import_torchvision()
        import segmentation_models_pytorch as smp
    except ImportError:
        return []
    return [("smp", name, lambda name=name: (getattr(smp, name)("resnet34", encoder_weights=None), [1, 3, 256, 256]))
            for name in SMP if not names or name in names]


def _macs(text: str) -> int:
    from convcalc import spec
    from convcalc.graph.run import analyse

    (doc,) = spec.load_documents(text, "<import>")
    return analyse(spec.parse_spec(doc, "<import>")).totals["macs"]


def round_trip(text: str, model, shape) -> str:
    """The spec exported as PyTorch code, loaded with the model's state_dict (strict), run
    on a random input: "same output", or what differed."""
    import importlib.util
    import tempfile

    import torch

    from convcalc import spec
    from convcalc.backend.export import to_torch
    from convcalc.graph.run import analyse

    (doc,) = spec.load_documents(text, "<import>")
    code = to_torch(analyse(spec.parse_spec(doc, "<import>")), "<import>")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    loader = importlib.util.spec_from_file_location("convcalc_round_trip", f.name)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    built = module.build_model().eval()
    x = torch.randn(shape)
    # a module the forward never runs (GoogLeNet's aux1 in eval) is not in the spec: its
    # keys, when the spec lacks them, are the only ones left out; every other key must load
    ran = set()
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: ran.add(name)) for name, m in model.named_modules()]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    ours = set(built.state_dict())
    state = {k: v for k, v in model.state_dict().items() if k in ours or k.rpartition(".")[0] in ran}
    try:
        built.load_state_dict(state, strict=True)
    except RuntimeError as e:
        return "state_dict: " + str(e).splitlines()[1].strip()[:80]
    with torch.no_grad():
        want, got = model(x), built(x)
    if isinstance(want, dict):
        want, got = next(iter(want.values())), got[0] if isinstance(got, tuple) else got
    if isinstance(want, (tuple, list)):
        want, got = want[0], got[0]
    return "same output" if torch.allclose(want, got, atol=1e-4, rtol=1e-3) else \
        f"output differs by {(want - got).abs().max().item():.3g}"


def run_one(model, shape, check_round_trip=False, tracer="auto"):
    from convcalc.backend import importer

    holder = type(sys)("convcalc_coverage_models")
    holder.model = model
    sys.modules["convcalc_coverage_models"] = holder
    start = time.perf_counter()
    try:
        text, _ = importer.import_spec("convcalc_coverage_models:model", shape, tracer=tracer)
        status, why = "exact", ""
    except Exception as e:  # noqa: BLE001 - the table records every outcome
        text, status = "", "failed"
        why = str(e) if not isinstance(e, (KeyError, AttributeError, TypeError)) else traceback.format_exc(limit=-2)
    elapsed = time.perf_counter() - start
    macs = _macs(text) if text else None
    params = sum(p.numel() for p in model.parameters())
    trip = None
    if text and check_round_trip:
        try:
            trip = round_trip(text, model, shape)
        except Exception as e:  # noqa: BLE001 - recorded, as every outcome
            trip = f"{type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}"
    return {"status": status, "why": why.strip().splitlines()[0] if why else "",
            "params": params, "macs": macs, "seconds": round(elapsed, 2), "lines": text.count("\n"),
            "tracer": "export" if "of torch.export's graph" in text else "fx" if text else "",
            "round_trip": trip}


def markdown(rows) -> str:
    families = list(dict.fromkeys(r["family"] for r in rows))
    lines = ["| family | models | exact | rate | median time |", "|---|---:|---:|---:|---:|"]
    for family in families:
        mine = [r for r in rows if r["family"] == family]
        exact = sum(r["status"] == "exact" for r in mine)
        times = sorted(r["seconds"] for r in mine)
        lines.append(f"| {family} | {len(mine)} | {exact} | {100 * exact / len(mine):.0f}% | "
                     f"{times[len(times) // 2]:.2f} s |")
    trips = [r for r in rows if r.get("round_trip")]
    if trips:
        same = sum(r["round_trip"] == "same output" for r in trips)
        lines += ["", f"Round trip (export, load the model's state_dict, same output): {same} of {len(trips)}."]
        lines += [f"- {r['family']} {r['model']}: {r['round_trip']}" for r in trips if r["round_trip"] != "same output"]
    failed = [r for r in rows if r["status"] != "exact"]
    if failed:
        lines += ["", "| model | why not exact yet |", "|---|---|"]
        lines += [f"| {r['family']} {r['model']} | {r['why'][:160].replace('|', '/')} |" for r in failed]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--subset", choices=["ci"], default=None)
    parser.add_argument("--family", default="classification,video,segmentation,timm,smp")
    parser.add_argument("--json", default=None, help="write the rows to this file")
    parser.add_argument("--tracer", choices=["auto", "fx", "export"], default="auto",
                        help="torch.fx with torch.export where fx fails (auto), or one of them only")
    parser.add_argument("--round-trip", action="store_true",
                        help="also export each spec, load the model's state_dict into it and compare outputs")
    parser.add_argument("--markdown", action="store_true",
                        help="print docs/torch.md's coverage table (exact rate per family, then the failures)")
    args = parser.parse_args(argv)
    from convcalc.backend.tvcompat import import_torchvision

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tv = import_torchvision()
    only = set(filter(None, args.only.split(","))) or (set(CI_SUBSET) if args.subset == "ci" else None)
    families = set(args.family.split(","))
    builds, published = [], {}
    for family, name in torchvision_models(only):
        if family in families:
            shape, meta = input_of(family, name, tv)
            published[family, name] = meta.get("_ops")
            builds.append((family, name, lambda family=family, name=name, shape=shape: (
                tv.models.get_model(name, **factory(family, name)), shape)))
    if "timm" in families:
        builds += timm_models(only)
    if "timm-unseen" in families:
        builds += timm_models(only, TIMM_UNSEEN)
    if "smp" in families:
        builds += smp_models(only)
    rows = []
    for family, name, build in builds:
        model, shape = build()
        row = {"family": family, "model": name, **run_one(model.eval(), shape, args.round_trip, args.tracer)}
        row["published_gmacs"] = published.get((family, name))
        rows.append(row)
        gmacs = f"{row['macs'] / 1e9:8.3f}" if row["macs"] is not None else "       -"
        tv_ops = f"{row['published_gmacs']:8.3f}" if row["published_gmacs"] else "       -"
        print(f"{family:14} {name:28} {row['status']:7} {row['seconds']:6.2f}s {row['params']:>12,} "
              f"{gmacs} {tv_ops} {row['lines']:5} lines {row['tracer']:6} {row['round_trip'] or ''}  {row['why'][:150]}", flush=True)
    exact = sum(r["status"] == "exact" for r in rows)
    print(f"\n{exact}/{len(rows)} exact")
    if args.markdown:
        print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if exact == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
