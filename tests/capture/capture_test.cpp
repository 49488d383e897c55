// Reading captures as users hand them to sgsim: both pcap byte orders and timestamp precisions, pcapng,
// broken files, several files merged by time; and the pcap writer's files read back.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "../decode/frame_builder.h"
#include "../shared_corpus.h"
#include "../temp_files.h"
#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/report/pcap_writer.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using test::Bytes;

struct Record {
  std::int64_t tsNs;
  Bytes data;
  std::uint32_t wireLen = 0;  // 0: the data's size
};

// A 32- and a 16-bit field of a capture written by a machine of either byte order.
void put32In(Bytes& b, bool bigEndian, std::uint32_t v) { bigEndian ? test::put32(b, v) : test::putLe32(b, v); }
void put16In(Bytes& b, bool bigEndian, std::uint16_t v) {
  if (bigEndian) {
    test::put16(b, v);
  } else {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  }
}

// A classic pcap file header (version 2.minor).
void putPcapHeader(Bytes& b, bool bigEndian, bool nano, std::uint16_t minor, std::uint32_t snapLen,
                   std::uint32_t linkType) {
  put32In(b, bigEndian, nano ? 0xa1b23c4d : 0xa1b2c3d4);
  put16In(b, bigEndian, 2);
  put16In(b, bigEndian, minor);
  for (std::uint32_t v : {0U, 0U, snapLen, linkType}) put32In(b, bigEndian, v);
}

// Classic pcap, byte by byte, as a capture from a machine of either byte order would be.
Bytes classicPcap(bool bigEndian, bool nano, std::uint32_t linkType, const std::vector<Record>& records) {
  Bytes b;
  auto u32 = [&](std::uint32_t v) { put32In(b, bigEndian, v); };
  putPcapHeader(b, bigEndian, nano, 4, 65535, linkType);
  for (const auto& r : records) {
    u32(static_cast<std::uint32_t>(r.tsNs / 1000000000));
    u32(static_cast<std::uint32_t>(nano ? r.tsNs % 1000000000 : r.tsNs % 1000000000 / 1000));
    u32(static_cast<std::uint32_t>(r.data.size()));
    u32(r.wireLen != 0 ? r.wireLen : static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

// Minimal little-endian pcapng: SHB, one IDB with if_tsresol = 9 (nanoseconds), one EPB per record.
Bytes pcapng(std::uint16_t linkType, const std::vector<Record>& records) {
  Bytes b;
  auto u32 = [&](std::uint32_t v) { test::putLe32(b, v); };
  auto u16 = [&](std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  u32(0x0a0d0d0a);
  u32(28);
  u32(0x1a2b3c4d);
  u16(1);
  u16(0);
  u32(0xffffffff);
  u32(0xffffffff);
  u32(28);
  u32(1);
  u32(32);
  u16(linkType);
  u16(0);
  u32(0);
  u16(9);
  u16(1);
  b.insert(b.end(), {9, 0, 0, 0});  // if_tsresol: 10^-9
  u16(0);
  u16(0);  // opt_endofopt
  u32(32);
  for (const auto& r : records) {
    const auto padded = static_cast<std::uint32_t>((r.data.size() + 3) / 4 * 4);
    const std::uint32_t length = 32 + padded;
    const auto ts = static_cast<std::uint64_t>(r.tsNs);
    u32(6);
    u32(length);
    u32(0);
    u32(static_cast<std::uint32_t>(ts >> 32));
    u32(static_cast<std::uint32_t>(ts));
    u32(static_cast<std::uint32_t>(r.data.size()));
    u32(static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
    b.resize(b.size() + (padded - r.data.size()), 0);
    u32(length);
  }
  return b;
}

// A distinct, decodable frame per (file, number), so a test can tell frames apart by their bytes.
Bytes ethernetFrame(std::uint16_t sport, std::uint16_t dport) {
  return test::ethernet(0x0800, test::ipv4({}, test::tcpHeader(sport, dport, 0x02)));
}

std::vector<Frame> readAll(CaptureReader& reader, std::vector<Bytes>* data = nullptr) {
  std::vector<Frame> frames;
  Frame f;
  while (reader.next(f)) {
    frames.push_back(f);
    if (data != nullptr) data->emplace_back(f.data, f.data + f.capLen);
  }
  return frames;
}

const std::int64_t kT0 = 1700000000LL * 1000000000LL;

// A frame to hand to the writer; `bytes` must outlive it.
Frame frameOf(const Bytes& bytes, std::int64_t tsNs, int linkType = 1) {
  Frame f;
  f.tsNs = tsNs;
  f.linkType = linkType;
  f.data = bytes.data();
  f.capLen = f.wireLen = static_cast<std::uint32_t>(bytes.size());
  return f;
}

TEST(CaptureReader, ClassicPcapBothByteOrdersMicroAndNano) {
  test::TempDir dir{"sgsim-capture"};
  const std::vector<Record> records = {{kT0 + 123456789, ethernetFrame(1, 2)},
                                       {kT0 + 2000000001, ethernetFrame(3, 4), 1514}};
  for (bool bigEndian : {false, true}) {
    for (bool nano : {false, true}) {
      SCOPED_TRACE(testing::Message() << (bigEndian ? "big" : "little") << " endian, " << (nano ? "ns" : "us"));
      const std::string path = dir.file("t.pcap");
      test::writeFile(path, classicPcap(bigEndian, nano, 1, records));
      auto reader = CaptureReader::open(path, 3);
      ASSERT_TRUE(reader) << reader.error().toString();
      EXPECT_EQ((*reader)->linkType(), 1);
      std::vector<Bytes> data;
      const auto frames = readAll(**reader, &data);
      ASSERT_EQ(frames.size(), 2u);
      EXPECT_FALSE((*reader)->error());
      // Microsecond files lose the nanoseconds, nothing else.
      EXPECT_EQ(frames[0].tsNs, nano ? kT0 + 123456789 : kT0 + 123456000);
      EXPECT_EQ(frames[1].tsNs, nano ? kT0 + 2000000001 : kT0 + 2000000000);
      EXPECT_EQ(frames[0].number, 1u);
      EXPECT_EQ(frames[1].number, 2u);
      EXPECT_EQ(frames[1].wireLen, 1514u);
      EXPECT_EQ(frames[1].capLen, records[1].data.size());
      EXPECT_EQ(frames[0].fileIndex, 3);
      EXPECT_EQ(data[0], records[0].data);
      EXPECT_EQ(data[1], records[1].data);
    }
  }
}

TEST(CaptureReader, Pcapng) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("t.pcapng");
  test::writeFile(
      path, pcapng(113, {{kT0 + 5, test::sll(0x0800, test::ipv4({}, test::udpHeader(1, 2)))}, {kT0 + 7, {1, 2, 3}}}));
  auto reader = CaptureReader::open(path, 0);
  ASSERT_TRUE(reader) << reader.error().toString();
  EXPECT_EQ((*reader)->linkType(), 113);
  const auto frames = readAll(**reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].tsNs, kT0 + 5);
  EXPECT_EQ(frames[1].tsNs, kT0 + 7);
  EXPECT_EQ(frames[1].capLen, 3u);
  EXPECT_EQ(frames[1].linkType, 113);
}

TEST(CaptureReader, MissingAndNonCaptureFilesNameTheFile) {
  test::TempDir dir{"sgsim-capture"};
  const std::string missing = dir.file("missing.pcap");
  auto r1 = CaptureReader::open(missing, 0);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().where, missing);
  EXPECT_NE(r1.error().message.find("No such file"), std::string::npos) << r1.error().message;

  const std::string text = dir.file("notes.pcap");
  test::writeFile(text, Bytes(100, 'x'));
  auto r2 = CaptureReader::open(text, 0);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().toString().rfind(text + ": not a pcap or pcapng file (", 0), 0u) << r2.error().toString();
}

TEST(CaptureReader, TruncatedRecordKeepsEarlierFramesAndNamesTheFrame) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("cut.pcap");
  Bytes bytes =
      classicPcap(false, false, 1,
                  {{kT0, ethernetFrame(1, 2)}, {kT0 + 1000, ethernetFrame(3, 4)}, {kT0 + 2000, ethernetFrame(5, 6)}});
  bytes.resize(bytes.size() - 10);
  test::writeFile(path, bytes);
  auto reader = CaptureReader::open(path, 0);
  ASSERT_TRUE(reader);
  EXPECT_EQ(readAll(**reader).size(), 2u);
  ASSERT_TRUE((*reader)->error());
  EXPECT_EQ((*reader)->error()->where, path + ": frame 3");
  EXPECT_EQ((*reader)->error()->message.rfind("truncated record (", 0), 0u) << (*reader)->error()->message;
  Frame f;
  EXPECT_FALSE((*reader)->next(f));  // stays at the end
}

