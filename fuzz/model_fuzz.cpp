// libFuzzer target for the model loader: any bytes as a model document, with and without a --host address,
// must load or be refused with an error that names its place (the source name leads `where`) and says why.
// A model that loads must survive what every command does with it next: what the writer makes of it (the
// document patched, a bare document staying bare) loads back, with the same --host, to an equal model and is a
// fixed point of the writer (model_json.h promises both), the compiled
// Network builds and answers a few packets, and `show` renders it in text and in valid JSON.

#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "sgsim/core/ip.h"
#include "sgsim/model/model_json.h"
#include "sgsim/report/show.h"
#include "sgsim/verdict/network.h"

namespace {

constexpr std::string_view kSource = "fuzz.json";

void check(bool ok) {
  if (!ok) std::abort();
}

void checkError(const sgsim::Error& e) {
  check(e.where.starts_with(kSource));  // the place: the source, then a JSON path or line:column
  check(!e.message.empty());
}

// A few packets in both directions at every ENI: a rule's boxes must be consistent with its ENI's table.
void decideSome(const sgsim::Network& net) {
  const sgsim::IpAddr peers[] = {*sgsim::IpAddr::parse("10.0.0.1"), *sgsim::IpAddr::parse("203.0.113.7"),
                                 *sgsim::IpAddr::parse("2001:db8::1")};
  for (std::size_t e = 0; e < net.eniCount(); ++e) {
    for (const sgsim::IpAddr& own : net.eni(e).addresses) {
      for (const sgsim::IpAddr& peer : peers) {
        if (peer.family != own.family) continue;
        for (const auto dir : {sgsim::Direction::Ingress, sgsim::Direction::Egress}) {
          sgsim::PacketFields p;
          p.proto = 6;
          p.src = dir == sgsim::Direction::Ingress ? peer : own;
          p.dst = dir == sgsim::Direction::Ingress ? own : peer;
          p.sport = 40000;
          p.dport = 22;
          const sgsim::Decision d = net.decide(e, dir, p, net.eniOf(peer));
          if (d.reason == sgsim::Reason::Rule) {
            check(d.ruleRef >= 0 && static_cast<std::size_t>(d.ruleRef) < net.rules(e, dir).size());
          }
          if (d.reason == sgsim::Reason::IntraGroup) {
            check(d.intraGroup >= 0 && static_cast<std::size_t>(d.intraGroup) < net.model().groups.size());
          }
          check(d.verdict != sgsim::Verdict::None);
        }
      }
    }
  }
}

void loaded(const sgsim::Model& model, const std::optional<sgsim::IpAddr>& host) {
  const std::string written = sgsim::serializeModel(model);
  auto back = sgsim::parseModel(written, host, "written.json");
  if (!back) {
    std::fprintf(stderr, "written model does not load: %s\n%s\n", back.error().toString().c_str(), written.c_str());
    std::abort();
  }
  if (!(*back == model)) {
    std::fprintf(stderr, "written model loads to a different model:\n%s\n", written.c_str());
    std::abort();
  }
  check(sgsim::serializeModel(*back) == written);

  const sgsim::Network net(model);
  check(net.eniCount() == model.enis.size());
  decideSome(net);

  auto text = sgsim::renderShowText(model, std::nullopt);
  check(text.ok());
  auto json = sgsim::renderShowJson(model, std::nullopt);
  check(json.ok());
  boost::system::error_code ec;
  (void)boost::json::parse(*json, ec);
  check(!ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const std::optional<sgsim::IpAddr> hosts[] = {std::nullopt, sgsim::IpAddr::parse("10.0.0.9"),
                                                       sgsim::IpAddr::parse("2001:db8::9")};
  for (const auto& host : hosts) {
    auto model = sgsim::parseModel(text, host, kSource);
    if (model) {
      loaded(*model, host);
    } else {
      checkError(model.error());
    }
  }
  return 0;
}
