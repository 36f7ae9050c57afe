# Unity builds: a target's files compile in batches, each batch one translation unit, so the
# templates of the standard library, fmt, nlohmann-json and CLI11 that every file instantiates
# are compiled once per batch instead of once per file. On the 2-core CI machine this is most
# of a clean build's time (the 20 command files of the program took 274 s of CPU under the
# sanitizers one by one, 56 s in two batches). Files with their own compile options (the
# kernels for each instruction set) are left out by CMake and compile alone.
# -DLIMARP_UNITY=OFF compiles file by file: quicker rebuilds after editing one file, and with
# -DLIMARP_PCH=OFF the check that every file includes what it uses.
option(LIMARP_UNITY "Compile each target's sources in batches (faster clean builds)" ON)

function(limarp_unity target)
  if(LIMARP_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()
