#include "sgsim/pipeline/split.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <system_error>
#include <tuple>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/flow_log.h"
#include "sgsim/capture/pcapng_writer.h"
#include "sgsim/core/atomic_file.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/pipeline/record_stream.h"
#include "sgsim/pipeline/stage.h"

namespace sgsim {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

json::array errorsJson(const std::vector<Error>& errors) {
  json::array a;
  for (const Error& e : errors) a.push_back(json::object{{"where", e.where}, {"message", e.message}});
  return a;
}

std::string shardFileName(std::uint32_t k, bool flowLog) {
  return "shard-" + std::to_string(k) + (flowLog ? ".jsonl" : ".pcapng");
}

// DIR must be absent (it is made) or an empty directory.
std::optional<Error> prepareDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) || fs::is_symlink(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      return Error{"--out " + dir, "exists and is not a directory: give a new or empty directory"};
    if (!fs::is_empty(dir, ec))
      return Error{"--out " + dir,
                   "is not empty: the split writes only into a new or empty directory, so that it never replaces "
                   "files of yours (remove them or give another directory)"};
  } else if (!fs::create_directories(dir, ec)) {
    return Error{"--out " + dir, "cannot be made (" + ec.message() + ")"};
  }
  return std::nullopt;
}

// Unix seconds as a flow log writes them ("1714554005", or with the nanoseconds a record had).
std::string seconds(std::int64_t ns) {
  const std::int64_t s = ns / 1'000'000'000, frac = ns % 1'000'000'000;
  if (frac == 0) return std::to_string(s);
  char f[16];
  std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
  return std::to_string(s) + f;
}

// The records of the whole input as they are delivered: each one's place in the span of m (its ordinal is
// m.span.frames) and its shard's count; the files' failures checked and progress shown every 65536 records.
class RecordTally {
 public:
  RecordTally(SplitManifest& m, const std::vector<std::unique_ptr<AtomicFile>>& outs, bool progress)
      : m_(m), outs_(outs), progress_(progress) {}
  ~RecordTally() {
    if (shown_ > 0) std::fputs("\r\033[K", stderr);
  }
  RecordTally(const RecordTally&) = delete;
  RecordTally& operator=(const RecordTally&) = delete;
  // A record of shard k + 1 starting at startNs; an output's failure ends the reading.
  std::optional<Error> add(std::int64_t startNs, std::uint32_t k) {
    if (m_.span.frames++ == 0) m_.span.firstNs = m_.span.lastNs = startNs;
    if (startNs > m_.span.lastNs) m_.span.lastNs = startNs;
    ++m_.files[k].frames;
    if ((m_.span.frames & 0xFFFF) == 0) {
      for (auto& o : outs_)
        if (auto e = o->failure()) return *e;
      if (progress_) {
        std::fprintf(stderr, "\r%llu records ", static_cast<unsigned long long>(m_.span.frames));
        shown_ = m_.span.frames;
      }
    }
    return std::nullopt;
  }

 private:
  SplitManifest& m_;
  const std::vector<std::unique_ptr<AtomicFile>>& outs_;
  bool progress_;
  std::uint64_t shown_ = 0;
};

// Reads the merged logs to their end (RecordTally), then `each(record, shard - 1)` for each.
template <class Each>
std::optional<Error> eachRecord(MergedFlowLog& merged, SplitManifest& m,
                                const std::vector<std::unique_ptr<AtomicFile>>& outs, bool progress, Each each) {
  RecordTally tally(m, outs, progress);
  Frame frame;
  while (merged.next(frame)) {
    const FlowRecord& r = *frame.record;
    const std::uint32_t k = shardOf(keyOfRecord(r), m.shards) - 1;
    if (auto e = tally.add(frame.tsNs, k)) return e;
    each(r, k);
  }
  return std::nullopt;
}

// What the readers said of the whole input, once it is read: errors, warnings (late records with them), counts.
void takeReadersFacts(const MergedFlowLog& merged, SplitManifest& m) {
  m.errors = merged.errors();
  m.warnings = merged.warnings();
  for (const auto& reader : merged.readers()) {
    m.noData += reader->noData();
    m.skipData += reader->skipData();
    m.badRecords += reader->badRecords();
  }
}

// One record as a JSON Lines record of the fields the reader reads (capture/flow_log.h), plus where it came from.
void writeRecord(std::ostream& out, const FlowRecord& r) {
  auto text = [&](const char* name, const FlowText& t) { out << ",\"" << name << "\":\"" << t.view() << '"'; };
  out << "{\"sgsim-file\":" << r.fileIndex << ",\"sgsim-line\":" << r.line;
  if (r.version >= 0) out << ",\"version\":" << r.version;
  text("eni-id", r.eni);
  text("vm-id", r.vm);
  text("vswitch-id", r.vswitch);
  text("vpc-id", r.vpc);
  text("account-id", r.account);
  text("region", r.region);
  text("srctype", r.srcType);
  text("dsttype", r.dstType);
  out << ",\"srcaddr\":\"" << r.src.toString() << "\",\"srcport\":" << r.sport << ",\"dstaddr\":\"" << r.dst.toString()
      << "\",\"dstport\":" << r.dport << ",\"protocol\":" << static_cast<int>(r.proto) << ",\"direction\":\""
      << (r.inbound ? "in" : "out") << "\",\"packets\":" << r.packets << ",\"bytes\":" << r.bytes
      << ",\"start\":" << seconds(r.startNs) << ",\"end\":" << seconds(r.endNs)
      << ",\"log-status\":\"OK\",\"action\":\"" << (r.accept ? "ACCEPT" : "REJECT") << '"';
  if (r.hasTcpFlags) out << ",\"tcp-flags\":" << static_cast<int>(r.tcpFlags);
  if (r.trafficPath >= 0) out << ",\"traffic_path\":" << r.trafficPath;
  out << "}\n";
}

