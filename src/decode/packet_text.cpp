#include "sgsim/decode/packet_text.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>

#include "sgsim/core/proto_text.h"
#include "sgsim/core/text.h"

namespace sgsim {

const char* const kPacketTextSyntax =
    "PROTO SRC[:PORT] > DST[:PORT] (e.g. \"tcp 203.0.113.7:51514 > 10.0.0.5:22\"), or a line of `tcpdump -n` "
    "(\"IP 203.0.113.7.51514 > 10.0.0.5.22: Flags [S], ...\")";

namespace {

constexpr std::size_t kMaxShown = 40;  // a bad part is quoted up to this many characters

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, kMaxShown)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > kMaxShown) out += "...";
  return out + "\"";
}

Error bad(std::string message) { return Error{"packet", std::move(message)}; }

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A port as written: digits only, 0-65535; the error says which.
Result<std::uint16_t> portOf(std::string_view s, std::string_view where) {
  if (s.empty()) return bad("missing port after " + quoted(where));
  if (!allDigits(s)) {
    if (std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }))
      return bad("port " + quoted(s) + " in " + quoted(where) +
                 " is a service name, not a number (run tcpdump with -n, or write the number)");
    return bad("port " + quoted(s) + " in " + quoted(where) + " is not a number");
  }
  if (s.size() > 6 || std::stoul(std::string(s)) > 65535)
    return bad("port " + std::string(s.substr(0, kMaxShown)) + " is out of range 0-65535 (in " + quoted(where) + ")");
  return static_cast<std::uint16_t>(std::stoul(std::string(s)));
}

Result<IpAddr> addressOf(std::string_view s, std::string_view where) {
  if (auto ip = IpAddr::parse(s)) return *ip;
  if (s.empty()) return bad("missing address in " + quoted(where));
  return bad(quoted(s) + " is not an IP address" + (s == where ? std::string() : " (in " + quoted(where) + ")"));
}

struct Endpoint {
  IpAddr addr;
  std::optional<std::uint16_t> port;
};

// sgsim's form: 1.2.3.4, 1.2.3.4:80, [2001:db8::1], [2001:db8::1]:80, 2001:db8::1 (no port).
Result<Endpoint> ownEndpoint(std::string_view s) {
  Endpoint e;
  std::string_view a = s;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return bad(quoted(s) + ": \"[\" without \"]\" around an IPv6 address");
    a = s.substr(1, close - 1);
    const auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("unexpected " + quoted(rest) + " after \"]\" in " + quoted(s));
      auto p = portOf(rest.substr(1), s);
      if (!p) return p.error();
      e.port = *p;
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    const auto colon = s.find(':');
    a = s.substr(0, colon);
    auto p = portOf(s.substr(colon + 1), s);
    if (!p) return p.error();
    e.port = *p;
  }
  auto ip = addressOf(a, s);
  if (!ip) return ip.error();
  e.addr = *ip;
  return e;
}

// tcpdump's form: 1.2.3.4, 1.2.3.4.80, 2001:db8::1, 2001:db8::1.80 (the port after the last dot).
Result<Endpoint> tcpdumpEndpoint(std::string_view s) {
  Endpoint e;
  if (auto ip = IpAddr::parse(s)) {
    e.addr = *ip;
    return e;
  }
  const auto dot = s.rfind('.');
  if (dot == std::string_view::npos) return addressOf(s, s).error();
  auto ip = IpAddr::parse(s.substr(0, dot));
  if (!ip) {
    // "web01.example.com.ssh": tcpdump without -n.
    if (s.find(':') == std::string_view::npos && std::count(s.begin(), s.end(), '.') != 4)
      return bad(quoted(s) + " is not an IP address with a port (run tcpdump with -n: numbers, not names)");
    return addressOf(s.substr(0, dot), s).error();
  }
  auto p = portOf(s.substr(dot + 1), s);
  if (!p) return p.error();
  e.addr = *ip;
  e.port = *p;
  return e;
}

bool isTimeWord(std::string_view w) {
  // 09:00:05.000000, 1714554005.000000 (-tt), 2024-05-01 (-tttt, then the time), +0.000000 / 00:00:00.000000 (-ttt)
  if (w.empty()) return false;
  if (w.front() == '+') w.remove_prefix(1);
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '-';
  }) && std::isdigit(static_cast<unsigned char>(w.front()));
}