// A capture cut at any byte (a copy interrupted, a disk full): either it is refused at open, or the whole
// records before the cut are delivered and the first incomplete one is named.
TEST(CaptureReader, FileCutAtEveryByte) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("cut.pcap");
  const Bytes whole = classicPcap(true, true, 1, {{kT0, ethernetFrame(1, 1)}, {kT0 + 1, ethernetFrame(1, 2)}});
  const std::size_t firstRecordEnd = 24 + 16 + ethernetFrame(1, 1).size();
  for (std::size_t n = 0; n <= whole.size(); ++n) {
    SCOPED_TRACE(n);
    test::writeFile(path, Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n)));
    auto reader = CaptureReader::open(path, 0);
    if (n < 24) {
      EXPECT_FALSE(reader);
      continue;
    }
    ASSERT_TRUE(reader) << reader.error().toString();
    const std::size_t expected = n == whole.size() ? 2 : n >= firstRecordEnd ? 1 : 0;
    EXPECT_EQ(readAll(**reader).size(), expected);
    const bool cleanEnd = n == 24 || n == firstRecordEnd || n == whole.size();
    ASSERT_EQ((*reader)->error().has_value(), !cleanEnd);
    if (!cleanEnd) {
      EXPECT_EQ((*reader)->error()->where, path + ": frame " + std::to_string(expected + 1));
    }
  }
}

// Classic pcap read mapped (CaptureReadOptions) is read as libpcap reads it: on seeded random files of either byte
// order and precision, several link types, snapshot lengths and versions, with records libpcap truncates to the
// snapshot length, odd timestamps, caplen above len, a record cut short or a corrupt length, and windows small
// enough that records cross them, the frames (number, time, lengths, link type, bytes) and the error are libpcap's.
TEST(CaptureReader, MappedReadingIsLibpcapsOnRandomFiles) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("random.pcap");
  std::mt19937 rng(20261207);
  auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  const std::uint32_t linkTypes[] = {1, 101, 113, 228, 229, 0, 147, 189};
  const std::uint32_t snapLens[] = {65535, 262144, 96, 0, 300000, 1500};
  int mappedFiles = 0, cleanFiles = 0, errorFiles = 0;
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE(round);
    const bool big = pick(2) == 1, nano = pick(2) == 1;
    const std::uint32_t linkType = linkTypes[pick(8)];
    const std::uint32_t snapLen = snapLens[pick(6)];
    Bytes b;
    auto u32 = [&](std::uint32_t v) { put32In(b, big, v); };
    putPcapHeader(b, big, nano, pick(10) == 0 ? 3 : 4, snapLen, linkType);
    const std::uint32_t records = pick(40);
    for (std::uint32_t r = 0; r < records; ++r) {
      const std::uint32_t odd = pick(20);
      std::uint32_t capLen = pick(4) == 0 ? pick(2000) : 40 + pick(200);
      std::uint32_t wireLen = capLen + (pick(3) == 0 ? pick(100) : 0);
      if (odd == 0) wireLen = capLen > 0 ? capLen - 1 : 0;  // caplen above len
      std::uint32_t sec = 1700000000 + r, frac = pick(nano ? 1000000000 : 1000000);
      if (odd == 1) sec = 0x80000000U + pick(1000);                       // past 2038 as a signed field
      if (odd == 2) frac = (nano ? 1000000000U : 1000000U) + pick(5000);  // out of range
      u32(sec);
      u32(frac);
      u32(odd == 3 ? 0x7fffffffU : capLen);  // a corrupt length
      u32(wireLen);
      for (std::uint32_t i = 0; i < capLen; ++i) b.push_back(static_cast<std::uint8_t>(rng()));
    }
    if (pick(3) == 0 && b.size() > 24) b.resize(24 + pick(static_cast<std::uint32_t>(b.size() - 24)));  // cut short
    test::writeFile(path, b);

    auto viaLibpcap = CaptureReader::open(path, 2, CaptureReadOptions{false});
    auto mapped = CaptureReader::open(path, 2, CaptureReadOptions{true, std::size_t{1} << pick(14)});
    ASSERT_EQ(viaLibpcap.ok(), mapped.ok());
    if (!viaLibpcap) continue;
    EXPECT_FALSE((*viaLibpcap)->readingMapped());
    if ((*mapped)->readingMapped()) ++mappedFiles;
    std::vector<Bytes> wantData, gotData;
    const auto want = readAll(**viaLibpcap, &wantData);
    const auto got = readAll(**mapped, &gotData);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(got[i].number, want[i].number);
      EXPECT_EQ(got[i].tsNs, want[i].tsNs);
      EXPECT_EQ(got[i].capLen, want[i].capLen);
      EXPECT_EQ(got[i].wireLen, want[i].wireLen);
      EXPECT_EQ(got[i].linkType, want[i].linkType);
      EXPECT_EQ(got[i].fileIndex, 2);
      EXPECT_EQ(gotData[i], wantData[i]);
    }
    ASSERT_EQ((*mapped)->error().has_value(), (*viaLibpcap)->error().has_value());
    if ((*viaLibpcap)->error()) {
      ++errorFiles;
      EXPECT_EQ((*mapped)->error()->toString(), (*viaLibpcap)->error()->toString());
    } else {
      ++cleanFiles;
    }
    Frame f;
    EXPECT_FALSE((*mapped)->next(f));  // stays at the end
  }
  // The rounds met each case: files read mapped, files that end cleanly and files that end on an error.
  EXPECT_GT(mappedFiles, 50);
  EXPECT_GT(cleanFiles, 50);
  EXPECT_GT(errorFiles, 50);
}

