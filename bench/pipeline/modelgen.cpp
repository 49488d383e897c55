// modelgen: writes the model of model_mix.h (one ENI with N rules shaped like a large real security group).
//
//   modelgen --rules 1000 --host 10.0.0.1 [--seed 1] out.json

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "bench_tool.h"
#include "model_mix.h"

namespace sgsim {
namespace {

int run(int argc, char** argv) {
  std::size_t rules = 1000;
  std::string host = "10.0.0.1", out;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rules")
      rules = std::stoul(value());
    else if (a == "--host")
      host = value();
    else if (a == "--seed")
      seed = std::stoull(value());
    else if (a == "--help") {
      std::cout << "modelgen --rules N --host IP [--seed S] out.json\n";
      return 0;
    } else if (!a.empty() && a[0] != '-' && out.empty())
      out = a;
    else
      throw std::runtime_error("unknown argument " + a);
  }
  if (out.empty()) throw std::runtime_error("no output file (modelgen --help)");
  if (!IpAddr::parse(host) || !IpAddr::parse(host)->isV4()) throw std::runtime_error("--host: not an IPv4 address");

  std::ofstream f(out);
  f << boost::json::serialize(benchModel(rules, *IpAddr::parse(host), seed)) << "\n";
  if (!f) throw std::runtime_error(out + ": cannot write");
  return 0;
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) { return sgsim::runTool("modelgen", sgsim::run, argc, argv); }
