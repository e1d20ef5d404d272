// Random weights in llama.cpp's block formats (cpplm bench --dtype q4_k_m ...): every type the CPU reads binds
// and runs, with finite logits; the _M mixes put Q6_K where llama-quantize does; unknown names are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/ggml_types.h"
#include "io/config.h"
#include "model/llama.h"
#include "model/random_weights.h"

namespace cpplm {
namespace {

ModelArgs small_args(int layers) {
  nlohmann::json cfg = {{"model_type", "llama"},       {"hidden_size", 256},       {"intermediate_size", 512},
                        {"num_hidden_layers", layers}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"vocab_size", 512},           {"rms_norm_eps", 1e-5},     {"tie_word_embeddings", true}};
  return parse_model_args(cfg, "config.json");
}

TEST(RandomGgml, EveryTypeBindsAndGivesFiniteLogits) {
  const ModelArgs args = small_args(2);
  for (const std::string& type : random_ggml_types()) {
    RandomGgml w = random_ggml_weights(args, type, 3);
    auto m = Model::from_tensors(args, std::move(w.tensors), std::move(w.ggml), "random " + type);
    SequenceCache cache = m->make_cache();
    const std::vector<int32_t> ids = {1, 17, 300, 5, 511};
    SequenceInput in{ids, &cache};
    const std::vector<float> logits = m->forward(std::span<const SequenceInput>(&in, 1), /*all_logits=*/true);
    ASSERT_EQ(logits.size(), ids.size() * 512) << type;
    EXPECT_TRUE(std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); })) << type;
    EXPECT_GT(*std::max_element(logits.begin(), logits.end()), *std::min_element(logits.begin(), logits.end())) << type;
  }
}

TEST(RandomGgml, MixesFollowLlamaQuantize) {
  const ModelArgs args = small_args(16);
  const RandomGgml w = random_ggml_weights(args, "q4_k_m", 1);
  auto type_of = [&](const std::string& n) { return static_cast<GgmlType>(w.ggml.at(n).type); };
  EXPECT_EQ(type_of("model.embed_tokens.weight"), GgmlType::Q6_K);
  // use_more_bits(i, 16): layers 0, 1, 14, 15 and i with (i - 2) % 3 == 2.
  for (int i = 0; i < 16; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const bool more = i < 2 || i >= 14 || (i - 2) % 3 == 2;
    EXPECT_EQ(type_of(p + "mlp.down_proj.weight"), more ? GgmlType::Q6_K : GgmlType::Q4_K) << i;
    EXPECT_EQ(type_of(p + "self_attn.v_proj.weight"), more ? GgmlType::Q6_K : GgmlType::Q4_K) << i;
    EXPECT_EQ(type_of(p + "self_attn.q_proj.weight"), GgmlType::Q4_K) << i;
  }
  EXPECT_EQ(static_cast<GgmlType>(random_ggml_weights(args, "q5_k_m", 1).ggml.at("model.layers.3.mlp.up_proj.weight").type),
            GgmlType::Q5_K);
  EXPECT_EQ(static_cast<GgmlType>(random_ggml_weights(args, "Q8_0", 1).ggml.at("model.embed_tokens.weight").type),
            GgmlType::Q8_0);
}

TEST(RandomGgml, UnknownTypeIsAnErrorListingTheNames) {
  try {
    random_ggml_weights(small_args(1), "q7_k", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q7_k"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("q4_k_m"), std::string::npos);
  }
}

}  // namespace
}  // namespace cpplm
