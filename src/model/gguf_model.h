// llama.cpp's GGUF files of the llama architecture: the model's settings (ModelArgs) from the `llama.*` metadata
// and the tensors under their Hugging Face names (WeightSource::gguf), so Model binds them like a checkpoint.
#pragma once
#include <string>

#include "io/config.h"
#include "io/gguf.h"

namespace cpplm {

// ModelArgs from the metadata (llama.cpp llama-model.cpp load_hparams, llama-arch.cpp key names). llama.cpp's
// converter stores Q and K rows permuted for its interleaved RoPE (convert_hf_to_gguf.py LlamaModel.permute):
// the rows are bound as stored and RoPE rotates interleaved pairs (rope_traditional), which gives the Hugging
// Face model's q·k exactly (both sides carry the same permutation within each head; V and o_proj are not
// permuted). A `rope_freqs` tensor (Llama 3.1 rope factors) becomes per-dimension divisors of the frequencies.
// Throws Error naming the file and key for another architecture or missing / inconsistent settings.
ModelArgs gguf_model_args(const GgufFile& file);

// Hugging Face name of a GGUF tensor name ("blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight");
// names without a counterpart are returned unchanged (the strict load then reports them), and back.
std::string gguf_to_hf_name(const std::string& gguf_name);
std::string hf_to_gguf_name(const std::string& hf_name);

}  // namespace cpplm
