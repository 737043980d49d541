#!/usr/bin/python3
"""Regenerate wtonnx's test fixtures (testmodels/<name>/).

Run from the repository root with Debian's Python (it has torch 1.13,
torchvision 0.14 and onnx 1.12; the pyenv python3 on PATH does not):

    /usr/bin/python3 testmodels/gen/gen.py            # every fixture
    /usr/bin/python3 testmodels/gen/gen.py convnext   # only the named ones

Every fixture is a small but real architecture (torchvision's own classes)
with seeded random weights, exported in eval mode with torch.onnx.export.
Each folder gets model.onnx, input.npy, output.npy (the output of the *torch
module*, not of any ONNX runtime) and meta.json. meta.json lists, by ONNX
node name, every depthwise 2-D Conv (group == in == out channels, weight
C x 1 x kh x kw, dilation 1) and every grouped Conv that is not one, with the
reason. The depthwise list is found in the ONNX graph (following Constant,
Identity and ConstantOfShape producers of the weight) and cross-checked
against the torch module's own Conv2d layers, in execution order.

The output is deterministic: the same torch/onnx versions give byte-identical
files.
"""

import hashlib
import json
import os
import sys
from functools import partial

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper, shape_inference
from torchvision.models import convnext as tv_convnext
from torchvision.models import efficientnet as tv_efficientnet
from torchvision.models import mobilenetv2 as tv_mobilenetv2
from torchvision.models import mobilenetv3 as tv_mobilenetv3
from torchvision.models import regnet as tv_regnet
from torchvision.models import shufflenetv2 as tv_shufflenetv2
from torchvision.ops.misc import Conv2dNormActivation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
IMAGE = [1, 3, 224, 224]


# --------------------------------------------------------------------------
# Random but well-scaled parameters
# --------------------------------------------------------------------------


def randomize(model, gen):
    """He-initialise weights and randomise normalisation layers."""
    he_init(model, gen)
    randomize_norms(model, gen)


def randomize_norms(model, gen):
    """Give normalisation layers non-trivial affine parameters and running
    statistics, so that folding them into convolutions is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            shape = m.weight.shape
            with torch.no_grad():
                m.weight.copy_(torch.rand(shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(shape, generator=gen) * 0.2)


def he_init(model, gen):
    """Re-initialise Conv2d/Linear weights with He-normal (fan-in) scale and
    small random biases (torchvision's own initialisers scale depthwise and
    classifier weights down so far that the logits of a random network are
    nearly constant): activations neither vanish nor explode through the
    network, so the output depends visibly on every layer."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.weight
            fan_in = w[0].numel()
            with torch.no_grad():
                w.copy_(torch.randn(w.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.05)


# --------------------------------------------------------------------------
# Fixture definitions. Each returns (module, description).
# --------------------------------------------------------------------------


def build_mobilenet_v2(gen):
    m = tv_mobilenetv2.MobileNetV2(num_classes=10, width_mult=0.25)
    # MobileNetV2 keeps its last 1x1 conv at 1280 channels whatever the
    # width; narrow that head to 256 to keep the fixture small.
    last = m.features[-1][0]
    m.features[-1] = Conv2dNormActivation(last.in_channels, 256, kernel_size=1, activation_layer=nn.ReLU6)
    m.classifier[1] = nn.Linear(256, 10)
    m.last_channel = 256
    randomize(m, gen)
    return m, "torchvision MobileNetV2(width_mult=0.25, num_classes=10), last conv narrowed to 256 channels"


def build_mobilenet_v3_small(gen):
    # dilated=True gives the last stage's 5x5 depthwise convs dilation 2:
    # real, exporter-made non-candidates next to ordinary candidates.
    setting, last = tv_mobilenetv3._mobilenet_v3_conf(
        "mobilenet_v3_small", width_mult=0.25, dilated=True)
    m = tv_mobilenetv3.MobileNetV3(setting, last, num_classes=10)
    randomize(m, gen)
    return m, ("torchvision MobileNetV3 small (width_mult=0.25, dilated=True, "
               "num_classes=10); the last stage's depthwise convs have dilation 2")


def build_efficientnet_b0(gen):
    # The B0 block table (expand, kernel, stride, in, out, layers) at a
    # quarter of the width and one layer per stage.
    conf = partial(tv_efficientnet.MBConvConfig, width_mult=0.25, depth_mult=1.0)
    setting = [
        conf(1, 3, 1, 32, 16, 1),
        conf(6, 3, 2, 16, 24, 1),
        conf(6, 5, 2, 24, 40, 1),
        conf(6, 3, 2, 40, 80, 1),
        conf(6, 5, 1, 80, 112, 1),
        conf(6, 5, 2, 112, 192, 1),
        conf(6, 3, 1, 192, 320, 1),
    ]
    m = tv_efficientnet.EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.0, num_classes=10)
    randomize(m, gen)
    return m, ("torchvision EfficientNet with the B0 block table at width_mult=0.25, "
               "one layer per stage (3x3 and 5x5 depthwise, SiLU, squeeze-excitation), num_classes=10")


