#include "stage0/fetch/progress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace ferry::fetch {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  return out;
}

TEST(Progress, PlainPrintsALineAtStartAndAtEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(f, Progress::Mode::kPlain);
    EXPECT_EQ(p.mode(), Progress::Mode::kPlain);
    Progress::Handle a = p.start("blob-a", 2000);
    a.advance(500);
    a.update(2000);
    a.finish();
    a.advance(1);  // ignored after finish
    Progress::Handle b = p.start("blob-b");
    b.advance(3);
    // b dropped unfinished: reported as stopped.
  }
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_NE(out.find("Downloading blob-a (2.0 kB)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Downloaded blob-a: 2.0 kB in "), std::string::npos) << out;
  EXPECT_NE(out.find("Downloading blob-b\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Stopped blob-b after 3 B\n"), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4);
}

TEST(Progress, TerminalRedrawsOneLinePerBlobInPlace) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(f, Progress::Mode::kTerminal);
    Progress::Handle a = p.start("blob-a", 10);
    Progress::Handle b = p.start("blob-b", 20);
    a.update(10);
    a.finish();
    b.advance(20);
    b.finish();
  }
  std::string out = contents(f);
  std::fclose(f);
  // Two blobs and the summary: the cursor goes back three lines before each later redraw.
  EXPECT_NE(out.find("\x1b[3F"), std::string::npos) << out;
  size_t last = out.rfind("\x1b[3F");
  std::string final = out.substr(last);
  EXPECT_NE(final.find("blob-a  10 B / 10 B  done"), std::string::npos) << final;
  EXPECT_NE(final.find("blob-b  20 B / 20 B  done"), std::string::npos) << final;
  EXPECT_NE(final.find("total 2/2 blobs  30 B / 30 B"), std::string::npos) << final;
}

TEST(Progress, HandlesAdvanceFromManyThreads) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(f, Progress::Mode::kTerminal);
    std::vector<Progress::Handle> handles;
    for (int i = 0; i < 4; ++i) handles.push_back(p.start("blob-" + std::to_string(i), 1000));
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&handles, i] {
        for (int j = 0; j < 1000; ++j) handles[i].advance(1);
        handles[i].finish();
      });
    }
    for (auto& t : threads) t.join();
  }
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_NE(out.rfind("total 4/4 blobs  4.0 kB / 4.0 kB"), std::string::npos) << out;
}

TEST(Progress, FormatsBytesInDecimalUnits) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(999), "999 B");
  EXPECT_EQ(formatBytes(1500), "1.5 kB");
  EXPECT_EQ(formatBytes(148'000'000), "148.0 MB");
}

}  // namespace
}  // namespace ferry::fetch
