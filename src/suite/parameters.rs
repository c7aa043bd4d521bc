//! The size parameters of every catalog model, named as suites spell them, to read and set
//! them one by one: what the editor's form shows for any model without code of its own.

use super::ModelSpec;

/// The value of one size parameter of a [`ModelSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelParameter {
    /// A count: features, layers, heads, pixels…
    Count(usize),
    /// A switch (e.g. a causal attention mask).
    Flag(bool),
}

impl ModelSpec {
    /// The size parameters of the model with their values, in the order the spec declares them:
    /// what the editor's form shows for every catalog model.
    pub fn parameters(&self) -> Vec<(&'static str, ModelParameter)> {
        use ModelParameter::{Count, Flag};
        match self {
            Self::MatMul(s) => vec![("m", Count(s.m)), ("n", Count(s.n)), ("k", Count(s.k))],
            Self::Mlp(s) => vec![
                ("input", Count(s.input)),
                ("hidden", Count(s.hidden)),
                ("layers", Count(s.layers)),
                ("output", Count(s.output)),
            ],
            Self::ConvNet(s) => vec![
                ("in_channels", Count(s.in_channels)),
                ("image_size", Count(s.image_size)),
                ("channels", Count(s.channels)),
                ("blocks", Count(s.blocks)),
                ("classes", Count(s.classes)),
            ],
            Self::Transformer(s) => vec![
                ("layers", Count(s.layers)),
                ("hidden", Count(s.hidden)),
                ("heads", Count(s.heads)),
                ("seq_len", Count(s.seq_len)),
                ("ffn_mult", Count(s.ffn_mult)),
                ("causal", Flag(s.causal)),
            ],
            Self::DiffusionTransformer(s) => vec![
                ("image_size", Count(s.image_size)),
                ("patch", Count(s.patch)),
                ("channels", Count(s.channels)),
                ("hidden", Count(s.hidden)),
                ("layers", Count(s.layers)),
                ("heads", Count(s.heads)),
            ],
            Self::Noop(s) => vec![("features", Count(s.features))],
            // A language model is sized by its family and preset, chosen from lists.
            Self::Vision(s) => vec![("image_size", Count(s.image_size)), ("classes", Count(s.classes))],
            Self::Llm(_) | Self::HfFolder(_) | Self::Gguf(_) | Self::Diffusion(_) => vec![],
        }
    }

    /// Sets the size parameter `name` (as [`Self::parameters`] names it); `false` when the model
    /// has no parameter of that name and kind.
    pub fn set_parameter(&mut self, name: &str, value: ModelParameter) -> bool {
        let slot: Option<&mut usize> = match (self, name) {
            (Self::MatMul(s), "m") => Some(&mut s.m),
            (Self::MatMul(s), "n") => Some(&mut s.n),
            (Self::MatMul(s), "k") => Some(&mut s.k),
            (Self::Mlp(s), "input") => Some(&mut s.input),
            (Self::Mlp(s), "hidden") => Some(&mut s.hidden),
            (Self::Mlp(s), "layers") => Some(&mut s.layers),
            (Self::Mlp(s), "output") => Some(&mut s.output),
            (Self::ConvNet(s), "in_channels") => Some(&mut s.in_channels),
            (Self::ConvNet(s), "image_size") => Some(&mut s.image_size),
            (Self::ConvNet(s), "channels") => Some(&mut s.channels),
            (Self::ConvNet(s), "blocks") => Some(&mut s.blocks),
            (Self::ConvNet(s), "classes") => Some(&mut s.classes),
            (Self::Vision(s), "image_size") => Some(&mut s.image_size),
            (Self::Vision(s), "classes") => Some(&mut s.classes),
            (Self::Transformer(s), "layers") => Some(&mut s.layers),
            (Self::Transformer(s), "hidden") => Some(&mut s.hidden),
            (Self::Transformer(s), "heads") => Some(&mut s.heads),
            (Self::Transformer(s), "seq_len") => Some(&mut s.seq_len),
            (Self::Transformer(s), "ffn_mult") => Some(&mut s.ffn_mult),
            (Self::Transformer(s), "causal") => {
                return match value {
                    ModelParameter::Flag(flag) => {
                        s.causal = flag;
                        true
                    }
                    ModelParameter::Count(_) => false,
                };
            }
            (Self::DiffusionTransformer(s), "image_size") => Some(&mut s.image_size),
            (Self::DiffusionTransformer(s), "patch") => Some(&mut s.patch),
            (Self::DiffusionTransformer(s), "channels") => Some(&mut s.channels),
            (Self::DiffusionTransformer(s), "hidden") => Some(&mut s.hidden),
            (Self::DiffusionTransformer(s), "layers") => Some(&mut s.layers),
            (Self::DiffusionTransformer(s), "heads") => Some(&mut s.heads),
            (Self::Noop(s), "features") => Some(&mut s.features),
            _ => None,
        };
        match (slot, value) {
            (Some(slot), ModelParameter::Count(count)) => {
                *slot = count;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{ConvNetSpec, DiffusionTransformerSpec, MatMulSpec, MlpSpec, NoopSpec, TransformerSpec};

    #[test]
    fn every_serialized_model_field_is_an_editable_parameter() {
        let models = [
            ModelSpec::MatMul(MatMulSpec::default()),
            ModelSpec::Mlp(MlpSpec::default()),
            ModelSpec::ConvNet(ConvNetSpec::default()),
            ModelSpec::Transformer(TransformerSpec::default()),
            ModelSpec::DiffusionTransformer(DiffusionTransformerSpec::default()),
            ModelSpec::Noop(NoopSpec::default()),
        ];
        for mut model in models {
            let json = serde_json::to_value(&model).unwrap_or_default();
            let params = json.as_object().and_then(|outer| outer.values().next()).and_then(|v| v.as_object());
            let mut serialized: Vec<&str> = params.map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            let mut names: Vec<&str> = model.parameters().iter().map(|(name, _)| *name).collect();
            names.sort_unstable();
            serialized.sort_unstable();
            assert_eq!(names, serialized, "{}", model.kind_name());
            for (name, value) in model.clone().parameters() {
                let changed = match value {
                    ModelParameter::Count(count) => ModelParameter::Count(count + 1),
                    ModelParameter::Flag(flag) => ModelParameter::Flag(!flag),
                };
                assert!(model.set_parameter(name, changed), "{} {name}", model.kind_name());
                assert!(model.parameters().contains(&(name, changed)), "{} {name}", model.kind_name());
            }
            assert!(!model.set_parameter("no_such_parameter", ModelParameter::Count(1)));
        }
    }
}
