#pragma once
// Mapped files that another program cuts short while sgsim reads them (logrotate's copytruncate, a capture
// rewritten in place): every access to a page past the new end faults with SIGBUS, which would end the run without
// a word. A reader registers the ranges it reads mapped here (one guard each); the handler puts a page of zeros over
// a faulting page of a registered range, marks the guard and lets the read go on. The reader checks the mark
// (faulted) after it has read what it hands on, so a record that lost its bytes is never handed on, and the reading
// ends with an error naming the place. A fault elsewhere is not ours: the default action, as without the handler.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sgsim::mapguard {

namespace detail {
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::atomic<bool> faulted{false};
};
// Enough for a week of hourly flow logs read through an index, each mapped whole, beside a run's captures.
inline constexpr int kGuards = 1024;
extern Slot g_slots[kGuards];
extern std::uintptr_t g_pageSize;  // set (sysconf) with the handler, before any range is watched
}  // namespace detail

// A guard for a new mapped reading, the handler installed on first use; -1 when none is free (or the handler could
// not be installed): the caller then reads without a mapping, or maps unguarded where it has no other way.
int take();
// The range the guard covers now (null: none). A range is watched until the next call or release().
void watch(int guard, const void* begin, std::size_t size);
// The guard is free again (its range no longer watched).
void release(int guard);
// The system's page size (known once take() has been called).
inline std::uintptr_t pageSize() { return detail::g_pageSize; }
// Whether a page of the guard's ranges faulted since take().
inline bool faulted(int guard) { return guard >= 0 && detail::g_slots[guard].faulted.load(std::memory_order_acquire); }

}  // namespace sgsim::mapguard
