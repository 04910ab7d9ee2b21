"""Our own torch code for torchvision's video Swin functions (ops/swin3d.py): what the torch
backend runs where torchvision is not installed, and what exported files define. The same
computation as ``torchvision.models.video.swin_transformer``'s, under the registry's names
(its 3-d ``_get_relative_position_bias`` is ``_get_relative_position_bias_3d`` here, so that
a file may define both Swins' functions)."""

WINDOW_AND_SHIFT_SIZE_FUNCTION = '''def _get_window_and_shift_size(shift_size, size_dhw, window_size):
    """torchvision's video Swin _get_window_and_shift_size: along an axis no longer than its
    window, the window shrinks to the axis and the shift is 0 (both lists are changed)."""
    for axis in range(3):
        if size_dhw[axis] <= window_size[axis]:
            window_size[axis] = size_dhw[axis]
            shift_size[axis] = 0
    return window_size, shift_size
'''

RELATIVE_POSITION_BIAS_3D_FUNCTION = '''def _get_relative_position_bias_3d(relative_position_bias_table, relative_position_index,
                                   window_size):
    """torchvision's video Swin _get_relative_position_bias: the table's row for every pair of
    a window's N = wd * wh * ww tokens (the index's top-left N x N block), as (1, heads, N, N)."""
    n = window_size[0] * window_size[1] * window_size[2]
    rows = relative_position_index[:n, :n].flatten()
    bias = relative_position_bias_table[rows].view(n, n, -1)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)
'''

PAD_SIZE_3D_FUNCTION = '''def _compute_pad_size_3d(size_dhw, patch_size):
    """torchvision's video Swin _compute_pad_size_3d: what pads each of the three sizes up to
    a multiple of its patch."""
    return tuple((patch_size[i] - size_dhw[i] % patch_size[i]) % patch_size[i] for i in range(3))
'''

ATTENTION_MASK_3D_FUNCTION = '''def _compute_attention_mask_3d(x, size_dhw, window_size, shift_size):
    """torchvision's video Swin _compute_attention_mask_3d: for each window of the rolled
    (D, H, W) map, -100 between tokens of different regions of the roll, else 0:
    (windows, N, N) for N = wd * wh * ww."""
    region = x.new_zeros(*size_dhw)
    cuts = [((0, -window_size[i]), (-window_size[i], -shift_size[i]), (-shift_size[i], None))
            for i in range(3)]
    count = 0
    for d in cuts[0]:
        for h in cuts[1]:
            for w in cuts[2]:
                region[d[0]:d[1], h[0]:h[1], w[0]:w[1]] = count
                count += 1
    grid = [size_dhw[i] // window_size[i] for i in range(3)]
    region = region.view(grid[0], window_size[0], grid[1], window_size[1], grid[2], window_size[2])
    region = region.permute(0, 2, 4, 1, 3, 5).reshape(
        grid[0] * grid[1] * grid[2], window_size[0] * window_size[1] * window_size[2])
    mask = region.unsqueeze(1) - region.unsqueeze(2)
    return mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
'''

SHIFTED_WINDOW_ATTENTION_3D_FUNCTION = '''def shifted_window_attention_3d(input, qkv_weight, proj_weight, relative_position_bias,
                                window_size, num_heads, shift_size, attention_dropout=0.0,
                                dropout=0.0, qkv_bias=None, proj_bias=None, training=True):
    """torchvision's shifted_window_attention_3d: multi-head self-attention within the windows
    of a channels-last (B, T, H, W, C) map rolled by -shift_size, with a relative position
    bias; the output has the input's shape."""
    B, T, H, W, C = input.shape
    wd, wh, ww = window_size[0], window_size[1], window_size[2]
    pads = [(w - s % w) % w for s, w in zip((T, H, W), (wd, wh, ww))]
    x = F.pad(input, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    _, pad_t, pad_h, pad_w, _ = x.shape
    shifted = sum(shift_size) > 0
    if shifted:
        x = torch.roll(x, shifts=(-shift_size[0], -shift_size[1], -shift_size[2]), dims=(1, 2, 3))
    grid = (pad_t // wd, pad_h // wh, pad_w // ww)
    windows = grid[0] * grid[1] * grid[2]
    x = x.view(B, grid[0], wd, grid[1], wh, grid[2], ww, C)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(B * windows, wd * wh * ww, C)
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (C // num_heads) ** -0.5
    attn = q.matmul(k.transpose(-2, -1)) + relative_position_bias
    if shifted:
        mask = _compute_attention_mask_3d(x, (pad_t, pad_h, pad_w), (wd, wh, ww),
                                          (shift_size[0], shift_size[1], shift_size[2]))
        attn = attn.view(x.size(0) // windows, windows, num_heads, x.size(1), x.size(1))
        attn = (attn + mask.unsqueeze(1).unsqueeze(0)).view(-1, num_heads, x.size(1), x.size(1))
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.view(B, grid[0], grid[1], grid[2], wd, wh, ww, C)
    x = x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(B, pad_t, pad_h, pad_w, C)
    if shifted:
        x = torch.roll(x, shifts=(shift_size[0], shift_size[1], shift_size[2]), dims=(1, 2, 3))
    return x[:, :T, :H, :W, :].contiguous()
'''

# the attention calls the mask: its source defines both
SHIFTED_WINDOW_ATTENTION_3D = "\n\n".join([ATTENTION_MASK_3D_FUNCTION, SHIFTED_WINDOW_ATTENTION_3D_FUNCTION])
