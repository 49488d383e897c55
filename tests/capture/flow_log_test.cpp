// The flow-log reader (capture/flow_log.h): CSV in any column order, JSON Lines, gzip, bad records named by line,
// the merge's order (the session mapping's tie rules).

#include "sgsim/capture/flow_log.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace sgsim {
namespace {

const char* kHeader =
    "version,vswitch-id,vm-id,vpc-id,account-id,eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,packets,"
    "bytes,start,end,log-status,action,tcp-flags\n";

std::vector<FlowRecord> readAll(FlowLogReader& r) {
  std::vector<FlowRecord> out;
  FlowRecord rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}

TEST(FlowLogReader, CsvInDocumentedOrder) {
  auto r = FlowLogReader::fromText(std::string(kHeader) +
                                       "1,vsw-1,i-1,vpc-1,123,eni-web,203.0.113.10,47553,10.0.0.5,22,6,in,12,3400,"
                                       "1714554025,1714554085,OK,ACCEPT,27\n",
                                   "flows.csv");
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ((*r)->format(), FlowLogFormat::Csv);
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 1u);
  const FlowRecord& x = recs[0];
  EXPECT_EQ(x.line, 2u);
  EXPECT_EQ(x.eni.view(), "eni-web");
  EXPECT_EQ(x.src, *IpAddr::parse("203.0.113.10"));
  EXPECT_EQ(x.sport, 47553);
  EXPECT_EQ(x.dst, *IpAddr::parse("10.0.0.5"));
  EXPECT_EQ(x.dport, 22);
  EXPECT_EQ(x.proto, 6);
  EXPECT_TRUE(x.inbound);
  EXPECT_TRUE(x.accept);
  EXPECT_EQ(x.packets, 12u);
  EXPECT_EQ(x.bytes, 3400u);
  EXPECT_EQ(x.startNs, 1714554025LL * 1'000'000'000);
  EXPECT_EQ(x.endNs, 1714554085LL * 1'000'000'000);
  EXPECT_TRUE(x.hasTcpFlags);
  EXPECT_EQ(x.tcpFlags, 27);
  EXPECT_EQ(x.version, 1);
  EXPECT_EQ(x.vswitch.view(), "vsw-1");
}

TEST(FlowLogReader, CsvAnyColumnOrderExtraColumnsIgnored) {
  auto r = FlowLogReader::fromText(
      "action,extra,Bytes,packets,end,start,log-status,direction,protocol,dstport,dstaddr,srcport,srcaddr,eni_id\n"
      "REJECT,whatever,60,1,100,100,OK,out,17,53,100.100.2.136,5353,10.0.0.5,eni-web\n",
      "any.csv");
  ASSERT_TRUE(r) << r.error().toString();
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].accept);
  EXPECT_FALSE(recs[0].inbound);
  EXPECT_EQ(recs[0].proto, 17);
  EXPECT_EQ(recs[0].dport, 53);
  EXPECT_EQ(recs[0].bytes, 60u);
  EXPECT_FALSE(recs[0].hasTcpFlags);  // no tcp-flags column: allowed
  EXPECT_EQ(recs[0].eni.view(), "eni-web");
}

TEST(FlowLogReader, MissingRequiredColumnIsFatalAndNamed) {
  auto r = FlowLogReader::fromText("srcaddr,dstaddr,srcport,dstport,protocol,direction,packets,bytes,start,end\n",
                                   "short.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(),
            "short.csv: line 1: the CSV header lacks the required columns eni-id, log-status, action (a flow log's "
            "first line names its columns: version,vswitch-id,…,action,tcp-flags)");
}

TEST(FlowLogReader, EmptyFileIsFatal) {
  auto r = FlowLogReader::fromText("", "empty.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "empty.csv");
}

TEST(FlowLogReader, JsonLinesStringsOrNumbers) {
  auto r = FlowLogReader::fromText(
      "{\"eni-id\":\"eni-web\",\"srcaddr\":\"2001:db8::7\",\"srcport\":\"51514\",\"dstaddr\":\"2001:db8:10::5\","
      "\"dstport\":443,\"protocol\":6,\"direction\":\"in\",\"packets\":3,\"bytes\":\"180\",\"start\":1700000000,"
      "\"end\":1700000001,\"log-status\":\"OK\",\"action\":\"ACCEPT\",\"tcp-flags\":2,\"region\":\"cn-hangzhou\"}\n"
      "{\"eni-id\":\"eni-web\",\"log-status\":\"NODATA\",\"start\":1700000000,\"end\":1700000060}\n",
      "flows.jsonl");
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ((*r)->format(), FlowLogFormat::Jsonl);
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].line, 1u);
  EXPECT_EQ(recs[0].src, *IpAddr::parse("2001:db8::7"));
  EXPECT_EQ(recs[0].sport, 51514);
  EXPECT_EQ(recs[0].bytes, 180u);
  EXPECT_EQ(recs[0].tcpFlags, 2);
  EXPECT_EQ(recs[0].region.view(), "cn-hangzhou");
  EXPECT_EQ((*r)->noData(), 1u);
  EXPECT_TRUE((*r)->warnings().empty());
}

