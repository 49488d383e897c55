#pragma once
// Conversations for pcapgen scenarios: a seeded random source, a TCP connection that keeps its own
// sequence numbers and clock, UDP and ICMP exchanges, and application payloads (HTTP, TLS records,
// SSH, DNS, MySQL) plausible enough that Wireshark dissects them without complaint.

#include <cstdint>
#include <string>
#include <string_view>

#include "capture_writer.h"
#include "packet_build.h"

namespace sgsim {

inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kSec = 1'000 * kMs;

// splitmix64: portable, unlike the std:: distributions, so the files are the same everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi);
  Bytes bytes(std::size_t n);

 private:
  std::uint64_t state_;
};

// Send one IP packet with the next IPv4 identification of its source.
void sendIp(Capture& cap, std::int64_t tsNs, const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& l4,
            std::uint8_t ttl = 64, const std::vector<Ipv6Ext>& v6Ext = {});

class TcpConn {
 public:
  TcpConn(Capture& cap, Rng& rng, IpAddr client, std::uint16_t clientPort, IpAddr server, std::uint16_t serverPort,
          std::int64_t startNs, std::int64_t rttNs);

  std::int64_t now() const { return t_; }
  void wait(std::int64_t ns) { t_ += ns; }

  void handshake();
  // A SYN nobody answers (a filtered port), retransmitted with exponential backoff.
  void synUnanswered(int tries);
  // SYN, SYN-ACK, then a RST from the client: what a SYN scanner leaves behind on an open port.
  void halfOpenScan();
  void clientSends(const Bytes& payload) { transfer(true, payload); }
  void serverSends(const Bytes& payload) { transfer(false, payload); }
  // FIN from one side, FIN-ACK back, final ACK.
  void closeFin(bool clientFirst = true);
  void reset(bool fromClient);
  // A FIN from one side only, acknowledged: the other side may go on sending (half-close).
  void halfClose(bool fromClient);
  // IPv6 extension headers on every packet the client sends from now on.
  void setClientExtensions(std::vector<Ipv6Ext> ext) { clientExt_ = std::move(ext); }

 private:
  // SYN, SYN-ACK, then the client's third segment (ACK, or RST for a scanner).
  void opening(std::uint8_t thirdFlags);
  void emit(bool fromClient, std::uint8_t flags, const Bytes& payload = {});
  void transfer(bool fromClient, const Bytes& payload);

  Capture& cap_;
  Rng& rng_;
  IpAddr client_, server_;
  std::uint16_t clientPort_, serverPort_;
  std::uint32_t clientSeq_, serverSeq_;  // next sequence number each side sends
  std::int64_t t_;
  std::int64_t rtt_;
  bool lastFromClient_ = false;
  std::uint8_t clientTtl_;
  std::vector<Ipv6Ext> clientExt_;
};

// A UDP request and (unless `response` is empty) its answer rtt later.
void udpExchange(Capture& cap, std::int64_t tsNs, const IpAddr& a, std::uint16_t aPort, const IpAddr& b,
                 std::uint16_t bPort, const Bytes& request, const Bytes& response, std::int64_t rttNs);

// `count` echo requests `interval` apart from `from` to `to` (ICMP or ICMPv6 by family), each answered after
// rtt unless !answered. Sequence numbers start at `firstSeq`.
void ping(Capture& cap, std::int64_t tsNs, const IpAddr& from, const IpAddr& to, std::uint16_t id, int count,
          std::int64_t intervalNs, std::int64_t rttNs, bool answered = true, std::uint16_t firstSeq = 1,
          std::size_t payloadSize = 56);

Bytes pingPayload(std::int64_t tsNs, std::size_t size);
Bytes httpRequest(std::string_view method, std::string_view host, std::string_view path, std::string_view agent);
Bytes httpResponse(Rng& rng, int status, std::size_t bodyLen);
// TLS 1.2 application-data records (content type 23) filled with random bytes.
Bytes tlsRecords(Rng& rng, std::size_t totalLen);
Bytes sshBanner(std::string_view software);
// Encrypted SSH traffic: random bytes in blocks of 16 plus a 16-byte MAC, as an AEAD cipher sends.
Bytes sshEncrypted(Rng& rng, std::size_t blocks);
Bytes dnsQuery(std::uint16_t id, std::string_view name, std::uint16_t qtype);
// An answer with one A (4 bytes) or AAAA (16 bytes) record, or NXDOMAIN when `address` is empty.
Bytes dnsResponse(std::uint16_t id, std::string_view name, std::uint16_t qtype, const Bytes& address);
Bytes mysqlGreeting(Rng& rng, std::uint32_t threadId);
Bytes mysqlLogin(Rng& rng, std::string_view user, std::string_view db);
Bytes mysqlOk(std::uint8_t seq, std::uint64_t affected);
Bytes mysqlQuery(std::string_view sql);

}  // namespace sgsim
