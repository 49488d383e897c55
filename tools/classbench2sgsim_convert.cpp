#include "classbench2sgsim_convert.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_set.hpp>

#include "sgsim/core/text.h"

namespace sgsim {

namespace json = boost::json;

namespace {

bool fullPorts(std::uint16_t lo, std::uint16_t hi) { return lo <= 1 && hi == 65535; }

// sgsim's TCP/UDP ports are 1..65535; port 0 becomes 1 in rules and packets alike.
std::string portText(std::uint16_t lo, std::uint16_t hi) {
  return std::to_string(lo == 0 ? 1 : lo) + "/" + std::to_string(hi == 0 ? 1 : hi);
}

std::size_t band(std::size_t index, std::size_t count) { return index * 100 / count; }

json::array permissions(const std::vector<RuleBox>& rules, const ConvertOptions& options, ConvertStats& stats) {
  const std::size_t n = rules.size();
  json::array out;
  for (std::size_t i = 0; i < n; ++i) {
    const RuleBox& b = rules[i];
    const bool portsFull = fullPorts(b.sportLo, b.sportHi) && fullPorts(b.dportLo, b.dportHi);
    std::vector<const char*> protocols;
    switch (b.proto) {
      case -1:
        protocols = portsFull ? std::vector<const char*>{"ALL"} : std::vector<const char*>{"TCP", "UDP"};
        stats.split += protocols.size() > 1;
        break;
      case 6:
        protocols = {"TCP"};
        break;
      case 17:
        protocols = {"UDP"};
        break;
      case 1:
        protocols = {"ICMP"};
        break;
      case 47:
        protocols = {"GRE"};
        break;
      default:
        ++stats.skippedProtocol;
        continue;
    }
    for (const char* protocol : protocols) {
      const std::string name = protocol;
      const bool hasPorts = name == "TCP" || name == "UDP";
      stats.droppedPorts += !hasPorts && !portsFull;
      json::object p;
      std::string suffix;  // split rules: "-tcp" / "-udp"
      if (protocols.size() > 1) suffix.append("-").append(toLower(name));
      p["SecurityGroupRuleId"] = classBenchRuleId(i, suffix);
      p["Direction"] = options.ingress ? "ingress" : "egress";
      p["IpProtocol"] = name;
      p["PortRange"] = hasPorts ? portText(b.dportLo, b.dportHi) : "-1/-1";
      if (hasPorts && !fullPorts(b.sportLo, b.sportHi)) p["SourcePortRange"] = portText(b.sportLo, b.sportHi);
      const Cidr& peer = options.ingress ? b.src : b.dst;
      const Cidr& local = options.ingress ? b.dst : b.src;
      p[options.ingress ? "SourceCidrIp" : "DestCidrIp"] = peer.toString();
      if (local.prefix > 0) p[options.ingress ? "DestCidrIp" : "SourceCidrIp"] = local.toString();
      p["Policy"] = classBenchIsDrop(i, n, options.policy) ? "Drop" : "Accept";
      p["Priority"] = classBenchPriority(i, n);
      p["NicType"] = "intranet";
      p["Description"] = "ClassBench rule " + std::to_string(i + 1);
      out.push_back(std::move(p));
      ++stats.written;
    }
  }
  return out;
}

void be16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  be16(b, static_cast<std::uint16_t>(v >> 16));
  be16(b, static_cast<std::uint16_t>(v));
}

std::uint16_t checksum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void store16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

}  // namespace

std::string classBenchRuleId(std::size_t index, const std::string& suffix) {
  return "sgr-cb" + std::to_string(index + 1) + suffix;
}

bool classBenchIsDrop(std::size_t index, std::size_t count, ConvertPolicy policy) {
  if (policy != ConvertPolicy::Mixed) return policy == ConvertPolicy::Drop;
  // The first half of each priority band drops (drops sort first inside a band, so the band keeps file
  // order); odd-sized bands round up when they start at an even index and down otherwise, so that one-rule
  // bands mix too.
  const std::size_t b = band(index, count);
  std::size_t first = index, last = index;
  while (first > 0 && band(first - 1, count) == b) --first;
  while (last + 1 < count && band(last + 1, count) == b) ++last;
  return index - first < (last - first + 1 + (first % 2 == 0 ? 1 : 0)) / 2;
}

int classBenchPriority(std::size_t index, std::size_t count) { return static_cast<int>(band(index, count)) + 1; }

