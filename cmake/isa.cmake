# Per-ISA compilation of SIMD kernels: files named *_avx2.cpp / *_avx512.cpp get their flags; the run-time pick is in src/backends/cpu/cpu_features.cpp.
file(GLOB CPPLM_AVX2_SOURCES CONFIGURE_DEPENDS src/backends/cpu/*_avx2.cpp)
file(GLOB CPPLM_AVX512_SOURCES CONFIGURE_DEPENDS src/backends/cpu/*_avx512.cpp)
set_source_files_properties(${CPPLM_AVX2_SOURCES} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
set_source_files_properties(${CPPLM_AVX512_SOURCES} PROPERTIES COMPILE_OPTIONS
  "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mfma;-mf16c;-mavx2")
