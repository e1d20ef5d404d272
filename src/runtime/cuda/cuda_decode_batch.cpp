// CudaModel::decode_batch: one decode step of up to decode_batch_rows sequences. The projections run
// as tensor-core GEMMs of exactly decode_batch_rows rows (rows past the batch are zeros), or, for
// quantized weights with at most 32 such rows, as the int8 GEMV over the batch's rows; attention
// as one launch of the grouped decode kernel per K/V storage type over every sequence's own cache
// (its splits set by its own length), and the greedy tokens are picked on the device, so a step
// copies back one id per row (and the logits of rows sampled on the host). Nothing a row computes
// depends on the other rows: a sequence's tokens are the same whatever else runs beside it.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "ops/linear.h"
#include "runtime/cuda/cuda_model_impl.h"

namespace cpplm::cuda {

void CudaModel::decode_batch(std::span<DecodeRow> rows) {
  if (rows.empty()) return;
  const int R = opt_.decode_batch_rows;
  CPPLM_CHECK(R >= 1 && static_cast<int>(rows.size()) <= R, "decode_batch: more rows than CudaOptions::decode_batch_rows");
  const int B = static_cast<int>(rows.size()), V = args_.vocab_size, D = args_.head_dim, NL = args_.num_hidden_layers;
  const int half = D / 2;
  std::vector<SequenceTokens> in(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) in[i] = {{&rows[i].token, 1}, rows[i].state};
  int total = 0;
  const std::vector<Seq> seqs = prepare(in, &total);
  // Sequences by K/V storage type: one attention launch each (rows in batch order within it).
  std::vector<DType> types;
  for (const Seq& q : seqs)
    if (std::find(types.begin(), types.end(), q.s->kv_type()) == types.end()) types.push_back(q.s->kv_type());
  const bool grouped = std::all_of(types.begin(), types.end(), [&](DType t) {
    return attention_decode_grouped(D, args_.num_attention_heads, args_.num_key_value_heads, t);
  });
  std::vector<DecodeSeq> table;  // [layer][sequences of type 0, then of type 1, ...]
  std::vector<int> type_start, type_splits;
  if (grouped) {
    table.resize(static_cast<size_t>(NL) * B);
    int i = 0;
    for (DType t : types) {
      type_start.push_back(i);
      int most = 1;
      for (int b = 0; b < B; ++b) {
        CudaSequence& s = *seqs[b].s;
        if (s.kv_type() != t) continue;
        const int splits = attention_decode_batch_splits(s.offset() + 1);
        most = std::max(most, splits);
        for (int li = 0; li < NL; ++li) {
          const LayerPlan& l = s.plan().layers[li];
          DecodeSeq& e = table[static_cast<size_t>(li) * B + i];
          e.cache = s.layer(li);
          e.offset = s.offset();
          e.window = l.window;
          e.keep = l.keep;
          e.splits = splits;
          e.row = b;
        }
        ++i;
      }
      type_splits.push_back(most);
    }
    type_start.push_back(B);
    b_seqs_.ensure(table.size() * sizeof(DecodeSeq));
    copy_to_device_async(ctx_, b_seqs_.data(), table.data(), table.size() * sizeof(DecodeSeq));
    b_partial_.ensure(static_cast<size_t>(B) * args_.num_attention_heads * kMaxAttnSplits * attn_partial_stride(D) * 4);
    const size_t counters = static_cast<size_t>(B) * args_.num_key_value_heads * sizeof(int);
    if (b_counters_.size() < counters) {  // the kernel leaves them zero
      b_counters_ = DeviceBuffer(counters);
      memset_async(ctx_, b_counters_.data(), counters);
    }
  }
  // Quantized weights in steps of at most 32 rows: the int8 GEMV over the batch's own rows (the weights
  // read once per 8 rows, each row computed as it would be alone); otherwise GEMMs of R rows.
  const bool rows_gemv = quant_rows_gemv();
  struct RowsGemv {
    bool& flag;
    ~RowsGemv() { flag = false; }
  } reset{quant_rows_ = rows_gemv};
  const int n = rows_gemv ? B : R;
  run_layers(total, n, /*use_gemm=*/!rows_gemv, [&](int li) {
    if (!grouped) {  // shapes the grouped kernel does not take: each sequence's own launch
      for (size_t si = 0; si < seqs.size(); ++si) attend_seq(li, seqs, si, total, /*use_gemm=*/!rows_gemv);
      return;
    }
    for (size_t ti = 0; ti < types.size(); ++ti) {
      const int first = type_start[ti], count = type_start[ti + 1] - first;
      AttnArgs a = layer_attention(li, *seqs[0].s, qkv_.as<float>(), /*n=*/1, nullptr, attn_.as<float>());
      a.seqs = b_seqs_.as<DecodeSeq>() + static_cast<size_t>(li) * B + first;
      a.batch = count;
      a.splits = type_splits[ti];
      a.partial = b_partial_.as<float>();
      a.counters = b_counters_.as<int>();
      a.rope_cos = tables_.as<float>();
      a.rope_sin = a.rope_cos + static_cast<size_t>(total) * half;
      a.rope_traditional = rope_.traditional();
      attention(ctx_, a, types[ti]);
    }
  });
  for (const Seq& q : seqs) q.s->offset_ += 1;
  std::vector<int> at(n);
  for (int b = 0; b < n; ++b) at[b] = b;
  logits(at, /*use_gemm=*/!rows_gemv);
  // Greedy tokens of every row on the device; the logits of rows sampled (or scored) on the host.
  d_batch_ids_.ensure(static_cast<size_t>(B) * sizeof(int32_t));
  argmax(ctx_, logits_.as<float>(), V, d_batch_ids_.as<int32_t>(), B);
  std::vector<int32_t> ids(B);
  copy_to_host_async(ctx_, ids.data(), d_batch_ids_.data(), ids.size() * sizeof(int32_t));
  std::vector<int> host;  // rows sampled on the host, their logits into pinned memory
  for (int b = 0; b < B; ++b)
    if (!rows[b].sampler->plain_greedy() || rows[b].logprobs != nullptr) host.push_back(b);
  const size_t row_bytes = static_cast<size_t>(V) * sizeof(float);
  if (!host.empty() && (!h_logits_ || h_logits_bytes_ < host.size() * row_bytes)) {
    h_logits_bytes_ = std::max(host.size(), static_cast<size_t>(8)) * row_bytes;
    h_logits_ = std::make_unique<PinnedBuffer>(h_logits_bytes_);
  }
  float* hl = host.empty() ? nullptr : static_cast<float*>(h_logits_->data());
  for (size_t k = 0; k < host.size(); ++k)
    copy_to_host_async(ctx_, hl + k * V, logits_.as<float>() + static_cast<size_t>(host[k]) * V, row_bytes);
  ctx_.sync();
  for (int b = 0; b < B; ++b) {
    DecodeRow& r = rows[b];
    r.non_finite = false;
    if (std::find(host.begin(), host.end(), b) != host.end()) continue;
    r.next = ids[b];
    r.sampler->accept(r.next);
  }
  // Each row has its own sampler (RNG, penalties): rows sample in parallel, each as it would alone.
  parallel_for(static_cast<int64_t>(host.size()), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      DecodeRow& r = rows[host[k]];
      std::span<float> logits(hl + k * V, static_cast<size_t>(V));
      try {
        check_finite(logits);
        r.next = r.sampler->sample(logits, r.logprobs, r.top_logprobs);
      } catch (const NonFiniteLogits&) {
        r.next = -1;
        r.non_finite = true;
      }
    }
  });
}

bool CudaModel::quant_rows_gemv() const {
  // Its cost grows with every 8 rows (a pass over the weights each) and the GEMMs' does not (one pass
  // of dequantization, about 5 GEMV passes on the 8B shape): GEMMs serve steps of more rows.
  constexpr int kMostRows = 32;
  if (opt_.decode_batch_rows > kMostRows || w_.layers.empty()) return false;
  bool quantized = false;
  auto ok = [&](const DevLinear& l) {
    if (!l.bits) return true;  // float projections: the f32 GEMV of up to 8 rows, also row by row
    quantized = true;
    GemvArgs g;
    g.bits = l.bits, g.group = l.group, g.in = l.in, g.rows = true;
    g.int8_x = quantized_int8_activations();
    return gemv_quant_rows(g);
  };
  for (const DevLayer& L : w_.layers)
    if (!ok(L.qkv) || !ok(L.o) || !ok(L.gate_up) || !ok(L.down)) return false;
  return ok(w_.lm_head) && quantized;
}

}  // namespace cpplm::cuda
