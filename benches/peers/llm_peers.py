"""phasebench's text generation next to Hugging Face transformers (PyTorch CPU) and llama.cpp
(llama-cpp-python) on the same weights, on this machine.

The weights: a seeded ~125 M-parameter Llama and Qwen3 (`Llm(..., preset: Medium)`), written by
`phasebench export-weights` as a Hugging Face folder (f32) and as GGUFs in Q8_0 and Q4K. Every
engine gets a prompt of PROMPT seeded token ids and generates NEW tokens greedily with its KV
cache; prefill tokens/s is the prompt over the time to the first token, decode tokens/s one over
the median time of the later tokens. phasebench runs `HfFolder` (f32, bf16) and the GGUFs as
phases of one suite; transformers runs the folder in f32 and bf16; llama.cpp the two GGUFs. Each
round runs them all back to back; the figures are the median over rounds (min-max beside).

As a check that all three run the same model: the next-token logits after the prompt of
transformers (f32) against llama.cpp's (Q8_0): cosine and whether the top token is the same.
Run through `llm.sh`, which sets up the packages.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

PROMPT, NEW = 128, 32
FAMILIES = [("llama", "Llama"), ("qwen3", "Qwen3")]
THREADS = os.cpu_count() or 1


def phasebench(binary, *args, cwd):
    subprocess.run([binary, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def export_models(binary, work):
    workloads = ", ".join(
        f'Workload(name: "{name}", model: Llm(family: {family}, preset: Medium), '
        f"mode: TextGeneration(prompt_tokens: {PROMPT}, new_tokens: {NEW}))"
        for name, family in FAMILIES
    )
    (work / "seeded.ron").write_text(
        f'Suite(version: 1, name: "seeded", settings: Settings(seed: 1), workloads: [{workloads}], '
        'phases: [Phase(name: "f32")], baseline: "f32")'
    )
    for name, _ in FAMILIES:
        phasebench(binary, "export-weights", "seeded.ron", "--workload", name, "--out", name, cwd=work)
        for quant in ["q8_0", "q4k"]:
            out = f"{name}-{quant}.gguf"
            phasebench(binary, "export-weights", "seeded.ron", "--workload", name, "--out", out,
                       "--quantization", quant, cwd=work)
    workloads = ", ".join(
        f'Workload(name: "{name}", model: HfFolder(path: "{name}"), '
        f"mode: TextGeneration(prompt_tokens: {PROMPT}, new_tokens: {NEW}))"
        for name, _ in FAMILIES
    )
    (work / "files.ron").write_text(
        'Suite(version: 1, name: "llm-peers", settings: Settings(warmup_steps: 8, min_steps: 62, '
        f"max_steps: 5000, min_secs: 3.0, max_secs: 8.0, seed: 1), workloads: [{workloads}], phases: ["
        'Phase(name: "f32"), Phase(name: "bf16", dtype: BF16), '
        'Phase(name: "gguf-q8_0", gguf: "{workload}-q8_0.gguf"), '
        'Phase(name: "gguf-q4k", gguf: "{workload}-q4k.gguf")], baseline: "f32")'
    )


def phasebench_round(binary, work, round_index):
    out = work / f"out-{round_index}"
    phasebench(binary, "run", "files.ron", "--out", str(out), cwd=work)
    result = json.loads(next(out.glob("*/result.json")).read_text())
    figures = {}
    for run in result["runs"]:
        text = run["text"]
        prefill = statistics.median(text["prefill_secs"])
        decode = statistics.median(run["step_secs"])
        figures[(run["workload"], run["phase"])] = (PROMPT / prefill, 1.0 / decode)
    return figures


def transformers_generate(model, ids, repetitions):
    """Prefill tokens/s and decode tokens/s of greedy generation with the KV cache."""
    prefills, decodes = [], []
    with torch.inference_mode():
        for _ in range(repetitions):
            start = time.perf_counter()
            out = model(ids, use_cache=True)
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            prefills.append(time.perf_counter() - start)
            past = out.past_key_values
            for _ in range(NEW - 1):
                start = time.perf_counter()
                out = model(token, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token = out.logits[:, -1].argmax(-1, keepdim=True)
                decodes.append(time.perf_counter() - start)
    return PROMPT / statistics.median(prefills), 1.0 / statistics.median(decodes)


def last_logits(llm):
    """The logits llama.cpp computed for the last token evaluated (llama-cpp-python 0.3 keeps
    them in the context only, unless every position's are asked for, which costs time)."""
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))


