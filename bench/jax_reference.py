"""JAX (XLA, `jit`) twin of the step benchmarks, for `cargo xtask bench-compare`.

The same workloads, networks, initialisation, losses and Adam step as `bench/torch_reference.py`
and the Rust side, written the way a performance-minded JAX user would: the whole step under
`jax.jit`, input derivatives by forward mode (nested `jax.jvp`, i.e. Taylor mode to second
order) or by `folx.forward_laplacian` (the forward Laplacian of Li et al. 2023, the method
siren-rs uses) where a Laplacian appears. Prints one JSON line: median seconds per step,
every step's time, peak RSS.

    python bench/jax_reference.py laplacian --method folx --steps 5 --warmup 2 --threads 2
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

# The workloads; the experiment-sized ones mirror what `siren` runs per step (see
# bench/torch_reference.py for the same table).
SHAPES = {
    "fit": (2, 256, 65536),
    "laplacian": (2, 256, 65536),
    "wave": (3, 512, 16384),
}


def siren_params(rng, d_in, width, hidden, d_out, w0=30.0):
    """The SIREN init (weights) and PyTorch's default biases; weights stored (in, out)."""
    dims = [d_in] + [width] * (hidden + 1) + [d_out]
    params = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        bound = 1.0 / a if i == 0 else np.sqrt(6.0 / a) / w0
        w = rng.uniform(-bound, bound, size=(a, b)).astype(np.float32)
        bb = rng.uniform(-1 / np.sqrt(a), 1 / np.sqrt(a), size=(b,)).astype(np.float32)
        params.append((w, bb))
    return params