def build_convnext(gen):
    cfg = tv_convnext.CNBlockConfig
    setting = [cfg(16, 32, 1), cfg(32, 64, 1), cfg(64, 128, 2), cfg(128, None, 1)]
    m = tv_convnext.ConvNeXt(setting, stochastic_depth_prob=0.0, layer_scale=1e-6, num_classes=10)
    randomize(m, gen)
    # torchvision's layer scale of 1e-6 would make every block an identity
    # to float32 precision; random scales keep each 7x7 depthwise conv visible
    # in the output.
    for mod in m.modules():
        if isinstance(mod, tv_convnext.CNBlock):
            with torch.no_grad():
                mod.layer_scale.copy_(torch.rand(mod.layer_scale.shape, generator=gen) * 0.5 + 0.25)
    return m, ("torchvision ConvNeXt, dims 16-32-64-128, depths 1-1-2-1, 7x7 depthwise, "
               "LayerNorm, GELU, random layer scales, num_classes=10")


def build_shufflenet_v2(gen):
    m = tv_shufflenetv2.ShuffleNetV2([2, 3, 2], [16, 32, 64, 128, 256], num_classes=10)
    randomize(m, gen)
    return m, ("torchvision ShuffleNetV2(stages_repeats=[2,3,2], "
               "stages_out_channels=[16,32,64,128,256], num_classes=10)")


def build_regnet(gen):
    params = tv_regnet.BlockParams(
        depths=[1, 1, 2, 1], widths=[16, 32, 64, 128], group_widths=[8, 8, 8, 8],
        bottleneck_multipliers=[1.0] * 4, strides=[2] * 4, se_ratio=0.25)
    m = tv_regnet.RegNet(params, num_classes=10, stem_width=16)
    randomize(m, gen)
    return m, ("torchvision RegNet, widths 16-32-64-128, depths 1-1-2-1, group width 8, SE 0.25: "
               "grouped 3x3 convs with 8 channels per group, no depthwise conv (negative case)")