// A plain pcap file of `records` Ethernet frames of 100 bytes (the frame's number in its first four bytes).
Bytes plainPcap(std::uint32_t records, std::uint32_t first = 1, bool header = true) {
  Bytes b;
  if (header) putPcapHeader(b, false, false, 4, 65535, 1);
  for (std::uint32_t r = first; r < first + records; ++r) {
    for (std::uint32_t v : {1700000000U + r, 0U, 100U, 100U}) test::putLe32(b, v);
    test::putLe32(b, r);
    b.resize(b.size() + 96, 0x5a);
  }
  return b;
}

// scanRange (the index parts' reading, several records at once in lanes) gives exactly what readRange and next() give,
// record by record: the same records, offsets, times and lengths, numbered alike, the same start, end, refusal and
// error. Random captures with frames of every size, some holding chains of fake records (so that lanes start inside
// a frame and must be dropped), some with a record the mapped reading does not take, some cut short; random part
// bounds and window sizes (so that windows, lanes and part ends fall anywhere).
TEST(CaptureReader, ScanRangeReadsWhatReadRangeReadsRecordByRecord) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("scan.pcap");
  std::mt19937 rng(20261208);
  auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  std::uint64_t dropped = 0, refusedParts = 0, parts = 0;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(round);
    const bool big = pick(2) == 1, nano = pick(2) == 1;
    Bytes b;
    auto u32 = [&](std::uint32_t v) { put32In(b, big, v); };
    putPcapHeader(b, big, nano, 4, 65535, 1);
    const std::uint32_t records = 500 + pick(4000);
    // A record of `capLen` random bytes, or of fake records (each 16-byte header and a payload) filling it.
    auto record = [&](std::uint32_t capLen, bool fake, std::uint32_t sec) {
      u32(sec);
      u32(pick(nano ? 1000000000 : 1000000));
      u32(capLen);
      u32(capLen + (pick(4) == 0 ? pick(50) : 0));
      const std::size_t end = b.size() + capLen;
      while (fake && end - b.size() >= 16 + 40) {
        const auto inner = static_cast<std::uint32_t>(std::min<std::size_t>(40 + pick(200), end - b.size() - 16));
        for (std::uint32_t v : {sec, 0U, inner, inner}) put32In(b, big, v);
        for (std::uint32_t i = 0; i < inner; ++i) b.push_back(static_cast<std::uint8_t>(rng()));
      }
      while (b.size() < end) b.push_back(static_cast<std::uint8_t>(rng()));
    };
    for (std::uint32_t r = 0; r < records; ++r) {
      const std::uint32_t kind = pick(100);
      if (kind < 3) {
        record(2000 + pick(30000), true, 1700000000 + r);
      } else if (kind < 5) {
        record(20000 + pick(45000), false, 1700000000 + r);
      } else if (kind == 5 && round % 4 == 3) {
        u32(1700000000 + r);
        u32(0);
        u32(70000);  // above the snapshot length: not taken mapped
        u32(70000);
      } else {
        record(pick(10) == 0 ? pick(40) : 54 + pick(1500), false, 1700000000 + r);
      }
    }
    if (round % 5 == 4) b.resize(24 + pick(static_cast<std::uint32_t>(b.size() - 24)));  // cut short
    test::writeFile(path, b);
    const std::uint64_t size = b.size();
    const std::size_t window = std::size_t{1} << (12 + pick(10));
    const std::size_t lane = pick(2) == 0 ? 16 << 10 : 32 + pick(2000);
    // Cuts of the file into 1-5 parts at random bounds (the first at 0, the last at the end).
    std::vector<std::uint64_t> bounds{0};
    const std::uint32_t cuts = pick(5);
    for (std::uint32_t c = 0; c < cuts; ++c) bounds.push_back(24 + pick(static_cast<std::uint32_t>(size - 24)));
    bounds.push_back(size);
    std::sort(bounds.begin(), bounds.end());
    for (std::size_t part = 0; part + 1 < bounds.size(); ++part) {
      SCOPED_TRACE(part);
      ++parts;
      auto plain = CaptureReader::open(path, 1, CaptureReadOptions{true, window});
      auto lanes = CaptureReader::open(path, 1, CaptureReadOptions{true, window, lane});
      ASSERT_TRUE(plain.ok() && lanes.ok());
      ASSERT_TRUE((*plain)->readRange(bounds[part], bounds[part + 1]));
      std::vector<CaptureReader::ScannedRecord> want;
      Frame f;
      for (std::uint64_t n = 1; (*plain)->next(f); ++n) {
        ASSERT_EQ(f.number, n);
        want.push_back({(*plain)->recordOffset(), f.tsNs, f.capLen, f.capLen > 0 ? f.data[0] + f.wireLen : f.wireLen});
      }
      std::vector<CaptureReader::ScannedRecord> got;
      std::uint64_t tagged = 0;
      auto tag = [&](const Frame& frame) {
        ++tagged;
        EXPECT_EQ(frame.linkType, 1);
        EXPECT_EQ(frame.fileIndex, 1);
        return frame.capLen > 0 ? frame.data[0] + frame.wireLen : frame.wireLen;
      };
      auto sink = [&](std::span<const CaptureReader::ScannedRecord> records) {
        got.insert(got.end(), records.begin(), records.end());
      };
      ASSERT_TRUE((*lanes)->scanRange(bounds[part], bounds[part + 1], tag, sink));
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(i);
        ASSERT_EQ(got[i].offset, want[i].offset);
        ASSERT_EQ(got[i].tsNs, want[i].tsNs);
        ASSERT_EQ(got[i].capLen, want[i].capLen);
        ASSERT_EQ(got[i].tag, want[i].tag);
      }
      EXPECT_EQ((*lanes)->rangeStart(), (*plain)->rangeStart());
      EXPECT_EQ((*lanes)->rangeEnd(), (*plain)->rangeEnd());
      EXPECT_EQ((*lanes)->rangeRefused(), (*plain)->rangeRefused());
      ASSERT_EQ((*lanes)->error().has_value(), (*plain)->error().has_value());
      if ((*plain)->error()) {
        EXPECT_EQ((*lanes)->error()->toString(), (*plain)->error()->toString());
      }
      EXPECT_EQ((*lanes)->framesRead(), (*plain)->framesRead());
      if (!got.empty()) {
        EXPECT_EQ((*lanes)->recordOffset(), got.back().offset);
      }
      EXPECT_FALSE((*lanes)->next(f));
      dropped += tagged - got.size();
      if ((*plain)->rangeRefused()) ++refusedParts;
    }
  }
  // The rounds met each path: lanes dropped after starting inside a frame, and parts refused.
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(refusedParts, 5u);
  EXPECT_GT(parts, 100u);
}