def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "workload",
        choices=["fit", "laplacian", "wave", "matmul", "wave-default", "wave-128", "helmholtz",
                 "inpaint-fh", "sdf", "hypernet-cnn", "hypernet-set"],
    )
    p.add_argument("--method", choices=["jvp", "folx"], default="jvp",
                   help="second derivatives by nested jvp, or the Laplacian by folx")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    # XLA's CPU thread pool is sized when jax starts.
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + f" --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={a.threads}"
    )
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platforms", "cpu")
    rng = np.random.default_rng(0)
    times = []

    def timed(step_fn):
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            step_fn()
            if i >= a.warmup:
                times.append(time.perf_counter() - t)

    if a.workload == "matmul":
        x = jnp.full((65536, 256), 0.5, jnp.float32)
        w = jnp.full((256, 256), 0.25, jnp.float32)
        mm = jax.jit(lambda x, w: x @ w)
        timed(lambda: mm(x, w).block_until_ready())
        return report(a, times, jax)

    if a.method == "folx":
        import folx

    def forward(params, x):
        """u at one point x (d,) -> scalar; or at a batch (N, d) -> (N,)."""
        for w, b in params[:-1]:
            x = jnp.sin(30.0 * (x @ w + b))
        w, b = params[-1]
        return (x @ w + b)[..., 0]

    def second(params, x, i):
        """d^2 u / dx_i^2 at one point by nested forward mode."""
        e = jnp.zeros_like(x).at[i].set(1.0)
        first = lambda y: jax.jvp(lambda z: forward(params, z), (y,), (e,))[1]
        return jax.jvp(first, (x,), (e,))[1]

    def laplacian(params, x, coords):
        """sum of d^2 u / dx_i^2 over `coords` at one point."""
        if a.method == "folx" and len(coords) == x.shape[0]:
            return folx.forward_laplacian(lambda z: forward(params, z))(x).laplacian
        return sum(second(params, x, i) for i in coords)

    def adam(params, m, v, t, grads, lr=1e-4, b1=0.9, b2=0.999, eps=1e-8):
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        c1, c2 = 1 - b1**t, 1 - b2**t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, m, v

    def make_step(loss):
        @jax.jit
        def step(params, m, v, t, batch):
            grads = jax.grad(loss)(params, batch)
            return adam(params, m, v, t, grads)
        return step

    if a.workload in ("hypernet-cnn", "hypernet-set"):
        return hypernet(a, jax, jnp, rng, adam, timed, times)

    if a.workload in SHAPES:
        d, width, points = SHAPES[a.workload]
        params = siren_params(rng, d, width, 3, 1)
        coords = jnp.asarray(rng.uniform(-1, 1, (points, d)).astype(np.float32))
        target = jnp.asarray(rng.uniform(-1, 1, (points,)).astype(np.float32))

        def loss(params, batch):
            x, y = batch
            if a.workload == "fit":
                return jnp.mean((forward(params, x) - y) ** 2)
            if a.workload == "laplacian":
                lap = jax.vmap(lambda z: laplacian(params, z, (0, 1)))(x)
                return jnp.mean((lap - y) ** 2)
            # u_tt - (u_xx + u_yy): with folx, 2 u_tt minus the Laplacian over all three.
            if a.method == "folx":
                r = jax.vmap(lambda z: 2 * second(params, z, 0) - laplacian(params, z, (0, 1, 2)))(x)
            else:
                r = jax.vmap(lambda z: second(params, z, 0) - second(params, z, 1) - second(params, z, 2))(x)
            return jnp.mean(r**2)

        batch_of = lambda: (coords, target)
    elif a.workload in ("wave-default", "wave-128"):
        # `siren wave --scale default`: 3 -> W x 3 -> 1; per step 2,048 interior points over
        # (t, x, y), 1,024 at t = 0 and 1,024 on the edges, drawn anew; the mean squares of
        # the residual, of u - f0 and u_t at t = 0 (weights 1e4, 1e2) and of u on the edges.
        width = 64 if a.workload == "wave-default" else 128
        params = siren_params(rng, 3, width, 3, 1)

        def batch_of():
            interior = rng.uniform(-1, 1, (2048, 3)).astype(np.float32)
            interior[:, 0] = (interior[:, 0] + 1) * 0.2
            initial = rng.uniform(-1, 1, (1024, 3)).astype(np.float32)
            initial[:, 0] = 0
            edge = rng.uniform(-1, 1, (1024, 3)).astype(np.float32)
            edge[:, 1] = np.sign(edge[:, 1])
            f0 = np.exp(-(initial[:, 1] ** 2 + initial[:, 2] ** 2) / (2 * 5e-3**2)).astype(np.float32)
            return tuple(jnp.asarray(v) for v in (interior, initial, edge, f0))

        def loss(params, batch):
            interior, initial, edge, f0 = batch
            if a.method == "folx":
                r = jax.vmap(lambda z: 2 * second(params, z, 0) - laplacian(params, z, (0, 1, 2)))(interior)
            else:
                r = jax.vmap(lambda z: second(params, z, 0) - second(params, z, 1) - second(params, z, 2))(interior)
            u0 = forward(params, initial)
            e0 = jnp.zeros(3).at[0].set(1.0)
            ut0 = jax.vmap(lambda z: jax.jvp(lambda y: forward(params, y), (z,), (e0,))[1])(initial)
            ub = forward(params, edge)
            return (jnp.mean(r**2) + 1e4 * jnp.mean((u0 - f0) ** 2) + 1e2 * jnp.mean(ut0**2)
                    + 1e4 * jnp.mean(ub**2))
    elif a.workload == "helmholtz":
        # `siren helmholtz --scale default`: 2 -> 128 x 3 -> 2 (Re u, Im u); 4,160 points per
        # step; the PML residual a u_xx + ax u_x + b u_yy + by u_y + c u + f with complex
        # per-point coefficients, divided by the stretch product C, its mean square.
        params = siren_params(rng, 2, 128, 3, 2)

        def field(params, x):
            for w, b in params[:-1]:
                x = jnp.sin(30.0 * (x @ w + b))
            w, b = params[-1]
            return x @ w + b

        def derivatives(params, x, i):
            """(u_i, u_ii) of both channels at one point by nested forward mode."""
            e = jnp.zeros_like(x).at[i].set(1.0)
            first = lambda y: jax.jvp(lambda z: field(params, z), (y,), (e,))[1]
            return jax.jvp(first, (x,), (e,))

        def cmul(p, q):
            return jnp.stack([p[:, 0] * q[:, 0] - p[:, 1] * q[:, 1],
                              p[:, 0] * q[:, 1] + p[:, 1] * q[:, 0]], axis=1)

        def batch_of():
            x = rng.uniform(-1, 1, (4160, 2)).astype(np.float32)
            coefs = rng.normal(size=(7, 4160, 2)).astype(np.float32)
            return jnp.asarray(x), jnp.asarray(coefs)

        def loss(params, batch):
            x, (a_, ax, b, by, c, f, inv_c) = batch
            ux, uxx = jax.vmap(lambda z: derivatives(params, z, 0))(x)
            uy, uyy = jax.vmap(lambda z: derivatives(params, z, 1))(x)
            u = field(params, x)
            r = f + cmul(a_, uxx) + cmul(ax, ux) + cmul(b, uyy) + cmul(by, uy) + cmul(c, u)
            return jnp.sum(cmul(inv_c, r) ** 2) / x.shape[0]
    elif a.workload == "inpaint-fh":
        # `siren inpaint --size 256 --mask random:0.1 --prior fh`: 2 -> 256 x 3 -> 1; the MSE
        # on the 6,474 known pixels and the squared Frobenius norm of the Hessian at 1,024
        # uniform points drawn anew (weight 3e-6).
        params = siren_params(rng, 2, 256, 3, 1)
        known = jnp.asarray(rng.uniform(-1, 1, (6474, 2)).astype(np.float32))
        values = jnp.asarray(rng.uniform(-1, 1, (6474,)).astype(np.float32))

        def batch_of():
            return (known, values, jnp.asarray(rng.uniform(-1, 1, (1024, 2)).astype(np.float32)))

        def loss(params, batch):
            x, y, prior = batch
            data = jnp.mean((forward(params, x) - y) ** 2)
            hess = jax.vmap(jax.hessian(lambda z: forward(params, z)))(prior)
            return data + 3e-6 * jnp.mean(jnp.sum(hess**2, axis=(1, 2)))
    else:
        # `siren sdf`: 3 -> 256 x 3 -> 1; 1,400 oriented surface points and 1,400 uniform in
        # the box per step; the original's four terms on the value and the gradient.
        params = siren_params(rng, 3, 256, 3, 1)

        def batch_of():
            n = rng.normal(size=(1400, 3)).astype(np.float32)
            n /= np.linalg.norm(n, axis=1, keepdims=True)
            on = 0.5 * n
            off = rng.uniform(-1, 1, (1400, 3)).astype(np.float32)
            return tuple(jnp.asarray(v) for v in (np.concatenate([on, off]), n))

        def loss(params, batch):
            x, normals = batch
            u = forward(params, x)
            g = jax.vmap(jax.grad(lambda z: forward(params, z)))(x)
            n_on = normals.shape[0]
            norm = jnp.sqrt(jnp.sum(g**2, axis=1) + 1e-12)
            cos = jnp.sum(g[:n_on] * normals, axis=1) / norm[:n_on]
            total = x.shape[0]
            surface = jnp.sum(jnp.abs(u[:n_on])) / total
            normal = jnp.sum(1 - cos) / total
            eikonal = jnp.sum(jnp.abs(norm - 1)) / total
            off = jnp.sum(jnp.exp(-100 * jnp.abs(u[n_on:]))) / total
            return 3e3 * surface + 1e2 * normal + 5e1 * eikonal + 1e2 * off

    params = [tuple(jnp.asarray(t) for t in layer) for layer in params]
    run_steps(a, jax, jnp, make_step(loss), params, batch_of, timed, times)