struct IcmpName {
  const char* text;
  std::uint8_t type, code;
  bool echo;
};
// How tcpdump names ICMP messages (print-icmp.c), longest first where one starts another.
constexpr IcmpName kIcmp[] = {
    {"echo request", 8, 0, true},          {"echo reply", 0, 0, true},
    {"time exceeded", 11, 0, false},       {"redirect", 5, 0, false},
    {"source quench", 4, 0, false},        {"parameter problem", 12, 0, false},
    {"time stamp request", 13, 0, false},  {"time stamp reply", 14, 0, false},
    {"router advertisement", 9, 0, false}, {"router solicitation", 10, 0, false},
};
constexpr IcmpName kIcmp6[] = {
    {"echo request", 128, 0, true},
    {"echo reply", 129, 0, true},
    {"destination unreachable", 1, 0, false},
    {"unreachable", 1, 0, false},
    {"packet too big", 2, 0, false},
    {"time exceeded", 3, 0, false},
    {"parameter problem", 4, 0, false},
    {"router solicitation", 133, 0, false},
    {"router advertisement", 134, 0, false},
    {"neighbor solicitation", 135, 0, false},
    {"neighbor advertisement", 136, 0, false},
    {"redirect", 137, 0, false},
    {"multicast listener report v2", 143, 0, false},
};