// Reading the manifest: every member checked, every unknown one refused, with its JSON path.
class ManifestReader {
 public:
  explicit ManifestReader(std::string file) : file_(std::move(file)) {}
  Error error(const std::string& path, const std::string& what) const {
    return Error{file_ + ": " + path, what + " (a manifest written by `sgsim split`; run the split again)"};
  }
  std::optional<Error> onlyKeys(const json::object& o, const std::string& path, std::set<std::string> known) const {
    for (const auto& kv : o)
      if (!known.count(std::string(kv.key()))) return error(path + "." + std::string(kv.key()), "unknown member");
    return std::nullopt;
  }
  Result<const json::value*> member(const json::object& o, const std::string& path, const char* key) const {
    auto it = o.find(key);
    if (it == o.end()) return error(path, std::string("the member \"") + key + "\" is missing");
    return &it->value();
  }
  Result<std::string> string(const json::object& o, const std::string& path, const char* key) const {
    auto v = member(o, path, key);
    if (!v) return v.error();
    if (!(*v)->is_string()) return error(path + "." + key, "expected a string");
    return std::string((*v)->as_string());
  }
  Result<std::int64_t> integer(const json::object& o, const std::string& path, const char* key, std::int64_t lo,
                               std::int64_t hi) const {
    auto v = member(o, path, key);
    if (!v) return v.error();
    std::int64_t n = 0;
    if ((*v)->is_int64())
      n = (*v)->as_int64();
    else if ((*v)->is_uint64() && (*v)->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      n = static_cast<std::int64_t>((*v)->as_uint64());
    else
      return error(path + "." + key, "expected a whole number");
    if (n < lo || n > hi)
      return error(path + "." + key, "expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    return n;
  }
  Result<std::vector<std::string>> strings(const json::object& o, const std::string& path, const char* key) const {
    auto v = member(o, path, key);
    if (!v) return v.error();
    if (!(*v)->is_array()) return error(path + "." + key, "expected an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < (*v)->as_array().size(); ++i) {
      const json::value& e = (*v)->as_array()[i];
      if (!e.is_string()) return error(path + "." + key + "[" + std::to_string(i) + "]", "expected a string");
      out.emplace_back(e.as_string());
    }
    return out;
  }
  Result<std::vector<Error>> errors(const json::object& o, const std::string& path, const char* key) const {
    auto v = member(o, path, key);
    if (!v) return v.error();
    if (!(*v)->is_array()) return error(path + "." + key, "expected an array of {where, message}");
    std::vector<Error> out;
    for (std::size_t i = 0; i < (*v)->as_array().size(); ++i) {
      const std::string at = path + "." + key + "[" + std::to_string(i) + "]";
      const json::value& e = (*v)->as_array()[i];
      if (!e.is_object()) return error(at, "expected {where, message}");
      if (auto bad = onlyKeys(e.as_object(), at, {"where", "message"})) return *bad;
      auto where = string(e.as_object(), at, "where");
      if (!where) return where.error();
      auto message = string(e.as_object(), at, "message");
      if (!message) return message.error();
      out.push_back(Error{*where, *message});
    }
    return out;
  }

 private:
  std::string file_;
};

}  // namespace

std::string manifestJson(const SplitManifest& m) {
  json::object root;
  root["sgsimSplit"] = SplitManifest::kVersion;
  root["shards"] = m.shards;
  root["source"] = m.flowLog ? "flow-log" : "capture";
  json::array inputs;
  for (const auto& i : m.inputs) inputs.push_back(json::string(i));
  root["inputs"] = std::move(inputs);
  root["decap"] = m.vxlanPort == 0 ? json::value(nullptr) : json::value("vxlan:" + std::to_string(m.vxlanPort));
  json::array mirror;
  for (const auto& x : m.mirror) mirror.push_back(json::string(x));
  root["mirror"] = std::move(mirror);
  root["frames"] = m.span.frames;
  root["firstNs"] = m.span.firstNs;
  root["lastNs"] = m.span.lastNs;
  root["firstLinkType"] = m.firstLinkType;
  root["errors"] = errorsJson(m.errors);
  root["warnings"] = errorsJson(m.warnings);
  json::object skipped;
  for (const auto& [type, n] : m.skippedBlocks) skipped[type] = n;
  root["skippedBlocks"] = std::move(skipped);
  root["noDataRecords"] = m.noData;
  root["skipDataRecords"] = m.skipData;
  root["badRecords"] = m.badRecords;
  json::array files;
  for (std::size_t k = 0; k < m.files.size(); ++k) {
    json::array captures;
    for (auto c : m.files[k].captures) captures.push_back(c);
    files.push_back(json::object{{"shard", k + 1},
                                 {"file", m.files[k].file},
                                 {"interfaces", std::move(captures)},
                                 {"frames", m.files[k].frames}});
  }
  root["files"] = std::move(files);
  return json::serialize(root) + "\n";
}

namespace {
Result<SplitManifest> readManifestFile(const std::string& file);
}  // namespace

Result<SplitManifest> readManifest(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error{"--split " + dir, fs::exists(dir, ec) ? "not a directory: give the directory `sgsim split --out` wrote"
                                                       : "no such directory: give the directory `sgsim split --out` "
                                                         "wrote"};
  const std::string file = (fs::path(dir) / "manifest.json").string();
  if (!fs::exists(file, ec))
    return Error{file, isFlowLogIndex(dir) ? "missing: the directory holds a flow-log index (read it with --index " +
                                                 dir + " --shard K/N), not a split"
                                           : "missing: the directory holds no split (`sgsim split --shards N --out " +
                                                 dir + " …` makes one)"};
  return readManifestFile(file);
}

namespace {
// The JSON object `file` holds, or an error naming the file ("not JSON …: " + `again`, or "$: expected an object").
Result<json::value> readObjectFile(const std::string& file, const char* again) {
  auto text = readWholeFile(file);
  if (!text) return text.error();
  json::error_code jec;
  json::value doc = json::parse(*text, jec);
  if (jec) return Error{file, "not JSON (" + jec.message() + "): " + again};
  if (!doc.is_object()) return ManifestReader(file).error("$", "expected an object");
  return doc;
}

Result<SplitManifest> readManifestFile(const std::string& file) {
  auto doc = readObjectFile(file, "run the split again");
  if (!doc) return doc.error();
  const ManifestReader r(file);
  const json::object& o = doc->as_object();
  if (auto bad = r.onlyKeys(o, "$",
                            {"sgsimSplit", "shards", "source", "inputs", "decap", "mirror", "frames", "firstNs",
                             "lastNs", "firstLinkType", "errors", "warnings", "skippedBlocks", "noDataRecords",
                             "skipDataRecords", "badRecords", "files"}))
    return *bad;
  SplitManifest m;
  auto version = r.integer(o, "$", "sgsimSplit", 0, INT64_MAX);
  if (!version) return version.error();
  if (*version != SplitManifest::kVersion)
    return r.error("$.sgsimSplit", "version " + std::to_string(*version) + ", but this sgsim reads version " +
                                       std::to_string(SplitManifest::kVersion) + ", whose shards are hashed otherwise");
  auto shards = r.integer(o, "$", "shards", 1, kMaxShards);
  if (!shards) return shards.error();
  m.shards = static_cast<std::uint32_t>(*shards);
  auto source = r.string(o, "$", "source");
  if (!source) return source.error();
  if (*source != "capture" && *source != "flow-log") return r.error("$.source", "expected \"capture\" or \"flow-log\"");
  m.flowLog = *source == "flow-log";
  auto inputs = r.strings(o, "$", "inputs");
  if (!inputs) return inputs.error();
  m.inputs = std::move(*inputs);
  auto decap = r.member(o, "$", "decap");
  if (!decap) return decap.error();
  if (!(*decap)->is_null()) {
    const std::string d = (*decap)->is_string() ? std::string((*decap)->as_string()) : "";
    unsigned port = 0;
    char extra = 0;
    if (std::sscanf(d.c_str(), "vxlan:%u%c", &port, &extra) != 1 || port == 0 || port > 65535)
      return r.error("$.decap", "expected null or \"vxlan:PORT\"");
    m.vxlanPort = static_cast<std::uint16_t>(port);
  }
  auto mirror = r.strings(o, "$", "mirror");
  if (!mirror) return mirror.error();
  m.mirror = std::move(*mirror);
  auto frames = r.integer(o, "$", "frames", 0, INT64_MAX);
  if (!frames) return frames.error();
  m.span.frames = static_cast<std::uint64_t>(*frames);
  auto firstNs = r.integer(o, "$", "firstNs", INT64_MIN, INT64_MAX);
  if (!firstNs) return firstNs.error();
  m.span.firstNs = *firstNs;
  auto lastNs = r.integer(o, "$", "lastNs", INT64_MIN, INT64_MAX);
  if (!lastNs) return lastNs.error();
  m.span.lastNs = *lastNs;
  auto link = r.integer(o, "$", "firstLinkType", INT32_MIN, INT32_MAX);
  if (!link) return link.error();
  m.firstLinkType = static_cast<int>(*link);
  auto errors = r.errors(o, "$", "errors");
  if (!errors) return errors.error();
  m.errors = std::move(*errors);
  auto warnings = r.errors(o, "$", "warnings");
  if (!warnings) return warnings.error();
  m.warnings = std::move(*warnings);
  auto skipped = r.member(o, "$", "skippedBlocks");
  if (!skipped) return skipped.error();
  if (!(*skipped)->is_object()) return r.error("$.skippedBlocks", "expected an object of counts");
  for (const auto& kv : (*skipped)->as_object()) {
    const json::object one{{"n", kv.value()}};
    auto n = r.integer(one, "$.skippedBlocks." + std::string(kv.key()), "n", 0, INT64_MAX);
    if (!n) return r.error("$.skippedBlocks." + std::string(kv.key()), "expected a count");
    m.skippedBlocks[std::string(kv.key())] = static_cast<std::uint64_t>(*n);
  }
  for (auto [key, into] : {std::pair{"noDataRecords", &m.noData}, std::pair{"skipDataRecords", &m.skipData},
                           std::pair{"badRecords", &m.badRecords}}) {
    auto n = r.integer(o, "$", key, 0, INT64_MAX);
    if (!n) return n.error();
    *into = static_cast<std::uint64_t>(*n);
  }
  auto files = r.member(o, "$", "files");
  if (!files) return files.error();
  if (!(*files)->is_array() || (*files)->as_array().size() != m.shards)
    return r.error("$.files", "expected an array of " + std::to_string(m.shards) + " shard files");
  for (std::size_t k = 0; k < m.shards; ++k) {
    const std::string at = "$.files[" + std::to_string(k) + "]";
    const json::value& f = (*files)->as_array()[k];
    if (!f.is_object()) return r.error(at, "expected an object");
    if (auto bad = r.onlyKeys(f.as_object(), at, {"shard", "file", "interfaces", "frames"})) return *bad;
    auto shard = r.integer(f.as_object(), at, "shard", 1, kMaxShards);
    if (!shard) return shard.error();
    if (*shard != static_cast<std::int64_t>(k + 1)) return r.error(at + ".shard", "expected " + std::to_string(k + 1));
    SplitManifest::File one;
    auto name = r.string(f.as_object(), at, "file");
    if (!name) return name.error();
    if (name->empty() || name->find('/') != std::string::npos || *name == "." || *name == "..")
      return r.error(at + ".file", "expected a file name in the directory");
    one.file = *name;
    auto ifs = r.member(f.as_object(), at, "interfaces");
    if (!ifs) return ifs.error();
    if (!(*ifs)->is_array()) return r.error(at + ".interfaces", "expected an array of capture indexes");
    for (std::size_t i = 0; i < (*ifs)->as_array().size(); ++i) {
      const json::object one_{{"n", (*ifs)->as_array()[i]}};
      auto c = r.integer(one_, at, "n", 0, static_cast<std::int64_t>(m.inputs.size()) - 1);
      if (!c)
        return r.error(at + ".interfaces[" + std::to_string(i) + "]",
                       "expected the index of one of the " + std::to_string(m.inputs.size()) + " captures");
      one.captures.push_back(static_cast<std::uint16_t>(*c));
    }
    auto n = r.integer(f.as_object(), at, "frames", 0, INT64_MAX);
    if (!n) return n.error();
    one.frames = static_cast<std::uint64_t>(*n);
    m.files.push_back(std::move(one));
  }
  return m;
}
}  // namespace

Result<SplitManifest> splitCaptures(const std::vector<std::string>& captures, const SplitOptions& options) {
  if (captures.empty()) return Error{"", "no capture file given: sgsim split --shards N --out DIR CAPTURE..."};
  const std::string& dir = options.outDir;
  if (auto e = prepareDir(dir)) return *e;
  auto opened = MergedCapture::open(captures);
  if (!opened) return opened.error();
  MergedCapture& merged = **opened;

  SplitManifest m;
  m.shards = options.shards;
  m.inputs = captures;
  m.vxlanPort = options.vxlanPort;
  m.mirror = options.mirror;
  struct Out {
    std::unique_ptr<PcapngWriter> writer;
    std::map<std::pair<std::uint16_t, int>, std::uint32_t> interfaces;  // (capture, link type) → interface
  };
  std::vector<Out> outs(options.shards);
  for (std::uint32_t k = 0; k < options.shards; ++k) {
    SplitManifest::File f;
    f.file = shardFileName(k + 1, false);
    auto w = PcapngWriter::open((fs::path(dir) / f.file).string());
    if (!w) return w.error();
    outs[k].writer = std::move(*w);
    m.files.push_back(std::move(f));
  }
  Frame frame;
  std::uint64_t shown = 0;
  while (merged.next(frame)) {
    if (m.span.frames++ == 0) {
      m.span.firstNs = m.span.lastNs = frame.tsNs;
      m.firstLinkType = frame.linkType;
    }
    if (frame.tsNs > m.span.lastNs) m.span.lastNs = frame.tsNs;
    const PacketKey key = options.vxlanPort != 0
                              ? decodeVxlan(frame.linkType, frame.data, frame.capLen, options.vxlanPort).key
                              : decodeFrame(frame.linkType, frame.data, frame.capLen);
    const std::uint32_t k = shardOf(key, options.shards) - 1;
    Out& out = outs[k];
    auto [it, added] = out.interfaces.try_emplace({frame.fileIndex, frame.linkType}, 0);
    if (added) {
      it->second = out.writer->addInterface(frame.linkType, 0);
      m.files[k].captures.push_back(frame.fileIndex);
    }
    out.writer->write(frame, it->second, frame.number);
    ++m.files[k].frames;
    if ((m.span.frames & 0xFFFF) == 0) {
      for (auto& o : outs)
        if (auto e = o.writer->failure()) return *e;
      if (options.progress) {
        std::fprintf(stderr, "\r%llu frames ", static_cast<unsigned long long>(m.span.frames));
        shown = m.span.frames;
      }
    }
  }
  if (shown > 0) std::fputs("\r\033[K", stderr);
  m.errors = merged.errors();
  m.warnings = merged.warnings();
  m.skippedBlocks = merged.skippedBlocks();
  for (auto& o : outs)
    if (auto e = o.writer->close()) return *e;
  if (auto e = writeFileAtomically((fs::path(dir) / "manifest.json").string(), manifestJson(m))) return *e;
  return m;
}

Result<SplitManifest> splitFlowLogs(const std::vector<std::string>& logs, const SplitOptions& options) {
  if (logs.empty()) return Error{"", "no flow log given: sgsim split --shards N --out DIR --flow-log FILE..."};
  const std::string& dir = options.outDir;
  if (auto e = prepareDir(dir)) return *e;
  auto opened = MergedFlowLog::open(logs);
  if (!opened) return opened.error();
  MergedFlowLog& merged = **opened;
  SplitManifest m;
  m.shards = options.shards;
  m.flowLog = true;
  m.inputs = logs;
  std::vector<std::unique_ptr<AtomicFile>> outs;
  for (std::uint32_t k = 0; k < options.shards; ++k) {
    SplitManifest::File f;
    f.file = shardFileName(k + 1, true);
    auto w = AtomicFile::create((fs::path(dir) / f.file).string());
    if (!w) return w.error();
    outs.push_back(std::move(*w));
    m.files.push_back(std::move(f));
  }
  auto failed = eachRecord(merged, m, outs, options.progress,
                           [&](const FlowRecord& r, std::uint32_t k) { writeRecord(outs[k]->stream(), r); });
  if (failed) return *failed;
  takeReadersFacts(merged, m);
  for (auto& o : outs)
    if (auto e = o->commit()) return *e;
  if (auto e = writeFileAtomically((fs::path(dir) / "manifest.json").string(), manifestJson(m))) return *e;
  return m;
}

}  // namespace sgsim