TEST(FlowLogReader, BadRecordsAreSkippedCountedAndNamedByLine) {
  std::string text = kHeader;
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,70000,6,in,1,60,100,100,OK,ACCEPT,2\n";     // line 2: port
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,in,1,60,100,100,OK,DENY,2\n";          // line 3: action
  text += "1,v,i,p,a,eni-web,10.0.0.999,1,10.0.0.5,22,6,in,1,60,100,100,OK,ACCEPT,2\n";      // line 4: address
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6\n";                                    // line 5: short
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,sideways,1,60,100,100,OK,ACCEPT,2\n";  // line 6
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,in,1,60,200,100,OK,ACCEPT,2\n";        // line 7: end < start
  text += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,in,1,60,100,100,OK,ACCEPT,2\n";        // line 8: good
  auto r = FlowLogReader::fromText(text, "bad.csv");
  ASSERT_TRUE(r);
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].line, 8u);
  EXPECT_EQ((*r)->badRecords(), 6u);
  EXPECT_FALSE((*r)->error());
  const auto w = (*r)->warnings();
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[0].toString(), "bad.csv: line 2: record skipped: dstport \"70000\" is not a port 0-65535");
  EXPECT_EQ(w[1].toString(), "bad.csv: line 3: record skipped: action \"DENY\" is not ACCEPT or REJECT");
  EXPECT_EQ(w[2].toString(), "bad.csv: line 4: record skipped: srcaddr \"10.0.0.999\" is not an IP address");
  EXPECT_EQ(w[3].toString(), "bad.csv: line 5: record skipped: 11 fields where the header has 19");
  EXPECT_EQ(w[4].toString(), "bad.csv: line 6: record skipped: direction \"sideways\" is not in or out");
  EXPECT_EQ(w[5].toString(), "bad.csv: line 7: record skipped: end 100 is before start 200");
}

TEST(FlowLogReader, SkipDataWarnsThatRecordsWereLost) {
  std::string text = kHeader;
  text += "1,v,i,p,a,eni-web,-,-,-,-,-,-,-,-,100,160,SKIPDATA,-,-\n";
  auto r = FlowLogReader::fromText(text, "skip.csv");
  ASSERT_TRUE(r);
  EXPECT_TRUE(readAll(**r).empty());
  EXPECT_EQ((*r)->skipData(), 1u);
  const auto w = (*r)->warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].where, "skip.csv: line 2");
  EXPECT_NE(w[0].message.find("1 SKIPDATA record"), std::string::npos);
}

TEST(FlowLogReader, BadJsonLineNamed) {
  auto r = FlowLogReader::fromText("{\"eni-id\":\"eni-web\",\"srcaddr\":[1]}\n", "x.jsonl");
  ASSERT_TRUE(r);
  EXPECT_TRUE(readAll(**r).empty());
  const auto w = (*r)->warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].toString(),
            "x.jsonl: line 1: record skipped: JSON: the value of \"srcaddr\" is not a string or a number");
}

TEST(FlowLogReader, GzipDetectedByContent) {
  const std::string path = ::testing::TempDir() + "/flows_gz.log";  // no .gz in the name: content decides
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  std::string text = kHeader;
  for (int i = 0; i < 5000; ++i)
    text += "1,v,i,p,a,eni-web,10.0.0.9," + std::to_string(1000 + i) + ",10.0.0.5,22,6,in,1,60,100,100,OK,ACCEPT,2\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  auto r = FlowLogReader::open(path, 3);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_TRUE((*r)->gzip());
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 5000u);
  EXPECT_EQ(recs.back().sport, 5999);
  EXPECT_EQ(recs.back().fileIndex, 3);
  EXPECT_FALSE((*r)->error());
}

TEST(FlowLogReader, TruncatedGzipIsFatalAfterTheRecordsBeforeIt) {
  const std::string path = ::testing::TempDir() + "/flows_cut.csv.gz";
  gzFile gz = gzopen(path.c_str(), "wb");
  std::string text = kHeader;
  for (int i = 0; i < 20000; ++i)
    text += "1,v,i,p,a,eni-web,10.0.0.9," + std::to_string(1000 + i % 50000) + ",10.0.0.5,22,6,in,1,60," +
            std::to_string(100 + i) + ",200000,OK,ACCEPT,2\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<long>(bytes.size() / 2));
  auto r = FlowLogReader::open(path, 0);
  ASSERT_TRUE(r) << r.error().toString();
  const auto recs = readAll(**r);
  EXPECT_GT(recs.size(), 0u);
  EXPECT_LT(recs.size(), 20000u);
  ASSERT_TRUE((*r)->error());
  EXPECT_NE((*r)->error()->toString().find("flows_cut.csv.gz: line "), std::string::npos);
}