// ", id 8000," → 8000.
std::optional<std::uint16_t> echoId(std::string_view rest) {
  const auto at = rest.find("id ");
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + 3, j = i;
  while (j < rest.size() && std::isdigit(static_cast<unsigned char>(rest[j]))) ++j;
  if (j == i || j - i > 5) return std::nullopt;
  const unsigned long v = std::stoul(std::string(rest.substr(i, j - i)));
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

Result<bool> readIcmp(std::string_view rest, bool v6, PacketText& out) {
  PacketKey& k = out.key;
  const auto& table = v6 ? std::span<const IcmpName>(kIcmp6) : std::span<const IcmpName>(kIcmp);
  for (const IcmpName& n : table) {
    if (rest.find(n.text) == std::string_view::npos) continue;
    k.icmpType = n.type;
    k.icmpCode = n.code;
    out.icmpTypeKnown = true;
    if (n.echo) {
      auto id = echoId(rest);
      if (!id) return bad(std::string("ICMP ") + n.text + " without \", id N\": the identifier is its flow's port");
      k.sport = k.dport = *id;
    }
    return true;
  }
  if (!v6 && rest.find("unreachable") != std::string_view::npos) {
    k.icmpType = 3;
    k.icmpCode = rest.find(" port ") != std::string_view::npos     ? 3
                 : rest.find("protocol") != std::string_view::npos ? 2
                 : rest.find("host ") != std::string_view::npos    ? 1
                 : rest.find("net ") != std::string_view::npos     ? 0
                                                                   : 0;
    out.icmpTypeKnown = true;
    return true;
  }
  out.notes.push_back(
      "the ICMP message type was not recognised in the line: taken as a message other than echo "
      "(ports 0, as the decoder gives them)");
  return true;
}

struct NamedProto {
  const char* prefix;
  std::uint8_t proto;
};
// The first word tcpdump prints for protocols without ports (print-ip.c and friends).
constexpr NamedProto kPortless[] = {{"GRE", 47},   {"ESP", 50},  {"AH", 51},   {"igmp", 2},  {"OSPF", 89},
                                    {"VRRP", 112}, {"PIM", 103}, {"pim", 103}, {"CARP", 112}};

Result<PacketText> parseTcpdump(const std::vector<std::string_view>& w, std::size_t ipAt, std::string_view text) {
  PacketText out;
  out.tcpdump = true;
  PacketKey& k = out.key;
  const bool v6 = w[ipAt] == "IP6";
  std::size_t i = ipAt + 1;
  // `tcpdump -v`: "IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)".
  if (i < w.size() && !w[i].empty() && w[i].front() == '(') {
    int depth = 0;
    for (; i < w.size(); ++i) {
      for (char c : w[i]) depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (depth <= 0) {
        ++i;
        break;
      }
    }
  }
  if (i + 2 >= w.size() || w[i + 1] != ">")
    return bad("expected \"SRC > DST: ...\" after " + std::string(w[ipAt]) + " (as `tcpdump -n` prints it)");
  std::string_view dstWord = w[i + 2];
  if (dstWord.empty() || dstWord.back() != ':')
    return bad("expected \":\" after the destination " + quoted(dstWord) + " (as tcpdump prints it)");
  dstWord.remove_suffix(1);
  auto src = tcpdumpEndpoint(w[i]);
  if (!src) return src.error();
  auto dst = tcpdumpEndpoint(dstWord);
  if (!dst) return dst.error();
  k.status = DecodeStatus::Ok;
  k.src = src->addr;
  k.dst = dst->addr;
  k.family = k.src.family;
  if (k.src.family != k.dst.family)
    return bad("source " + k.src.toString() + " and destination " + k.dst.toString() + " are of different IP families");
  if ((k.src.isV4() ? 1 : 0) == (v6 ? 1 : 0))
    return bad(std::string(w[ipAt]) + " line with " + (v6 ? "IPv4" : "IPv6") + " addresses");
  // The rest of the line, from its first word.
  const std::size_t restAt = i + 3 < w.size() ? static_cast<std::size_t>(w[i + 3].data() - text.data()) : text.size();
  const std::string_view rest = text.substr(restAt);
  const std::string_view first = i + 3 < w.size() ? w[i + 3] : std::string_view{};
  const bool ports = src->port.has_value() || dst->port.has_value();
  if (ports && (!src->port || !dst->port))
    return bad("only one of " + quoted(w[i]) + " and " + quoted(dstWord) + " has a port");
  if (ports) {
    k.sport = *src->port;
    k.dport = *dst->port;
    if (first == "Flags") {
      k.proto = 6;
      const auto open = rest.find('['), close = rest.find(']');
      if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return bad("\"Flags\" without \"[...]\" in the TCP part " + quoted(rest));
      for (char c : rest.substr(open + 1, close - open - 1)) {
        switch (c) {
          case 'F':
            k.tcpFlags |= 0x01;
            break;
          case 'S':
            k.tcpFlags |= 0x02;
            break;
          case 'R':
            k.tcpFlags |= 0x04;
            break;
          case 'P':
            k.tcpFlags |= 0x08;
            break;
          case '.':
            k.tcpFlags |= 0x10;
            break;
          case 'U':
            k.tcpFlags |= 0x20;
            break;
          case 'E':
            k.tcpFlags |= 0x40;
            break;
          case 'W':
            k.tcpFlags |= 0x80;
            break;
          case 'e':
            break;  // "[none]" and friends
          default:
            break;
        }
      }
    } else if (first.rfind("sctp", 0) == 0) {
      k.proto = 132;
    } else if (first == "tcp") {
      k.proto = 6;  // "tcp 0" (a header cut short)
    } else {
      k.proto = 17;
      if (first != "UDP," && first != "UDP")
        out.notes.push_back("taken as UDP: tcpdump wrote the application (" + quoted(first) +
                            ") instead of \"UDP\", which it does only for UDP (TCP lines always show Flags)");
    }
    return out;
  }
  if (first.rfind("ICMP6", 0) == 0 || (v6 && first.rfind("ICMP", 0) == 0)) {
    if (!v6) return bad("ICMP6 in an IPv4 line");
    k.proto = 58;
    auto ok = readIcmp(rest.substr(std::min(rest.size(), first.size())), true, out);
    if (!ok) return ok.error();
    return out;
  }
  if (first == "ICMP") {
    k.proto = 1;
    auto ok = readIcmp(rest.substr(first.size()), false, out);
    if (!ok) return ok.error();
    return out;
  }
  if (first.rfind("ip-proto-", 0) == 0) {
    const std::string_view n = first.substr(9);
    if (!allDigits(n) || n.size() > 3 || std::stoi(std::string(n)) > 255)
      return bad(quoted(first) + " does not name a protocol number 0-255");
    k.proto = static_cast<std::uint8_t>(std::stoi(std::string(n)));
    if (k.proto == 6 || k.proto == 17 || k.proto == 1 || k.proto == 58)
      return bad(quoted(first) + " is how tcpdump prints a later IP fragment, which carries no " +
                 (k.proto == 6 || k.proto == 17 ? "ports" : "ICMP header") +
                 ": its fate is its first fragment's; explain it in its capture with --capture FILE --frame N");
    return out;
  }
  for (const NamedProto& p : kPortless)
    if (first.rfind(p.prefix, 0) == 0) {
      k.proto = p.proto;
      return out;
    }
  return bad("cannot tell the protocol from " + quoted(first.empty() ? rest : first) +
             " after the addresses; write the packet as \"proto N " + k.src.toString() + " > " + k.dst.toString() +
             "\"");
}

Result<PacketText> parseOwn(const std::vector<std::string_view>& w) {
  PacketText out;
  PacketKey& k = out.key;
  std::size_t i = 0;
  const std::string proto = toLower(w[i++]);
  if (auto number = protoFromName(proto)) {
    k.proto = *number;
  } else if (proto == "proto") {
    if (i >= w.size()) return bad("\"proto\" needs a protocol number: \"proto 132 SRC > DST\"");
    auto n = parseInt(w[i]);
    if (!n) return bad("protocol " + quoted(w[i]) + " is not a number (0-255)");
    if (*n < 0 || *n > 255) return bad("protocol " + std::string(w[i]) + " is out of range 0-255");
    k.proto = static_cast<std::uint8_t>(*n);
    ++i;
  } else {
    const std::string near = nearestName(proto, {"tcp", "udp", "icmp", "icmpv6", "gre", "proto"});
    return bad(quoted(w[0]) + " is not a protocol (tcp, udp, icmp, icmpv6, gre, or \"proto N\")" +
               (near.empty() ? "" : "; did you mean " + near + "?") + "; expected " + kPacketTextSyntax);
  }
  if (i >= w.size()) return bad("missing \"SRC > DST\" after the protocol; expected " + std::string(kPacketTextSyntax));
  if (i + 1 >= w.size() || w[i + 1] != ">")
    return bad("expected \">\" between source and destination, after " + quoted(w[i]) + "; expected " +
               kPacketTextSyntax);
  if (i + 2 >= w.size()) return bad("missing destination after \">\"");
  auto src = ownEndpoint(w[i]);
  if (!src) return src.error();
  auto dst = ownEndpoint(w[i + 2]);
  if (!dst) return dst.error();
  i += 3;
  k.status = DecodeStatus::Ok;
  k.src = src->addr;
  k.dst = dst->addr;
  k.family = k.src.family;
  if (k.src.family != k.dst.family)
    return bad("source " + k.src.toString() + " and destination " + k.dst.toString() + " are of different IP families");
  if (hasPorts(k.proto)) {
    if (!src->port || !dst->port)
      return bad(std::string(k.proto == 6 ? "TCP" : "UDP") + " needs a port on both ends: the " +
                 (!src->port ? "source " + quoted(w[i - 3]) : "destination " + quoted(w[i - 1])) +
                 " has none (e.g. \"" + protoName(k.proto) + " 203.0.113.7:51514 > 10.0.0.5:22\")");
    k.sport = *src->port;
    k.dport = *dst->port;
  } else if (src->port || dst->port) {
    return bad(protoName(k.proto) + " carries no ports: write the addresses alone" +
               (k.proto == 1 || k.proto == 58 ? " (an echo's identifier: \"id N\" at the end)" : ""));
  }
  const bool icmp = k.proto == 1 || k.proto == 58;
  if (icmp) {
    if (k.proto == 1 && !k.src.isV4()) return bad("icmp is IPv4's; for IPv6 write icmpv6");
    if (k.proto == 58 && k.src.isV4()) return bad("icmpv6 is IPv6's; for IPv4 write icmp");
  }
  bool typeGiven = false, idGiven = false;
  while (i < w.size()) {
    const std::string word = toLower(w[i]);
    if (!icmp || (word != "id" && word != "type" && word != "code"))
      return bad("unexpected " + quoted(w[i]) + " after the destination" +
                 (icmp ? " (only \"id N\" or \"type T [code C]\" may follow)" : ""));
    if (i + 1 >= w.size()) return bad("\"" + word + "\" needs a number");
    auto n = parseInt(w[i + 1]);
    const std::int64_t max = word == "id" ? 65535 : 255;
    if (!n) return bad(word + " " + quoted(w[i + 1]) + " is not a number");
    if (*n < 0 || *n > max) return bad(word + " " + std::to_string(*n) + " is out of range 0-" + std::to_string(max));
    if (word == "id") {
      k.sport = k.dport = static_cast<std::uint16_t>(*n);
      idGiven = true;
    } else if (word == "type") {
      k.icmpType = static_cast<std::uint8_t>(*n);
      typeGiven = true;
    } else {
      k.icmpCode = static_cast<std::uint8_t>(*n);
    }
    i += 2;
  }
  if (icmp) {
    if (idGiven && !typeGiven) k.icmpType = k.proto == 1 ? 8 : 128;  // "id N" alone: an echo request
    out.icmpTypeKnown = typeGiven || idGiven;
    const bool echo = k.proto == 1 ? (k.icmpType == 8 || k.icmpType == 0) : (k.icmpType == 128 || k.icmpType == 129);
    if (idGiven && !echo) return bad("only an echo (request or reply) has an identifier (\"id N\")");
    if (typeGiven && echo && !idGiven) out.notes.push_back("an echo without \"id N\": identifier 0 assumed");
  }
  return out;
}

}  // namespace

Result<PacketText> parsePacketText(std::string_view text) {
  const auto w = words(text);
  if (w.empty()) return bad("empty packet; expected " + std::string(kPacketTextSyntax));
  // tcpdump's form: the first word "IP" or "IP6" (after a timestamp, a `-e` link-layer prefix, a frame number).
  const std::string head = toLower(w[0]);
  if (!protoFromName(head) && head != "proto")
    for (std::size_t i = 0; i < w.size(); ++i)
      if (w[i] == "IP" || w[i] == "IP6") return parseTcpdump(w, i, text);
  if (isTimeWord(w[0]))
    return bad("a line starting with a time, " + quoted(w[0]) +
               ", but no \"IP\" or \"IP6\" in it: is it a line of `tcpdump -n` for an IP packet?");
  return parseOwn(w);
}

}  // namespace sgsim