// ---- Indexes ---------------------------------------------------------------------------------------------------

namespace sgsim {
namespace {

std::string partManifestName(std::uint32_t part) { return "part-" + std::to_string(part) + ".json"; }
std::string partShardName(std::uint32_t part, std::uint32_t k) {
  return "part-" + std::to_string(part) + ".shard-" + std::to_string(k) + ".idx";
}

// The capture's size and modification time now (nullopt when it cannot be asked).
std::optional<std::pair<std::uint64_t, std::int64_t>> sizeAndTime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::pair{static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Whether a capture is as it was when a part indexed it: `now` is its sizeAndTime().
bool asIndexed(const IndexPart::File& f, const std::optional<std::pair<std::uint64_t, std::int64_t>>& now) {
  return now && f.size == now->first && f.mtimeNs == now->second;
}

std::string partJson(const IndexPart& p) {
  json::object root;
  root["sgsimIndex"] = IndexPart::kVersion;
  root["part"] = p.part;
  root["parts"] = p.parts;
  root["shards"] = p.shards;
  root["hash"] = kShardHash;
  json::array inputs;
  for (const auto& i : p.inputs) inputs.push_back(json::string(i));
  root["inputs"] = std::move(inputs);
  json::array files;
  for (const IndexPart::File& f : p.files) {
    json::array entries;
    for (auto n : f.entries) entries.push_back(n);
    json::object skipped;  // by block type, in decimal
    for (const auto& [type, n] : f.skipped) skipped[std::to_string(type)] = n;
    files.push_back(json::object{{"size", f.size},
                                 {"mtimeNs", f.mtimeNs},
                                 {"refused", f.refused},
                                 {"head", f.head},
                                 {"skippedBlocks", std::move(skipped)},
                                 {"start", f.start},
                                 {"end", f.end},
                                 {"frames", f.frames},
                                 {"firstNs", f.firstNs},
                                 {"lastNs", f.lastNs},
                                 {"maxNs", f.maxNs},
                                 {"ordered", f.ordered},
                                 {"entries", std::move(entries)}});
  }
  root["files"] = std::move(files);
  return json::serialize(root) + "\n";
}

Result<IndexPart> readPart(const std::string& dir, std::uint32_t part) {
  const std::string file = (fs::path(dir) / partManifestName(part)).string();
  std::error_code ec;
  if (!fs::exists(file, ec))
    return Error{file, "missing: part " + std::to_string(part) +
                           " of the index was not written (run every `sgsim split --index --part I/M` first)"};
  auto text = readWholeFile(file);
  if (!text) return text.error();
  json::error_code jec;
  json::value doc = json::parse(*text, jec);
  const ManifestReader r(file);
  if (jec) return r.error("$", "not JSON (" + jec.message() + ")");
  if (!doc.is_object()) return r.error("$", "expected an object");
  const json::object& o = doc.as_object();
  if (auto bad = r.onlyKeys(o, "$", {"sgsimIndex", "part", "parts", "shards", "hash", "inputs", "files"})) return *bad;
  auto version = r.integer(o, "$", "sgsimIndex", 0, INT64_MAX);
  if (!version) return version.error();
  if (*version != IndexPart::kVersion)
    return Error{file + ": $.sgsimIndex", "version " + std::to_string(*version) + ", but this sgsim reads version " +
                                              std::to_string(IndexPart::kVersion) +
                                              ": index the captures again with this sgsim (`sgsim split --index`)"};
  auto hash = r.integer(o, "$", "hash", 0, INT64_MAX);
  if (!hash) return hash.error();
  if (*hash != kShardHash)
    return r.error("$.hash", "shard hash version " + std::to_string(*hash) + ", but this sgsim's is " +
                                 std::to_string(kShardHash));
  IndexPart p;
  auto parts = r.integer(o, "$", "parts", 1, kMaxShards);
  if (!parts) return parts.error();
  p.parts = static_cast<std::uint32_t>(*parts);
  auto at = r.integer(o, "$", "part", 1, p.parts);
  if (!at) return at.error();
  if (*at != part)
    return r.error("$.part", "says part " + std::to_string(*at) + ", in the file of part " + std::to_string(part));
  p.part = part;
  auto shards = r.integer(o, "$", "shards", 1, kMaxShards);
  if (!shards) return shards.error();
  p.shards = static_cast<std::uint32_t>(*shards);
  auto inputs = r.strings(o, "$", "inputs");
  if (!inputs) return inputs.error();
  p.inputs = std::move(*inputs);
  auto files = r.member(o, "$", "files");
  if (!files) return files.error();
  if (!(*files)->is_array() || (*files)->as_array().size() != p.inputs.size())
    return r.error("$.files", "expected an array of one object per input");
  for (std::size_t i = 0; i < p.inputs.size(); ++i) {
    const std::string path = "$.files[" + std::to_string(i) + "]";
    const json::value& v = (*files)->as_array()[i];
    if (!v.is_object()) return r.error(path, "expected an object");
    const json::object& fo = v.as_object();
    if (auto bad = r.onlyKeys(fo, path,
                              {"size", "mtimeNs", "refused", "head", "skippedBlocks", "start", "end", "frames",
                               "firstNs", "lastNs", "maxNs", "ordered", "entries"}))
      return *bad;
    IndexPart::File f;
    std::uint64_t* counts[] = {&f.size, &f.head, &f.start, &f.end, &f.frames};
    const char* countNames[] = {"size", "head", "start", "end", "frames"};
    for (int c = 0; c < 5; ++c) {
      auto n = r.integer(fo, path, countNames[c], 0, INT64_MAX);
      if (!n) return n.error();
      *counts[c] = static_cast<std::uint64_t>(*n);
    }
    std::int64_t* times[] = {&f.mtimeNs, &f.firstNs, &f.lastNs, &f.maxNs};
    const char* timeNames[] = {"mtimeNs", "firstNs", "lastNs", "maxNs"};
    for (int c = 0; c < 4; ++c) {
      auto n = r.integer(fo, path, timeNames[c], INT64_MIN, INT64_MAX);
      if (!n) return n.error();
      *times[c] = *n;
    }
    auto skipped = r.member(fo, path, "skippedBlocks");
    if (!skipped) return skipped.error();
    if (!(*skipped)->is_object()) return r.error(path + ".skippedBlocks", "expected an object of counts by block type");
    for (const auto& kv : (*skipped)->as_object()) {
      const std::string at = path + ".skippedBlocks." + std::string(kv.key());
      unsigned long long type = 0;
      char extra = 0;
      if (std::sscanf(std::string(kv.key()).c_str(), "%llu%c", &type, &extra) != 1 || type > UINT32_MAX ||
          std::to_string(type) != kv.key())
        return r.error(at, "expected a block type (a decimal number)");
      const json::object one{{"n", kv.value()}};
      auto n = r.integer(one, at, "n", 0, INT64_MAX);
      if (!n) return r.error(at, "expected a count");
      f.skipped[static_cast<std::uint32_t>(type)] = static_cast<std::uint64_t>(*n);
    }
    auto refused = r.string(fo, path, "refused");
    if (!refused) return refused.error();
    f.refused = std::move(*refused);
    auto ordered = r.member(fo, path, "ordered");
    if (!ordered) return ordered.error();
    if (!(*ordered)->is_bool()) return r.error(path + ".ordered", "expected true or false");
    f.ordered = (*ordered)->as_bool();
    auto entries = r.member(fo, path, "entries");
    if (!entries) return entries.error();
    if (!(*entries)->is_array() || (*entries)->as_array().size() != p.shards)
      return r.error(path + ".entries", "expected one count per shard");
    for (const json::value& e : (*entries)->as_array()) {
      if (!e.is_uint64() && !(e.is_int64() && e.as_int64() >= 0))
        return r.error(path + ".entries", "expected whole numbers");
      f.entries.push_back(e.is_uint64() ? e.as_uint64() : static_cast<std::uint64_t>(e.as_int64()));
    }
    p.files.push_back(std::move(f));
  }
  return p;
}

// A shard's records of one capture: its entries in each part's index file for the shard, in part order, each number
// made the whole capture's.
class PartRecords final : public CaptureReader::IndexSource {
 public:
  struct Segment {
    std::string file;
    std::uint64_t at = 0;                          // byte offset of the capture's entries in the file
    std::uint64_t count = 0;                       // entries
    std::uint64_t base = 0;                        // frames of the capture in the parts before
    std::uint64_t start = 0, end = 0, frames = 0;  // the part's records: [start, end), numbered 1..frames
    std::uint64_t read = 0;                        // entries read so far
  };
  PartRecords(std::vector<Segment> segments, std::map<std::string, std::uint64_t> skipped)
      : segments_(std::move(segments)), skipped_(std::move(skipped)) {}
  ~PartRecords() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  std::size_t fill(std::vector<CaptureReader::IndexedRecord>& out) override {
    while (!error_ && next_ < segments_.size()) {
      Segment& s = segments_[next_];
      if (s.count == 0) {
        close();
        ++next_;
        continue;
      }
      if (file_ == nullptr) {
        file_ = std::fopen(s.file.c_str(), "rb");
        if (file_ == nullptr || std::fseek(file_, static_cast<long>(s.at), SEEK_SET) != 0) {
          error_ = Error{s.file, std::string("cannot be read (") + std::strerror(errno) + "): index again"};
          return 0;
        }
      }
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), s.count));
      const std::size_t got = std::fread(out.data(), sizeof(CaptureReader::IndexedRecord), want, file_);
      if (got != want) {
        error_ = Error{s.file, "ends before its last record: the index is incomplete; index again"};
        return 0;
      }
      // A damaged index must not read bytes as frames: every record in its part, in file order.
      for (std::size_t i = 0; i < got; ++i) {
        CaptureReader::IndexedRecord& r = out[i];
        if (r.offset < s.start || r.offset >= s.end || r.offset <= lastOffset_ || r.number < 1 || r.number > s.frames) {
          error_ = Error{s.file, "entry " + std::to_string(s.read + i + 1) +
                                     " is out of order or outside its part: the index is damaged; index again"};
          return 0;
        }
        lastOffset_ = r.offset;
        r.number += s.base;
      }
      s.count -= got;
      s.read += got;
      return got;
    }
    return 0;
  }
  std::optional<Error> error() const override { return error_; }
  std::map<std::string, std::uint64_t> skippedBlocks() const override { return skipped_; }