// Frames that carry pcap records (a capture of pcap files being copied over the network) make lanes start inside
// frames everywhere. Such a lane is read again from where the true reading is, not the lanes after it too: the
// bytes read in all stay within about twice the capture's (dropping every lane after a bad one read them many times).
TEST(CaptureReader, ScanRangeOverFramesFullOfPcapRecordsReadsEachRecordAtMostTwice) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("pcap_in_frames.pcap");
  std::mt19937 rng(7);
  Bytes b;
  putPcapHeader(b, false, false, 4, 65535, 1);
  const std::uint32_t frames = 3000;
  for (std::uint32_t r = 0; r < frames; ++r) {
    Bytes payload;
    while (payload.size() + 16 + 60 <= 1400) {  // fake records of 60 bytes, as a pcap file of small packets has
      for (std::uint32_t v : {1700000000U + r, 0U, 60U, 60U}) test::putLe32(payload, v);
      for (int i = 0; i < 60; ++i) payload.push_back(static_cast<std::uint8_t>(rng()));
    }
    Bytes segment = test::tcpHeader(40000, 443, 0x10);
    segment.insert(segment.end(), payload.begin(), payload.end());
    const Bytes frame = test::ethernet(0x0800, test::ipv4({}, segment));
    for (std::uint32_t v :
         {1700000000U + r, 0U, static_cast<std::uint32_t>(frame.size()), static_cast<std::uint32_t>(frame.size())})
      test::putLe32(b, v);
    b.insert(b.end(), frame.begin(), frame.end());
  }
  test::writeFile(path, b);
  auto reader = CaptureReader::open(path, 0, CaptureReadOptions{true, 1 << 20, 16 << 10});
  ASSERT_TRUE(reader.ok());
  std::uint64_t bytesRead = 0, kept = 0;  // the bytes of every record read (fake ones too), of those kept
  ASSERT_TRUE((*reader)->scanRange(
      0, b.size(),
      [&](const Frame& f) {
        bytesRead += 16 + f.capLen;
        return 0U;
      },
      [&](std::span<const CaptureReader::ScannedRecord> records) {
        for (const auto& r : records) kept += 16 + r.capLen;
      }));
  EXPECT_FALSE((*reader)->error().has_value());
  EXPECT_EQ((*reader)->framesRead(), frames);
  EXPECT_EQ(kept, b.size() - 24);
  EXPECT_GT(bytesRead, kept);            // lanes did start inside frames
  EXPECT_LE(bytesRead, kept * 21 / 10);  // and their spans were read once more at most
}

