"""PyTorch's 4096³ matmul TFLOP/s on GPU 0 in bf16, f16 and f32, timed like phasebench times a
step: warm-up first, then each step between CUDA events after the device is idle; the median of
the measured steps. Prints one JSON object."""
import json
import statistics

import torch


def tflops(dtype: torch.dtype, n: int = 4096, warmup: int = 10, steps: int = 100) -> float:
    generator = torch.Generator(device="cuda").manual_seed(0)
    a = torch.randn(n, n, device="cuda", dtype=dtype, generator=generator)
    b = torch.randn(n, n, device="cuda", dtype=dtype, generator=generator)
    for _ in range(warmup):
        a @ b
    times = []
    for _ in range(steps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        a @ b
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return 2 * n**3 / statistics.median(times) / 1e12


# f32 as PyTorch runs it by default (no TF32), the same arithmetic as candle's f32 matmul.
torch.backends.cuda.matmul.allow_tf32 = False
print(json.dumps({
    "device": torch.cuda.get_device_name(0),
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "tflops": {name: tflops(dtype) for name, dtype in
               [("bf16", torch.bfloat16), ("f16", torch.float16), ("f32", torch.float32)]},
}))
