"""phasebench's workloads next to what users would run instead, on this machine.

- MatMul GFLOP/s against numpy (OpenBLAS) at 512/1024/2048, f32 (and PyTorch's for context).
- Transformer and ConvNet forward latency against PyTorch CPU eager on the identical architecture
  with the identical weights (exported by `phasebench export-weights`, loaded with `safetensors`),
  checking that both give the same output for the same input.

Each round runs the phasebench suite (`peers.ron`) and then the peers, back to back; the figures
are min / median / max over rounds. Run through `run.sh`, which sets up the packages.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file

HERE = Path(__file__).resolve().parent
SUITE = HERE / "peers.ron"
# The suite's sizes (kept in one place with peers.ron: the script reads them from the result).
BATCH = 8
SEED = 1


# --- The models, mirroring src/models/{transformer,convnet,layers}.rs op for op. -------------


class Attention(torch.nn.Module):
    def __init__(self, hidden, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = torch.nn.Linear(hidden, 3 * hidden)
        self.out = torch.nn.Linear(hidden, hidden)

    def forward(self, x):
        batch, tokens, hidden = x.shape
        head_dim = hidden // self.heads
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
        if self.causal:
            scores = scores + torch.full((tokens, tokens), float("-inf")).triu(1)
        weights = torch.softmax(scores, dim=-1)
        attended = (weights @ v).transpose(1, 2).reshape(batch, tokens, hidden)
        return self.out(attended)


class Layer(torch.nn.Module):
    def __init__(self, hidden, heads, ffn_mult, causal):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(hidden, eps=1e-5)
        self.attn = Attention(hidden, heads, causal)
        self.norm2 = torch.nn.LayerNorm(hidden, eps=1e-5)
        self.fc1 = torch.nn.Linear(hidden, hidden * ffn_mult)
        self.fc2 = torch.nn.Linear(hidden * ffn_mult, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        # candle's `gelu` is the tanh approximation.
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


class Transformer(torch.nn.Module):
    def __init__(self, layers, hidden, heads, ffn_mult, causal, **_):
        super().__init__()
        self.layers = torch.nn.ModuleList(Layer(hidden, heads, ffn_mult, causal) for _ in range(layers))
        self.final_norm = torch.nn.LayerNorm(hidden, eps=1e-5)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.final_norm(x)


def norm_groups(channels):
    return next(g for g in range(8, 0, -1) if channels % g == 0)


class Block(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.norm1 = torch.nn.GroupNorm(norm_groups(channels), channels, eps=1e-5)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = torch.nn.GroupNorm(norm_groups(channels), channels, eps=1e-5)

    def forward(self, x):
        y = F.silu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return F.silu(x + y)


class ConvNet(torch.nn.Module):
    def __init__(self, in_channels, channels, blocks, classes, **_):
        super().__init__()
        self.stem = torch.nn.Conv2d(in_channels, channels, 3, padding=1)
        self.blocks = torch.nn.ModuleList(Block(channels) for _ in range(blocks))
        self.head = torch.nn.Linear(channels, classes)

    def forward(self, x):
        x = F.silu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean(dim=(2, 3)))


# --- Timing. ---------------------------------------------------------------------------------


def median_step_secs(step, warmup=10, min_steps=30, min_secs=1.0, max_steps=2000):
    """Times `step` the way the suite's settings do: warm-up, then at least `min_steps` steps and
    `min_secs` seconds; returns the median seconds per step."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < max_steps and (len(times) < min_steps or time.perf_counter() - start < min_secs):
        t = time.perf_counter_ns()
        step()
        times.append((time.perf_counter_ns() - t) / 1e9)
    return statistics.median(times)


def phasebench_round(binary, out_dir):
    """Runs the suite; returns {workload: (median step secs, GFLOP/s)} from its result."""
    subprocess.run([binary, "run", str(SUITE), "--out", str(out_dir)], check=True, stdout=subprocess.DEVNULL)
    (result_dir,) = [p for p in out_dir.iterdir() if p.is_dir()]
    result = json.loads((result_dir / "result.json").read_text())
    figures = {}
    for run in result["runs"]:
        if run["status"] != "Completed":
            sys.exit(f"phasebench run {run['workload']} did not complete: {run['status']}")
        median = run["summary"]["median"]
        flops = (run.get("flops_per_item") or 0.0) * run["batch_size"]
        figures[run["workload"]] = (median, flops / median / 1e9)
    return figures, result


