// classbench2sgsim: turn a ClassBench filter set into an sgsim model and a ClassBench header trace into a
// pcap, so that the standard packet-classification benchmarks can be replayed through the whole simulator.
//
//   classbench2sgsim --rules fw1_10k --trace fw1_10k_trace --model fw1.json --pcap fw1.pcap [--repeat N |
//                    --count N] [--flows] [--direction ingress|egress] [--policy mixed|accept|drop]
//
// The mapping (also in docs/PERFORMANCE.md):
// - One basic security group `sg-classbench` holding every rule, on one ENI `eni-classbench`.
// - Order. ClassBench is first match in file order; sgsim evaluates priority ascending, drop before accept at
//   equal priority, then rule order. Rule i of N gets Priority 1 + floor(100·i/N) (100 bands of consecutive
//   rules). With --policy mixed (default) the first half of each band is drop and the rest accept (an
//   odd-sized band rounds the drops up when it starts at an even index, down otherwise); with accept or
//   drop every rule has that policy. In every mode sgsim's order is exactly the file order: bands ascend,
//   and inside a band the drops come first and each part keeps file order.
// - Direction. ingress (default): the ENI is the destination side: SA becomes the peer (SourceCidrIp), DA
//   the five-tuple narrowing (DestCidrIp, omitted for /0). egress: DA is the peer (DestCidrIp), SA the
//   narrowing (SourceCidrIp). DP is PortRange, SP SourcePortRange (omitted when it is the full range).
// - Protocols. 0x06 → TCP, 0x11 → UDP, 0x01 → ICMP, 0x2f → GRE. Any protocol (0x00/0x00) → ALL when both
//   port ranges are full, otherwise two rules, TCP and UDP, with the ports (only TCP and UDP have ports in
//   sgsim). ICMP, GRE and ALL take "-1/-1": a port restriction on them is dropped (counted). Any other
//   protocol number (ESP 50, AH 51, EIGRP 88 …) cannot be written as an sgsim rule: the rule is skipped
//   (counted), so such packets fall through to later rules or the default.
// - Port 0 is not a valid TCP/UDP port in sgsim rules (1..65535): a range starting at 0 starts at 1, and the
//   pcap carries port 1 where the trace says 0, so rule and packet move together.
// - ENI addresses. A packet is evaluated at the ENI only when it touches one of its addresses: with a trace,
//   the ENI owns every distinct local-side address of the trace (DA for ingress, SA for egress); without
//   one, --host (default 10.0.0.1). --host adds its address to the trace's. The group's InnerAccessPolicy
//   is Drop, so that a header whose remote address is also one of the ENI's (ClassBench corners such as
//   0.0.0.0 occur on both sides) is decided by the rules, not accepted as intra-group traffic; with
//   --direction egress one extra ingress rule (ALL, 0.0.0.0/0, accept, priority 100, `sgr-cb-ingress-all`)
//   lets such a packet's egress check alone decide it. Quotas.RulesPerEni is raised to the rules written.
// - The pcap. Ethernet/IPv4, one packet per header (TCP SYN, UDP, ICMP echo request with the source port as
//   identifier, other protocols 8 zero bytes of payload), 1 µs apart from 2001-09-09. --repeat N writes the
//   trace N times, --count N writes N packets cycling through the trace. --flows spaces packets 1,000 s apart,
//   longer than every connection-tracking timeout (TCP 910 s), so that every packet starts a new flow and
//   is decided by the rules, while the headers stay those of the trace.

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "classbench2sgsim_convert.h"
#include "sgsim/classify/classbench.h"

namespace po = boost::program_options;

namespace sgsim {
namespace {

// Little-endian pcap (microsecond timestamps, LINKTYPE_ETHERNET), written by hand: the converter needs no
// capture library.
class PcapFile {
 public:
  explicit PcapFile(const std::string& path) : out_(path, std::ios::binary) {
    put32(0xa1b2c3d4u);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(65535);
    put32(1);
  }
  bool ok() const { return static_cast<bool>(out_); }
  void write(std::uint32_t sec, std::uint32_t usec, const std::vector<std::uint8_t>& frame) {
    put32(sec);
    put32(usec);
    put32(static_cast<std::uint32_t>(frame.size()));
    put32(static_cast<std::uint32_t>(frame.size()));
    out_.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
  }

 private:
  void put16(std::uint16_t v) { out_.write(reinterpret_cast<const char*>(&v), 2); }
  void put32(std::uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), 4); }
  std::ofstream out_;
};

