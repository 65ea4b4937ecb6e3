"""Exact interventional TreeSHAP for tree ensembles (LightGBM, XGBoost, scikit-learn).

Every tree ensemble is read into one flat form: the internal nodes with
their split (numeric threshold or a category table, and where missing values
go) and, for each leaf, the path from the root (node, direction). Then, for
an explained row x and a background row z, a leaf's contribution to the
interventional game v(S) = f(x_S, z_~S) is the leaf value times
[A is in S and B is outside S], where, over the features on the leaf's path,
A holds those whose every split x satisfies and z does not, B those z
satisfies and x does not; the leaf is unreachable by any hybrid row when a
feature's splits are satisfied by neither. The Shapley values of that game
are closed-form (``_coefficients``), so the exact attributions are sums over
leaves and background rows. The work is made small by grouping: for each
leaf, rows are reduced to their pattern over the leaf's path features (a
bitmask), the arithmetic runs once per pair of distinct x and z patterns,
and its result goes back to the rows through a sparse sum. Features on the
paths may be columns of a transformed table (a pipeline's encoder output):
``column_feature`` maps each column to the input feature it comes from, so
the attributions are exact for the input features themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TreeEnsemble", "read_ensemble", "tree_shap"]

ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass
class TreeEnsemble:
    """Trees as flat arrays; ``predict`` and ``tree_shap`` work on a numeric matrix."""

    feature: np.ndarray  # (N,) column of each internal node
    threshold: np.ndarray  # (N,)
    strict: np.ndarray  # (N,) bool: x < t (XGBoost) instead of x <= t
    nan_left: np.ndarray  # (N,) bool: where missing values go
    nan_as_zero: np.ndarray  # (N,) bool: NaN is read as 0 (LightGBM missing_type None / Zero)
    zero_missing: np.ndarray  # (N,) bool: 0 counts as missing (LightGBM missing_type Zero)
    cat_table: np.ndarray  # (N, T) bool: category code -> goes left (categorical nodes only)
    cat_size: np.ndarray  # (N,) codes covered by the table; 0 for numeric nodes
    leaf_value: np.ndarray  # (L,)
    leaf_tree: np.ndarray  # (L,)
    path_node: np.ndarray  # (E,) path entries, grouped by leaf
    path_left: np.ndarray  # (E,) bool: the path goes left at that node
    path_start: np.ndarray  # (L + 1,)
    base: float = 0.0  # added to the sum of leaf values
    scale: float = 1.0  # multiplies the sum (random forests average their trees)
    description: str = ""
    float32: bool = False  # the model compares its input cast to float32 (scikit-learn's trees, XGBoost)

    def go_left(self, v: np.ndarray, nodes: np.ndarray | None = None) -> np.ndarray:
        """(n, len(nodes)) bool: does each row go left at each node."""
        nodes = np.arange(len(self.feature)) if nodes is None else nodes
        vals = v[:, self.feature[nodes]]
        if self.float32:
            vals = vals.astype(np.float32).astype(np.float64)
        nan = np.isnan(vals)
        as_zero = self.nan_as_zero[nodes]
        v0 = np.where(nan & as_zero, 0.0, vals)
        missing = (nan & ~as_zero) | (self.zero_missing[nodes] & (np.abs(v0) <= ZERO))
        with np.errstate(invalid="ignore"):
            left = np.where(self.strict[nodes], v0 < self.threshold[nodes], v0 <= self.threshold[nodes])
        cat = np.flatnonzero(self.cat_size[nodes] > 0)
        if len(cat):
            size = self.cat_size[nodes[cat]]
            codes = vals[:, cat]
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(codes) & (codes >= 0) & (codes < size)
            idx = np.where(ok, np.nan_to_num(codes, nan=0.0), 0).astype(np.int64)
            table = self.cat_table[nodes[cat][None, :], idx]
            left[:, cat] = np.where(ok, table, self.nan_left[nodes[cat]])
            missing[:, cat] = False
        return np.where(missing, self.nan_left[nodes], left)

    def predict(self, v: np.ndarray) -> np.ndarray:
        """The ensemble's output for each row of ``v`` (to check that it was read right)."""
        used, at = np.unique(self.path_node, return_inverse=True)
        ok = self.go_left(v, used)[:, at] == self.path_left
        starts = self.path_start[:-1]
        has_path = self.path_start[1:] > starts
        reach = np.ones((len(v), len(self.leaf_value)), dtype=bool)
        if len(self.path_node):
            red = np.logical_and.reduceat(ok, np.minimum(starts, len(self.path_node) - 1), axis=1)
            reach[:, has_path] = red[:, has_path]
        return self.base + self.scale * (reach.astype(np.float64) @ self.leaf_value)


