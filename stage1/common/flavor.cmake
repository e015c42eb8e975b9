# ferry_stage1_flavor(NAME LIBRARY DESCRIPTOR [HELPERS "H;…"] run=FN stop=FN enter=FN gc=FN):
# assembles a stage1 directory ${CMAKE_BINARY_DIR}/libexec/ferry/stage1/NAME (stage1/ABI.md §4):
# the descriptor as stage1.json, bin/<entrypoint> for each ENTRY=FUNCTION (a static executable
# around the function, which LIBRARY defines: stage1/common/entrypoint_main.cpp), and copies of
# the helpers the flavor executes, ferry-init and ferry-stage2 unless HELPERS names fewer
# (copies, not links: the init finds ferry-stage2 beside its own executable). Sets
# FERRY_STAGE1_<NAME>_DIR (upper case) in the cache.
function(ferry_stage1_flavor name library descriptor)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "HELPERS" "")
  if(NOT DEFINED arg_HELPERS)
    set(arg_HELPERS ferry-init ferry-stage2)
  endif()
  string(TOUPPER ${name} upper)
  set(dir ${CMAKE_BINARY_DIR}/libexec/ferry/stage1/${name})
  set(FERRY_STAGE1_${upper}_DIR ${dir} CACHE INTERNAL "the built ${name} stage1")
  set(outputs ${dir}/stage1.json)
  set(targets)
  foreach(pair ${arg_UNPARSED_ARGUMENTS})
    string(REPLACE "=" ";" parts ${pair})
    list(GET parts 0 entry)
    list(GET parts 1 fn)
    set(target ferry_stage1_${name}_${entry})
    add_executable(${target} ${PROJECT_SOURCE_DIR}/stage1/common/entrypoint_main.cpp)
    target_compile_definitions(${target} PRIVATE FERRY_ENTRYPOINT=${entry} FERRY_ENTRYPOINT_FN=${fn})
    target_link_libraries(${target} PRIVATE ${library} ferry_warnings)
    # Static like ferry-init and ferry-stage2: run starts every pod, and a dynamic start (the
    # loader, libstdc++) would cost it about a millisecond.
    target_link_options(${target} PRIVATE -static)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${entry} RUNTIME_OUTPUT_DIRECTORY ${dir}/bin)
    list(APPEND targets ${target})
  endforeach()
  add_custom_command(OUTPUT ${dir}/stage1.json
    COMMAND ${CMAKE_COMMAND} -E copy ${descriptor} ${dir}/stage1.json
    DEPENDS ${descriptor})
  # A helper the flavor no longer ships must not linger in a build directory made before, nor in
  # its image (which packs the whole directory: packed again).
  foreach(helper ferry-init ferry-stage2)
    if(NOT helper IN_LIST arg_HELPERS AND EXISTS ${dir}/bin/${helper})
      file(REMOVE ${dir}/bin/${helper} ${FERRY_STAGE1_IMAGES_DIR}/stage1-${name}.aci)
    endif()
  endforeach()
  foreach(helper ${arg_HELPERS})
    if(TARGET ${helper})
      add_custom_command(OUTPUT ${dir}/bin/${helper}
        COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:${helper}> ${dir}/bin/${helper}
        DEPENDS ${helper})
      list(APPEND outputs ${dir}/bin/${helper})
    endif()
  endforeach()
  add_custom_target(ferry_stage1_${name}_dir ALL DEPENDS ${outputs} ${targets})
endfunction()
