#include "sgsim/report/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <functional>
#include <random>
#include <set>

#include "sgsim/core/shard.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/report/whatif_report.h"

namespace sgsim {
namespace {

namespace json = boost::json;

// A random run, seeded: frames of conversations between a few addresses (IPv4 and IPv6, two captures), some of whose
// conversations change fate. Each shard's report is built from the frames and flows of its conversations only, as a
// run over the shard's traffic makes it (the engine's exactness is the e2e test's: here the merge rules are under
// test), and the whole run's from all of them.
struct Conversation {
  std::uint8_t proto = 6;
  IpAddr a, b;
  std::uint16_t sport = 0, dport = 0;
  std::vector<Frame> frames;
  std::optional<ChangedFlow> changed;
};

struct World {
  std::vector<std::string> captures;
  std::vector<Conversation> conversations;
  std::vector<std::pair<Frame, PacketKey>> notIp;  // shard 1's
  std::optional<std::int64_t> atNs;
  std::uint64_t cutAtInstant[8] = {};  // per shard (index 1..)
};

World randomWorld(std::mt19937& rng, std::uint32_t shards) {
  World w;
  const bool two = rng() % 2;
  w.captures = two ? std::vector<std::string>{"a.pcap", "b.pcap"} : std::vector<std::string>{"a.pcap"};
  std::vector<IpAddr> pool;
  for (const char* s : {"10.0.0.5", "10.0.0.6", "203.0.113.10", "203.0.113.11", "198.51.100.7", "2001:db8::1",
                        "2001:db8::2", "192.0.2.1"})
    pool.push_back(*IpAddr::parse(s));
  std::set<std::tuple<int, IpAddr, IpAddr, int, int>> seen;
  const int n = 5 + static_cast<int>(rng() % 40);
  std::uint64_t frameNumber[2] = {0, 0};
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  for (int i = 0; i < n; ++i) {
    Conversation c;
    c.proto = std::array<std::uint8_t, 3>{6, 17, 1}[rng() % 3];
    c.a = pool[rng() % pool.size()];
    c.b = pool[rng() % pool.size()];
    if (c.a.isV4() != c.b.isV4() || c.a == c.b) continue;
    c.sport = static_cast<std::uint16_t>(c.proto == 1 ? 0 : 40000 + rng() % 3);
    c.dport = static_cast<std::uint16_t>(c.proto == 1 ? 0 : std::array<int, 3>{22, 443, 53}[rng() % 3]);
    auto lo = std::min(c.a, c.b), hi = std::max(c.a, c.b);
    if (!seen.insert({c.proto, lo, hi, std::min(c.sport, c.dport), std::max(c.sport, c.dport)}).second) continue;
    const int frames = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < frames; ++k) {
      Frame f;
      f.fileIndex = static_cast<std::uint16_t>(two ? rng() % 2 : 0);
      f.number = ++frameNumber[f.fileIndex];
      f.tsNs = t0 + static_cast<std::int64_t>(rng() % 5) * 1'000'000'000;  // ties on purpose
      f.wireLen = std::array<std::uint32_t, 2>{60, 120}[rng() % 2];
      c.frames.push_back(f);
    }
    if (rng() % 3 != 0) {
      ChangedFlow f;
      f.proto = c.proto;
      f.src = c.a;
      f.dst = c.b;
      f.sport = c.sport;
      f.dport = c.dport;
      f.openerSeen = rng() % 2;
      f.direction = rng() % 2 ? Direction::Ingress : Direction::Egress;
      // Few distinct figures: the ranking's tie-breakers decide often.
      f.packets = 1 + rng() % 2;
      f.bytes = 60 * f.packets;
      const Frame& first = c.frames[rng() % c.frames.size()];
      f.firstNs = first.tsNs;
      f.lastNs = first.tsNs + 1'000'000'000;
      f.firstFrame = first.number;
      f.firstFile = first.fileIndex;
      const bool cut = rng() % 2;
      f.before = SideDecision{cut ? Verdict::Accept : Verdict::Drop,
                              cut ? Reason::Rule : Reason::Default,
                              rng() % 2 ? "eni-web" : "eni-db",
                              Direction::Ingress,
                              cut ? "sgr-ssh" : "",
                              ""};
      const int fb = static_cast<int>(rng() % 3);
      f.after = SideDecision{cut ? Verdict::Drop : Verdict::Accept,
                             fb == 0 ? Reason::Default : Reason::Rule,
                             f.before.eniId,
                             Direction::Ingress,
                             fb == 0   ? ""
                             : fb == 1 ? "sgr-a"
                                       : "sgr-b",
                             fb == 0 ? "" : "sg-web"};
      if (!cut && fb == 0) f.after.reason = Reason::IntraGroup, f.after.groupId = "sg-db";
      c.changed = f;
    }
    w.conversations.push_back(std::move(c));
  }
  const int arp = static_cast<int>(rng() % 3);
  for (int i = 0; i < arp; ++i) {
    Frame f;
    f.fileIndex = 0;
    f.number = ++frameNumber[0];
    f.tsNs = t0 + static_cast<std::int64_t>(rng() % 5) * 1'000'000'000;
    f.wireLen = 42;
    PacketKey k;
    k.status = DecodeStatus::NotIp;
    k.detail = rng() % 2 ? "ARP" : "ethertype 0x88cc";
    w.notIp.emplace_back(f, k);
  }
  if (rng() % 2) w.atNs = t0 + static_cast<std::int64_t>(rng() % 7 - 1) * 1'000'000'000;
  for (std::uint32_t k = 1; k <= shards; ++k) w.cutAtInstant[k] = rng() % 3;
  return w;
}

std::uint32_t shardOf(const Conversation& c, std::uint32_t n) { return shardOfPair(c.a, c.b, n); }

PacketVerdict verdictFor(const Conversation& c, std::size_t i) {
  PacketVerdict v;
  v.verdict = (c.proto + i) % 2 ? Verdict::Accept : Verdict::Drop;
  v.reason = c.proto == 1 ? Reason::Default : Reason::Rule;
  return v;
}

// The stats of the frames in `shard` of `n` (0: all): frames in capture order (time, then file and number).
ReplayStats statsOf(const World& w, std::uint32_t shard, std::uint32_t n) {
  std::vector<std::tuple<std::int64_t, std::uint16_t, std::uint64_t, Frame, PacketKey, PacketVerdict>> all;
  for (const Conversation& c : w.conversations) {
    if (shard != 0 && shardOf(c, n) != shard) continue;
    for (std::size_t i = 0; i < c.frames.size(); ++i) {
      PacketKey k;
      k.status = DecodeStatus::Ok;
      k.proto = c.proto;
      k.src = c.a;
      k.dst = c.b;
      all.emplace_back(c.frames[i].tsNs, c.frames[i].fileIndex, c.frames[i].number, c.frames[i], k, verdictFor(c, i));
    }
  }
  if (shard <= 1)
    for (const auto& [f, k] : w.notIp) {
      PacketVerdict v;
      v.verdict = Verdict::None;
      v.reason = Reason::NotIp;
      all.emplace_back(f.tsNs, f.fileIndex, f.number, f, k, v);
    }
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
    return std::tie(std::get<0>(x), std::get<1>(x), std::get<2>(x)) <
           std::tie(std::get<0>(y), std::get<1>(y), std::get<2>(y));
  });
  ReplayStats s;
  s.setCaptures(w.captures);
  for (const auto& [t, file, number, f, k, v] : all) s.add(f, k, v);
  s.warnings.push_back(Error{"model.json: groups[0].rules[2]", "names prefix list pl-x, which the model lacks"});
  return s;
}

