#include "formats/pytorch_zip.h"

namespace limarp {

Result<TensorStore> read_pytorch_checkpoint(const std::string& path) {
  return make_error("{}: PyTorch checkpoints are not supported yet", path);
}

}  // namespace limarp
