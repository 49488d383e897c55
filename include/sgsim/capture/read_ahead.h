#pragma once
// Reading a capture ahead of its consumer, on a second thread.
//
// Why: reading a capture through libpcap costs about as much as `tcpdump -r FILE -w /dev/null` (the yardstick
// of issue 4), and evaluating the packets costs about as much again. With a producer thread that reads frames
// in batches and prepares each one (the command line decodes it there), reading and evaluating overlap, and a
// whole run takes about the longer of the two instead of their sum.
// How: a ring of `depth` batches of up to `batchSize` frames. The producer fills a free batch and publishes it;
// next() hands the consumer the oldest published batch, which stays valid until the following call. A mutex and
// a condition variable guard two counters (batches produced, batches released): one lock per batch, not per
// frame. Frames keep their order. The bytes of a frame are copied into the batch only when asked (copyBytes,
// e.g. to write the frame out again); otherwise frame.data is null.
// Threads: the capture is touched only by the producer until next() has returned an empty batch (the producer
// has then ended and been joined), after which the capture's errors() may be read. An exception thrown while
// reading or preparing is rethrown by next(). The destructor stops and joins the producer.
// With thread = false the same batches are filled on the calling thread (--threads 1).

#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "sgsim/capture/capture_reader.h"

namespace sgsim {

template <class Extra>
struct AheadFrame {
  Frame frame;
  Extra extra;
};

struct ReadAheadOptions {
  bool thread = true;
  bool copyBytes = false;
  // Measured on the issue-4 captures (docs/PERFORMANCE.md): 256 x 16 smooths out the reader's bursts of file
  // reads, and "spare" from 4 waiting batches up lets a new-flow capture move decisions to the reader without
  // slowing the reader on established traffic, where it is the slower side.
  std::size_t batchSize = 256;
  std::size_t depth = 16;
  std::size_t spareAt = 4;  // batches waiting for the consumer from which `spare` is true (0: never)
};

// Source: a MergedCapture, or anything with `bool next(Frame&)` (pipeline/record_stream.h reads flow-log records),
// and optionally `bool readAhead()`: work the producer does while the ring is full (false: none left for now).
// Prepare: void(Frame&, Extra&, bool spare) (or const Frame&), or bool(...) when it may drop frames (false: the frame
// is not handed on; --shard K/N drops other shards' frames here), called on the producer thread for every frame while
// its bytes are valid (it may point the frame into its Extra: the item does not move until the batch is released;
// it may adjust the frame's lengths: a decapsulating step gives the inner frame's wireLen). `spare` is true when at
// least `spareAt` batches are waiting for the consumer: the consumer is the slower side, and work done here ahead of
// it is free (always false without a thread).
template <class Extra, class Prepare, class Source = MergedCapture>
class ReadAhead {
 public:
  ReadAhead(Source& capture, Prepare prepare, ReadAheadOptions options)
      : capture_(capture), prepare_(std::move(prepare)), options_(options) {
    if (options_.batchSize == 0) options_.batchSize = 1;
    if (options_.depth < 2) options_.depth = 2;
    // At most depth − 1 batches can be waiting when the producer takes a free one.
    if (options_.spareAt >= options_.depth) options_.spareAt = options_.depth - 1;
    batches_.resize(options_.thread ? options_.depth : 1);
    for (Batch& b : batches_) b.items.resize(options_.batchSize);
    if (options_.thread) thread_ = std::thread([this] { run(); });
  }
  ~ReadAhead() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next batch of frames in capture order; empty at the end. Valid until the next call.
  std::span<const AheadFrame<Extra>> next() {
    if (!options_.thread) {
      Batch& b = batches_[0];
      if (!ended_)
        ended_ = !fill(b, false);
      else
        b.count = 0;
      return {b.items.data(), b.count};
    }
    std::unique_lock lock(mutex_);
    if (holding_) {
      ++released_;
      holding_ = false;
      changed_.notify_all();
    }
    changed_.wait(lock, [this] { return produced_ > released_ || done_; });
    if (produced_ > released_) {
      holding_ = true;
      const Batch& b = batches_[released_ % batches_.size()];
      return {b.items.data(), b.count};
    }
    lock.unlock();
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return {};
  }

 private:
  static constexpr std::size_t kMaxBatchBytes = std::size_t{1} << 20;
  struct Batch {
    std::vector<AheadFrame<Extra>> items;
    std::vector<std::uint8_t> bytes;
    std::size_t count = 0;
  };

  // Fills b with up to batchSize frames; false when the capture has ended (b may still hold frames).
  bool fill(Batch& b, bool spare) {
    b.count = 0;
    b.bytes.clear();
    bool more = true;
    while (b.count < options_.batchSize) {
      AheadFrame<Extra>& item = b.items[b.count];
      if (!capture_.next(item.frame)) {
        more = false;
        break;
      }
      if constexpr (std::same_as<decltype(prepare_(item.frame, item.extra, spare)), bool>) {
        // A frame the preparing step drops (a frame of another shard) takes no place in the batch and no copy.
        if (!prepare_(item.frame, item.extra, spare)) continue;
      } else {
        prepare_(item.frame, item.extra, spare);
      }
      if (options_.copyBytes) {
        // An offset for now: the arena may move while the batch fills.
        const std::size_t at = b.bytes.size();
        b.bytes.insert(b.bytes.end(), item.frame.data, item.frame.data + item.frame.capLen);
        item.frame.data = reinterpret_cast<const std::uint8_t*>(at);
      } else {
        item.frame.data = nullptr;
      }
      ++b.count;
      // Copied bytes end a batch early at 1 MiB, so that captures of jumbo or 256 KiB frames keep the ring small.
      if (b.bytes.size() >= kMaxBatchBytes) break;
    }
    if (options_.copyBytes)
      for (std::size_t i = 0; i < b.count; ++i)
        b.items[i].frame.data = b.bytes.data() + reinterpret_cast<std::uintptr_t>(b.items[i].frame.data);
    return more;
  }

  void run() {
    try {
      for (;;) {
        std::size_t slot = 0;
        bool spare = false;
        {
          std::unique_lock lock(mutex_);
          const auto ready = [this] { return stop_ || produced_ - released_ < batches_.size(); };
          if constexpr (requires(Source& s) {
                          { s.readAhead() } -> std::same_as<bool>;
                        }) {
            // A source with work of its own to do ahead (a flow log reads the records its reordering window takes
            // next) does it while the ring is full instead of waiting, until it has none left.
            while (!ready()) {
              lock.unlock();
              const bool worked = capture_.readAhead();
              lock.lock();
              if (!worked) {
                changed_.wait(lock, ready);
                break;
              }
            }
          } else {
            changed_.wait(lock, ready);
          }
          if (stop_) return;
          slot = produced_ % batches_.size();
          spare = options_.spareAt > 0 && produced_ - released_ >= options_.spareAt;
        }
        Batch& b = batches_[slot];
        const bool more = fill(b, spare);
        {
          std::lock_guard lock(mutex_);
          if (b.count > 0) ++produced_;
          if (!more) done_ = true;
        }
        changed_.notify_all();
        if (!more) return;
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        done_ = true;
      }
      changed_.notify_all();
    }
  }

  Source& capture_;
  Prepare prepare_;
  ReadAheadOptions options_;
  std::vector<Batch> batches_;
  bool ended_ = false;  // thread = false only

  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t produced_ = 0;  // batches published by the producer
  std::uint64_t released_ = 0;  // batches the consumer has finished with
  bool holding_ = false;        // the consumer holds batch released_
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace sgsim
