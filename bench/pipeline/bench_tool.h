#pragma once
// The main() of the bench command-line tools: an exception is a usage or I/O error, reported by name, exit 2.

#include <exception>
#include <iostream>

namespace sgsim {

inline int runTool(const char* name, int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace sgsim