// A capture cut short by another program while sgsim reads it (a rotated or rewritten file) is an error naming
// the first frame that is not whole any more, never a crash (the mapped reading would fault with SIGBUS on the pages
// the file lost) and never a clean end that drops the rest without a word. Cuts inside a record, at a record's
// start and inside a header; windows of a page (mapped after the cut) and of the whole file (mapped before it).
TEST(CaptureReader, AFileCutShortWhileBeingReadIsAnErrorNotACrashOrASilentEnd) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("shrinks.pcap");
  for (const std::size_t window : {std::size_t{4096}, kMappedWindow}) {
    for (const std::uint64_t cut :
         {std::uint64_t{24 + 116 * 1000 + 50}, std::uint64_t{24 + 116 * 2000}, std::uint64_t{24 + 116 * 1500 + 7}}) {
      SCOPED_TRACE(std::to_string(window) + " " + std::to_string(cut));
      test::writeFile(path, plainPcap(3000));
      auto reader = CaptureReader::open(path, 0, CaptureReadOptions{true, window});
      ASSERT_TRUE(reader.ok());
      ASSERT_TRUE((*reader)->readingMapped());
      Frame f;
      for (int i = 0; i < 5; ++i) ASSERT_TRUE((*reader)->next(f));
      std::filesystem::resize_file(path, cut);
      const std::uint64_t firstCut = (cut - 24) / 116 + 1;  // the first frame not whole in the file any more
      std::uint64_t frames = 5;
      while ((*reader)->next(f)) {
        std::uint32_t n;
        std::memcpy(&n, f.data, sizeof n);
        if (f.number < firstCut) {
          ASSERT_EQ(n, f.number);  // whole frames are the file's
        }
        ++frames;
      }
      // The frames read after the cut (the rest of the page the file now ends in reads as zeros) are named.
      ASSERT_LT(frames, firstCut + 4096 / 16);
      ASSERT_TRUE((*reader)->error().has_value());
      EXPECT_EQ((*reader)->error()->where, path + ": frame " + std::to_string(firstCut));
      if (frames >= firstCut) {
        EXPECT_NE((*reader)->error()->message.find("(frames " + std::to_string(firstCut) + "-" +
                                                   std::to_string(frames) + ", read after the cut, held zeros"),
                  std::string::npos)
            << (*reader)->error()->message;
      }
      EXPECT_NE((*reader)->error()->message.find("shrank while being read (348024 bytes when opened, " +
                                                 std::to_string(cut) + " now)"),
                std::string::npos)
          << (*reader)->error()->message;
    }
  }
}

// The same through an index (--index DIR --shard K/N reads only the records an index names): every third record. The
// reading ends on an error naming a frame at or after the cut, never on a clean end (the last cut leaves every record
// after it in the zero-filled rest of the file's last page: no fault, only the size checked at the index's end tells),
// and the frames read before it are the file's own up to the cut.
TEST(CaptureReader, AFileCutShortWhileReadThroughAnIndexIsAnError) {
  struct Every final : CaptureReader::IndexSource {
    std::uint64_t next = 1;
    std::size_t fill(std::vector<CaptureReader::IndexedRecord>& out) override {
      std::size_t n = 0;
      for (; n < out.size() && next <= 3000; ++n, next += 3) out[n] = {24 + 116 * (next - 1), next};
      return n;
    }
    std::optional<Error> error() const override { return std::nullopt; }
  };
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("shrinks.pcap");
  for (const std::uint64_t cut :
       {std::uint64_t{24 + 116 * 1000 + 50}, std::uint64_t{24 + 116 * 2000}, std::uint64_t{24 + 116 * 2990 + 7}}) {
    SCOPED_TRACE(cut);
    test::writeFile(path, plainPcap(3000));
    auto reader = CaptureReader::open(path, 0);
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->readIndexed(std::make_unique<Every>()));
    Frame f;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*reader)->next(f));
    std::filesystem::resize_file(path, cut);
    const std::uint64_t firstCut = (cut - 24) / 116 + 1;
    while ((*reader)->next(f)) {
      ASSERT_EQ(f.number % 3, 1u);
      if (f.number < firstCut) {
        std::uint32_t n;
        std::memcpy(&n, f.data, sizeof n);
        ASSERT_EQ(n, f.number);
      }
    }
    ASSERT_TRUE((*reader)->error().has_value());
    const std::string& where = (*reader)->error()->where;
    ASSERT_EQ(where.rfind(path + ": frame ", 0), 0u) << where;
    const std::uint64_t named = std::stoull(where.substr(path.size() + 8));
    EXPECT_GE(named, firstCut);  // the first frame of the index not whole in the file
    EXPECT_LT(named, firstCut + 3);
    EXPECT_NE((*reader)->error()->message.find("shrank while being read (348024 bytes when opened, " +
                                               std::to_string(cut) + " now)"),
              std::string::npos)
        << (*reader)->error()->message;
  }
}

// A capture that grows while sgsim reads it (still being written) is read to its end as libpcap reads it.
TEST(CaptureReader, AFileThatGrowsWhileBeingReadIsReadToItsNewEnd) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("grows.pcap");
  test::writeFile(path, plainPcap(100));
  auto reader = CaptureReader::open(path, 0, CaptureReadOptions{true, 4096});
  ASSERT_TRUE(reader.ok());
  Frame f;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*reader)->next(f));
  {
    const Bytes more = plainPcap(50, 101, false);
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(more.data()), static_cast<std::streamsize>(more.size()));
  }
  std::uint32_t last = 10, frames = 10;
  while ((*reader)->next(f)) {
    std::uint32_t n;
    std::memcpy(&n, f.data, sizeof n);
    EXPECT_EQ(n, last + 1);
    last = n;
    ++frames;
  }
  EXPECT_EQ(frames, 150u);
  EXPECT_FALSE((*reader)->error().has_value());
}

TEST(MergedCapture, TimestampOrderStableOnTiesWithPerFileNumbers) {
  test::TempDir dir{"sgsim-capture"};
  const std::string a = dir.file("a.pcap"), b = dir.file("b.pcap");
  // b is big-endian and in microseconds: the merge works on the common nanosecond clock.
  test::writeFile(b, classicPcap(true, false, 1,
                                 {{kT0 + 2000, ethernetFrame(1, 1)},
                                  {kT0 + 3000, ethernetFrame(1, 2)},
                                  {kT0 + 3000, ethernetFrame(1, 3)}}));
  test::writeFile(a, classicPcap(false, true, 1,
                                 {{kT0 + 1000, ethernetFrame(0, 1)},
                                  {kT0 + 3000, ethernetFrame(0, 2)},
                                  {kT0 + 5000, ethernetFrame(0, 3)}}));
  auto merged = MergedCapture::open({a, b});
  ASSERT_TRUE(merged) << merged.error().toString();
  std::vector<std::pair<int, int>> order;  // (file, number), checked against the bytes the frame carries
  Frame f;
  while ((*merged)->next(f)) {
    const Bytes expected = ethernetFrame(f.fileIndex, static_cast<std::uint16_t>(f.number));
    ASSERT_EQ(Bytes(f.data, f.data + f.capLen), expected);
    order.emplace_back(f.fileIndex, static_cast<int>(f.number));
  }
  const std::vector<std::pair<int, int>> want = {{0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}, {0, 3}};
  EXPECT_EQ(order, want);
  EXPECT_TRUE((*merged)->errors().empty());
}

