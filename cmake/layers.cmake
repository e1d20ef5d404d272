# The layers of docs/ARCHITECTURE.md as CMake targets. Each layer compiles against an include view:
# a folder in the build tree holding links to just the src/ folders that layer may include, so a
# wrong-way #include fails to compile (tests/layers/include_check.cmake also checks every arrow).

set(CPPLM_SRC "${CMAKE_CURRENT_SOURCE_DIR}/src")
set(CPPLM_VIEWS "${CMAKE_CURRENT_BINARY_DIR}/include_views")

# cpplm_include_view(<target> <folder>...): <target> sees src/<folder> for each folder (e.g. core,
# backends/cpu) and nothing else of src/.
function(cpplm_include_view target)
  set(view "${CPPLM_VIEWS}/${target}")
  foreach(folder ${ARGN})
    get_filename_component(parent "${view}/${folder}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    if(NOT EXISTS "${view}/${folder}")
      file(CREATE_LINK "${CPPLM_SRC}/${folder}" "${view}/${folder}" SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} PRIVATE "${view}")
endfunction()

# cpplm_layer(<target> FOLDERS <src folders compiled> SEES <src folders visible> [LINKS ...]):
# a static library of the .cpp files of FOLDERS (not their subfolders).
function(cpplm_layer target)
  cmake_parse_arguments(L "" "" "FOLDERS;SEES;LINKS" ${ARGN})
  set(srcs)
  foreach(folder ${L_FOLDERS})
    file(GLOB s CONFIGURE_DEPENDS "${CPPLM_SRC}/${folder}/*.cpp")
    list(APPEND srcs ${s})
  endforeach()
  add_library(${target} STATIC ${srcs})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  cpplm_include_view(${target} ${L_SEES})
  target_link_libraries(${target} PUBLIC ${L_LINKS})
endfunction()

cpplm_layer(cpplm_core FOLDERS core SEES core LINKS nlohmann_json::nlohmann_json Threads::Threads)
cpplm_layer(cpplm_io FOLDERS io SEES core io LINKS cpplm_core nlohmann_json::nlohmann_json)
cpplm_layer(cpplm_jinja FOLDERS tokenizer/jinja SEES core tokenizer LINKS cpplm_core nlohmann_json::nlohmann_json PkgConfig::UTF8PROC)
cpplm_layer(cpplm_tokenizer FOLDERS tokenizer SEES core tokenizer
  LINKS cpplm_jinja PkgConfig::PCRE2 PkgConfig::UTF8PROC PkgConfig::SENTENCEPIECE)
cpplm_layer(cpplm_sampling FOLDERS sampling SEES core sampling LINKS cpplm_core)
cpplm_layer(cpplm_cpu FOLDERS backends/cpu SEES core backends/cpu LINKS cpplm_core)
cpplm_layer(cpplm_ops FOLDERS ops SEES core backends/cpu ops LINKS cpplm_cpu)
cpplm_layer(cpplm_model FOLDERS model SEES core io ops model LINKS cpplm_ops cpplm_io)
cpplm_layer(cpplm_runtime FOLDERS runtime SEES core io ops model sampling runtime LINKS cpplm_model cpplm_sampling)

# Per-ISA compilation of SIMD kernels: files named *_avx2.cpp / *_avx512.cpp get their flags; the
# run-time pick is in src/backends/cpu/cpu_features.cpp.
file(GLOB CPPLM_AVX2_SOURCES CONFIGURE_DEPENDS ${CPPLM_SRC}/backends/cpu/*_avx2.cpp)
file(GLOB CPPLM_AVX512_SOURCES CONFIGURE_DEPENDS ${CPPLM_SRC}/backends/cpu/*_avx512.cpp)
set_source_files_properties(${CPPLM_AVX2_SOURCES} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
set_source_files_properties(${CPPLM_AVX512_SOURCES} PROPERTIES COMPILE_OPTIONS
  "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mfma;-mf16c;-mavx2;-mamx-tile;-mamx-int8")

# ggml's dequantization is reproduced bit for bit only without fused multiply-adds (ggml's reference rounds each product).
set_source_files_properties(${CPPLM_SRC}/backends/cpu/ggml_dequant.cpp PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
