// Batching is invisible on the GPU: 64 requests on random weights of the Llama-3.1-8B shape (with
// the Llama 3 tokenizer, whose vocabulary it has) get the tokens each gets alone.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../server/invariance_check.h"
#include "api/loaded_model.h"
#include "api/model_factory.h"
#include "cuda_test_util.h"

namespace cpplm {
namespace {

std::string llama3_tokenizer() {
  const char* e = std::getenv("CPPLM_TOKENIZER_DATA");
  return std::string(e ? e : CPPLM_TOKENIZER_DATA) + "/llama3";
}

TEST(CudaServer, SixtyFourRequestsGetTheirTokensFromRunningAlone) {
  SKIP_WITHOUT_GPU();
  tools::BenchSpec spec;
  spec.shape = "llama-3.1-8b";
  spec.dtype = "bf16";
  spec.device = "cuda";
  tools::LoadedModel l = tools::load_model(spec);
  server::ServedModel served;
  served.model = std::move(l.lm);
  TextSide t = load_text_side(llama3_tokenizer(), "");
  ASSERT_TRUE(t.tokenizer) << llama3_tokenizer();
  served.tokenizer = std::move(t.tokenizer);
  served.eos = cpplm::stop_token_ids(served.tokenizer.get(), served.model->args());
  server::SchedulerOptions o;
  o.max_concurrent = 64;
  o.max_queue = 64;
  o.ctx_size = 1024;
  o.prefill_chunk = 128;
  test::check_invariance(served, o, 64, 400);
}

}  // namespace
}  // namespace cpplm