 private:
  void close() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }
  std::vector<Segment> segments_;
  std::size_t next_ = 0;
  std::FILE* file_ = nullptr;
  std::uint64_t lastOffset_ = 0;  // the record read before (0: none; records start at 24 or later)
  std::optional<Error> error_;
  std::map<std::string, std::uint64_t> skipped_;
};

}  // namespace

Result<IndexPart> indexPart(const std::vector<std::string>& captures, const IndexOptions& options) {
  if (captures.empty())
    return Error{"", "no capture file given: sgsim split --index --part I/M --shards N --out DIR CAPTURE..."};
  const std::string& dir = options.outDir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec) && !fs::create_directories(dir, ec) && !fs::is_directory(dir, ec))
    return Error{"--out " + dir, "cannot be made (" + ec.message() + ")"};
  const std::string manifest = (fs::path(dir) / partManifestName(options.part)).string();
  if (fs::exists(manifest, ec) || fs::is_symlink(manifest, ec)) {
    // The same part of the same captures, unchanged since, with every file whole: kept as it is (a distributed
    // engine runs a task again when it loses the worker that ran it, even after the task's work was done).
    if (auto done = readPart(dir, options.part);
        done && done->parts == options.parts && done->shards == options.shards && done->inputs == captures) {
      bool same = true;
      for (std::size_t i = 0; i < captures.size() && same; ++i)
        same = asIndexed(done->files[i], sizeAndTime(captures[i]));
      for (std::uint32_t k = 0; k < options.shards && same; ++k) {
        std::uint64_t entries = 0;
        for (const IndexPart::File& f : done->files) entries += f.entries[k];
        same = fs::file_size(fs::path(dir) / partShardName(options.part, k + 1), ec) ==
                   entries * sizeof(CaptureReader::IndexedRecord) &&
               !ec;
      }
      if (same) {
        done->kept = true;
        return std::move(*done);
      }
    }
    return Error{manifest, "exists: part " + std::to_string(options.part) +
                               " was indexed into this directory already, of other captures or shards, or of captures "
                               "that changed since (give a new directory)"};
  }
  IndexPart p;
  p.part = options.part;
  p.parts = options.parts;
  p.shards = options.shards;
  p.inputs = captures;
  std::vector<std::unique_ptr<AtomicFile>> outs;
  std::vector<std::vector<CaptureReader::IndexedRecord>> pending(options.shards);
  for (std::uint32_t k = 1; k <= options.shards; ++k) {
    auto out = AtomicFile::create((fs::path(dir) / partShardName(options.part, k)).string());
    if (!out) return out.error();
    outs.push_back(std::move(*out));
  }
  auto flush = [&](std::uint32_t k) {
    auto& v = pending[k];
    outs[k]->stream().write(reinterpret_cast<const char*>(v.data()),
                            static_cast<std::streamsize>(v.size() * sizeof(CaptureReader::IndexedRecord)));
    v.clear();
  };
  for (std::size_t i = 0; i < captures.size(); ++i) {
    IndexPart::File f;
    f.entries.assign(options.shards, 0);
    auto reader = CaptureReader::open(captures[i], static_cast<std::uint16_t>(i));
    if (!reader) return reader.error();
    CaptureReader& r = **reader;
    if (auto st = sizeAndTime(captures[i])) std::tie(f.size, f.mtimeNs) = *st;
    // A pcapng file is mapped and read up to its first packet block (CaptureReader::mapPcapng).
    const std::optional<std::string> pcapng = r.isPcapng() ? r.mapPcapng() : std::nullopt;
    const std::uint64_t size = r.fileSize();
    if (pcapng || !r.readingMapped() || size != f.size) {
      f.refused = pcapng               ? *pcapng
                  : !r.readingMapped() ? "not a plain classic pcap file (libpcap reads it)"
                                       : "changed while it was being opened";
      p.files.push_back(std::move(f));
      continue;
    }
    f.head = r.firstRecord();
    const std::uint64_t body = size - f.head;
    const auto bound = [&](std::uint32_t part) {
      return f.head + body / options.parts * (part - 1) + body % options.parts * (part - 1) / options.parts;
    };
    // Each record's shard is found as the lanes read it (CaptureReader::scanRange); kEvery: UDP to VXLAN's port,
    // which every shard counts for the mirrored-traffic warning, as every shard in place reads it
    // (pipeline/capture_stream.h). The capture's first frame (a shard's time origin) goes to every shard too.
    constexpr std::uint32_t kEvery = std::numeric_limits<std::uint32_t>::max();
    PacketKey key;
    const std::uint32_t shards = options.shards;
    auto tag = [&key, shards](const Frame& frame) {
      decodeFrame(frame.linkType, frame.data, frame.capLen, key);
      return toVxlanPort(key) ? kEvery : shardOf(key, shards) - 1;
    };
    auto sink = [&](std::span<const CaptureReader::ScannedRecord> records) {
      for (const CaptureReader::ScannedRecord& r : records) {
        if (f.frames++ == 0) f.firstNs = f.maxNs = r.tsNs;
        if (r.tsNs < f.lastNs && f.frames > 1) f.ordered = false;
        f.lastNs = r.tsNs;
        f.maxNs = std::max(f.maxNs, r.tsNs);
        const CaptureReader::IndexedRecord record{r.offset, f.frames};
        const bool everyShard = r.offset == f.head || r.tag == kEvery;
        const std::uint32_t own = everyShard ? 0 : r.tag;
        for (std::uint32_t k = own; k < (everyShard ? shards : own + 1); ++k) {
          pending[k].push_back(record);
          ++f.entries[k];
          if (pending[k].size() == 4096) flush(k);
        }
      }
    };
    r.scanRange(options.part == 1 ? 0 : bound(options.part),
                options.part == options.parts ? size : bound(options.part + 1), tag, sink);
    f.start = r.rangeStart();
    f.end = r.rangeEnd();
    f.skipped = r.rangeSkipped();
    if (r.rangeRefused()) f.refused = *r.rangeRefused();
    if (r.error()) f.refused = r.error()->toString();
    p.files.push_back(std::move(f));
  }
  for (std::uint32_t k = 0; k < options.shards; ++k) {
    flush(k);
    if (auto e = outs[k]->commit(AtomicFile::Sync::Scratch)) return *e;
  }
  if (auto e = writeFileAtomically(manifest, partJson(p), AtomicFile::Sync::Scratch)) return *e;
  return p;
}

