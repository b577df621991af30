"""PyTorch twin of `siren audio`: the original code's audio SIREN (its notebook's `Siren` with
first_omega_0 = 3000, hidden 30, PyTorch's default biases) on the same clip, coordinates,
normalisation, batch size, steps and Adam, so the error the original reaches at equal settings
stands beside ours. Prints one JSON line (MSE, SNR, PSNR on the normalised clip, seconds).

    python bench/audio_reference.py ../shared/data/audio/gt_bach.wav --steps 1500 --batch 8192
"""

import argparse
import json
import math
import struct
import time

import numpy as np
import torch


def read_wav(path):
    """Mono float samples of a PCM or IEEE-float WAV (channels averaged, as the original)."""
    data = open(path, "rb").read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SystemExit(f"{path}: not a RIFF/WAVE file")
    pos, fmt, samples = 12, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif tag == b"data":
            samples = body
        pos += 8 + size + (size & 1)
    code, channels, rate, _, _, bits = fmt
    if code == 3:
        x = np.frombuffer(samples, dtype="<f4").astype(np.float64)
    else:
        x = np.frombuffer(samples, dtype={8: "u1", 16: "<i2", 32: "<i4"}[bits]).astype(np.float64)
        x = (x - 128) / 128 if bits == 8 else x / 2 ** (bits - 1)
    return rate, x.reshape(-1, channels).mean(axis=1)


class Siren(torch.nn.Module):
    def __init__(self, width, hidden, first_w0, hidden_w0):
        super().__init__()
        dims = [1] + [width] * (hidden + 1) + [1]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.w0 = [first_w0] + [hidden_w0] * hidden
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                n = layer.in_features
                bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / hidden_w0
                layer.weight.uniform_(-bound, bound)

    def forward(self, x):
        for w0, layer in zip(self.w0, self.layers[:-1]):
            x = torch.sin(w0 * layer(x))
        return self.layers[-1](x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("wav")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=0, help="samples per step; 0 for all")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--first-w0", type=float, default=3000.0)
    p.add_argument("--w0", type=float, default=30.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rate, x = read_wav(a.wav)
    x = x / np.abs(x).max()
    n = len(x)
    coords = torch.linspace(-1, 1, n).view(-1, 1)
    y = torch.tensor(x, dtype=torch.float32).view(-1, 1)
    model = Siren(a.hidden, a.layers, a.first_w0, a.w0)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    start = time.time()
    for _ in range(a.steps):
        if 0 < a.batch < n:
            idx = torch.randperm(n)[: a.batch]
            xb, yb = coords[idx], y[idx]
        else:
            xb, yb = coords, y
        loss = ((model(xb) - yb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.time() - start
    with torch.no_grad():
        est = torch.cat([model(c) for c in coords.split(1 << 15)]).view(-1).double().numpy()
    err = ((est - x) ** 2).sum()
    mse = err / n
    print(json.dumps({"mse": mse, "snr": 10 * math.log10((x ** 2).sum() / err),
                      "psnr": 10 * math.log10(4.0 / mse), "seconds": seconds,
                      "steps": a.steps, "batch": a.batch, "rate": rate}))


if __name__ == "__main__":
    main()