def load_model(kind, spec, weights_path):
    model = (Transformer if kind == "Transformer" else ConvNet)(**spec)
    state = {name: torch.from_numpy(array) for name, array in load_file(weights_path).items()}
    # strict: every tensor phasebench exported has a place, and every parameter gets one.
    model.load_state_dict(state, strict=True)
    return model.eval()


def export(binary, workload, work):
    weights, io = work / f"{workload}.safetensors", work / f"{workload}-io.safetensors"
    subprocess.run(
        [binary, "export-weights", str(SUITE), "--workload", workload, "--out", str(weights), "--io", str(io),
         "--batch", str(BATCH)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return weights, load_file(io)


def spread(values):
    return min(values), statistics.median(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the phasebench release binary")
    parser.add_argument("--work", required=True, type=Path, help="scratch directory")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(0)
    print(
        f"numpy {np.__version__} ({np.show_config(mode='dicts')['Build Dependencies']['blas']['name']}), "
        f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
        f"cpus {os.cpu_count()}, RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}"
    )

    _, first = phasebench_round(args.binary, args.work / "warm")
    specs = {w["name"]: w["model"] for w in first["suite"]["workloads"]}
    models, agreement = {}, {}
    for workload in ("transformer", "convnet"):
        ((kind, spec),) = specs[workload].items()
        weights, io = export(args.binary, workload, args.work)
        model = load_model(kind, spec, weights)
        x = torch.from_numpy(io["input"])
        with torch.no_grad():
            ours = model(x).numpy()
        reference = io["output"]
        diff = np.abs(ours - reference)
        scale = float(np.abs(reference).max())
        agreement[workload] = (float(diff.max()), scale, bool(np.allclose(ours, reference, rtol=1e-4, atol=1e-5 * scale)))
        models[workload] = (model, x)

    rows = {}  # figure name -> list over rounds

    def add(name, value):
        rows.setdefault(name, []).append(value)

    for round_index in range(args.rounds):
        figures, _ = phasebench_round(args.binary, args.work / f"round-{round_index}")
        for n in (512, 1024, 2048):
            rng = np.random.default_rng(n)
            a = rng.standard_normal((n, n), dtype=np.float32)
            w = rng.standard_normal((n, n), dtype=np.float32)
            numpy_secs = median_step_secs(lambda: a @ w.T)
            ta, tw = torch.from_numpy(a), torch.from_numpy(w)
            with torch.no_grad():
                torch_secs = median_step_secs(lambda: F.linear(ta, tw))
            flops = 2.0 * n**3
            ours_secs, ours_gflops = figures[f"matmul-{n}"]
            add(f"MatMul {n}: phasebench GFLOP/s", ours_gflops)
            add(f"MatMul {n}: numpy GFLOP/s", flops / numpy_secs / 1e9)
            add(f"MatMul {n}: PyTorch GFLOP/s", flops / torch_secs / 1e9)
            add(f"MatMul {n}: phasebench ÷ numpy GFLOP/s", ours_gflops / (flops / numpy_secs / 1e9))
        for workload, (model, x) in models.items():
            with torch.no_grad():
                torch_secs = median_step_secs(lambda: model(x))
            ours_secs = figures[workload][0]
            add(f"{workload} (batch {BATCH}): phasebench ms", ours_secs * 1e3)
            add(f"{workload} (batch {BATCH}): PyTorch eager ms", torch_secs * 1e3)
            add(f"{workload} (batch {BATCH}): phasebench ÷ PyTorch latency", ours_secs / torch_secs)
        print(f"round {round_index + 1} done", flush=True)

    print("\n| measure | min | median | max |\n|---|---|---|---|")
    for name, values in rows.items():
        low, mid, high = spread(values)
        digits = 3 if mid < 10 else 1
        print(f"| {name} | {low:.{digits}f} | {mid:.{digits}f} | {high:.{digits}f} |")
    print("\n| output agreement (f32, same weights and input) | max abs diff | output scale | within rtol 1e-4 |")
    print("|---|---|---|---|")
    failed = False
    for workload, (diff, scale, ok) in agreement.items():
        print(f"| {workload} | {diff:.2e} | {scale:.3g} | {'yes' if ok else 'NO'} |")
        failed |= not ok
    if failed:
        sys.exit("the PyTorch outputs do not agree with phasebench's")


if __name__ == "__main__":
    main()
