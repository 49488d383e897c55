#pragma once
// Bounds-checked sequential reader with a sticky overflow flag (after libcamera's ByteStreamBuffer):
// a read past the end returns zeros and sets overflow(), so a decoder reads a whole header and checks
// once instead of testing every field.

#include <cstddef>
#include <cstdint>

namespace sgsim {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(data == nullptr ? 0 : size) {}

  std::uint8_t u8() { return take(1) ? data_[pos_ - 1] : 0; }
  std::uint16_t be16() {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>(data_[pos_ - 2] << 8 | data_[pos_ - 1]);
  }
  std::uint32_t be32() {
    if (!take(4)) return 0;
    const std::uint8_t* p = data_ + pos_ - 4;
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
  }
  // Pointer to the next n bytes (nullptr and overflow when fewer remain).
  const std::uint8_t* bytes(std::size_t n) { return take(n) ? data_ + pos_ - n : nullptr; }
  void skip(std::size_t n) { take(n); }

  // Limits the rest to n bytes (an inner length field); never extends past what was captured.
  void limit(std::size_t n) {
    if (n < remaining()) size_ = pos_ + n;
  }
  std::size_t remaining() const { return overflow_ ? 0 : size_ - pos_; }
  // Bytes read so far (where the next read starts).
  std::size_t position() const { return pos_; }
  bool overflow() const { return overflow_; }

 private:
  bool take(std::size_t n) {
    if (overflow_ || n > size_ - pos_) {
      overflow_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace sgsim