TEST(MergedCapture, CollectsErrorsOfEveryFileAndFailsOnUnopenable) {
  test::TempDir dir{"sgsim-capture"};
  const std::string a = dir.file("a.pcap"), b = dir.file("b.pcap");
  for (const auto& path : {a, b}) {
    Bytes bytes = classicPcap(false, false, 1, {{kT0, ethernetFrame(1, 1)}, {kT0 + 1000, ethernetFrame(1, 2)}});
    bytes.resize(bytes.size() - 3);
    test::writeFile(path, bytes);
  }
  auto merged = MergedCapture::open({a, b});
  ASSERT_TRUE(merged);
  Frame f;
  int frames = 0;
  while ((*merged)->next(f)) ++frames;
  EXPECT_EQ(frames, 2);
  ASSERT_EQ((*merged)->errors().size(), 2u);
  EXPECT_EQ((*merged)->errors()[0].where, a + ": frame 2");
  EXPECT_EQ((*merged)->errors()[1].where, b + ": frame 2");

  auto bad = MergedCapture::open({a, dir.file("nope.pcap")});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, dir.file("nope.pcap"));
}

TEST(LinkTypeName, LibpcapNamesWithFallback) {
  EXPECT_EQ(linkTypeName(1), "EN10MB");
  EXPECT_EQ(linkTypeName(113), "LINUX_SLL");
  EXPECT_EQ(linkTypeDescription(1), "Ethernet");
  EXPECT_EQ(linkTypeName(9999), "DLT 9999");
  EXPECT_EQ(linkTypeDescription(9999), "DLT 9999");
}

TEST(PcapWriter, RoundTripKeepsNanosecondsAndBytes) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("out.pcap");
  auto writer = PcapWriter::open(path, 1);
  ASSERT_TRUE(writer) << writer.error().toString();
  std::vector<Bytes> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(ethernetFrame(static_cast<std::uint16_t>(i), 80));
    Frame f = frameOf(sent.back(), kT0 + i * 1000000007LL);
    f.wireLen = f.capLen + 100;
    ASSERT_TRUE((*writer)->write(f));
  }
  EXPECT_FALSE(fs::exists(path));  // only the temporary exists until close()
  auto written = (*writer)->close();
  ASSERT_TRUE(written) << written.error().toString();
  ASSERT_EQ(written.value(), std::vector<std::string>{path});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no temporaries left

  auto reader = CaptureReader::open(path, 0);
  ASSERT_TRUE(reader) << reader.error().toString();
  EXPECT_EQ((*reader)->linkType(), 1);
  std::vector<Bytes> data;
  const auto frames = readAll(**reader, &data);
  ASSERT_EQ(frames.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(frames[i].tsNs, kT0 + i * 1000000007LL);
    EXPECT_EQ(frames[i].wireLen, sent[i].size() + 100);
    EXPECT_EQ(data[i], sent[i]);
  }
  // The tools users open reports with accept the file.
  for (const char* tool : {"/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/usr/bin/tshark"}) {
    if (!fs::exists(tool)) continue;
    const std::string command = std::string(tool) + " -r '" + path + "' > /dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
}

// pcapng as Wireshark writes it (options in every block), when editcap is installed.
TEST(PcapWriter, WiresharkPcapngOfOurOutputReadsBackAlike) {
  if (!fs::exists("/usr/bin/editcap")) {
    // scripts/deps.sh installs it (Debian's tshark); a CI run must not pass by skipping.
    if (test::corpusRequired()) GTEST_FAIL() << "editcap not installed (scripts/deps.sh installs tshark); CI is set";
    GTEST_SKIP() << "editcap not installed (scripts/deps.sh installs tshark)";
  }
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("out.pcap"), converted = dir.file("out.pcapng");
  auto writer = PcapWriter::open(path, 1);
  ASSERT_TRUE(writer);
  const Bytes frame = ethernetFrame(5, 6);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*writer)->write(frameOf(frame, kT0 + i * 333333333LL)));
  }
  ASSERT_TRUE((*writer)->close());
  const std::string command = "/usr/bin/editcap -F pcapng '" + path + "' '" + converted + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto reader = CaptureReader::open(converted, 0);
  ASSERT_TRUE(reader) << reader.error().toString();
  std::vector<Bytes> data;
  const auto frames = readAll(**reader, &data);
  ASSERT_EQ(frames.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].tsNs, kT0 + i * 333333333LL);
    EXPECT_EQ(data[i], frame);
  }
}

TEST(PcapWriter, CutsFramesToTheSnapLengthAndRefusesWritesAfterClose) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("snap.pcap");
  auto writer = PcapWriter::open(path, 1, 20);
  ASSERT_TRUE(writer);
  const Bytes frame = ethernetFrame(1, 2);
  const Frame f = frameOf(frame, kT0);
  ASSERT_TRUE((*writer)->write(f));
  ASSERT_TRUE((*writer)->close());
  EXPECT_FALSE((*writer)->write(f));
  EXPECT_FALSE((*writer)->close());
  auto reader = CaptureReader::open(path, 0);
  ASSERT_TRUE(reader);
  std::vector<Bytes> data;
  const auto frames = readAll(**reader, &data);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].capLen, 20u);
  EXPECT_EQ(frames[0].wireLen, frame.size());
  EXPECT_EQ(data[0], Bytes(frame.begin(), frame.begin() + 20));
}

TEST(PcapWriter, OtherLinkTypesGoToSiblingFiles) {
  test::TempDir dir{"sgsim-capture"};
  const std::string path = dir.file("out.pcap");
  auto writer = PcapWriter::open(path, 1);
  ASSERT_TRUE(writer);
  const Bytes eth = ethernetFrame(1, 2);
  const Bytes cooked = test::sll(0x0800, test::ipv4({}, test::udpHeader(1, 2)));
  ASSERT_TRUE((*writer)->write(frameOf(cooked, kT0, 113)));
  ASSERT_TRUE((*writer)->write(frameOf(eth, kT0)));
  auto written = (*writer)->close();
  ASSERT_TRUE(written);
  const std::string sibling = dir.file("out.LINUX_SLL.pcap");
  ASSERT_EQ(written.value(), (std::vector<std::string>{path, sibling}));
  for (const auto& [file, linkType] : {std::pair{path, 1}, std::pair{sibling, 113}}) {
    auto reader = CaptureReader::open(file, 0);
    ASSERT_TRUE(reader) << reader.error().toString();
    EXPECT_EQ((*reader)->linkType(), linkType);
    EXPECT_EQ(readAll(**reader).size(), 1u);
  }
}

