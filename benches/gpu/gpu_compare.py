"""Summarizes a suites/gpu.ron result next to PyTorch's matmul figures (torch_matmul.py) as
Markdown: matmul-4096 TFLOP/s per CUDA phase and its ratio to PyTorch in the same dtype, then per
run the median step, energy per step, GPU memory, setup, the sweeps and every failure.

Usage: gpu_compare.py RESULT_JSON TORCH_JSON"""
import json
import sys

result = json.load(open(sys.argv[1]))
torch = json.load(open(sys.argv[2]))
dtype_of = {"F32": "f32", "F16": "f16", "BF16": "bf16"}

print(f"# GPU verification: {torch['device']} (PyTorch {torch['torch']}, CUDA {torch['cuda']})\n")
print("| phase | phasebench TFLOP/s | PyTorch TFLOP/s | ratio |\n|---|---:|---:|---:|")
for run in result["runs"]:
    if run["workload"] != "matmul-4096" or not run.get("summary") or run["device"] == "Cpu":
        continue
    ours = run["flops_per_item"] * run["batch_size"] / run["summary"]["median"] / 1e12
    dtype = dtype_of.get(run["dtype"], run["dtype"])
    theirs = torch["tflops"].get(dtype) if not run.get("quantization") else None
    ratio = f"{ours / theirs:.2f}" if theirs else "—"
    print(f"| {run['phase']} | {ours:.1f} | {theirs or 0:.1f} | {ratio} |")


def gpu_aggregate(run):
    index = run.get("gpu_index")
    telemetry = run.get("telemetry") or {}
    return next((gpu for gpu in telemetry.get("gpus", []) if gpu["index"] == index), None)


print("\n| run | status | median step | energy/step | GPU memory (NVML peak) | driver before/loaded/after | build | copy |")
print("|---|---|---:|---:|---:|---|---:|---:|")
for run in result["runs"]:
    status = run["status"] if isinstance(run["status"], str) else next(iter(run["status"]))
    gpu = gpu_aggregate(run) or {}
    memory = run.get("device_memory") or {}
    gib = lambda b: f"{b / 2**30:.2f}" if b is not None else "?"
    driver = f"{gib(memory.get('before_bytes'))}/{gib(memory.get('loaded_bytes'))}/{gib(memory.get('after_bytes'))} GiB" if memory else ""
    median = f"{run['summary']['median'] * 1e3:.3f} ms" if run.get("summary") else ""
    energy = f"{gpu['energy_per_step_joules']:.3f} J" if gpu.get("energy_per_step_joules") is not None else ""
    peak = f"{gib(gpu.get('peak_process_memory_bytes'))} GiB" if gpu.get("peak_process_memory_bytes") else ""
    build = f"{run['load_secs'] * 1e3:.1f} ms" if run.get("load_secs") is not None else ""
    copy = (f"{run['transfer_bytes'] / 2**20:.0f} MiB in {run['transfer_secs'] * 1e3:.1f} ms"
            if run.get("transfer_secs") is not None else "")
    print(f"| {run['workload']}/{run['phase']}@{run['batch_size']} | {status} | {median} | {energy} | {peak} | {driver} | {build} | {copy} |")

print("\n## Sweeps\n")
for sweep in result["sweeps"]:
    print(f"- {sweep['workload']}/{sweep['phase']}: largest working batch {sweep['largest_working_batch']}, stop {sweep['stop']}")
print("\n## Failures and warnings\n")
for run in result["runs"]:
    if isinstance(run["status"], dict):
        print(f"- {run['workload']}/{run['phase']}@{run['batch_size']}: {run['status']}")
    for warning in run.get("warnings", []):
        print(f"- warning {run['workload']}/{run['phase']}@{run['batch_size']}: {warning}")
