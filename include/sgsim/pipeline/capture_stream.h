#pragma once
// The stream of today's source: pcap/pcapng files merged in time order (capture/capture_reader.h), each frame
// decoded and planned on the reading thread (capture/read_ahead.h) so that the evaluation finds its key and its
// ENIs, flow-table hashes and, when the reader has time to spare, its rule decisions ready (stage.h).

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/core/result.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/pipeline/stage.h"

namespace sgsim {

// Opens every capture file (merged in time order). Fails without files ("no capture file given") and with the
// first file that cannot be opened, naming it.
Result<std::unique_ptr<MergedCapture>> openCaptures(const std::vector<std::string>& paths);

// What the reading thread hands on for every frame: its key and, as far as it can tell ahead, its plan.
template <int Sides>
struct Planned {
  PacketKey key;
  BasicPacketPlan<Sides> plan;
};

// --mirror VNI=ENI: the inner packets of this VXLAN network identifier are copies of that interface's traffic.
struct MirrorSession {
  std::uint32_t vni = 0;
  std::int32_t eni = -1;  // Network index
  std::string eniId;      // for messages
};

// --decap vxlan[:PORT] (stage.h, "VXLAN inner frames"): each frame that is a VXLAN packet to `vxlanPort` is
// replaced by its inner frame on the reading thread (decode/decoder.h, decodeVxlan): the key and plan are the
// inner packet's, Frame::wireLen the inner frame's length (Frame::encapLen the outer headers'), and the Frame still
// names the outer record (file, number, time). A frame that is not such a packet is evaluated as itself and
// counted: the stream's account() says how many, why, and the first of them, as a warning.
// Mirror sessions pick the ENI of their inner packets (BasicPlanner::onlyAt); an inner packet with neither address
// of its session's ENI is checked nowhere (`none unmodeled`) and counted in a warning; VNIs without a session are
// planned as any packet (the ENIs of their addresses), and named in a warning when sessions were given.
// Without decapsulation the stream still notices mirrored traffic given as it is (kMirrorLikeShare below).
struct DecapOptions {
  std::uint16_t vxlanPort = 0;  // 0: no decapsulation
  std::vector<MirrorSession> mirror;
};

// Without --decap, a capture of which at least this share of the frames (and at least one frame) are VXLAN to port
// 4789 between two addresses no modeled ENI holds gets a warning naming --decap: those frames are a collector's
// copies of an interface's traffic, and as themselves they are only `none unmodeled`. Half: "most of the capture"
// (a collector also sees its own ARP, SSH, …); fewer such frames are left alone, as legitimate VXLAN traffic that
// passes by is not this run's business.
inline constexpr double kMirrorLikeShare = 0.5;

struct CaptureStreamOptions {
  bool thread = true;      // read, decode and plan on a second thread (--threads 2)
  bool copyBytes = false;  // keep each frame's bytes for the evaluation (Frame::data; else null)
  DecapOptions decap;
  // --shard K/N in place: the frames of other shards are dropped on the reading thread right after decoding (see
  // CaptureStream::keep), so that they are not planned, copied, batched or handed to the evaluation; Pass::step
  // still decides by the same shardOf, and the stream keeps the whole stream's span (wholeSpan()).
  std::optional<Shard> shard;
  // --index DIR --shard K/N (pipeline/split.h, "Indexes"): the captures are read through the shard's index, which
  // holds its own frames plus every capture's first frame and every UDP frame to port 4789, and this is the whole
  // input's span (the index's). The first frame read is handed on (the whole input's first: the index has every
  // capture's first), the others by shard as in place.
  std::optional<ReplayStats::StreamSpan> indexedWhole;
  // With indexedWhole, by Frame::fileIndex: the captures read whole (ShardIndex::inPlace; empty: none). Their frames
  // are counted into the whole span here, since the index's span holds only the others'.
  std::vector<bool> readWhole;
};

// What the decapsulating step (or, without it, the mirrored-traffic check) saw, counted on the reading thread and
// read once the stream has ended. Frames are named by (fileIndex, number).
struct DecapCounts {
  struct FrameRef {
    std::uint16_t fileIndex = 0;
    std::uint64_t number = 0;
  };
  struct Tally {
    std::uint64_t frames = 0;
    FrameRef first;
    void add(const Frame& f) {
      if (frames++ == 0) first = {f.fileIndex, f.number};
    }
  };
  std::array<Tally, kDecapOutcomes> byOutcome{};  // by Decap
  std::vector<Tally> neither;                     // by mirror session: inner packets with neither address of its ENI
  std::map<std::uint32_t, Tally> unmapped;        // VNIs without a session (only counted when sessions were given)
  Tally mirrorLike;                               // without --decap: VXLAN to 4789 between unmodeled addresses
};

// The warnings a stream's decapsulation (or its absence) gives, from what it counted over `frames` frames;
// `files` names the captures by Frame::fileIndex.
std::vector<Error> decapWarnings(const DecapOptions& options, const DecapCounts& counts, std::uint64_t frames,
                                 const std::vector<std::string>& files);

template <int Sides>
class CaptureStream {
  // Decodes a frame (decapsulating it under --decap) and plans it; makes the rules' decisions ahead only when the
  // evaluation is the slower side. Runs on the reading thread; `stream` is the stream's state it counts into.
  struct DecodeAndPlan {
    CaptureStream* stream;
    // false: a frame of another shard (--shard in place), dropped.
    bool operator()(Frame& f, Planned<Sides>& p, bool spare) const {
      if (stream->decap_.vxlanPort != 0) return stream->decapsulate(f, p, spare);
      decodeFrame(f.linkType, f.data, f.capLen, p.key);
      // Mirrored traffic given as it is (a branch that UDP to 4789 alone takes) is counted over every frame, whatever
      // its shard (its warning is shard 1's): planned and checked apart, off the hot path.
      if (toVxlanPort(p.key)) [[unlikely]] {
        stream->planner_.plan(p.key, p.plan, spare);
        if (!p.plan.checkSrc && !p.plan.checkDst) stream->noteMirrorLike(f, p.key);
        return stream->keep(f, p.key);
      }
      if (!stream->keep(f, p.key)) return false;
      stream->planner_.plan(p.key, p.plan, spare);
      return true;
    }
  };

