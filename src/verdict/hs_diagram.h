#pragma once
// The decision diagram behind include/sgsim/verdict/header_space.h (read its opening essay first).
//
// Items are boxes with a label (the entry they belong to: a rule, the intra-group accept, the default), given in
// evaluation order; the last one must cover the whole space (the default). build() returns the root of a
// reduced, ordered diagram of the first-match function (depth 1: terminals hold the first label) or of the
// first two distinct labels (depth 2: terminals hold the winner and the runner-up, the entry that decides when
// the winner is taken away). Nodes are shared between builds on one Diagram, so two tables built on one
// Diagram (before and after a change) share every sub-diagram they have in common, and equal roots mean equal
// functions.

#include <algorithm>
#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <vector>

#include "sgsim/verdict/header_space.h"

namespace sgsim::hs {

inline constexpr int kDims = 5;  // indexes: HsDim order below
enum Dim : int { kProto = 0, kPeer = 1, kLocal = 2, kSport = 3, kDport = 4 };

using Box = std::array<HsInterval, kDims>;
using Label = std::uint32_t;
using NodeId = std::uint32_t;
inline constexpr Label kNoLabel = 0xFFFFFFFFu;

bool overlaps(const Box& a, const Box& b);
Box intersect(const Box& a, const Box& b);  // only meaningful when overlaps(a, b)

class Diagram {
 public:
  // maxima: the largest value of each coordinate; order: the coordinates from the root down.
  Diagram(const std::array<HsValue, kDims>& maxima, const std::array<int, kDims>& order, int depth,
          std::uint64_t maxWork);
  Diagram(const Diagram&) = delete;  // the memo's hash and equality point at this object's arena
  Diagram& operator=(const Diagram&) = delete;

  const Box& fullBox() const { return full_; }
  std::uint32_t item(Label label, const Box& box);
  Label itemLabel(std::uint32_t item) const { return items_[item].label; }
  const Box& itemBox(std::uint32_t item) const { return items_[item].box; }

  // nullopt when the work budget ran out (the diagram is then unusable).
  std::optional<NodeId> build(std::vector<std::uint32_t> items);
  bool exhausted() const { return exhausted_; }
  std::uint64_t work() const { return work_; }
  std::size_t nodeCount() const { return nodes_.size(); }

  bool isTerminal(NodeId n) const { return nodes_[n].level == kDims; }
  Label first(NodeId n) const { return nodes_[n].first; }
  Label second(NodeId n) const { return nodes_[n].second; }
  int level(NodeId n) const { return nodes_[n].level; }
  int dimAt(int level) const { return order_[static_cast<std::size_t>(level)]; }
  std::uint32_t edgeBegin(NodeId n) const { return nodes_[n].edgeBegin; }
  std::uint32_t edgeEnd(NodeId n) const { return nodes_[n].edgeEnd; }
  HsValue edgeLo(std::uint32_t e) const { return starts_[e]; }
  HsValue edgeHi(NodeId n, std::uint32_t e) const {
    return e + 1 < nodes_[n].edgeEnd ? starts_[e + 1] - 1 : maxima_[static_cast<std::size_t>(dimAt(level(n)))];
  }
  NodeId child(std::uint32_t e) const { return children_[e]; }
  // The first edge of n whose interval ends at or after v.
  std::uint32_t edgeReaching(NodeId n, HsValue v) const;
  // Searches try first the edge holding this value of a coordinate (protocol 6 unless told otherwise), so that
  // witnesses read naturally (TCP, a documentation address); any edge would be as correct.
  void prefer(int dim, HsValue v) { preferred_[static_cast<std::size_t>(dim)] = v; }