TEST(PcapWriter, UnclosedWriterLeavesNothingAndErrorsNameThePath) {
  test::TempDir dir{"sgsim-capture"};
  {
    auto writer = PcapWriter::open(dir.file("out.pcap"), 1);
    ASSERT_TRUE(writer);
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
  const std::string unwritable = dir.file("no/such/dir/out.pcap");
  auto bad = PcapWriter::open(unwritable, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, unwritable);
}

// The writer goes through AtomicFile: a FIFO gets the pcap stream and stays a FIFO, a device is written
// through (and a write error stops the run at the frame), and only a regular file can have sibling files.
TEST(PcapWriter, FifoGetsThePcapStreamAndStaysAFifo) {
  test::TempDir dir{"sgsim-capture"};
  const std::string fifo = dir.file("live.pcap");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) received.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
  });
  auto writer = PcapWriter::open(fifo, 1);  // waits for the reader, as `> fifo` would
  ASSERT_TRUE(writer) << writer.error().toString();
  const Bytes frame = ethernetFrame(1, 2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*writer)->write(frameOf(frame, kT0 + i)));
  const Bytes cooked = test::sll(0x0800, test::ipv4({}, test::udpHeader(1, 2)));
  auto other = (*writer)->write(frameOf(cooked, kT0 + 3, 113));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().toString(),
            fifo +
                ": frames of link type LINUX_SLL cannot be written: this output is not a regular file, so it holds "
                "only link type EN10MB and no sibling file can be made beside it (write to a regular file instead)");
  auto written = (*writer)->close();
  reader.join();
  ASSERT_TRUE(written) << written.error().toString();
  EXPECT_EQ(written.value(), std::vector<std::string>{fifo});
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no sibling, no temp

  const std::string copy = dir.file("copy.pcap");
  test::writeFile(copy, Bytes(received.begin(), received.end()));
  auto back = CaptureReader::open(copy, 0);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(readAll(**back).size(), 3u);
}

