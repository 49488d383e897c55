#include "sgsim/core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "model_test_util.h"
#include "sgsim/model/model_json.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sgsim_atomic_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  fs::path dir_;
};

TEST_F(AtomicFile, ReplacesContentAndKeepsMode) {
  const std::string path = dir_ / "model.json";
  ASSERT_FALSE(writeFileAtomically(path, "old"));
  ::chmod(path.c_str(), 0640);
  ASSERT_FALSE(writeFileAtomically(path, "new content"));
  EXPECT_EQ(slurp(path), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(entries(), 1u);  // no temporary file left behind
  auto back = readWholeFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "new content");
}

TEST_F(AtomicFile, TargetThatIsADirectoryIsLeftAloneAndTempRemoved) {
  const fs::path target = dir_ / "model.json";
  fs::create_directory(target);
  std::ofstream(target / "inside") << "keep";
  auto err = writeFileAtomically(target.string(), "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->where, target.string());
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_EQ(slurp(target / "inside"), "keep");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, UnwritableDirectoryLeavesTheOldFile) {
  const std::string path = dir_ / "model.json";
  ASSERT_FALSE(writeFileAtomically(path, "old"));
  fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::remove);
  fs::permissions(dir_, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  fs::permissions(path, fs::perms::others_write, fs::perm_options::add);  // the file itself is writable
  // Root ignores directory permissions: as root, a child that dropped to nobody tries the write.
  auto tryWrite = [&] {
    auto err = writeFileAtomically(path, "new");
    return err && err->where == path && err->message.find("cannot create a temporary file") == 0;
  };
  if (::geteuid() != 0) {
    EXPECT_TRUE(tryWrite());
  } else {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(::setgid(65534) == 0 && ::setuid(65534) == 0 && tryWrite() ? 0 : 1);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(slurp(path), "old");
}

TEST_F(AtomicFile, MissingDirectoryIsAnError) {
  const std::string path = dir_ / "no" / "such" / "model.json";
  auto err = writeFileAtomically(path, "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->where, path);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(AtomicFile, ReadErrorsNameThePath) {
  const std::string missing = dir_ / "missing.json";
  auto r = readWholeFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, missing);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos);
  auto d = readWholeFile(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("directory"), std::string::npos);
}

TEST_F(AtomicFile, WriteModelThenLoadModel) {
  auto m = parseModel(testing::kBaseModel, std::nullopt, "base");
  ASSERT_TRUE(m.ok());
  const std::string path = dir_ / "model.json";
  ASSERT_FALSE(writeModel(path, *m));
  auto back = loadModel(path, std::nullopt);
  ASSERT_TRUE(back.ok()) << back.error().toString();
  EXPECT_EQ(*back, *m);
}

TEST_F(AtomicFile, FailedWriteMidwayLeavesTheOldFile) {
  // A file-size limit makes the write of the temporary file fail after it was created, even for root.
  const std::string path = dir_ / "model.json";
  const std::string old(100, 'o');
  ASSERT_FALSE(writeFileAtomically(path, old));
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto* previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 16;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto err = writeFileAtomically(path, std::string(1000, 'n'));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->where, path);
  EXPECT_NE(err->message.find("cannot write"), std::string::npos) << err->toString();
  EXPECT_EQ(slurp(path), old);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, LoadModelErrorsNameTheFile) {
  const std::string path = dir_ / "broken.json";
  std::ofstream(path) << R"({"SecurityGroups": [{"SecurityGroupId": ""}]})";
  auto m = loadModel(path, std::nullopt);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, path + ": SecurityGroups[0].SecurityGroupId");
}

}  // namespace
}  // namespace sgsim