  // Every terminal reachable from root, once each.
  template <class F>
  void forEachTerminal(NodeId root, F&& fn) const;
  // The cell (a box inside q on which the function is constant) of some terminal satisfying pred, reachable inside
  // q, or nullopt. Tries the preferred values first (prefer()). With `first` (and reach
  // sets computed), only the parts of the diagram where that label can be first are searched: pred must then
  // hold only for terminals whose first label is `first`.
  template <class P>
  std::optional<std::pair<Box, NodeId>> find(NodeId root, const Box& q, P&& pred, Label first = kNoLabel) const;
  // Per node, the set of first labels of the terminals under it (labels below `labels`), so that searches for one
  // label skip the rest. Skipped (searches stay exact, only slower) when it would take more than `maxBytes`.
  void computeReach(std::size_t labels, std::size_t maxBytes);
  bool mayReach(NodeId n, Label first) const {
    return reachWords_ == 0 || first == kNoLabel ||
           (reach_[static_cast<std::size_t>(n) * reachWords_ + first / 64] >> (first % 64) & 1) != 0;
  }
  // Every terminal reachable inside q, once each.
  template <class F>
  void forEachTerminalIn(NodeId root, const Box& q, F&& fn) const;
  // fn(cell, terminal) once for every terminal reachable inside q where `first` may be the first label (every
  // terminal with kNoLabel), with the cell of the first path that reached it (preferred values tried first).
  template <class F>
  void collect(NodeId root, const Box& q, Label first, F&& fn) const;
  // Calls fn(cell, terminal) for every path inside q; stops (returns false) after `limit` cells.
  template <class F>
  bool enumerate(NodeId root, const Box& q, std::size_t limit, F&& fn) const;
  // Two roots of this diagram walked together: fn(cell, terminalA, terminalB) for every cell where
  // differs(firstA, firstB); stops (returns false) after `limit` cells.
  template <class D, class F>
  bool diff(NodeId a, NodeId b, std::size_t limit, D&& differs, F&& fn) const;
  // Nodes visited by the walks so far (their cost).
  std::uint64_t walkSteps() const { return walkSteps_; }

 private:
  struct Item {
    Label label;
    std::uint8_t fullFrom;  // the item covers the whole domain of every coordinate at levels >= fullFrom
    Box box;
  };
  struct Node {
    std::uint8_t level = kDims;  // kDims: terminal
    std::uint32_t edgeBegin = 0, edgeEnd = 0;
    Label first = kNoLabel, second = kNoLabel;
  };
  // Memo keys (level, then the item list) live in one arena; the map holds where.
  struct KeyRef {
    std::size_t offset = 0;
    std::uint32_t length = 0;
  };
  using KeySpan = std::pair<const std::uint32_t*, std::size_t>;
  struct ArenaHash {
    using is_transparent = void;
    const std::vector<std::uint32_t>* arena;
    std::size_t operator()(const KeyRef& k) const noexcept {
      return (*this)(KeySpan{arena->data() + k.offset, k.length});
    }
    std::size_t operator()(const KeySpan& k) const noexcept;
  };
  struct ArenaEq {
    using is_transparent = void;
    const std::vector<std::uint32_t>* arena;
    KeySpan span(const KeyRef& k) const { return {arena->data() + k.offset, k.length}; }
    static const KeySpan& span(const KeySpan& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      const KeySpan x = span(a), y = span(b);
      return x.second == y.second && std::equal(x.first, x.first + x.second, y.first);
    }
  };
  struct KeyHash {
    std::size_t operator()(const std::vector<std::uint64_t>& v) const noexcept;
  };

  NodeId buildAt(int level, std::vector<std::uint32_t>& items);
  void truncate(int level, std::vector<std::uint32_t>& items) const;
  bool constantAt(int level, const std::vector<std::uint32_t>& items) const;
  NodeId terminal(const std::vector<std::uint32_t>& items);
  NodeId internal(int level, const std::vector<HsValue>& starts, const std::vector<NodeId>& children);
  bool full(std::uint32_t item, int level) const { return items_[item].fullFrom <= level; }
  void spend(std::uint64_t units);

  std::array<HsValue, kDims> maxima_;
  std::array<int, kDims> order_;
  int depth_;
  std::uint64_t maxWork_;
  std::uint64_t work_ = 0;
  bool exhausted_ = false;
  Box full_;

