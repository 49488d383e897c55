#pragma once
// The captures pcapgen knows how to make. Each scenario is a C++ function of a fixed seed: the same
// binary writes the same bytes every run (no wall clock, no unseeded randomness).

#include <functional>
#include <string>
#include <vector>

#include "capture_writer.h"

namespace sgsim {

struct Scenario {
  std::string name;  // what `pcapgen <scenario>` accepts; the file is <name>.pcap (<name>.pcapng with `pcapng`)
  FileFormat format = FileFormat::Micro;
  std::string summary;
  std::function<Capture()> build;
  // Set for a pcapng sample, written block by block (tools/pcapng_build.h) instead of from one Capture.
  std::function<Bytes()> pcapng = nullptr;
};

const std::vector<Scenario>& scenarios();

}  // namespace sgsim