std::vector<IpAddr> classBenchEniAddresses(const std::vector<ClassifyKey>& trace, bool ingress) {
  boost::unordered_flat_set<std::uint32_t> seen;
  std::vector<IpAddr> out;
  for (const ClassifyKey& k : trace) {
    const IpAddr& a = ingress ? k.dst : k.src;
    if (seen.insert(a.v4Value()).second) out.push_back(a);
  }
  return out;
}

json::object classBenchModel(const std::vector<RuleBox>& rules, const std::vector<IpAddr>& addresses,
                             const ConvertOptions& options, ConvertStats& stats) {
  json::array perms = permissions(rules, options, stats);
  if (!options.ingress) {
    // Packets between two of the ENI's own addresses are checked at egress and then at ingress; this rule
    // lets the egress rules alone decide them.
    perms.push_back(json::object{{"SecurityGroupRuleId", "sgr-cb-ingress-all"},
                                 {"Direction", "ingress"},
                                 {"IpProtocol", "ALL"},
                                 {"PortRange", "-1/-1"},
                                 {"SourceCidrIp", "0.0.0.0/0"},
                                 {"Policy", "Accept"},
                                 {"Priority", 100},
                                 {"NicType", "intranet"},
                                 {"Description", "lets packets between the ENI's own addresses through"}});
    ++stats.written;
  }
  json::object group;
  group["SecurityGroupId"] = "sg-classbench";
  group["SecurityGroupName"] = "classbench";
  group["VpcId"] = "vpc-classbench";
  group["SecurityGroupType"] = "normal";
  // Drop, so that a packet between two of the ENI's addresses is decided by the rules, not accepted as
  // intra-group traffic (SEMANTICS §3 step 4).
  group["InnerAccessPolicy"] = "Drop";
  group["Permissions"] = json::object{{"Permission", std::move(perms)}};
  json::array ips;
  for (std::size_t i = 0; i < addresses.size(); ++i)
    ips.push_back(json::object{{"PrivateIpAddress", addresses[i].toString()}, {"Primary", i == 0}});
  json::object eni;
  eni["NetworkInterfaceId"] = "eni-classbench";
  eni["PrivateIpAddress"] = addresses.front().toString();
  eni["PrivateIpSets"] = json::object{{"PrivateIpSet", std::move(ips)}};
  eni["SecurityGroupIds"] = json::object{{"SecurityGroupId", json::array{"sg-classbench"}}};
  json::object root;
  root["SecurityGroups"] = json::array{std::move(group)};
  root["NetworkInterfaces"] = json::array{std::move(eni)};
  root["Quotas"] = json::object{{"RulesPerEni", static_cast<std::int64_t>(std::max<std::size_t>(1000, stats.written))}};
  return root;
}

std::vector<std::uint8_t> classBenchFrame(const ClassifyKey& k, std::uint16_t ipId) {
  const std::uint16_t sport = k.sport == 0 ? 1 : k.sport;
  const std::uint16_t dport = k.dport == 0 ? 1 : k.dport;
  const std::uint32_t src = k.src.v4Value(), dst = k.dst.v4Value();
  std::vector<std::uint8_t> l4;
  if (k.proto == 6) {
    be16(l4, sport);
    be16(l4, dport);
    be32(l4, 1);       // sequence
    be32(l4, 0);       // acknowledgement
    be16(l4, 0x5002);  // 20-byte header, SYN: the packet opens a connection
    be16(l4, 65535);   // window
    be16(l4, 0);       // checksum, below
    be16(l4, 0);       // urgent pointer
    const std::uint32_t pseudo = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 6 + 20;
    store16(l4, 16, checksum(l4.data(), l4.size(), pseudo));
  } else if (k.proto == 17) {
    be16(l4, sport);
    be16(l4, dport);
    be16(l4, 8);
    be16(l4, 0);  // no checksum (allowed on IPv4)
  } else if (k.proto == 1) {
    l4 = {8, 0, 0, 0};  // echo request; the identifier is what sgsim reads as the ports
    be16(l4, sport);
    be16(l4, 0);
    store16(l4, 2, checksum(l4.data(), l4.size()));
  } else {
    l4.assign(8, 0);
  }
  std::vector<std::uint8_t> f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  const std::size_t ip = f.size();
  f.push_back(0x45);
  f.push_back(0);
  be16(f, static_cast<std::uint16_t>(20 + l4.size()));
  be16(f, ipId);
  be16(f, 0);  // not fragmented
  f.push_back(64);
  f.push_back(k.proto);
  be16(f, 0);
  be32(f, src);
  be32(f, dst);
  store16(f, ip + 10, checksum(f.data() + ip, 20));
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

}  // namespace sgsim
