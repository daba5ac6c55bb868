"""CDAN+E's entropy weights get the reversed gradient (the authors' code), CDAN's defaults."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F

from transferkit.adaptation import CDAN, cdan_e, entropy, multilinear_map


def _setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    f_s, f_t = torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g) + 0.5
    head = torch.nn.Linear(4, 3)
    torch.nn.init.normal_(head.weight, generator=g)
    return f_s, f_t, head


def _reference_loss(method, f_s, f_t, head):
    """Eq. 8 with the authors' normalisation, written out, entropy NOT reversed: the
    domain-classifier logits are constants here, so only the entropy weights carry gradient."""
    ls_, lt_ = head(f_s), head(f_t)
    with torch.no_grad():
        h = torch.cat([multilinear_map(f_s, ls_.softmax(1)), multilinear_map(f_t, lt_.softmax(1))])
        d = method.discriminator(h).squeeze(1)
    ns = f_s.shape[0]
    w_s = 1 + torch.exp(-entropy(ls_.softmax(1)))
    w_t = 1 + torch.exp(-entropy(lt_.softmax(1)))
    bce_s = F.binary_cross_entropy_with_logits(d[:ns], torch.ones(ns), reduction="none")
    bce_t = F.binary_cross_entropy_with_logits(d[ns:], torch.zeros(len(d) - ns), reduction="none")
    return 0.5 * ((w_s * bce_s).sum() / w_s.sum().detach() + (w_t * bce_t).sum() / w_t.sum().detach())


@pytest.mark.parametrize("coeff", [1.0, 0.3])
def test_entropy_weights_pass_the_reversed_gradient_to_the_classifier(coeff):
    f_s, f_t, head = _setup()
    m = cdan_e(4, 3, hidden=(8,), dropout=0.0)
    assert m.entropy_grad == "reversed" and not m.randomized
    m.set_grl_coeff(coeff)
    loss = m(f_s, f_t, logits_s=head(f_s), logits_t=head(f_t))
    ref = _reference_loss(m, f_s, f_t, head)
    torch.testing.assert_close(loss, ref)
    (g,) = torch.autograd.grad(loss, head.weight)
    (g_ref,) = torch.autograd.grad(ref, head.weight)
    assert g_ref.abs().max() > 1e-4  # the entropy weights do carry a gradient
    torch.testing.assert_close(g, -coeff * g_ref)  # ... and CDAN+E passes it reversed


def test_detached_entropy_weights_give_the_classifier_no_gradient():
    f_s, f_t, head = _setup(1)
    m = cdan_e(4, 3, hidden=(8,), dropout=0.0, entropy_grad="detached")
    loss = m(f_s, f_t, logits_s=head(f_s), logits_t=head(f_t))
    torch.testing.assert_close(loss, _reference_loss(m, f_s, f_t, head))
    (g,) = torch.autograd.grad(loss, head.weight, allow_unused=True)
    assert g is None or g.abs().max() == 0
    with pytest.raises(ValueError, match="entropy_grad must be 'reversed' or 'detached'"):
        cdan_e(4, 3, entropy_grad="stop")


def test_defaults_are_the_authors_dropout_and_reversed_entropy():
    for factory in (CDAN, cdan_e):
        params = inspect.signature(factory).parameters
        assert params["dropout"].default == 0.5, factory
        assert params["entropy_grad"].default == "reversed", factory
    drops = [mod.p for mod in CDAN(4, 3).discriminator if isinstance(mod, torch.nn.Dropout)]
    assert drops == [0.5, 0.5]  # after each of the two hidden layers (1024, 1024)