def run_steps(a, jax, jnp, step, params, batch_of, timed, times, warm_batches=()):
    """Adam from zero moments, the timed steps, the report. `warm_batches` go through `step`
    first with their results dropped: their shapes are compiled before the clock runs."""
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    for batch in warm_batches:
        jax.block_until_ready(step(params, m, v, jnp.float32(1), batch))
    state = {"params": params, "m": m, "v": v, "t": 0}

    def one():
        state["t"] += 1
        out = step(state["params"], state["m"], state["v"], jnp.float32(state["t"]), batch_of())
        jax.block_until_ready(out)
        state["params"], state["m"], state["v"] = out

    timed(one)
    report(a, times, jax)


def hypernet(a, jax, jnp, rng, adam, timed, times):
    """`siren hypernet train --scale default` per step, as bench/torch_reference.py's
    `hypernet_steps`: 16 faces through the CNN or sine set encoder, the heads and the generated
    2 -> 64x3 -> 3 SIRENs at all 1,024 pixels; the gradient norm clipped at 1; Adam 2e-4.
    `jit` needs static shapes: the set encoder's packed context rows are padded (weight 0) to
    the next power of two, and every such size is compiled before the timed steps."""
    import math

    cnn = a.workload == "hypernet-cnn"
    shapes = [(2, 64), (64, 64), (64, 64), (64, 64), (64, 3)]

    def dense(n_in, n_out, bound=None):
        bound = 1 / math.sqrt(n_in) if bound is None else bound
        return (rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32),
                rng.uniform(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in), (n_out,)).astype(np.float32))

    params = {"heads": [[dense(128, 128), dense(128, 128), dense(128, n)]
                        for fi, fo in shapes for n in (fi * fo, fo)]}
    if cnn:
        # (kh, kw, in, out) kernels, PyTorch's default bounds.
        conv = lambda k, i, o: (rng.uniform(-1, 1, (k, k, i, o)).astype(np.float32) / math.sqrt(k * k * i),
                                np.zeros(o, np.float32))
        params["convs"] = [conv(3, 4, 8), conv(3, 8, 16), conv(5, 16, 16), conv(5, 16, 16), conv(1, 16, 128)]
        params["positions"] = dense(1024, 1)
    else:
        params["set"] = siren_params(rng, 5, 128, 2, 128)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    c = (np.arange(32) + 0.5) / 32 * 2 - 1
    grid = np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.float32)

    def encode(params, pixels, known, rows, weights):
        b = pixels.shape[0]
        if cnn:
            h = jnp.concatenate([pixels * known[..., None], known[..., None]], axis=2).reshape(b, 32, 32, 4)
            def conv(h, layer):
                w, bias = layer
                return jax.lax.conv_general_dilated(
                    h, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias
            cv = params["convs"]
            relu = jax.nn.relu
            h = relu(conv(relu(conv(h, cv[0])), cv[1]))
            y = relu(conv(relu(conv(h, cv[2])), cv[3]))
            h = relu(conv(relu(h + y), cv[4])).reshape(b, 1024, 128)
            w, bias = params["positions"]
            return jnp.einsum("bpk,p->bk", h, w[:, 0]) + bias[0]
        h = rows
        for w, bias in params["set"]:
            h = jnp.sin(30.0 * (h @ w + bias))
        return weights @ h

    def loss(params, batch):
        pixels, known, rows, weights = batch
        z = encode(params, pixels, known, rows, weights)
        b = z.shape[0]
        generated = []
        for head in params["heads"]:
            h = z
            for i, (w, bias) in enumerate(head):
                h = h @ w + bias
                if i < len(head) - 1:
                    h = jax.nn.relu(h)
            generated.append(h)
        h = jnp.broadcast_to(jnp.asarray(grid), (b, 1024, 2))
        for l, (fi, fo) in enumerate(shapes):
            w = generated[2 * l].reshape(b, fo, fi)
            h = jnp.einsum("bni,boi->bno", h, w) + generated[2 * l + 1][:, None, :]
            if l < len(shapes) - 1:
                h = jnp.sin(30.0 * h)
        total = sum(g.size for g in generated)
        return (jnp.mean((h - pixels) ** 2) + 0.1 * jnp.mean(z**2)
                + 25.0 * sum(jnp.sum(g**2) for g in generated) / total)

    @jax.jit
    def step(params, m, v, t, batch):
        grads = jax.grad(loss)(params, batch)
        norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grads)))
        grads = jax.tree_util.tree_map(lambda g: g * jnp.minimum(1.0, 1.0 / (norm + 1e-12)), grads)
        return adam(params, m, v, t, grads, lr=2e-4)

    faces = rng.uniform(-1, 1, (64, 1024, 3)).astype(np.float32)

    def batch_of(total=None):
        pixels = faces[rng.choice(64, 16, replace=False)]
        known = np.zeros((16, 1024), np.float32)
        for i in range(16):
            if rng.random() < (0.5 if cnn else 0.1):
                k = 1024
            elif cnn:
                k = int(rng.integers(10, 1025))
            else:
                k = int(round(math.exp(rng.uniform(math.log(10), math.log(1024)))))
            known[i, rng.permutation(1024)[:k]] = 1.0
        face, pixel = np.nonzero(known)
        n = len(face) if total is None else total
        padded = max(256, 1 << (n - 1).bit_length())
        rows = np.zeros((padded, 5), np.float32)
        weights = np.zeros((16, padded), np.float32)
        if cnn:
            rows, weights = rows[:1], weights[:, :1]
        else:
            rows[:len(face)] = np.concatenate([grid[pixel], pixels[face, pixel]], axis=1)[:padded]
            counts = known.sum(axis=1)
            weights[face[:padded], np.arange(min(len(face), padded))] = 1.0 / counts[face[:padded]]
        return tuple(jnp.asarray(v) for v in (pixels, known, rows, weights))

    # Every padded size is compiled before the clock runs.
    sizes = [256] if cnn else [256 << i for i in range(7)]
    run_steps(a, jax, jnp, step, params, batch_of, timed, times, [batch_of(n) for n in sizes])


def report(a, times, jax):
    median = sorted(times)[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    method = f" ({a.method})" if a.workload not in ("fit", "matmul", "hypernet-cnn", "hypernet-set") else ""
    print(json.dumps({
        "workload": a.workload,
        "path": f"jax {jax.__version__}{method}",
        "median_s": median,
        "times_s": times,
        "peak_rss_bytes": rss,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
