#!/usr/bin/python3
"""A small PMML 4.4 evaluator for the documents ml_export_pmml writes, to check
them against the database's own scoring (test/pmml.sh). Standard library only.

    evaluate.py MODEL.pmml ROWS.json

ROWS.json: a list of objects, each with the input fields (as the DataDictionary
names them; categories as text, null for missing) and the database's answers:
"pred" (a number: regression) or "label" and "proba" ({class: probability}).
Prints one line "rows=N max_rel=X" and exits 1 when an answer differs by more
than 1e-9 relative (absolute below 1e-12), or a label differs.

It implements the parts of PMML the exporter uses: DataDictionary with
categorical Values (a value outside them is invalid, then missing as the
MiningSchema says), DerivedField (Apply: + - * / if isMissing; NormDiscrete;
FieldRef; Constant) with mapMissingTo, RegressionModel (none, logit, softmax),
TreeModel (missingValueStrategy defaultChild; True, False, SimplePredicate,
SimpleSetPredicate, CompoundPredicate), MiningModel (sum, average,
modelChain), Targets rescaleConstant / rescaleFactor, OutputField
predictedValue.
"""
import json
import math
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.dmg.org/PMML-4_4}"


def tag(e):
    return e.tag[len(NS):] if e.tag.startswith(NS) else e.tag


def kids(e, name=None):
    return [c for c in e if name is None or tag(c) == name]


def kid(e, name):
    for c in e:
        if tag(c) == name:
            return c
    return None


def parse_array(text):
    """Array content: whitespace-separated tokens, double-quoted with \\" inside."""
    out, i, s = [], 0, text
    while i < len(s):
        if s[i].isspace():
            i += 1
            continue
        if s[i] == '"':
            i += 1
            tok = []
            while s[i] != '"':
                if s[i] == "\\" and i + 1 < len(s) and s[i + 1] == '"':
                    i += 1
                tok.append(s[i])
                i += 1
            out.append("".join(tok))
            i += 1
        else:
            j = i
            while j < len(s) and not s[j].isspace():
                j += 1
            out.append(s[i:j])
            i = j
    return out


class Doc:
    def __init__(self, path):
        self.root = ET.parse(path).getroot()
        self.fields = {}
        for f in kids(kid(self.root, "DataDictionary"), "DataField"):
            values = [v.get("value") for v in kids(f, "Value")]
            self.fields[f.get("name")] = (f.get("optype"), values)
        td = kid(self.root, "TransformationDictionary")
        self.derived = kids(td, "DerivedField") if td is not None else []
        self.model = [c for c in self.root if tag(c).endswith("Model")][0]

    def inputs(self, row):
        """Field values from a row: invalid categories become missing."""
        v = {}
        for name, (optype, values) in self.fields.items():
            x = row.get(name)
            if x is None:
                v[name] = None
            elif optype == "categorical":
                v[name] = x if x in values else None
            else:
                v[name] = float(x)
        for df in self.derived:
            v[df.get("name")] = expr(list(df)[0], v)
        return v


def expr(e, v):
    t = tag(e)
    if t == "Constant":
        return float(e.text)
    if t == "FieldRef":
        return v[e.get("field")]
    if t == "NormDiscrete":
        x = v[e.get("field")]
        if x is None:
            m = e.get("mapMissingTo")
            return float(m) if m is not None else None
        return 1.0 if x == e.get("value") else 0.0
    if t == "Apply":
        f = e.get("function")
        args = [expr(a, v) for a in e]
        if f == "isMissing":
            return args[0] is None
        if f == "if":
            return args[1] if args[0] else args[2]
        if any(a is None for a in args):
            m = e.get("mapMissingTo")
            return float(m) if m is not None else None
        a, b = args
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[f]
    raise ValueError("expression %s" % t)


def predicate(p, v):
    """True, False or None (unknown: a value it reads is missing)."""
    t = tag(p)
    if t == "True":
        return True
    if t == "False":
        return False
    if t == "SimplePredicate":
        x = v[p.get("field")]
        op = p.get("operator")
        if op == "isMissing":
            return x is None
        if op == "isNotMissing":
            return x is not None
        if x is None:
            return None
        ref = p.get("value")
        if op in ("equal", "notEqual"):
            COUNT["equal"] += 1
        if not isinstance(x, str):
            ref = float(ref)
        return {"equal": x == ref, "notEqual": x != ref, "lessThan": x < ref,
                "lessOrEqual": x <= ref, "greaterThan": x > ref,
                "greaterOrEqual": x >= ref}[op]
    if t == "SimpleSetPredicate":
        x = v[p.get("field")]
        if x is None:
            return None
        COUNT["set"] += 1
        values = parse_array(kid(p, "Array").text or "")
        return (x in values) == (p.get("booleanOperator") == "isIn")
    if t == "CompoundPredicate":
        rs = [predicate(c, v) for c in p]
        op = p.get("booleanOperator")
        if op == "or":
            return True if True in rs else (None if None in rs else False)
        if op == "and":
            return False if False in rs else (None if None in rs else True)
    raise ValueError("predicate %s" % t)