class _Builder:
    """Collects trees given as node arrays (children, split, leaf value) into a TreeEnsemble."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, bool, bool, bool, bool, np.ndarray | None]] = []
        self.leaf_value: list[float] = []
        self.leaf_tree: list[int] = []
        self.path_node: list[int] = []
        self.path_left: list[bool] = []
        self.path_start: list[int] = [0]
        self.trees = 0

    def node(self, feature: int, threshold: float = 0.0, *, strict: bool = False, nan_left: bool = False,
             nan_as_zero: bool = False, zero_missing: bool = False, left_codes: np.ndarray | None = None) -> int:  # fmt: skip
        """Register an internal node; ``left_codes`` (bool per category code) makes it categorical."""
        self.nodes.append((feature, threshold, strict, nan_left, nan_as_zero, zero_missing, left_codes))
        return len(self.nodes) - 1

    def tree(self, root: Any, children: Any) -> None:
        """Walk one tree: ``children(node)`` gives (node_id, left, right) or (leaf_value,) for a leaf."""
        stack: list[tuple[Any, list[tuple[int, bool]]]] = [(root, [])]
        while stack:
            item, path = stack.pop()
            kids = children(item)
            if len(kids) == 1:
                self.leaf_value.append(float(kids[0]))
                self.leaf_tree.append(self.trees)
                for nid, left in path:
                    self.path_node.append(nid)
                    self.path_left.append(left)
                self.path_start.append(len(self.path_node))
            else:
                nid, left, right = kids
                stack.append((right, [*path, (nid, False)]))
                stack.append((left, [*path, (nid, True)]))
        self.trees += 1

    def build(self, *, base: float = 0.0, scale: float = 1.0, description: str = "", float32: bool = False) -> TreeEnsemble:
        n = len(self.nodes)
        size = np.array([len(nd[6]) if nd[6] is not None else 0 for nd in self.nodes], dtype=np.int64)
        table = np.zeros((n, max(1, int(size.max()) if n else 1)), dtype=bool)
        for i, nd in enumerate(self.nodes):
            if nd[6] is not None:
                table[i, : size[i]] = nd[6]
        col = lambda k, dt: np.array([nd[k] for nd in self.nodes], dtype=dt)  # noqa: E731
        return TreeEnsemble(
            feature=col(0, np.int64), threshold=col(1, np.float64), strict=col(2, bool), nan_left=col(3, bool),
            nan_as_zero=col(4, bool), zero_missing=col(5, bool), cat_table=table, cat_size=size,
            leaf_value=np.array(self.leaf_value), leaf_tree=np.array(self.leaf_tree, dtype=np.int64),
            path_node=np.array(self.path_node, dtype=np.int64), path_left=np.array(self.path_left, dtype=bool),
            path_start=np.array(self.path_start, dtype=np.int64), base=base, scale=scale, description=description, float32=float32,
        )  # fmt: skip


# == reading models ===============================================================
def read_ensemble(model: Any, output: str) -> TreeEnsemble | str:
    """The model as a TreeEnsemble whose output is ``output``, or the reason it cannot be read exactly."""
    module = type(model).__module__
    if module.startswith("lightgbm"):
        return _lightgbm(model, output)
    if module.startswith("xgboost"):
        return _xgboost(model, output)
    if module.startswith("catboost"):
        return _catboost(model, output)
    if module.startswith("sklearn"):
        return _sklearn(model, output)
    return f"{type(model).__name__} is not a tree ensemble assay reads"


def _lightgbm(model: Any, output: str) -> TreeEnsemble | str:
    booster = getattr(model, "booster_", model)
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        return "multiclass LightGBM models are not supported by the tree path"
    objective = str(dump.get("objective", ""))
    if objective.startswith(("binary", "cross_entropy")) and output != "log_odds":
        return "a LightGBM classifier's probability is not a sum over trees; use_logit: true explains its log-odds exactly"
    if dump.get("average_output"):  # random forest mode
        scale = 1.0 / max(1, len(dump["tree_info"]))
    else:
        scale = 1.0
    b = _Builder()

    def children(nd: dict[str, Any]) -> tuple[Any, ...]:
        if "leaf_value" in nd:
            return (nd["leaf_value"],)
        missing = nd.get("missing_type", "None")
        if nd["decision_type"] == "==":
            codes = [int(c) for c in str(nd["threshold"]).split("||")]
            table = np.zeros(max(codes) + 1, dtype=bool)
            table[codes] = True
            nid = b.node(nd["split_feature"], nan_left=False, left_codes=table)
        else:
            nid = b.node(nd["split_feature"], float(nd["threshold"]), nan_left=bool(nd["default_left"]),
                         nan_as_zero=missing != "NaN", zero_missing=missing == "Zero")  # fmt: skip
        return nid, nd["left_child"], nd["right_child"]

    for tree in dump["tree_info"]:
        b.tree(tree["tree_structure"], children)
    return b.build(scale=scale, description=f"LightGBM, {b.trees} trees")


def _xgboost(model: Any, output: str) -> TreeEnsemble | str:
    import json

    booster = model.get_booster() if hasattr(model, "get_booster") else model
    config = json.loads(booster.save_config())
    learner = config["learner"]
    objective = learner["objective"]["name"]
    if int(learner["learner_model_param"].get("num_class", "0") or 0) > 1:
        return "multiclass XGBoost models are not supported by the tree path"
    if objective.startswith("binary:") and output != "log_odds":
        return "an XGBoost classifier's probability is not a sum over trees; use_logit: true explains its log-odds exactly"
    if objective not in ("binary:logistic", "binary:logitraw", "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror"):
        return f"XGBoost objective {objective} has an output link assay does not invert"
    if learner.get("gradient_booster", {}).get("name", "gbtree") not in ("gbtree", "dart"):
        return "only XGBoost tree boosters are read"
    raw = json.loads(booster.save_raw("json"))
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    if objective == "binary:logistic":
        base = math.log(base / (1 - base))
    trees = raw["learner"]["gradient_booster"]["model"]["trees"]
    b = _Builder()
    for tree in trees:
        left, right = tree["left_children"], tree["right_children"]
        split, cond, default_left = tree["split_indices"], tree["split_conditions"], tree["default_left"]
        split_type = tree.get("split_type", [0] * len(left))
        cats_nodes, cats_seg, cats_size, cats = (tree.get(k, []) for k in ("categories_nodes", "categories_segments", "categories_sizes", "categories"))
        cat_of = {int(nid): (int(cats_seg[i]), int(cats_size[i])) for i, nid in enumerate(cats_nodes)}

        def children(i: int) -> tuple[Any, ...]:  # called at once, in this iteration
            if left[i] == -1:
                return (cond[i],)
            if split_type[i] == 1:  # categorical: the listed categories go right
                seg, size = cat_of[i]
                codes = [int(c) for c in cats[seg : seg + size]]
                table = np.ones(max(codes) + 1, dtype=bool)
                table[codes] = False
                nid = b.node(int(split[i]), nan_left=bool(default_left[i]), left_codes=table)
            else:
                nid = b.node(int(split[i]), float(np.float32(cond[i])), strict=True, nan_left=bool(default_left[i]))
            return nid, left[i], right[i]

        b.tree(0, children)
    return b.build(base=base, description=f"XGBoost, {b.trees} trees", float32=True)


def _catboost(model: Any, output: str) -> TreeEnsemble | str:
    import json
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        model.save_model(path, format="json")
        with open(path, encoding="utf-8") as fh:
            dump = json.load(fh)
    info = dump.get("features_info", {})
    if info.get("categorical_features") or info.get("ctrs"):
        return "CatBoost's categorical features are split on target statistics (CTRs) of combinations, not on the columns themselves"
    if "oblivious_trees" not in dump:
        return "only CatBoost's symmetric (oblivious) trees are read"
    loss = str(dump.get("model_info", {}).get("params", {}).get("loss_function", {}).get("type", ""))
    if loss in ("Logloss", "CrossEntropy") and output != "log_odds":
        return "a CatBoost classifier's probability is not a sum over trees; use_logit: true explains its log-odds exactly"
    if loss.startswith("MultiClass"):
        return "multiclass CatBoost models are not supported by the tree path"
    flat = {f["feature_index"]: f["flat_feature_index"] for f in info.get("float_features", [])}
    nan_right = {f["feature_index"]: f.get("nan_value_treatment") == "AsTrue" for f in info.get("float_features", [])}
    scale, bias = dump.get("scale_and_bias", [1.0, [0.0]])
    b = _Builder()
    for tree in dump["oblivious_trees"]:
        splits = tree["splits"]
        if any(sp.get("split_type") != "FloatFeature" for sp in splits):
            return "a CatBoost tree splits on something other than a numeric column"
        depth, values = len(splits), tree["leaf_values"]
        if len(values) != 2**depth:
            return "a CatBoost tree with several outputs per leaf (multiclass) is not supported"

        def children(item: tuple[int, int], splits: Any = splits, values: Any = values, depth: int = depth) -> tuple[Any, ...]:
            level, index = item  # the leaf index's bit `level` is split `level`'s outcome (value > border)
            if level == depth:
                return (values[index],)
            sp = splits[level]
            f = int(sp["float_feature_index"])
            nid = b.node(flat.get(f, f), float(sp["border"]), nan_left=not nan_right.get(f, False))
            return nid, (level + 1, index), (level + 1, index | (1 << level))

        b.tree((0, 0), children)
    bias_value = float(np.ravel(bias)[0]) if np.size(bias) else 0.0
    return b.build(base=bias_value, scale=float(scale), description=f"CatBoost, {b.trees} trees")


def _sklearn(model: Any, output: str) -> TreeEnsemble | str:
    name = type(model).__name__
    classifier = hasattr(model, "classes_")
    if classifier and len(model.classes_) != 2:
        return f"{name} has {len(model.classes_)} classes; the tree path explains binary classifiers and regressors"
    if name.startswith("HistGradientBoosting"):
        if classifier and output != "log_odds":
            return f"{name}'s probability is not a sum over trees; use_logit: true explains its log-odds exactly"
        known, f_idx = model._bin_mapper.make_known_categories_bitsets()
        b = _Builder()
        for (pred,) in model._predictors:
            nodes, bits = pred.nodes, pred.raw_left_cat_bitsets

            def children(i: int, nodes: Any = nodes, bits: Any = bits) -> tuple[Any, ...]:
                nd = nodes[i]
                if nd["is_leaf"]:
                    return (nd["value"],)
                f = int(nd["feature_idx"])
                if nd["is_categorical"]:
                    codes = np.arange(256)
                    in_left = _in_bitset(bits[nd["bitset_idx"]], codes)
                    is_known = _in_bitset(known[f_idx[f]], codes)
                    table = np.where(in_left, True, np.where(is_known, False, bool(nd["missing_go_to_left"])))
                    nid = b.node(f, nan_left=bool(nd["missing_go_to_left"]), left_codes=table)
                else:
                    nid = b.node(f, float(nd["num_threshold"]), nan_left=bool(nd["missing_go_to_left"]))
                return nid, int(nd["left"]), int(nd["right"])

            b.tree(0, children)
        return b.build(base=float(np.ravel(model._baseline_prediction)[0]), description=f"{name}, {b.trees} trees")
    if name.startswith("GradientBoosting"):
        if classifier and output != "log_odds":
            return f"{name}'s probability is not a sum over trees; use_logit: true explains its log-odds exactly"
        init = model._raw_predict_init(np.zeros((1, model.n_features_in_)))
        b = _Builder()
        for est in model.estimators_[:, 0]:
            _sk_tree(b, est.tree_, lambda v: v[0, 0])
        return b.build(base=float(np.ravel(init)[0]), scale=float(model.learning_rate), description=f"{name}, {b.trees} trees", float32=True)
    if name.startswith(("DecisionTree", "ExtraTree", "RandomForest", "ExtraTrees")):
        if classifier and output != "probability":
            return f"{name}'s probability is a sum over trees, its log-odds are not; explain the probability (use_logit: false)"
        trees = [model] if name.startswith(("DecisionTree", "ExtraTree")) and not name.startswith("ExtraTrees") else list(model.estimators_)
        b = _Builder()
        for est in trees:
            value = (lambda v: v[0, 1] / v[0].sum()) if classifier else (lambda v: v[0, 0])
            _sk_tree(b, est.tree_, value)
        return b.build(scale=1.0 / len(trees), description=f"{name}, {b.trees} trees", float32=True)
    return f"{name} is not a tree model assay reads"


def _sk_tree(b: _Builder, tree: Any, value: Any) -> None:
    go_left = getattr(tree, "missing_go_to_left", None)

    def children(i: int) -> tuple[Any, ...]:
        if tree.children_left[i] == -1:
            return (value(tree.value[i]),)
        nan_left = bool(go_left[i]) if go_left is not None else False
        nid = b.node(int(tree.feature[i]), float(tree.threshold[i]), nan_left=nan_left)
        return nid, int(tree.children_left[i]), int(tree.children_right[i])

    b.tree(0, children)


def _in_bitset(words: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return ((words[codes // 32].astype(np.int64) >> (codes % 32)) & 1).astype(bool)


# == the algorithm ================================================================
@dataclass
class _Paths:
    """Each leaf's path features as slots 0..k-1 (input features, after mapping columns)."""

    entry_bit: np.ndarray  # (E,) int64: 1 << slot of each path entry's feature on its leaf
    full: np.ndarray  # (L,) int64: all of the leaf's slots set
    k: np.ndarray  # (L,) number of slots
    slot_feature: np.ndarray  # (L, K) input feature of each slot, n_features where unused


