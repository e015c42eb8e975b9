// The pod init's own small parts: its JSON reader and the log relay.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "stage2/init/journal_sink.hpp"
#include "stage2/init/json_lite.hpp"
#include "stage2/init/log_stream.hpp"

namespace ferry::init {
namespace {

TEST(InitJson, ReadsWhatTheInitNeeds) {
  auto doc = parseJson(R"({"apps":[{"name":"a\u00e9\ud83d\ude00"},{"name":"b"}],
                           "stopTimeoutSeconds": 12, "interactive": true, "mds": null,
                           "nested": {"x": [1, -2.5e3, "s\"q"]}})");
  ASSERT_TRUE(doc);
  ASSERT_TRUE(doc->isObject());
  const JsonValue* apps = doc->get("apps");
  ASSERT_TRUE(apps && apps->isArray());
  ASSERT_EQ(apps->items.size(), 2u);
  EXPECT_EQ(apps->items[0].get("name")->text, "a\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(doc->get("stopTimeoutSeconds")->asInt(), 12);
  EXPECT_TRUE(doc->get("interactive")->boolean);
  EXPECT_EQ(doc->get("mds")->type, JsonValue::Type::kNull);
  EXPECT_EQ(doc->get("nested")->get("x")->items[2].text, "s\"q");
  EXPECT_FALSE(doc->get("nested")->get("x")->items[1].asInt());  // not an integer
  EXPECT_EQ(doc->get("missing"), nullptr);
}

TEST(InitJson, RefusesMalformedText) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"\\x\"", "tru",
                          "{\"a\":1} x", "\"\\ud800\"", "\"a\nb\"", "-", "01x"}) {
    EXPECT_FALSE(parseJson(bad)) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(parseJson(deep + std::string(100, ']')));
}

// What stage0's strict parser refuses, the init refuses too (tests/fuzz/fuzz_init_json.cpp
// compares the two on generated inputs): one document must never mean two things.
TEST(InitJson, RefusesWhatStageZeroRefuses) {
  for (const char* bad : {"01",
                          "-01",
                          "1.",
                          ".5",
                          "1e",
                          "1e+",
                          "1.2.3",
                          "2e3e4",
                          "0x10",
                          "+1",
                          "--1",
                          "1-",
                          "{\"a\":1,\"a\":2}",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          "\"\xf4\x90\x80\x80\"",
                          "\"\xe2\x82\"",
                          "\"\x80\"",
                          "2e308",
                          "-1.8e308"}) {
    EXPECT_FALSE(parseJson(bad)) << bad;
  }
  for (const char* good : {"0", "-0", "1.5e-3", "2E+10", "\"\xc3\xa9\xf4\x8f\xbf\xbf\""}) {
    EXPECT_TRUE(parseJson(good)) << good;
  }
}

TEST(InitJson, IntegersOutsideSixtyFourBitsAreNotIntegers) {
  EXPECT_EQ(parseJson("9223372036854775807")->asInt(), INT64_MAX);
  EXPECT_EQ(parseJson("-9223372036854775808")->asInt(), INT64_MIN);
  EXPECT_FALSE(parseJson("9223372036854775808")->asInt());
  EXPECT_FALSE(parseJson("-9223372036854775809")->asInt());
  EXPECT_FALSE(parseJson("1e3")->asInt());
}

TEST(InitJson, WritesStringsBack) {
  std::string out;
  appendJsonString(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, R"("a\"b\\c\u000a\u0001")");
  auto back = parseJson(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, "a\"b\\c\n\x01");
}

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(InitLog, PrefixesLinesAndKeepsTheLogVerbatim) {
  int app[2], term[2], log[2];
  ASSERT_EQ(::pipe(app), 0);
  ASSERT_EQ(::pipe(term), 0);
  ASSERT_EQ(::pipe(log), 0);
  ::fcntl(app[0], F_SETFL, O_NONBLOCK);
  {
    LogStream s(app[0], log[1], term[1], "[web] ");
    ASSERT_EQ(::write(app[1], "one\ntw", 6), 6);
    EXPECT_TRUE(s.pump());
    ASSERT_EQ(::write(app[1], "o\nthree", 7), 7);
    EXPECT_TRUE(s.pump());
    ::close(app[1]);
    EXPECT_FALSE(s.pump());  // end of file
    EXPECT_EQ(s.fd(), -1);
    s.flush();
  }
  ::close(term[1]);
  ::close(log[1]);
  EXPECT_EQ(drain(term[0]), "[web] one\n[web] two\n[web] three\n");
  EXPECT_EQ(drain(log[0]), "one\ntwo\nthree");
  ::close(term[0]);
  ::close(log[0]);
}

