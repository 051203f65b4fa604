# qtool_soname(VAR LIBRARY): the SONAME recorded in a shared library, the name a
# library opened at run time (util/shared_library.h) is loaded by, as a linked
# one would be. Fails the configuration when it cannot be read.
function(qtool_soname var library)
  get_filename_component(_real "${library}" REALPATH)
  execute_process(COMMAND ${CMAKE_OBJDUMP} -p "${_real}" OUTPUT_VARIABLE _out RESULT_VARIABLE _rc ERROR_QUIET)
  if(NOT _rc EQUAL 0 OR NOT _out MATCHES "SONAME +([^ \n]+)")
    message(FATAL_ERROR "cannot read the SONAME of ${library} (with ${CMAKE_OBJDUMP} -p)")
  endif()
  set(${var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()
