import inspect

import torch

import transferkit
from transferkit.adaptation import build_method

METHOD_NAMES = [m.name for m in transferkit.list_methods("adaptation")]


def small_method(name: str, feature_dim: int = 6, num_classes: int = 3, **params):
    accepted = inspect.signature(transferkit.get_method("adaptation", name).factory).parameters
    if "hidden" in accepted:
        params.setdefault("hidden", (16,))
    return build_method(name, feature_dim, num_classes, **params)


def batches(ns=7, nt=5, d=6, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.randn(ns, d, generator=g, requires_grad=True)
    f_t = (torch.randn(nt, d, generator=g) + 1.0).requires_grad_()
    head = torch.nn.Linear(d, c)
    torch.nn.init.normal_(head.weight, generator=g)
    y_s = torch.randint(0, c, (ns,), generator=g)
    return f_s, f_t, head, y_s
