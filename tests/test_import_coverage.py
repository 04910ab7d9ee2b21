"""The import coverage's representative subset (benchmarks/import_coverage.py runs every
torchvision model; docs/torch.md has the table): each imports exactly, and the exported
spec loads the model's own state_dict and gives its output."""

import importlib.util
import sys

import pytest

from conftest import requires_torch
from convcalc.errors import ConvcalcError

pytestmark = requires_torch
torch = pytest.importorskip("torch")

# one model per family of the table, small sizes first; (name, input, factory kwargs)
SUBSET = [
    ("resnet18", (1, 3, 224, 224), {}),
    ("mobilenet_v3_small", (1, 3, 224, 224), {}),
    ("efficientnet_b0", (1, 3, 224, 224), {}),
    ("shufflenet_v2_x0_5", (1, 3, 224, 224), {}),
    ("squeezenet1_1", (1, 3, 224, 224), {}),
    ("densenet121", (1, 3, 64, 64), {}),
    ("googlenet", (1, 3, 224, 224), {"init_weights": False, "aux_logits": False}),
    ("regnet_y_400mf", (1, 3, 224, 224), {}),
    ("convnext_tiny", (1, 3, 64, 64), {}),
    ("swin_v2_t", (1, 3, 64, 64), {}),
    ("vit_b_32", (1, 3, 224, 224), {}),
    ("mnasnet0_5", (1, 3, 224, 224), {}),
    ("r3d_18", (1, 3, 8, 56, 56), {}),
    ("swin3d_t", (1, 3, 4, 64, 64), {}),  # a short clip: the time window shrinks to it
    ("lraspp_mobilenet_v3_large", (1, 3, 96, 96), {"weights_backbone": None}),
    # dilated ResNet: three Bottleneck variants, blocks named bottleneck and bottleneck_3
    # (exported function names must stay distinct)
    ("fcn_resnet50", (1, 3, 64, 64), {"weights_backbone": None}),
    # _add_shortcut adds into its argument and the forward ignores its result: kept, in place
    ("mvit_v2_s", (1, 3, 16, 224, 224), {}),
]


def _export(text: str, tmp_path, name: str):
    from convcalc import spec
    from convcalc.backend.export import to_torch
    from convcalc.graph.run import analyse

    (doc,) = spec.load_documents(text, name)
    path = tmp_path / f"exported_{name}.py"
    path.write_text(to_torch(analyse(spec.parse_spec(doc, name)), name))
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.build_model().eval()


@pytest.mark.parametrize("name, shape, kwargs", SUBSET, ids=[s[0] for s in SUBSET])
def test_torchvision_models_import_exactly_and_round_trip(torchvision, tmp_path, name, shape, kwargs):
    from convcalc.backend.importer import import_spec

    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    holder = type(sys)("coverage_subset")
    holder.model = model
    sys.modules["coverage_subset"] = holder
    text, notes = import_spec("coverage_subset:model", shape)
    assert not text.startswith("# APPROXIMATE")
    exported = _export(text, tmp_path, name)
    exported.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(shape)
    with torch.no_grad():
        want, got = model(x), exported(x)
    if isinstance(want, dict):  # segmentation models return {"out": ...}
        want, got = want["out"], got[0] if isinstance(got, tuple) else got
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)


def test_maxvit_imports_exactly(torchvision):
    """MaxViT indexes its relative-position table with an int64 buffer (viewed flat): an
    index tensor whose dtype the spec knows. Its windows of 7 need 224 (224 / 32 = 7).
    (Not in SUBSET: fx reads its index buffer while tracing and keeps a constant of its
    values, which a spec, having no data, holds as a zero buffer outside the state_dict:
    the shapes are exact, the exported model's numbers are not the model's.)"""
    from convcalc.backend.importer import import_spec

    holder = type(sys)("coverage_maxvit")
    holder.model = torchvision.models.maxvit_t(weights=None).eval()
    sys.modules["coverage_maxvit"] = holder
    text, _ = import_spec("coverage_maxvit:model", (1, 3, 224, 224))
    assert not text.startswith("# APPROXIMATE") and "\"dtype\": \"int64\"" in text


def test_what_is_not_expressible_is_refused_by_name(torchvision):
    """A boolean mask index keeps a data-dependent number of elements: refused with the
    node and the reason, not imported wrongly."""
    from convcalc.backend.importer import import_spec

    class Masked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("keep", torch.tensor([True, False, True]))

        def forward(self, x):
            return x[:, self.keep] * 2

    holder = type(sys)("coverage_refused")
    holder.model = Masked().eval()
    sys.modules["coverage_refused"] = holder
    with pytest.raises(ConvcalcError, match=r"cannot import exactly: node getitem.*bool index tensor is a mask"):
        import_spec("coverage_refused:model", (1, 3, 8))
