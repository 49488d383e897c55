#include "sgsim/core/ip.h"

#include <gtest/gtest.h>

#include "sgsim/core/text.h"

namespace sgsim {
namespace {

TEST(Cidr, BareAddressIsHostRoute) {
  auto a = Cidr::parse("10.0.0.1");
  auto b = Cidr::parse("10.0.0.1/32");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->toString(), "10.0.0.1/32");
}

TEST(Cidr, HostBitsAreCleared) {
  auto a = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->toString(), "10.0.0.0/8");
  EXPECT_TRUE(a->contains(*IpAddr::parse("10.255.255.255")));
  EXPECT_FALSE(a->contains(*IpAddr::parse("11.0.0.0")));
  EXPECT_EQ(a->last().toString(), "10.255.255.255");
}

TEST(Cidr, Ipv6) {
  auto a = Cidr::parse("2001:db8:1234:1a00::1/56");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->toString(), "2001:db8:1234:1a00::/56");
  EXPECT_TRUE(a->contains(*IpAddr::parse("2001:db8:1234:1aff:ffff::9")));
  EXPECT_FALSE(a->contains(*IpAddr::parse("2001:db8:1234:1b00::")));
  EXPECT_FALSE(a->contains(*IpAddr::parse("10.0.0.1")));  // families never mix
  EXPECT_EQ(Cidr::parse("::/0")->last().toString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(Cidr::parse("2001:db8::/64")->last().toString(), "2001:db8::ffff:ffff:ffff:ffff");
}

TEST(Cidr, RejectsMalformed) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "1.2.3.4.5", "::1/129",
                          "10.0.0.0/8x", "abc", "10.0.0.256"})
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
}

TEST(Cidr, ZeroPrefixContainsFamily) {
  auto any4 = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(any4);
  EXPECT_TRUE(any4->contains(*IpAddr::parse("255.1.2.3")));
  EXPECT_FALSE(any4->contains(*IpAddr::parse("::1")));
}

TEST(PortRange, ParseAndMatch) {
  auto p = PortRange::parse("22/80");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->matches(22));
  EXPECT_TRUE(p->matches(80));
  EXPECT_FALSE(p->matches(81));
  auto any = PortRange::parse("-1/-1");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->isAny());
  EXPECT_TRUE(any->matches(0));
  EXPECT_FALSE(PortRange::parse("22"));
  EXPECT_FALSE(PortRange::parse("a/b"));
}

TEST(Text, ParseIntIsStrict) {
  EXPECT_EQ(parseInt("42"), 42);
  EXPECT_EQ(parseInt("-1"), -1);
  EXPECT_FALSE(parseInt("4 2"));
  EXPECT_FALSE(parseInt(""));
  EXPECT_FALSE(parseInt("99999999999999999999"));
}

}  // namespace
}  // namespace sgsim
