#include "sgsim/core/map_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

namespace sgsim::mapguard {

namespace detail {
Slot g_slots[kGuards];
std::uintptr_t g_pageSize = 4096;
}  // namespace detail

namespace {

void onSigbus(int, siginfo_t* info, void*) {
  const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (detail::Slot& g : detail::g_slots) {
    if (address >= g.begin.load(std::memory_order_acquire) && address < g.end.load(std::memory_order_acquire)) {
      void* page = reinterpret_cast<void*>(address & ~(detail::g_pageSize - 1));
      if (::mmap(page, detail::g_pageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        break;
      g.faulted.store(true, std::memory_order_release);
      return;
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGBUS, &dfl, nullptr);
  ::raise(SIGBUS);
}

}  // namespace

int take() {
  static const bool installed = [] {
    detail::g_pageSize = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = onSigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return ::sigaction(SIGBUS, &sa, nullptr) == 0;
  }();
  if (!installed) return -1;
  for (int i = 0; i < detail::kGuards; ++i) {
    bool expected = false;
    if (detail::g_slots[i].used.compare_exchange_strong(expected, true)) {
      detail::g_slots[i].faulted.store(false);
      return i;
    }
  }
  return -1;
}

void watch(int guard, const void* begin, std::size_t size) {
  if (guard < 0) return;
  detail::Slot& g = detail::g_slots[guard];
  g.end.store(0, std::memory_order_release);
  g.begin.store(reinterpret_cast<std::uintptr_t>(begin), std::memory_order_release);
  g.end.store(begin == nullptr ? 0 : reinterpret_cast<std::uintptr_t>(begin) + size, std::memory_order_release);
}

void release(int guard) {
  if (guard < 0) return;
  watch(guard, nullptr, 0);
  detail::g_slots[guard].used.store(false, std::memory_order_release);
}

}  // namespace sgsim::mapguard
