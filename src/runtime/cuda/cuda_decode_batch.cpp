// CudaModel::decode_batch: one decode step of up to decode_batch_rows sequences. The projections run
// as tensor-core GEMMs of exactly decode_batch_rows rows (rows past the batch: padding, token 0, no attention), or, for
// quantized weights with at most 32 such rows, as the int8 GEMV over the batch's rows; attention
// as one launch of the grouped decode kernel per K/V storage type over every sequence's own cache
// (its splits set by its own length), and the greedy tokens are picked on the device, so a step
// copies back one id per row (and the logits of rows sampled on the host). Nothing a row computes
// depends on the other rows: a sequence's tokens are the same whatever else runs beside it. A step of
// one K/V type has a fixed shape for its (rows, split bucket) and replays a CUDA graph captured for it.
#include <algorithm>
#include <bit>
#include <cstring>

#include "core/thread_pool.h"
#include "ops/linear.h"
#include "runtime/cuda/cuda_model_impl.h"

namespace cpplm::cuda {

void CudaModel::decode_batch(std::span<DecodeRow> rows) {
  if (rows.empty()) return;
  const ProfileRange range("decode_batch");
  const int R = opt_.decode_batch_rows;
  CPPLM_CHECK(R >= 1 && static_cast<int>(rows.size()) <= R, "decode_batch: more rows than CudaOptions::decode_batch_rows");
  const int B = static_cast<int>(rows.size()), V = args_.vocab_size, D = args_.head_dim, NL = args_.num_hidden_layers;
  const int half = D / 2;
  // Quantized weights in steps of at most 32 rows: the int8 GEMV over the batch's own rows (the weights
  // read once per 8 rows, each row computed as it would be alone); otherwise GEMMs of R rows.
  const bool rows_gemv = quant_rows_gemv();
  const int n = rows_gemv ? B : R;  // the step's rows; rows from B are padding (token 0, no attention)
  std::vector<DType> types;         // the sequences' K/V storage types: one attention launch each
  for (const DecodeRow& r : rows) {
    auto* s = dynamic_cast<CudaSequence*>(r.state);
    CPPLM_CHECK(s != nullptr, "sequence state from another device");
    if (std::find(types.begin(), types.end(), s->kv_type()) == types.end()) types.push_back(s->kv_type());
  }
  const bool grouped = std::all_of(types.begin(), types.end(), [&](DType t) {
    return attention_decode_grouped(D, args_.num_attention_heads, args_.num_key_value_heads, t);
  });
  // The step's inputs in pinned memory, which the step's copies (replayed in a graph) read when they
  // run: ids [n], RoPE cos [n, D/2] and sin [n, D/2] and offsets [n] (stage()'s layout for n rows),
  // the attention table [layers][n], then the greedy ids coming back [n]. Padding rows: zeros.
  const size_t tab_bytes = (static_cast<size_t>(n) * D + n) * 4, ids_at = 0, tab_at = (n * 4 + 63) / 64 * 64,
               seq_at = (tab_at + tab_bytes + 63) / 64 * 64,
               out_at = seq_at + (grouped ? static_cast<size_t>(NL) * n * sizeof(DecodeSeq) : 0);
  if (!h_step_ || h_step_bytes_ < out_at + n * 4) {
    h_step_bytes_ = out_at + static_cast<size_t>(n) * 4;
    h_step_ = std::make_unique<PinnedBuffer>(h_step_bytes_);
  }
  char* host = static_cast<char*>(h_step_->data());
  std::memset(host, 0, seq_at);
  std::vector<SequenceTokens> in(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) in[i] = {{&rows[i].token, 1}, rows[i].state};
  const std::vector<Seq> seqs = stage(in, n, reinterpret_cast<int32_t*>(host + ids_at), reinterpret_cast<float*>(host + tab_at));
  auto* table = reinterpret_cast<DecodeSeq*>(host + seq_at);  // [layer][sequences of type 0, then of type 1, ...; padding]
  std::vector<int> type_start, type_splits;
  if (grouped) {
    int i = 0;
    for (DType t : types) {
      type_start.push_back(i);
      int most = 1;
      for (int b = 0; b < B; ++b) {
        CudaSequence& s = *seqs[b].s;
        if (s.kv_type() != t) continue;
        const int splits = attention_decode_batch_splits(s.offset() + 1, opt_.decode_batch_split_keys);
        most = std::max(most, splits);
        for (int li = 0; li < NL; ++li) {
          const LayerPlan& l = s.plan().layers[li];
          DecodeSeq& e = table[static_cast<size_t>(li) * n + i];
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
    for (; i < n; ++i)  // padding rows: no split, so every block of theirs returns at once
      for (int li = 0; li < NL; ++li) {
        DecodeSeq& e = table[static_cast<size_t>(li) * n + i];
        e = DecodeSeq{};
        e.splits = 0;
        e.row = i;
      }
    // One type (the usual case): the launch covers the padding too and its split count is a power of
    // two, so that the step's shape, and its graph, change rarely.
    if (types.size() == 1) type_start.back() = n, type_splits[0] = std::bit_ceil(static_cast<unsigned>(type_splits[0]));
    b_seqs_.ensure(static_cast<size_t>(NL) * n * sizeof(DecodeSeq));
    b_partial_.ensure(static_cast<size_t>(n) * args_.num_attention_heads * kMaxAttnSplits * attn_partial_stride(D) * 4);
    const size_t counters = static_cast<size_t>(n) * args_.num_key_value_heads * sizeof(int);
    if (b_counters_.size() < counters) {  // the kernel leaves them zero
      b_counters_ = DeviceBuffer(counters);
      memset_async(ctx_, b_counters_.data(), counters);
    }
  }
  ids_.ensure(static_cast<size_t>(n) * 4);
  tables_.ensure(tab_bytes);
  attn_.ensure(static_cast<size_t>(n) * qd_ * 4);
  d_batch_ids_.ensure(static_cast<size_t>(n) * sizeof(int32_t));
  struct RowsGemv {
    bool& flag;
    ~RowsGemv() { flag = false; }
  } reset{quant_rows_ = rows_gemv};
  auto enqueue = [&] {
    copy_to_device_async(ctx_, ids_.data(), host + ids_at, static_cast<size_t>(n) * 4);
    copy_to_device_async(ctx_, tables_.data(), host + tab_at, tab_bytes);
    if (grouped) copy_to_device_async(ctx_, b_seqs_.data(), host + seq_at, out_at - seq_at);
    memset_async(ctx_, attn_.data(), static_cast<size_t>(n) * qd_ * 4);  // padding rows' attention: zeros
    run_layers(n, n, /*use_gemm=*/!rows_gemv, [&](int li) {
      if (!grouped) {  // shapes the grouped kernel does not take: each sequence's own launch
        for (int b = 0; b < B; ++b) attend_seq(li, seqs, b, n, /*use_gemm=*/!rows_gemv, /*fixed=*/false);
        return;
      }
      for (size_t ti = 0; ti < types.size(); ++ti) {
        const int first = type_start[ti], count = type_start[ti + 1] - first;
        AttnArgs a = layer_attention(li, *seqs[0].s, qkv_.as<float>(), /*n=*/1, nullptr, attn_.as<float>());
        a.seqs = b_seqs_.as<DecodeSeq>() + static_cast<size_t>(li) * n + first;
        a.batch = count;
        a.splits = type_splits[ti];
        a.partial = b_partial_.as<float>();
        a.counters = b_counters_.as<int>();
        a.rope_cos = tables_.as<float>();
        a.rope_sin = a.rope_cos + static_cast<size_t>(n) * half;
        a.rope_traditional = rope_.traditional();
        a.mma = opt_.decode_tensor_cores && attention_decode_tc(D, types[ti]);
        attention(ctx_, a, types[ti]);
      }
    });
    std::vector<int> at(n);
    for (int b = 0; b < n; ++b) at[b] = b;
    logits(at, /*use_gemm=*/!rows_gemv);
    // Greedy tokens of every row on the device.
    argmax(ctx_, logits_.as<float>(), V, d_batch_ids_.as<int32_t>(), n);
    copy_to_host_async(ctx_, host + out_at, d_batch_ids_.data(), static_cast<size_t>(n) * sizeof(int32_t));
  };
  // A step of one K/V type through the grouped kernel has a fixed shape for its (rows, splits): it
  // replays a graph captured at the second step of that shape (the first grows the buffers it uses).
  if (opt_.use_graph && grouped && types.size() == 1) {
    step_graphs_.run(ctx_, {n, type_splits[0], static_cast<int>(types[0])}, buffers_key(), enqueue);
  } else {
    enqueue();
  }
  for (const Seq& q : seqs) q.s->offset_ += 1;
  // Plain greedy rows take the step's argmax; rows that sample draw on the device (one token id back
  // each); rows that report log-probabilities copy their logits into pinned memory and sample on the host.
  std::vector<int> on_host;
  std::vector<int> device_k(B, -1);  // row b's place among the device's rows
  sampling_.clear();
  for (int b = 0; b < B; ++b) {
    const DecodeRow& r = rows[b];
    if (r.logprobs == nullptr && r.sampler->plain_greedy()) continue;
    if (r.logprobs == nullptr && opt_.device_sampling) {
      device_k[b] = sampling_.size();
      sampling_.add(*r.sampler, b);
    } else {
      on_host.push_back(b);
    }
  }
  sampling_.enqueue(ctx_, logits_.as<float>(), V);
  const size_t row_bytes = static_cast<size_t>(V) * sizeof(float);
  if (!on_host.empty() && (!h_logits_ || h_logits_bytes_ < on_host.size() * row_bytes)) {
    h_logits_bytes_ = std::max(on_host.size(), static_cast<size_t>(8)) * row_bytes;
    h_logits_ = std::make_unique<PinnedBuffer>(h_logits_bytes_);
  }
  float* hl = on_host.empty() ? nullptr : static_cast<float*>(h_logits_->data());
  for (size_t k = 0; k < on_host.size(); ++k)
    copy_to_host_async(ctx_, hl + k * V, logits_.as<float>() + static_cast<size_t>(on_host[k]) * V, row_bytes);
  ctx_.sync();
  const auto* ids = reinterpret_cast<const int32_t*>(host + out_at);
  for (int b = 0; b < B; ++b) {
    DecodeRow& r = rows[b];
    r.non_finite = false;
    if (device_k[b] >= 0) {
      r.next = sampling_.take(device_k[b]);
      r.non_finite = r.next < 0;
      continue;
    }
    if (std::find(on_host.begin(), on_host.end(), b) != on_host.end()) continue;
    r.next = ids[b];
    r.sampler->accept(r.next);
  }
  // Each row has its own sampler (RNG, penalties): rows sample in parallel, each as it would alone.
  parallel_for(static_cast<int64_t>(on_host.size()), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      DecodeRow& r = rows[on_host[k]];
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

uint64_t CudaModel::buffers_key() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the addresses a step's graph holds
  auto mix = [&](const void* p) {
    h ^= reinterpret_cast<uintptr_t>(p);
    h *= 1099511628211ull;
  };
  for (const DeviceBuffer* b : {&x_, &hn_, &hf_, &qkv_, &attn_, &gu_, &act_, &tables_, &ids_, &logits_, &deq_, &b_seqs_,
                                &b_partial_, &b_counters_, &d_batch_ids_})
    mix(b->data());
  mix(h_step_ ? h_step_->data() : nullptr);
  return h;
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