def _paths(ens: TreeEnsemble, column_feature: np.ndarray, n_features: int) -> _Paths | str:
    leaf_of_entry = np.repeat(np.arange(len(ens.leaf_value)), np.diff(ens.path_start))
    feat = column_feature[ens.feature[ens.path_node]]
    pairs, inverse = np.unique(leaf_of_entry * (n_features + 1) + feat, return_inverse=True)
    pair_leaf, pair_feat = pairs // (n_features + 1), pairs % (n_features + 1)
    k = np.bincount(pair_leaf, minlength=len(ens.leaf_value))
    if len(k) and k.max() > 62:
        return "a tree path splits on more than 62 distinct features"
    first = np.r_[0, np.cumsum(k)[:-1]]
    slot = np.arange(len(pairs)) - first[pair_leaf]
    slot_feature = np.full((len(k), max(1, int(k.max()) if len(k) else 1)), n_features, dtype=np.int64)
    slot_feature[pair_leaf, slot] = pair_feat
    return _Paths(np.left_shift(np.int64(1), slot[inverse]), (np.int64(1) << k) - 1, k, slot_feature)


def _masks(ens: TreeEnsemble, p: _Paths, v: np.ndarray, leaves: slice) -> np.ndarray:
    """(n, leaves) int64: bit s set when the row satisfies every split on slot s of the leaf's path."""
    e0, e1 = ens.path_start[leaves.start], ens.path_start[leaves.stop]
    nodes = ens.path_node[e0:e1]
    used, at = np.unique(nodes, return_inverse=True)
    fail = ens.go_left(v, used)[:, at] != ens.path_left[e0:e1]
    starts = ens.path_start[leaves.start : leaves.stop] - e0
    cleared = np.bitwise_or.reduceat(np.where(fail, p.entry_bit[e0:e1], 0), starts, axis=1)
    return p.full[leaves] & ~cleared