def llama_cpp_generate(llm, prompt, repetitions):
    prefills, decodes = [], []
    for _ in range(repetitions):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        token = int(np.argmax(last_logits(llm)))
        prefills.append(time.perf_counter() - start)
        for _ in range(NEW - 1):
            start = time.perf_counter()
            llm.eval([token])
            token = int(np.argmax(last_logits(llm)))
            decodes.append(time.perf_counter() - start)
    return PROMPT / statistics.median(prefills), 1.0 / statistics.median(decodes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.work)
    args.binary = str(Path(args.binary).resolve())
    torch.set_num_threads(THREADS)
    export_models(args.binary, work)
    from transformers import AutoModelForCausalLM

    try:
        from llama_cpp import Llama
    except ImportError as error:
        print(f"llama-cpp-python is not installed: {error}", file=sys.stderr)
        Llama = None
    rng = np.random.default_rng(7)
    samples = {}
    engines = {}
    for name, _ in FAMILIES:
        vocab = json.loads((work / name / "config.json").read_text())["vocab_size"]
        prompt = [int(token) for token in rng.integers(3, vocab, PROMPT)]
        ids = torch.tensor([prompt])
        for dtype, label in [(torch.float32, "f32"), (torch.bfloat16, "bf16")]:
            model = AutoModelForCausalLM.from_pretrained(work / name, torch_dtype=dtype).eval()
            engines[(name, f"transformers {label}")] = (model, ids)
        if Llama is not None:
            for quant in ["q8_0", "q4k"]:
                llm = Llama(model_path=str(work / f"{name}-{quant}.gguf"), n_ctx=PROMPT + NEW + 8, n_batch=PROMPT,
                            n_ubatch=PROMPT, n_threads=THREADS, n_threads_batch=THREADS, verbose=False)
                engines[(name, f"llama.cpp {quant}")] = (llm, prompt)
        # The same model in both? transformers f32 against llama.cpp Q8_0 after the prompt.
        if Llama is not None:
            model, _ = engines[(name, "transformers f32")]
            with torch.inference_mode():
                reference = model(ids).logits[0, -1].float().numpy()
            llm, _ = engines[(name, "llama.cpp q8_0")]
            llm.reset()
            llm.eval(prompt)
            other = np.array(last_logits(llm), dtype=np.float64)
            cosine = float(reference @ other / np.linalg.norm(reference) / np.linalg.norm(other))
            same = int(np.argmax(reference)) == int(np.argmax(other))
            print(f"{name}: transformers f32 vs llama.cpp q8_0 next-token logits: cosine {cosine:.5f}, "
                  f"same top token: {same}")
    for round_index in range(args.rounds):
        for key, figures in phasebench_round(args.binary, work, round_index).items():
            samples.setdefault((key[0], f"phasebench {key[1]}"), []).append(figures)
        for (name, engine), (runner, inputs) in engines.items():
            if engine.startswith("transformers"):
                figures = transformers_generate(runner, inputs, args.repetitions)
            else:
                figures = llama_cpp_generate(runner, inputs, args.repetitions)
            samples.setdefault((name, engine), []).append(figures)
    print(f"\nprompt {PROMPT}, {NEW} new tokens, batch 1, {THREADS} threads; median over {args.rounds} rounds "
          "(min-max)")
    print("| model | engine | prefill tok/s | decode tok/s |")
    print("|---|---|---|---|")
    medians = {}
    for (name, engine), figures in sorted(samples.items()):
        prefill = [figure[0] for figure in figures]
        decode = [figure[1] for figure in figures]
        medians[(name, engine)] = (statistics.median(prefill), statistics.median(decode))
        print(f"| {name} | {engine} | {statistics.median(prefill):.0f} ({min(prefill):.0f}-{max(prefill):.0f}) | "
              f"{statistics.median(decode):.1f} ({min(decode):.1f}-{max(decode):.1f}) |")
    print("\nphasebench / peer (above 1: phasebench faster)")
    print("| model | phasebench phase | peer | prefill | decode |")
    print("|---|---|---|---|---|")
    pairs = [("f32", "transformers f32"), ("bf16", "transformers bf16"), ("gguf-q8_0", "llama.cpp q8_0"),
             ("gguf-q4k", "llama.cpp q4k")]
    for name, _ in FAMILIES:
        for phase, peer in pairs:
            ours, theirs = medians.get((name, f"phasebench {phase}")), medians.get((name, peer))
            if ours and theirs:
                print(f"| {name} | {phase} | {peer} | {ours[0] / theirs[0]:.2f} | {ours[1] / theirs[1]:.2f} |")


if __name__ == "__main__":
    main()