WhatIfReport whatifOf(const World& w, std::uint32_t shard, std::uint32_t n) {
  WhatIfReport r;
  r.captures = w.captures;
  r.stats = statsOf(w, shard, n);
  // A shard run judges --at by the whole stream, as the pass records it (ReplayStats::stream).
  const ReplayStats whole = statsOf(w, 0, n);
  r.stats.stream = ReplayStats::StreamSpan{whole.frames, whole.firstNs, whole.lastNs};
  r.requests.push_back(
      AppliedRequest{"revoke.json", "RevokeSecurityGroup", "sg-web", "req-1", {}, {}, Product::Ecs, {}});
  r.atNs = w.atNs;
  r.totals.frames = r.stats.frames;
  for (const Conversation& c : w.conversations) {
    if (!c.changed || (shard != 0 && shardOf(c, n) != shard)) continue;
    r.flows.push_back(*c.changed);
    r.totals.changedPackets += c.changed->packets;
    r.totals.changedBytes += c.changed->bytes;
    ++(changeKind(*c.changed) == "cut" ? r.totals.cut : r.totals.opened);
  }
  for (std::uint32_t k = 1; k <= n; ++k)
    if (shard == 0 || shard == k) r.totals.flowsCutAtInstant += w.cutAtInstant[k];
  std::sort(r.flows.begin(), r.flows.end(), rankedBefore);
  if (shard != 0) r.shard = Shard{shard, n};
  return r;
}