 public:
  using Item = AheadFrame<Planned<Sides>>;

  // Starts reading (on a second thread unless options.thread is false). The captures outlive the stream.
  CaptureStream(MergedCapture& captures, const BasicPlanner<Sides>& planner, CaptureStreamOptions options)
      : captures_(captures),
        planner_(planner),
        decap_(options.decap),
        mirrorPlanners_(sessionPlanners(planner_, decap_)),
        counts_(initialCounts(decap_)),
        filter_(options.shard && options.shard->count > 1 ? options.shard : std::nullopt),
        indexed_(filter_ && options.indexedWhole),
        readWhole_(indexed_ ? std::move(options.readWhole) : std::vector<bool>{}),
        whole_(indexed_ ? *options.indexedWhole : ReplayStats::StreamSpan{}),
        ahead_(captures, DecodeAndPlan{this}, ReadAheadOptions{options.thread, options.copyBytes}) {}
  CaptureStream(const CaptureStream&) = delete;
  CaptureStream& operator=(const CaptureStream&) = delete;

  // The next batch in capture order; empty at the end. Valid until the next call.
  std::span<const Item> next() { return ahead_.next(); }
  static Observation<Sides> observation(const Item& item) { return {item.frame, item.extra.key, item.extra.plan}; }
  // The capture files, by Frame::fileIndex.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& r : captures_.readers()) out.push_back(r->path());
    return out;
  }
  // Every file that ended on a bad record, in the order it happened; complete once next() has returned empty.
  const std::vector<Error>& errors() const { return captures_.errors(); }
  // What the readers went on despite (a pcapng frame without a timestamp, …) into the run's warnings, and the pcapng
  // blocks they skipped; what the decapsulation counted (decapWarnings); once next() has returned empty.
  void account(ReplayStats& stats) const {
    const auto warnings = captures_.warnings();
    stats.warnings.insert(stats.warnings.end(), warnings.begin(), warnings.end());
    stats.skippedBlocks = captures_.skippedBlocks();
    const auto decap = decapWarnings(decap_, counts_, stats.frames, names());
    stats.warnings.insert(stats.warnings.end(), decap.begin(), decap.end());
  }
  // What the decapsulating step counted; complete once next() has returned empty.
  const DecapCounts& decapCounts() const { return counts_; }
  // --shard in place: every frame's span, the dropped ones' too (Pass: the whole stream's span); once next() has
  // returned empty. Without a shard, nothing (Pass counts what it sees).
  std::optional<ReplayStats::StreamSpan> wholeSpan() const {
    if (!filter_) return std::nullopt;
    return whole_;
  }

 private:
  static std::vector<BasicPlanner<Sides>> sessionPlanners(const BasicPlanner<Sides>& planner,
                                                          const DecapOptions& decap) {
    std::vector<BasicPlanner<Sides>> out;
    for (const MirrorSession& m : decap.mirror) out.push_back(planner.onlyAt(m.eni));
    return out;
  }

