"""Models for the import tests: branches, functional calls, and something fx cannot trace."""

import torch
import torch.nn.functional as F
from torch import nn


class Residual(nn.Module):
    def __init__(self, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels if stride == 1 else channels // 2, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = (nn.Conv2d(channels // 2, channels, 1, stride) if stride != 1 else None)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.shortcut(x) if self.shortcut is not None else x
        return F.relu(out + identity)


class ResidualNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block1 = Residual(16)
        self.block2 = Residual(32, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = self.block2(self.block1(F.relu(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(8, 2, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x)], dim=1)


class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 5, stride=2)
        self.mix = Inception()
        self.head = nn.Linear(12 * 6 * 6, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 2)
        x = self.mix(x)
        return self.head(x.view(x.size(0), -1))


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10))


class DataDependent(nn.Module):
    """fx cannot trace Python control flow on tensor values: the hooks fallback."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 2)

    def forward(self, x):
        x = self.conv(x)
        if x.sum() > 0:
            x = x * 2
        return self.fc(x.flatten(1))


class Bottleneck(nn.Module):
    """torchvision's pattern: one ReLU module called three times, and ``out += identity``."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 4, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.conv3 = nn.Conv2d(4, 16, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class SqueezeExcite(nn.Module):
    """MobileNetV3's gate: a [N, C, 1, 1] scale times the input; a learned per-channel
    layer scale used by functional code; the mean as global pooling."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.fc2 = nn.Conv2d(4, 16, 1)
        self.gamma = nn.Parameter(torch.ones(16, 1, 1))
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.conv(x)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        x = x * scale * self.gamma
        return self.head(x.mean((2, 3)))


class Tokens(nn.Module):
    """ViT's shape arithmetic: sizes read off the input, checked with torch._assert, a
    class token expanded to the batch, a reshape by computed sizes."""

    def __init__(self, patch=4, dim=8):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        n, c, h, w = x.shape
        torch._assert(h % self.patch == 0, "height must be a multiple of the patch")
        x = self.proj(x)
        x = x.reshape(n, x.shape[1], (h // self.patch) * (w // self.patch)).permute(0, 2, 1)
        x = torch.cat([self.cls.expand(n, -1, -1), x], dim=1)
        return self.norm(x)


class UpSkip(nn.Module):
    """A UNet step: upsample to the skip's runtime size, concatenate, convolve."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fuse = nn.Conv2d(11, 4, 3, padding=1)

    def forward(self, x):
        low = F.relu(self.down(x))
        up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([up, x], dim=1))


class SamePad(nn.Conv2d):
    """A Conv2d subclass with its own forward (timm's Conv2dSame pattern): traced
    through, so the padding it computes is part of the spec."""

    def forward(self, x):
        return F.conv2d(F.pad(x, (1, 1, 1, 1)), self.weight, self.bias, self.stride)


class PlainConv(nn.Conv2d):
    """A subclass that keeps Conv2d's forward: imported as the Conv2d it is."""


class Subclasses(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = PlainConv(3, 4, 3)
        self.b = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.b(self.a(x))


class Unknown(nn.Module):
    """torch.lgamma is not an operation convcalc knows: no exact import."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.lgamma(self.conv(x))


class Unused(nn.Module):
    """An auxiliary head the forward never calls (GoogLeNet's in eval mode)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(100, 10)

    def forward(self, x):
        return self.conv(x)


class TokenClassifier(nn.Module):
    """Token indices in, as a language model takes them (--dtype int64)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, ids):
        return self.head(self.embed(ids).mean(1))


def scripted():
    return torch.jit.script(small_cnn())


class Recurrent(nn.Module):
    """One block applied three times (a recursive refinement): its parameters count once."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.gate = Gate()

    def forward(self, x):
        x = self.stem(x)
        for _ in range(3):
            x = self.gate(self.block(x))
        return x


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))