// The reader reads the usual dotted quad itself and leaves every other text to IpAddr::parse: on random
// address-like text (seeded), a record is delivered exactly when IpAddr::parse reads its srcaddr as an IPv4
// address, and with that address.
TEST(FlowLogReader, AddressesReadAsIpAddrParseReadsThem) {
  std::mt19937 rng(20261206);
  const std::string alphabet = "0123456789.";
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i) {
    std::string t;
    if (i % 2 == 0) {  // a quad, perhaps with leading zeros or numbers above 255
      for (int part = 0; part < 4; ++part) {
        if (part > 0) t += '.';
        const unsigned kind = rng() % 8;
        if (kind == 0) t += '0';
        t += std::to_string(kind == 1 ? rng() % 1000 : rng() % 256);
      }
      if (rng() % 10 == 0) t += rng() % 2 ? "." : "1";
    } else {
      const std::size_t n = 1 + rng() % 17;
      for (std::size_t k = 0; k < n; ++k) t += alphabet[rng() % alphabet.size()];
    }
    texts.push_back(t);
  }
  texts.insert(texts.end(), {"0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.", ".1.2.3", "1..2.3",
                             "01.2.3.4", "1.2.3.04", "1.2.3.4 5", "1.2.3.-4", "1.2.3.4x"});
  std::string csv = kHeader;
  for (const std::string& t : texts)
    csv += "1,v,i,p,a,eni-1," + t + ",1000,10.0.0.1,80,6,in,1,60,100,100,OK,ACCEPT,2\n";
  auto r = FlowLogReader::fromText(csv, "flows.csv");
  ASSERT_TRUE(r) << r.error().toString();
  const auto recs = readAll(**r);
  std::size_t at = 0, good = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto want = IpAddr::parse(texts[i]);
    if (!want || !want->isV4()) continue;
    ++good;
    ASSERT_LT(at, recs.size()) << texts[i];
    EXPECT_EQ(recs[at].line, i + 2) << texts[i];
    EXPECT_EQ(recs[at].src, *want) << texts[i];
    ++at;
  }
  EXPECT_EQ(recs.size(), good);
  EXPECT_EQ((*r)->badRecords(), texts.size() - good);
  EXPECT_GT(good, 2000u);  // the test covers both sides
  EXPECT_GT(texts.size() - good, 5000u);
}

// The one-pass reading of usual CSV lines (FlowLogReader::parseCsvFast) and the general one (parseCsv) agree on every
// line: the same records with the same fields, the same bad records named alike, the same NODATA and SKIPDATA counts.
// Random files: columns in any order, extra and missing optional columns, and values as flow logs write them or
// disturbed (quoted, blank around them, CRLF, leading zeros, numbers too large, other spellings, missing fields).
std::string describe(const FlowRecord& r) {
  std::string s = std::to_string(r.line) + "|" + std::to_string(r.fileIndex) + "|" +
                  std::to_string(static_cast<int>(r.status)) + "|" + std::to_string(r.accept) +
                  std::to_string(r.inbound) + std::to_string(r.hasTcpFlags) + "|" + std::to_string(r.proto) + "|" +
                  std::to_string(r.tcpFlags) + "|" + std::to_string(r.sport) + "|" + std::to_string(r.dport) + "|" +
                  r.src.toString() + "|" + r.dst.toString() + "|" + std::to_string(r.packets) + "|" +
                  std::to_string(r.bytes) + "|" + std::to_string(r.startNs) + "|" + std::to_string(r.endNs) + "|" +
                  std::to_string(r.version) + "|" + std::to_string(r.trafficPath);
  for (const FlowText* t : {&r.eni, &r.vm, &r.vswitch, &r.vpc, &r.account, &r.region, &r.srcType, &r.dstType})
    s += "|" + std::string(t->view());
  return s;
}

