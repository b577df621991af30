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


def gradient(y, x):
    return torch.autograd.grad(y, [x], torch.ones_like(y), create_graph=True)[0]


def laplacian(y, x, coords):
    g = gradient(y, x)
    return sum(gradient(g[:, i : i + 1], x)[:, i : i + 1] for i in coords)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["fit", "laplacian", "wave", "matmul"])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    times = []
    if a.workload == "matmul":
        x = torch.full((65536, 256), 0.5)
        w = torch.full((256, 256), 0.25)
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            torch.mm(x, w)
            if i >= a.warmup:
                times.append(time.perf_counter() - t)
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
            }
        )
    )


if __name__ == "__main__":
    main()
