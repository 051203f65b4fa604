# Cross build for 64-bit ARM Linux with Debian's cross compiler and multiarch
# arm64 libraries (dpkg --add-architecture arm64; scripts/test-arm.sh installs
# them). Tests run under qemu user-mode emulation: ctest prefixes every test
# command with CMAKE_CROSSCOMPILING_EMULATOR. QTOOL_QEMU_CPU picks the emulated
# CPU (max: ARMv8.x with dot product; cortex-a72: ARMv8.0, none).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu, headers and
# architecture-independent CMake packages (Eigen, nlohmann/json, CLI11, doctest)
# under /usr; never pick up x86-64 libraries or programs' packages by accident.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# SentencePiece's arm64 packages cannot be installed beside the amd64 ones the
# x86 build needs (they are not Multi-Arch: same), so scripts/test-arm.sh unpacks
# them into a private root, QTOOL_ARM64_ROOT; pkg-config resolves paths inside it.
# (try_compile re-reads this file: pass the root on, or it would reset the paths.)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES QTOOL_ARM64_ROOT)
if(QTOOL_ARM64_ROOT)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${QTOOL_ARM64_ROOT}")
  set(ENV{PKG_CONFIG_LIBDIR} "${QTOOL_ARM64_ROOT}/usr/lib/aarch64-linux-gnu/pkgconfig")
endif()

find_program(QTOOL_QEMU NAMES qemu-aarch64-static qemu-aarch64)
if(QTOOL_QEMU)
  # The dynamic loader, libc, libstdc++ and libgomp are Debian's multiarch arm64
  # packages (/lib/ld-linux-aarch64.so.1); the cross toolchain's copies under
  # /usr/aarch64-linux-gnu (qemu -L) hang in libgomp's thread start-up. "max" has every extension qemu emulates (dot product included); Cortex-A72
  # is ARMv8.0, without dot product: tests/runtime runs the kernels on both.
  set(CMAKE_CROSSCOMPILING_EMULATOR "${QTOOL_QEMU};-cpu;max")
  set(QTOOL_EMULATOR_NO_DOTPROD "${QTOOL_QEMU};-cpu;cortex-a72")
endif()