TEST(FlowLogReader, OnePassCsvReadingAgreesWithTheGeneralOne) {
  std::mt19937 rng(20261207);
  auto pick = [&](std::initializer_list<std::string> xs) { return xs.begin()[rng() % xs.size()]; };
  auto num = [&](std::uint64_t max) { return std::to_string(rng() % (max + 1)); };
  const std::vector<std::string> required = {"eni-id",   "srcaddr",    "srcport", "dstaddr", "dstport",
                                             "protocol", "direction",  "packets", "bytes",   "start",
                                             "end",      "log-status", "action"};
  const std::vector<std::string> optional = {"version",    "vswitch-id", "vm-id",        "vpc-id",
                                             "account-id", "tcp-flags",  "traffic_path", "srctype",
                                             "dsttype",    "region",     "__topic__",    "extra"};
  // SLS's default columns in their order (read by a path of their own), sometimes followed by one not read.
  const std::vector<std::string> defaults = {"version",  "vswitch-id", "vm-id",   "vpc-id",   "account-id",
                                             "eni-id",   "srcaddr",    "srcport", "dstaddr",  "dstport",
                                             "protocol", "direction",  "packets", "bytes",    "start",
                                             "end",      "log-status", "action",  "tcp-flags"};
  std::size_t fast = 0, bad = 0, lines = 0, inDefaultOrder = 0;
  for (int file = 0; file < 90; ++file) {
    std::vector<std::string> cols = required;
    if (file >= 60) {
      cols = defaults;
      if (file % 2 == 0) cols.push_back(pick({"extra", "__topic__"}));
    } else {
      for (const auto& c : optional)
        if (rng() % 3 != 0) cols.push_back(c);
      std::shuffle(cols.begin(), cols.end(), rng);
    }
    std::string text;
    for (std::size_t i = 0; i < cols.size(); ++i) text += (i ? "," : "") + cols[i];
    text += rng() % 4 == 0 ? "\r\n" : "\n";
    for (int rec = 0; rec < 400; ++rec) {
      const std::uint64_t start = 1767225600 + rng() % 1000;
      std::vector<std::string> vals;
      for (const auto& c : cols) {
        std::string v;
        if (c == "eni-id")
          v = pick({"eni-a", "eni-b", "eni-a", "-", "", "eni-" + std::string(40, 'x'), "\"\"\"q\"\"\"", "\"\"q\"\""});
        else if (c == "srcaddr" || c == "dstaddr")
          v = rng() % 10 == 0 ? pick({"2001:db8::1", "10.0.0.256", "010.0.0.1", "1.2.3", "x", ""})
                              : "10." + num(255) + "." + num(255) + "." + num(255);
        else if (c == "srcport" || c == "dstport")
          v = rng() % 10 == 0 ? pick({"-", "", "65536", "007", "99999999999999999999", "+1"}) : num(65535);
        else if (c == "protocol")
          v = rng() % 10 == 0 ? pick({"256", "-1", "tcp", "06"}) : pick({"6", "17", "1"});
        else if (c == "direction")
          v = rng() % 10 == 0 ? pick({"IN", "both", ""}) : pick({"in", "out"});
        else if (c == "packets" || c == "bytes")
          v = rng() % 10 == 0 ? pick({"18446744073709551615", "18446744073709551616", "1e3", "", "0"}) : num(100000);
        else if (c == "start")
          v = rng() % 10 == 0 ? pick({"1767225600.5", "9000000001", "x"}) : std::to_string(start);
        else if (c == "end")
          v = rng() % 10 == 0 ? pick({"1767225599", "1767225700.25", ""}) : std::to_string(start + 59);
        else if (c == "log-status")
          v = rng() % 8 == 0 ? pick({"NODATA", "SKIPDATA", "ok", "Ok", "BAD", ""}) : "OK";
        else if (c == "action")
          v = rng() % 10 == 0 ? pick({"accept", "Reject", "DENY", ""}) : pick({"ACCEPT", "REJECT"});
        else if (c == "tcp-flags")
          v = rng() % 10 == 0 ? pick({"-", "", "256", "x"}) : num(63);
        else if (c == "version" || c == "traffic_path")
          v = rng() % 10 == 0 ? pick({"", "-", "2147483648", "v1"}) : num(3);
        else
          v = pick({"vsw-1", "i-1", "vpc-1", "1234567890123456", "", "cn-hangzhou", "a b"});
        const unsigned disturb = rng() % 40;
        if (disturb == 0)
          v = "\"" + v + "\"";
        else if (disturb == 1)
          v = " " + v;
        else if (disturb == 2)
          v += "\t";
        else if (disturb == 3)
          v = "\"" + v + "\"\"x\" ";
        vals.push_back(v);
      }
      if (rng() % 50 == 0) vals.pop_back();  // a field short
      if (rng() % 50 == 0) vals.push_back("more");
      std::string line;
      for (std::size_t i = 0; i < vals.size(); ++i) line += (i ? "," : "") + vals[i];
      text += line + (rng() % 4 == 0 ? "\r\n" : "\n");
      if (rng() % 100 == 0) text += "\n";  // a blank line
      ++lines;
    }
    auto a = FlowLogReader::fromText(text, "random.csv");
    auto b = FlowLogReader::fromText(text, "random.csv");
    ASSERT_TRUE(a && b);
    (*b)->setFastCsv(false);
    const auto ra = readAll(**a), rb = readAll(**b);
    ASSERT_EQ(ra.size(), rb.size()) << "file " << file;
    for (std::size_t i = 0; i < ra.size(); ++i) ASSERT_EQ(describe(ra[i]), describe(rb[i])) << "file " << file;
    EXPECT_EQ((*a)->badRecords(), (*b)->badRecords());
    EXPECT_EQ((*a)->noData(), (*b)->noData());
    EXPECT_EQ((*a)->skipData(), (*b)->skipData());
    const auto wa = (*a)->warnings(), wb = (*b)->warnings();
    ASSERT_EQ(wa.size(), wb.size());
    for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].toString(), wb[i].toString());
    fast += ra.size();
    if (file >= 60) inDefaultOrder += ra.size();
    bad += (*a)->badRecords();
  }
  // Both kinds of line are met: records read, and records refused; and records read in the default order.
  EXPECT_GT(fast, lines / 20);
  EXPECT_GT(inDefaultOrder, lines / 60);
  EXPECT_GT(bad, lines / 10);
}

