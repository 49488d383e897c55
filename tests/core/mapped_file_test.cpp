// A file read mapped (sgsim/core/mapped_file.h) is its bytes, refused by name when it is not a regular file, and
// when another program cuts it short while it is mapped, the pages past the new end read as zeros and cutShort()
// says so: the process goes on (no SIGBUS) and its reader can end with an error. Two mappings at once: a fault in
// one is not the other's.
#include "sgsim/core/mapped_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_files.h"

namespace sgsim {
namespace {

void writeText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(MappedFile, ReadsTheFileAndRefusesWhatIsNotARegularFile) {
  test::TempDir dir("sgsim-mapped");
  const std::string path = dir.file("a.txt"), empty = dir.file("empty");
  writeText(path, "hello\nworld\n");
  writeText(empty, "");
  auto m = MappedFile::open(path, "not a regular file");
  ASSERT_TRUE(m) << m.error().toString();
  EXPECT_EQ((*m)->text(), "hello\nworld\n");
  EXPECT_EQ((*m)->path(), path);
  EXPECT_FALSE((*m)->cutShort());
  auto e = MappedFile::open(empty, "not a regular file");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)->size(), 0u);
  EXPECT_EQ((*e)->text(), "");
  auto d = MappedFile::open(dir.path().string(), "a folder, not a report");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().toString(), dir.path().string() + ": a folder, not a report");
  auto missing = MappedFile::open(dir.file("none"), "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().toString(), dir.file("none") + ": cannot open: No such file or directory");
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = MappedFile::open(fifo, "not a regular file");  // refused at once, not waited on for a writer
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().toString(), fifo + ": not a regular file");
}

TEST(MappedFile, AFileCutShortWhileMappedReadsAsZerosAndSaysSo) {
  test::TempDir dir("sgsim-mapped");
  const std::string a = dir.file("a"), b = dir.file("b");
  const std::string text(64 * 1024, 'x');
  writeText(a, text);
  writeText(b, text);
  auto ma = MappedFile::open(a, "not a regular file");
  auto mb = MappedFile::open(b, "not a regular file");
  ASSERT_TRUE(ma && mb);
  std::filesystem::resize_file(a, 4096);
  const std::string_view seen = (*ma)->text();
  ASSERT_EQ(seen.size(), text.size());  // the length mapped, not the file's now
  EXPECT_EQ(seen.substr(0, 4096), text.substr(0, 4096));
  EXPECT_EQ(seen.substr(4096), std::string(text.size() - 4096, '\0'));
  EXPECT_TRUE((*ma)->cutShort());
  EXPECT_EQ((*mb)->text(), text);
  EXPECT_FALSE((*mb)->cutShort());
}

}  // namespace
}  // namespace sgsim
