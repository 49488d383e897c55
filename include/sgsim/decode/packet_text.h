#pragma once
// A packet written as text → the same PacketKey the decoder makes from bytes, so that `explain` reads a packet
// typed by hand, or a line copied from tcpdump, exactly as it reads a frame of a capture. Two forms:
//
//   sgsim's own:   PROTO SRC[:PORT] > DST[:PORT] [id N | type T [code C]]
//                  tcp 203.0.113.7:51514 > 10.0.0.5:22, udp [2001:db8::1]:53 > [2001:db8::5]:5353,
//                  icmp 192.0.2.10 > 10.0.0.5 id 7, icmp 10.0.0.5 > 192.0.2.10 type 3 code 3, proto 132 a > b
//   tcpdump's:     [TIME] IP SRC[.PORT] > DST[.PORT]: WHAT…  (as `tcpdump -n` prints it, IP6 likewise)
//                  09:00:05.000000 IP 203.0.113.7.51514 > 10.0.0.5.22: Flags [S], seq 1, win 64240, length 0
//                  IP 10.0.0.5.60391 > 100.100.2.136.53: 10416+ A? example.com. (37)          (UDP: no Flags)
//                  IP 192.0.2.10 > 10.0.0.5: ICMP echo request, id 8000, seq 1, length 64
//                  IP6 2001:db8::1 > 2001:db8:10::5: ICMP6, echo request, id 7, seq 1, length 64
//                  (a link-layer prefix of `tcpdump -e` and the header details of `-v` in parentheses are skipped)
//
// Errors name the part that is wrong ("port 70000 is out of range 0-65535", "\"10.0.0.300\" is not an IP
// address"), never a generic "bad packet". Never throws; every input, however long or strange, gets a key or an
// Error (fuzz/packet_text_fuzz.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/decode/packet_key.h"

namespace sgsim {

struct PacketText {
  PacketKey key;                   // status Ok; ports, TCP flags, ICMP type and code as the decoder would set them
  bool tcpdump = false;            // read from tcpdump's line form
  bool icmpTypeKnown = false;      // an ICMP packet whose type the text gave
  std::vector<std::string> notes;  // what was assumed ("UDP: tcpdump printed the application, not \"UDP\"")
};

Result<PacketText> parsePacketText(std::string_view text);

// The syntax, for messages: "PROTO SRC[:PORT] > DST[:PORT] (e.g. \"tcp 203.0.113.7:51514 > 10.0.0.5:22\"), or a
// line of `tcpdump -n`".
extern const char* const kPacketTextSyntax;

}  // namespace sgsim
