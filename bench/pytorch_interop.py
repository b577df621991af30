"""Models between siren-rs and the original SIREN code's PyTorch layout.

The original builds its coordinate networks as `SingleBVPNet`: an `FCBlock` of
`Sequential(Linear, nonlinearity)` blocks with a linear last block, its sine being sin(30 x).
Its `state_dict` names layer i's tensors `net.net.{i}.0.weight` and `net.net.{i}.0.bias`. The
module below has the same structure and names (written here so this script needs only torch,
numpy and safetensors, not the original repository), so a state_dict loads into either.

    # An original checkpoint (torch.save(model.state_dict(), "model_final.pth")) to the
    # safetensors file `siren import` reads:
    python bench/pytorch_interop.py convert model_final.pth original.safetensors [--type sine]

    # A model exported by `siren export --format pytorch-siren`, loaded into the original's
    # architecture and evaluated on the pixel grid of `siren render --out values.npy`:
    python bench/pytorch_interop.py check exported.safetensors values.npy

    # A freshly initialised SingleBVPNet saved as an original checkpoint (for tests):
    python bench/pytorch_interop.py make-original out.pth --hidden 32 --layers 2
"""

import argparse
import json
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

# The metadata key `siren export` writes: SingleBVPNet's keyword arguments as JSON.
CONSTRUCTOR_KEY = "siren_rs.single_bvp_net"
PREFIX = "net.net."


class Sine(nn.Module):
    """The original's nonlinearity: omega_0 = 30, fixed."""

    def forward(self, x):
        return torch.sin(30.0 * x)


NONLINEARITIES = {"sine": Sine, "relu": nn.ReLU, "tanh": nn.Tanh}


class FCBlock(nn.Module):
    def __init__(self, in_features, out_features, num_hidden_layers, hidden_features, nonlinearity):
        super().__init__()
        nl = NONLINEARITIES[nonlinearity]
        blocks = [nn.Sequential(nn.Linear(in_features, hidden_features), nl())]
        blocks += [
            nn.Sequential(nn.Linear(hidden_features, hidden_features), nl())
            for _ in range(num_hidden_layers)
        ]
        blocks.append(nn.Sequential(nn.Linear(hidden_features, out_features)))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        return self.net(x)


class SingleBVPNet(nn.Module):
    """The original's coordinate network (mode 'mlp'), with its constructor's argument names."""

    def __init__(self, out_features=1, type="sine", in_features=2, hidden_features=256,
                 num_hidden_layers=3):
        super().__init__()
        self.net = FCBlock(in_features, out_features, num_hidden_layers, hidden_features, type)

    def forward(self, coords):
        return self.net(coords)


def constructor_of(state, nonlinearity):
    """SingleBVPNet's arguments for a state_dict of net.net.{i}.0.* tensors."""
    count = len([k for k in state if k.endswith(".0.weight")])
    weights = [state[f"{PREFIX}{i}.0.weight"] for i in range(count)]
    if count < 2:
        raise SystemExit(f"error: {count} layer(s) found; a SingleBVPNet has at least 2")
    return {
        "type": nonlinearity,
        "in_features": weights[0].shape[1],
        "out_features": weights[-1].shape[0],
        "hidden_features": weights[0].shape[0],
        "num_hidden_layers": count - 2,
    }


def convert(args):
    loaded = torch.load(args.pth, map_location="cpu", weights_only=True)
    # A bare state_dict, or one inside a training state.
    for key in ("model_state_dict", "state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    state = {k: v for k, v in loaded.items() if k.startswith(PREFIX)}
    dropped = sorted(set(loaded) - set(state))
    if dropped:
        print(f"dropped tensors outside {PREFIX}*: {dropped}", file=sys.stderr)
    if not state:
        raise SystemExit(f"error: {args.pth} has no {PREFIX}* tensors; is it a SingleBVPNet?")
    constructor = constructor_of(state, args.type)
    # Loading into the module checks the names and shapes before anything is written.
    SingleBVPNet(**constructor).load_state_dict(state, strict=True)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    save_file(tensors, args.out, metadata={"format": "pt", CONSTRUCTOR_KEY: json.dumps(constructor)})
    print(f"wrote {args.out}: SingleBVPNet({constructor})")


def load_exported(path):
    """The module a safetensors file describes, with its weights loaded (strictly)."""
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
    state = load_file(path)
    if CONSTRUCTOR_KEY in metadata:
        constructor = json.loads(metadata[CONSTRUCTOR_KEY])
    else:
        constructor = constructor_of(state, "sine")
    model = SingleBVPNet(**constructor)
    model.load_state_dict(state, strict=True)
    return model.eval(), constructor


def pixel_grid(height, width):
    """The original's get_mgrid: (row, col) in [-1, 1], rows first, row-major."""
    rows = torch.linspace(-1.0, 1.0, height)
    cols = torch.linspace(-1.0, 1.0, width)
    r, c = torch.meshgrid(rows, cols, indexing="ij")
    return torch.stack([r, c], dim=-1).reshape(-1, 2)


def check(args):
    model, constructor = load_exported(args.model)
    rendered = np.load(args.values)
    if rendered.ndim != 3:
        raise SystemExit(f"error: {args.values} has shape {rendered.shape}; expected (h, w, c)")
    height, width, channels = rendered.shape
    if constructor["in_features"] != 2 or constructor["out_features"] != channels:
        raise SystemExit(f"error: the model ({constructor}) does not render {rendered.shape}")
    with torch.no_grad():
        out = model(pixel_grid(height, width)).reshape(height, width, channels).numpy()
    diff = np.abs(out.astype(np.float64) - rendered.astype(np.float64))
    scale = max(1.0, float(np.abs(rendered).max()))
    worst = float(diff.max())
    print(f"SingleBVPNet({constructor}) on a {height}x{width} grid: max |PyTorch - siren render| "
          f"= {worst:.3g} (mean {float(diff.mean()):.3g}, output scale {scale:.3g})")
    if not worst <= args.tolerance * scale:
        raise SystemExit(f"error: outputs differ by {worst:.3g} > {args.tolerance} x {scale:.3g}")


def make_original(args):
    torch.manual_seed(args.seed)
    model = SingleBVPNet(out_features=args.out_features, type=args.type, in_features=2,
                         hidden_features=args.hidden, num_hidden_layers=args.layers)
    if args.type == "sine":
        # The SIREN initialisation (Sitzmann et al. 2020, sec. 3.2), which the original applies.
        with torch.no_grad():
            for i, block in enumerate(model.net.net):
                linear = block[0]
                fan_in = linear.weight.shape[1]
                bound = 1.0 / fan_in if i == 0 else np.sqrt(6.0 / fan_in) / 30.0
                linear.weight.uniform_(-bound, bound)
    torch.save(model.state_dict(), args.out)
    print(f"wrote {args.out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("convert", help="an original .pth state_dict to safetensors")
    p.add_argument("pth")
    p.add_argument("out")
    p.add_argument("--type", choices=sorted(NONLINEARITIES), default="sine")
    p.set_defaults(run=convert)
    p = sub.add_parser("check", help="an exported model against `siren render --out X.npy`")
    p.add_argument("model")
    p.add_argument("values")
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.set_defaults(run=check)
    p = sub.add_parser("make-original", help="a fresh SingleBVPNet saved with torch.save")
    p.add_argument("out")
    p.add_argument("--type", choices=sorted(NONLINEARITIES), default="sine")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--out-features", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=make_original)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
