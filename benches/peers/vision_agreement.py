"""Checks that Hugging Face transformers runs phasebench's seeded vision encoders as the same models.

phasebench writes a workload's seeded weights in the checkpoint's own tensor names
(`export-weights SUITE --workload W --out W.safetensors --io W-io.safetensors`) with the seeded
input batch and candle's f32 output for it. Here transformers builds the published architecture
at the tiny preset's sizes, loads the file strictly (no tensor missing or left over), runs the same
input and compares: largest absolute difference and cosine. ConvNeXt and ResNet are timm's
(`convnext_atto`, `resnet18`), loaded with `load_state_dict(strict=True)`. Run through `vision_agreement.sh`.
"""

import argparse
import os
import shutil
import sys
import tempfile

import timm
import torch
from safetensors.torch import load_file
from transformers import (CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel, ViTConfig,
                          ViTForImageClassification)

# The convolutional tiny presets of src/models/vision.rs, as timm names them.
TIMM = {"convnext": "convnext_atto", "resnet": "resnet18"}
# The transformers' tiny presets of src/models/vision.rs: width 64, 2 layers, 4 heads, patch 8.
TINY = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, patch_size=8)


def model_for(family, image_size, classes):
    if family == "clip":
        config = CLIPVisionConfig(**TINY, image_size=image_size, hidden_act="quick_gelu", projection_dim=512)
        return CLIPVisionModel(config), lambda out: out.pooler_output
    if family == "siglip":
        config = SiglipVisionConfig(**TINY, image_size=image_size, hidden_act="gelu_pytorch_tanh")
        return SiglipVisionModel(config), lambda out: out.pooler_output
    config = ViTConfig(**TINY, image_size=image_size, num_labels=classes, hidden_act="gelu", layer_norm_eps=1e-12)
    return ViTForImageClassification(config), lambda out: out.logits


def load_as_published(model, weights_file):
    """Loads the file as transformers loads a published checkpoint (`from_pretrained` on a folder
    of the config and the file, with its name conversions), failing when a tensor is missing,
    left over or of another shape."""
    folder = tempfile.mkdtemp()
    model.config.save_pretrained(folder)
    shutil.copy(weights_file, os.path.join(folder, "model.safetensors"))
    loaded, info = type(model).from_pretrained(folder, output_loading_info=True)
    wrong = {kind: keys for kind, keys in info.items() if keys}
    if wrong:
        sys.exit(f"{weights_file}: transformers does not load it as saved: {wrong}")
    return loaded.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--io", required=True)
    parser.add_argument("--family", choices=["clip", "siglip", "vit", "convnext", "resnet"], required=True)
    parser.add_argument("--min-cosine", type=float, default=0.99999)
    args = parser.parse_args()
    io = load_file(args.io)
    image = io["input"]
    classes = io["output"].shape[-1]
    if args.family in TIMM:
        # timm's names, as its checkpoints write them; every tensor loaded, none left over.
        model = timm.create_model(TIMM[args.family], pretrained=False, num_classes=classes)
        model.load_state_dict(load_file(args.weights), strict=True)
        with torch.no_grad():
            theirs = model.eval()(image)
    else:
        model, pick = model_for(args.family, image.shape[-1], classes)
        model = load_as_published(model, args.weights)
        with torch.no_grad():
            theirs = pick(model(pixel_values=image))
    a, b = io["output"].flatten().double(), theirs.flatten().double()
    cosine = float(torch.dot(a, b) / (a.norm() * b.norm()))
    peer = "timm" if args.family in TIMM else "transformers"
    print(f"{args.family}: output {list(theirs.shape)}, max |candle - {peer}| {float((a - b).abs().max()):.2e}, "
          f"cosine {cosine:.9f}")
    if cosine < args.min_cosine:
        sys.exit(f"{args.family}: outputs disagree (cosine below {args.min_cosine})")


if __name__ == "__main__":
    main()