Result<ShardIndex> readShardIndex(const std::string& dir, Shard shard) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error{"--index " + dir, "no such directory: give the directory `sgsim split --index --out` wrote"};
  auto first = readPart(dir, 1);
  if (!first) return first.error();
  std::vector<IndexPart> parts{std::move(*first)};
  parts.reserve(parts.front().parts);
  const IndexPart& p1 = parts.front();  // parts holds every part without moving
  if (p1.shards != shard.count)
    return Error{"--shard " + shard.toString(), "the index in " + dir + " has " + std::to_string(p1.shards) +
                                                    " shards: give --shard K/" + std::to_string(p1.shards)};
  for (std::uint32_t i = 2; i <= p1.parts; ++i) {
    auto p = readPart(dir, i);
    if (!p) return p.error();
    if (p->parts != p1.parts || p->shards != p1.shards || p->inputs != p1.inputs)
      return Error{(fs::path(dir) / partManifestName(i)).string(),
                   "a part of another index than part 1's (its parts, shards or captures differ): index again into "
                   "a new directory"};
    parts.push_back(std::move(*p));
  }
  ShardIndex s;
  s.inputs = p1.inputs;
  const std::size_t files = p1.inputs.size();
  s.inPlace.assign(files, "");
  std::optional<std::int64_t> firstNs, maxNs;
  // Whether capture i can be read through the index: why not, or "" and its frames counted into the span.
  auto check = [&](std::size_t i) -> std::string {
    const auto now = sizeAndTime(p1.inputs[i]);
    const std::uint64_t head = parts.front().files[i].head;
    std::uint64_t expected = head, frames = 0;
    std::set<std::uint32_t> skippedTypes;          // pcapng: the block types the parts skipped
    std::optional<std::int64_t> first, last, max;  // the capture's first frame, the frame before this part's first
    for (const IndexPart& p : parts) {
      const IndexPart::File& f = p.files[i];
      if (!f.refused.empty()) return f.refused;
      if (!asIndexed(f, now) || f.head != head) return "changed since it was indexed";
      for (const auto& kv : f.skipped) skippedTypes.insert(kv.first);
      if (f.start != expected)
        return "part " + std::to_string(p.part) + " starts at byte " + std::to_string(f.start) +
               ", where the record after part " + std::to_string(p.part - 1) + "'s is at byte " +
               std::to_string(expected);
      expected = f.end;
      if (f.frames == 0) continue;
      // A capture read whole keeps the merge's order whatever its times; one read in part must not go back.
      if (files > 1 && (!f.ordered || (last && f.firstNs < *last)))
        return "its frames' times go back, so its merge with the other captures depends on every frame";
      if (!first) first = f.firstNs;
      last = f.lastNs;
      frames += f.frames;
      max = std::max(max.value_or(f.maxNs), f.maxNs);
    }
    if (expected != parts.front().files[i].size)
      return "the parts end at byte " + std::to_string(expected) + " of " + std::to_string(parts.front().files[i].size);
    // The reader counts that many block types one by one, those met after them together: in which order the parts
    // met them would then matter.
    if (skippedTypes.size() > PcapngReader::kMaxSkippedTypes)
      return "its skipped blocks are of more than " + std::to_string(PcapngReader::kMaxSkippedTypes) + " types";
    // The whole input's first frame: the first of the capture whose first frame is earliest (the merge's choice).
    if (first) firstNs = std::min(firstNs.value_or(*first), *first);
    if (max) maxNs = std::max(maxNs.value_or(*max), *max);
    s.span.frames += frames;
    return "";
  };
  for (std::size_t i = 0; i < files; ++i) s.inPlace[i] = check(i);
  if (firstNs) s.span.firstNs = *firstNs;
  if (maxNs) s.span.lastNs = *maxNs;
  for (std::size_t i = 0; i < files; ++i) {
    if (!s.inPlace[i].empty()) {
      s.records.push_back(nullptr);
      continue;
    }
    std::vector<PartRecords::Segment> segments;
    std::map<std::string, std::uint64_t> skipped;  // by name, as the whole reading counts them
    std::uint64_t base = 0;
    for (const IndexPart& p : parts) {
      for (const auto& [type, n] : p.files[i].skipped) skipped[pcapngBlockName(type)] += n;
      std::uint64_t at = 0;
      for (std::size_t g = 0; g < i; ++g) at += p.files[g].entries[shard.index - 1];
      const IndexPart::File& f = p.files[i];
      segments.push_back({(fs::path(dir) / partShardName(p.part, shard.index)).string(),
                          at * sizeof(CaptureReader::IndexedRecord), f.entries[shard.index - 1], base, f.start, f.end,
                          f.frames});
      base += p.files[i].frames;
    }
    s.records.push_back(std::make_unique<PartRecords>(std::move(segments), std::move(skipped)));
  }
  return s;
}

