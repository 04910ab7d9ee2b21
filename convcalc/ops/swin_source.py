"""Our own torch code for Swin's layers and torchvision's wrapped functions: what the torch
backend builds and exported files define (the same parameter and buffer names as
torchvision, the same results), so that neither needs torchvision."""

PATCH_MERGING_PAD_FUNCTION = '''def _patch_merging_pad(x):
    """torchvision's _patch_merging_pad: pad [..., H, W, C] to even H and W, then put the four
    pixels of each 2x2 patch side by side: [..., H/2, W/2, 4C]."""
    H, W, _ = x.shape[-3:]
    x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    top_left, bottom_left = x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :]
    top_right, bottom_right = x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]
    return torch.cat([top_left, bottom_left, top_right, bottom_right], -1)
'''

RELATIVE_POSITION_BIAS_FUNCTION = '''def _get_relative_position_bias(relative_position_bias_table, relative_position_index,
                                window_size):
    """torchvision's _get_relative_position_bias: the table's row for every pair of a window's
    N = wh * ww tokens, as a (1, num_heads, N, N) bias."""
    n = window_size[0] * window_size[1]
    bias = relative_position_bias_table[relative_position_index].view(n, n, -1)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)
'''

SHIFTED_WINDOW_ATTENTION_FUNCTION = '''def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias,
                             window_size, num_heads, shift_size, attention_dropout=0.0,
                             dropout=0.0, qkv_bias=None, proj_bias=None, logit_scale=None,
                             training=True):
    """torchvision's shifted_window_attention: multi-head self-attention within the windows
    of a channels-last (B, H, W, C) map rolled by -shift_size, with a relative position bias
    (cosine attention scaled by logit_scale for Swin V2); the output has the input's shape."""
    B, H, W, C = input.shape
    wh, ww = window_size[0], window_size[1]
    # pad H and W (at the bottom and the right) to multiples of the window
    x = F.pad(input, (0, 0, 0, (ww - W % ww) % ww, 0, (wh - H % wh) % wh))
    _, pad_h, pad_w, _ = x.shape
    shift = shift_size.copy()
    if wh >= pad_h:  # one window covers the axis: nothing to shift
        shift[0] = 0
    if ww >= pad_w:
        shift[1] = 0
    shifted = sum(shift) > 0
    if shifted:
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    # the windows, each a sequence of wh * ww tokens: (B * windows, wh * ww, C)
    rows, cols = pad_h // wh, pad_w // ww
    windows = rows * cols
    x = x.view(B, rows, wh, cols, ww, C).permute(0, 1, 3, 2, 4, 5).reshape(B * windows, wh * ww, C)
    if logit_scale is not None and qkv_bias is not None:  # V2: the keys have no bias
        qkv_bias = qkv_bias.clone()
        third = qkv_bias.numel() // 3
        qkv_bias[third:2 * third].zero_()
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:  # V2: cosine attention
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=4.605170185988092).exp()  # at most 100
    else:
        q = q * (C // num_heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if shifted:
        # the roll brought the map's far edges together: number the regions the shift cuts
        # the map into, and keep tokens of different regions from attending to each other
        region = x.new_zeros((pad_h, pad_w))
        count = 0
        for top, bottom in ((0, -wh), (-wh, -shift[0]), (-shift[0], None)):
            for left, right in ((0, -ww), (-ww, -shift[1]), (-shift[1], None)):
                region[top:bottom, left:right] = count
                count += 1
        region = region.view(rows, wh, cols, ww).permute(0, 2, 1, 3).reshape(windows, wh * ww)
        mask = region.unsqueeze(1) - region.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        attn = attn.view(x.size(0) // windows, windows, num_heads, x.size(1), x.size(1))
        attn = attn + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, x.size(1), x.size(1))
    attn = F.softmax(attn, dim=-1)
    attn = F.dropout(attn, p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.linear(x, proj_weight, proj_bias)
    x = F.dropout(x, p=dropout, training=training)
    # the windows back into the map, the roll undone, the padding cut off
    x = x.view(B, rows, cols, wh, ww, C).permute(0, 1, 3, 2, 4, 5).reshape(B, pad_h, pad_w, C)
    if shifted:
        x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()
'''

SHIFTED_WINDOW_ATTENTION_CLASS = '''class ShiftedWindowAttention(nn.Module):
    """torchvision.models.swin_transformer.ShiftedWindowAttention: shifted_window_attention
    with its qkv and proj projections and a relative position bias table of
    (2 * wh - 1) * (2 * ww - 1) rows, one per relative position, by num_heads."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = window_size[0], window_size[1]
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # the table's row for tokens i and j of a window: their offset (dy, dx), each
        # shifted to start at 0, as dy * (2 * ww - 1) + dx
        ys, xs = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        ys, xs = ys.flatten(), xs.flatten()
        dy = ys[:, None] - ys[None, :] + (wh - 1)
        dx = xs[:, None] - xs[None, :] + (ww - 1)
        self.register_buffer("relative_position_index", (dy * (2 * ww - 1) + dx).flatten())

    def get_relative_position_bias(self):
        return _get_relative_position_bias(self.relative_position_bias_table,
                                           self.relative_position_index, self.window_size)

    def forward(self, x):
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)
'''

PATCH_MERGING_CLASS = '''class PatchMerging(nn.Module):
    """torchvision.models.swin_transformer.PatchMerging: each 2x2 patch of a channels-last
    [..., H, W, C] map (padded to even sizes) becomes one position of 4C channels, normalised
    (norm) and reduced to 2C (reduction): [..., H/2, W/2, 2C]."""

    def __init__(self, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        x = _patch_merging_pad(x)
        x = self.norm(x)
        return self.reduction(x)
'''

# each layer's source defines what its class calls
SHIFTED_WINDOW_ATTENTION = "\n\n".join([RELATIVE_POSITION_BIAS_FUNCTION, SHIFTED_WINDOW_ATTENTION_FUNCTION,
                                         SHIFTED_WINDOW_ATTENTION_CLASS])
PATCH_MERGING = "\n\n".join([PATCH_MERGING_PAD_FUNCTION, PATCH_MERGING_CLASS])

# Shape rules ---------------------------------------------------------------------------
