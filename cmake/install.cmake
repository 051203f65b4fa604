# `cmake --install build [--prefix P]`: libqtool (shared and static), the public
# headers, a CMake package (find_package(qtool) → qtool::qtool, the shared
# library; qtool::qtool_static) and pkg-config's qtool.pc. Component "library";
# the Python module installs as component "python" (python/CMakeLists.txt).
include(CMakePackageConfigHelpers)
set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/qtool)
install(TARGETS qtool_shared qtool_static EXPORT qtoolTargets COMPONENT library
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/qtool/translator.h ${CMAKE_SOURCE_DIR}/include/qtool/error.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qtool COMPONENT library)
install(EXPORT qtoolTargets NAMESPACE qtool:: DESTINATION ${_cmakedir} COMPONENT library)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/qtoolConfig.cmake.in
  ${CMAKE_BINARY_DIR}/qtoolConfig.cmake INSTALL_DESTINATION ${_cmakedir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/qtoolConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/qtoolConfig.cmake ${CMAKE_BINARY_DIR}/qtoolConfigVersion.cmake
  DESTINATION ${_cmakedir} COMPONENT library)

# pkg-config: -lqtool picks the shared library; --static adds what libqtool.a needs.
set(QTOOL_PC_LIBS_PRIVATE "")
foreach(lib ${_deps})
  string(APPEND QTOOL_PC_LIBS_PRIVATE " ${lib}")
endforeach()
string(APPEND QTOOL_PC_LIBS_PRIVATE " ${OpenMP_CXX_FLAGS} -lstdc++ -lm")
# The prefix relative to the file itself, so `cmake --install --prefix P` works anywhere.
file(RELATIVE_PATH QTOOL_PC_UP "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
string(REGEX REPLACE "/$" "" QTOOL_PC_UP "${QTOOL_PC_UP}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/qtool.pc.in ${CMAKE_BINARY_DIR}/qtool.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/qtool.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT library)
