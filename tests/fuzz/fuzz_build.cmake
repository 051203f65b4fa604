# Included by the top-level CMakeLists.txt when QTOOL_FUZZ is on: the libraries
# the parsers live in, every file instrumented for libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer (any UB aborts), then the harnesses. Nothing
# else is built: the runtime, CLI and their dependencies play no part.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "QTOOL_FUZZ needs clang: cmake -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)

find_package(nlohmann_json REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
include_directories(${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/include)

add_subdirectory(util)
add_subdirectory(eval)
add_subdirectory(model)
add_subdirectory(checkpoint)
add_subdirectory(tests/fuzz)
