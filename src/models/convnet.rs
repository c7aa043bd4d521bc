//! `ConvNet`: a residual image classifier — 3×3 conv stem, residual blocks (conv, group norm,
//! SiLU, conv, group norm, skip), global average pooling and a linear head.

use candle_core::{Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, VarBuilder};

use super::layers::{self, BuildOptions, Linear};
use super::{Architecture, Network, ParamInit, ParamTensor, linear_params};
use crate::suite::ConvNetSpec;

struct Block {
    conv1: Conv2d,
    norm1: GroupNorm,
    conv2: Conv2d,
    norm2: GroupNorm,
}

struct ConvNet {
    stem: Conv2d,
    blocks: Vec<Block>,
    head: Linear,
}

impl Network for ConvNet {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = self.stem.forward(input)?.silu()?;
        for block in &self.blocks {
            let y = block.norm1.forward(&block.conv1.forward(&x)?)?.silu()?;
            let y = block.norm2.forward(&block.conv2.forward(&y)?)?;
            x = (x + y)?.silu()?;
        }
        let pooled = x.mean((2, 3))?;
        self.head.forward(&pooled)
    }
}

/// Groups for group norm: 8 where the channels allow it, else the largest divisor below 8.
fn norm_groups(channels: usize) -> usize {
    (1..=8).rev().find(|g| channels.is_multiple_of(*g)).unwrap_or(1)
}

fn conv_params(prefix: &str, in_channels: usize, out_channels: usize) -> [ParamTensor; 2] {
    let fan_in = (in_channels * 9) as f64;
    [
        ParamTensor::new(
            format!("{prefix}.weight"),
            vec![out_channels, in_channels, 3, 3],
            ParamInit::Normal((2.0 / fan_in).sqrt()),
        ),
        ParamTensor::new(format!("{prefix}.bias"), vec![out_channels], ParamInit::Zeros),
    ]
}

fn norm_params(prefix: &str, channels: usize) -> [ParamTensor; 2] {
    [
        ParamTensor::new(format!("{prefix}.weight"), vec![channels], ParamInit::Ones),
        ParamTensor::new(format!("{prefix}.bias"), vec![channels], ParamInit::Zeros),
    ]
}

const SAME_PADDING: Conv2dConfig = Conv2dConfig { padding: 1, stride: 1, dilation: 1, groups: 1, cudnn_fwd_algo: None };

impl Architecture for ConvNetSpec {
    fn parameters(&self) -> Vec<ParamTensor> {
        let mut params: Vec<ParamTensor> = conv_params("stem", self.in_channels, self.channels).into();
        for block in 0..self.blocks {
            let prefix = format!("blocks.{block}");
            params.extend(conv_params(&format!("{prefix}.conv1"), self.channels, self.channels));
            params.extend(norm_params(&format!("{prefix}.norm1"), self.channels));
            params.extend(conv_params(&format!("{prefix}.conv2"), self.channels, self.channels));
            params.extend(norm_params(&format!("{prefix}.norm2"), self.channels));
        }
        params.extend(linear_params("head", self.channels, self.classes));
        params
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.in_channels, self.image_size, self.image_size]
    }

    fn flops_per_item(&self) -> Option<f64> {
        let pixels = (self.image_size * self.image_size) as f64;
        let conv = |cin: usize, cout: usize| 2.0 * 9.0 * cin as f64 * cout as f64 * pixels;
        let blocks = self.blocks as f64 * 2.0 * conv(self.channels, self.channels);
        Some(conv(self.in_channels, self.channels) + blocks + 2.0 * (self.channels * self.classes) as f64)
    }

    fn classes(&self) -> Option<usize> {
        Some(self.classes)
    }

    fn build(&self, vb: VarBuilder, options: BuildOptions) -> candle_core::Result<Box<dyn Network>> {
        let conv = |cin, cout, vb: VarBuilder| candle_nn::conv2d(cin, cout, 3, SAME_PADDING, vb);
        let norm = |vb: VarBuilder| candle_nn::group_norm(norm_groups(self.channels), self.channels, 1e-5, vb);
        let blocks = (0..self.blocks)
            .map(|index| {
                let vb = vb.pp(format!("blocks.{index}"));
                Ok(Block {
                    conv1: conv(self.channels, self.channels, vb.pp("conv1"))?,
                    norm1: norm(vb.pp("norm1"))?,
                    conv2: conv(self.channels, self.channels, vb.pp("conv2"))?,
                    norm2: norm(vb.pp("norm2"))?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Box::new(ConvNet {
            stem: conv(self.in_channels, self.channels, vb.pp("stem"))?,
            blocks,
            head: layers::linear(self.channels, self.classes, true, vb.pp("head"), options)?,
        }))
    }
}