TEST(FlowLogReader, ParsingAheadOnAThreadReadsWhatNextReads) {
  // parseAhead() (the index pass) hands out the records, counts, warnings and error that next() reads on its own:
  // logs of a few records to many batches (512 records each; exactly full batches too), bad, NODATA and SKIPDATA
  // records, a fatal line (longer than 1 MiB) after thousands of records, and a reader dropped while its thread runs.
  std::mt19937 rng(5);
  for (int round = 0; round < 24; ++round) {
    const std::size_t records =
        round < 4 ? std::size_t{512} * static_cast<std::size_t>(round) : rng() % 9000 + (round % 3 == 0 ? 4096 : 1);
    std::string text = kHeader;
    for (std::size_t i = 0; i < records; ++i) {
      const unsigned kind = rng() % 50;
      const std::string status = kind == 0 ? "NODATA" : kind == 1 ? "SKIPDATA" : "OK";
      text += "1,vsw-1,i-1,vpc-1,1234,eni-" + std::to_string(rng() % 3) + ",10.0.0." + std::to_string(rng() % 256) +
              "," + std::to_string(rng() % 65536) + ",10.0.1.1," + (kind == 2 ? "99999" : "443") + ",6,in," +
              std::to_string(rng() % 100) + ",1000," + std::to_string(1767225600 + i / 10) + "," +
              std::to_string(1767225660 + i / 10) + "," + status + ",ACCEPT,2\n";
    }
    if (round % 6 == 5) text += std::string(FlowLogReader::kMaxLine * 4, 'x') + "\n1,2,3\n";
    auto plain = FlowLogReader::fromText(text, "log.csv");
    auto ahead = FlowLogReader::fromText(text, "log.csv");
    ASSERT_TRUE(plain && ahead);
    (*plain)->hashLines();
    (*ahead)->hashLines();
    (*ahead)->parseAhead();
    if (round % 8 == 7) {  // dropped with its thread busy or waiting on a full ring
      FlowRecord r;
      ASSERT_TRUE((*ahead)->next(r));
      ahead->reset();
      continue;
    }
    const auto a = readAll(**plain), b = readAll(**ahead);
    ASSERT_EQ(a.size(), b.size()) << "round " << round;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(describe(a[i]), describe(b[i])) << "round " << round << ", record " << i;
      ASSERT_EQ(a[i].offset, b[i].offset);
      ASSERT_EQ(a[i].lineHash, b[i].lineHash);
    }
    FlowRecord r;
    EXPECT_FALSE((*ahead)->next(r)) << "and false again after the end";
    EXPECT_EQ((*plain)->records(), (*ahead)->records());
    EXPECT_EQ((*plain)->badRecords(), (*ahead)->badRecords());
    EXPECT_EQ((*plain)->noData(), (*ahead)->noData());
    EXPECT_EQ((*plain)->skipData(), (*ahead)->skipData());
    ASSERT_EQ((*plain)->error().has_value(), (*ahead)->error().has_value());
    if ((*plain)->error()) {
      EXPECT_EQ((*plain)->error()->toString(), (*ahead)->error()->toString());
    }
    EXPECT_EQ(round % 6 == 5, (*ahead)->error().has_value());
    const auto wa = (*plain)->warnings(), wb = (*ahead)->warnings();
    ASSERT_EQ(wa.size(), wb.size());
    for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].toString(), wb[i].toString());
  }
}

