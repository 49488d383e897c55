#include "sgsim/report/whatif_report.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sgsim {
namespace {

namespace json = boost::json;

// Two captures; a flow opened in the second, and one whose opener the first does not hold (issue 10).
WhatIfReport twoCaptures() {
  WhatIfReport r;
  r.captures = {"a.pcap", "b.pcap"};
  r.stats.setCaptures(r.captures);
  Frame f;
  f.tsNs = 1'000'000'000;
  f.fileIndex = 0;
  f.wireLen = 60;
  PacketKey k;
  PacketVerdict v;
  r.stats.add(f, k, v);
  f.tsNs = 5'000'000'000;
  f.fileIndex = 1;
  r.stats.add(f, k, v);
  r.originNs = 1'000'000'000;

  ChangedFlow seen;
  seen.proto = 6;
  seen.src = *IpAddr::parse("203.0.113.10");
  seen.sport = 47553;
  seen.dst = *IpAddr::parse("10.0.0.5");
  seen.dport = 22;
  seen.openerSeen = true;
  seen.direction = Direction::Ingress;
  seen.packets = 3;
  seen.bytes = 300;
  seen.firstNs = seen.lastNs = 5'000'000'000;
  seen.firstFrame = 1;
  seen.firstFile = 1;
  seen.before = SideDecision{Verdict::Accept, Reason::Established, "eni-web", Direction::Egress, "", ""};
  seen.after = SideDecision{Verdict::Drop, Reason::Blocked, "eni-web", Direction::Egress, "", ""};
  ChangedFlow unknown = seen;
  unknown.src = *IpAddr::parse("10.0.0.5");
  unknown.sport = 22;
  unknown.dst = *IpAddr::parse("203.0.113.11");
  unknown.dport = 40000;
  unknown.openerSeen = false;
  unknown.direction = Direction::Egress;
  unknown.packets = 1;
  unknown.bytes = 100;
  unknown.firstFile = 0;
  unknown.firstNs = unknown.lastNs = 1'000'000'000;
  r.flows = {seen, unknown};
  r.totals.frames = 2;
  r.totals.cut = 2;
  return r;
}

TEST(WhatIfReport, TextShowsFlowsFromTheOpenerAndMarksUnknownOpeners) {
  const std::string t = renderWhatIfText(twoCaptures());
  EXPECT_NE(t.find("What-if over 2 captures: 2 frames\n  a.pcap: 1 frame"), std::string::npos) << t;
  EXPECT_NE(t.find("  1. cut    tcp 203.0.113.10:47553 > 10.0.0.5:22\n"
                   "     eni-web ingress, 3 packets, 300 B, +4.000s .. +4.000s (first frame 1 of b.pcap)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  2. cut    tcp 10.0.0.5:22 > 203.0.113.11:40000 (opener unknown)\n"
                   "     eni-web egress, 1 packets, 100 B, +0.000s .. +0.000s (first frame 1 of a.pcap)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("1 flow has no packet that opens it in the capture"), std::string::npos) << t;
}

TEST(WhatIfReport, CsvNamesEachFlowsCaptureAndOpener) {
  const std::string c = renderWhatIfCsv(twoCaptures());
  const std::string header = c.substr(0, c.find('\n'));
  const std::string added = ",after_eni,eni,direction,opener,capture";  // new columns go last
  ASSERT_GE(header.size(), added.size());
  EXPECT_EQ(header.substr(header.size() - added.size()), added) << header;
  EXPECT_NE(c.find("\n1,cut,tcp,203.0.113.10,47553,10.0.0.5,22,"), std::string::npos) << c;
  EXPECT_NE(c.find(",eni-web,ingress,seen,b.pcap\n"), std::string::npos) << c;
  EXPECT_NE(c.find("\n2,cut,tcp,10.0.0.5,22,203.0.113.11,40000,"), std::string::npos) << c;
  EXPECT_NE(c.find(",eni-web,egress,unknown,a.pcap\n"), std::string::npos) << c;
}

TEST(WhatIfReport, JsonGivesOpenerEniAndDirection) {
  const json::value v = json::parse(renderWhatIfJson(twoCaptures()));
  const json::array& flows = v.at("flows").as_array();
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0].at("opener"), "seen");
  EXPECT_EQ(flows[0].at("src"), "203.0.113.10");
  EXPECT_EQ(flows[0].at("eni"), "eni-web");
  EXPECT_EQ(flows[0].at("direction"), "ingress");
  EXPECT_EQ(flows[0].at("capture"), "b.pcap");
  EXPECT_EQ(flows[0].at("before").at("direction"), "egress");  // the check that decided the first changed packet
  EXPECT_EQ(flows[1].at("opener"), "unknown");
  EXPECT_EQ(flows[1].at("direction"), "egress");
  EXPECT_EQ(v.at("totals").at("openerUnknownFlows"), 1);
}

}  // namespace
}  // namespace sgsim
