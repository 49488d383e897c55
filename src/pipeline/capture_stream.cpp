#include "sgsim/pipeline/capture_stream.h"

namespace sgsim {

Result<std::unique_ptr<MergedCapture>> openCaptures(const std::vector<std::string>& paths) {
  if (paths.empty()) return Error{"", "no capture file given"};
  return MergedCapture::open(paths);
}

namespace {

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "frame 12" with one capture, "frame 12 of b.pcap" with several.
std::string frameName(const DecapCounts::FrameRef& f, const std::vector<std::string>& files) {
  std::string s = "frame " + std::to_string(f.number);
  if (files.size() > 1 && f.fileIndex < files.size()) s += " of " + files[f.fileIndex];
  return s;
}

std::string decapOption(std::uint16_t port) {
  return port == kVxlanPort ? "--decap vxlan" : "--decap vxlan:" + std::to_string(port);
}

}  // namespace

std::vector<Error> decapWarnings(const DecapOptions& options, const DecapCounts& counts, std::uint64_t frames,
                                 const std::vector<std::string>& files) {
  std::vector<Error> out;
  if (options.vxlanPort == 0) {
    const DecapCounts::Tally& m = counts.mirrorLike;
    if (m.frames > 0 && static_cast<double>(m.frames) >= kMirrorLikeShare * static_cast<double>(frames)) {
      const std::string where = m.first.fileIndex < files.size() ? files[m.first.fileIndex] : "capture";
      out.push_back(
          Error{where,
                plural(m.frames, "frame", "frames") + " of " + std::to_string(frames) +
                    " look like traffic-mirror copies (UDP to port 4789 carrying a VXLAN header, between addresses no "
                    "interface of the model has; first: " +
                    frameName(m.first, files) +
                    "): they were evaluated as themselves (verdict none, unmodeled). Add --decap vxlan to evaluate the "
                    "frames inside them, and --mirror VNI=ENI to name the interface each mirror session copies"});
    }
    return out;
  }
  const std::string option = decapOption(options.vxlanPort);
  std::uint64_t asThemselves = 0;
  std::string causes;
  for (int i = 0; i < kDecapOutcomes; ++i) {
    const auto decap = static_cast<Decap>(i);
    const DecapCounts::Tally& t = counts.byOutcome[static_cast<std::size_t>(i)];
    if (decap == Decap::Inner || t.frames == 0) continue;
    asThemselves += t.frames;
    causes += (causes.empty() ? "" : "; ") + std::to_string(t.frames) + " " + decapName(decap) +
              " (first: " + frameName(t.first, files) + ")";
  }
  const std::uint64_t inner = counts.byOutcome[static_cast<std::size_t>(Decap::Inner)].frames;
  if (asThemselves > 0) {
    std::string message = plural(asThemselves, "frame was", "frames were") + " not VXLAN to port " +
                          std::to_string(options.vxlanPort) + " and " + (asThemselves == 1 ? "was" : "were") +
                          " evaluated as " + (asThemselves == 1 ? "itself" : "themselves") + ": " + causes;
    if (inner == 0)
      message +=
          ". No frame was decapsulated: if the mirror session sends to another UDP port, give it as "
          "--decap vxlan:PORT";
    out.push_back(Error{option, message});
  }
  for (std::size_t i = 0; i < options.mirror.size() && i < counts.neither.size(); ++i) {
    const MirrorSession& m = options.mirror[i];
    const DecapCounts::Tally& t = counts.neither[i];
    if (t.frames == 0) continue;
    out.push_back(Error{"--mirror " + std::to_string(m.vni) + "=" + m.eniId,
                        plural(t.frames, "inner packet", "inner packets") + " of VNI " + std::to_string(m.vni) +
                            " have neither address of " + m.eniId + " (first: " + frameName(t.first, files) +
                            "): checked at no interface (verdict none, unmodeled). If " + m.eniId +
                            " has addresses the model lacks (secondary IPs), add them to the model; otherwise the "
                            "session copies another interface: correct the mapping"});
  }
  for (const auto& [vni, t] : counts.unmapped) {
    out.push_back(Error{"--mirror", "VNI " + std::to_string(vni) + " (" + plural(t.frames, "frame", "frames") +
                                        ", first: " + frameName(t.first, files) +
                                        ") has no --mirror mapping: its inner packets were checked at the interfaces "
                                        "of their addresses; add --mirror " +
                                        std::to_string(vni) + "=ENI to check them at the interface it copies"});
  }
  return out;
}

}  // namespace sgsim