std::string replayOf(const World& w, std::uint32_t shard, std::uint32_t n, const Network& net) {
  return renderReplayJson(statsOf(w, shard, n), w.captures, net,
                          shard != 0 ? std::optional<Shard>(Shard{shard, n}) : std::nullopt);
}

std::vector<ReportFile> shardFiles(const std::vector<std::string>& texts) {
  std::vector<ReportFile> files;
  for (std::size_t i = 0; i < texts.size(); ++i)
    files.push_back({"shard-" + std::to_string(i + 1) + ".json", texts[i]});
  return files;
}

std::string answerOf(const std::vector<ReportFile>& files, const MergeOptions& o) {
  auto m = mergeReports(files, o);
  return m ? m->json : "error: " + m.error().toString();
}

// The merged report or "error: …", the same whether the rows are read and written on one thread or on two (every
// test that merges through here checks both).
std::string mergedOrError(const std::vector<ReportFile>& files, MergeOptions o = {}) {
  const std::string one = answerOf(files, o);
  o.twoThreadsFrom = 1;
  EXPECT_EQ(answerOf(files, o), one) << "on two threads";
  return one;
}

const Network& emptyNetwork() {
  static const Network net{Model{}};
  return net;
}

TEST(Merge, ShardedWhatIfReportsMergeIntoTheUnshardedOneByteForByte) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 200; ++round) {
    const std::uint32_t n = std::array<std::uint32_t, 4>{1, 2, 3, 5}[round % 4];
    const World w = randomWorld(rng, n);
    const std::string whole = renderWhatIfJson(whatifOf(w, 0, n));
    std::vector<std::string> texts;
    for (std::uint32_t k = 1; k <= n; ++k) texts.push_back(renderWhatIfJson(whatifOf(w, k, n)));
    if (n == 1) texts = {whole};  // one unsharded report: the identity
    ASSERT_EQ(mergedOrError(shardFiles(texts)), whole) << "round " << round << ", " << n << " shards";
  }
}

TEST(Merge, ShardedReplaySummariesMergeIntoTheUnshardedOne) {
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {
    const std::uint32_t n = std::array<std::uint32_t, 4>{1, 2, 3, 5}[round % 4];
    const World w = randomWorld(rng, n);
    const std::string whole = replayOf(w, 0, n, emptyNetwork());
    std::vector<std::string> texts;
    for (std::uint32_t k = 1; k <= n; ++k) texts.push_back(replayOf(w, k, n, emptyNetwork()));
    ASSERT_EQ(mergedOrError(shardFiles(texts)), whole) << "round " << round << ", " << n << " shards";
  }
}

TEST(Merge, IsCommutativeAndAssociativeThroughPartialMerges) {
  std::mt19937 rng(99);
  MergeOptions partial;
  partial.partial = true;
  for (int round = 0; round < 60; ++round) {
    const std::uint32_t n = 3 + round % 3;
    const World w = randomWorld(rng, n);
    std::vector<ReportFile> files;
    for (std::uint32_t k = 1; k <= n; ++k)
      files.push_back({"s" + std::to_string(k), renderWhatIfJson(whatifOf(w, k, n))});
    const std::string whole = mergedOrError(files);
    ASSERT_EQ(whole, renderWhatIfJson(whatifOf(w, 0, n)));
    std::vector<ReportFile> shuffled = files;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(mergedOrError(shuffled), whole) << "order of the reports";
    // merge(merge(a, b), rest) == merge(a, merge(b, rest)) == merge(all)
    const std::string ab = mergedOrError({shuffled[0], shuffled[1]}, partial);
    ASSERT_NE(ab.rfind("error: ", 0), 0u) << ab;
    EXPECT_NE(ab.find("\"shard\""), std::string::npos) << "a partial merge names its shards";
    std::vector<ReportFile> rest(shuffled.begin() + 2, shuffled.end());
    const std::string restMerged = mergedOrError(rest, partial);
    std::vector<ReportFile> left = {{"ab", ab}};
    left.insert(left.end(), rest.begin(), rest.end());
    EXPECT_EQ(mergedOrError(left), whole);
    EXPECT_EQ(mergedOrError({shuffled[0], {"b-rest", mergedOrError({shuffled[1], {"rest", restMerged}}, partial)}}),
              whole);
  }
}

