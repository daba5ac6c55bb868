"""One input feature leaks the domain; DANN must learn to ignore it.

Inputs are 4 class-informative features identically distributed in both domains plus one
feature that is +2 in the source and -2 in the target (plus noise). A linear encoder
(5 -> 3) and a linear classifier are trained with the source classification loss plus the
DANN loss (GRL schedule stepped by the loop, domain classifier at 10x the learning rate as
is usual for new layers). DANN must shrink the encoder's weight on the leaking feature
relative to the others and leave a *fresh* domain classifier, trained on held-out encoded
samples, at chance; the source-only baseline must not.
"""

import torch

from transferkit.adaptation import DANN, GRLSchedule, SourceOnly


def _data(n, domain, g):
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 4, generator=g)
    x[:, 0] += 2 * y - 1
    leak = torch.full((n, 1), 2.0 if domain == 0 else -2.0) + 0.5 * torch.randn(n, 1, generator=g)
    return torch.cat([x, leak], 1), y


def _train(method_name, steps=300, lr=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs, ys = _data(256, 0, g)
    xt, yt = _data(256, 1, g)
    hs, _ = _data(512, 0, g)
    ht, _ = _data(512, 1, g)
    torch.manual_seed(seed)
    enc, head = torch.nn.Linear(5, 3), torch.nn.Linear(3, 2)
    method = DANN(3, hidden=(32,)) if method_name == "dann" else SourceOnly()
    opt = torch.optim.SGD([{"params": [*enc.parameters(), *head.parameters()]},
                           {"params": list(method.parameters()), "lr": 10 * lr}], lr=lr)
    schedule = GRLSchedule(steps)
    for _ in range(steps):
        method.set_grl_coeff(schedule.value)
        fs, ft = enc(xs), enc(xt)
        loss = method.source_loss(head(fs), ys) + method(fs, ft)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        fit_s, fit_t = enc(hs[:256]), enc(ht[:256])
        ev_s, ev_t = enc(hs[256:]), enc(ht[256:])
        target_acc = (head(enc(xt)).argmax(1) == yt).float().mean().item()
    torch.manual_seed(1)
    fresh = DANN(3, hidden=(32,))
    o = torch.optim.Adam(fresh.parameters(), 1e-2)
    for _ in range(300):
        loss = fresh(fit_s, fit_t)
        o.zero_grad()
        loss.backward()
        o.step()
    rel_leak = (enc.weight[:, 4].norm() / enc.weight[:, :4].norm()).item()
    return {"rel_leak": rel_leak, "fresh_domain_acc": fresh.domain_accuracy(ev_s, ev_t),
            "own_domain_acc": method.domain_accuracy(ev_s, ev_t), "target_acc": target_acc}


def test_dann_removes_leaking_feature():
    dann, base = _train("dann"), _train("source_only")
    assert dann["rel_leak"] < 0.25 * base["rel_leak"], (dann, base)
    assert base["fresh_domain_acc"] > 0.65, base
    assert dann["fresh_domain_acc"] < 0.6, dann
    assert abs(dann["own_domain_acc"] - 0.5) < 0.1, dann
    assert dann["target_acc"] > 0.75