def _coefficients(kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley weights of the game [A in S, B outside S]: +(a-1)! b! / (a+b)! for A, -a! (b-1)! / (a+b)! for B."""
    fact = np.array([math.factorial(i) for i in range(kmax + 1)], dtype=np.float64)
    a = np.arange(kmax + 1)[:, None]
    bb = np.arange(kmax + 1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        tot = fact[np.minimum(a + bb, kmax)]
        ca = np.where((a >= 1) & (a + bb <= kmax), fact[np.maximum(a - 1, 0)] * fact[bb] / tot, 0.0)
        cb = np.where((bb >= 1) & (a + bb <= kmax), fact[a] * fact[np.maximum(bb - 1, 0)] / tot, 0.0)
    return ca, cb


def _patterns(masks: np.ndarray, kmax: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (leaf, mask) pairs, ordered by leaf: their leaf, mask, each row's index into them, summed weights."""
    n, nl = masks.shape
    key = (np.arange(nl, dtype=np.int64) << kmax) | masks if nl < 2 ** (62 - kmax) else None
    if key is not None:
        uniq, inverse = np.unique(key.ravel(), return_inverse=True)
        leaf, mask = uniq >> kmax, uniq & ((np.int64(1) << kmax) - 1)
    else:
        both = np.stack([np.broadcast_to(np.arange(nl), (n, nl)).ravel(), masks.ravel()], axis=1)
        uniq, inverse = np.unique(both, axis=0, return_inverse=True)
        leaf, mask = uniq[:, 0], uniq[:, 1]
    inverse = inverse.reshape(n, nl)
    w = np.bincount(inverse.ravel(), weights=np.repeat(weights, nl), minlength=len(leaf)) if weights is not None else np.zeros(len(leaf))
    return leaf, mask, inverse, w


def tree_shap(
    ens: TreeEnsemble,
    v_x: np.ndarray,
    v_z: np.ndarray,
    weights: np.ndarray,
    column_feature: np.ndarray,
    n_features: int,
    *,
    max_entries: int = 1_000_000,
) -> np.ndarray | str:
    """(n, n_features) exact interventional Shapley values of the ensemble's output, or why not."""
    from scipy import sparse

    w = weights / weights.sum()
    n = len(v_x)
    phi = np.zeros((n, n_features))
    lengths = np.diff(ens.path_start)
    # whole trees in groups whose path entries times rows stay within max_entries
    tree_end = np.flatnonzero(np.r_[ens.leaf_tree[1:] != ens.leaf_tree[:-1], True]) + 1
    merged: list[np.ndarray] = []
    start = first = 0
    for end in tree_end.tolist():
        if end > first and int(lengths[first:end].sum()) * max(n, len(v_z)) > max_entries and start > first:
            merged.append(np.arange(first, start))
            first = start
        start = end
    if start > first:
        merged.append(np.arange(first, start))
    merged = [g[lengths[g] > 0] for g in merged]
    merged = [g for g in merged if len(g)]
    paths = _paths(ens, column_feature, n_features)
    if isinstance(paths, str):
        return paths
    ca, cb = _coefficients(int(paths.k.max()) if len(paths.k) else 0)
    for group in merged:
        lo, hi = int(group[0]), int(group[-1]) + 1
        leaves = slice(lo, hi)
        kmax = max(1, int(paths.k[leaves].max()))
        ux_leaf, ux_mask, ux_of_row, _ = _patterns(_masks(ens, paths, v_x, leaves), kmax)
        uz_leaf, uz_mask, _, uz_w = _patterns(_masks(ens, paths, v_z, leaves), kmax, w)
        # every (x pattern, z pattern) pair on the same leaf
        nz = np.bincount(uz_leaf, minlength=hi - lo)
        z_first = np.r_[0, np.cumsum(nz)[:-1]]
        reps = nz[ux_leaf]
        pair_x = np.repeat(np.arange(len(ux_leaf)), reps)
        pair_z = z_first[ux_leaf][pair_x] + (np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps))
        leaf = ux_leaf[pair_x]
        mx, mz = ux_mask[pair_x], uz_mask[pair_z]
        keep = (mx | mz) == paths.full[lo + leaf]  # else no hybrid row reaches the leaf
        pair_x, pair_z, leaf, mx, mz = pair_x[keep], pair_z[keep], leaf[keep], mx[keep], mz[keep]
        a_set, b_set = mx & ~mz, mz & ~mx
        na, nb = np.bitwise_count(a_set).astype(np.int64), np.bitwise_count(b_set).astype(np.int64)
        val = ens.scale * ens.leaf_value[lo + leaf] * uz_w[pair_z]
        plus, minus = val * ca[na, nb], val * cb[na, nb]
        table = np.zeros((len(ux_leaf), kmax))
        for s in range(kmax):
            bit = np.int64(1) << s
            contrib = np.where(a_set & bit, plus, 0.0) - np.where(b_set & bit, minus, 0.0)
            table[:, s] = np.bincount(pair_x, weights=contrib, minlength=len(ux_leaf))
        # slots back to input features, then patterns back to rows
        by_feature = np.zeros((len(ux_leaf), n_features + 1))
        np.add.at(by_feature, (np.repeat(np.arange(len(ux_leaf)), kmax), paths.slot_feature[lo + ux_leaf, :kmax].ravel()), table.ravel())
        nl = ux_of_row.shape[1]
        ind = sparse.csr_matrix((np.ones(n * nl), ux_of_row.ravel(), np.arange(0, n * nl + 1, nl)), shape=(n, len(ux_leaf)))
        phi += ind @ by_feature[:, :n_features]
    return phi