// Two shards of one small run, for the refusals.
std::vector<ReportFile> twoShards() {
  std::mt19937 rng(5);
  World w;
  do w = randomWorld(rng, 2);
  while (w.conversations.size() < 4);
  return {{"shard-1.json", renderWhatIfJson(whatifOf(w, 1, 2))}, {"shard-2.json", renderWhatIfJson(whatifOf(w, 2, 2))}};
}

std::string edited(const std::string& text, const std::function<void(json::object&)>& edit) {
  json::value v = json::parse(text);
  edit(v.as_object());
  return json::serialize(v);
}

TEST(Merge, RefusesWhatCannotBeMergedExactlyNamingTheFileAndMember) {
  auto files = twoShards();
  EXPECT_EQ(mergedOrError({files[0]}),
            "error: shard 2 of 2 missing (given: 1): merge every shard's report (or --partial for a report of some)");
  EXPECT_EQ(mergedOrError({files[0], files[0]}),
            "error: shard-1.json: shard: shard 1/2 is given twice: give each shard once");
  auto bad = files;
  bad[1].text = edited(bad[1].text, [](json::object& o) { o["totals"].as_object()["changedFlows"] = "many"; });
  EXPECT_EQ(mergedOrError(bad), "error: shard-2.json: totals.changedFlows: not a count (a whole number, 0 or more)");
  bad = files;
  bad[1].text = edited(bad[1].text, [](json::object& o) { o["colour"] = "blue"; });
  EXPECT_NE(mergedOrError(bad).find("error: shard-2.json: colour: not a member merge knows here"), std::string::npos);
  bad = files;
  bad[1].text =
      edited(bad[1].text, [](json::object& o) { o["requests"].as_array()[0].as_object()["requestId"] = "x"; });
  EXPECT_NE(mergedOrError(bad).find("error: shard-2.json: requests: differs from shard-1.json's"), std::string::npos);
  bad = files;
  bad[1].text = "{\"captures\": [";
  EXPECT_NE(mergedOrError(bad).find("error: shard-2.json: not JSON"), std::string::npos);
  bad = files;
  bad[1].text = replayOf(World{}, 2, 2, emptyNetwork());
  EXPECT_EQ(mergedOrError(bad),
            "error: shard-2.json: a replay --format json report, but shard-1.json is a whatif "
            "report: merge the reports of one command");
  bad = files;
  bad[1].text = edited(bad[1].text, [](json::object& o) { o["shard"].as_object()["count"] = 3; });
  EXPECT_NE(mergedOrError(bad).find("error: shard-2.json: shard.count: shards of 3, but shard-1.json is one of 2"),
            std::string::npos);
}

TEST(Merge, ASpaceRegionIsTouchedWhenSomeShardsTrafficTouchedIt) {
  auto files = twoShards();
  const bool touched[2][3] = {{false, true, false}, {false, false, false}};
  for (int k = 0; k < 2; ++k)
    files[k].text = edited(files[k].text, [&](json::object& o) {
      json::array regions;
      for (int i = 0; i < 3; ++i) regions.push_back(json::object{{"eni", "eni-web"}, {"touched", touched[k][i]}});
      o["space"] = json::object{{"regions", std::move(regions)}, {"notProven", json::array{}}, {"truncated", false}};
    });
  const std::string m = mergedOrError(files);
  ASSERT_NE(m.rfind("error: ", 0), 0u) << m;
  const json::value merged = json::parse(m);
  const json::array& regions = merged.at("space").at("regions").as_array();
  ASSERT_EQ(regions.size(), 3u);
  EXPECT_EQ(regions[0].at("touched"), false);
  EXPECT_EQ(regions[1].at("touched"), true);
  EXPECT_EQ(regions[2].at("touched"), false);
  files[1].text = edited(files[1].text, [](json::object& o) {
    o["space"].as_object()["regions"].as_array()[2].as_object()["eni"] = "eni-db";
  });
  EXPECT_NE(mergedOrError(files).find("error: shard-2.json: space: differs from shard-1.json's"), std::string::npos);
}

