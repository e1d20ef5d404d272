// The defaults of SequenceState and LanguageModel for what a device may not offer.
#include "runtime/language_model.h"

namespace cpplm {

void SequenceState::read_layer(int, std::vector<float>&, std::vector<float>&) const {
  throw Error("this device cannot read its K/V cache back (prompt cache files)");
}
void SequenceState::append_layer(int, const float*, const float*, int) {
  throw Error("this device cannot load a K/V cache (prompt cache files)");
}

void SequenceState::adopt_blocks(std::span<const int32_t>) { throw Error("this sequence's K/V is not paged"); }

void LanguageModel::decode_batch(std::span<DecodeRow>) { throw Error(device() + " has no batched decode step"); }

}  // namespace cpplm