class InPlace(nn.Module):
    """MViT's positional encoding: a tensor changed in place (add_) and then read."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.temporal = nn.Parameter(torch.zeros(2, 4))
        self.spatial = nn.Parameter(torch.zeros(3, 4))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)  # [N, 36, 4]
        pos = torch.repeat_interleave(self.temporal, 3, dim=0)  # [6, 4]
        pos.add_(self.spatial.unsqueeze(0).expand(2, -1, -1).reshape(-1, 4))
        x = x[:, :6]
        x.add_(pos)
        return x


class MaskedBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, attn_mask=None):
        return x + F.scaled_dot_product_attention(self.fc(x), x, x, attn_mask=attn_mask)


class Masked(nn.Module):
    """timm's ViT: forward(x, attn_mask=None) passes the default through its blocks."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([MaskedBlock() for _ in range(3)])

    def forward(self, x, attn_mask=None):
        for block in self.blocks:
            x = block(x, attn_mask=attn_mask)
        return x


class MadeTensors(nn.Module):
    """Tensors made in forward, on the input's device: a zeros class token, an arange as a
    position added to the tokens and as an index, a full(-inf) attention bias, new_zeros."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, stride=4)
        self.qkv = nn.Linear(8, 24)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)  # [b, n, 8]
        token = torch.zeros((x.size(0), 1, x.size(2)), device=x.device)  # fx: traced sizes in a tuple
        x = torch.cat([token, x], dim=1) + torch.ones(1, 1, 8, device=x.device)
        positions = torch.arange(x.size(1), device=x.device)
        x = x + positions[None, :, None] / 100
        x = x[:, torch.arange(0, x.size(1), 2, device=x.device)]  # every other token
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        bias = torch.full((x.size(1), x.size(1)), float("-inf"), device=x.device)
        x = x + ((q @ k.transpose(1, 2) + bias).softmax(-1) @ v)
        x = x + x.new_zeros(x.size(1), 1) + torch.ones_like(x, device=torch.device("cpu"))
        return self.head(x.mean(1))


class NormAct(nn.Module):
    """timm's BatchNormAct2d: BatchNorm's tensors read by F.batch_norm in a module traced
    into; num_batches_tracked is never read in eval, but is in the state_dict."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.1, 1e-5)
        return F.relu(x)


class NormActNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn1 = NormAct(8)
        self.conv2 = nn.Conv2d(8, 8, 3)
        self.bn2 = NormAct(8)

    def forward(self, x):
        return self.bn2(self.conv2(self.bn1(self.conv(x))))


class DeadBranch(nn.Module):
    """A branch computed and never used: the model still runs it (its MACs are real)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.unused = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        self.unused(x)  # computed for nothing
        return torch.relu(x)


class ImageAndTokens(nn.Module):
    """Two inputs: an image and token indices, joined (one --input each, in order)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2)
        self.embed = nn.Embedding(50, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, image, ids):
        pixels = self.conv(image).flatten(2).transpose(1, 2)
        tokens = self.embed(ids)
        return self.head(torch.cat([pixels, tokens], dim=1))


class RMSNormNet(nn.Module):
    """Pointwise math as hand-written models use it: an RMSNorm (pow, mean, rsqrt), a
    clamped cosine similarity (normalize, clamp), a learned temperature (exp), a dtype cast."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.scale = nn.Parameter(torch.ones(8))
        self.logit_scale = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        h = self.proj(x)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * self.scale
        q = F.normalize(h, dim=-1)
        attn = (q @ q.transpose(-2, -1)).clamp(min=-1.0, max=1.0) * self.logit_scale.exp()
        return (attn.softmax(-1) @ h).float() + x.cumsum(1) ** 2


class NonPersistent(nn.Module):
    """A buffer outside the state_dict (register_buffer(..., persistent=False)), read by
    forward, inside a traced-through module, as timm's LeViT, BEiT and TResNet have them."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.gate = nn.Module()
        self.gate.register_buffer("ones", torch.ones(1, 4, 1, 1), persistent=False)

    def forward(self, x):
        return self.conv(x) * self.gate.ones