TEST(PcapWriter, FullDeviceIsAWriteErrorAndStaysADevice) {
  struct stat before {};
  ASSERT_EQ(::lstat("/dev/full", &before), 0);
  auto writer = PcapWriter::open("/dev/full", 1);
  ASSERT_TRUE(writer) << writer.error().toString();
  const Bytes frame = ethernetFrame(1, 2);
  std::optional<Error> err;
  int frames = 0;
  for (; frames < 100000 && !err; ++frames) {
    auto w = (*writer)->write(frameOf(frame, kT0 + frames));
    if (!w) err = w.error();
  }
  ASSERT_TRUE(err);
  EXPECT_LT(frames, 1000);  // noticed at the first buffer that went out, not at the end
  EXPECT_EQ(err->toString(), "/dev/full: cannot write: No space left on device");
  struct stat after {};
  ASSERT_EQ(::lstat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
  EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST(PcapWriter, SymlinkedOutputReplacesTheTargetAndKeepsTheLink) {
  test::TempDir dir{"sgsim-capture"};
  const std::string real = dir.file("real.pcap"), link = dir.file("out.pcap");
  test::writeFile(real, Bytes{1, 2, 3});
  ASSERT_EQ(::symlink("real.pcap", link.c_str()), 0);
  auto writer = PcapWriter::open(link, 1);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->write(frameOf(ethernetFrame(1, 2), kT0)));
  ASSERT_TRUE((*writer)->close());
  EXPECT_TRUE(fs::is_symlink(link));
  auto back = CaptureReader::open(real, 0);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(readAll(**back).size(), 1u);
}

// ---- Reading ahead on a second thread (capture/read_ahead.h): the evaluation must see exactly the frames, in
// exactly the order, and end with exactly the errors that reading the capture directly gives.

struct Seen {
  std::uint64_t number = 0;
  std::uint32_t sum = 0;  // of the frame's bytes, computed by prepare while they are valid
  bool spare = false;
};
std::uint32_t byteSum(const std::uint8_t* p, std::uint32_t n) {
  std::uint32_t s = 0;
  for (std::uint32_t i = 0; i < n; ++i) s = s * 31 + p[i];
  return s;
}
struct Summing {
  void operator()(const Frame& f, Seen& s, bool spare) const {
    s.number = f.number;
    s.sum = byteSum(f.data, f.capLen);
    s.spare = spare;
  }
};

// Two files (merged by time) of 700 frames each, the second cut inside its last record.
std::vector<std::string> aheadCaptures(const test::TempDir& dir) {
  std::vector<Record> a, b;
  for (int i = 0; i < 700; ++i) {
    a.push_back({kT0 + 2 * i, ethernetFrame(static_cast<std::uint16_t>(i), 1)});
    b.push_back({kT0 + 2 * i + 1, ethernetFrame(static_cast<std::uint16_t>(i), 2)});
  }
  test::writeFile(dir.file("a.pcap"), classicPcap(false, true, 1, a));
  Bytes cut = classicPcap(false, true, 1, b);
  cut.resize(cut.size() - 5);
  test::writeFile(dir.file("b.pcap"), cut);
  return {dir.file("a.pcap"), dir.file("b.pcap")};
}

TEST(ReadAhead, DeliversTheReadersFramesInOrderWithItsErrors) {
  test::TempDir dir{"sgsim-capture"};
  const auto paths = aheadCaptures(dir);
  std::vector<Frame> want;
  std::vector<Bytes> wantBytes;
  std::vector<Error> wantErrors;
  {
    auto direct = MergedCapture::open(paths);
    ASSERT_TRUE(direct);
    Frame f;
    while ((*direct)->next(f)) {
      want.push_back(f);
      wantBytes.emplace_back(f.data, f.data + f.capLen);
    }
    wantErrors = (*direct)->errors();
  }
  ASSERT_EQ(want.size(), 1399u);
  ASSERT_EQ(wantErrors.size(), 1u);

  for (bool thread : {false, true})
    for (bool copy : {false, true})
      for (std::size_t batch : {1, 7, 512})
        for (std::size_t depth : {2, 5}) {
          SCOPED_TRACE(testing::Message()
                       << "thread " << thread << " copy " << copy << " batch " << batch << " depth " << depth);
          auto merged = MergedCapture::open(paths);
          ASSERT_TRUE(merged);
          std::size_t i = 0;
          {
            ReadAhead<Seen, Summing> ahead(**merged, Summing{}, {thread, copy, batch, depth});
            for (auto got = ahead.next(); !got.empty(); got = ahead.next()) {
              EXPECT_LE(got.size(), batch);
              for (const auto& [f, seen] : got) {
                ASSERT_LT(i, want.size());
                EXPECT_EQ(f.number, want[i].number);
                EXPECT_EQ(f.fileIndex, want[i].fileIndex);
                EXPECT_EQ(f.tsNs, want[i].tsNs);
                EXPECT_EQ(f.capLen, want[i].capLen);
                EXPECT_EQ(seen.number, want[i].number);
                EXPECT_EQ(seen.sum, byteSum(wantBytes[i].data(), want[i].capLen));
                if (copy) {
                  ASSERT_NE(f.data, nullptr);
                  EXPECT_EQ(Bytes(f.data, f.data + f.capLen), wantBytes[i]);
                } else {
                  EXPECT_EQ(f.data, nullptr);  // the reader's buffer is gone by now: never handed on
                }
                if (!thread) {
                  EXPECT_FALSE(seen.spare);
                }
                ++i;
              }
            }
            EXPECT_TRUE(ahead.next().empty());  // stays at the end
          }
          EXPECT_EQ(i, want.size());
          ASSERT_EQ((*merged)->errors().size(), 1u);
          EXPECT_EQ((*merged)->errors()[0].toString(), wantErrors[0].toString());
        }
}

// Copied bytes end a batch once it holds 1 MiB: frames of 65,535 bytes come in batches of at most 17 (16 are
// 16 bytes short of 1 MiB) however large the batch size.
TEST(ReadAhead, CopiedBytesBoundABatch) {
  test::TempDir dir{"sgsim-capture"};
  std::vector<Record> big;
  for (int i = 0; i < 100; ++i) {
    Bytes frame = ethernetFrame(static_cast<std::uint16_t>(i), 3);
    frame.resize(65535, static_cast<std::uint8_t>(i));
    big.push_back({kT0 + i, frame});
  }
  test::writeFile(dir.file("big.pcap"), classicPcap(false, true, 1, big));
  auto merged = MergedCapture::open({dir.file("big.pcap")});
  ASSERT_TRUE(merged);
  ReadAhead<Seen, Summing> ahead(**merged, Summing{}, {true, true, 256, 4});
  std::size_t frames = 0;
  for (auto got = ahead.next(); !got.empty(); got = ahead.next()) {
    EXPECT_LE(got.size(), 17u);
    for (const auto& [f, seen] : got) {
      ASSERT_EQ(f.capLen, 65535u);
      EXPECT_EQ(f.data[65534], static_cast<std::uint8_t>(frames));
      EXPECT_EQ(seen.sum, byteSum(f.data, f.capLen));
      ++frames;
    }
  }
  EXPECT_EQ(frames, 100u);
}

TEST(ReadAhead, ConsumerThatStopsEarlyEndsTheReader) {
  test::TempDir dir{"sgsim-capture"};
  const auto paths = aheadCaptures(dir);
  for (int stopAfter : {0, 1, 3}) {
    auto merged = MergedCapture::open(paths);
    ASSERT_TRUE(merged);
    ReadAhead<Seen, Summing> ahead(**merged, Summing{}, {true, false, 16, 3});
    for (int i = 0; i < stopAfter; ++i) EXPECT_FALSE(ahead.next().empty());
    // leaving the scope must stop and join the producer, blocked on a full ring or not
  }
}

TEST(ReadAhead, AnExceptionWhilePreparingReachesTheConsumerAfterTheFramesBeforeIt) {
  test::TempDir dir{"sgsim-capture"};
  const auto paths = aheadCaptures(dir);
  struct Throwing {
    void operator()(const Frame& f, Seen& s, bool) const {
      if (f.fileIndex == 1 && f.number == 300) throw std::runtime_error("prepare failed");
      s.number = f.number;
    }
  };
  for (bool thread : {false, true}) {
    auto merged = MergedCapture::open(paths);
    ASSERT_TRUE(merged);
    ReadAhead<Seen, Throwing> ahead(**merged, Throwing{}, {thread, false, 64, 4});
    std::size_t delivered = 0;
    EXPECT_THROW(
        {
          for (auto got = ahead.next(); !got.empty(); got = ahead.next()) delivered += got.size();
        },
        std::runtime_error);
    // Frames of whole batches before the failing one were delivered, in order, none after it.
    EXPECT_EQ(delivered, 599u / 64 * 64);  // b.pcap frame 300 is the 600th frame of the merge
  }
}

TEST(ReadAhead, TellsThePreparationWhenTheConsumerIsBehind) {
  test::TempDir dir{"sgsim-capture"};
  const auto paths = aheadCaptures(dir);
  // spareAt 3 of a ring of 6; 9 asks for more than a ring of 4 can hold (taken as 3); 0 is never.
  for (const auto& [depth, spareAt, expectSpare] :
       {std::tuple{6u, 3u, true}, std::tuple{4u, 9u, true}, std::tuple{6u, 0u, false}}) {
    auto again = MergedCapture::open(paths);
    ASSERT_TRUE(again);
    ReadAhead<Seen, Summing> ahead(**again, Summing{}, {true, false, 8, depth, spareAt});
    int spare = 0;
    for (auto got = ahead.next(); !got.empty(); got = ahead.next()) {
      for (const auto& item : got) spare += item.extra.spare;
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // a slow consumer
    }
    EXPECT_EQ(spare > 0, expectSpare) << depth << " " << spareAt;
  }
}

}  // namespace
}  // namespace sgsim