TEST(Merge, RefusesADriftListCutShort) {
  ReplayStats s;
  s.setCaptures({"flows.log"});
  s.flowLog = true;
  s.flowLogCounts.driftRecords = 3;
  DriftRow r;
  r.records = 2;
  r.src = *IpAddr::parse("10.0.0.1");
  r.dst = *IpAddr::parse("10.0.0.2");
  r.firstLine = 2;
  s.drift.push_back(r);
  const std::string text = renderReplayJson(s, {"flows.log"}, emptyNetwork(), std::nullopt);
  const std::string m = mergedOrError({{"cut.json", text}});
  EXPECT_NE(m.find("error: cut.json: drift: its rows hold 2 of the 3 drift records"), std::string::npos) << m;
}

TEST(Merge, TheFullFlowTablesWarningSumsItsCountsAndStaysLast) {
  std::vector<std::string> texts;
  for (std::uint32_t k = 1; k <= 2; ++k) {
    ReplayStats s;
    s.setCaptures({"a.pcap"});
    s.warnings.push_back(Error{"model.json", "a warning every shard has"});
    s.flowCapHits = s.untracked = k * 10;
    s.maxFlows = 100;
    texts.push_back(renderReplayJson(s, {"a.pcap"}, emptyNetwork(), Shard{k, 2}));
  }
  const std::string m = mergedOrError(shardFiles(texts));
  const json::array w = json::parse(m).at("warnings").as_array();
  ASSERT_EQ(w.size(), 3u) << m;
  EXPECT_EQ(w[0].at("message"), "a warning every shard has");
  EXPECT_EQ(w[1].at("message"),
            "the flow table was full: 30 packets were decided without connection state (raise --max-flows)");
  // Each shard's table was its own: the merged figures are not one run's, and the report says so.
  EXPECT_NE(std::string(w[2].at("message").as_string()).find("each shard's run had a flow table of its own"),
            std::string::npos);
  auto merged = mergeReports(shardFiles(texts));
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->notes.size(), 1u);
}

// A JSON value written with blanks of every kind between its tokens (and none here and there).
void spaced(const json::value& v, std::mt19937& rng, std::string& out) {
  static const char* const blanks[] = {"", " ", "\n", "\r\n\t ", "  "};
  const auto blank = [&] { out += blanks[rng() % std::size(blanks)]; };
  blank();
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ',';
      first = false;
      blank();
      out += json::serialize(json::value(kv.key()));
      blank();
      out += ':';
      spaced(kv.value(), rng, out);
    }
    blank();
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    for (std::size_t i = 0; i < v.get_array().size(); ++i) {
      if (i) out += ',';
      spaced(v.get_array()[i], rng, out);
    }
    blank();
    out += ']';
  } else {
    out += json::serialize(v);
  }
  blank();
}

TEST(Merge, ReadsReportsInAnyLayoutOfTheirJson) {
  // merge reads the long lists (flows, drift) row by row from the text rather than into a tree: the reports
  // re-written compact, with blanks anywhere, or with a list's key escaped merge as sgsim's own layout does.
  std::mt19937 rng(44);
  std::size_t rows = 0;
  for (int round = 0; round < 80; ++round) {
    const std::uint32_t n = 2 + round % 3;
    const World w = randomWorld(rng, n);
    const std::string whole = renderWhatIfJson(whatifOf(w, 0, n));
    rows += json::parse(whole).at("flows").as_array().size();
    std::vector<std::string> texts;
    for (std::uint32_t k = 1; k <= n; ++k) {
      std::string t = renderWhatIfJson(whatifOf(w, k, n));
      switch (round % 4) {
        case 0:
          t = json::serialize(json::parse(t));
          break;
        case 1: {
          std::string out;
          spaced(json::parse(t), rng, out);
          t = out;
          break;
        }
        case 2: {  // "fl\u006fws": the same key, read into the tree
          t = json::serialize(json::parse(t));
          const auto at = t.find("\"flows\":");
          ASSERT_NE(at, std::string::npos);
          t.replace(at, 8, "\"fl\\u006fws\":");
          break;
        }
        default:
          break;
      }
      texts.push_back(t);
    }
    ASSERT_EQ(mergedOrError(shardFiles(texts)), whole) << "round " << round << ", layout " << round % 4;
  }
  EXPECT_GT(rows, 400u) << "the worlds have flows to list";
}

