# What `cmake --install` puts under the prefix: the CLI (bin/cpplm), the shared library
# (lib/libcpplm.so.0, exporting the public API only), include/cpplm, the CMake package
# (find_package(cpplm) -> cpplm::cpplm), a pkg-config file and the bundled model
# (share/cpplm/models), which the CLI finds relative to itself.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The public API with every internal layer linked in; only CPPLM_API symbols are exported.
add_library(cpplm_shared SHARED ${CMAKE_CURRENT_SOURCE_DIR}/cmake/empty.cpp)
target_link_libraries(cpplm_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,cpplm>")
target_include_directories(cpplm_shared INTERFACE $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                                  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(cpplm_shared PROPERTIES OUTPUT_NAME cpplm EXPORT_NAME cpplm VERSION ${PROJECT_VERSION}
                                              SOVERSION ${PROJECT_VERSION_MAJOR})
# Not part of `all` unless installing matters (top level): embedding projects build what they link.
if(NOT CPPLM_TOP_LEVEL)
  set_target_properties(cpplm_shared PROPERTIES EXCLUDE_FROM_ALL ON)
endif()

option(CPPLM_INSTALL "Add cpplm's install rules (default: when cpplm is the top-level project)" ${CPPLM_TOP_LEVEL})

# The build tree: the CLI finds the bundled model at <its folder>/share/cpplm/models like an install.
file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/share/cpplm/models")
if(NOT EXISTS "${CMAKE_CURRENT_BINARY_DIR}/share/cpplm/models/llama-6m-kjv-fortunes")
  file(CREATE_LINK "${CMAKE_CURRENT_SOURCE_DIR}/models/llama-6m-kjv-fortunes"
       "${CMAKE_CURRENT_BINARY_DIR}/share/cpplm/models/llama-6m-kjv-fortunes" SYMBOLIC)
endif()

if(NOT CPPLM_INSTALL)
  return()
endif()
install(TARGETS cpplm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS cpplm_shared EXPORT cpplmTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/cpplm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT cpplmTargets NAMESPACE cpplm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpplm)
configure_package_config_file(cmake/cpplmConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/cpplmConfig.cmake"
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpplm)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/cpplmConfigVersion.cmake" COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/cpplmConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/cpplmConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpplm)
# The .pc file finds the prefix from its own folder (relocatable; any libdir, lib/<multiarch> too).
file(RELATIVE_PATH CPPLM_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
configure_file(cmake/cpplm.pc.in "${CMAKE_CURRENT_BINARY_DIR}/cpplm.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/cpplm.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(DIRECTORY models/llama-6m-kjv-fortunes DESTINATION ${CMAKE_INSTALL_DATADIR}/cpplm/models)
install(FILES LICENSE NOTICE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/cpplm)