// ---- Flow-log indexes ---------------------------------------------------------------------------------------------

namespace {

constexpr const char* kFlowIndexFile = "flowlog-index.json";  // the index's own facts
constexpr const char* kFlowWholeFile = "flowlog-whole.json";  // the whole input's, as a split's manifest holds them

std::string flowShardName(std::uint32_t k) { return "flowlog.shard-" + std::to_string(k) + ".idx"; }
// The plain copy of the text of log `i` (0-based) when it is gzip.
std::string flowTextName(std::size_t i) { return "flowlog-text-" + std::to_string(i + 1) + ".txt"; }

// A gzip log's text, copied into the index as the pass reads it (FlowLogReader::copyText, on the reading thread).
struct TextCopy {
  std::unique_ptr<AtomicFile> out;
  std::uint64_t bytes = 0;
};

std::string flowIndexJson(const FlowLogIndex& x) {
  json::object root;
  root["sgsimFlowLogIndex"] = FlowLogIndex::kVersion;
  root["hash"] = kShardHash;
  root["refused"] = x.refused;
  root["placement"] = x.placement;
  json::array files;
  for (const FlowLogIndex::File& f : x.files) {
    json::object o{{"size", f.size}, {"mtimeNs", f.mtimeNs}};
    if (!f.text.empty()) {
      o["text"] = f.text;
      o["textSize"] = f.textSize;
    }
    files.push_back(std::move(o));
  }
  root["files"] = std::move(files);
  return json::serialize(root) + "\n";
}

}  // namespace