TEST(FlowLogReader, ADamagedGzipLogEndsAtTheSameRecordOnEveryReading) {
  // A gzip log is inflated on a thread of its own, up to 8 in a process, and past that on the reading thread; zlib
  // drops what a failing call had inflated, so both inflate in blocks of one size: 12 readers of one damaged log at
  // once (4 of them past the cap), read at different paces (one record at a time, or parsed ahead), hand out the
  // same records and end on the same error. And an intact log reads whole on each.
  const std::string path = ::testing::TempDir() + "/flows_damaged.csv.gz";
  std::string text = kHeader;
  std::mt19937 rng(23);
  for (int i = 0; i < 60000; ++i)
    text += "1,v,i,p,a,eni-web,10.0.0." + std::to_string(rng() % 200) + "," + std::to_string(1000 + rng() % 50000) +
            ",10.0.0.5,22,6,in,1,60," + std::to_string(100 + i) + ",200000,OK,ACCEPT,2\n";
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  std::ifstream in(path, std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  for (const int damage : {0, 1, 2}) {  // cut short, bytes inverted (a data error), intact
    const bool damaged = damage < 2;
    if (damage == 0) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() * 47 / 100);
    } else if (damage == 1) {
      std::string bytes = whole;
      for (std::size_t at = bytes.size() / 2; at < bytes.size() / 2 + 64; ++at)
        bytes[at] = static_cast<char>(~bytes[at]);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    } else {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << whole;
    }
    std::vector<std::unique_ptr<FlowLogReader>> readers;
    for (int i = 0; i < 12; ++i) {
      auto r = FlowLogReader::open(path, 0);
      ASSERT_TRUE(r) << r.error().toString();
      if (i % 3 == 0) (*r)->parseAhead();
      readers.push_back(std::move(*r));
    }
    std::vector<std::vector<std::string>> got(readers.size());
    for (bool more = true; more;) {  // round robin, reader i taking i + 1 records a turn
      more = false;
      for (std::size_t i = 0; i < readers.size(); ++i) {
        FlowRecord r;
        for (std::size_t k = 0; k <= i && readers[i]->next(r); ++k) {
          got[i].push_back(describe(r));
          more = true;
        }
      }
    }
    for (std::size_t i = 0; i < readers.size(); ++i) {
      EXPECT_EQ(got[i], got[0]) << "reader " << i;
      ASSERT_EQ(readers[i]->error().has_value(), damaged);
      if (damaged) {
        EXPECT_EQ(readers[i]->error()->toString(), readers[0]->error()->toString());
      }
    }
    if (damaged) {
      EXPECT_GT(got[0].size(), 10000u);
      EXPECT_LT(got[0].size(), damage == 0 ? 50000u : 60000u);
    } else {
      EXPECT_EQ(got[0].size(), 60000u);
    }
  }
}

TEST(FlowLogReader, CopyTextHandsOverTheWholeDecompressedTextInOrder) {
  // copyText() (the index of a gzip log keeps a plain copy): every byte of the text, from the first (the header and
  // the blank lines before it), in order, once; on the reading thread or on parseAhead's; for gzip and plain files
  // and texts up to several of the reader's buffers long; what was read before a fatal line, or a gzip file cut.
  std::mt19937 rng(17);
  const std::string dir = ::testing::TempDir();
  for (int round = 0; round < 12; ++round) {
    std::string text = std::string(rng() % 3 == 0 ? rng() % 5000 : 0, '\n') + kHeader;
    const std::size_t records = round < 2 ? 60000 : rng() % 8000;
    for (std::size_t i = 0; i < records; ++i)
      text += "1,v,i,p,a,eni-web,10.0.0.9," + std::to_string(1000 + rng() % 5000) + ",10.0.0.5,22,6,in,1,60," +
              std::to_string(100 + i) + ",200000," + (rng() % 40 == 0 ? "NODATA" : "OK") + ",ACCEPT,2\n";
    if (round % 5 == 4) text += std::string(FlowLogReader::kMaxLine * 2, 'x') + "\n1,2,3\n";  // fatal
    const bool gzip = round % 2 == 0, ahead = round % 4 < 2;
    const std::string path = dir + "/copy_" + std::to_string(round) + (gzip ? ".csv.gz" : ".csv");
    std::string onDisk = text;
    if (gzip) {
      gzFile gz = gzopen(path.c_str(), "wb");
      ASSERT_NE(gz, nullptr);
      ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
      ASSERT_EQ(gzclose(gz), Z_OK);
      if (round == 6) {  // cut in the middle: the copy is what was decompressed, a prefix of the text
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            .write(bytes.data(), static_cast<long>(bytes.size() / 2));
      }
    } else {
      std::ofstream(path, std::ios::binary) << text;
    }
    auto r = FlowLogReader::open(path, 0);
    ASSERT_TRUE(r) << r.error().toString();
    std::string copy;
    std::size_t calls = 0;
    ASSERT_TRUE((*r)->copyText([&](std::string_view t) {
      copy.append(t);
      ++calls;
    }));
    if (ahead) (*r)->parseAhead();
    FlowRecord rec;
    std::uint64_t lastOffset = 0;
    while ((*r)->next(rec)) lastOffset = rec.offset;
    if (round == 6) {
      ASSERT_TRUE((*r)->error());
      EXPECT_LT(copy.size(), text.size());
      EXPECT_EQ(copy, text.substr(0, copy.size())) << "round " << round;
      EXPECT_GT(copy.size(), lastOffset);
    } else if (round % 5 == 4) {
      ASSERT_TRUE((*r)->error());
      EXPECT_EQ(copy, text.substr(0, copy.size())) << "round " << round;
      EXPECT_GT(copy.size(), text.size() - FlowLogReader::kMaxLine * 2);  // up to the fatal line
    } else {
      EXPECT_FALSE((*r)->error()) << (*r)->error()->toString();
      EXPECT_EQ(copy.size(), text.size()) << "round " << round;
      EXPECT_TRUE(copy == text) << "round " << round;
    }
    if (round < 2) {
      EXPECT_GT(calls, 1u);
    }
  }
}

