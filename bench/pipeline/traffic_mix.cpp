// The synthetic traffic mix (see traffic_mix.h).

#include "traffic_mix.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "sgsim/verdict/network.h"

namespace sgsim {
namespace {

constexpr std::uint16_t kServicePorts[] = {22, 53, 80, 123, 443, 3306, 5432, 6379, 8080, 8443};
constexpr std::int64_t kStartNs = 1714521600LL * 1'000'000'000LL;  // 2024-05-01T00:00:00Z
constexpr std::uint8_t kTcp = 6, kUdp = 17;

bool aimable(const RuleBox& b) { return b.family == Family::V4 && (b.proto < 0 || b.proto == kTcp || b.proto == kUdp); }

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

std::uint16_t ipChecksum(const std::uint8_t* h) {
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// Remote addresses stay out of 10.0.0.0/8, where the ENI lives.
std::uint32_t awayFromEni(std::uint32_t a) { return (a >> 24) == 10 ? a ^ 0x40000000u : a; }

}  // namespace

// The conversation's flow, both endpoints in canonical order (a reply finds its request's flow).
std::pair<std::uint64_t, std::uint64_t> TrafficMix::flowOf(const Conversation& c) {
  std::uint64_t x = std::uint64_t{c.client} << 16 | c.cport, y = std::uint64_t{c.server} << 16 | c.sport;
  if (x > y) std::swap(x, y);
  return {x << 8 | c.proto, y};
}

TrafficTargets trafficTargets(const Model& model, const IpAddr& host) {
  TrafficTargets t;
  const Network network(model);
  const std::int32_t eni = network.eniOf(host);
  if (eni < 0) return t;
  for (const RuleBox& b : network.boxes(static_cast<std::size_t>(eni), Direction::Ingress))
    if (aimable(b) && b.dst.contains(host)) t.inbound.push_back(b);
  for (const RuleBox& b : network.boxes(static_cast<std::size_t>(eni), Direction::Egress))
    if (aimable(b) && b.src.contains(host)) t.outbound.push_back(b);
  return t;
}

TrafficMix::TrafficMix(const TrafficOptions& options, TrafficTargets targets)
    : options_(options),
      targets_(std::move(targets)),
      rng_(options.seed),
      slots_(options.newFlowEveryPacket || options.requestReply ? 1 : std::max<std::uint32_t>(options.flows, 1)),
      targetUse_(targets_.inbound.size() + targets_.outbound.size()),
      nowNs_(kStartNs) {
  buffer_[0] = 0x02;  // locally administered MACs: 02:00:00:00:00:01 (ENI), 02:00:00:00:00:02 (gateway)
  buffer_[12] = 0x08;
  if (options_.requestReply) opened_.reserve(options_.flows);
}

std::uint64_t TrafficMix::framesLeft() const {
  if (!options_.requestReply) return std::numeric_limits<std::uint64_t>::max();
  return 2 * (std::uint64_t{options_.flows} - opened_.size()) + waiting_.size();
}

void TrafficMix::start(Conversation& c) {
  ++conversations_;
  const bool unique = options_.newFlowEveryPacket || options_.requestReply;
  const std::uint32_t host = options_.host.v4Value();
  auto inside = [&](const Cidr& cidr) {
    const std::uint32_t mask = cidr.prefix == 0 ? 0xffffffffu : cidr.prefix >= 32 ? 0u : (1u << (32 - cidr.prefix)) - 1;
    const std::uint32_t a = cidr.base.v4Value() | (static_cast<std::uint32_t>(rng_.next()) & mask);
    return cidr.prefix < 8 ? awayFromEni(a) : a;
  };
  auto between = [&](std::uint16_t lo, std::uint16_t hi) {
    lo = std::max<std::uint16_t>(lo, 1);
    return static_cast<std::uint16_t>(lo + rng_.below(static_cast<std::uint32_t>(hi - lo) + 1));
  };
  auto clientPort = [&](const RuleBox* b, std::size_t use) -> std::uint16_t {
    if (b && (b->sportLo > 1024 || b->sportHi < 65535)) return between(b->sportLo, b->sportHi);
    if (unique && b) return static_cast<std::uint16_t>(1024 + use % 64512);
    return between(1024, 65535);
  };
  auto fresh = [&]() {
    // A new remote address per conversation in new-flow mode (100.64.0.0/10 and upwards), else random.
    return unique ? awayFromEni(0x64400000u + freshRemote_++) : awayFromEni(static_cast<std::uint32_t>(rng_.next()));
  };
  const std::uint32_t kind = rng_.below(100);
  const RuleBox* box = nullptr;
  std::size_t use = 0;
  if (kind < 70) {  // inbound
    if (kind < 50 && !targets_.inbound.empty()) {
      const std::size_t i = rng_.below(static_cast<std::uint32_t>(targets_.inbound.size()));
      box = &targets_.inbound[i];
      use = targetUse_[i]++;
    }
    c.server = host;
    c.client = box ? inside(box->src) : fresh();
    c.sport = box ? between(box->dportLo, box->dportHi)
                  : (rng_.below(2) ? kServicePorts[rng_.below(std::size(kServicePorts))] : between(1, 65535));
  } else {  // outbound
    if (kind < 85 && !targets_.outbound.empty()) {
      const std::size_t i = rng_.below(static_cast<std::uint32_t>(targets_.outbound.size()));
      box = &targets_.outbound[i];
      use = targetUse_[targets_.inbound.size() + i]++;
    }
    c.client = host;
    c.server = box ? inside(box->dst) : fresh();
    static constexpr std::uint16_t kOut[] = {443, 443, 80, 53};
    c.sport = box ? between(box->dportLo, box->dportHi) : kOut[rng_.below(4)];
  }
  if (c.client == c.server) c.client ^= 1;
  c.cport = clientPort(box, use);
  if (box && box->proto >= 0)
    c.proto = static_cast<std::uint8_t>(box->proto);
  else if (!box && c.sport == 53)
    c.proto = kUdp;
  else
    c.proto = rng_.below(100) < 70 ? kTcp : kUdp;
  c.sent = 0;
  c.total = static_cast<std::uint16_t>(c.proto == kTcp ? 4 + rng_.below(37) : 2 + rng_.below(39));
}

std::uint32_t TrafficMix::frameLength(const Conversation& c, bool fromClient) {
  if (c.proto == kUdp) return 60 + rng_.below(540);
  if (!fromClient && rng_.below(2)) return 1514;
  return fromClient ? 60 + rng_.below(240) : 60 + rng_.below(1455);
}

void TrafficMix::next(GenFrame& out) {
  Conversation fresh;
  Conversation* c = &fresh;
  if (options_.requestReply) {
    const std::uint64_t requests = options_.flows - opened_.size();
    const bool reply =
        !waiting_.empty() &&
        (options_.repliesLast ? requests == 0
                              : rng_.below(static_cast<std::uint32_t>(requests + waiting_.size())) >= requests);
    if (reply) {
      const std::size_t k = rng_.below(static_cast<std::uint32_t>(waiting_.size()));
      c = &opened_[waiting_[k]];
      waiting_[k] = waiting_.back();
      waiting_.pop_back();
    } else {
      // A drawn 5-tuple can repeat (a box with a /32 peer and a narrow source port range): draw again, so that
      // every request opens a flow of its own.
      do start(fresh);
      while (!tuples_.insert(flowOf(fresh)).second);
      fresh.total = 2;
      waiting_.push_back(static_cast<std::uint32_t>(opened_.size()));
      opened_.push_back(fresh);
      c = &opened_.back();  // reserved: never moves
    }
  } else if (options_.newFlowEveryPacket) {
    start(fresh);
  } else {
    if (trainLeft_ > 0 && slots_[slot_].sent < slots_[slot_].total) {
      --trainLeft_;
    } else {
      slot_ = rng_.below(static_cast<std::uint32_t>(slots_.size()));
      if (options_.burst > 1) trainLeft_ = rng_.below(2 * options_.burst - 1);  // no draw at 1: same frames
    }
    c = &slots_[slot_];
    if (c->sent == c->total) start(*c);
  }
  const std::uint16_t i = c->sent++;
  bool fromClient = true;
  std::uint8_t flags = 0;
  std::uint32_t wireLen = 60;
  if (c->proto == kTcp) {
    if (i == 0) {
      flags = 0x02;
    } else if (i == 1) {
      fromClient = false;
      flags = 0x12;
    } else if (i + 2u == c->total) {
      flags = 0x11;
    } else if (i + 1u == c->total) {
      fromClient = false;
      flags = 0x11;
    } else {
      fromClient = rng_.below(100) < 40;
      flags = 0x18;
      wireLen = frameLength(*c, fromClient);
    }
  } else {
    fromClient = i == 0 || (!options_.requestReply && rng_.below(2));  // a request's answer comes from the server
    wireLen = frameLength(*c, fromClient);
  }
  if (fromClient)
    writeFrame(c->client, c->server, c->cport, c->sport, c->proto, flags, wireLen);
  else
    writeFrame(c->server, c->client, c->sport, c->cport, c->proto, flags, wireLen);
  if (options_.gapNs > 0) nowNs_ += options_.gapNs / 2 + rng_.below(static_cast<std::uint32_t>(options_.gapNs));
  out.tsNs = nowNs_;
  out.wireLen = wireLen;
  out.capLen = std::min(wireLen, options_.snaplen);
  out.data = buffer_;
}

void TrafficMix::writeFrame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
                            std::uint8_t proto, std::uint8_t tcpFlags, std::uint32_t wireLen) {
  const bool outbound = src == options_.host.v4Value();
  buffer_[5] = outbound ? 2 : 1;   // destination MAC
  buffer_[11] = outbound ? 1 : 2;  // source MAC
  const std::uint32_t l4 = proto == kTcp ? 20 : 8;
  const std::uint32_t minIp = 20 + l4;
  const std::uint32_t ipLen = std::max(minIp, wireLen - 14);
  std::uint8_t* ip = buffer_ + 14;
  std::memset(ip, 0, 40);
  ip[0] = 0x45;
  const bool control = proto == kTcp && (tcpFlags & 0x03);  // SYN and FIN segments carry no data
  put16(ip + 2, static_cast<std::uint16_t>(control ? minIp : ipLen));
  put16(ip + 4, ipId_++);
  ip[6] = 0x40;  // don't fragment
  ip[8] = 64;
  ip[9] = proto;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  put16(ip + 10, ipChecksum(ip));
  std::uint8_t* t = ip + 20;
  put16(t, sport);
  put16(t + 2, dport);
  if (proto == kTcp) {
    put32(t + 4, static_cast<std::uint32_t>(ipId_) * 1460u);
    put32(t + 8, tcpFlags == 0x02 ? 0 : static_cast<std::uint32_t>(ipId_) * 977u);
    t[12] = 0x50;
    t[13] = tcpFlags;
    put16(t + 14, 0xffff);
  } else {
    put16(t + 4, static_cast<std::uint16_t>(ipLen - 20));
  }
}

}  // namespace sgsim