bool isFlowLogIndex(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kFlowIndexFile, ec);
}

constexpr std::size_t kMaxParseThreads = 8;

Result<FlowLogIndex> indexFlowLogs(const std::vector<std::string>& logs, const FlowLogIndexOptions& options) {
  if (logs.empty()) return Error{"", "no flow log given: sgsim split --index --shards N --out DIR --flow-log FILE..."};
  const std::string& dir = options.outDir;
  if (auto e = prepareDir(dir)) return *e;
  FlowLogIndex x;
  x.placement = options.placement;
  SplitManifest& m = x.whole;
  m.shards = options.shards;
  m.flowLog = true;
  m.inputs = logs;
  for (std::uint32_t k = 1; k <= options.shards; ++k) m.files.push_back(SplitManifest::File{flowShardName(k), {}, 0});
  // Size and age first: a log written to while it is read is then seen as changed by the shards, which read in place.
  for (const std::string& log : logs) {
    const auto st = sizeAndTime(log);
    x.files.push_back(st ? FlowLogIndex::File{st->first, st->second, "", 0} : FlowLogIndex::File{});
  }
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  // By log; node-based, so that each reader's sink keeps its copy's address.
  std::vector<std::unique_ptr<TextCopy>> copies(logs.size());
  for (std::size_t i = 0; i < logs.size(); ++i) {
    auto r = FlowLogReader::open(logs[i], static_cast<std::uint16_t>(i));
    if (!r) return r.error();
    (*r)->hashLines();  // before the merge reads its first records
    // A gzip log that is a regular file is copied into the index as it is read; any other log is read where it is,
    // if it can be (a gzip FIFO cannot: indexable() names it as any FIFO).
    std::optional<Error> why;
    if (!(*r)->gzip() || !(*r)->regularFile()) {
      why = (*r)->indexable();
    } else {
      auto out = AtomicFile::create((fs::path(dir) / flowTextName(i)).string());
      if (!out) return out.error();
      copies[i] = std::make_unique<TextCopy>(TextCopy{std::move(*out), 0});
      TextCopy* c = copies[i].get();
      const bool copying = (*r)->copyText([c](std::string_view text) {
        c->out->stream().write(text.data(), static_cast<std::streamsize>(text.size()));
        c->bytes += text.size();
      });
      if (!copying)
        why = Error{logs[i],
                    "its header comes after more blank lines than a read holds (2 MiB): not copied into the index"};
    }
    if (why && x.refused.empty()) x.refused = why->toString();
    readers.push_back(std::move(*r));
  }
  // The parsing of each log on a thread of its own, beside the merge window and the entries on this one (about as
  // long each): fl3m.csv's pass took ~0.6 of the time (docs/PERFORMANCE.md). Not for many logs at once: a thread each.
  if (x.refused.empty() && readers.size() <= kMaxParseThreads)
    for (auto& r : readers) r->parseAhead();
  // The window holds compact records (capture/flow_log.h, CompactFlowRecord): each one's shard and placement are
  // worked out as it is read, from the whole record.
  MergedFlowLog merged(std::move(readers), [&](const FlowRecord& r, CompactFlowRecord& c) {
    c.shard = shardOf(keyOfRecord(r), m.shards) - 1;
    c.placed = !options.placed || options.placed(r);
  });
  std::vector<std::unique_ptr<AtomicFile>> outs;
  std::vector<std::vector<FlowLogIndexEntry>> pending(options.shards);
  auto flush = [&](std::uint32_t k) {
    auto& v = pending[k];
    outs[k]->stream().write(reinterpret_cast<const char*>(v.data()),
                            static_cast<std::streamsize>(v.size() * sizeof(FlowLogIndexEntry)));
    v.clear();
  };
  if (x.refused.empty()) {
    for (std::uint32_t k = 1; k <= options.shards; ++k) {
      auto out = AtomicFile::create((fs::path(dir) / flowShardName(k)).string());
      if (!out) return out.error();
      outs.push_back(std::move(*out));
    }
    std::uint64_t unplaced = 0;
    std::string firstUnplaced, firstUnplacedEni;
    {
      RecordTally tally(m, outs, options.progress);
      while (const CompactFlowRecord* r = merged.nextCompact()) {
        const std::uint32_t k = r->shard;
        if (auto e = tally.add(r->startNs, k)) return *e;
        if (!r->placed && unplaced++ == 0) {
          firstUnplaced = logs[r->fileIndex] + ": line " + std::to_string(r->line);
          firstUnplacedEni = std::string(r->eni.view());
        }
        pending[k].push_back(FlowLogIndexEntry{r->offset, r->line, m.span.frames, r->fileIndex, r->lineHash});
        if (pending[k].size() == 4096) flush(k);
      }
    }
    takeReadersFacts(merged, m);
    // Where a run puts it: after the readers' warnings (RecordStream::account).
    if (unplaced > 0) m.warnings.push_back(unplacedWarning(unplaced, firstUnplaced, firstUnplacedEni));
    for (std::uint32_t k = 0; k < options.shards; ++k) {
      flush(k);
      if (auto e = outs[k]->commit(AtomicFile::Sync::Scratch)) return *e;
    }
    // The copies: every record was handed over by the reading threads, so they wrote their last bytes before.
    for (std::size_t i = 0; i < copies.size(); ++i) {
      if (!copies[i]) continue;
      if (auto e = copies[i]->out->commit(AtomicFile::Sync::Scratch)) return *e;
      x.files[i].text = flowTextName(i);
      x.files[i].textSize = copies[i]->bytes;
    }
  }
  if (auto e =
          writeFileAtomically((fs::path(dir) / kFlowWholeFile).string(), manifestJson(m), AtomicFile::Sync::Scratch))
    return *e;
  // Last: a directory with this file holds a whole index.
  if (auto e =
          writeFileAtomically((fs::path(dir) / kFlowIndexFile).string(), flowIndexJson(x), AtomicFile::Sync::Scratch))
    return *e;
  return x;
}