// Numbers are whole decimal numbers as std::from_chars reads them (digits only: no sign, no blank), up to the limit.
TEST(FlowLogReader, NumbersReadAsFromCharsReadsThem) {
  std::mt19937 rng(7);
  std::vector<std::string> texts = {"0",
                                    "007",
                                    "18446744073709551615",
                                    "18446744073709551616",
                                    "99999999999999999999",
                                    "+1",
                                    "-1",
                                    " 1",
                                    "1 ",
                                    "1x",
                                    "",
                                    "0x10",
                                    "123456789012345678901234"};
  for (int i = 0; i < 3000; ++i) {
    std::string t;
    const std::size_t n = 1 + rng() % 22;
    for (std::size_t k = 0; k < n; ++k) t += "0123456789"[rng() % 10];
    if (rng() % 10 == 0) t.insert(rng() % t.size(), 1, "x+- ."[rng() % 5]);
    texts.push_back(t);
  }
  for (const bool fastCsv : {true, false}) {
    std::string csv = kHeader;
    for (const std::string& t : texts)
      csv += "1,v,i,p,a,eni-1,10.0.0.2,1000,10.0.0.1,80,6,in,1," + t + ",100,100,OK,ACCEPT,2\n";
    auto r = FlowLogReader::fromText(csv, "numbers.csv");
    ASSERT_TRUE(r);
    (*r)->setFastCsv(fastCsv);
    const auto recs = readAll(**r);
    std::size_t at = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string& t = texts[i];
      std::uint64_t want = 0;
      const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), want);
      // The reader trims blanks around a value before reading it (as before).
      const bool blank = !t.empty() && (t.front() == ' ' || t.back() == ' ');
      if (blank) {
        while (at < recs.size() && recs[at].line == i + 2) ++at;
        continue;
      }
      if (ec != std::errc() || p != t.data() + t.size() || t.empty()) continue;
      ASSERT_LT(at, recs.size()) << t;
      EXPECT_EQ(recs[at].line, i + 2) << t;
      EXPECT_EQ(recs[at].bytes, want) << t;
      ++at;
    }
    EXPECT_EQ(at, recs.size());
  }
}

// Ids are kept once per reader: each record's views stay right after many other ids were read, and a value longer
// than FlowText::kCapacity is cut with a '~'.
TEST(FlowLogReader, IdsKeptAcrossRecordsAndCut) {
  std::string csv = kHeader;
  const std::string longId = "eni-" + std::string(40, 'x');
  for (int i = 0; i < 3000; ++i)
    csv += "1,vsw-" + std::to_string(i % 7) + ",i-" + std::to_string(i) + ",vpc-1,1," +
           (i % 3 == 0 ? longId : "eni-" + std::to_string(i % 5)) +
           ",10.0.0.2,1000,10.0.0.1,80,6,in,1,60,100,100,OK,ACCEPT,2\n";
  auto r = FlowLogReader::fromText(csv, "flows.csv");
  ASSERT_TRUE(r) << r.error().toString();
  const auto recs = readAll(**r);
  ASSERT_EQ(recs.size(), 3000u);
  for (int i = 0; i < 3000; ++i) {
    const FlowRecord& x = recs[static_cast<std::size_t>(i)];
    EXPECT_EQ(x.vswitch.view(), "vsw-" + std::to_string(i % 7));
    EXPECT_EQ(x.vm.view(), "i-" + std::to_string(i));
    EXPECT_EQ(x.vpc.view(), "vpc-1");
    EXPECT_EQ(x.eni.view(),
              i % 3 == 0 ? longId.substr(0, FlowText::kCapacity - 1) + "~" : "eni-" + std::to_string(i % 5));
    EXPECT_EQ(x.region.view(), "");
  }
}

TEST(FlowLogReader, MissingFileNamed) {
  auto r = FlowLogReader::open("/nonexistent/flows.csv", 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(), "/nonexistent/flows.csv: cannot open flow log: No such file or directory");
}

// The session mapping's order: by start; at equal start SYN-without-ACK first, then the record to the server port.
TEST(MergedFlowLog, TiesPutTheLikelyOpenerFirst) {
  std::string text = kHeader;
  text += "1,v,i,p,a,eni-web,10.0.0.5,22,203.0.113.10,40000,6,out,5,500,100,110,OK,ACCEPT,18\n";  // reply, l.2
  text += "1,v,i,p,a,eni-web,203.0.113.10,40000,10.0.0.5,22,6,in,5,500,100,110,OK,ACCEPT,24\n";   // to :22, l.3
  text += "1,v,i,p,a,eni-web,10.0.0.5,5000,203.0.113.9,8000,6,out,1,60,100,100,OK,ACCEPT,18\n";   // l.4
  text += "1,v,i,p,a,eni-web,203.0.113.9,8000,10.0.0.5,5000,6,in,1,60,100,100,OK,ACCEPT,2\n";     // SYN only, l.5
  text += "1,v,i,p,a,eni-web,203.0.113.10,40001,10.0.0.5,22,6,in,1,60,90,90,OK,ACCEPT,2\n";       // earlier, l.6
  auto r = FlowLogReader::fromText(text, "ties.csv");
  ASSERT_TRUE(r);
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*r));
  MergedFlowLog merged(std::move(readers));
  std::vector<std::uint64_t> lines;
  Frame f;
  while (merged.next(f)) {
    ASSERT_NE(f.record, nullptr);
    lines.push_back(f.number);
  }
  EXPECT_EQ(lines, (std::vector<std::uint64_t>{6, 5, 3, 2, 4}));
  EXPECT_EQ(merged.lateRecords(), 0u);
}

