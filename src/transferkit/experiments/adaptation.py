"""``transferkit adapt``: unsupervised domain adaptation runs from a config dict.

Config (every key checked; an unknown one is an error naming it)::

    data:    {kind: mnist_usps_jda | usps_mnist_jda | mnist_usps | amazon | mnist_m | image_folder,
              root: ..., source: ..., target: ..., partial_classes: 5, image_size: 32,
              features: dann_5000 | 400}
    backbone: {name: lenet, params: {...}}
    methods: [source_only, {name: dann, params: {hidden: [100]}}, ...]
    trainer: {epochs: 10, batch_size: 64, steps_per_epoch: null, seeds: [0, 1, 2],
              optimizer: adam, lr: 0.001, weight_decay: 0, discriminator_lr_mult: 1,
              anneal: true, grl_gamma: 10,
              accelerator: auto, devices: 1, strategy: auto}   # passed to lightning.Trainer
    scorers: [entropy, snd, dev]

Writes ``results.json`` (schema 1), ``report.md`` and ``figures/`` (per-epoch target accuracy
and a 2-D PCA of source/target features before and after adaptation) in ``output_dir``.
Each run records target accuracy (target labels used for evaluation only), the proxy
A-distance of the features before (the initial network) and after training, the domain
classifier's accuracy and the label-free scorers.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError

__all__ = ["ALLOWED_KEYS", "run"]

ALLOWED_KEYS = {
    "config": {"data", "backbone", "methods", "trainer", "scorers", "output", "command"},
    "data": {"kind", "root", "source", "target", "partial_classes", "image_size", "features", "limit"},  # limit: random subset size per domain
    "backbone": {"name", "params"},
    "trainer": {"epochs", "batch_size", "steps_per_epoch", "seeds", "optimizer", "lr",
                "weight_decay", "momentum", "discriminator_lr_mult", "anneal", "grl_gamma",
                "accelerator", "devices", "strategy"},
}


def _check_keys(section: str, d: dict) -> None:
    from ..exceptions import suggest

    if not isinstance(d, dict):
        raise ConfigError(f"'{section}' must be a mapping, got {type(d).__name__}")
    for k in d:
        if k not in ALLOWED_KEYS[section]:
            raise ConfigError(f"unknown key '{k}' in '{section}'.{suggest(str(k), ALLOWED_KEYS[section])} "
                              f"Valid keys: {', '.join(sorted(ALLOWED_KEYS[section]))}.")


def _load(data: dict):
    """(source, target_train, target_test) domains for ``data``."""
    from ..data import Domain, load_mnist, load_mnist_usps_jda, load_usps, resize_images
    from ..data import domains as dd

    kind = data.get("kind", "mnist_usps_jda")
    root = data.get("root")
    if kind in ("mnist_usps_jda", "usps_mnist_jda"):
        src, tgt = load_mnist_usps_jda(root, "mnist_to_usps" if kind == "mnist_usps_jda" else "usps_to_mnist")
        tgt_test = tgt
    elif kind == "mnist_usps":
        m = load_mnist(root, "test")
        src = Domain(resize_images(m.X, 16), m.y, "mnist16", 10)
        tgt, tgt_test = load_usps(root, "train"), load_usps(root, "test")
    elif kind == "mnist_m":
        m = load_mnist(root, "test")
        src = Domain(np.repeat(m.X[:5000], 3, axis=1), m.y[:5000], "mnist_rgb", 10)
        mm = dd.build_mnist_m(m.subset(np.arange(5000, 10000)), root, seed=0)
        tgt, tgt_test = mm.subset(np.arange(3000)), mm.subset(np.arange(3000, 5000))
    elif kind == "amazon":
        feats = data.get("features", "dann_5000")
        s, t = data.get("source", "books"), data.get("target", "kitchen")
        if feats == "400":
            src = dd.load_amazon_reviews(s, "all", root, "400")
            tgt = tgt_test = dd.load_amazon_reviews(t, "all", root, "400")
        else:
            src = dd.load_amazon_reviews(s, "train", root)
            tgt, tgt_test = dd.load_amazon_reviews(t, "train", root), dd.load_amazon_reviews(t, "test", root)
            src, tgt, tgt_test = (Domain((d.X > 0).astype(np.float32), d.y, d.name, 2) for d in (src, tgt, tgt_test))
    elif kind == "image_folder":
        if root is None or "source" not in data or "target" not in data:
            raise ConfigError("data.kind 'image_folder' needs data.root, data.source and data.target")
        size = int(data.get("image_size", 32))
        src = dd.load_image_folder(root, data["source"], size)
        tgt = tgt_test = dd.load_image_folder(root, data["target"], size, classes=src.class_names)
    else:
        raise ConfigError(f"unknown data.kind '{kind}'; choose mnist_usps_jda, usps_mnist_jda, "
                          "mnist_usps, mnist_m, amazon or image_folder")
    if data.get("partial_classes") is not None:
        tgt = dd.make_partial_target(src, tgt, int(data["partial_classes"]))
        tgt_test = dd.make_partial_target(src, tgt_test, int(data["partial_classes"])) if tgt_test is not tgt else tgt
    if data.get("limit"):
        n = int(data["limit"])  # a random subset (files are often sorted by class)
        rng = np.random.default_rng(0)
        pick = lambda d: d.subset(np.sort(rng.permutation(len(d))[:n])) if len(d) > n else d  # noqa: E731
        same = tgt_test is tgt
        src, tgt = pick(src), pick(tgt)
        tgt_test = tgt if same else pick(tgt_test)
    return src, tgt, tgt_test


def _methods(spec: Any) -> list[tuple[str, dict]]:
    out = []
    for item in spec or ["source_only", "dann"]:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and "name" in item and set(item) <= {"name", "params"}:
            out.append((str(item["name"]), dict(item.get("params") or {})))
        else:
            raise ConfigError(f"each entry of 'methods' must be a name or {{name, params}}, got {item!r}")
    return out


def _backbone_factory(spec: dict, src):
    from ..backbones import create_backbone

    name = spec.get("name", "lenet")
    params = dict(spec.get("params") or {})
    shape = src.input_shape
    if name == "mlp":
        params.setdefault("in_features", int(np.prod(shape)))
    elif len(shape) == 3:
        params.setdefault("in_channels", shape[0])
        if name == "lenet":
            params.setdefault("input_size", shape[-1])
    num_classes = src.num_classes or int(np.max(src.y)) + 1
    return (lambda: create_backbone(name, num_outputs=num_classes, **params)), num_classes


def _features(model, d, bs: int = 512):
    import torch

    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float32))
    model.eval()
    with torch.no_grad():
        dev = next(model.parameters()).device
        f = torch.cat([model.features(X[i : i + bs].to(dev)) for i in range(0, len(X), bs)])
        p = model.head(f).softmax(1)
    model.train()
    return f.cpu().numpy(), p.cpu().numpy()


def _pca_figure(path: pathlib.Path, before: tuple, after: tuple, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (fs, ft), label in zip(axes, (before, after), ("before adaptation", "after adaptation")):
        z = PCA(2, random_state=0).fit_transform(np.concatenate([fs, ft]))
        ax.scatter(*z[: len(fs)].T, s=4, alpha=0.5, label="source")
        ax.scatter(*z[len(fs):].T, s=4, alpha=0.5, label="target")
        ax.set_title(label)
        ax.legend(markerscale=3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(config: dict, output_dir: pathlib.Path, resume: bool = False) -> dict:
    """Run every method x seed of ``config``; write results.json, report.md and figures."""
    import torch

    import transferkit

    from ..adaptation import build_method, proxy_a_distance
    from ..training.adaptation import AdaptOptimConfig, fit_adaptation
    from ._results import markdown_table, write_results

    _check_keys("config", config)
    data_cfg, bb_cfg, tr = (dict(config.get(k) or {}) for k in ("data", "backbone", "trainer"))
    for sec, d in (("data", data_cfg), ("backbone", bb_cfg), ("trainer", tr)):
        _check_keys(sec, d)
    methods = _methods(config.get("methods"))
    for name, _ in methods:
        transferkit.get_method("adaptation", name)  # unknown names fail before any training
    scorers = {str(s): transferkit.create("scorer", str(s)) for s in config.get("scorers", ["entropy", "snd", "dev"])}
    seeds = [int(s) for s in tr.get("seeds", [0])]
    optim = AdaptOptimConfig(
        name=str(tr.get("optimizer", "adam")), lr=float(tr.get("lr", 1e-3)),
        momentum=float(tr.get("momentum", 0.9)), weight_decay=float(tr.get("weight_decay", 0.0)),
        discriminator_lr_mult=float(tr.get("discriminator_lr_mult", 1.0)),
        anneal=bool(tr.get("anneal", True)), grl_gamma=float(tr.get("grl_gamma", 10.0)))
    trainer_kwargs = _trainer_kwargs(tr)
    out = pathlib.Path(output_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)

    src, tgt, tgt_test = _load(data_cfg)
    if tgt.y is None and tgt_test.y is None:
        raise DataError("the target test split needs labels to report target accuracy")
    make, num_classes = _backbone_factory(bb_cfg, src)

    done: list[dict] = []
    if resume and (out / "results.json").exists():
        done = json.loads((out / "results.json").read_text()).get("runs", [])
    have = {(r["method"], r["seed"]) for r in done}
    runs = list(done)
    figures: list[str] = []
    curves: dict[str, list[float]] = {}
    cfg_record = {**config, "data": data_cfg, "trainer": tr}

    for name, params in methods:
        for seed in seeds:
            if (name, seed) in have:
                continue
            torch.manual_seed(seed)
            model = make()
            fs0, _ = _features(model, src)
            ft0, _ = _features(model, tgt_test)
            method = build_method(name, model.feature_dim, num_classes, **params)
            res = fit_adaptation(model, method, src, tgt, target_eval=tgt_test,
                                 epochs=int(tr.get("epochs", 10)), batch_size=int(tr.get("batch_size", 64)),
                                 steps_per_epoch=tr.get("steps_per_epoch"), optim=optim, seed=seed,
                                 trainer_kwargs=trainer_kwargs)
            fs, ps = _features(model, src)
            ft, pt = _features(model, tgt_test)
            metrics = {
                "target_accuracy": float((pt.argmax(1) == np.asarray(tgt_test.y)).mean()),
                "source_accuracy": float((ps.argmax(1) == np.asarray(src.y)).mean()),
                "a_distance_before": proxy_a_distance(fs0, ft0, seed=seed),
                "a_distance_after": proxy_a_distance(fs, ft, seed=seed),
                "domain_accuracy": res.history[-1].get("domain_acc") if res.history else None,
            }
            for sname, sc in scorers.items():
                metrics[f"score_{sname}"] = sc(probs_t=pt, features_s=fs, probs_s=ps, y_s=src.y, features_t=ft)
            curves.setdefault(name, [h.get("target_acc", np.nan) for h in res.history])
            runs.append({"method": name, "seed": seed, "params": params, "metrics": metrics,
                         "history": res.history, "train_seconds": res.train_seconds,
                         "peak_memory_mb": res.peak_memory_mb, "trainable_params": res.trainable_params})
            if seed == seeds[0]:
                fig = out / "figures" / f"pca_{name}.png"
                _pca_figure(fig, (fs0, ft0), (fs, ft), f"{name}: source vs target features (PCA)")
                figures.append(str(fig.relative_to(out)))
            write_results(out, cfg_record, runs, _summary(runs), "adapt")  # checkpoint per run

    if curves:
        figures.append(_curve_figure(out, curves))
    summary = _summary(runs)
    results = write_results(out, cfg_record, runs, summary, "adapt")
    cols = ["method", "n", "target_accuracy", "target_accuracy_sd", "a_distance_before",
            "a_distance_after", "domain_accuracy"]
    report = [f"# Domain adaptation: {src.name} → {tgt.name}", "",
              f"{len(src)} labelled source, {len(tgt)} unlabelled target, {len(tgt_test)} target test samples; "
              "target labels used for evaluation only.", "", markdown_table(summary, cols), "",
              *[f"![{f}]({f})" for f in figures], ""]
    (out / "report.md").write_text("\n".join(report))
    return results


def _trainer_kwargs(tr: dict) -> dict:
    """``accelerator``/``devices``/``strategy`` from the trainer section, for ``lightning.Trainer``
    (as :class:`transferkit.training._fit.TrainerConfig` does for fine-tuning)."""
    kw: dict[str, Any] = {"accelerator": str(tr.get("accelerator", "auto")),
                          "strategy": str(tr.get("strategy", "auto"))}
    devices = tr.get("devices", 1)
    if isinstance(devices, bool) or not isinstance(devices, (int, str, list)):
        raise ConfigError(f"trainer.devices must be an int, a string or a list, got {devices!r}")
    if isinstance(devices, int) and devices == 0:
        raise ConfigError("trainer.devices must not be 0")
    kw["devices"] = devices
    return kw


def _summary(runs: list[dict]) -> list[dict]:
    rows = []
    for name in dict.fromkeys(r["method"] for r in runs):
        rs = [r["metrics"] for r in runs if r["method"] == name]
        row: dict[str, Any] = {"method": name, "n": len(rs)}
        for key in rs[0]:
            vals = [m[key] for m in rs if m.get(key) is not None]
            if vals:
                row[key] = float(np.mean(vals))
                if key == "target_accuracy":
                    row["target_accuracy_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        rows.append(row)
    return rows


def _curve_figure(out: pathlib.Path, curves: dict[str, list[float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("target accuracy")
    ax.legend()
    fig.tight_layout()
    path = out / "figures" / "target_accuracy.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path.relative_to(out))
