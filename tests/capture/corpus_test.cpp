// The tcpdump project's 830 regression captures, many malformed on purpose: every one is read and every
// frame decoded without a crash, and sgsim reads as many frames as libpcap delivers to tcpdump. pcapng files are
// read by sgsim's own reader: each is also read by libpcap here, and every frame libpcap delivers must be the
// same frame (time, lengths, bytes, link type).

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../shared_corpus.h"
#include "sgsim/capture/capture_reader.h"
#include "sgsim/decode/decoder.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

struct IndexRow {
  std::string file;
  long packets = -1;
  bool tcpdumpOk = false;
};

// tcpdump-INDEX.tsv: a header line naming the columns, then one row per file.
std::vector<IndexRow> readIndex(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<IndexRow> rows;
  if (!std::getline(in, line)) return rows;
  auto split = [](const std::string& s) {
    std::vector<std::string> cells;
    std::stringstream ss(s);
    std::string cell;
    while (std::getline(ss, cell, '\t')) cells.push_back(cell);
    return cells;
  };
  const auto header = split(line);
  auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    return header.size();
  };
  const std::size_t fileCol = column("file"), packetsCol = column("tcpdump_packets"),
                    statusCol = column("tcpdump_status");
  while (std::getline(in, line)) {
    const auto cells = split(line);
    if (fileCol >= cells.size()) continue;
    IndexRow row{cells[fileCol]};
    if (packetsCol < cells.size() && !cells[packetsCol].empty())
      row.packets = std::strtol(cells[packetsCol].c_str(), nullptr, 10);
    row.tcpdumpOk = statusCol < cells.size() && cells[statusCol] == "ok";
    rows.push_back(row);
  }
  return rows;
}

struct LibpcapFrame {
  std::int64_t tsNs;
  std::uint32_t capLen, wireLen;
  std::vector<std::uint8_t> bytes;
};

// libpcap's frames of a file (nanosecond precision) and whether it read it to its end without an error.
std::pair<std::vector<LibpcapFrame>, bool> readWithLibpcap(const std::string& path, int& linkType) {
  std::vector<LibpcapFrame> frames;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) return {frames, false};
  linkType = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    std::int64_t ns = 0;
    if (__builtin_mul_overflow(static_cast<std::int64_t>(h->ts.tv_sec), std::int64_t{1000000000}, &ns) ||
        __builtin_add_overflow(ns, static_cast<std::int64_t>(h->ts.tv_usec), &ns))
      ns = h->ts.tv_sec < 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
    frames.push_back({ns, h->caplen, h->len, std::vector<std::uint8_t>(data, data + h->caplen)});
  }
  pcap_close(p);
  return {frames, rc == PCAP_ERROR_BREAK};
}

TEST(Corpus, TcpdumpCapturesReadAndDecodeLikeLibpcap) {
  SGSIM_NEED_CORPUS("tcpdump");
  SGSIM_NEED_CORPUS("tcpdump-INDEX.tsv");
  const fs::path corpus = test::corpusPath("");
  const auto index = readIndex(corpus / "tcpdump-INDEX.tsv");
  std::map<std::string, const IndexRow*> byFile;
  for (const auto& row : index) byFile[row.file] = &row;

  std::map<std::string, long> linkTypes, statuses, undecodable;
  long files = 0, unopened = 0, endedOnError = 0, frames = 0, compared = 0;
  long pcapngFiles = 0, pcapngLibpcapWhole = 0, pcapngFramesCompared = 0;
  for (const auto& entry : fs::directory_iterator(corpus / "tcpdump")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string name = "tcpdump/" + entry.path().filename().string();
    SCOPED_TRACE(name);
    auto reader = CaptureReader::open(entry.path().string(), 0);
    long read = 0;
    if (reader) {
      const bool pcapng = (*reader)->isPcapng();
      std::vector<LibpcapFrame> ours;
      std::set<int> fileLinkTypes;
      Frame f;
      while ((*reader)->next(f)) {
        ++read;
        fileLinkTypes.insert(f.linkType);
        // An exact-size copy: a reader's buffer is larger, and a sanitizer should see any read past capLen.
        const std::vector<std::uint8_t> bytes(f.data, f.data + f.capLen);
        const PacketKey key = decodeFrame(f.linkType, bytes.data(), f.capLen);
        ASSERT_NE(key.detail, nullptr);
        ++statuses[decodeStatusName(key.status)];
        if (key.status == DecodeStatus::Undecodable) ++undecodable[key.detail];
        if (pcapng) ours.push_back({f.tsNs, f.capLen, f.wireLen, bytes});
      }
      if (fileLinkTypes.empty()) fileLinkTypes.insert((*reader)->linkType());
      for (int lt : fileLinkTypes) ++linkTypes[linkTypeName(lt)];
      if ((*reader)->error()) {
        ++endedOnError;
        EXPECT_EQ((*reader)->error()->where.rfind(entry.path().string() + ": frame ", 0), 0u);
      }
      if (pcapng) {
        // libpcap as the reference: every frame it delivers is ours too; when it reads the whole file, so do we.
        ++pcapngFiles;
        int libpcapLinkType = -1;
        const auto [theirs, whole] = readWithLibpcap(entry.path().string(), libpcapLinkType);
        if (whole) {
          ++pcapngLibpcapWhole;
          EXPECT_FALSE((*reader)->error()) << (*reader)->error()->toString();
          EXPECT_EQ(ours.size(), theirs.size());
          for (int lt : fileLinkTypes) EXPECT_EQ(lt, libpcapLinkType);
        }
        for (std::size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
          SCOPED_TRACE(testing::Message() << "frame " << i + 1);
          EXPECT_EQ(ours[i].tsNs, theirs[i].tsNs);
          EXPECT_EQ(ours[i].capLen, theirs[i].capLen);
          EXPECT_EQ(ours[i].wireLen, theirs[i].wireLen);
          EXPECT_EQ(ours[i].bytes, theirs[i].bytes);
          ++pcapngFramesCompared;
        }
      }
    } else {
      ++unopened;
      EXPECT_EQ(reader.error().where, entry.path().string());
    }
    frames += read;
    const auto it = byFile.find(name);
    if (it != byFile.end() && it->second->tcpdumpOk && it->second->packets >= 0) {
      ++compared;
      EXPECT_EQ(read, it->second->packets) << "frames read vs libpcap's count in the index";
    }
  }
  ASSERT_GT(files, 0);
  EXPECT_GT(compared, files / 2) << "the index should describe most files";
  EXPECT_GT(statuses["ok"], 0);
  EXPECT_GT(pcapngLibpcapWhole, 0);

  std::cout << "corpus: " << files << " files, " << unopened << " not opened, " << endedOnError
            << " ended on a bad record, " << frames << " frames, " << compared << " counts compared\n  link types:";
  for (const auto& [name, n] : linkTypes) std::cout << ' ' << name << '=' << n;
  std::cout << "\n  decode:";
  for (const auto& [name, n] : statuses) std::cout << ' ' << name << '=' << n;
  std::cout << "\n  pcapng: " << pcapngFiles << " files, " << pcapngLibpcapWhole << " read whole by libpcap too, "
            << pcapngFramesCompared << " frames compared with libpcap's";
  std::cout << "\n  undecodable:";
  for (const auto& [detail, n] : undecodable) std::cout << " [" << detail << "]=" << n;
  std::cout << '\n';
}

}  // namespace
}  // namespace sgsim
