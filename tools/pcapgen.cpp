// pcapgen: writes the project's sample captures (pcaps/README.md lists them).
//   pcapgen <scenario> <out.pcap>   one scenario
//   pcapgen --all <dir>             every scenario as <dir>/<scenario>.pcap (.pcapng for the pcapng samples)
//   pcapgen --list                  scenario names and what they hold
// Output is a function of the scenario alone: same bytes on every run.

#include <cstdio>
#include <cstring>
#include <string>

#include "scenarios.h"

namespace {

int writeOne(const sgsim::Scenario& s, const std::string& path) {
  if (s.pcapng) {
    const auto bytes = s.pcapng();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "pcapgen: %s: cannot write\n", path.c_str());
      return 1;
    }
    std::printf("%-26s %6zu bytes   %s\n", s.name.c_str(), bytes.size(), path.c_str());
    return 0;
  }
  const sgsim::Capture cap = s.build();
  const auto r = cap.write(path, s.format);
  if (!r) {
    std::fprintf(stderr, "pcapgen: %s\n", r.error().toString().c_str());
    return 1;
  }
  std::printf("%-26s %6zu frames  %s\n", s.name.c_str(), cap.size(), path.c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: pcapgen <scenario> <out.pcap> | pcapgen --all <dir> | pcapgen --list\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const auto& s : sgsim::scenarios()) std::printf("%-26s %s\n", s.name.c_str(), s.summary.c_str());
    return 0;
  }
  if (argc != 3) return usage();
  if (std::strcmp(argv[1], "--all") == 0) {
    int rc = 0;
    for (const auto& s : sgsim::scenarios())
      rc |= writeOne(s, std::string(argv[2]) + "/" + s.name + (s.pcapng ? ".pcapng" : ".pcap"));
    return rc;
  }
  for (const auto& s : sgsim::scenarios()) {
    if (s.name == argv[1]) return writeOne(s, argv[2]);
  }
  std::fprintf(stderr, "pcapgen: unknown scenario '%s' (see --list)\n", argv[1]);
  return 2;
}