  std::vector<Item> items_;
  boost::unordered_flat_map<std::vector<std::uint64_t>, std::uint32_t, KeyHash> itemIndex_;
  std::vector<Node> nodes_;
  std::vector<HsValue> starts_;
  std::vector<NodeId> children_;
  std::vector<std::uint32_t> keyArena_;
  boost::unordered_flat_map<KeyRef, NodeId, ArenaHash, ArenaEq> memo_;             // level + items → node
  boost::unordered_flat_map<std::vector<std::uint64_t>, NodeId, KeyHash> unique_;  // level + edges → node
  boost::unordered_flat_map<std::uint64_t, NodeId> terminals_;
  mutable std::vector<std::uint32_t> stamp_;  // visit marks for the walks
  mutable std::uint32_t generation_ = 0;
  mutable std::uint64_t walkSteps_ = 0;
  std::array<std::optional<HsValue>, kDims> preferred_{HsValue{6}};
  std::uint32_t preferredEdge(NodeId n, int d, const HsInterval& qi) const {
    const auto& v = preferred_[static_cast<std::size_t>(d)];
    return v && qi.contains(*v) ? edgeReaching(n, *v) : edgeEnd(n);
  }
  std::size_t reachWords_ = 0;
  std::vector<std::uint64_t> reach_;
  std::uint32_t nextGeneration() const;
};

// ----------------------------------------------------------------------------------------------------------------

template <class F>
void Diagram::forEachTerminal(NodeId root, F&& fn) const {
  const std::uint32_t gen = nextGeneration();
  std::vector<NodeId> stack{root};
  stamp_[root] = gen;
  while (!stack.empty()) {
    const NodeId n = stack.back();
    stack.pop_back();
    ++walkSteps_;
    if (isTerminal(n)) {
      fn(n);
      continue;
    }
    for (std::uint32_t e = edgeBegin(n); e < edgeEnd(n); ++e) {
      const NodeId c = children_[e];
      if (stamp_[c] == gen) continue;
      stamp_[c] = gen;
      stack.push_back(c);
    }
  }
}

template <class P>
std::optional<std::pair<Box, NodeId>> Diagram::find(NodeId root, const Box& q, P&& pred, Label firstLabel) const {
  // A node that failed once fails again: what lies under it inside q does not depend on the path to it.
  const std::uint32_t gen = nextGeneration();
  Box cell = q;
  std::optional<std::pair<Box, NodeId>> found;
  auto walk = [&](auto& self, NodeId n) -> bool {
    if (isTerminal(n)) {
      if (!pred(n)) return false;
      found.emplace(cell, n);
      return true;
    }
    if (stamp_[n] == gen || !mayReach(n, firstLabel)) return false;
    ++walkSteps_;
    const int d = dimAt(level(n));
    const HsInterval qi = q[static_cast<std::size_t>(d)];
    const std::uint32_t e = edgeEnd(n);
    const std::uint32_t lo = edgeReaching(n, qi.lo);
    const std::uint32_t preferred = preferredEdge(n, d, qi);
    auto tryEdge = [&](std::uint32_t k) {
      const HsInterval saved = cell[static_cast<std::size_t>(d)];
      cell[static_cast<std::size_t>(d)] = HsInterval{std::max(starts_[k], qi.lo), std::min(edgeHi(n, k), qi.hi)};
      if (self(self, children_[k])) return true;
      cell[static_cast<std::size_t>(d)] = saved;
      return false;
    };
    if (preferred != e && tryEdge(preferred)) return true;
    for (std::uint32_t k = lo; k < e && starts_[k] <= qi.hi; ++k)
      if (k != preferred && tryEdge(k)) return true;
    stamp_[n] = gen;
    return false;
  };
  walk(walk, root);
  return found;
}

template <class F>
bool Diagram::enumerate(NodeId root, const Box& q, std::size_t limit, F&& fn) const {
  Box cell = q;
  std::size_t count = 0;
  auto walk = [&](auto& self, NodeId n) -> bool {
    if (isTerminal(n)) {
      if (count++ >= limit) return false;
      fn(static_cast<const Box&>(cell), n);
      return true;
    }
    ++walkSteps_;
    const int d = dimAt(level(n));
    const HsInterval qi = q[static_cast<std::size_t>(d)];
    for (std::uint32_t k = edgeReaching(n, qi.lo); k < edgeEnd(n); ++k) {
      if (starts_[k] > qi.hi) break;
      const HsValue h = edgeHi(n, k);
      const HsInterval saved = cell[static_cast<std::size_t>(d)];
      cell[static_cast<std::size_t>(d)] = HsInterval{std::max(starts_[k], qi.lo), std::min(h, qi.hi)};
      const bool more = self(self, children_[k]);
      cell[static_cast<std::size_t>(d)] = saved;
      if (!more) return false;
    }
    return true;
  };
  return walk(walk, root);
}

template <class F>
void Diagram::forEachTerminalIn(NodeId root, const Box& q, F&& fn) const {
  const std::uint32_t gen = nextGeneration();
  std::vector<NodeId> stack{root};
  stamp_[root] = gen;
  while (!stack.empty()) {
    const NodeId n = stack.back();
    stack.pop_back();
    ++walkSteps_;
    if (isTerminal(n)) {
      fn(n);
      continue;
    }
    const HsInterval qi = q[static_cast<std::size_t>(dimAt(level(n)))];
    for (std::uint32_t k = edgeReaching(n, qi.lo); k < edgeEnd(n) && starts_[k] <= qi.hi; ++k) {
      const NodeId c = children_[k];
      if (stamp_[c] == gen) continue;
      stamp_[c] = gen;
      stack.push_back(c);
    }
  }
}

template <class F>
void Diagram::collect(NodeId root, const Box& q, Label firstLabel, F&& fn) const {
  // Under a node visited once, every terminal inside q has been reached: a second visit has nothing new.
  const std::uint32_t gen = nextGeneration();
  Box cell = q;
  auto walk = [&](auto& self, NodeId n) -> void {
    if (stamp_[n] == gen || !mayReach(n, firstLabel)) return;
    stamp_[n] = gen;
    ++walkSteps_;
    if (isTerminal(n)) {
      fn(static_cast<const Box&>(cell), n);
      return;
    }
    const int d = dimAt(level(n));
    const HsInterval qi = q[static_cast<std::size_t>(d)];
    const std::uint32_t lo = edgeReaching(n, qi.lo);
    auto visit = [&](std::uint32_t k) {
      const HsInterval saved = cell[static_cast<std::size_t>(d)];
      cell[static_cast<std::size_t>(d)] = HsInterval{std::max(starts_[k], qi.lo), std::min(edgeHi(n, k), qi.hi)};
      self(self, children_[k]);
      cell[static_cast<std::size_t>(d)] = saved;
    };
    const std::uint32_t preferred = preferredEdge(n, d, qi);
    if (preferred != edgeEnd(n)) visit(preferred);
    for (std::uint32_t k = lo; k < edgeEnd(n) && starts_[k] <= qi.hi; ++k)
      if (k != preferred) visit(k);
  };
  walk(walk, root);
}

template <class D, class F>
bool Diagram::diff(NodeId a, NodeId b, std::size_t limit, D&& differs, F&& fn) const {
  // Pairs found equal in verdict everywhere below them are remembered: the answer does not depend on the path.
  boost::unordered_flat_map<std::uint64_t, bool> same;
  Box cell = full_;
  std::size_t count = 0;
  // 0: no difference below; 1: some; -1: the limit was reached.
  auto walk = [&](auto& self, NodeId x, NodeId y) -> int {
    if (x == y) return 0;
    const std::uint64_t key = static_cast<std::uint64_t>(x) << 32 | y;
    if (same.contains(key)) return 0;
    ++walkSteps_;
    const int lx = level(x), ly = level(y);
    if (lx == kDims && ly == kDims) {
      if (!differs(first(x), first(y))) {
        same.emplace(key, true);
        return 0;
      }
      if (count++ >= limit) return -1;
      fn(static_cast<const Box&>(cell), x, y);
      return 1;
    }
    const int l = std::min(lx, ly);
    const auto d = static_cast<std::size_t>(dimAt(l));
    const HsInterval saved = cell[d];
    bool any = false;
    auto visit = [&](HsValue lo, HsValue hi, NodeId cx, NodeId cy) -> bool {
      cell[d] = HsInterval{lo, hi};
      const int r = self(self, cx, cy);
      cell[d] = saved;
      if (r < 0) return false;
      any = any || r > 0;
      return true;
    };
    if (lx == l && ly == l) {
      std::uint32_t i = edgeBegin(x), j = edgeBegin(y);
      while (i < edgeEnd(x) && j < edgeEnd(y)) {
        const HsValue lo = std::max(starts_[i], starts_[j]);
        const HsValue hx = edgeHi(x, i), hy = edgeHi(y, j);
        if (!visit(lo, std::min(hx, hy), children_[i], children_[j])) return -1;
        if (hx <= hy) ++i;
        if (hy <= hx) ++j;
      }
    } else if (lx == l) {
      for (std::uint32_t i = edgeBegin(x); i < edgeEnd(x); ++i)
        if (!visit(starts_[i], edgeHi(x, i), children_[i], y)) return -1;
    } else {
      for (std::uint32_t j = edgeBegin(y); j < edgeEnd(y); ++j)
        if (!visit(starts_[j], edgeHi(y, j), x, children_[j])) return -1;
    }
    if (!any) same.emplace(key, true);
    return any ? 1 : 0;
  };
  return walk(walk, a, b) >= 0;
}

}  // namespace sgsim::hs