class ConstWeightsNet(nn.Module):
    """Depthwise convs whose weights the ONNX file holds in unusual ways (see
    postprocess_constweights), plus a dilated, a strided and a
    channel-multiplier depthwise-like conv."""

    def __init__(self, gen, c=8):
        super().__init__()
        dw = lambda k, **kw: nn.Conv2d(c, c, k, padding=kw.pop("padding", k // 2), groups=c, **kw)
        self.dw_const = dw(3)                       # weight -> Constant node
        self.dw_shared_a = dw(3, bias=False)         # weight initializer
        self.dw_shared_b = dw(3, bias=False)         # same values -> Identity chain
        self.box = dw(5, bias=False)                 # all-equal box blur -> ConstantOfShape
        self.dilated = dw(3, padding=2, dilation=2)  # not a candidate
        self.strided = dw(3, stride=2)               # candidate with stride 2
        self.mult = nn.Conv2d(c, 2 * c, 3, padding=1, groups=c)  # channel multiplier 2
        self.pw = nn.Conv2d(2 * c, c, 1)
        he_init(self, gen)
        with torch.no_grad():
            self.dw_shared_b.weight.copy_(self.dw_shared_a.weight)
            self.box.weight.fill_(1.0 / 25.0)

    def forward(self, x):
        y = F.relu(self.dw_const(x))
        y = self.dw_shared_b(self.dw_shared_a(y)) + y
        y = self.box(y)
        y = F.relu(self.dilated(y))
        y = self.strided(y)
        y = F.relu(self.mult(y))
        return self.pw(y)


def build_constweights(gen):
    return ConstWeightsNet(gen), (
        "hand-made 8-channel depthwise stack: one weight in a Constant node, one reached "
        "through an Identity chain from a shared initializer, one (5x5 box blur) made by "
        "ConstantOfShape; plus a dilation-2, a stride-2 and a channel-multiplier-2 conv")


def postprocess_constweights(model):
    """Rewrite how three depthwise weights are stored, keeping their values."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    convs = {n.name: n for n in g.node if n.op_type == "Conv"}

    def conv(prefix):
        return convs["/%s/Conv" % prefix]

    def take_initializer(name):
        t = inits.pop(name)
        g.initializer.remove(t)
        return t

    new_nodes = []  # (before-node, node)

    # 1. Constant node holding the weight.
    c = conv("dw_const")
    t = take_initializer(c.input[1])
    t.name = ""
    out = "/dw_const/Constant_output_0"
    new_nodes.append((c, helper.make_node("Constant", [], [out], name="/dw_const/Constant", value=t)))
    c.input[1] = out

    # 2. Identity chain. torch already shares dw_shared_b's weight, equal
    # to dw_shared_a's, through an Identity of dw_shared_a's initializer
    # (the way exported torchvision models do); lengthen it to a chain.
    a, b = conv("dw_shared_a"), conv("dw_shared_b")
    producers = {o: n for n in g.node for o in n.output}
    first = producers.get(b.input[1])
    assert first is not None and first.op_type == "Identity" and first.input[0] == a.input[1], \
        "torch no longer shares equal initializers through Identity"
    out = "/dw_shared_b/Identity_output_0"
    new_nodes.append((b, helper.make_node("Identity", [first.output[0]], [out], name="/dw_shared_b/Identity")))
    b.input[1] = out

    # 3. ConstantOfShape for the all-equal box blur kernel.
    c = conv("box")
    w = numpy_helper.to_array(take_initializer(c.input[1]))
    assert np.all(w == w.flat[0]), "box kernel is not all-equal"
    shape_out = "/box/Constant_output_0"
    out = "/box/ConstantOfShape_output_0"
    new_nodes.append((c, helper.make_node(
        "Constant", [], [shape_out], name="/box/Constant",
        value=numpy_helper.from_array(np.array(w.shape, dtype=np.int64), "")))) 
    new_nodes.append((c, helper.make_node(
        "ConstantOfShape", [shape_out], [out], name="/box/ConstantOfShape",
        value=numpy_helper.from_array(np.array([w.flat[0]], dtype=np.float32), ""))))
    c.input[1] = out

    nodes = list(g.node)
    for before, node in new_nodes:
        nodes.insert(nodes.index(before), node)
    del g.node[:]
    g.node.extend(nodes)
    return model


class LightNet(nn.Module):
    """A small stack in the ONNX "light" zoo form (see postprocess_light):
    every weight is all-equal so that ConstantOfShape can make it."""

    def __init__(self, gen):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw1 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1, bias=False)
        self.dw2 = nn.Conv2d(16, 16, 5, padding=2, stride=2, groups=16, bias=False)
        self.dw3 = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        with torch.no_grad():
            for m, w, b in ((self.stem, 0.2, 0.01), (self.dw1, 1.0 / 9, 0.05), (self.pw, 0.125, None),
                            (self.dw2, 0.04, None), (self.dw3, -0.1, 0.02)):
                m.weight.fill_(w)
                if b is not None:
                    m.bias.fill_(b)

    def forward(self, x):
        y = F.relu(self.stem(x))
        y = F.relu(self.dw1(y)) + y
        y = F.relu(self.dw2(self.pw(y)))
        return self.dw3(y) + y


def build_light(gen):
    return LightNet(gen), (
        "hand-made stack in the ONNX model zoo's 'light' form: IR 3, opset 9, every weight and bias "
        "made by ConstantOfShape from a shape tensor that is an initializer listed as a graph input "
        "(IR 3 lists every initializer as an input); three depthwise convs (3x3, 5x5 stride 2, 3x3)")


def postprocess_light(model):
    """Replace every float initializer but dw3's bias by ConstantOfShape of
    an int64 shape initializer, as the light zoo models do (they keep some
    biases as initializers too), and mark the model IR 3 with every
    initializer listed as a graph input."""
    g = model.graph
    inputs = {i.name for i in g.input}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, n)
    new_nodes = []  # (before-node, node)
    kept = []
    for t in list(g.initializer):
        if t.data_type != onnx.TensorProto.FLOAT or t.name == "dw3.bias":
            kept.append(t)
            continue
        w = numpy_helper.to_array(t)
        assert np.all(w == w.flat[0]), "%s is not all-equal" % t.name
        user = consumers[t.name]
        shape_name = t.name + "_shape"
        kept.append(numpy_helper.from_array(np.array(w.shape, dtype=np.int64), shape_name))
        node = helper.make_node("ConstantOfShape", [shape_name], [t.name], name=t.name + "/ConstantOfShape",
                                value=numpy_helper.from_array(np.array([w.flat[0]], dtype=np.float32), ""))
        new_nodes.append((user, node))
    del g.initializer[:]
    g.initializer.extend(kept)
    # The weights are node outputs now, not inputs; the shape tensors are.
    keep_inputs = [i for i in g.input if i.name not in {n.output[0] for _, n in new_nodes}]
    del g.input[:]
    g.input.extend(keep_inputs)
    for t in kept:
        if t.name not in inputs:
            g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    nodes = list(g.node)
    for before, node in new_nodes:
        nodes.insert(nodes.index(before), node)
    del g.node[:]
    g.node.extend(nodes)
    model.ir_version = 3
    return model


class Fixture:
    def __init__(self, name, build, opset, seed, input_shape=None, dynamic=False, post=None, export=None):
        self.name = name
        self.build = build
        self.opset = opset
        self.seed = seed
        self.input_shape = input_shape or IMAGE
        self.dynamic = dynamic
        self.post = post
        self.export = export or {}


FIXTURES = [
    Fixture("mobilenet_v2", build_mobilenet_v2, 11, 1),
    # The same network and weights (same seed) with dynamic batch and image size;
    # the stored input is batch 2 at 96x128 to exercise all three axes.
    Fixture("mobilenet_v2_dynamic", build_mobilenet_v2, 11, 1, input_shape=[2, 3, 96, 128], dynamic=True),
    Fixture("mobilenet_v3_small", build_mobilenet_v3_small, 14, 2),
    Fixture("efficientnet_b0", build_efficientnet_b0, 13, 3),
    Fixture("convnext", build_convnext, 17, 4),
    Fixture("shufflenet_v2", build_shufflenet_v2, 9, 5),
    Fixture("regnet", build_regnet, 13, 6),
    Fixture("constweights", build_constweights, 15, 7, input_shape=[1, 8, 32, 32],
            post=postprocess_constweights),
    Fixture("light", build_light, 9, 8, input_shape=[1, 3, 32, 32], post=postprocess_light,
            export={"keep_initializers_as_inputs": True}),
]


# --------------------------------------------------------------------------
# Graph analysis
# --------------------------------------------------------------------------


def const_value(graph, name, producers, inits):
    """Value of tensor `name` if it is a constant reachable through
    initializers, Constant, Identity and ConstantOfShape; else None.
    Returns (array, how) where how names the path taken."""
    if name in inits:
        return numpy_helper.to_array(inits[name]), "initializer"
    node = producers.get(name)
    if node is None:
        return None, None
    if node.op_type == "Constant":
        for a in node.attribute:
            if a.name == "value":
                return numpy_helper.to_array(a.t), "Constant"
        return None, None
    if node.op_type == "Identity":
        v, how = const_value(graph, node.input[0], producers, inits)
        return v, (None if v is None else "Identity<-" + how)
    if node.op_type == "ConstantOfShape":
        shape, how = const_value(graph, node.input[0], producers, inits)
        if shape is None:
            return None, None
        fill = np.zeros(1, dtype=np.float32)
        for a in node.attribute:
            if a.name == "value":
                fill = numpy_helper.to_array(a.t)
        return np.full(tuple(int(d) for d in shape), fill.flat[0], dtype=fill.dtype), "ConstantOfShape"
    return None, None


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def analyse(model):
    """Classify every Conv node of model. Returns (depthwise, details,
    non_candidates) in graph order."""
    inferred = shape_inference.infer_shapes(model)
    g = inferred.graph
    shapes = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    inits = {t.name: t for t in g.initializer}
    producers = {o: n for n in g.node for o in n.output}

    depthwise, details, non_candidates = [], [], []
    for n in g.node:
        if n.op_type != "Conv":
            continue
        w, how = const_value(g, n.input[1], producers, inits)
        if w is None:
            raise SystemExit("%s: weight %s is not a constant" % (n.name, n.input[1]))
        group = attr(n, "group", 1)
        if w.ndim != 4 or group == 1:
            continue
        x = shapes.get(n.input[0])
        if not x or x[1] is None:
            raise SystemExit("%s: input channels of %s unknown" % (n.name, n.input[0]))
        cin, cout, kh, kw = x[1], w.shape[0], w.shape[2], w.shape[3]
        dil = list(attr(n, "dilations", [1, 1]))
        if group == cin == cout and w.shape[1] == 1:
            if any(d != 1 for d in dil):
                non_candidates.append({"node": n.name, "reason": "dilated",
                                       "detail": "depthwise %dx%d with dilations %s" % (kh, kw, dil)})
                continue
            depthwise.append(n.name)
            details.append({
                "node": n.name, "channels": cin, "kernel": [kh, kw],
                "strides": list(attr(n, "strides", [1, 1])),
                "pads": list(attr(n, "pads", [0, 0, 0, 0])),
                "bias": len(n.input) > 2 and n.input[2] != "",
                "weight_source": how,
            })
        else:
            non_candidates.append({
                "node": n.name, "reason": "grouped but not depthwise",
                "detail": "group %d, %d input channels, %d output channels, weight %s" % (
                    group, cin, cout, list(w.shape))})
    return depthwise, details, non_candidates


def torch_conv_order(module, x):
    """Conv2d layers of module in execution order."""
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(m))
             for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(x)
    for h in hooks:
        h.remove()
    return seen


def torch_depthwise(module, x):
    out = []
    for m in torch_conv_order(module, x):
        if m.groups == m.in_channels == m.out_channels and m.groups > 1 and m.dilation == (1, 1):
            out.append({"channels": m.in_channels, "kernel": list(m.kernel_size),
                        "strides": list(m.stride), "pads": list(m.padding) * 2})
    return out


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def generate(fx):
    torch.manual_seed(fx.seed)
    gen = torch.Generator().manual_seed(fx.seed)
    module, description = fx.build(gen)
    module.eval()

    rng = np.random.default_rng(1000 + fx.seed)
    x_np = rng.standard_normal(fx.input_shape).astype(np.float32)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        y = module(x).numpy().astype(np.float32)
    if not np.all(np.isfinite(y)) or float(np.std(y)) < 1e-3:
        raise SystemExit("%s: degenerate output (std %g)" % (fx.name, np.std(y)))

    out_dir = os.path.join(ROOT, fx.name)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    dynamic_axes = None
    if fx.dynamic:
        dynamic_axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: {0: "batch"}}
    torch.onnx.export(module, x, path, opset_version=fx.opset, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], dynamic_axes=dynamic_axes,
                      do_constant_folding=True, export_params=True, **fx.export)

    model = onnx.load(path)
    if fx.post is not None:
        model = fx.post(model)
    model.producer_name = "wtonnx testmodels/gen/gen.py (torch %s)" % torch.__version__.split("a")[0]
    model.doc_string = description
    names = [n.name for n in model.graph.node]
    if any(not s for s in names) or len(set(names)) != len(names):
        raise SystemExit("%s: node names missing or not unique" % fx.name)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)

    depthwise, details, non_candidates = analyse(model)
    expected = torch_depthwise(module, x)
    got = [{k: d[k] for k in ("channels", "kernel", "strides", "pads")} for d in details]
    if got != expected:
        raise SystemExit("%s: ONNX depthwise convs disagree with the torch module:\n onnx  %s\n torch %s"
                         % (fx.name, got, expected))

    np.save(os.path.join(out_dir, "input.npy"), x_np)
    np.save(os.path.join(out_dir, "output.npy"), y)
    g = model.graph
    input_dims = [d.dim_param if d.dim_param else d.dim_value
                  for d in g.input[0].type.tensor_type.shape.dim]
    output_dims = [d.dim_param if d.dim_param else d.dim_value
                   for d in g.output[0].type.tensor_type.shape.dim]
    meta = {
        "name": fx.name,
        "description": description,
        "opset": fx.opset,
        "input_name": g.input[0].name,
        "input_shape": list(x_np.shape),
        "model_input_dims": input_dims,
        "output_name": g.output[0].name,
        "output_shape": list(y.shape),
        "model_output_dims": output_dims,
        "seed": fx.seed,
        "conv_count": sum(1 for n in g.node if n.op_type == "Conv"),
        "depthwise_convs": depthwise,
        "depthwise_details": details,
        "non_candidate_convs": non_candidates,
        # Guards against in-place edits (onnx.shape_inference.infer_shapes_path
        # without an output path, for one, rewrites the model it reads).
        "sha256": {f: sha256(os.path.join(out_dir, f)) for f in ("model.onnx", "input.npy", "output.npy")},
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, p)) for p in os.listdir(out_dir))
    print("%-22s opset %2d  convs %3d  depthwise %2d  non-candidates %2d  %7.1f KiB" % (
        fx.name, fx.opset, meta["conv_count"], len(depthwise), len(non_candidates), size / 1024))


def main(argv):
    known = {fx.name: fx for fx in FIXTURES}
    names = argv or list(known)
    for n in names:
        if n not in known:
            raise SystemExit("unknown fixture %r (have %s)" % (n, ", ".join(known)))
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for n in names:
        generate(known[n])


if __name__ == "__main__":
    main(sys.argv[1:])
