"""PyTorch twin of `siren-core/benches/step_benchmark.rs`, for `cargo xtask bench-compare`.

The same workloads, network, initialisation, losses and Adam step, written the way the original
SIREN code computes input derivatives (autograd with create_graph, i.e. double backward).
Prints one JSON line: median seconds per step, every step's time, peak RSS.

    python bench/torch_reference.py fit --steps 5 --warmup 2 --threads 2
"""

import argparse
import json
import math
import resource
import time

import torch


class Siren(torch.nn.Module):
    """in -> width x (hidden + 1 sine layers) -> out, linear last layer, w0 = 30."""

    def __init__(self, d_in, width, hidden, d_out, w0=30.0):
        super().__init__()
        dims = [d_in] + [width] * (hidden + 1) + [d_out]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])
        )
        self.w0 = w0
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                n = layer.in_features
                bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / w0
                layer.weight.uniform_(-bound, bound)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.sin(self.w0 * layer(x))
        return self.layers[-1](x)


def sync():
    """Waits for the GPU's queued work, so that a step's time is its own (a no-op on the CPU)."""
    if torch.cuda.is_available() and torch.get_default_device().type == "cuda":
        torch.cuda.synchronize()


def gradient(y, x):
    return torch.autograd.grad(y, [x], torch.ones_like(y), create_graph=True)[0]


def laplacian(y, x, coords):
    g = gradient(y, x)
    return sum(gradient(g[:, i : i + 1], x)[:, i : i + 1] for i in coords)


def experiment_steps(a, times):
    """The experiment-sized workloads: what `siren wave`, `siren helmholtz`, `siren inpaint
    --prior fh` and `siren sdf` run per step (see bench/jax_reference.py for the same table)."""
    if a.workload in ("wave-default", "wave-128"):
        # 3 -> W x 3 -> 1; 2,048 interior points over (t, x, y), 1,024 at t = 0 and 1,024 on the
        # edges, drawn anew; residual, u - f0 and u_t at t = 0 (weights 1e4, 1e2), u on the edges.
        net = Siren(3, 64 if a.workload == "wave-default" else 128, 3, 1)

        def loss():
            interior = torch.rand(2048, 3) * 2 - 1
            interior[:, 0] = (interior[:, 0] + 1) * 0.2
            initial = torch.rand(1024, 3) * 2 - 1
            initial[:, 0] = 0
            edge = torch.rand(1024, 3) * 2 - 1
            edge[:, 1] = torch.sign(edge[:, 1])
            f0 = torch.exp(-(initial[:, 1:2] ** 2 + initial[:, 2:3] ** 2) / (2 * 5e-3**2))
            x = interior.requires_grad_(True)
            u = net(x)
            g = gradient(u, x)
            utt = gradient(g[:, 0:1], x)[:, 0:1]
            lap = sum(gradient(g[:, i : i + 1], x)[:, i : i + 1] for i in (1, 2))
            x0 = initial.requires_grad_(True)
            u0 = net(x0)
            ut0 = gradient(u0, x0)[:, 0:1]
            ub = net(edge)
            return (((utt - lap) ** 2).mean() + 1e4 * ((u0 - f0) ** 2).mean()
                    + 1e2 * (ut0**2).mean() + 1e4 * (ub**2).mean())
    elif a.workload == "helmholtz":
        # 2 -> 128 x 3 -> 2 (Re u, Im u); 4,160 points per step; the PML residual
        # a u_xx + ax u_x + b u_yy + by u_y + c u + f with complex per-point coefficients,
        # divided by the stretch product C, its mean square.
        net = Siren(2, 128, 3, 2)

        def cmul(p, q):
            return torch.cat([p[:, :1] * q[:, :1] - p[:, 1:] * q[:, 1:],
                              p[:, :1] * q[:, 1:] + p[:, 1:] * q[:, :1]], dim=1)

        def loss():
            x = (torch.rand(4160, 2) * 2 - 1).requires_grad_(True)
            a_, ax, b, by, c, f, inv_c = torch.randn(7, 4160, 2)
            u = net(x)
            parts = {k: [] for k in ("ux", "uy", "uxx", "uyy")}
            for ch in (0, 1):
                g = gradient(u[:, ch : ch + 1], x)
                parts["ux"].append(g[:, 0:1])
                parts["uy"].append(g[:, 1:2])
                parts["uxx"].append(gradient(g[:, 0:1], x)[:, 0:1])
                parts["uyy"].append(gradient(g[:, 1:2], x)[:, 1:2])
            q = {k: torch.cat(v, dim=1) for k, v in parts.items()}
            r = f + cmul(a_, q["uxx"]) + cmul(ax, q["ux"]) + cmul(b, q["uyy"]) + cmul(by, q["uy"]) + cmul(c, u)
            return (cmul(inv_c, r) ** 2).sum() / x.shape[0]
    elif a.workload == "inpaint-fh":
        # 2 -> 256 x 3 -> 1; MSE on 6,474 known pixels, squared Frobenius norm of the Hessian at
        # 1,024 uniform points drawn anew (weight 3e-6).
        net = Siren(2, 256, 3, 1)
        known = torch.rand(6474, 2) * 2 - 1
        values = torch.rand(6474, 1) * 2 - 1

        def loss():
            data = ((net(known) - values) ** 2).mean()
            x = (torch.rand(1024, 2) * 2 - 1).requires_grad_(True)
            g = gradient(net(x), x)
            rows = [gradient(g[:, i : i + 1], x) for i in (0, 1)]
            fh = sum((r**2).sum(dim=1) for r in rows).mean()
            return data + 3e-6 * fh
    else:
        # 3 -> 256 x 3 -> 1; 1,400 oriented surface points and 1,400 uniform in the box per
        # step; the original's four SDF terms on the value and the gradient.
        net = Siren(3, 256, 3, 1)

        def loss():
            normals = torch.nn.functional.normalize(torch.randn(1400, 3), dim=1)
            x = torch.cat([0.5 * normals, torch.rand(1400, 3) * 2 - 1]).requires_grad_(True)
            u = net(x)
            g = gradient(u, x)
            n = x.shape[0]
            norm = torch.sqrt((g**2).sum(dim=1) + 1e-12)
            cos = (g[:1400] * normals).sum(dim=1) / norm[:1400]
            surface = u[:1400].abs().sum() / n
            normal = (1 - cos).sum() / n
            eikonal = (norm - 1).abs().sum() / n
            off = torch.exp(-100 * u[1400:].abs()).sum() / n
            return 3e3 * surface + 1e2 * normal + 5e1 * eikonal + 1e2 * off

    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss().backward()
        opt.step()
        if i >= a.warmup:
            sync()
            times.append(time.perf_counter() - t)


