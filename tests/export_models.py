"""Models torch.fx cannot trace (they branch on a size, as segmentation_models_pytorch's
FPN does) for the torch.export path of ``convcalc import``."""

import torch
import torch.nn.functional as F
from torch import nn


class SizeCheck(nn.Module):
    """An FPN in miniature: the input must be a multiple of 4 (checked with ``if``, which
    torch.fx cannot trace), a strided encoder, an upsampling decoder with a skip."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.deeper = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.lateral = nn.Conv2d(16, 8, 1)
        self.gamma = nn.Parameter(torch.ones(1, 8, 1, 1))
        self.norm = nn.GroupNorm(4, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % 4 != 0 or w % 4 != 0:
            raise ValueError(f"the input must be a multiple of 4, got {h}x{w}")
        skip = self.stem(x)
        y = self.deeper(torch.relu(self.down(skip)))
        y = F.interpolate(y, scale_factor=2.0, mode="nearest")
        y = self.lateral(y)
        y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        y = self.norm(y * self.gamma + skip)
        y = torch.cat([y[:, :4], y[:, 4:]], dim=1).mean(dim=(2, 3), keepdim=True) + y
        return self.head(y)


class DataBranch(nn.Module):
    """Branches on a tensor's value: neither torch.fx nor torch.export can trace it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        if y.sum() > 0:
            return y
        return -y


class Attention(nn.Module):
    """A size check, then self-attention: MultiheadAttention reads one value three times."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        if x.shape[1] % 2:
            raise ValueError("an even number of tokens")
        return self.attn(x, x, x, need_weights=False)[0]


class TextEncoder(nn.Module):
    """torch.nn.TransformerEncoder, which torch.fx cannot trace (it branches on its inputs'
    properties for its fused fast path): token indices in."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2)
        self.head = nn.Linear(16, 3)

    def forward(self, ids):
        return self.head(self.encoder(self.embed(ids)).mean(1))
