#pragma once
// The captures pcapgen knows how to make. Each scenario is a C++ function of a fixed seed: the same
// binary writes the same bytes every run (no wall clock, no unseeded randomness).

#include <functional>
#include <string>
#include <vector>

#include "capture_writer.h"

namespace sgsim {

struct Scenario {
  std::string name;  // what `pcapgen <scenario>` accepts; the file is <name>.pcap
  FileFormat format = FileFormat::Micro;
  std::string summary;
  std::function<Capture()> build;
};

const std::vector<Scenario>& scenarios();

}  // namespace sgsim
