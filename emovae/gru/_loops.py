"""The step loops as PyTorch ops: the fallback for the C++ extension (same arithmetic, any dtype,
e.g. float64 for gradcheck).

Buffers (all time-major): ``hs`` (T+1, B, H) the states, ``g`` (T, B, 4H) per step
``[r, z, n, W_hn h + b_hn]``, ``hsb`` (T, B, H) the states in bfloat16 (bf16 only, else empty),
``a`` (T, B, H) dL/dh_t, ``dgh`` (T, B, 3H) d(W_h h + b_h), ``dgi`` d(W_i x + b_i).
"""

from __future__ import annotations

import torch


def _py_fwd(gi, constant, hs, g, hsb, w, b, linear):
    T, B, H4 = g.shape
    H = H4 // 4
    g4 = g.view(T, B, 4, H)
    rz_l = g[..., : 2 * H].unbind(0)
    r_l, z_l, n_l, ghn_l = (g4[:, :, k].unbind(0) for k in range(4))
    if constant:
        gi_rz_l = [gi[:, : 2 * H]] * T
        gi_n_l = [gi[:, 2 * H :]] * T
    else:
        gi_rz_l = gi[..., : 2 * H].unbind(0)
        gi_n_l = gi[..., 2 * H :].unbind(0)
    hs_l = hs.unbind(0)
    bf = hsb.numel() > 0
    hsb_l = hsb.unbind(0) if bf else None
    hin_l = hsb_l if bf else hs_l
    split = [2 * H, H]
    for t in range(T):
        gh = linear(hin_l[t], w, b)
        gh_rz, gh_n = gh.split(split, 1)
        rz = rz_l[t]
        torch.add(gi_rz_l[t], gh_rz, out=rz)
        rz.sigmoid_()
        ghn = ghn_l[t]
        ghn.copy_(gh_n)
        n = n_l[t]
        torch.addcmul(gi_n_l[t], r_l[t], ghn, value=1.0, out=n)
        n.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)  # tanh(a) = 2 sigmoid(2a) - 1
        torch.lerp(n, hs_l[t], z_l[t], out=hs_l[t + 1])  # h' = n + z (h - n)
        if bf and t + 1 < T:
            hsb_l[t + 1].copy_(hs_l[t + 1])


def _py_bwd(a, g, hs, dgh, dgi, constant, wt, linear):
    T, B, H4 = g.shape
    H = H4 // 4
    g4 = g.view(T, B, 4, H)
    r_l, z_l, n_l, ghn_l = (g4[:, :, k].unbind(0) for k in range(4))
    a_l, hs_l, dgh_l = a.unbind(0), hs.unbind(0), dgh.unbind(0)
    if constant:
        acc = torch.zeros(T, B, 3 * H, dtype=a.dtype)  # summed over the steps at the end
        di_l = acc.view(T, B, 3, H).unbind(0)
    else:
        di_l = dgi.view(T, B, 3, H).unbind(0)
    same = dgh.dtype == a.dtype
    one = torch.ones((), dtype=a.dtype)
    m = None
    for t in range(T - 1, -1, -1):
        at = a_l[t]
        if m is not None:
            at.add_(m).addcmul_(a_l[t + 1], z_l[t + 1])
        r, z, n = r_l[t], z_l[t], n_l[t]
        dr, dz, dn = di_l[t].unbind(1)
        omz = torch.rsub(z, 1.0)
        torch.mul(at, omz, out=dn)
        dn.mul_(torch.addcmul(one, n, n, value=-1.0))  # a (1 - z)(1 - n^2)
        torch.sub(hs_l[t], n, out=dz)
        dz.mul_(at).mul_(z).mul_(omz)
        torch.mul(dn, ghn_l[t], out=dr)
        dr.mul_(r).mul_(torch.rsub(r, 1.0))
        d3 = dgh_l[t].view(B, 3, H)  # [d pre_r, d pre_z, d pre_n * r]
        d3[:, :2].copy_(di_l[t][:, :2])
        if same:
            torch.mul(dn, r, out=d3[:, 2])
        else:
            d3[:, 2].copy_(dn * r)
        m = linear(dgh_l[t], wt)
    if constant:
        dgi.copy_(acc.sum(0))
    return torch.addcmul(m.to(a.dtype), a_l[0], z_l[0])