TEST(InitLog, WithoutPrefixPassesBytesThrough) {
  int app[2], term[2];
  ASSERT_EQ(::pipe(app), 0);
  ASSERT_EQ(::pipe(term), 0);
  ::fcntl(app[0], F_SETFL, O_NONBLOCK);
  {
    LogStream s(app[0], -1, term[1], "");
    ASSERT_EQ(::write(app[1], "no newline", 10), 10);
    ::close(app[1]);
    EXPECT_FALSE(s.pump());
    s.flush();
  }
  ::close(term[1]);
  EXPECT_EQ(drain(term[0]), "no newline");
  ::close(term[0]);
}

// A journald that reads only when told: a datagram socket bound in a temporary directory, and
// a client connected to it (as the stage1 connects the journal's socket for the init).
class FakeJournal {
 public:
  FakeJournal() {
    char tmpl[] = "/tmp/ferry-journal-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/socket";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    server_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    client_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (::bind(server_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::abort();
    }
  }
  ~FakeJournal() {
    ::close(server_);
    ::close(client_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  int client() const { return client_; }
  // Every datagram queued now.
  std::vector<std::string> read() {
    std::vector<std::string> out;
    char buf[70000];
    for (ssize_t n; (n = ::recv(server_, buf, sizeof buf, MSG_DONTWAIT)) >= 0;) {
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string dir_, path_;
  int server_ = -1, client_ = -1;
};

std::string messageOf(const std::string& entry) {
  size_t at = entry.find("MESSAGE=");
  return at == std::string::npos ? "" : entry.substr(at + 8, entry.size() - at - 9);
}

// The app's last line, "after", then the end of its output (writeEnd closed): the stream takes
// the line, sees the end and flushes.
void endWithAfter(LogStream& s, int writeEnd) {
  ASSERT_EQ(::write(writeEnd, "after\n", 6), 6);
  EXPECT_TRUE(s.pump());
  ::close(writeEnd);
  EXPECT_FALSE(s.pump());
  s.flush();
}

TEST(InitJournal, NeverBlocksKeepsOrderAndRefusesBeyondItsQueue) {
  FakeJournal j;
  JournalSink sink(j.client(), 4000);
  std::string pad(90, 'x');
  int taken = 0;
  for (int i = 0; i < 2000; ++i) {  // far more than the socket queues (max_dgram_qlen)
    if (sink.submit("MESSAGE=" + std::to_string(i) + pad + "\n")) {
      ASSERT_EQ(taken, i) << "an entry taken after one was refused";
      ++taken;
    }
  }
  EXPECT_LT(taken, 2000);
  EXPECT_TRUE(sink.pending());
  std::vector<std::string> got;
  while (sink.pending()) {
    for (auto& e : j.read()) got.push_back(messageOf(e));
    sink.drain();
  }
  for (auto& e : j.read()) got.push_back(messageOf(e));
  ASSERT_EQ(got.size(), static_cast<size_t>(taken));
  for (int i = 0; i < taken; ++i) EXPECT_EQ(got[i], std::to_string(i) + pad);
  EXPECT_EQ(sink.finish(10), std::vector<uint64_t>{0});
}

TEST(InitJournal, CountsDroppedLinesInOneEntryBeforeTheNextLine) {
  FakeJournal j;
  JournalSink sink(j.client(), 2000);
  int app[2];
  ASSERT_EQ(::pipe(app), 0);
  ::fcntl(app[0], F_SETFL, O_NONBLOCK);
  LogStream s(app[0], -1, -1, "");
  s.sendToJournal(&sink, "FERRY_APP=web\n", 6);
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "line-" + std::to_string(i) + "\n";
  ASSERT_EQ(::write(app[1], lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  EXPECT_TRUE(s.pump());
  std::vector<std::string> got;
  while (sink.pending()) {
    for (auto& e : j.read()) got.push_back(e);
    sink.drain();
  }
  ASSERT_NO_FATAL_FAILURE(endWithAfter(s, app[1]));
  for (auto& e : j.read()) got.push_back(e);
  ASSERT_GE(got.size(), 3u);
  size_t kept = got.size() - 2;
  for (size_t i = 0; i < kept; ++i) {
    EXPECT_EQ(got[i], "FERRY_APP=web\nPRIORITY=6\nMESSAGE=line-" + std::to_string(i) + "\n");
  }
  std::string n = std::to_string(500 - kept);
  EXPECT_EQ(got[kept], "FERRY_APP=web\nPRIORITY=4\nFERRY_LINES_DROPPED=" + n +
                           "\nMESSAGE=ferry-init: " + n +
                           " lines dropped (the journal did not take them in time)\n");
  EXPECT_EQ(messageOf(got[kept + 1]), "after");
}

TEST(InitJournal, FinishGivesUpOnAJournalThatTakesNothing) {
  FakeJournal j;
  JournalSink sink(j.client());
  int taken = 0;
  while (taken < 5000 && sink.submit("MESSAGE=x\n")) ++taken;  // all fit in its queue
  ASSERT_EQ(taken, 5000);
  auto start = std::chrono::steady_clock::now();
  uint64_t undelivered = sink.finish(200).at(0);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_GE(ms, 200);
  EXPECT_LT(ms, 2000);
  EXPECT_EQ(undelivered + j.read().size(), 5000u);
  EXPECT_GT(undelivered, 0u);
  EXPECT_FALSE(sink.pending());
}

// Two journals (the pod's own and the system's): each gets every line, and one that does not
// read holds back nothing of the other; its stream counts what it dropped in that journal alone.
TEST(InitJournal, EachJournalGetsEveryLineAndCountsItsOwnDrops) {
  FakeJournal stalled, reading;
  JournalSink sink(std::vector<int>{stalled.client(), reading.client()}, 2000);
  EXPECT_EQ(sink.journals(), 2u);
  int app[2];
  ASSERT_EQ(::pipe(app), 0);
  ::fcntl(app[0], F_SETFL, O_NONBLOCK);
  LogStream s(app[0], -1, -1, "");
  s.sendToJournal(&sink, "FERRY_APP=web\n", 6);
  std::vector<std::string> got;
  for (int i = 0; i < 500; ++i) {
    std::string line = "line-" + std::to_string(i) + "\n";
    ASSERT_EQ(::write(app[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
    EXPECT_TRUE(s.pump());
    for (auto& e : reading.read()) got.push_back(messageOf(e));
    sink.drain();
  }
  EXPECT_EQ(sink.pendingFds(), std::vector<int>{stalled.client()});
  std::vector<std::string> stalledGot;
  while (!sink.pendingFds().empty()) {
    for (auto& e : stalled.read()) stalledGot.push_back(e);
    sink.drain();
  }
  ASSERT_NO_FATAL_FAILURE(endWithAfter(s, app[1]));
  for (auto& e : reading.read()) got.push_back(messageOf(e));
  for (auto& e : stalled.read()) stalledGot.push_back(e);
  ASSERT_EQ(got.size(), 501u);  // every line, no count of dropped lines
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], "line-" + std::to_string(i));
  EXPECT_EQ(got[500], "after");
  ASSERT_GE(stalledGot.size(), 3u);
  size_t kept = stalledGot.size() - 2;
  EXPECT_LT(kept, 500u);
  EXPECT_EQ(messageOf(stalledGot[kept - 1]), "line-" + std::to_string(kept - 1));
  EXPECT_NE(stalledGot[kept].find("FERRY_LINES_DROPPED=" + std::to_string(500 - kept) + "\n"),
            std::string::npos);
  EXPECT_EQ(messageOf(stalledGot[kept + 1]), "after");
  EXPECT_EQ(sink.finish(10), (std::vector<uint64_t>{0, 0}));
}

// At the pod's end a journal that takes nothing is given up after idleMs: finish() counts, for
// each journal, the lines it never got.
TEST(InitJournal, FinishCountsEachJournalsUndeliveredLines) {
  FakeJournal stalled, reading;
  JournalSink sink(std::vector<int>{stalled.client(), reading.client()});
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(sink.submit(0, "MESSAGE=x\n"));
    ASSERT_TRUE(sink.submit(1, "MESSAGE=x\n"));
    reading.read();
    sink.drain();
  }
  std::vector<uint64_t> lost = sink.finish(100);
  ASSERT_EQ(lost.size(), 2u);
  EXPECT_EQ(lost[1], 0u);
  EXPECT_EQ(lost[0] + stalled.read().size(), 2000u);
  EXPECT_GT(lost[0], 0u);
  EXPECT_FALSE(sink.pending());
}

TEST(InitJournal, ParsesTheDescriptorsOfFerryJournalFd) {
  EXPECT_EQ(JournalSink::parseFds("5"), std::vector<int>{5});
  EXPECT_EQ(JournalSink::parseFds("5,17"), (std::vector<int>{5, 17}));
  for (const char* bad : {"", "2", "5,", ",5", "5,x", "-5", "5 ", "5,5", "1234567890"}) {
    EXPECT_TRUE(JournalSink::parseFds(bad).empty()) << bad;
  }
}

}  // namespace
}  // namespace ferry::init
