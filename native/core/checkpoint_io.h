// SPDX-License-Identifier: MIT
//
// Checkpoint files in the torch.save zip format. medunet writes a dict
// {"state_dict": {name: tensor}, "metadata": json_text} that PyTorch reads with torch.load, and
// reads back both that and a plain {name: tensor} dict written by torch.save(model.state_dict()).

#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medunet {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// Contents of a checkpoint file, as ReadCheckpointFile returns them.
struct Checkpoint {
  /// Tensors in file order. They are on the CPU and do not require grad.
  NamedTensors tensors;
  /// The `metadata` text, or nullopt for a plain state dict.
  std::optional<std::string> metadata;
};

/// Writes `tensors` (as CPU tensors) and `metadata` to `path`. The bytes go to a temporary file
/// in the same folder, which is renamed over `path` only once complete, so a failed save leaves
/// any previous file intact. Throws kCheckpoint with a message that starts with `path`.
void WriteCheckpointFile(const std::string& path, const NamedTensors& tensors, const std::string& metadata);

/// Reads a checkpoint written by WriteCheckpointFile or a torch.save'd dict of tensors (zip format,
/// PyTorch 1.6 and later). Throws kCheckpoint with a message that starts with `path`.
Checkpoint ReadCheckpointFile(const std::string& path);

}  // namespace medunet
