//! `DiffusionTransformer`: a DiT-style denoiser. The latent is cut into patches and embedded, a
//! sinusoidal timestep embedding passes through an MLP, and each block modulates its layer norms
//! with shift, scale and gate from the timestep (adaptive layer norm). A final modulated layer and
//! linear projection predict the noise per patch, which is folded back into the latent's shape.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use super::layers::{self, BuildOptions, LayerNorm, Linear, SelfAttention};
use super::{Architecture, Network, ParamInit, ParamTensor, linear_params};
use crate::suite::DiffusionTransformerSpec;

struct Block {
    norm: LayerNorm,
    modulation: Linear,
    attention: SelfAttention,
    fc1: Linear,
    fc2: Linear,
}

struct Dit {
    spec: DiffusionTransformerSpec,
    patch_embed: Linear,
    pos_embed: Tensor,
    time_fc1: Linear,
    time_fc2: Linear,
    blocks: Vec<Block>,
    final_norm: LayerNorm,
    final_modulation: Linear,
    final_linear: Linear,
}

/// `x · (1 + scale) + shift`, with shift and scale `[batch, 1, hidden]`.
fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> candle_core::Result<Tensor> {
    x.broadcast_mul(&(scale + 1.0)?)?.broadcast_add(shift)
}

impl Dit {
    /// Sinusoidal embedding of `timestep` (scaled to 0..1000), `[1, hidden]`.
    fn timestep_embedding(
        &self,
        timestep: f64,
        device: &Device,
        dtype: candle_core::DType,
    ) -> candle_core::Result<Tensor> {
        let half = self.spec.hidden / 2;
        let t = timestep * 1000.0;
        let mut values: Vec<f32> = Vec::with_capacity(self.spec.hidden);
        let frequency = |i: usize| (-(10_000f64.ln()) * i as f64 / half as f64).exp();
        values.extend((0..half).map(|i| (t * frequency(i)).cos() as f32));
        values.extend((0..half).map(|i| (t * frequency(i)).sin() as f32));
        values.resize(self.spec.hidden, 0.0);
        Tensor::from_vec(values, (1, self.spec.hidden), device)?.to_dtype(dtype)
    }

    fn patchify(&self, latent: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, channels, size, _) = latent.dims4()?;
        let (p, grid) = (self.spec.patch, size / self.spec.patch);
        latent.reshape((batch, channels, grid, p, grid, p))?.permute((0, 2, 4, 1, 3, 5))?.contiguous()?.reshape((
            batch,
            grid * grid,
            channels * p * p,
        ))
    }

    fn unpatchify(&self, patches: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, _, _) = patches.dims3()?;
        let (p, c, size) = (self.spec.patch, self.spec.channels, self.spec.image_size);
        let grid = size / p;
        patches
            .reshape((batch, grid, grid, c, p, p))?
            .permute((0, 3, 1, 4, 2, 5))?
            .contiguous()?
            .reshape((batch, c, size, size))
    }
}

impl Network for Dit {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        // A single forward pass denoises at mid-trajectory.
        self.denoise(input, 0.5)
    }

    fn denoise(&self, latent: &Tensor, timestep: f64) -> candle_core::Result<Tensor> {
        let mut x = self.patch_embed.forward(&self.patchify(latent)?)?.broadcast_add(&self.pos_embed)?;
        let t = self.timestep_embedding(timestep, latent.device(), latent.dtype())?;
        let condition = self.time_fc2.forward(&self.time_fc1.forward(&t)?.silu()?)?.silu()?;
        for block in &self.blocks {
            let m = block.modulation.forward(&condition)?.unsqueeze(1)?.chunk(6, 2)?;
            let attended = block.attention.forward(&modulate(&block.norm.forward(&x)?, &m[0], &m[1])?)?;
            x = (&x + attended.broadcast_mul(&m[2])?)?;
            let hidden = modulate(&block.norm.forward(&x)?, &m[3], &m[4])?;
            let mlp = block.fc2.forward(&block.fc1.forward(&hidden)?.gelu()?)?;
            x = (&x + mlp.broadcast_mul(&m[5])?)?;
        }
        let m = self.final_modulation.forward(&condition)?.unsqueeze(1)?.chunk(2, 2)?;
        let out = self.final_linear.forward(&modulate(&self.final_norm.forward(&x)?, &m[0], &m[1])?)?;
        self.unpatchify(&out)
    }
}

impl DiffusionTransformerSpec {
    fn tokens(&self) -> usize {
        (self.image_size / self.patch).pow(2)
    }

    fn patch_dim(&self) -> usize {
        self.channels * self.patch * self.patch
    }
}

impl Architecture for DiffusionTransformerSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        let h = self.hidden;
        let mut params: Vec<ParamTensor> = linear_params("patch_embed", self.patch_dim(), h).into();
        params.push(ParamTensor::new("pos_embed", vec![self.tokens(), h], ParamInit::Normal(0.02)));
        params.extend(linear_params("time.fc1", h, h));
        params.extend(linear_params("time.fc2", h, h));
        for index in 0..self.layers {
            let prefix = format!("blocks.{index}");
            params.extend(linear_params(&format!("{prefix}.modulation"), h, 6 * h));
            params.extend(layers::self_attention_params(&format!("{prefix}.attn"), h, 1.0 / (h as f64).sqrt()));
            params.extend(linear_params(&format!("{prefix}.fc1"), h, 4 * h));
            params.extend(linear_params(&format!("{prefix}.fc2"), 4 * h, h));
        }
        params.extend(linear_params("final.modulation", h, 2 * h));
        params.extend(linear_params("final.linear", h, self.patch_dim()));
        params
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.channels, self.image_size, self.image_size]
    }

    fn flops_per_item(&self) -> Option<f64> {
        let (h, n) = (self.hidden as f64, self.tokens() as f64);
        let per_block = n * 2.0 * (4.0 * h * h + 8.0 * h * h) + 4.0 * n * n * h;
        Some(n * 2.0 * (self.patch_dim() as f64) * h * 2.0 + self.layers as f64 * per_block)
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        let h = self.hidden;
        let blocks = (0..self.layers)
            .map(|index| {
                let vb = vb.pp(format!("blocks.{index}"));
                Ok(Block {
                    norm: layers::layer_norm(h, false, vb.clone(), options)?,
                    modulation: layers::linear(h, 6 * h, true, vb.pp("modulation"), options)?,
                    attention: SelfAttention::new(h, self.heads, false, vb.pp("attn"), options)?,
                    fc1: layers::linear(h, 4 * h, true, vb.pp("fc1"), options)?,
                    fc2: layers::linear(4 * h, h, true, vb.pp("fc2"), options)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Box::new(Dit {
            spec: self.clone(),
            patch_embed: layers::linear(self.patch_dim(), h, true, vb.pp("patch_embed"), options)?,
            pos_embed: vb.get((self.tokens(), h), "pos_embed")?,
            time_fc1: layers::linear(h, h, true, vb.pp("time.fc1"), options)?,
            time_fc2: layers::linear(h, h, true, vb.pp("time.fc2"), options)?,
            blocks,
            final_norm: layers::layer_norm(h, false, vb.clone(), options)?,
            final_modulation: layers::linear(h, 2 * h, true, vb.pp("final.modulation"), options)?,
            final_linear: layers::linear(h, self.patch_dim(), true, vb.pp("final.linear"), options)?,
        }))
    }
}