# How often the export's paths were taken (the test checks they were).
COUNT = {"default": 0, "set": 0, "equal": 0}


def tree(m, v):
    node = kid(m, "Node")
    assert m.get("missingValueStrategy") == "defaultChild"
    while True:
        children = kids(node, "Node")
        if not children:
            break
        nxt = None
        for c in children:
            r = predicate([x for x in c if tag(x) != "Extension"][0], v)
            if r is None:
                COUNT["default"] += 1
                nxt = [d for d in children if d.get("id") == node.get("defaultChild")][0]
                break
            if r:
                nxt = c
                break
        if nxt is None:
            raise ValueError("no true child")
        node = nxt
    if m.get("functionName") == "classification":
        return {sd.get("value"): float(sd.get("probability")) for sd in kids(node, "ScoreDistribution")}
    return float(node.get("score"))


def regression(m, v):
    tables = []
    for rt in kids(m, "RegressionTable"):
        s = float(rt.get("intercept"))
        for np_ in kids(rt, "NumericPredictor"):
            s += float(np_.get("coefficient")) * v[np_.get("name")]
        tables.append((rt.get("targetCategory"), s))
    norm = m.get("normalizationMethod", "none")
    if m.get("functionName") == "regression":
        return tables[0][1]
    if norm == "logit":
        (c1, s1), (c0, _) = tables
        p1 = 1.0 / (1.0 + math.exp(-s1)) if s1 >= 0 else math.exp(s1) / (1.0 + math.exp(s1))
        return {c1: p1, c0: 1.0 - p1}
    if norm == "softmax":
        mx = max(s for _, s in tables)
        e = [(c, math.exp(s - mx)) for c, s in tables]
        tot = sum(x for _, x in e)
        return {c: x / tot for c, x in e}
    raise ValueError("normalization %s" % norm)


def targets(m, y):
    ts = kid(m, "Targets")
    if ts is None or isinstance(y, dict):
        return y
    t = kid(ts, "Target")
    return y * float(t.get("rescaleFactor", "1")) + float(t.get("rescaleConstant", "0"))


def outputs(m, y, v):
    out = kid(m, "Output")
    if out is None:
        return
    for f in kids(out, "OutputField"):
        if f.get("feature") == "predictedValue" and not isinstance(y, dict):
            v[f.get("name")] = y


def model(m, v):
    t = tag(m)
    if t == "RegressionModel":
        y = regression(m, v)
    elif t == "TreeModel":
        y = tree(m, v)
    elif t == "MiningModel":
        seg = kid(m, "Segmentation")
        method = seg.get("multipleModelMethod")
        segs = kids(seg, "Segment")
        inner = [[c for c in s if tag(c).endswith("Model")][0] for s in segs]
        if method == "modelChain":
            v = dict(v)
            for im in inner:
                y = model(im, v)
        elif method == "sum":
            y = 0.0
            for im in inner:
                y += model(im, v)
        elif method == "average":
            ys = [model(im, v) for im in inner]
            if isinstance(ys[0], dict):
                y = {c: 0.0 for c in ys[0]}
                for d in ys:
                    for c in d:
                        y[c] += d[c]
                y = {c: s / len(ys) for c, s in y.items()}
            else:
                y = 0.0
                for x in ys:
                    y += x
                y /= len(ys)
        else:
            raise ValueError("method %s" % method)
    else:
        raise ValueError("model %s" % t)
    y = targets(m, y)
    outputs(m, y, v)
    return y


def close(a, b):
    d = abs(a - b)
    return d <= 1e-12 or d <= 1e-9 * max(abs(a), abs(b)), (d / max(abs(a), abs(b)) if d > 0 else 0.0)


def main():
    doc = Doc(sys.argv[1])
    rows = json.load(open(sys.argv[2]))
    worst, bad = 0.0, []
    for i, row in enumerate(rows):
        y = model(doc.model, doc.inputs(row))
        if isinstance(y, dict):
            pairs = [(y[c], row["proba"][c]) for c in row["proba"]]
            label = max(y, key=lambda c: y[c])
            ties = sorted(y.values())[-2:]
            if len(ties) == 2 and abs(ties[0] - ties[1]) > 1e-9 and label != row["label"]:
                bad.append("row %d: label %s, database %s" % (i, label, row["label"]))
        else:
            pairs = [(y, row["pred"])]
        for a, b in pairs:
            ok, rel = close(a, b)
            worst = max(worst, rel)
            if not ok:
                bad.append("row %d: %r, database %r" % (i, a, b))
    print("rows=%d max_rel=%.3g missing_routed=%d set_tests=%d equal_tests=%d"
          % (len(rows), worst, COUNT["default"], COUNT["set"], COUNT["equal"]))
    for b in bad[:5]:
        print("# " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