int run(int argc, char** argv) {
  std::string rulesPath, tracePath, modelPath, pcapPath, direction, policy, host;
  std::uint64_t repeat = 1, count = 0;
  po::options_description desc("classbench2sgsim: ClassBench rules → sgsim model, trace → pcap");
  desc.add_options()("help,h", "this help")("rules", po::value(&rulesPath), "ClassBench filter set")(
      "trace", po::value(&tracePath), "ClassBench header trace")("model", po::value(&modelPath),
                                                                 "write the sgsim model JSON here")(
      "pcap", po::value(&pcapPath), "write the trace as a pcap here (needs --trace)")(
      "direction", po::value(&direction)->default_value("ingress"), "ingress | egress")(
      "policy", po::value(&policy)->default_value("mixed"), "mixed | accept | drop")(
      "host", po::value(&host), "ENI address when no trace is given (default 10.0.0.1)")(
      "repeat", po::value(&repeat), "write the trace this many times")(
      "count", po::value(&count), "write this many packets, cycling through the trace")(
      "flows", "space packets 1000 s apart so that every packet starts a new flow");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "classbench2sgsim: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help") || (modelPath.empty() && pcapPath.empty())) {
    std::cout << desc << "\nSee the top of tools/classbench2sgsim.cpp or docs/PERFORMANCE.md for the mapping.\n";
    return vm.count("help") ? 0 : 2;
  }
  if ((direction != "ingress" && direction != "egress") ||
      (policy != "mixed" && policy != "accept" && policy != "drop") || repeat == 0 ||
      (!pcapPath.empty() && tracePath.empty()) || (!modelPath.empty() && rulesPath.empty())) {
    std::cerr << "classbench2sgsim: bad arguments (--help)\n";
    return 2;
  }
  const bool ingress = direction == "ingress";

  std::vector<ClassifyKey> trace;
  if (!tracePath.empty()) {
    auto t = loadClassBenchTrace(tracePath);
    if (!t) {
      std::cerr << "classbench2sgsim: " << t.error().toString() << "\n";
      return 1;
    }
    trace = std::move(*t);
    if (trace.empty()) {
      std::cerr << "classbench2sgsim: " << tracePath << ": no headers\n";
      return 1;
    }
  }

  if (!modelPath.empty()) {
    auto rules = loadClassBenchRules(rulesPath);
    if (!rules) {
      std::cerr << "classbench2sgsim: " << rules.error().toString() << "\n";
      return 1;
    }
    if (rules->empty()) {
      std::cerr << "classbench2sgsim: " << rulesPath << ": no rules\n";
      return 1;
    }
    std::vector<IpAddr> addresses = classBenchEniAddresses(trace, ingress);
    if (!host.empty() || addresses.empty()) {
      auto h = IpAddr::parse(host.empty() ? "10.0.0.1" : host);
      if (!h || !h->isV4()) {
        std::cerr << "classbench2sgsim: --host must be an IPv4 address\n";
        return 2;
      }
      if (std::find(addresses.begin(), addresses.end(), *h) == addresses.end()) addresses.insert(addresses.begin(), *h);
    }
    ConvertOptions options;
    options.ingress = ingress;
    options.policy = policy == "mixed"  ? ConvertPolicy::Mixed
                     : policy == "drop" ? ConvertPolicy::Drop
                                        : ConvertPolicy::Accept;
    ConvertStats stats;
    const boost::json::object doc = classBenchModel(*rules, addresses, options, stats);
    std::ofstream out(modelPath);
    out << boost::json::serialize(doc) << "\n";
    if (!out) {
      std::cerr << "classbench2sgsim: cannot write " << modelPath << "\n";
      return 1;
    }
    std::fprintf(stderr,
                 "%zu ClassBench rules -> %zu sgsim rules (%zu any-protocol rules with ports split into TCP+UDP, "
                 "%zu skipped: protocol not expressible, %zu lost a port restriction on ICMP/GRE/ALL); ENI with %zu "
                 "addresses\n",
                 rules->size(), stats.written, stats.split, stats.skippedProtocol, stats.droppedPorts,
                 addresses.size());
  }

  if (!pcapPath.empty()) {
    const std::uint64_t total = count != 0 ? count : trace.size() * repeat;
    const std::uint64_t step = vm.count("flows") ? 1000ull * 1000000ull : 1ull;  // microseconds
    const std::uint64_t start = 1000000000ull * 1000000ull;
    if ((start + total * step) / 1000000ull > 0xFFFFFFFFull) {
      std::cerr << "classbench2sgsim: " << total << " packets 1000 s apart overflow pcap's 32-bit seconds\n";
      return 2;
    }
    PcapFile pcap(pcapPath);
    for (std::uint64_t i = 0; i < total && pcap.ok(); ++i) {
      const std::uint64_t us = start + i * step;
      pcap.write(static_cast<std::uint32_t>(us / 1000000), static_cast<std::uint32_t>(us % 1000000),
                 classBenchFrame(trace[i % trace.size()], static_cast<std::uint16_t>(i)));
    }
    if (!pcap.ok()) {
      std::cerr << "classbench2sgsim: cannot write " << pcapPath << "\n";
      return 1;
    }
    std::fprintf(stderr, "%llu packets written to %s\n", static_cast<unsigned long long>(total), pcapPath.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) { return sgsim::run(argc, argv); }