Result<FlowLogShard> readFlowLogIndex(const std::string& dir, Shard shard) {
  const std::string file = (fs::path(dir) / kFlowIndexFile).string();
  auto doc = readObjectFile(file, "index again");
  if (!doc) return doc.error();
  const ManifestReader r(file);
  const json::object& o = doc->as_object();
  if (auto bad = r.onlyKeys(o, "$", {"sgsimFlowLogIndex", "hash", "refused", "placement", "files"})) return *bad;
  auto version = r.integer(o, "$", "sgsimFlowLogIndex", 0, INT64_MAX);
  if (!version) return version.error();
  if (*version != FlowLogIndex::kVersion)
    return r.error("$.sgsimFlowLogIndex", "version " + std::to_string(*version) + ", but this sgsim reads version " +
                                              std::to_string(FlowLogIndex::kVersion) + ": index again");
  auto hash = r.integer(o, "$", "hash", 0, INT64_MAX);
  if (!hash) return hash.error();
  if (*hash != kShardHash)
    return r.error("$.hash", "shards hashed by version " + std::to_string(*hash) + ", this sgsim hashes by version " +
                                 std::to_string(kShardHash) + ": index again");
  FlowLogShard out;
  FlowLogIndex& x = out.index;
  auto refused = r.string(o, "$", "refused");
  if (!refused) return refused.error();
  x.refused = *refused;
  auto placement = r.string(o, "$", "placement");
  if (!placement) return placement.error();
  x.placement = *placement;
  auto files = r.member(o, "$", "files");
  if (!files) return files.error();
  if (!(*files)->is_array()) return r.error("$.files", "expected an array");
  for (std::size_t i = 0; i < (*files)->as_array().size(); ++i) {
    const std::string at = "$.files[" + std::to_string(i) + "]";
    const json::value& f = (*files)->as_array()[i];
    if (!f.is_object()) return r.error(at, "expected an object");
    if (auto bad = r.onlyKeys(f.as_object(), at, {"size", "mtimeNs", "text", "textSize"})) return *bad;
    auto size = r.integer(f.as_object(), at, "size", 0, INT64_MAX);
    if (!size) return size.error();
    auto mtime = r.integer(f.as_object(), at, "mtimeNs", INT64_MIN, INT64_MAX);
    if (!mtime) return mtime.error();
    FlowLogIndex::File file{static_cast<std::uint64_t>(*size), *mtime, "", 0};
    if (f.as_object().contains("text") || f.as_object().contains("textSize")) {
      auto text = r.string(f.as_object(), at, "text");
      if (!text) return text.error();
      if (*text != flowTextName(i)) return r.error(at + ".text", "\"" + *text + "\": expected " + flowTextName(i));
      auto textSize = r.integer(f.as_object(), at, "textSize", 0, INT64_MAX);
      if (!textSize) return textSize.error();
      file.text = *text;
      file.textSize = static_cast<std::uint64_t>(*textSize);
    }
    x.files.push_back(std::move(file));
  }
  auto whole = readManifestFile((fs::path(dir) / kFlowWholeFile).string());
  if (!whole) return whole.error();
  x.whole = std::move(*whole);
  if (!x.whole.flowLog || x.files.size() != x.whole.inputs.size())
    return Error{file, "does not match " + std::string(kFlowWholeFile) + " beside it: index again"};
  if (x.whole.shards != shard.count)
    return Error{"--shard " + shard.toString(), "the index in " + dir + " has " + std::to_string(x.whole.shards) +
                                                    " shards: give --shard K/" + std::to_string(x.whole.shards)};
  if (!x.refused.empty()) {
    out.inPlace = x.refused;
    return out;
  }
  for (std::size_t i = 0; i < x.files.size(); ++i) {
    const auto now = sizeAndTime(x.whole.inputs[i]);
    if (!now || now->first != x.files[i].size || now->second != x.files[i].mtimeNs) {
      out.inPlace = x.whole.inputs[i] + ": " +
                    (now ? "not the size and modification time it had when indexed" : "cannot be looked at now");
      return out;
    }
    out.texts.emplace_back();
    if (x.files[i].text.empty()) continue;
    const std::string copy = (fs::path(dir) / x.files[i].text).string();
    const auto copied = sizeAndTime(copy);
    if (!copied || copied->first != x.files[i].textSize) {
      out.inPlace = copy + ", the index's copy of " + x.whole.inputs[i] + ": " +
                    (copied ? "not the size it was written" : "cannot be looked at now");
      out.texts.clear();
      return out;
    }
    out.texts.back() = copy;
  }
  const SplitManifest::File& mine = x.whole.files[shard.index - 1];
  const std::string entries = (fs::path(dir) / mine.file).string();
  auto mapped = FlowIndexEntries::map(entries, mine.frames, kFlowWholeFile);
  if (!mapped) return mapped.error();
  out.entries = std::move(*mapped);
  std::uint64_t last = 0;
  for (const FlowLogIndexEntry& e : out.entries) {
    if (e.file >= x.files.size() || e.ordinal <= last || e.ordinal > x.whole.span.frames ||
        e.offset >= (x.files[e.file].text.empty() ? x.files[e.file].size : x.files[e.file].textSize))
      return Error{entries, "an entry out of order or out of range (ordinal " + std::to_string(e.ordinal) +
                                "): not an index of these logs; index again"};
    last = e.ordinal;
  }
  return out;
}

}  // namespace sgsim
