"""``convcalc check``: the engine against real torch modules, rendered as a table or JSON.

torch is imported only here and in backend.build, and only when the command runs.
"""

from __future__ import annotations

import contextlib
import json

from convcalc.render import report as render
from convcalc.backend import build as torch_backend
from convcalc.errors import ConvcalcError
from convcalc.graph.run import evaluate
from convcalc import spec as specs
from convcalc.spec.load import MAX_BYTES

META_WARNING = ("the meta device accepts configurations that real kernels refuse: "
                "check on cpu or cuda to test refusals")


def run_check(path: str, input_shape, device: str | None, fmt: str, with_numerics: bool | None,
              emit, max_bytes: int = MAX_BYTES, progress=None) -> bool:
    """Check every document of ``path`` against torch and emit each result (a YAML stream
    is a batch, as for ``net``: a failing document gets an error and the others still
    run); True when every document agrees. ``progress(total, label)`` is a context that
    yields ``advance()``, called as torch runs each operation (the CLI's progress bar)."""
    torch = torch_backend.require_torch()
    text, source = specs.read_text(path, max_bytes)
    docs = specs.load_documents(text, source)
    if not docs:
        raise ConvcalcError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    device = device or torch_backend.default_device()
    if device == "cuda" and not torch.cuda.is_available():
        raise ConvcalcError("--device cuda: no CUDA device is available to torch",
                            fix="use --device cpu, or a machine with an NVIDIA GPU and a CUDA build of torch")
    if device == "meta":
        emit("warn", META_WARNING)
    if with_numerics is None:
        with_numerics = device.startswith("cuda")
    progress = progress or _silent
    if len(docs) == 1:
        return _check_one(evaluate(docs[0], source, input_shape), device, fmt, with_numerics, torch,
                          emit, progress)
    failed = 0
    for number, doc in enumerate(docs, 1):
        try:
            report = evaluate(doc, f"{source}#{number}", input_shape)
            failed += not _check_one(report, device, fmt, with_numerics, torch, emit, progress)
        except ConvcalcError as e:
            failed += 1
            if fmt == "json":
                emit("out", json.dumps(render.error_json(e), ensure_ascii=False))
            emit("err", str(e))
    return failed == 0


def _check_one(report, device, fmt, with_numerics, torch, emit, progress) -> bool:
    if with_numerics:  # the weights are built on the CPU, copied, and one copy moved
        torch_backend.check_memory(report, "cpu", copies=3)
    runs = 3 if with_numerics else 1  # numerics runs the network on the CPU and the device
    with progress(runs * len(report.rows), f"{report.name}: running torch on {device}") as advance:
        checks = torch_backend.compare(report, device, advance)
        nums = torch_backend.numerics(report, device, advance=advance) if with_numerics else None
    torch_params = sum(c.torch_params for c in checks)
    agree = all(c.ok for c in checks) and torch_params == report.totals["params"]
    if fmt == "json":
        emit("out", json.dumps(_as_json(report, checks, device, torch, agree, torch_params, nums)))
    else:
        emit("out", _as_text(report, checks, device, torch, agree, torch_params, nums))
    return agree


@contextlib.contextmanager
def _silent(total, label):
    yield lambda: None


def _shape(shape) -> str:
    return "-" if shape is None else "[" + ", ".join(map(str, shape)) + "]"


def _as_text(report, checks, device, torch, agree, torch_params, nums) -> str:
    good = sum(c.ok for c in checks)
    title = (f"{report.name} on {device} (torch {torch.__version__}): "
             f"{good} of {len(checks)} operations agree")
    rows = [[c.path, c.type, _shape(c.engine_shape),
             _shape(c.torch_shape) if c.torch_error is None else f"raised: {c.torch_error}",
             f"{c.engine_params:,}", f"{c.torch_params:,}", "ok" if c.ok else "MISMATCH"]
            for c in checks]
    cols = ("Layer", "Type", "Engine shape", "Torch shape", "Engine params", "Torch params", "")
    lines = [render.box_table(title, cols, rows, right=("Engine params", "Torch params"))]
    lines.append(f"Total params: engine {report.totals['params']:,}, torch {torch_params:,}; "
                 f"output: engine {_shape(report.output_shape)}, torch "
                 f"{_shape(checks[-1].torch_shape) if checks else '-'}: "
                 + ("all agree" if agree else "DISAGREE"))
    if nums is not None:
        lines.append(_numerics_text(nums))
    return "\n".join(lines)


def _numerics_text(n) -> str:
    rows = [[l.path, l.type, "-" if l.max_abs is None else f"{l.max_abs:.3g}",
             "-" if l.max_rel is None else f"{l.max_rel:.3g}", f"{l.reference_ms:.3f}",
             f"{l.device_ms:.3f}", l.note or ""] for l in n.layers]
    cols = ("Layer", "Type", "Max abs diff", "Max rel diff", f"{n.reference} ms", f"{n.device} ms", "Note")
    table = render.box_table(f"Numerics: the same weights and input on {n.reference} and {n.device}",
                             cols, rows, right=cols[2:6])
    memory = ("" if n.peak_memory_bytes is None else
              f"; peak CUDA memory {n.peak_memory_bytes / 2**20:,.2f} MiB measured (weights "
              f"included) against the engine's activation estimate {n.estimate_bytes / 2**20:,.2f} MiB")
    return (f"{table}\nTF32 matmul {'on' if n.tf32_matmul else 'off'}, TF32 cuDNN "
            f"{'on' if n.tf32_cudnn else 'off'}, cudnn.benchmark "
            f"{'on' if n.cudnn_benchmark else 'off'}{memory}")


def _as_json(report, checks, device, torch, agree, torch_params, nums) -> dict:
    data = {
        "name": report.name,
        "device": device,
        "torch_version": torch.__version__,
        "agree": agree,
        "layers": [{"path": c.path, "type": c.type, "engine_shape": list(c.engine_shape),
                    "torch_shape": None if c.torch_shape is None else list(c.torch_shape),
                    "engine_params": c.engine_params, "torch_params": c.torch_params,
                    "ok": c.ok, "torch_error": c.torch_error} for c in checks],
        "totals": {"engine_params": report.totals["params"], "torch_params": torch_params},
    }
    if nums is not None:
        data["numerics"] = {
            "device": nums.device, "reference": nums.reference,
            "tf32_matmul": nums.tf32_matmul, "tf32_cudnn": nums.tf32_cudnn,
            "cudnn_benchmark": nums.cudnn_benchmark, "peak_memory_bytes": nums.peak_memory_bytes,
            "activation_estimate_bytes": nums.estimate_bytes,
            "layers": [vars(l) for l in nums.layers],
        }
    return data
