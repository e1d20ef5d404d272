#!/bin/bash
# One call on the GPU machine, quantized decode: cpplm's int8 GEMV against its exact path (scripts/gpu_ab.sh,
# 1B and 8B shapes, q4 and q8), then cpplm against llama.cpp's CUDA build on random GGUFs of the 8B shape
# (Q4_0, Q8_0), alternated 3 rounds. Here first: scripts/gpu_stage.sh and
# ../shared/tools/llamacpp/llamacpp_cuda.sh pack .lcpp (a folder .git/info/exclude ignores); then run
# `scripts/gpu_quant_race.sh` there with carry [".gpux", ".lcpp"] (about 6 minutes: llama.cpp builds for
# 4 of them). Results under $OUT: ab.txt (medians), roof.txt (% of the copy floor), race.txt.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}; D=$PWD/.lcpp
mkdir -p .gpu /tmp/gg && tar xJf .gpux/bundle.tar.xz -C .gpu
export LD_LIBRARY_PATH="$PWD/.gpu/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > $OUT/gpu.txt
( for t in q4_0 q8_0; do python3 $D/hf_to_gguf.py random /tmp/gg/8b-$t.gguf --preset llama-3.1-8b --type $t \
    --tokenizer $D/tokenizer.json --tokenizer-config $D/tokenizer_config.json --seed 1234 >> $OUT/gguf.log 2>&1 & done; wait; touch /tmp/gg/.done ) &
echo "== A/B start $(date +%T)" >> $OUT/log.txt
DTYPES="q4 q8" SHAPES="llama-3.1-8b llama-3.2-1b" ROUNDS=3 ARGS="-p 512 -n 128 -r 3" OUT=$OUT scripts/gpu_ab.sh \
  "int8:CPPLM_EXACT_QUANT=0" "exact:CPPLM_EXACT_QUANT=1" > /dev/null 2>&1
.gpu/cpplm bench --device cuda --shape llama-3.1-8b,llama-3.2-1b --dtype q4 -p 512 -n 128 -r 3 > $OUT/roof.txt 2>&1
.gpu/cpplm bench --device cuda --shape llama-3.1-8b,llama-3.2-1b --dtype q8 -p 512 -n 128 -r 3 >> $OUT/roof.txt 2>&1
echo "== llama.cpp build start $(date +%T)" >> $OUT/log.txt
rm -rf /tmp/lsrc; mkdir -p /tmp/lsrc && tar -xJf $D/lcpp.tar.xz -C /tmp/lsrc && cd /tmp/lsrc
echo 'add_subdirectory(llama-bench)' > tools/CMakeLists.txt
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_APP=OFF > $OUT/lcpp_build.log 2>&1
timeout ${BUILD_S:-390} cmake --build build -j16 --target llama-bench >> $OUT/lcpp_build.log 2>&1 || { echo "llama.cpp build failed/timed out $(date +%T)" >> $OUT/log.txt; exit 0; }
cd - > /dev/null
echo "== race start $(date +%T)" >> $OUT/log.txt
while [ ! -f /tmp/gg/.done ]; do sleep 1; done
for r in 1 2 3; do
  for d in q4 q8; do
    echo "== cpplm 8B $d round $r" >> $OUT/race.txt
    .gpu/cpplm bench --device cuda --shape llama-3.1-8b --dtype $d -p 512 -n 128 -r 3 --no-bandwidth 2>&1 | grep "^| llama" >> $OUT/race.txt
    echo "== llama.cpp 8B ${d}_0 round $r" >> $OUT/race.txt
    timeout 100 /tmp/lsrc/build/bin/llama-bench -m /tmp/gg/8b-${d}_0.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 2>&1 | grep -E "^\| llama" >> $OUT/race.txt
  done
done
echo "== done $(date +%T)" >> $OUT/log.txt