TEST(Merge, TextThatIsNotJsonIsRefusedAsJsonParseWordsIt) {
  // Wherever a report is broken (in a row of its long lists, between them or elsewhere), merge says what json::parse
  // says of the whole text, never merges what it could read of it.
  const auto files = twoShards();
  ASSERT_GT(json::parse(files[0].text).at("flows").as_array().size() +
                json::parse(files[1].text).at("flows").as_array().size(),
            2u);
  std::mt19937 rng(8);
  const char bytes[] = {'"', ',', ']', '}', '[', '{', ':', ' ', 'x', '\\', '1', '\n', '-', 'e'};
  int broken = 0;
  for (int round = 0; round < 4000; ++round) {
    auto f = files;
    std::string& t = f[round % 2].text;
    if (round % 8 == 7) t = json::serialize(json::parse(t));
    const std::size_t at = rng() % t.size();
    switch (rng() % 3) {
      case 0:
        t.insert(at, 1, bytes[rng() % std::size(bytes)]);
        break;
      case 1:
        t.erase(at, 1);
        break;
      default:
        t.resize(at);
        break;
    }
    boost::system::error_code ec;
    json::parse(t, ec);
    if (!ec) continue;  // still JSON: ABrokenReportIsRefusedNeverACrash's matter
    ++broken;
    ASSERT_EQ(mergedOrError(f), "error: " + f[round % 2].name + ": not JSON (" + ec.message() +
                                    "): give the JSON reports of whatif, audit or replay --format json")
        << t;
  }
  EXPECT_GT(broken, 2000);
}

// Every node of a JSON value, to pick one to break.
void nodes(json::value& v, std::vector<json::value*>& out) {
  out.push_back(&v);
  if (v.is_object())
    for (auto& kv : v.get_object()) nodes(kv.value(), out);
  else if (v.is_array())
    for (auto& x : v.get_array()) nodes(x, out);
}

TEST(Merge, ABrokenReportIsRefusedNeverACrash) {
  // Seeded: each round replaces one node of a shard's report (or drops an object's member) with a value of
  // another shape; merge must answer with a report or an error, never throw.
  std::mt19937 rng(31);
  std::vector<std::vector<ReportFile>> sets = {twoShards()};
  {
    ReplayStats a, b;
    for (ReplayStats* s : {&a, &b}) {
      s->setCaptures({"f.log"});
      s->flowLog = true;
    }
    sets.push_back({{"r1.json", renderReplayJson(a, {"f.log"}, emptyNetwork(), Shard{1, 2})},
                    {"r2.json", renderReplayJson(b, {"f.log"}, emptyNetwork(), Shard{2, 2})}});
  }
  const json::value shapes[] = {nullptr, "x", -1, 1.5, json::array{}, json::object{}, true, 1u << 31};
  int refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<ReportFile> files = sets[round % sets.size()];
    ReportFile& f = files[rng() % files.size()];
    json::value v = json::parse(f.text);
    std::vector<json::value*> all;
    nodes(v, all);
    json::value* target = all[rng() % all.size()];
    if (target->is_object() && !target->get_object().empty() && rng() % 2) {
      auto& o = target->get_object();
      o.erase(std::next(o.begin(), static_cast<std::ptrdiff_t>(rng() % o.size())));
    } else {
      *target = shapes[rng() % std::size(shapes)];
    }
    f.text = json::serialize(v);
    Result<MergedReport> m = Error{};
    ASSERT_NO_THROW(m = mergeReports(files)) << f.text;
    refused += m ? 0 : 1;
    MergeOptions two;
    two.twoThreadsFrom = 1;
    ASSERT_EQ(answerOf(files, two), m ? m->json : "error: " + m.error().toString()) << "on two threads";
  }
  EXPECT_GT(refused, 1500) << "most broken reports are refused";
}

}  // namespace
}  // namespace sgsim