TEST(MergedFlowLog, FilesMergedByStart) {
  std::string a = kHeader, b = kHeader;
  a += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,in,1,60,300,300,OK,ACCEPT,2\n";
  b += "1,v,i,p,a,eni-web,10.0.0.9,2,10.0.0.5,22,6,in,1,60,100,100,OK,ACCEPT,2\n";
  b += "1,v,i,p,a,eni-web,10.0.0.9,3,10.0.0.5,22,6,in,1,60,500,500,OK,ACCEPT,2\n";
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*FlowLogReader::fromText(a, "a.csv", 0)));
  readers.push_back(std::move(*FlowLogReader::fromText(b, "b.csv", 1)));
  MergedFlowLog merged(std::move(readers));
  std::vector<std::uint16_t> ports;
  Frame f;
  while (merged.next(f)) ports.push_back(f.record->sport);
  EXPECT_EQ(ports, (std::vector<std::uint16_t>{2, 1, 3}));
}

// keepHandedOut(n): a record handed out stays as it was for n further calls, though the window reuses its slots.
TEST(MergedFlowLog, RecordsHandedOutAreKeptForTheCallsAsked) {
  std::string a = kHeader;
  for (int i = 0; i < 2000; ++i)  // starts far apart: each record leaves the window as soon as the next is read
    a += "1,v,i,p,a,eni-web,10.0.0.9," + std::to_string(i + 1) + ",10.0.0.5,22,6,in,1,60," +
         std::to_string(1000 + 200 * i) + "," + std::to_string(1000 + 200 * i) + ",OK,ACCEPT,2\n";
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*FlowLogReader::fromText(a, "kept.csv", 0)));
  MergedFlowLog merged(std::move(readers));
  constexpr std::size_t kKeep = 300;
  merged.keepHandedOut(kKeep);
  std::vector<const FlowRecord*> out;
  Frame f;
  while (merged.next(f)) {
    out.push_back(f.record);
    // Every record handed out in the last kKeep calls still holds its own fields.
    const std::size_t from = out.size() > kKeep ? out.size() - kKeep : 0;
    for (std::size_t k = from; k < out.size(); k += 37) {
      ASSERT_EQ(out[k]->sport, k + 1) << "record " << k << " at call " << out.size();
      ASSERT_EQ(out[k]->line, k + 2);
    }
  }
  ASSERT_EQ(out.size(), 2000u);
  // The slots are reused, not grown: the window held a few records, plus the kKeep kept.
  std::sort(out.begin(), out.end());
  EXPECT_LT(std::unique(out.begin(), out.end()) - out.begin(), static_cast<std::ptrdiff_t>(kKeep + 10));
  merged.releaseMemory();
}

TEST(MergedFlowLog, RecordsFarOutOfOrderAreLateAndWarned) {
  std::string a = kHeader;
  a += "1,v,i,p,a,eni-web,10.0.0.9,1,10.0.0.5,22,6,in,1,60,1000,1000,OK,ACCEPT,2\n";
  a += "1,v,i,p,a,eni-web,10.0.0.9,2,10.0.0.5,22,6,in,1,60,1200,1200,OK,ACCEPT,2\n";
  a += "1,v,i,p,a,eni-web,10.0.0.9,3,10.0.0.5,22,6,in,1,60,1050,1050,OK,ACCEPT,2\n";  // within 120 s: reordered
  a += "1,v,i,p,a,eni-web,10.0.0.9,4,10.0.0.5,22,6,in,1,60,1500,1500,OK,ACCEPT,2\n";
  a += "1,v,i,p,a,eni-web,10.0.0.9,5,10.0.0.5,22,6,in,1,60,900,900,OK,ACCEPT,2\n";  // 600 s behind: late
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*FlowLogReader::fromText(a, "late.csv", 0)));
  MergedFlowLog merged(std::move(readers));
  std::vector<std::uint16_t> ports;
  Frame f;
  while (merged.next(f)) ports.push_back(f.record->sport);
  EXPECT_EQ(ports, (std::vector<std::uint16_t>{1, 3, 2, 5, 4}));
  EXPECT_EQ(merged.lateRecords(), 1u);
  const auto w = merged.warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].where, "late.csv: line 6");
}

}  // namespace
}  // namespace sgsim
