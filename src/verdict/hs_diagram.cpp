#include "hs_diagram.h"

#include <algorithm>

namespace sgsim::hs {

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xbf58476d1ce4e5b9ULL;
}

void pushValue(std::vector<std::uint64_t>& key, HsValue v) {
  key.push_back(static_cast<std::uint64_t>(v >> 64));
  key.push_back(static_cast<std::uint64_t>(v));
}

}  // namespace

bool overlaps(const Box& a, const Box& b) {
  for (int d = 0; d < kDims; ++d)
    if (a[d].hi < b[d].lo || b[d].hi < a[d].lo) return false;
  return true;
}

Box intersect(const Box& a, const Box& b) {
  Box r;
  for (int d = 0; d < kDims; ++d) r[d] = HsInterval{std::max(a[d].lo, b[d].lo), std::min(a[d].hi, b[d].hi)};
  return r;
}

std::size_t Diagram::ArenaHash::operator()(const KeySpan& k) const noexcept {
  std::uint64_t h = k.second;
  for (std::size_t i = 0; i < k.second; ++i) h = mix(h, k.first[i]);
  return static_cast<std::size_t>(h);
}

std::size_t Diagram::KeyHash::operator()(const std::vector<std::uint64_t>& v) const noexcept {
  std::uint64_t h = v.size();
  for (std::uint64_t x : v) h = mix(h, x);
  return static_cast<std::size_t>(h);
}

Diagram::Diagram(const std::array<HsValue, kDims>& maxima, const std::array<int, kDims>& order, int depth,
                 std::uint64_t maxWork)
    : maxima_(maxima),
      order_(order),
      depth_(depth),
      maxWork_(maxWork),
      memo_(0, ArenaHash{&keyArena_}, ArenaEq{&keyArena_}) {
  for (int d = 0; d < kDims; ++d) full_[d] = HsInterval{0, maxima_[d]};
}

std::uint32_t Diagram::item(Label label, const Box& box) {
  std::vector<std::uint64_t> key{label};
  for (const HsInterval& i : box) {
    pushValue(key, i.lo);
    pushValue(key, i.hi);
  }
  auto [it, fresh] = itemIndex_.try_emplace(std::move(key), static_cast<std::uint32_t>(items_.size()));
  if (!fresh) return it->second;
  Item item{label, kDims, box};
  for (int level = kDims - 1; level >= 0; --level) {
    const int d = order_[static_cast<std::size_t>(level)];
    if (!(box[d].lo == 0 && box[d].hi == maxima_[d])) break;
    item.fullFrom = static_cast<std::uint8_t>(level);
  }
  items_.push_back(item);
  return it->second;
}

void Diagram::spend(std::uint64_t units) {
  work_ += units;
  if (work_ > maxWork_) exhausted_ = true;
}

std::uint32_t Diagram::nextGeneration() const {
  if (stamp_.size() < nodes_.size()) stamp_.resize(nodes_.size(), 0);
  if (++generation_ == 0) {
    std::fill(stamp_.begin(), stamp_.end(), 0);
    generation_ = 1;
  }
  return generation_;
}

void Diagram::computeReach(std::size_t labels, std::size_t maxBytes) {
  const std::size_t words = (labels + 63) / 64;
  if (words == 0 || nodes_.size() * words * 8 > maxBytes) return;
  reach_.assign(nodes_.size() * words, 0);
  // Children are made before their parents, so one pass in creation order sees every child first.
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    std::uint64_t* mine = &reach_[n * words];
    if (nodes_[n].level == kDims) {
      if (nodes_[n].first < labels) mine[nodes_[n].first / 64] |= 1ULL << (nodes_[n].first % 64);
      continue;
    }
    for (std::uint32_t e = nodes_[n].edgeBegin; e < nodes_[n].edgeEnd; ++e) {
      const std::uint64_t* theirs = &reach_[static_cast<std::size_t>(children_[e]) * words];
      for (std::size_t w = 0; w < words; ++w) mine[w] |= theirs[w];
    }
  }
  reachWords_ = words;
}

