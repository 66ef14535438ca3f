"""The CVAE: shapes, Keras's initialisers, the condition reaching both halves, Keras's RMSprop."""

import torch

from emovae.model import CVAE, CVAEConfig
from emovae.training import KerasRMSprop


def small(**kw):
    return CVAE(CVAEConfig(hidden=24, dense=10, **kw))


def test_shapes_and_sampling():
    torch.manual_seed(0)
    m = small()
    x, e = torch.randint(0, 31, (5, 64)), torch.tensor([0, 1, 2, 3, 0])
    logits, mu, logvar = m(x, e, generator=torch.Generator().manual_seed(1))
    assert logits.shape == (5, 64, 31) and mu.shape == (5, 2) and logvar.shape == (5, 2)
    # same generator seed -> same sample; different -> different
    a = m(x, e, generator=torch.Generator().manual_seed(1))[0]
    b = m(x, e, generator=torch.Generator().manual_seed(2))[0]
    assert torch.equal(a, logits) and not torch.equal(a, b)
    # one-hot input gives the same as indices
    onehot = torch.nn.functional.one_hot(x, 31).float()
    assert torch.allclose(m.encode(onehot, e)[0], mu, atol=1e-6)


def test_condition_changes_encoder_and_decoder():
    torch.manual_seed(0)
    m = small()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))  # biases start at zero; make every path active
    x = torch.randint(0, 31, (2, 64))
    mu0, _ = m.encode(x, torch.tensor([0, 0]))
    mu2, _ = m.encode(x, torch.tensor([2, 2]))
    assert not torch.allclose(mu0, mu2)
    z = torch.zeros(1, 2)
    assert not torch.allclose(m.decode(z, torch.tensor([0])), m.decode(z, torch.tensor([3])))


def test_keras_initialisers():
    torch.manual_seed(0)
    m = small()
    w_hh = m.enc_gru.weight_hh.detach()  # (3H, H): orthonormal columns
    h = w_hh.shape[1]
    assert torch.allclose(w_hh.T @ w_hh, torch.eye(h), atol=1e-5)
    w_ih = m.enc_gru.weight_ih.detach()  # glorot over the whole (I, 3H) matrix
    limit = (6 / (w_ih.shape[0] + w_ih.shape[1])) ** 0.5
    assert w_ih.abs().max() <= limit and w_ih.abs().max() > 0.8 * limit
    for name, p in m.named_parameters():
        if "bias" in name:
            assert torch.count_nonzero(p) == 0, name


def test_every_size_is_configurable():
    m = CVAE(CVAEConfig(vocab_size=12, n_steps=16, hidden=8, dense=5, latent=3, cond_features=2))
    logits, mu, _ = m(torch.randint(0, 12, (2, 16)), torch.tensor([1, 2]))
    assert logits.shape == (2, 16, 12) and mu.shape == (2, 3)


def test_keras_rmsprop_puts_epsilon_inside_the_root():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = KerasRMSprop([w], lr=0.1, rho=0.9, eps=1e-7)
    g1 = torch.tensor([0.5, 1e-4])
    w.grad = g1.clone()
    opt.step()
    v = 0.1 * g1**2
    expected = torch.tensor([1.0, -2.0]) - 0.1 * g1 / torch.sqrt(v + 1e-7)
    assert torch.allclose(w.detach(), expected, atol=1e-7)
    g2 = torch.tensor([-0.2, 0.3])
    w.grad = g2.clone()
    opt.step()
    v = 0.9 * v + 0.1 * g2**2
    expected = expected - 0.1 * g2 / torch.sqrt(v + 1e-7)
    assert torch.allclose(w.detach(), expected, atol=1e-7)
    # PyTorch's RMSprop (eps outside the root) takes a 10x larger step on the tiny gradient
    w2 = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    ref = torch.optim.RMSprop([w2], lr=0.1, alpha=0.9, eps=1e-7)
    w2.grad = g1.clone()
    ref.step()
    keras_first = -2.0 - 0.1 * 1e-4 / (0.1 * 1e-8 + 1e-7) ** 0.5
    assert abs(w2.detach()[1].item() - keras_first) > 0.1


def _rmsprop_reference(params, grads, vs, lr, rho, eps, decay):
    """Keras's RMSprop as the foreach ops round it, with a correctly rounded square root."""
    if decay != 1.0:
        torch._foreach_mul_(params, decay)
    torch._foreach_mul_(vs, rho)
    torch._foreach_addcmul_(vs, grads, grads, value=1 - rho)
    denom = [torch.sqrt(d.double()).float() for d in torch._foreach_add(vs, eps)]
    torch._foreach_addcdiv_(params, grads, denom, value=-lr)


def test_fused_rmsprop_rounds_as_the_foreach_ops(monkeypatch):
    """The optimizer's C++ step gives the foreach ops' bits (with an exact root) over sizes with and
    without a vector tail, with and without weight decay; where it cannot run (no extension, or a
    float64 tensor) the foreach step runs instead, within an ulp of it."""
    from emovae.gru import _extension, fused_rmsprop
    from emovae.training import optim

    if _extension._ext_ops() is None:
        import pytest

        pytest.skip("needs the C++ extension")
    gen = torch.Generator().manual_seed(4)
    shapes = [(48, 16), (1536,), (35,), (3,), (2, 100), (40000,)]
    for wd in (0.0, 0.05):
        params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
        ref_p = [p.detach().clone() for p in params]
        ref_v = [torch.zeros(s) for s in shapes]
        opt = KerasRMSprop(params, lr=1e-3, rho=0.9, eps=1e-7, weight_decay=wd)
        for _ in range(3):
            grads = [torch.randn(s, generator=gen) * 10.0 ** torch.randint(-6, 2, s, generator=gen) for s in shapes]
            for p, gr in zip(params, grads):
                p.grad = gr.clone()
            opt.step()
            _rmsprop_reference(ref_p, grads, ref_v, 1e-3, 0.9, 1e-7, 1.0 - 1e-3 * wd)
        for p, r, v, s in zip(params, ref_p, ref_v, shapes):
            assert torch.equal(p.detach(), r), (s, wd)
            assert torch.equal(opt.state[p]["v"], v), (s, wd)
    # the foreach fallback: the same step within float32 rounding
    p2 = [torch.nn.Parameter(r.clone()) for r in ref_p]
    p3 = [torch.nn.Parameter(r.clone()) for r in ref_p]
    opt2, opt3 = KerasRMSprop(p2, lr=1e-3), KerasRMSprop(p3, lr=1e-3)
    for p, q in zip(p2, p3):
        g = torch.randn(p.shape, generator=gen)
        p.grad, q.grad = g.clone(), g.clone()
    monkeypatch.setattr(optim, "fused_rmsprop", lambda *a, **k: False)  # where KerasRMSprop looks it up
    opt2.step()
    monkeypatch.undo()
    opt3.step()
    for p, q in zip(p2, p3):
        assert torch.allclose(p, q, rtol=1e-6, atol=1e-9)
    # not float32, or not contiguous: False and nothing touched
    d = torch.ones(4, dtype=torch.float64)
    assert not fused_rmsprop([d], [d.clone()], [torch.zeros_like(d)], lr=0.1, rho=0.9, eps=1e-7)
    assert torch.equal(d, torch.ones(4, dtype=torch.float64))
    w = torch.ones(4, 4)
    assert not fused_rmsprop([w.t()], [w.clone()], [torch.zeros(4, 4)], lr=0.1, rho=0.9, eps=1e-7)
    assert torch.equal(w, torch.ones(4, 4))