  static DecapCounts initialCounts(const DecapOptions& decap) {
    DecapCounts c;
    c.neither.resize(decap.mirror.size());
    return c;
  }

  // The frame's key decided, counts what every frame counts whatever its shard (the whole stream's span); true when
  // it is to be handed on: no shard filter, the stream's first frame (its time origin, begin()'s, whatever its
  // shard), or a frame of this shard by stage.h's shardOf, the rule Pass::step applies again.
  bool keep(const Frame& f, const PacketKey& key) {
    if (!filter_) return true;
    if (indexed_) {
      const bool whole = f.fileIndex < readWhole_.size() && readWhole_[f.fileIndex];
      if (whole) whole_.lastNs = whole_.frames++ == 0 ? f.tsNs : std::max(whole_.lastNs, f.tsNs);
      // A frame read through the index is the shard's by the index (made by the same shardOf), but for the few
      // every shard's index holds (each capture's first frame, VXLAN's port): handed on unhashed, since
      // Pass::stepShard applies the rule to every observation anyway; hashed here only to spare the planning of
      // another shard's frames, which only captures read whole have many of (2 hashes a frame were 2.6% of a
      // shard's CPU on cap10m).
      if (handedFirst_) return !whole || shardOf(key, filter_->count) == filter_->index;
      handedFirst_ = true;
      whole_.firstNs = f.tsNs;  // the whole input's first frame, from a capture read whole or through the index
      return true;
    }
    if (whole_.frames++ == 0) {
      whole_.firstNs = whole_.lastNs = f.tsNs;
      return true;
    }
    if (f.tsNs > whole_.lastNs) whole_.lastNs = f.tsNs;
    return shardOf(key, filter_->count) == filter_->index;
  }

  bool decapsulate(Frame& f, Planned<Sides>& p, bool spare) {
    const DecapFrame d = decodeVxlan(f.linkType, f.data, f.capLen, decap_.vxlanPort);
    p.key = d.key;
    counts_.byOutcome[static_cast<std::size_t>(d.decap)].add(f);
    if (d.decap != Decap::Inner) {
      if (!keep(f, p.key)) return false;
      planner_.plan(p.key, p.plan, spare);
      return true;
    }
    f.wireLen = f.wireLen > d.encapLen ? f.wireLen - d.encapLen : 0;
    f.encapLen = d.encapLen;
    std::size_t session = 0;
    while (session < decap_.mirror.size() && decap_.mirror[session].vni != static_cast<std::uint32_t>(p.key.vni))
      ++session;
    if (session == decap_.mirror.size()) {
      if (!decap_.mirror.empty()) counts_.unmapped[static_cast<std::uint32_t>(p.key.vni)].add(f);
      if (!keep(f, p.key)) return false;
      planner_.plan(p.key, p.plan, spare);
      return true;
    }
    // A mirror session's inner packets are counted by their plan (neither address of its ENI): planned whatever
    // their shard.
    mirrorPlanners_[session].plan(p.key, p.plan, spare);
    const PacketKey& k = p.key;
    if (k.status == DecodeStatus::Ok && !(k.isFragment && !k.firstFragment) && !p.plan.checkSrc && !p.plan.checkDst)
      counts_.neither[session].add(f);
    return keep(f, p.key);
  }

  [[gnu::noinline]] void noteMirrorLike(const Frame& f, const PacketKey& key) {
    if (key.status != DecodeStatus::Ok || key.isFragment) return;
    const DecapFrame d = decodeVxlan(f.linkType, f.data, f.capLen, kVxlanPort);
    if (d.decap == Decap::Inner && d.key.status != DecodeStatus::Undecodable) counts_.mirrorLike.add(f);
  }

  MergedCapture& captures_;
  const BasicPlanner<Sides> planner_;  // before ahead_: the reading thread plans with it
  const DecapOptions decap_;
  const std::vector<BasicPlanner<Sides>> mirrorPlanners_;  // by mirror session
  DecapCounts counts_;                 // written by the reading thread only, read after it has ended
  const std::optional<Shard> filter_;  // --shard in place (N > 1)
  const bool indexed_;                 // filter_ over an index: whole_ is given
  const std::vector<bool> readWhole_;  // indexed_: the captures read whole, whose frames whole_ counts here
  bool handedFirst_ = false;           // indexed_: the first frame was handed on (reading thread only)
  ReplayStats::StreamSpan whole_;      // with filter_: every frame read; reading thread only, read after it ended
  ReadAhead<Planned<Sides>, DecodeAndPlan> ahead_;
};

}  // namespace sgsim
