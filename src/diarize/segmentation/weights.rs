//! Reading the segmentation-3.0 Lightning checkpoint into plain f32 arrays, checking
//! every tensor the network needs is there with the shape the network expects.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The checkpoint's tensors by name, handed out one by one with their shape checked.
pub(crate) struct Checkpoint {
    path: PathBuf,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Checkpoint {
    /// Reads the `state_dict` of a PyTorch zip checkpoint.
    pub(crate) fn read(path: &Path) -> crate::Result<Self> {
        if !path.is_file() {
            return Err(Error::model(path, "file not found"));
        }
        let corrupt = |e: candle_core::Error| {
            Error::model(path, format!("not a readable PyTorch checkpoint: {e}"))
        };
        let entries =
            candle_core::pickle::read_all_with_key(path, Some("state_dict")).map_err(corrupt)?;
        let mut tensors = HashMap::with_capacity(entries.len());
        for (name, tensor) in entries {
            let dims = tensor.dims().to_vec();
            let values = tensor
                .to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(corrupt)?;
            tensors.insert(name, (dims, values));
        }
        Ok(Checkpoint {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// The values of tensor `name`, which must have shape `dims`.
    pub(crate) fn take(&mut self, name: &str, dims: &[usize]) -> crate::Result<Vec<f32>> {
        let (found, values) = self.tensors.remove(name).ok_or_else(|| {
            Error::model(
                &self.path,
                format!("tensor {name} missing: not a pyannote segmentation-3.0 checkpoint"),
            )
        })?;
        if found != dims {
            return Err(Error::model(
                &self.path,
                format!("tensor {name} has shape {found:?}, expected {dims:?}"),
            ));
        }
        Ok(values)
    }

    /// `weight` and `bias` of the layer `prefix`.
    pub(crate) fn take_layer(
        &mut self,
        prefix: &str,
        weight_dims: &[usize],
    ) -> crate::Result<(Vec<f32>, Vec<f32>)> {
        let weight = self.take(&format!("{prefix}.weight"), weight_dims)?;
        let bias = self.take(&format!("{prefix}.bias"), &weight_dims[..1])?;
        Ok((weight, bias))
    }
}
