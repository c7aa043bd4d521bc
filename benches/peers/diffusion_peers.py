"""phasebench's image generation next to Hugging Face diffusers (PyTorch CPU) on the same weights,
on this machine.

The weights: Stable Diffusion 1.5's block layout at a small width (UNet 64/128/128 channels, a
128-wide 4-layer CLIP text encoder, a 4-level autoencoder), seeded and written as a diffusers
folder by `cargo bench --bench diffusion_fidelity -- 1 --keep DIR` (which also times phasebench
against a plain candle loop) together with `io.safetensors`: token ids, candle's text context, a
latent, a timestep and candle's UNet output for them.

First the check that both run the same model: diffusers' CLIP text encoder and UNet on those
inputs against candle's outputs (largest absolute difference, cosine). Then per round: phasebench
runs the folder (`Diffusion(path: ...)`, 128×128, 10 DDIM steps, guidance 7.5 and guidance off)
and diffusers runs the same generation loop (the latent doubled under guidance, the scheduler's
input scaling, the UNet, the guidance mix, DDIM's step; text encoding and the decode around it).
Figures: the median denoising step and whole image over the measured generations; the table
gives the median over rounds (min-max beside) and speed ratios phasebench ÷ diffusers.
Run through `diffusion.sh`, which sets up the packages.
"""

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from safetensors.torch import load_file
from transformers import CLIPTextModel

STEPS, SIZE, GENERATIONS = 10, 128, 3
PHASES = [("guidance 7.5", 7.5), ("no guidance", 1.0)]


def agreement(folder):
    io = load_file(str(folder / "io.safetensors"))
    text = CLIPTextModel.from_pretrained(folder / "text_encoder").eval()
    unet = UNet2DConditionModel.from_pretrained(folder / "unet").eval()
    with torch.no_grad():
        context = text(io["ids"].long()).last_hidden_state
        output = unet(io["latent"], io["timestep"][0], encoder_hidden_states=io["context"]).sample
    lines = []
    for name, ours, theirs in [("text encoder", io["context"], context), ("UNet", io["unet_output"], output)]:
        a, b = ours.flatten().double(), theirs.flatten().double()
        cosine = float(torch.dot(a, b) / (a.norm() * b.norm()))
        lines.append(f"{name}: max |candle - diffusers| {float((a - b).abs().max()):.2e}, cosine {cosine:.9f}")
    return lines


def diffusers_round(folder, guidance):
    text = CLIPTextModel.from_pretrained(folder / "text_encoder").eval()
    unet = UNet2DConditionModel.from_pretrained(folder / "unet").eval()
    vae = AutoencoderKL.from_pretrained(folder / "vae").eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              steps_offset=1, clip_sample=False, set_alpha_to_one=False)
    guided = guidance > 1.0
    ids = torch.arange(2 * 77).reshape(2, 77) * 37 % 1000
    ids = ids if guided else ids[:1]
    generator = torch.Generator().manual_seed(7)
    noise = torch.randn((1, 4, SIZE // 8, SIZE // 8), generator=generator)
    steps, images = [], []
    with torch.no_grad():
        for generation in range(GENERATIONS + 1):
            image_start = time.perf_counter()
            context = text(ids).last_hidden_state
            scheduler.set_timesteps(STEPS)
            latent = noise.clone()
            for timestep in scheduler.timesteps:
                start = time.perf_counter()
                model_input = torch.cat([latent, latent]) if guided else latent
                model_input = scheduler.scale_model_input(model_input, timestep)
                prediction = unet(model_input, timestep, encoder_hidden_states=context).sample
                if guided:
                    unconditional, conditional = prediction.chunk(2)
                    prediction = unconditional + guidance * (conditional - unconditional)
                latent = scheduler.step(prediction, timestep, latent).prev_sample
                if generation > 0:
                    steps.append(time.perf_counter() - start)
            vae.decode(latent / vae.config.scaling_factor)
            if generation > 0:
                images.append(time.perf_counter() - image_start)
    return statistics.median(steps), statistics.median(images)


def phasebench_round(binary, folder, work):
    phases = ", ".join(f'Phase(name: "{name}", image: (guidance: {guidance}))' for name, guidance in PHASES)
    steps = GENERATIONS * STEPS
    (work / "peers.ron").write_text(
        f'Suite(version: 1, name: "diffusion-peers", settings: Settings(warmup_steps: {STEPS + 2}, '
        f'min_steps: {steps}, max_steps: {steps}, min_secs: 0.0, max_secs: 600.0, seed: 7, schedule: Sequential), '
        f'workloads: [Workload(name: "sd", model: Diffusion(path: "{folder}", pipeline: StableDiffusion(V1_5)), '
        f'mode: ImageGeneration(steps: {STEPS}, width: {SIZE}, height: {SIZE}, guidance: 7.5))], '
        f'phases: [{phases}], baseline: "{PHASES[0][0]}")'
    )
    out = work / "out"
    subprocess.run([binary, "run", "peers.ron", "--out", str(out)], cwd=work, check=True, stdout=subprocess.DEVNULL)
    result_dir = sorted(out.iterdir())[-1]
    runs = json.loads((result_dir / "result.json").read_text())["runs"]
    figures = {}
    for run in runs:
        figures[run["phase"]] = (statistics.median(run["step_secs"]),
                                 statistics.median(run["generation"]["generation_secs"]))
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for line in agreement(args.folder):
        print(line)
    ours = {name: [] for name, _ in PHASES}
    theirs = {name: [] for name, _ in PHASES}
    for round_index in range(args.rounds):
        for name, figures in phasebench_round(args.binary, args.folder, args.work).items():
            ours[name].append(figures)
        for name, guidance in PHASES:
            theirs[name].append(diffusers_round(args.folder, guidance))
        print(f"round {round_index}: phasebench {ours}, diffusers {theirs}", flush=True)
    print("| phase | figure | phasebench (candle) | diffusers (PyTorch) | speed ratio candle ÷ diffusers (min / median / max) |")
    print("|---|---|---|---|---|")
    for name, _ in PHASES:
        for index, figure in enumerate(["denoising step", "whole image"]):
            a = [values[index] for values in ours[name]]
            b = [values[index] for values in theirs[name]]
            ratios = sorted(y / x for x, y in zip(a, b))
            print(f"| {name} | {figure} | {statistics.median(a) * 1e3:.1f} ms | {statistics.median(b) * 1e3:.1f} ms | "
                  f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f} |")


if __name__ == "__main__":
    main()