std::uint32_t Diagram::edgeReaching(NodeId n, HsValue v) const {
  std::uint32_t lo = edgeBegin(n), hi = edgeEnd(n);
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (edgeHi(n, mid) < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// Nothing after the first item that covers every remaining coordinate can be first; with depth 2, nothing after
// the first such item of another label can be second, and items of the first full item's label after it can be
// neither.
void Diagram::truncate(int level, std::vector<std::uint32_t>& items) const {
  const std::size_t n = items.size();
  std::size_t i = 0;
  while (i < n && !full(items[i], level)) ++i;
  if (i == n) return;
  if (depth_ == 1) {
    items.resize(i + 1);
    return;
  }
  const Label a = items_[items[i]].label;
  std::size_t w = i + 1;
  for (std::size_t j = i + 1; j < n; ++j) {
    const std::uint32_t it = items[j];
    if (items_[it].label == a) continue;
    items[w++] = it;
    if (full(it, level)) break;
  }
  items.resize(w);
}

bool Diagram::constantAt(int level, const std::vector<std::uint32_t>& items) const {
  if (!full(items[0], level)) return false;
  if (depth_ == 1) return true;
  const Label f = items_[items[0]].label;
  for (std::size_t i = 1; i < items.size(); ++i)
    if (items_[items[i]].label != f) return full(items[i], level);
  return true;
}

NodeId Diagram::terminal(const std::vector<std::uint32_t>& items) {
  const Label f = items_[items[0]].label;
  Label s = kNoLabel;
  if (depth_ == 2)
    for (std::size_t i = 1; i < items.size(); ++i)
      if (items_[items[i]].label != f) {
        s = items_[items[i]].label;
        break;
      }
  const std::uint64_t key = static_cast<std::uint64_t>(f) << 32 | s;
  auto [it, fresh] = terminals_.try_emplace(key, static_cast<NodeId>(nodes_.size()));
  if (fresh) {
    Node t;
    t.first = f;
    t.second = s;
    nodes_.push_back(t);
  }
  return it->second;
}

NodeId Diagram::internal(int level, const std::vector<HsValue>& starts, const std::vector<NodeId>& children) {
  std::vector<std::uint64_t> key;
  key.reserve(1 + 3 * starts.size());
  key.push_back(static_cast<std::uint64_t>(level));
  for (std::size_t i = 0; i < starts.size(); ++i) {
    pushValue(key, starts[i]);
    key.push_back(children[i]);
  }
  auto [it, fresh] = unique_.try_emplace(std::move(key), static_cast<NodeId>(nodes_.size()));
  if (fresh) {
    Node n;
    n.level = static_cast<std::uint8_t>(level);
    n.edgeBegin = static_cast<std::uint32_t>(starts_.size());
    starts_.insert(starts_.end(), starts.begin(), starts.end());
    children_.insert(children_.end(), children.begin(), children.end());
    n.edgeEnd = static_cast<std::uint32_t>(starts_.size());
    nodes_.push_back(n);
  }
  return it->second;
}

std::optional<NodeId> Diagram::build(std::vector<std::uint32_t> items) {
  if (items.empty() || items_[items.back()].fullFrom != 0) return std::nullopt;  // the default must close the list
  truncate(0, items);
  const NodeId root = buildAt(0, items);
  if (exhausted_) return std::nullopt;
  return root;
}

NodeId Diagram::buildAt(int level, std::vector<std::uint32_t>& items) {
  if (exhausted_) return 0;
  if (level == kDims || constantAt(level, items)) return terminal(items);
  std::vector<std::uint32_t> key;
  key.reserve(items.size() + 1);
  key.push_back(static_cast<std::uint32_t>(level));
  key.insert(key.end(), items.begin(), items.end());
  if (auto it = memo_.find(KeySpan{key.data(), key.size()}); it != memo_.end()) return it->second;

  // The elementary intervals of this coordinate: every interval of an item starts at a cut and ends before one.
  const int d = order_[static_cast<std::size_t>(level)];
  const HsValue max = maxima_[d];
  std::vector<HsValue> cuts;
  cuts.reserve(2 * items.size() + 1);
  cuts.push_back(0);
  for (std::uint32_t it : items) {
    const HsInterval& b = items_[it].box[d];
    cuts.push_back(b.lo);
    if (b.hi < max) cuts.push_back(b.hi + 1);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  const std::size_t e = cuts.size();
  // Each elementary interval gets the items covering it, in order, already cut as truncate() would cut them: once
  // an interval is closed (nothing after can be first, or second), later items skip it, found by a union-find over
  // the next open interval, so that broad items late in the list cost nothing where they cannot matter.
  std::vector<std::vector<std::uint32_t>> buckets(e);
  std::vector<Label> firstFull(depth_ == 2 ? e : 0, kNoLabel);
  std::vector<std::uint32_t> nextOpen(e + 1);
  for (std::size_t j = 0; j <= e; ++j) nextOpen[j] = static_cast<std::uint32_t>(j);
  auto open = [&](std::size_t j) {
    std::size_t root = j;
    while (nextOpen[root] != root) root = nextOpen[root];
    while (nextOpen[j] != root) {
      const std::size_t next = nextOpen[j];
      nextOpen[j] = static_cast<std::uint32_t>(root);
      j = next;
    }
    return root;
  };
  std::uint64_t entries = 0;
  for (std::uint32_t it : items) {
    const HsInterval& b = items_[it].box[d];
    const Label label = items_[it].label;
    const bool closes = full(it, level + 1);
    const auto j0 = static_cast<std::size_t>(std::lower_bound(cuts.begin(), cuts.end(), b.lo) - cuts.begin());
    const std::size_t j1 =
        b.hi == max ? e - 1
                    : static_cast<std::size_t>(std::lower_bound(cuts.begin(), cuts.end(), b.hi + 1) - cuts.begin()) - 1;
    for (std::size_t j = open(j0); j <= j1; j = open(j + 1)) {
      ++entries;
      if (depth_ == 2 && firstFull[j] == label) continue;  // after a full item of its own label: can be neither
      buckets[j].push_back(it);
      if (!closes) continue;
      if (depth_ == 2 && firstFull[j] == kNoLabel) {
        firstFull[j] = label;
      } else {
        nextOpen[j] = static_cast<std::uint32_t>(j + 1);
      }
    }
  }
  spend(entries + e);

  std::vector<HsValue> starts;
  std::vector<NodeId> children;
  for (std::size_t j = 0; j < e; ++j) {
    NodeId child;
    if (j > 0 && buckets[j] == buckets[j - 1]) {
      child = children.back();
    } else {
      child = buildAt(level + 1, buckets[j]);
      if (exhausted_) return 0;
    }
    if (!children.empty() && children.back() == child) continue;
    starts.push_back(cuts[j]);
    children.push_back(child);
  }
  const NodeId result = children.size() == 1 ? children[0] : internal(level, starts, children);
  spend(1);
  const KeyRef ref{keyArena_.size(), static_cast<std::uint32_t>(key.size())};
  keyArena_.insert(keyArena_.end(), key.begin(), key.end());  // before the map hashes it
  memo_.emplace(ref, result);
  return result;
}

}  // namespace sgsim::hs
