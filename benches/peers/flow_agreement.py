"""Checks that diffusers loads phasebench's SD3 and Flux folders as the same models candle runs.

phasebench writes a seeded pipeline as a diffusers folder (`export-weights SUITE --workload W
--out DIR --io IO.safetensors`): `transformer/` under diffusers' tensor names (q, k, v apart, the
final modulation as (scale, shift)), `vae/` as an AutoencoderKL, and in IO.safetensors candle's
inputs and outputs for one denoiser call and one decode. Here diffusers loads the folder (no
tensor missing or left over), runs the same inputs, and the outputs are compared: largest absolute
difference and cosine. A renaming mistake (a swapped half, q/k/v out of order) gives a cosine far
from 1. Run through `flow_agreement.sh`.
"""

import argparse
import sys

import torch
from diffusers import AutoencoderKL, FluxTransformer2DModel, SD3Transformer2DModel
from safetensors.torch import load_file
from transformers import CLIPTextModel, CLIPTextModelWithProjection, T5EncoderModel


def compare(name, ours, theirs):
    a, b = ours.flatten().double(), theirs.flatten().double()
    cosine = float(torch.dot(a, b) / (a.norm() * b.norm()))
    print(f"  {name}: max |candle - diffusers| {float((a - b).abs().max()):.2e}, cosine {cosine:.9f}")
    return cosine


def load(cls, path):
    """The model, failing when a tensor is missing from the files or left over in them."""
    model, info = cls.from_pretrained(path, low_cpu_mem_usage=False, output_loading_info=True)
    wrong = {kind: keys for kind, keys in info.items() if keys}
    if wrong:
        sys.exit(f"{path}: diffusers does not load it as saved: {wrong}")
    return model.eval()


def text_agreement(folder, io, family):
    """The folder's CLIP and T5 encoders in transformers on candle's token ids (T5's derived from
    them as phasebench derives them) against candle's conditioning: the pooled text and T5's
    tokens (SD3's CLIP tokens are left out: at test shapes candle's generic CLIP gives its last
    layer where SD3 takes the penultimate)."""
    ids = io["ids"].long()
    rows, _ = ids.shape
    t5 = load(T5EncoderModel, folder / ("text_encoder_3" if family == "sd3" else "text_encoder_2"))
    tokens = io["context"].shape[1] - (77 if family == "sd3" else 0)
    positions = torch.arange(tokens)
    t5_ids = (ids[:, positions % ids.shape[1]] * 31 + positions) % t5.config.vocab_size
    with torch.no_grad():
        t5_out = t5(t5_ids).last_hidden_state
        if family == "sd3":
            pooled = torch.cat([load(CLIPTextModelWithProjection, folder / name)(ids).text_embeds
                                for name in ["text_encoder", "text_encoder_2"]], dim=-1)
        else:
            pooled = load(CLIPTextModel, folder / "text_encoder")(ids).pooler_output
    ours_t5 = io["context"][:, -tokens:, :]
    return [compare("T5 tokens", ours_t5, t5_out), compare("pooled text (CLIP)", io["pooled"], pooled)]


def transformer_output(folder, io, family):
    latent, context, pooled = io["latent"], io["context"], io["pooled"]
    if family == "sd3":
        model = load(SD3Transformer2DModel, folder / "transformer")
        with torch.no_grad():
            return model(hidden_states=latent, encoder_hidden_states=context, pooled_projections=pooled,
                         timestep=io["timestep"]).sample
    model = load(FluxTransformer2DModel, folder / "transformer")
    b, c, h, w = latent.shape
    # Flux's 2×2 packing and position ids, as its pipeline makes them.
    packed = latent.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h * w // 4, c * 4)
    img_ids = torch.zeros(h // 2, w // 2, 3)
    img_ids[..., 1] = torch.arange(h // 2)[:, None]
    img_ids[..., 2] = torch.arange(w // 2)[None, :]
    txt_ids = torch.zeros(context.shape[1], 3)
    guidance = io["guidance"] if model.config.guidance_embeds else None
    with torch.no_grad():
        out = model(hidden_states=packed, encoder_hidden_states=context, pooled_projections=pooled,
                    timestep=io["timestep"] / 1000, img_ids=img_ids.reshape(-1, 3), txt_ids=txt_ids,
                    guidance=guidance).sample
    return out.reshape(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--io", required=True)
    parser.add_argument("--family", choices=["sd3", "flux"], required=True)
    parser.add_argument("--min-cosine", type=float, default=0.999)
    args = parser.parse_args()
    from pathlib import Path
    folder = Path(args.folder)
    io = load_file(args.io)
    torch.manual_seed(0)
    print(f"{args.family}: {folder}")
    cosines = [compare("transformer", io["output"], transformer_output(folder, io, args.family))]
    if "ids" in io:
        cosines += text_agreement(folder, io, args.family)
    vae = load(AutoencoderKL, folder / "vae")
    with torch.no_grad():
        latent = io["latent"] / vae.config.scaling_factor + vae.config.shift_factor
        image = (vae.decode(latent).sample / 2 + 0.5).clamp(0, 1)
    cosines.append(compare("autoencoder decode", io["image"], image))
    if min(cosines) < args.min_cosine:
        sys.exit(f"{args.family}: outputs disagree (cosine below {args.min_cosine})")


if __name__ == "__main__":
    main()
