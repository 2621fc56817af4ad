# `cmake --install build --prefix DIR`: the library, its headers, a CMake package and a pkg-config
# file, so that another project can use the framework as a library:
#
#   find_package(cyclegan_cpp REQUIRED)                       # -DCMAKE_PREFIX_PATH=DIR
#   target_link_libraries(app PRIVATE cyclegan_cpp::cyclegan_cpp)
#
# or `c++ app.cpp $(pkg-config --cflags --libs cyclegan_cpp)` with PKG_CONFIG_PATH=DIR/lib/pkgconfig.
# libcg.a is static: whatever this build linked it with (OpenMP, libpng, libjpeg, libtiff, zlib, and when
# present CUDA, cuDNN, NCCL, MPI) comes along as a dependency. examples/CMakeLists.txt is such an
# outside project, and tests/test_install.sh builds it against an installed tree.
# Included at the end of the top-level CMakeLists.txt, after the target `cg` exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CG_PACKAGE cyclegan_cpp)
set(CG_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/${CG_PACKAGE})  # #include "tensor/tensor.h" from here
set(CG_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/${CG_PACKAGE})

# The name users write, inside this build too (examples/ links it the same way as outside).
add_library(${CG_PACKAGE}::${CG_PACKAGE} ALIAS cg)
set_target_properties(cg PROPERTIES EXPORT_NAME ${CG_PACKAGE})
target_compile_features(cg PUBLIC cxx_std_20)  # the headers need C++20: users get it with the target
if(CYCLEGAN_SANITIZE)
  # this libcg.a calls the sanitizers' runtime: a program linking it needs it too
  target_link_options(cg INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
endif()

# What `cg` shows its users names places of this build: the source tree as include directory (the
# installed headers are under CG_INSTALL_INCLUDEDIR instead, install(TARGETS ... INCLUDES) below),
# and cuDNN and NCCL by absolute path (they ship no CMake package). The installed package gets
# imported targets for those two, which its config finds again, so it does not depend on where they
# were at build time.
get_target_property(_cg_includes cg INTERFACE_INCLUDE_DIRECTORIES)
set(_cg_installed_includes "")
foreach(dir IN LISTS _cg_includes)
  if(dir STREQUAL PROJECT_SOURCE_DIR)
    list(APPEND _cg_installed_includes "$<BUILD_INTERFACE:${dir}>")
  else()
    list(APPEND _cg_installed_includes "${dir}")
  endif()
endforeach()
set_target_properties(cg PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_cg_installed_includes}")
get_target_property(_cg_links cg INTERFACE_LINK_LIBRARIES)
set(_cg_installed_links "")
foreach(lib IN LISTS _cg_links)
  if(CG_HAVE_CUDA AND lib STREQUAL CUDNN_LIBRARY)
    list(APPEND _cg_installed_links "$<BUILD_INTERFACE:${lib}>" "$<INSTALL_INTERFACE:${CG_PACKAGE}::cudnn>")
  elseif(CG_HAVE_NCCL AND lib STREQUAL NCCL_LIBRARY)
    list(APPEND _cg_installed_links "$<BUILD_INTERFACE:${lib}>" "$<INSTALL_INTERFACE:${CG_PACKAGE}::nccl>")
  else()
    list(APPEND _cg_installed_links "${lib}")
  endif()
endforeach()
set_target_properties(cg PROPERTIES INTERFACE_LINK_LIBRARIES "${_cg_installed_links}")

install(TARGETS cg EXPORT ${CG_PACKAGE}Targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CG_INSTALL_INCLUDEDIR})

# Headers: every *.h and *.inc of the folders that hold the library's sources, keeping their paths
# relative to the repository root. Globbed, so a folder renamed or added needs no change here.
set(_cg_header_dirs cuda)  # cuda/kernels.h is included by backend/dispatch.h in every build
get_target_property(_cg_sources cg SOURCES)
foreach(src IN LISTS _cg_sources)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${src})
  get_filename_component(dir ${rel} DIRECTORY)
  list(APPEND _cg_header_dirs ${dir})
endforeach()
list(REMOVE_DUPLICATES _cg_header_dirs)
foreach(dir IN LISTS _cg_header_dirs)
  file(GLOB _cg_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.h ${PROJECT_SOURCE_DIR}/${dir}/*.inc)
  install(FILES ${_cg_headers} DESTINATION ${CG_INSTALL_INCLUDEDIR}/${dir})
endforeach()

install(EXPORT ${CG_PACKAGE}Targets NAMESPACE ${CG_PACKAGE}:: DESTINATION ${CG_INSTALL_CMAKEDIR})

# What the config must find again: the backends of this build, with where they were as a hint.
set(CG_CUDA_ROOT "")
set(CG_CUDNN_DIR "")
set(CG_NCCL_DIR "")
if(CG_HAVE_CUDA)
  get_filename_component(CG_CUDA_ROOT ${CUDAToolkit_BIN_DIR} DIRECTORY)
  get_filename_component(CG_CUDNN_DIR ${CUDNN_LIBRARY} DIRECTORY)
endif()
if(CG_HAVE_NCCL)
  get_filename_component(CG_NCCL_DIR ${NCCL_LIBRARY} DIRECTORY)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/${CG_PACKAGE}Config.cmake.in
                              ${PROJECT_BINARY_DIR}/${CG_PACKAGE}Config.cmake
                              INSTALL_DESTINATION ${CG_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/${CG_PACKAGE}ConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/${CG_PACKAGE}Config.cmake ${PROJECT_BINARY_DIR}/${CG_PACKAGE}ConfigVersion.cmake
        DESTINATION ${CG_INSTALL_CMAKEDIR})

# pkg-config: the same link line spelled out (the file finds its prefix from where it lies).
set(CG_PC_REQUIRES "libpng libjpeg libtiff-4 zlib nlohmann_json CLI11")
set(CG_PC_CFLAGS "-std=c++20 ${OpenMP_CXX_FLAGS}")
foreach(flag CG_HAVE_CUDA CG_HAVE_MPI)  # the library's public definitions, 1 or 0
  if(${flag})
    string(APPEND CG_PC_CFLAGS " -D${flag}=1")
  else()
    string(APPEND CG_PC_CFLAGS " -D${flag}=0")
  endif()
endforeach()
set(CG_PC_LIBS "${OpenMP_CXX_FLAGS} -pthread")
if(CG_HAVE_CUDA)
  string(APPEND CG_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -Wl,-rpath,${CUDAToolkit_LIBRARY_DIR} -lcudart")
  string(APPEND CG_PC_LIBS " -L${CG_CUDNN_DIR} -Wl,-rpath,${CG_CUDNN_DIR} -lcudnn")
endif()
if(CG_HAVE_NCCL)
  string(APPEND CG_PC_LIBS " -L${CG_NCCL_DIR} -Wl,-rpath,${CG_NCCL_DIR} -lnccl")
endif()
if(CG_HAVE_MPI)
  foreach(d IN LISTS MPI_CXX_INCLUDE_DIRS)
    string(APPEND CG_PC_CFLAGS " -I${d}")
  endforeach()
  list(JOIN MPI_CXX_LIBRARIES " " _cg_mpi_libs)
  string(APPEND CG_PC_LIBS " ${_cg_mpi_libs}")
endif()
if(CYCLEGAN_SANITIZE)
  string(APPEND CG_PC_CFLAGS " -fsanitize=address,undefined")
  string(APPEND CG_PC_LIBS " -fsanitize=address,undefined")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/${CG_PACKAGE}.pc.in ${PROJECT_BINARY_DIR}/${CG_PACKAGE}.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/${CG_PACKAGE}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
