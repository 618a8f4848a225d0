"""Shared machinery of the step models: a small MLP trained with numpy (Adam), exported to
ONNX with onnx.helper, checked against onnxruntime, and a manifest written beside it.

Every ResonantGen step model has the same shape: named float32 inputs of shape [batch, d_i]
are concatenated, pass one ReLU hidden layer and an output layer with a sigmoid (independent
onsets: drums) or a softmax (one token per step: bass, harmony, melody). Keeping the graph
this small keeps CPU inference in the tens of microseconds and lets the worker batch steps of
concurrent jobs along the batch axis.
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def one_hot(i, n):
    v = np.zeros(n, np.float32)
    if 0 <= i < n:
        v[i] = 1.0
    return v


def _split(n, rng, groups=None, val_fraction=0.1):
    """Train/validation split. With `groups` (one id per sample, e.g. the tune it came from)
    whole groups are held out, so validation measures generalisation to unseen pieces."""
    if groups is None:
        idx = np.arange(n)
        rng.shuffle(idx)
        k = int(n * (1 - val_fraction))
        return idx[:k], idx[k:]
    groups = np.asarray(groups)
    ids = np.unique(groups)
    rng.shuffle(ids)
    held = set(ids[: max(1, int(len(ids) * val_fraction))].tolist())
    mask = np.array([g in held for g in groups])
    return np.nonzero(~mask)[0], np.nonzero(mask)[0]


def train_mlp(X, Y, head, hidden, epochs, rng, lr=2e-3, batch=512, groups=None, split_out=None, lr_final=None):
    """Trains concat(X) -> dense(hidden, relu) -> dense -> head.

    head = "sigmoid": Y is float [n, k] of 0/1 targets, loss is binary cross-entropy.
    head = "softmax:K": Y is int [n] of class ids in [0, K), loss is cross-entropy.
    split_out: optional dict that receives the "train" and "val" sample indices (for baselines
    and per-source losses computed on the same split).
    lr_final: if given, the learning rate decays geometrically from lr (first epoch) to lr_final
    (last epoch); otherwise it stays at lr.
    Returns (params, train_loss, val_loss, (n_train, n_val)).
    """
    Xc = np.concatenate(X, axis=1).astype(np.float32)
    n, d = Xc.shape
    if head.startswith("softmax"):
        k = int(head.split(":")[1])
        kind = "softmax"
        Yc = np.asarray(Y, dtype=np.int64)
    else:
        kind = "sigmoid"
        Yc = np.asarray(Y, dtype=np.float32)
        k = Yc.shape[1]
    W1 = rng.normal(0, np.sqrt(2.0 / d), (d, hidden)).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    W2 = rng.normal(0, np.sqrt(1.0 / hidden), (hidden, k)).astype(np.float32)
    b2 = np.zeros(k, np.float32)
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    tr, va = _split(n, rng, groups)
    if split_out is not None:
        split_out["train"], split_out["val"] = np.sort(tr), np.sort(va)
    step = 0

    def forward(x):
        h = np.maximum(x @ W1 + b1, 0.0)
        z = h @ W2 + b2
        if kind == "sigmoid":
            return h, 1.0 / (1.0 + np.exp(-z))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return h, e / e.sum(axis=1, keepdims=True)

    def loss(p, y):
        p = np.clip(p, 1e-7, 1 - 1e-7)
        if kind == "sigmoid":
            return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
        return float(-np.log(p[np.arange(len(y)), y]).mean())

    def eval_loss(ix):
        total = 0.0
        for s in range(0, len(ix), 8192):
            bi = ix[s : s + 8192]
            _, p = forward(Xc[bi])
            total += loss(p, Yc[bi]) * len(bi)
        return total / max(1, len(ix))

    for ep in range(epochs):
        lr_ep = lr if lr_final is None or epochs < 2 else lr * (lr_final / lr) ** (ep / (epochs - 1))
        rng.shuffle(tr)
        for s in range(0, len(tr), batch):
            bi = tr[s : s + batch]
            x = Xc[bi]
            h, p = forward(x)
            if kind == "sigmoid":
                dz = (p - Yc[bi]) / len(bi)
            else:
                dz = p.copy()
                dz[np.arange(len(bi)), Yc[bi]] -= 1.0
                dz /= len(bi)
            gW2 = h.T @ dz
            gb2 = dz.sum(0)
            dh = dz @ W2.T
            dh[h <= 0] = 0
            gW1 = x.T @ dh
            gb1 = dh.sum(0)
            step += 1
            for i, g in enumerate([gW1, gb1, gW2, gb2]):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                mh = m[i] / (1 - beta1**step)
                vh = v[i] / (1 - beta2**step)
                params[i] -= lr_ep * mh / (np.sqrt(vh) + eps)
        print(f"epoch {ep + 1}/{epochs}: val loss {eval_loss(va):.4f}", file=sys.stderr)
    return params, eval_loss(tr), eval_loss(va), (len(tr), len(va))


def export_mlp(params, inputs, output, head, graph_name, path):
    """Writes the ONNX graph. `inputs` is a list of (name, width); `output` the output name."""
    W1, b1, W2, b2 = params
    k = W2.shape[1]
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", w]) for n, w in inputs]
    outputs = [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", k])]
    inits = [
        numpy_helper.from_array(W1.astype(np.float32), "W1"),
        numpy_helper.from_array(b1.astype(np.float32), "b1"),
        numpy_helper.from_array(W2.astype(np.float32), "W2"),
        numpy_helper.from_array(b2.astype(np.float32), "b2"),
    ]
    final = "Sigmoid" if head == "sigmoid" else "Softmax"
    final_attrs = {} if head == "sigmoid" else {"axis": -1}
    nodes = [
        helper.make_node("Concat", [n for n, _ in inputs], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "W2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["z"]),
        helper.make_node(final, ["z"], [output], **final_attrs),
    ]
    graph = helper.make_graph(nodes, graph_name, vi, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="resonantgen")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def verify(path, inputs, X, params, head):
    """Checks that onnxruntime computes what numpy trained (first 8 samples)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {n: x[:8].astype(np.float32) for (n, _), x in zip(inputs, X)}
    got = sess.run(None, feed)[0]
    Xc = np.concatenate([x[:8] for x in X], axis=1)
    z = np.maximum(Xc @ params[0] + params[1], 0) @ params[2] + params[3]
    if head == "sigmoid":
        ref = 1 / (1 + np.exp(-z))
    else:
        z = z - z.max(axis=1, keepdims=True)
        ref = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.allclose(got, ref, atol=1e-5), "onnxruntime disagrees with numpy"


def write_manifest(folder, model_file, manifest):
    """Adds the model's sha256 and writes manifest.json."""
    with open(os.path.join(folder, model_file), "rb") as f:
        manifest["sha256"] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest.get("training", {})), file=sys.stderr)