class HeadMlp(torch.nn.Sequential):
    """k -> m -> m -> numel, ReLU between: one hypernetwork head (one tensor of the SIREN)."""

    def __init__(self, k, m, numel):
        super().__init__(torch.nn.Linear(k, m), torch.nn.ReLU(), torch.nn.Linear(m, m),
                         torch.nn.ReLU(), torch.nn.Linear(m, numel))


class Hypernet(torch.nn.Module):
    """`siren hypernet train --scale default`'s model (HypernetConfig::quick): 32x32 faces, latent
    128, heads of width 128 emitting a 2 -> 64x3 -> 3 SIREN (w0 = 30); the CNN encoder (RGB and
    the known mask in, 8 and 16 channels of 3x3, one residual block of two 5x5, 1x1 to 128, a
    linear map over the positions) or the sine set encoder (5 -> 128 x 3 -> 128, every layer
    sine, a mean over each face's context pixels)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        conv = torch.nn.Conv2d
        if encoder == "cnn":
            self.convs = torch.nn.ModuleList([
                conv(4, 8, 3, padding=1), conv(8, 16, 3, padding=1),
                conv(16, 16, 5, padding=2), conv(16, 16, 5, padding=2), conv(16, 128, 1),
            ])
            self.positions = torch.nn.Linear(32 * 32, 1)
        else:
            self.set_net = Siren(5, 128, 2, 128)
        self.shapes = [(2, 64), (64, 64), (64, 64), (64, 64), (64, 3)]
        self.heads = torch.nn.ModuleList(
            HeadMlp(128, 128, n) for fi, fo in self.shapes for n in (fi * fo, fo)
        )

    def encode(self, pixels, known):
        b = pixels.shape[0]
        if self.encoder == "cnn":
            x = torch.cat([pixels * known[..., None], known[..., None]], dim=2)
            x = x.transpose(1, 2).reshape(b, 4, 32, 32)
            relu = torch.relu
            h = relu(self.convs[1](relu(self.convs[0](x))))
            y = relu(self.convs[3](relu(self.convs[2](h))))
            h = relu(self.convs[4](relu(h + y)))
            return self.positions(h.reshape(b, 128, 32 * 32)).squeeze(2)
        # The context pixels of all faces packed into one matrix, and a mean per face.
        face, pixel = known.nonzero(as_tuple=True)
        rows = torch.cat([GRID[pixel], pixels[face, pixel]], dim=1)
        h = rows
        for layer in self.set_net.layers:
            h = torch.sin(30.0 * layer(h))
        counts = known.sum(dim=1, keepdim=True)
        return torch.zeros(b, 128).index_add_(0, face, h) / counts

    def forward(self, pixels, known):
        z = self.encode(pixels, known)
        b = z.shape[0]
        params = [head(z) for head in self.heads]
        h = GRID.expand(b, -1, -1)
        for l, (fi, fo) in enumerate(self.shapes):
            w, bias = params[2 * l].view(b, fo, fi), params[2 * l + 1]
            h = torch.baddbmm(bias[:, None, :], h, w.transpose(1, 2))
            if l < len(self.shapes) - 1:
                h = torch.sin(30.0 * h)
        return z, params, h


def _grid(size):
    """Pixel centres in [-1, 1]^2, row-major, as siren_core::train::grid."""
    c = (torch.arange(size) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([y.reshape(-1), x.reshape(-1)], dim=1)


GRID = _grid(32)


def context_masks(rng, encoder, batch=16, hw=1024):
    """Each face's known pixels as the default scale draws them: 10..1024 per face, uniform
    for the CNN (half the faces whole), log-uniform for the set encoder (a tenth whole)."""
    full_share = 0.5 if encoder == "cnn" else 0.1
    known = torch.zeros(batch, hw)
    for i in range(batch):
        if rng.random() < full_share:
            k = hw
        elif encoder == "cnn":
            k = int(rng.integers(10, hw + 1))
        else:
            k = int(round(math.exp(rng.uniform(math.log(10), math.log(hw)))))
        known[i, torch.from_numpy(rng.permutation(hw)[:k])] = 1.0
    return known


def hypernet_steps(a, times):
    """`siren hypernet train --scale default` per step: 16 faces through the encoder, the heads
    and the generated SIRENs at every pixel; image MSE + 0.1 mean z^2 + 25 mean generated
    parameter^2; gradient norm clipped at 1; Adam 2e-4. Random faces: the cost does not depend
    on the pixels, only on how many are known."""
    import numpy as np

    encoder = "cnn" if a.workload == "hypernet-cnn" else "set"
    model = Hypernet(encoder)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    rng = np.random.default_rng(0)
    faces = torch.rand(64, 1024, 3) * 2 - 1
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        pixels = faces[torch.from_numpy(rng.choice(64, 16, replace=False))]
        known = context_masks(rng, encoder)
        opt.zero_grad(set_to_none=True)
        z, params, image = model(pixels, known)
        total = sum(p.numel() for p in params)
        loss = (((image - pixels) ** 2).mean() + 0.1 * (z**2).mean()
                + 25.0 * sum((p**2).sum() for p in params) / total)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= a.warmup:
            sync()
            times.append(time.perf_counter() - t)


def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "workload",
        choices=["fit", "laplacian", "wave", "matmul", "wave-default", "wave-128", "helmholtz",
                 "inpaint-fh", "sdf", "hypernet-cnn", "hypernet-set"],
    )
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="where tensors live (cuda: the kernel and PDE workloads on GPU 0)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if a.workload.startswith("hypernet"):
            p.error("the hypernetwork workloads run on the CPU only")
        torch.set_default_device("cuda")
    torch.manual_seed(0)

    times = []
    if a.workload == "matmul":
        x = torch.full((65536, 256), 0.5)
        w = torch.full((256, 256), 0.25)
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            torch.mm(x, w)
            if i >= a.warmup:
                sync()
                times.append(time.perf_counter() - t)
    elif a.workload in ("wave-default", "wave-128", "helmholtz", "inpaint-fh", "sdf"):
        experiment_steps(a, times)
    elif a.workload in ("hypernet-cnn", "hypernet-set"):
        hypernet_steps(a, times)
    else:
        d, width, points = {"fit": (2, 256, 65536), "laplacian": (2, 256, 65536), "wave": (3, 512, 16384)}[
            a.workload
        ]
        net = Siren(d, width, 3, 1)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        coords = torch.rand(points, d) * 2 - 1
        target = torch.rand(points, 1) * 2 - 1
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            if a.workload == "fit":
                loss = ((net(coords) - target) ** 2).mean()
            else:
                x = coords.clone().requires_grad_(True)
                u = net(x)
                if a.workload == "laplacian":
                    loss = ((laplacian(u, x, [0, 1]) - target) ** 2).mean()
                else:
                    g = gradient(u, x)
                    utt = gradient(g[:, 0:1], x)[:, 0:1]
                    lap = sum(gradient(g[:, i : i + 1], x)[:, i : i + 1] for i in (1, 2))
                    loss = ((utt - lap) ** 2).mean()
            loss.backward()
            opt.step()
            if i >= a.warmup:
                sync()
                times.append(time.perf_counter() - t)
    median = sorted(times)[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "workload": a.workload,
                "path": "pytorch " + torch.__version__,
                "median_s": median,
                "times_s": times,
                "peak_rss_bytes": rss,
                "peak_gpu_bytes": torch.cuda.max_memory_allocated() if a.device == "cuda" else 0,
            }
        )
    )


if __name__ == "__main__":
    main()
